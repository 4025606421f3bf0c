"""``serve --storage``: the app takes in the packages workers put in the store, on start
and every few seconds, so they appear on the archive page, the timeline and the diff;
an object that is not a package of its job is named once and skipped, and the app goes
on serving.

The app runs in-process (Starlette's TestClient runs its lifespan, so the sync thread
runs as under ``archiver serve``). A folder store always; moto's S3 server under the
services marker. Packages are built by the test helpers (signed, no browser).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from services import MotoS3
from starlette.testclient import TestClient
from webpackages import PARAGRAPHS, URL, make_package

from archiver.archive import Archive, sync_store
from archiver.schema import validate
from archiver.storage import Store, StoreError, open_store
from archiver.web import AppSettings, create_app
from archiver.web.storesync import StoreFollower

A_JOB = "job-00000000000000000000000a"
B_JOB = "job-00000000000000000000000b"
A_ID = "20250428T093000Z-0000000a"
B_ID = "20250429T093000Z-0000000b"
LOCAL_ID = "20250427T093000Z-0000000c"


@pytest.fixture(scope="module")
def moto() -> Iterator[MotoS3]:
    server = MotoS3()
    yield server
    server.close()


@pytest.fixture(params=["folder", pytest.param("s3", marks=pytest.mark.services)])
def store(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    if request.param == "folder":
        return open_store(str(tmp_path / "store"))
    moto: MotoS3 = request.getfixturevalue("moto")
    for name, value in moto.env.items():
        monkeypatch.setenv(name, value)
    bucket = f"s{abs(hash(request.node.name)) % 10**8}"
    moto.make_bucket(bucket)
    return open_store(f"s3://{bucket}/newsroom")


@pytest.fixture
def worker_package(tmp_path: Path) -> Callable[[str, str, int, list[str]], Path]:
    """A package as a worker makes it: signed by the worker's key, naming its job."""
    scratch = Archive(tmp_path / "worker")
    key = Ed25519PrivateKey.generate()

    def make(job: str, capture_id: str, day: int, paragraphs: list[str]) -> Path:
        return make_package(
            scratch,
            key,
            capture_id=capture_id,
            when=datetime(2025, 4, day, 9, 30, tzinfo=UTC),
            paragraphs=paragraphs,
            options={"job_id": job},
        )

    return make


def wait_for(check: Callable[[], Any], what: str, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_packages_put_in_the_store_appear_and_a_bad_object_is_named_once(
    store: Store, worker_package: Callable[..., Path], tmp_path: Path
) -> None:
    root = tmp_path / "coordinator"
    archive = Archive(root)
    make_package(
        archive,
        Ed25519PrivateKey.generate(),
        capture_id=LOCAL_ID,
        when=datetime(2025, 4, 27, 9, 30, tzinfo=UTC),
        paragraphs=PARAGRAPHS,
    )
    archive.rebuild()
    store.put(f"captures/{A_JOB}.wacz", worker_package(A_JOB, A_ID, 28, PARAGRAPHS))
    settings = AppSettings(archive=root, store=store, sync_every=0.2)
    app = create_app(settings)
    follower: StoreFollower = app.app.state.archiver.store_sync
    warnings: list[str] = []
    follower.warn = warnings.append
    with TestClient(app, base_url="http://127.0.0.1:8080") as client:

        def ids() -> list[str]:
            doc = client.get("/api/captures").json()
            validate(doc, "web-captures.schema.json")
            return [c["id"] for c in doc["captures"]]

        # taken in on start
        wait_for(lambda: A_ID in ids(), "the stored package on start")
        assert set(ids()) == {A_ID, LOCAL_ID}

        # a package put in later, an object that is no package, and one naming another job
        changed = [p.replace("75,000", "7,500") for p in PARAGRAPHS]
        store.put(f"captures/{B_JOB}.wacz", worker_package(B_JOB, B_ID, 29, changed))
        junk = tmp_path / "junk.wacz"
        junk.write_bytes(b"PK\x03\x04 not really a zip" * 100)
        store.put("captures/job-junk.wacz", junk)
        store.put("captures/job-other.wacz", root / "captures" / f"{A_JOB}.wacz")
        wait_for(lambda: B_ID in ids(), "the package put in later")
        wait_for(
            lambda: client.get("/api/captures").json()["store"]["skipped_total"] == 2,
            "the bad objects to be named",
        )

        doc = client.get("/api/captures").json()
        status = doc["store"]
        assert status["url"] == store.url and status["error"] is None
        skipped = {s["key"]: s["reason"] for s in status["skipped"]}
        assert set(skipped) == {"captures/job-junk.wacz", "captures/job-other.wacz"}
        assert "not a readable package" in skipped["captures/job-junk.wacz"]
        assert ".ingest-" not in skipped["captures/job-junk.wacz"]  # no temporary name
        assert f"holds job {A_JOB}, not job-other" in skipped["captures/job-other.wacz"]
        assert status["taken_in"] == 2

        # more passes: each bad object was reported once, and nothing else
        before = status["synced_at"]
        wait_for(
            lambda: client.get("/api/captures").json()["store"]["synced_at"] != before, "a pass"
        )
        follower.sync_now()
        assert sorted(warnings) == sorted(f"not taken in: {r}" for r in skipped.values())
        assert all(k in r for k, r in skipped.items())  # each reason names its object
        assert "captures/job-junk.wacz" in client.get("/").text  # the archive page names it

        # the workers' captures are in the timeline and the diff like any other
        timeline = client.get(f"/api/urls/{URL}/timeline").json()
        assert {A_ID, B_ID, LOCAL_ID} <= {c["id"] for c in timeline["captures"]}
        diff = client.get("/api/diff", params={"a": A_ID, "b": B_ID}).json()
        assert "7,500" in str(diff["diff"]["changes"])
        assert client.get(f"/captures/{B_ID}.wacz").status_code == 200
    assert (root / "captures" / f"{B_JOB}.wacz").is_file()
    assert not list((root / "captures").glob(".ingest-*"))  # no temporary file left
    assert not (root / "captures" / "job-junk.wacz").exists()


class DownStore:
    """A store whose server does not answer (what S3Store raises when it cannot list)."""

    url = "s3://evidence/newsroom"

    def list(self, prefix: str = "") -> Iterator[str]:
        raise StoreError(f"{self.url}: cannot list {prefix}: connection refused")


def test_an_unreachable_store_is_reported_once_and_the_app_serves(tmp_path: Path) -> None:
    settings = AppSettings(archive=tmp_path / "archive", store=DownStore(), sync_every=0.05)
    app = create_app(settings)
    follower: StoreFollower = app.app.state.archiver.store_sync
    warnings: list[str] = []
    follower.warn = warnings.append
    with TestClient(app, base_url="http://127.0.0.1:8080") as client:
        wait_for(lambda: warnings, "the warning")
        follower.sync_now()
        doc = client.get("/api/captures").json()
        assert doc["total"] == 0 and "connection refused" in doc["store"]["error"]
        assert doc["store"]["synced_at"] is None
        assert warnings == [
            "cannot take in packages from s3://evidence/newsroom: "
            "s3://evidence/newsroom: cannot list captures/: connection refused"
        ]
        assert "The store cannot be read" in client.get("/").text


def test_sync_store_takes_in_only_what_the_index_lacks(
    worker_package: Callable[..., Path], tmp_path: Path
) -> None:
    store = open_store(str(tmp_path / "store"))
    store.put(f"captures/{A_JOB}.wacz", worker_package(A_JOB, A_ID, 28, PARAGRAPHS))
    store.put("captures/notes/readme.txt", tmp_path / "worker" / "captures" / f"{A_ID}.wacz")
    archive = Archive(tmp_path / "archive")
    first = sync_store(archive, store)
    assert [e.id for e in first.added] == [A_ID] and first.skipped == []
    again = sync_store(archive, store)
    assert again.added == [] and again.skipped == []
    assert [e.id for e in archive.list()] == [A_ID]


def test_without_storage_the_page_has_no_store_part(tmp_path: Path) -> None:
    app = create_app(AppSettings(archive=tmp_path / "archive"))
    with TestClient(app, base_url="http://127.0.0.1:8080") as client:
        doc = client.get("/api/captures").json()
    assert doc["store"] is None
