"""Signed webhook bodies: a real receiver on 127.0.0.1 gets POSTs whose signature
verifies with ``archiver.verify_webhook`` and with ``openssl dgst -hmac``; a changed
body, another secret and an old or future timestamp are refused; a retry is signed
afresh; a bad secret file is one line and exit 2; without a secret nothing changes.

Times come from an injected clock (``T0``); the one run of the real command signs at
the real time, and is checked against the time read in the test."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from archiver import WebhookSignatureError, verify_webhook
from archiver.archive import Archive
from archiver.archive.watchlist import CheckRecord, WatchList
from archiver.watch import read_webhook_secret, secret_warnings, sign_webhook
from archiver.watch.webhooks import WebhookPolicy, deliver_all

SECRET = b"4c1f0d9e2b7a8c3d5e6f7a8b9c0d1e2f"
T0 = datetime(2031, 1, 1, 12, 0, 0, tzinfo=UTC)  # the injected clock: no test reads the date
URL = "http://a.example/story"


@dataclass
class Received:
    url: str
    posts: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    fail_first: int = 0  # answer 500 to this many POSTs, then 200


@contextmanager
def receiver(fail_first: int = 0) -> Iterator[Received]:
    """A real HTTP receiver on 127.0.0.1 that keeps each POST's headers and body."""
    got = Received(url="", fail_first=fail_first)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            got.posts.append((dict(self.headers.items()), body))
            failing = len(got.posts) <= got.fail_first
            self.send_response(500 if failing else 200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    got.url = f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        yield got
    finally:
        server.shutdown()
        server.server_close()


def store_event(archive: Archive, hook: str, *, due: datetime) -> dict[str, Any]:
    """One stored `changed` event with a delivery to ``hook`` waiting."""
    store = WatchList(archive)
    store.add([URL], now=due, every=86400.0, ignore=())
    event = {"id": "0" * 31 + "1", "url": URL, "kind": "changed", "time": "2031-01-01T11:59:00Z"}
    event["summary"] = f"{URL} changed: 1 sentence changed; numbers: 75,000 -> 7,500 (“quoted”)"
    store.record(
        CheckRecord(
            url=URL,
            check_time="2031-01-01T11:59:00Z",
            next_due=due,
            failures=0,
            last_error=None,
            events=[event],
            webhooks=(hook,),
        )
    )
    return event


def openssl_hmac(secret: bytes, timestamp: str, body: bytes) -> str:
    """What a receiver without archiver computes: printf '%s.%s' ts body | openssl dgst."""
    proc = subprocess.run(
        ["openssl", "dgst", "-sha256", "-hmac", secret.decode()],
        input=timestamp.encode() + b"." + body,
        capture_output=True,
        check=True,
    )
    return proc.stdout.decode().split()[-1]  # "SHA2-256(stdin)= <hex>" or "(stdin)= <hex>"


def test_a_signed_post_verifies_with_the_helper_and_with_openssl(tmp_path: Path) -> None:
    archive = Archive(tmp_path / "archive")
    with receiver() as got:
        event = store_event(archive, got.url, due=T0)
        policy = WebhookPolicy(timeout=5, secret=SECRET)
        results = deliver_all(WatchList(archive), (got.url,), clock=lambda: T0, policy=policy)
    assert results[got.url] == (1, 0)
    assert SECRET.decode() not in repr(policy)
    ((headers, body),) = got.posts
    assert headers["X-Archiver-Event-Id"] == event["id"]  # receivers drop repeats by it
    assert headers["X-Archiver-Timestamp"] == str(int(T0.timestamp()))
    assert headers["X-Archiver-Signature"].startswith("sha256=")
    assert verify_webhook(SECRET, headers, body, now=T0) is True
    assert verify_webhook(SECRET.decode(), headers, body, now=T0.timestamp() + 299)
    lower = {k.lower(): v for k, v in headers.items()}  # an ASGI server's header names
    assert verify_webhook(SECRET, lower, body, now=T0 - timedelta(seconds=299))
    # the same signature without archiver: the openssl one-liner of the README
    digest = openssl_hmac(SECRET, headers["X-Archiver-Timestamp"], body)
    assert headers["X-Archiver-Signature"] == f"sha256={digest}"

    def refused(why: str, secret: bytes, hdrs: dict[str, str], data: bytes, **kw: Any) -> None:
        with pytest.raises(WebhookSignatureError, match=why):
            verify_webhook(secret, hdrs, data, now=kw.get("now", T0))

    tampered = body.replace(b"7,500", b"7,501")
    assert tampered != body
    refused("does not match", SECRET, headers, tampered)
    refused("does not match", SECRET + b"x", headers, body)
    restamped = {**headers, "X-Archiver-Timestamp": str(int(T0.timestamp()) + 1)}
    refused("does not match", SECRET, restamped, body)  # the timestamp is signed too
    refused("301 s old", SECRET, headers, body, now=T0 + timedelta(seconds=301))
    refused("301 s in the future", SECRET, headers, body, now=T0 - timedelta(seconds=301))
    assert openssl_hmac(SECRET, headers["X-Archiver-Timestamp"], tampered) != digest


def test_a_retry_is_signed_afresh_and_the_first_attempt_replayed_later_is_refused(
    tmp_path: Path,
) -> None:
    archive = Archive(tmp_path / "archive")
    later = T0 + timedelta(minutes=10)
    with receiver(fail_first=1) as got:
        store_event(archive, got.url, due=T0)
        policy = WebhookPolicy(timeout=5, tries_per_pass=1, secret=SECRET)
        store = WatchList(archive)
        assert deliver_all(store, (got.url,), clock=lambda: T0, policy=policy)[got.url] == (0, 1)
        again = deliver_all(store, (got.url,), clock=lambda: later, policy=policy)
    assert again[got.url] == (1, 0)
    (first, first_body), (retry, retry_body) = got.posts
    assert first_body == retry_body  # the same event, byte for byte
    assert retry["X-Archiver-Timestamp"] == str(int(later.timestamp()))
    assert retry["X-Archiver-Signature"] != first["X-Archiver-Signature"]
    assert verify_webhook(SECRET, retry, retry_body, now=later)
    with pytest.raises(WebhookSignatureError, match="600 s old"):  # a replay of attempt 1
        verify_webhook(SECRET, first, first_body, now=later)


def test_without_a_secret_the_post_is_unsigned_as_before(tmp_path: Path) -> None:
    archive = Archive(tmp_path / "archive")
    with receiver() as got:
        event = store_event(archive, got.url, due=T0)
        deliver_all(WatchList(archive), (got.url,), clock=lambda: T0, policy=WebhookPolicy())
    ((headers, body),) = got.posts
    assert headers["X-Archiver-Event-Id"] == event["id"]
    assert headers["Content-Type"] == "application/json"
    assert not {"X-Archiver-Timestamp", "X-Archiver-Signature"} & set(headers)
    with pytest.raises(WebhookSignatureError, match="not signed"):
        verify_webhook(SECRET, headers, body, now=T0)


def test_malformed_signature_headers_are_refused_with_the_reason() -> None:
    body = b'{"id": "1"}'
    good = sign_webhook(SECRET, body, timestamp=int(T0.timestamp()))
    cases = {
        "no X-Archiver-Signature": {"X-Archiver-Timestamp": good["X-Archiver-Timestamp"]},
        "not unix seconds": {**good, "X-Archiver-Timestamp": "-5"},
        "does not start with 'sha256='": {
            **good,
            "X-Archiver-Signature": good["X-Archiver-Signature"].removeprefix("sha256="),
        },
    }
    for why, headers in cases.items():
        with pytest.raises(WebhookSignatureError, match=why):
            verify_webhook(SECRET, headers, body, now=T0)
    with pytest.raises(WebhookSignatureError, match="no webhook secret"):
        verify_webhook(b"", good, body, now=T0)
    with pytest.raises(TypeError):
        verify_webhook(SECRET, good, body.decode(), now=T0)  # type: ignore[arg-type]


def test_the_secret_file_is_read_stripped_and_warned_about_when_others_can_read_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "secret"
    path.write_bytes(SECRET + b"\n")
    path.chmod(0o600)
    assert read_webhook_secret(path) == SECRET
    assert secret_warnings(path, SECRET) == []
    path.chmod(0o644)
    (warning,) = secret_warnings(path, SECRET)
    assert warning == f"webhook secret {path} is readable by others (mode 0644): chmod 600 {path}"
    path.chmod(0o600)
    assert "is short (5 bytes)" in secret_warnings(path, b"short")[0]


def cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    archiver = Path(sys.executable).with_name("archiver")
    return subprocess.run(
        [str(archiver), *args], capture_output=True, text=True, env=env, timeout=60, check=False
    )


def clean_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARCHIVER_")}
    env.update(XDG_CONFIG_HOME=str(tmp_path / "config"), ARCHIVER_BROWSER="/nonexistent")
    return env


def test_a_bad_secret_file_is_one_line_and_exit_2_before_anything_runs(tmp_path: Path) -> None:
    env = clean_env(tmp_path)
    archive = tmp_path / "archive"
    (tmp_path / "empty").write_text("\n")
    (tmp_path / "plain").write_text("x")
    run = ["watch", "run", "--once", "--no-timestamp", "--archive", str(archive)]
    hook = ["--webhook", "http://127.0.0.1:9/"]
    cases = [
        (["--webhook-secret", str(tmp_path / "missing")], {}, "no such file"),
        (["--webhook-secret", str(tmp_path / "empty")], {}, "is empty"),
        (["--webhook-secret", str(tmp_path)], {}, "is a directory"),
        (["--webhook-secret", str(tmp_path / "plain" / "x")], {}, "cannot read it"),
        ([], {"ARCHIVER_WEBHOOK_SECRET_FILE": str(tmp_path / "missing")}, "no such file"),
    ]
    for extra, more_env, why in cases:
        proc = cli([*run, *hook, *extra], {**env, **more_env})
        assert proc.returncode == 2, (extra, proc.stderr)
        assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("archiver: error: "), (
            proc.stderr
        )
        assert why in proc.stderr
    no_hook = cli([*run, "--webhook-secret", str(tmp_path / "plain")], env)
    assert no_hook.returncode == 2
    assert no_hook.stderr == (
        "archiver: error: --webhook-secret signs webhook POSTs: give --webhook URL as well\n"
    )
    assert not archive.exists()  # nothing ran: no archive, no key
    assert not (tmp_path / "config").exists()


def test_watch_run_signs_at_the_real_time_and_keeps_the_secret_out_of_the_archive(
    tmp_path: Path,
) -> None:
    env = clean_env(tmp_path)
    archive_dir = tmp_path / "archive"
    secret_file = tmp_path / "webhook-secret"
    secret_file.write_bytes(SECRET + b"\n")
    secret_file.chmod(0o640)  # the group may read it: warned, and the run goes on
    env["ARCHIVER_WEBHOOK_SECRET_FILE"] = str(secret_file)
    with receiver() as got:
        far = datetime.now(UTC) + timedelta(days=1)  # not due: no capture, only the delivery
        store_event(Archive(archive_dir), got.url, due=far)
        before = time.time()
        run = ["watch", "run", "--once", "--no-timestamp", "--archive", str(archive_dir)]
        proc = cli([*run, "--webhook", got.url], env)
        after = time.time()
    assert proc.returncode == 0, proc.stderr
    assert f"webhook secret {secret_file} is readable by others (mode 0640)" in proc.stderr
    ((headers, body),) = got.posts
    assert before - 1 <= int(headers["X-Archiver-Timestamp"]) <= after
    assert verify_webhook(SECRET, headers, body, now=after)
    for path in [p for p in archive_dir.rglob("*") if p.is_file()]:
        assert SECRET not in path.read_bytes(), path
    assert SECRET.decode() not in proc.stdout + proc.stderr
