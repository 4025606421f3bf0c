"""archive.py keeps the archive folder and its SQLite index, safe for concurrent writers."""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import re
import shutil
import sqlite3
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from replay import WHEN, make_package

from archiver.archive.index import Archive, IndexEntry, new_capture_id
from archiver.errors import ArchiveError, UsageError
from fixtures.tsa import LocalTSA


def entry(capture_id: str, url: str = "http://127.0.0.1/a", started: str = "") -> IndexEntry:
    return IndexEntry(
        id=capture_id,
        url=url,
        final_url=url,
        started=started or capture_id,
        ended=started or capture_id,
        status=200,
        title="A",
        package_sha256="0" * 64,
        text_sha256=None,
        signed_by=None,
        tsa_times=["2026-11-27T09:18:25Z"],
    )


def test_capture_ids_sort_by_time_and_do_not_collide() -> None:
    now = datetime(2026, 11, 27, 9, 18, 7, tzinfo=UTC)
    ids = {new_capture_id(now) for _ in range(2000)}
    assert len(ids) == 2000
    assert all(re.fullmatch(r"20261127T091807Z-[0-9a-f]{8}", i) for i in ids)
    later = new_capture_id(now + timedelta(seconds=1))
    assert all(i < later for i in ids)


def test_new_id_skips_a_name_already_on_disk(tmp_path: Path) -> None:
    archive = Archive(tmp_path / "a")
    capture_id = archive.new_id(WHEN)
    assert not archive.package_path(capture_id).exists()
    assert archive.package_path(capture_id).parent == tmp_path / "a" / "captures"


def test_add_list_get_in_time_order(tmp_path: Path) -> None:
    archive = Archive(tmp_path / "a")
    archive.add(entry("20261127T100000Z-00000002", started="2026-11-27T10:00:00.000000Z"))
    archive.add(entry("20261127T090000Z-00000001", started="2026-11-27T09:00:00.000000Z"))
    archive.add(entry("20261127T110000Z-00000003", url="http://127.0.0.1/b"))
    assert [e.id for e in archive.list()] == [
        "20261127T090000Z-00000001",
        "20261127T100000Z-00000002",
        "20261127T110000Z-00000003",
    ]
    assert [e.id[-1] for e in archive.list(url="http://127.0.0.1/a")] == ["1", "2"]
    got = archive.get("20261127T10")
    assert got == entry("20261127T100000Z-00000002", started="2026-11-27T10:00:00.000000Z")
    assert got.tsa_times == ["2026-11-27T09:18:25Z"]
    with pytest.raises(ArchiveError, match="ambiguous"):
        archive.get("20261127T")
    with pytest.raises(ArchiveError) as err:
        archive.get("20991231T000000Z-deadbeef")
    assert str(err.value) == f"no capture 20991231T000000Z-deadbeef in archive {tmp_path / 'a'}"
    with pytest.raises(ArchiveError, match="already in archive"):
        archive.add(entry("20261127T090000Z-00000001"))


def test_resolve_accepts_id_prefix_and_path(tmp_path: Path) -> None:
    archive = Archive(tmp_path / "a")
    pkg = make_package(tmp_path, archive.package_path("20261127T091807Z-0badc0de"))
    archive.rebuild()
    assert archive.resolve("20261127T091807Z-0badc0de") == pkg.path
    assert archive.resolve("20261127T0918") == pkg.path
    elsewhere = make_package(tmp_path, tmp_path / "mailed.wacz").path
    assert archive.resolve(str(elsewhere)) == elsewhere
    with pytest.raises(UsageError, match=r"neither a capture id in archive .* nor a \.wacz file"):
        archive.resolve("2019")
    with pytest.raises(UsageError, match="no such package file"):
        archive.resolve(str(tmp_path / "gone.wacz"))


def _add_many(root: str, worker: int, count: int) -> None:
    archive = Archive(Path(root))
    for n in range(count):
        archive.add(entry(f"20261127T0918{worker:02d}Z-{n:08x}"))


def test_two_processes_adding_at_once_all_land(tmp_path: Path) -> None:
    root = tmp_path / "shared"
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_add_many, args=(str(root), w, 100)) for w in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0]
    assert len(Archive(root).list()) == 200
    with sqlite3.connect(root / "index.sqlite3") as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_rebuild_reproduces_the_index_from_the_packages(tmp_path: Path) -> None:
    archive = Archive(tmp_path / "a")
    first = make_package(
        tmp_path, archive.package_path("20261127T091807Z-0badc0de"), tokens=1, signer="cd" * 32
    )
    second = make_package(
        tmp_path,
        archive.package_path("20261128T091807Z-00c0ffee"),
        capture_id="20261128T091807Z-00c0ffee",
        started=WHEN + timedelta(days=1),
        article_text=None,
        title="Second",
        signer=None,
    )
    assert archive.rebuild().indexed == 2
    entries = archive.list(url=first.url)
    assert [e.id for e in entries] == ["20261127T091807Z-0badc0de", "20261128T091807Z-00c0ffee"]
    a, b = entries
    assert a.package_sha256 == first.sha256 and b.package_sha256 == second.sha256
    assert a.title == "A synthetic article" and b.title == "Second"
    assert a.status == 200 and a.final_url == first.url
    assert a.started == "2026-11-27T09:18:07.000000Z"
    assert a.text_sha256 == hashlib.sha256(b"First paragraph.\n\nSecond paragraph.").hexdigest()
    assert b.text_sha256 is None
    assert a.signed_by == "cd" * 32 and b.signed_by is None
    assert a.tsa_times == []  # its token is not a real RFC 3161 response

    (tmp_path / "a" / "index.sqlite3").unlink()
    for suffix in ("-wal", "-shm"):
        (tmp_path / "a" / f"index.sqlite3{suffix}").unlink(missing_ok=True)
    fresh = Archive(tmp_path / "a")
    assert fresh.list() == []
    assert fresh.rebuild().indexed == 2
    assert fresh.list() == entries


def test_rebuild_indexes_every_readable_package_and_names_each_bad_one(tmp_path: Path) -> None:
    archive = Archive(tmp_path / "a")
    bad = {
        "20261127T000000Z-00000000.wacz": b"",  # empty: sorts before the good ones
        "20261127T091807Z-00000000.wacz": b"not a zip",
        "20261128T000000Z-00000000.wacz": make_package(
            tmp_path, tmp_path / "t.wacz"
        ).path.read_bytes()[:-100],  # truncated: no zip directory
    }
    for name, data in bad.items():
        (archive.captures / name).write_bytes(data)
    (archive.captures / "folder.wacz").mkdir()
    make_package(tmp_path, archive.package_path("20261127T091807Z-0badc0de"))
    make_package(
        tmp_path,
        archive.package_path("20261129T091807Z-00c0ffee"),
        capture_id="20261129T091807Z-00c0ffee",
    )
    result = archive.rebuild()
    assert result.indexed == 2
    assert [e.id for e in archive.list()] == [
        "20261127T091807Z-0badc0de",
        "20261129T091807Z-00c0ffee",
    ]
    assert [p.name for p, _ in result.skipped] == sorted([*bad, "folder.wacz"])
    reasons = dict((p.name, r) for p, r in result.skipped)
    assert "not a WACZ package" in reasons["20261127T000000Z-00000000.wacz"]
    assert "truncated" in reasons["20261128T000000Z-00000000.wacz"]
    assert "cannot be read" in reasons["folder.wacz"]


def test_an_index_of_the_previous_schema_is_refilled_from_the_packages(tmp_path: Path) -> None:
    root = tmp_path / "a"
    (root / "captures").mkdir(parents=True)
    make_package(tmp_path, root / "captures" / "renamed.wacz")
    with sqlite3.connect(root / "index.sqlite3") as db:  # version 1: no file column
        db.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        db.execute("INSERT INTO schema_version VALUES (1)")
        db.execute(
            "CREATE TABLE captures (id TEXT PRIMARY KEY, url TEXT NOT NULL, "
            "final_url TEXT NOT NULL, started TEXT NOT NULL, ended TEXT NOT NULL, "
            "status INTEGER NOT NULL, title TEXT NOT NULL, package_sha256 TEXT NOT NULL, "
            "text_sha256 TEXT, signed_by TEXT, tsa_times TEXT NOT NULL)"
        )
    db.close()
    archive = Archive(root)
    assert [e.id for e in archive.list()] == ["20261127T091807Z-0badc0de"]
    assert archive.resolve("20261127T091807Z-0badc0de") == root / "captures" / "renamed.wacz"


def test_archive_that_is_a_file_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "archive"
    target.write_text("oops")
    with pytest.raises(ArchiveError) as err:
        Archive(target)
    assert str(err.value) == f"archive {target} is a file, not a folder"


def _open_as_nobody(root: str, queue: multiprocessing.Queue[str]) -> None:
    if os.geteuid() == 0:
        os.setgid(65534)
        os.setuid(65534)
    try:
        Archive(Path(root))
        queue.put("opened")
    except ArchiveError as exc:
        queue.put(str(exc))


def test_unwritable_archive_folder_gives_one_line(tmp_path: Path) -> None:
    base = Path(tempfile.mkdtemp(prefix="archiver-ro-"))
    try:
        base.chmod(0o755)
        readonly = base / "ro"
        readonly.mkdir(mode=0o555)
        readonly.chmod(0o555)
        ctx = multiprocessing.get_context("fork")
        queue: multiprocessing.Queue[str] = ctx.Queue()
        proc = ctx.Process(target=_open_as_nobody, args=(str(readonly / "archive"), queue))
        proc.start()
        message = queue.get(timeout=60)
        proc.join(60)
        assert message == (
            f"cannot create archive folder {readonly / 'archive'}: Permission denied"
        )
        readonly.chmod(0o755)
        (readonly / "archive" / "captures").mkdir(parents=True)
        (readonly / "archive").chmod(0o555)
        proc = ctx.Process(target=_open_as_nobody, args=(str(readonly / "archive"), queue))
        proc.start()
        message = queue.get(timeout=60)
        proc.join(60)
        assert message == f"archive folder {readonly / 'archive'} is not writable"
    finally:
        for path in sorted(base.rglob("*"), reverse=True):
            path.chmod(0o755)
        shutil.rmtree(base)


def test_damaged_index_says_how_to_recover(tmp_path: Path) -> None:
    root = tmp_path / "a"
    root.mkdir()
    (root / "index.sqlite3").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(ArchiveError, match=r"run 'archiver index rebuild'$") as err:
        Archive(root)
    assert str(root / "index.sqlite3") in str(err.value)


def test_adding_a_token_updates_sha256_and_tsa_time(tmp_path: Path) -> None:
    from archiver.package import rewrite_wacz
    from archiver.proof.tsa_client import request_token

    archive = Archive(tmp_path / "a")
    pkg = make_package(tmp_path, archive.package_path("20261127T091807Z-0badc0de"))
    archive.rebuild()
    assert archive.get("20261127T091807Z-0badc0de").tsa_times == []
    with LocalTSA(tmp_path / "tsa") as tsa:
        token = request_token(tsa.url, b"\x01" * 64, timeout=30)
    sha = rewrite_wacz(pkg.path, [("provenance/manifest.json.sig.0.tsr", token)])
    archive.update_package(pkg.path, sha)
    got = archive.get("20261127T091807Z-0badc0de")
    assert got.package_sha256 == sha != pkg.sha256
    assert len(got.tsa_times) == 1
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", got.tsa_times[0])
    archive.rebuild()
    assert archive.get("20261127T091807Z-0badc0de") == got


def _open_and_add(root: str, n: int, barrier: Any, results: Any) -> None:
    try:
        barrier.wait()
        archive = Archive(Path(root))
        archive.add(
            IndexEntry(
                id=f"20261127T000000Z-{n:08x}",
                url="http://example.org/",
                final_url="http://example.org/",
                started="2026-11-27T00:00:00Z",
                ended="2026-11-27T00:00:01Z",
                status=200,
                title="t",
                package_sha256="0" * 64,
            )
        )
        results.put("ok")
    except Exception as exc:  # reported to the parent, which asserts on it
        results.put(repr(exc))


def test_processes_creating_a_new_archive_at_the_same_instant_all_succeed(
    tmp_path: Path,
) -> None:
    """Regression: the switch to WAL made a second process fail with 'database is locked'."""
    ctx = multiprocessing.get_context("fork")
    for round_no in range(8):
        root = tmp_path / f"archive-{round_no}"
        barrier, results = ctx.Barrier(4), ctx.Queue()
        procs = [
            ctx.Process(target=_open_and_add, args=(str(root), n, barrier, results))
            for n in range(4)
        ]
        for p in procs:
            p.start()
        for p in procs:
            p.join(60)
        outcomes = [results.get(timeout=5) for _ in procs]
        assert outcomes == ["ok"] * 4, outcomes
        assert len(Archive(root).list()) == 4
