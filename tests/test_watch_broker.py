"""``watch run --broker``: what a check's job is named, without a broker (the run
itself, with redis-server, moto and a worker, is in test_scale.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from archiver.archive import Archive
from archiver.archive.watchlist import CheckRecord, WatchList
from archiver.capture.pageopts import PageSetup
from archiver.queue.checks import BrokerCheck, BrokerChecks
from archiver.queue.jobopts import to_job_doc
from archiver.storage import open_store
from archiver.watch import RunOptions, add_watches

T0 = datetime(2031, 3, 4, 5, 6, 7, tzinfo=UTC)  # any time: nothing here reads the clock
URL = "http://a.example/story"


def checks(tmp_path: Path, archive: Archive) -> BrokerChecks:
    store = open_store(str(tmp_path / "store"))
    return BrokerChecks("redis://127.0.0.1:9/0", store, archive, RunOptions().capture_options)


def test_a_checks_job_is_the_same_until_the_check_is_recorded(tmp_path: Path) -> None:
    archive = Archive(tmp_path / "archive")
    add_watches(archive, [URL, "http://b.example/"], now=T0, every=600.0, ignore=())
    engine = checks(tmp_path, archive)
    doc = to_job_doc(RunOptions().capture_options(PageSetup()))
    first = engine.job_id(URL, doc)
    assert first == engine.job_id(URL, doc)  # a killed run, run again: the same job
    assert first.startswith("job-") and len(first) == 4 + 24
    assert engine.job_id("http://b.example/", doc) != first
    other = to_job_doc(RunOptions(capture_timeout=5).capture_options(PageSetup()))
    assert engine.job_id(URL, other) != first  # other options: another capture
    WatchList(archive).record(
        CheckRecord(
            url=URL,
            check_time="2031-03-04T05:06:08Z",
            next_due=T0 + timedelta(minutes=10),
            failures=0,
            last_error=None,
        )
    )
    assert engine.job_id(URL, doc) != first  # the next check is a new job


def test_settle_drops_the_stores_copy_only_when_not_kept(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "store"))
    package = tmp_path / "p.wacz"
    for job in ("job-kept", "job-logged"):
        package.write_bytes(job.encode())
        store.put(f"captures/{job}.wacz", package)
    BrokerCheck("c1", package, "job-kept", store).settle(True)
    BrokerCheck("c2", package, "job-logged", store).settle(False)
    assert list(store.list()) == ["captures/job-kept.wacz"]


def test_a_broker_that_is_not_redis_is_bad_usage_before_anything_is_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from archiver.cli import main

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("ARCHIVER_ARCHIVE", str(tmp_path / "a"))
    monkeypatch.delenv("ARCHIVER_KEY", raising=False)
    store = str(tmp_path / "s")
    for args in (
        ["watch", "run", "--once", "--broker", "http://queue", "--storage", store],
        ["capture", "--broker", "http://queue", "--storage", store, "http://x.test/"],
    ):
        with pytest.raises(SystemExit) as exit_info:
            main(args)
        assert exit_info.value.code == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "use redis://HOST:PORT/DB" in err, err
    assert not (tmp_path / "config").exists()  # no signing key was made
    assert not (tmp_path / "a").exists()  # nor the archive
