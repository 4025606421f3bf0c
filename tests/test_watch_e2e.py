"""Issue #9 end to end: ``archiver watch run`` against the fixture site while it edits
its article, with real Chromium, real SQLite, the local openssl TSA and webhook
receivers on 127.0.0.1. Every step runs the real ``archiver`` command.

The watch's clock is the machine's: ``--now`` makes each pass check the URL (the
schedule itself is tested with an injected clock in test_watch_schedule.py).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import feedparser
import jsonschema
import pytest

from archiver.schema import load_schema
from fixtures.server import FixtureServer
from fixtures.tsa import LocalTSA

pytestmark = pytest.mark.browser

ARCHIVER = Path(sys.executable).with_name("archiver")


@dataclass
class Receiver:
    """What a webhook receiver on 127.0.0.1 got."""

    url: str
    received: list[dict[str, Any]] = field(default_factory=list)
    hits: int = 0


@contextmanager
def receiver(status: int = 200) -> Iterator[Receiver]:
    """A webhook receiver answering ``status`` to every POST."""
    box = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            box.hits += 1
            if status < 300:
                box.received.append(json.loads(body))
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    box.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield box
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Env:
    archive: Path
    env: dict[str, str]
    tsa: LocalTSA

    def run(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(ARCHIVER), *args, "--archive", str(self.archive)],
            capture_output=True,
            text=True,
            env=self.env,
            timeout=timeout,
            check=False,
        )

    def watch_run(self, *extra: str) -> subprocess.CompletedProcess[str]:
        return self.run(
            "watch", "run", "--once", "--now", "--host-delay", "0", "--tsa", self.tsa.url, *extra
        )

    def packages(self) -> list[Path]:
        return sorted((self.archive / "captures").glob("*.wacz"))


@pytest.fixture
def env(browser_path: Path, tmp_path: Path) -> Iterator[Env]:
    environ = {
        k: v
        for k, v in os.environ.items()
        if k not in ("ARCHIVER_ARCHIVE", "ARCHIVER_KEY", "ARCHIVER_KEY_PASSPHRASE", "ARCHIVER_TSA")
    }
    environ.update(
        XDG_CONFIG_HOME=str(tmp_path / "config"), ARCHIVER_BROWSER=str(browser_path), NO_COLOR="1"
    )
    with LocalTSA(tmp_path / "tsa") as tsa:
        yield Env(tmp_path / "archive", environ, tsa)


def events_of(proc: subprocess.CompletedProcess[str]) -> list[dict[str, Any]]:
    assert proc.returncode == 0, proc.stderr
    schema = load_schema("event.schema.json")
    docs = [json.loads(line) for line in proc.stdout.splitlines()]
    for doc in docs:
        jsonschema.validate(doc, schema)
    return docs


def log_lines(archive: Path) -> list[dict[str, Any]]:
    path = archive / "log" / "checks.jsonl"
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


@pytest.mark.slow  # a capture per edit variant: ~30 s
def test_a_watch_reports_each_edit_once_with_its_interval(
    env: Env, fixture_server: FixtureServer
) -> None:
    url = fixture_server.article_url
    assert env.run("watch", "add", url, "--every", "1s").returncode == 0

    with receiver() as good, receiver(500) as bad:
        hooks = ("--webhook", good.url, "--webhook", bad.url, "--webhook-timeout", "2", "--json")

        # 1. the first capture: one package, one `first` event
        first = events_of(env.watch_run(*hooks))
        assert [e["kind"] for e in first] == ["first"]
        assert first[0]["after"]["status"] == 200 and first[0]["before"] is None
        assert len(env.packages()) == 1

        # 2. unchanged: no event, no new package, one signed entry in the check log
        assert events_of(env.watch_run(*hooks)) == []
        assert len(env.packages()) == 1
        entries = log_lines(env.archive)
        assert len(entries) == 1 and entries[0]["matches"] == first[0]["after"]["id"]
        assert entries[0]["status"] == 200 and entries[0]["text_sha256"]

        # 3. noise only (ads, related links, "Updated N minutes ago"): still no event
        with fixture_server.variant("noise-only"):
            assert events_of(env.watch_run(*hooks)) == []
        assert len(env.packages()) == 1
        assert len(log_lines(env.archive)) == 2
        noise_check = log_lines(env.archive)[1]

        with fixture_server.variant("number-changed"):
            # 4. a number edit: exactly one `changed` event, with the interval from the log
            changed = events_of(env.watch_run(*hooks))
            assert [e["kind"] for e in changed] == ["changed"]
            event = changed[0]
            assert event["diff"]["numbers"] == [{"old": "75,000", "new": "7,500"}]
            assert event["diff"]["headline"] is None and event["diff"]["byline"] is None
            assert event["before"]["id"] == first[0]["after"]["id"]
            assert event["before"]["tsa_times"] and event["after"]["tsa_times"]
            assert event["interval"]["last_old"] == {
                "time": noise_check["time"],
                "source": "check-log",
                "log_entry": 2,
                "entry_sha256": event["interval"]["last_old"]["entry_sha256"],
            }
            assert event["interval"]["first_new"]["capture_id"] == event["after"]["id"]
            assert noise_check["time"] < event["interval"]["first_new"]["time"]
            report = env.archive / event["report"]
            assert report.is_file() and "7,500" in report.read_text()
            assert len(env.packages()) == 2

            # 5. the article answers 404: `unavailable`, never "all text deleted"
            with fixture_server.article_error(404):
                gone = events_of(env.watch_run(*hooks))
            assert [e["kind"] for e in gone] == ["unavailable"]
            assert gone[0]["reason"] == "HTTP 404" and gone[0]["diff"] is None
            assert gone[0]["interval"]["first_new"]["capture_id"] == gone[0]["after"]["id"]

            # 6. back: `restored`, and no `changed` (the text is what it was before)
            back = events_of(env.watch_run(*hooks))
            assert [e["kind"] for e in back] == ["restored"]
            assert back[0]["diff"]["status"] == "unchanged"

        # every event reached the working receiver, in order; the failing one held no one up
        kinds = ["first", "changed", "unavailable", "restored"]
        assert [e["kind"] for e in good.received] == kinds
        assert [e["id"] for e in good.received] == [
            e["id"] for e in (*first, *changed, *gone, *back)
        ]
        assert bad.hits >= 4  # tried, with retries; recorded as undelivered

    # the Atom feeds parse as valid RFC 4287 and carry the events, newest first
    feed = feedparser.parse((env.archive / "feeds" / "changes.atom").read_bytes())
    assert not feed.bozo, feed.bozo_exception
    assert [e.tags[0].term for e in feed.entries] == list(reversed(kinds))
    assert feed.entries[2].link == url
    assert "75,000 -> 7,500" in feed.entries[2].content[0].value
    per_url = [p for p in (env.archive / "feeds").glob("*.atom") if p.name != "changes.atom"]
    assert len(per_url) == 1
    assert len(feedparser.parse(per_url[0].read_bytes()).entries) == 4

    # status says what happened
    status = json.loads(env.run("watch", "status", "--json").stdout)
    assert status["state"] == "available" and status["failures"] == 0
    assert status["last_change"] is not None

    # the check log verifies offline, tokens included, with the TSA's root trusted
    root = env.archive.parent / "tsa-root.pem"
    root.write_bytes(env.tsa.root_pem)
    verified = env.run("log", "verify", "--tsa-root", str(root))
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "2 good entries; intact" in verified.stdout
    assert "token 0 over entry 1: ok" in verified.stdout


@pytest.mark.slow  # a killed pass and a full rerun: ~30 s
def test_kill_9_mid_pass_then_rerun(env: Env, fixture_server: FixtureServer) -> None:
    """A pass killed with SIGKILL while checking: the rerun finishes it with no duplicate
    event, no partial or unindexed package, and a check log that still verifies."""
    urls = [fixture_server.variant_url(v) for v in ("original", "word-changed", "byline-changed")]
    urls.append(fixture_server.article_url)
    assert env.run("watch", "add", *urls).returncode == 0
    proc = subprocess.Popen(
        [
            str(ARCHIVER),
            "watch",
            "run",
            "--once",
            "--now",
            "--host-delay",
            "0",
            "--json",
            "--tsa",
            env.tsa.url,
            "--archive",
            str(env.archive),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env.env,
    )
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and not env.packages() and proc.poll() is None:
        time.sleep(0.05)
    assert proc.poll() is None, "the pass ended before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    killed_events = [json.loads(x) for x in proc.stdout.read().decode().splitlines() if x]
    assert proc.stdout and proc.stderr
    proc.stdout.close()
    proc.stderr.close()
    assert len(killed_events) < len(urls)

    rerun = env.watch_run("--json")
    events = [*killed_events, *events_of(rerun)]
    # the killed pass's stdout may miss an event stored just before the kill: count the index
    feed = feedparser.parse((env.archive / "feeds" / "changes.atom").read_bytes())
    assert not feed.bozo
    firsts = [e.link for e in feed.entries]
    assert sorted(firsts) == sorted(urls), "one `first` event per URL, none doubled"
    assert len({e["id"] for e in events}) == len(events)

    # no partial package: every file in captures/ is a complete, indexed package
    names = sorted(p.name for p in (env.archive / "captures").iterdir())
    assert all(n.endswith(".wacz") and not n.startswith(".") for n in names), names
    listed = [json.loads(x)["id"] for x in env.run("list", "--json").stdout.splitlines()]
    assert sorted(f"{i}.wacz" for i in listed) == names
    for path in env.packages():
        assert env.run("verify", str(path)).returncode == 0, path
    assert not list((env.archive / ".watch-scratch").iterdir())

    # a further pass only logs unchanged checks (the rerun's --now logged those the killed
    # pass had kept already), and the log verifies
    before = len(log_lines(env.archive))
    assert events_of(env.watch_run("--json")) == []
    assert len(log_lines(env.archive)) == before + len(urls)
    verified = env.run("log", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
