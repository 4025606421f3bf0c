"""The watch schedule, with an injected clock: durations, the age ladder, jitter, backoff,
and the runner's due list and failure backoff over a real SQLite index (no browser: the
capture function given to the runner refuses every connection, as an unreachable host)."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from archiver.archive import Archive
from archiver.archive.watchlist import WatchList
from archiver.cli import main
from archiver.errors import CaptureError, UsageError
from archiver.proof.signing import generate_key
from archiver.watch import RunOptions, Watcher, add_watches, parse_duration, status_rows
from archiver.watch.schedule import (
    DAY,
    HOUR,
    MAX_JITTER,
    MINUTE,
    WEEK,
    backoff,
    format_duration,
    interval,
    jitter_fraction,
    ladder_interval,
    next_check,
)

T0 = datetime(2031, 3, 4, 5, 6, 7, tzinfo=UTC)  # any time: nothing here reads the clock


@pytest.mark.parametrize(
    "text,seconds",
    [
        ("30s", 30),
        ("15m", 900),
        ("2h", 7200),
        ("1d", 86400),
        ("1w", 604800),
        ("1h30m", 5400),
        ("0.5s", 0.5),
        (" 2H ", 7200),
    ],
)
def test_durations_parse(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "15", "m", "5x", "-1m", "0s", "1 m", "1.m", "abc"])
def test_bad_durations_are_usage_errors(text: str) -> None:
    with pytest.raises(UsageError, match="bad duration"):
        parse_duration(text)


def test_durations_format_back() -> None:
    assert [format_duration(s) for s in (30, 900, 7200, 86400, 90, 604800)] == [
        "30s",
        "15m",
        "2h",
        "1d",
        "90s",
        "1w",
    ]


def test_the_age_ladder_of_the_issue() -> None:
    steps = [
        (0, 15 * MINUTE),
        (3 * HOUR - 1, 15 * MINUTE),
        (3 * HOUR, 30 * MINUTE),
        (DAY - 1, 30 * MINUTE),
        (DAY, 2 * HOUR),
        (WEEK - 1, 2 * HOUR),
        (WEEK, DAY),
        (30 * DAY - 1, DAY),
        (30 * DAY, WEEK),
        (400 * DAY, WEEK),
    ]
    for age, expected in steps:
        assert ladder_interval(age) == expected, age


def test_jitter_is_fixed_per_url_small_and_spreads_urls() -> None:
    urls = [f"https://news.example/story/{n}" for n in range(200)]
    fractions = [jitter_fraction(u) for u in urls]
    assert all(0 <= f < 1 for f in fractions)
    assert jitter_fraction(urls[0]) == fractions[0]  # reproducible
    assert len({round(f, 3) for f in fractions}) > 150  # spread, not one slot
    for url in urls:
        seconds = interval(url=url, added=T0, now=T0, every=None)
        assert 15 * MINUTE <= seconds < 15 * MINUTE * (1 + MAX_JITTER)


def test_every_is_exact_within_ten_percent() -> None:
    for url in ("http://a.example/", "http://b.example/x"):
        due = next_check(url=url, added=T0, now=T0 + timedelta(days=40), every=1.0)
        assert timedelta(seconds=1) <= due - (T0 + timedelta(days=40)) < timedelta(seconds=1.1)


def test_ladder_follows_the_watch_age() -> None:
    url = "http://a.example/"
    for age, base in (
        (timedelta(hours=1), 15 * MINUTE),
        (timedelta(days=2), 2 * HOUR),
        (timedelta(days=45), WEEK),
    ):
        gap = (next_check(url=url, added=T0, now=T0 + age, every=None) - (T0 + age)).total_seconds()
        assert base <= gap < base * 1.1


def test_failures_back_off_exponentially_up_to_a_day() -> None:
    url = "http://down.example/"
    gaps = [backoff(url=url, added=T0, now=T0, every=60, failures=f) for f in range(12)]
    normal = gaps[0]
    assert 60 <= normal < 66
    for f in range(1, 8):
        assert gaps[f] == pytest.approx(normal * 2**f)
    assert gaps[-1] == DAY  # capped
    assert all(b >= a for a, b in itertools.pairwise(gaps))
    weekly = backoff(url=url, added=T0 - timedelta(days=60), now=T0, every=None, failures=5)
    assert WEEK <= weekly < WEEK * 1.1  # never later than the normal weekly interval allows


# --- the watch list and one pass, with an injected clock ---------------------------------


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


def refuse(url: str, _scratch: Archive, _page: object = None) -> object:
    raise CaptureError(f"connection refused by {url}")


def test_a_pass_checks_only_what_is_due_and_failures_back_off(tmp_path: Path) -> None:
    archive = Archive(tmp_path / "archive")
    clock = Clock(T0)
    add_watches(
        archive, ["http://a.example/x", "http://b.example/y"], now=T0, every=600.0, ignore=()
    )
    add_watches(archive, ["http://c.example/z"], now=T0, every=None, ignore=())
    seen: list[str] = []

    def capture(url: str, scratch: Archive, _page: object = None) -> object:
        seen.append(url)
        return refuse(url, scratch)

    key = generate_key(tmp_path / "key.pem", passphrase=None, force=False)
    watcher = Watcher(archive, key, RunOptions(host_delay=0), clock=clock, capture=capture)
    first = watcher.run_pass()
    assert sorted(seen) == ["http://a.example/x", "http://b.example/y", "http://c.example/z"]
    assert first.checked == 3 and first.failed == 3 and not first.events  # no capture yet
    seen.clear()
    clock.now = T0 + timedelta(seconds=30)
    assert watcher.run_pass().checked == 0 and not seen  # nothing due: no capture attempted
    store = WatchList(archive)
    dues = []
    for failures in range(1, 5):
        watch = store.get("http://a.example/x")
        assert watch is not None and watch.failures == failures
        assert watch.last_error == "unreachable: connection refused by http://a.example/x"
        dues.append(watch.next_due)
        clock.now = watch.next_due
        watcher.run_pass()
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(dues)]
    assert gaps[1] == pytest.approx(2 * gaps[0]) and gaps[2] == pytest.approx(2 * gaps[1])
    rows = {r["url"]: r for r in status_rows(archive)}
    assert rows["http://a.example/x"]["failures"] == 5
    assert rows["http://c.example/z"]["schedule"] == "ladder"


def test_now_treats_every_active_watch_as_due_but_not_paused_ones(tmp_path: Path) -> None:
    archive = Archive(tmp_path / "archive")
    add_watches(archive, ["http://a.example/1", "http://a.example/2"], now=T0, every=DAY, ignore=())
    store = WatchList(archive)
    store.set_paused("http://a.example/2", True)
    key = generate_key(tmp_path / "key.pem", passphrase=None, force=False)
    seen: list[str] = []

    def capture(url: str, scratch: Archive, _page: object = None) -> object:
        seen.append(url)
        return refuse(url, scratch)

    clock = Clock(T0 + timedelta(minutes=1))
    Watcher(archive, key, RunOptions(host_delay=0), clock=clock, capture=capture).run_pass()
    assert seen == ["http://a.example/1"]
    clock.now = T0 + timedelta(minutes=2)  # not due again for hours
    Watcher(archive, key, RunOptions(host_delay=0), clock=clock, capture=capture).run_pass()
    assert seen == ["http://a.example/1"]
    options = RunOptions(host_delay=0, everything=True)
    Watcher(archive, key, options, clock=clock, capture=capture).run_pass()
    assert seen == ["http://a.example/1", "http://a.example/1"]


def test_one_check_at_a_time_per_host_with_the_host_delay(tmp_path: Path) -> None:
    """Two workers, two hosts: checks of one host never overlap, and the next check of a
    host starts at least the host delay (here 50 ms) after the previous one ended."""
    import threading
    import time

    archive = Archive(tmp_path / "archive")
    urls = [f"http://{h}.example/{n}" for h in ("a", "b") for n in range(3)]
    add_watches(archive, urls, now=T0, every=60.0, ignore=())
    key = generate_key(tmp_path / "key.pem", passphrase=None, force=False)
    lock = threading.Lock()
    active = {"a": 0, "b": 0}
    overlaps: list[str] = []
    spans: dict[str, list[tuple[float, float]]] = {"a": [], "b": []}

    def capture(url: str, scratch: Archive, _page: object = None) -> object:
        host = url.split("//")[1][0]
        start = time.monotonic()
        with lock:
            active[host] += 1
            if active[host] > 1:
                overlaps.append(url)
        time.sleep(0.01)
        with lock:
            active[host] -= 1
        spans[host].append((start, time.monotonic()))
        raise CaptureError("refused")

    options = RunOptions(workers=2, host_delay=0.05)
    result = Watcher(archive, key, options, clock=Clock(T0), capture=capture).run_pass()
    assert result.checked == 6 and not overlaps
    for host in ("a", "b"):
        assert len(spans[host]) == 3
        for (_s1, end), (start, _e2) in itertools.pairwise(spans[host]):
            assert start - end >= 0.05


# --- the command line: bad input is one line and exit 2 ----------------------------------


def run(*args: str) -> tuple[int, str]:
    """Run the real entry point (its error handling included): (exit code, stdout)."""
    result = CliRunner().invoke(_entry, list(args), prog_name="archiver")
    return result.exit_code, result.stdout


@click.command(context_settings={"ignore_unknown_options": True, "help_option_names": []})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def _entry(args: tuple[str, ...]) -> None:
    main(list(args))


@pytest.mark.parametrize(
    "args,message",
    [
        (["watch", "add", "http://a.example/", "--every", "soon"], "bad duration 'soon'"),
        (["watch", "add", "ftp://a.example/"], "unsupported URL scheme 'ftp:'"),
        (["watch", "add", "-i", "/nonexistent/urls.txt"], "cannot read URL list"),
        (["watch", "remove", "http://never.example/"], "is not watched"),
        (["watch", "pause", "http://never.example/"], "is not watched"),
        (["watch", "run", "--once", "--webhook", "mailto:x@example.com"], "bad --webhook"),
        (["watch", "add", "http://a.example/", "--ignore", "("], "bad --ignore pattern"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    args: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from archiver.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main([*args, "--archive", str(tmp_path / "archive")])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err


def test_a_bad_line_in_the_url_file_is_named_and_nothing_is_added(tmp_path: Path) -> None:
    urls = tmp_path / "urls.txt"
    urls.write_text("# news\nhttp://a.example/1\n\nnot a url\n")
    code, _ = run("watch", "add", "-i", str(urls), "--archive", str(tmp_path / "ar"))
    assert code == 2
    code, out = run("watch", "list", "--json", "--archive", str(tmp_path / "ar"))
    assert code == 0 and out == ""


def test_add_list_pause_resume_remove(tmp_path: Path) -> None:
    ar = str(tmp_path / "ar")
    urls = tmp_path / "urls.txt"
    urls.write_text("# comment\nhttp://a.example/1\n\nhttps://b.example/2\n")
    code, out = run(
        "watch",
        "add",
        "-i",
        str(urls),
        "http://c.example/3",
        "--every",
        "1h",
        "--ignore",
        r"Updated \d+ minutes ago",
        "--archive",
        ar,
    )
    assert code == 0 and out.count("watching") == 3
    code, out = run("watch", "add", "http://c.example/3", "--archive", ar)
    assert "updated http://c.example/3" in out
    run("watch", "pause", "https://b.example/2", "--archive", ar)
    rows = [
        json.loads(line) for line in run("watch", "list", "--json", "--archive", ar)[1].splitlines()
    ]
    by_url = {r["url"]: r for r in rows}
    assert by_url["http://a.example/1"]["every"] == "1h"
    assert by_url["http://a.example/1"]["ignore"] == [r"Updated \d+ minutes ago"]
    assert by_url["http://c.example/3"]["schedule"] == "ladder"
    assert (
        by_url["https://b.example/2"]["paused"]
        and by_url["https://b.example/2"]["next_check"] is None
    )
    run("watch", "resume", "https://b.example/2", "--archive", ar)
    code, out = run("watch", "status", "--archive", ar)
    assert code == 0 and "next check:  paused" not in out and "failures:    0" in out
    code, out = run("watch", "remove", "http://a.example/1", "--archive", ar)
    assert code == 0
    code, out = run("watch", "list", "--archive", ar)
    assert "http://a.example/1" not in out and "https://b.example/2" in out
