"""The store: a folder and an S3-compatible server (moto's, on 127.0.0.1) behave alike.

Put publishes under the final key only when complete and checks what was stored; a
corrupted object is caught by stat's sha256 and by get; leftovers of dead uploads are
never listed and tidy removes them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from services import MotoS3

from archiver.storage import Store, StoreError, open_store

pytestmark = pytest.mark.services


@pytest.fixture(scope="module")
def moto() -> Iterator[MotoS3]:
    server = MotoS3()
    yield server
    server.close()


@pytest.fixture(params=["folder", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    if request.param == "folder":
        return open_store(str(tmp_path / "store"))
    moto: MotoS3 = request.getfixturevalue("moto")
    for name, value in moto.env.items():
        monkeypatch.setenv(name, value)
    bucket = f"b{abs(hash(request.node.name)) % 10**8}"
    moto.make_bucket(bucket)
    return open_store(f"s3://{bucket}/archive/one")


def test_put_stat_get_list_delete(store: Store, tmp_path: Path) -> None:
    src = tmp_path / "p.wacz"
    data = b"package bytes " * 100_000
    src.write_bytes(data)
    put = store.put("captures/a.wacz", src)
    sha = hashlib.sha256(data).hexdigest()
    assert (put.size, put.sha256) == (len(data), sha)
    found = store.stat("captures/a.wacz")
    assert found is not None and (found.size, found.sha256) == (len(data), sha)
    assert store.stat("captures/missing.wacz") is None
    got = store.get("captures/a.wacz", tmp_path / "back")
    assert got.sha256 == sha and (tmp_path / "back").read_bytes() == data
    assert list(store.list("captures/")) == ["captures/a.wacz"]
    store.delete("captures/a.wacz")
    assert list(store.list()) == []
    with pytest.raises(StoreError, match="no object"):
        store.get("captures/a.wacz", tmp_path / "x")


def test_put_replaces_and_leaves_no_temporary_object(store: Store, tmp_path: Path) -> None:
    src = tmp_path / "p"
    src.write_bytes(b"one")
    store.put("captures/j.wacz", src)
    src.write_bytes(b"two, longer")
    store.put("captures/j.wacz", src)
    assert list(store.list()) == ["captures/j.wacz"]
    assert store.tidy(0) == []  # no upload left behind


def test_bad_keys_are_refused(store: Store, tmp_path: Path) -> None:
    (tmp_path / "p").write_bytes(b"x")
    for key in ("../x", "/abs", "a//b", ""):
        with pytest.raises(StoreError, match="bad store key"):
            store.put(key, tmp_path / "p")


def test_s3_store_without_bucket_is_one_line() -> None:
    with pytest.raises(StoreError, match="no bucket"):
        open_store("s3://")


@pytest.mark.parametrize("spec", ["s3://", "ftp://host/x", "gs://bucket"])
def test_a_store_we_cannot_open_is_bad_usage(
    spec: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from archiver.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["verify", "--storage", spec, "job-0123", "--archive", str(tmp_path / "a")])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"store {spec}" in err, err


def _leave_upload(store: Store, name: str) -> None:
    """An upload a writer left in .incoming/ (killed between upload and publish)."""
    from archiver.storage.folder import FolderStore
    from archiver.storage.s3 import S3Store

    if isinstance(store, FolderStore):
        (store.root / ".incoming" / f"{name}.part").write_bytes(b"half")
    elif isinstance(store, S3Store):
        store.client.put_object(
            Bucket=store.bucket, Key=f"{store.prefix}.incoming/{name}", Body=b"half"
        )


def test_tidy_removes_uploads_of_dead_writers_only(store: Store) -> None:
    _leave_upload(store, "dead-worker--0001")
    _leave_upload(store, "live-worker--0002")
    _leave_upload(store, "0003")  # no owner: only age removes it
    assert list(store.list()) == []  # uploads in progress are never listed
    removed = store.tidy(600, dead=lambda owner: owner == "dead-worker")
    assert len(removed) == 1 and "dead-worker--0001" in removed[0]
    assert len(store.tidy(0)) == 2  # old enough: whoever left them
