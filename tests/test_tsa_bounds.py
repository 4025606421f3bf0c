"""Every wait on a TSA is bounded, and a TSA URL that can never work is bad usage.

``--timeout`` (``timeout=``) is a deadline for the whole exchange with a TSA: connect,
send, status line, headers and body. A TSA that trickles its answer a byte at a time
satisfies every single read and must still be cut off at the deadline; one that streams
without end is refused after 1 MiB. A malformed ``--tsa`` URL is exit 2, one line,
before any package is touched, any browser starts or any TSA is asked.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from archiver import config
from archiver.errors import TimestampError, UsageError
from archiver.proof.signing import generate_key
from archiver.proof.tsa_client import request_token
from fixtures.tsa import LocalTSA

DATA = b"\x01signature bytes\x00" * 4
ROOT = Path(__file__).resolve().parents[1]
MARGIN = 6.0  # seconds over the deadline: a bound on a hang, not a speed benchmark


def archiver_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the real console entry point in a fresh interpreter."""
    code = "from archiver.cli import main; main()"
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        timeout=120,
    )


@pytest.mark.parametrize("mode", ["trickle", "trickle_body"])
def test_a_tsa_trickling_its_answer_is_cut_at_the_deadline(tmp_path: Path, mode: str) -> None:
    """Each read gets a byte within a second, so a per-read timeout never fires: only a
    deadline for the whole exchange (headers and body) stops it."""
    with LocalTSA(tmp_path, mode) as slow:
        start = time.monotonic()
        with pytest.raises(TimestampError) as err:
            request_token(slow.url, DATA, timeout=2)
        elapsed = time.monotonic() - start
    assert elapsed < 2 + MARGIN, f"held for {elapsed:.1f} s"
    message = str(err.value)
    assert message.startswith(f"TSA {slow.url} did not answer within 2 s"), message
    assert "\n" not in message


def test_a_tsa_streaming_an_endless_answer_is_refused_after_1_mib(tmp_path: Path) -> None:
    with LocalTSA(tmp_path, "endless") as flood:
        start = time.monotonic()
        with pytest.raises(TimestampError) as err:
            request_token(flood.url, DATA, timeout=2)
        elapsed = time.monotonic() - start
    assert elapsed < 2 + MARGIN, f"held for {elapsed:.1f} s"
    assert str(err.value) == f"TSA {flood.url} sent more than 1 MiB: not a timestamp response"


def _unsigned_package(tmp: Path) -> Path:
    from test_proof import write_package

    wacz, _ = write_package(tmp, [], Ed25519PrivateKey.generate())
    return wacz


def test_archiver_timestamp_gives_up_on_a_trickling_tsa_at_its_timeout(tmp_path: Path) -> None:
    wacz = _unsigned_package(tmp_path)
    before = wacz.read_bytes()
    with LocalTSA(tmp_path, "trickle") as slow:
        start = time.monotonic()
        proc = archiver_cli(
            "timestamp", str(wacz), "--archive", str(tmp_path / "a"), "--tsa", slow.url,
            "--timeout", "2",
        )  # fmt: skip
        elapsed = time.monotonic() - start
    assert elapsed < 2 + MARGIN + 3, f"held for {elapsed:.1f} s"  # + interpreter start
    assert proc.returncode == 1, proc.stderr
    assert f"TSA {slow.url} did not answer within 2 s" in proc.stderr
    assert wacz.read_bytes() == before


# -- a TSA URL that can never work ------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["not a url", "ftp://x", "tsa.example.org/tsr", "http://", "http://host:99999/"]
)
def test_a_malformed_tsa_url_is_a_usage_error_naming_it(url: str) -> None:
    with pytest.raises(UsageError) as err:
        config.tsa_urls((url,))
    assert err.value.exit_code == 2
    assert repr(url) in str(err.value) and "\n" not in str(err.value)


def test_a_malformed_configured_tsa_url_names_the_setting() -> None:
    with pytest.raises(UsageError, match="ARCHIVER_TSA"):
        config.tsa_urls((), env={"ARCHIVER_TSA": "https://freetsa.org/tsr ftp://x"})
    good = ("https://freetsa.org/tsr", "http://127.0.0.1:8080/tsa?x=1")
    assert config.tsa_urls(good) == good
    assert config.tsa_urls((), env={"ARCHIVER_TSA": " , ".join(good)}) == good


def test_archiver_timestamp_with_a_malformed_tsa_is_exit_2_and_leaves_the_package(
    tmp_path: Path,
) -> None:
    wacz = _unsigned_package(tmp_path)
    before = wacz.read_bytes()
    proc = archiver_cli("timestamp", str(wacz), "--archive", str(tmp_path), "--tsa", "not a url")
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and "'not a url'" in lines[0] and "Traceback" not in proc.stderr
    assert wacz.read_bytes() == before


def test_archiver_capture_with_a_malformed_tsa_is_exit_2_before_a_browser_starts(
    tmp_path: Path,
) -> None:
    marker = tmp_path / "browser-started"
    browser = tmp_path / "browser"
    browser.write_text(f"#!/bin/sh\ntouch {marker}\nexit 1\n")
    browser.chmod(0o755)
    key = tmp_path / "key.pem"
    generate_key(key, passphrase=None, force=False)
    env = {"ARCHIVER_BROWSER": str(browser), "ARCHIVER_KEY": str(key)}
    proc = archiver_cli(
        "capture", "http://127.0.0.1:9/", "--archive", str(tmp_path / "a"), "--tsa", "ftp://x",
        env=env,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and "'ftp://x'" in lines[0], proc.stderr
    assert not marker.exists()


def test_an_http_proxy_from_the_environment_is_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As with urllib before: http_proxy carries the query (absolute URL, Host of the TSA)."""
    import http.client
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from urllib.parse import urlsplit

    seen: list[tuple[str, str | None]] = []

    class Proxy(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            seen.append((self.path, self.headers.get("Host")))
            target = urlsplit(self.path)
            body = self.rfile.read(int(self.headers["Content-Length"]))
            upstream = http.client.HTTPConnection(target.netloc, timeout=10)
            upstream.request("POST", target.path, body=body, headers=dict(self.headers))
            answer = upstream.getresponse()
            data = answer.read()
            self.send_response(answer.status)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            pass

    proxy = ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{proxy.server_address[1]}")
    try:
        with LocalTSA(tmp_path) as tsa:
            assert request_token(tsa.url, DATA, timeout=10)
            netloc = urlsplit(tsa.url).netloc
    finally:
        proxy.shutdown()
        proxy.server_close()
    assert seen == [(f"http://{netloc}/tsa", netloc)]
