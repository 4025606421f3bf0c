"""A watch's page options: checked at ``watch add`` (bad input one line, exit 2), stored
with absolute file paths, replaced / kept / cleared by a later ``watch add``, added to
watch lists made before them, shown without any secret value, and rebuilt at every check
(a refreshed cookies file is used; an unreadable one fails that check, not the run).

The pure tests use a real SQLite index and a capture function that records what it was
given; one browser test runs ``watch add --cookies`` and ``watch run`` on the fixture
login page with real Chromium.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from archiver.archive import Archive
from archiver.archive.watchlist import WatchList
from archiver.capture.pageopts import PageSetup, page_setup, sha256_text
from archiver.cli import main
from archiver.errors import CaptureError
from archiver.proof.signing import generate_key
from archiver.watch import RunOptions, Watcher, add_watches, status_rows, watch_options
from fixtures.options import HEADER_SECRET, SESSION_SECRET

T0 = datetime(2031, 3, 4, 5, 6, 7, tzinfo=UTC)  # any time: nothing here reads the clock
SECRETS = (SESSION_SECRET, HEADER_SECRET)


def cookies_file(tmp: Path, value: str = SESSION_SECRET) -> Path:
    path = tmp / "cookies.txt"
    path.write_text(
        f"# Netscape HTTP Cookie File\n127.0.0.1\tFALSE\t/\tFALSE\t0\tsession\t{value}\n"
    )
    return path


@click.command(context_settings={"ignore_unknown_options": True, "help_option_names": []})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def _entry(args: tuple[str, ...]) -> None:
    main(list(args))


def run(*args: str) -> tuple[int, str, str]:
    """The real entry point (its error handling included): (exit code, stdout, stderr)."""
    result = CliRunner().invoke(_entry, list(args), prog_name="archiver")
    return result.exit_code, result.stdout, result.stderr


def test_options_are_stored_replaced_kept_cleared_and_shown_without_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ar = str(tmp_path / "ar")
    cookies = cookies_file(tmp_path)
    monkeypatch.chdir(tmp_path)  # a relative path is stored absolute
    url = "http://a.example/story"
    code, _out, err = run(
        *("watch", "add", url, "--cookies", "cookies.txt", "--viewport", "500x700"),
        *("--header", f"Authorization: Bearer {HEADER_SECRET}", "--archive", ar),
    )
    assert code == 0, err
    outputs = [
        run("watch", cmd, *json_flag, "--archive", ar)[1]
        for cmd in ("list", "status")
        for json_flag in ((), ("--json",))
    ]
    for text in outputs:
        assert not [s for s in SECRETS if s in text], text
    (row,) = [json.loads(line) for line in outputs[1].splitlines()]
    assert row["options"] == {
        "cookies": str(cookies.resolve()),
        "headers": [
            {"name": "Authorization", "value_sha256": sha256_text(f"Bearer {HEADER_SECRET}")}
        ],
        "viewport": "500x700",
    }
    assert "options:" in outputs[0] and "--header Authorization (sha256 " in outputs[0]
    assert f"--cookies {cookies.resolve()}" in outputs[2]

    def options() -> dict[str, Any]:
        return dict(json.loads(run("watch", "list", "--json", "--archive", ar)[1])["options"])

    assert run("watch", "add", url, "--every", "1h", "--archive", ar)[0] == 0
    assert options()["viewport"] == "500x700"  # no page options given: the old ones stay
    assert run("watch", "add", url, "--dismiss-consent", "--archive", ar)[0] == 0
    assert options() == {"dismiss_consent": True}  # new options replace all the old ones
    assert run("watch", "add", url, "--clear-options", "--archive", ar)[0] == 0
    assert options() == {}


def test_a_watch_list_made_before_page_options_gains_the_column(tmp_path: Path) -> None:
    archive = Archive(tmp_path / "ar")
    with sqlite3.connect(archive.index_path) as db:  # the table as the previous version made it
        db.execute(
            "CREATE TABLE watches (url TEXT PRIMARY KEY, added TEXT NOT NULL, every_s REAL, "
            "ignore TEXT NOT NULL DEFAULT '[]', paused INTEGER NOT NULL DEFAULT 0, "
            "next_due REAL NOT NULL, last_check TEXT, last_change TEXT, failures INTEGER NOT "
            "NULL DEFAULT 0, last_error TEXT, state TEXT, kept_id TEXT, available_id TEXT, "
            "seen TEXT)"
        )
        db.execute(
            "INSERT INTO watches (url, added, next_due) VALUES (?, ?, ?)",
            ("http://old.example/", "2031-03-04T05:06:07.000000Z", T0.timestamp()),
        )
    old = WatchList(archive).get("http://old.example/")
    assert old is not None and old.options is None and old.url == "http://old.example/"
    assert status_rows(archive)[0]["options"] == {}
    add_watches(
        archive, ["http://old.example/"], now=T0, every=None, ignore=(), options={"delay": 1.0}
    )
    assert status_rows(archive)[0]["options"] == {"delay": 1.0}
    WatchList(Archive(tmp_path / "ar"))  # opening it again changes nothing


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


def test_each_check_rebuilds_the_page_setup_and_an_unreadable_file_fails_it(
    tmp_path: Path,
) -> None:
    archive = Archive(tmp_path / "ar")
    cookies = cookies_file(tmp_path)
    script = tmp_path / "mark.js"
    script.write_text("document.title = 'marked'")
    typed: dict[str, Any] = {
        "cookies": str(cookies),
        "headers": (f"Authorization: Bearer {HEADER_SECRET}",),
        "viewport": "500x700",
        "javascript": str(script),
        "block": ("ads.example",),
    }
    with_options, plain = "http://a.example/story", "http://b.example/other"
    add_watches(
        archive, [with_options], now=T0, every=600.0, ignore=(), options=watch_options(**typed)
    )
    add_watches(archive, [plain], now=T0, every=600.0, ignore=())
    given: dict[str, list[PageSetup]] = {with_options: [], plain: []}

    def capture(url: str, _scratch: Archive, page: PageSetup) -> object:
        given[url].append(page)
        raise CaptureError("refused")  # what was given is all this test looks at

    key = generate_key(tmp_path / "key.pem", passphrase=None, force=False)
    clock = Clock(T0)
    options = RunOptions(host_delay=0, everything=True)
    watcher = Watcher(archive, key, options, clock=clock, capture=capture)
    watcher.run_pass()
    assert given[plain] == [PageSetup()]
    assert given[with_options] == [page_setup(**typed)]  # what a capture of these records
    cookies_file(tmp_path, "refreshed-value")  # the user refreshes the cookies file
    clock.now += timedelta(minutes=1)
    watcher.run_pass()
    assert given[with_options][-1].cookies[0]["value"] == "refreshed-value"
    cookies.unlink()  # a check now fails with the file named; the other watch is checked
    clock.now += timedelta(minutes=1)
    result = watcher.run_pass()
    assert len(given[with_options]) == 2 and len(given[plain]) == 3  # not captured, not stopped
    watch = WatchList(archive).get(with_options)
    assert watch is not None and watch.failures == 3
    gone = cookies.resolve()
    assert watch.last_error == f"cannot read the cookies file {gone}: No such file or directory"
    assert any(str(gone) in e for e in result.errors)


def test_a_bad_cookies_file_at_watch_add_is_one_line_exit_2_and_nothing_added(
    tmp_path: Path,
) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text("# c\n127.0.0.1\tFALSE\t/\tFALSE\t0\tonly-six-fields\n")
    ar = str(tmp_path / "ar")
    code, _out, err = run(
        "watch", "add", "http://a.example/", "--cookies", str(bad), "--archive", ar
    )
    assert code == 2
    assert err == (
        f"archiver: error: cookies file {bad} line 2: expected 7 tab-separated fields "
        "(domain, subdomains, path, secure, expiry, name, value), found 6\n"
    )
    code, _out, err = run(
        "watch", "add", "http://a.example/", "--profile", "nowhere", "--archive", ar
    )
    assert code == 2 and err.count("\n") == 1 and "no profile folder at nowhere" in err
    assert run("watch", "list", "--json", "--archive", ar)[1] == ""


@pytest.mark.browser
def test_a_watch_with_cookies_keeps_the_logged_in_page(
    fixture_server: Any, tmp_path: Path, browser_path: Path
) -> None:
    from test_capture_options import Package

    env = {k: v for k, v in os.environ.items() if not k.startswith("ARCHIVER_")}
    env.update(XDG_CONFIG_HOME=str(tmp_path / "config"), ARCHIVER_BROWSER=str(browser_path))
    archiver = [sys.executable, "-m", "archiver.cli"]

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*archiver, *args, "--archive", str(tmp_path / "ar")],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    url = fixture_server.url("/opt/members")
    cookies = cookies_file(tmp_path)
    added = cli("watch", "add", url, "--cookies", str(cookies), "--viewport", "500x700")
    assert added.returncode == 0, added.stderr
    ran = cli("watch", "run", "--once", "--now", "--host-delay", "0", "--no-timestamp")
    assert ran.returncode == 0, ran.stderr
    (path,) = (tmp_path / "ar" / "captures").glob("*.wacz")
    package = Package(path)
    assert "Members-only story" in json.dumps(package.json("urn:text:"))  # logged in
    recorded = package.json("urn:provenance:")["page_options"]
    assert recorded == page_setup(cookies=str(cookies), viewport="500x700").record()
    for blob in package.all_bytes():
        assert SESSION_SECRET.encode() not in blob
