"""Batch capture: ``archiver capture [URL ...] [-i FILE] [--workers N]`` and capture_batch.

What it proves:

* a URL list file: blank lines and ``#`` comments are skipped, each malformed line is
  reported as ``FILE:LINE: reason`` and skipped, the others are captured; ``-i -``
  reads stdin; an unreadable list, or no URL at all, is exit 2 with one line;
* a batch where one host refuses connections captures and indexes everything else,
  prints one error line for it and exits 1; ``--json`` gives one schema-valid line per
  URL; every package verifies;
* each worker starts its browser once (later captures' provenance has no launch step)
  and every capture gets a fresh context (a cookie set by one capture is not sent by
  the next in the same browser);
* SIGTERM in the middle of a batch: exit 143, every package left verifies and is
  indexed, the interrupted captures leave no package, index entry or work folder.

Tests that capture are marked ``browser``; the input refusals are not.
"""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from warcio.archiveiterator import ArchiveIterator

from archiver.archive.index import Archive
from archiver.capture import CaptureFailure, CaptureOptions, CaptureResult, capture_batch
from archiver.capture.pageopts import redacted
from archiver.schema import validate
from archiver.urls import parse_url_list
from archiver.verify import verify_package
from fixtures.server import FixtureServer

BIN = Path(sys.executable).parent
ARCHIVER = [str(BIN / "archiver")]


@dataclass
class Run:
    code: int
    out: str
    err: str

    @property
    def err_lines(self) -> list[str]:
        return [line for line in self.err.splitlines() if line.strip()]

    @property
    def docs(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.out.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    config = tmp_path_factory.mktemp("config")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARCHIVER_")}
    env["XDG_CONFIG_HOME"] = str(config)
    subprocess.run([*ARCHIVER, "key", "generate"], env=env, check=True, capture_output=True)
    return env


def archiver(args: list[str], env: dict[str, str], stdin: str | None = None) -> Run:
    proc = subprocess.run(
        [*ARCHIVER, *args], env=env, input=stdin, capture_output=True, text=True, timeout=300
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)


def quiet_json(archive: Path) -> list[str]:
    return ["--archive", str(archive), "--no-timestamp", "--json"]


def refused_url() -> str:
    """A URL on 127.0.0.1 where nothing listens: the connection is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


def warc_records(package: Path) -> list[Any]:
    with zipfile.ZipFile(package) as zf:
        data = zf.read("archive/data.warc.gz")
    found = []
    for record in ArchiveIterator(io.BytesIO(data)):
        record.payload = record.content_stream().read()
        found.append(record)
    return found


def request_cookies(package: Path, path: str) -> list[str]:
    """The Cookie headers of the requests for ``path`` recorded in the package."""
    cookies = []
    for rec in warc_records(package):
        uri = rec.rec_headers.get_header("WARC-Target-URI") or ""
        if rec.rec_type == "request" and uri.endswith(path):
            cookies.append(rec.http_headers.get_header("Cookie") or "")
    return cookies


def provenance(package: Path) -> dict[str, Any]:
    for rec in warc_records(package):
        uri = rec.rec_headers.get_header("WARC-Target-URI") or ""
        if uri.startswith("urn:provenance:"):
            doc: dict[str, Any] = json.loads(rec.payload)
            return doc
    raise AssertionError(f"no provenance record in {package}")


def leftovers(archive: Path) -> list[str]:
    """Anything in the archive besides the index and finished packages."""
    index = {"index.sqlite3", "index.sqlite3-wal", "index.sqlite3-shm", "captures"}
    extra = [p.name for p in archive.iterdir() if p.name not in index]
    extra += [p.name for p in (archive / "captures").iterdir() if p.suffix != ".wacz"]
    return extra


# --- the URL list ------------------------------------------------------------------------


def test_a_url_list_skips_blanks_and_comments_and_names_each_bad_line() -> None:
    data = (
        "\ufeff# today's articles\n"
        "https://news.example/a\n"
        "\n"
        "   \n"
        "  https://news.example/b   # the second one\n"
        "news.example/c\n"
        "ftp://news.example/d\n"
        "https://news.example/e#section\n"
    ).encode() + b"\xff\xfe\n"
    found = parse_url_list(data, "list.txt")
    assert found.urls == [
        "https://news.example/a",
        "https://news.example/b",
        "https://news.example/e#section",
    ]
    assert [p.split(": ")[0] for p in found.problems] == [
        "list.txt:6",
        "list.txt:7",
        "list.txt:9",
    ]
    assert "did you mean http://news.example/c" in found.problems[0]
    assert "unsupported URL scheme 'ftp:'" in found.problems[1]
    assert found.problems[2] == "list.txt:9: not UTF-8 text"


def test_an_unreadable_list_is_exit_2_with_one_line(tmp_path: Path) -> None:
    run = archiver(["capture", "-i", str(tmp_path / "missing.txt")], dict(os.environ))
    assert run.code == 2
    assert run.err_lines == [
        f"archiver: error: cannot read {tmp_path / 'missing.txt'}: No such file or directory"
    ]
    run = archiver(["capture", "-i", str(tmp_path)], dict(os.environ))
    assert run.code == 2 and run.err_lines == [
        f"archiver: error: cannot read {tmp_path}: Is a directory"
    ]


def test_no_url_at_all_is_exit_2(tmp_path: Path) -> None:
    run = archiver(["capture"], dict(os.environ))
    assert run.code == 2 and run.err_lines == ["archiver: error: give a URL, or -i FILE"]
    empty = tmp_path / "urls.txt"
    empty.write_text("# nothing yet\n\n")
    run = archiver(["capture", "-i", str(empty)], dict(os.environ))
    assert run.code == 2 and run.err_lines == [f"archiver: error: no URL to capture in {empty}"]
    run = archiver(["capture", "-i", "-"], dict(os.environ), stdin="not-a-url\n")
    assert run.code == 2
    assert run.err_lines[0].startswith("archiver: error: <stdin>:1: malformed URL")
    assert run.err_lines[1] == "archiver: error: no URL to capture in -"
    assert archiver(["capture", "--workers", "0", "https://a.example/"], dict(os.environ)).code == 2


# --- batches with real Chromium ----------------------------------------------------------


@pytest.mark.browser
def test_a_refused_host_fails_alone_and_the_rest_is_captured_and_indexed(
    fixture_server: FixtureServer, browser_path: Path, tmp_path: Path, env: dict[str, str]
) -> None:
    refused = refused_url()
    good = [fixture_server.article_url, fixture_server.url("/status/404")]
    listing = tmp_path / "urls.txt"
    listing.write_text(
        f"# batch\n\n{good[0]}\n{refused}   # nothing listens here\nnot a url\n{good[1]}\n"
    )
    archive = tmp_path / "archive"
    run = archiver(["capture", "-i", str(listing), *quiet_json(archive)], env)
    assert run.code == 1, run.err
    for doc in run.docs:  # one line per URL, in completion order, each schema-valid
        validate(doc, "capture.schema.json")
    assert sorted((d["url"], d["ok"]) for d in run.docs) == sorted(
        [(good[0], True), (good[1], True), (refused, False)]
    )
    (failed,) = [d for d in run.docs if not d["ok"]]
    assert "connection refused" in failed["error"]
    assert f"archiver: error: {listing}:5: malformed URL 'not a url': it contains spaces" in (
        run.err_lines
    )
    assert [line for line in run.err_lines if refused in line and "error" in line] == [
        f"archiver: error: {failed['error']}"
    ]
    assert "Traceback" not in run.err
    listed = archiver(["list", "--archive", str(archive), "--json"], env).docs
    captured = {d["id"] for d in run.docs if d["ok"]}
    assert {entry["id"] for entry in listed} == captured
    assert {p.stem for p in (archive / "captures").glob("*.wacz")} == captured
    for doc in run.docs:
        if doc["ok"]:
            assert verify_package(Path(doc["path"])).integrity == "passed"
    assert leftovers(archive) == []


@pytest.mark.browser
def test_one_worker_reuses_its_browser_and_each_capture_has_a_fresh_context(
    fixture_server: FixtureServer, browser_path: Path, tmp_path: Path, env: dict[str, str]
) -> None:
    set_url, echo_url = (
        fixture_server.url("/cookie/set?value=v1"),
        fixture_server.url("/cookie/echo"),
    )
    archive = tmp_path / "archive"
    run = archiver(
        ["capture", set_url, "-i", "-", "--workers", "1", *quiet_json(archive)],
        env,
        stdin=f"# from stdin\n{echo_url}\n",
    )
    assert run.code == 0, run.err
    first, second = (Path(d["path"]) for d in run.docs)  # one worker: in the given order
    assert [d["url"] for d in run.docs] == [set_url, echo_url]
    # the browser was started for the first capture only
    assert "launch" in provenance(first)["timings_ms"]
    assert "launch" not in provenance(second)["timings_ms"]
    # the cookie the first page set was sent inside its own capture, never in the next
    # (request records keep a Cookie header only as its hash: it may be a session secret)
    assert request_cookies(first, "/cookie/echo") == [redacted("batch-test=v1")]
    assert request_cookies(second, "/cookie/echo") == [""]


@pytest.mark.browser
def test_capture_batch_reports_in_the_calling_thread_with_one_browser_per_worker(
    fixture_server: FixtureServer, browser_path: Path, tmp_path: Path
) -> None:
    urls = [fixture_server.url("/cookie/echo"), fixture_server.url("/"), refused_url()]
    urls.append(fixture_server.url("/status/500"))
    seen: list[tuple[str, str]] = []

    def on_result(item: CaptureResult | CaptureFailure) -> None:
        seen.append((threading.current_thread().name, item.url))

    summary = capture_batch(
        urls,
        archive=Archive(tmp_path / "archive"),
        key=Ed25519PrivateKey.generate(),
        options=CaptureOptions(timeout=20),
        workers=2,
        on_result=on_result,
    )
    assert (summary.total, summary.captured, summary.failed, summary.interrupted) == (4, 3, 1, 0)
    assert summary.browser_launches == 2  # two workers, four captures
    assert len(summary.peak_browser_rss) == 2 and min(summary.peak_browser_rss) > 0
    assert sorted(url for _, url in seen) == sorted(urls)
    assert {thread for thread, _ in seen} == {threading.current_thread().name}


@pytest.mark.browser
def test_sigterm_stops_cleanly_keeping_only_finished_packages(
    fixture_server: FixtureServer, browser_path: Path, tmp_path: Path, env: dict[str, str]
) -> None:
    archive = tmp_path / "archive"
    slow = fixture_server.url("/slow/60")
    urls = [fixture_server.url("/cookie/echo"), slow, f"{slow}?again", fixture_server.url("/")]
    proc = subprocess.Popen(
        [*ARCHIVER, "capture", *urls, "--workers", "2", *quiet_json(archive)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    try:
        first = proc.stdout.readline()  # the first capture is done; the slow ones run
        assert json.loads(first)["ok"] is True, first
        threading.Event().wait(1.5)  # the freed worker has started the second slow page
        proc.send_signal(signal.SIGTERM)
        rest, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 143, err
    docs = [json.loads(line) for line in [first, *rest.splitlines()] if line.strip()]
    done = {d["id"]: Path(d["path"]) for d in docs if d["ok"]}
    assert len(done) == 1
    stopped = [d for d in docs if not d["ok"]]
    assert sorted(d["url"] for d in stopped) == sorted([slow, f"{slow}?again"])
    assert all("interrupted: nothing was kept" in d["error"] for d in stopped)
    assert "archiver: interrupted: 1 captured, 2 stopped (nothing of them kept), 1 not started" in (
        err
    )
    assert "Traceback" not in err
    assert {p.stem for p in (archive / "captures").glob("*.wacz")} == set(done)
    listed = archiver(["list", "--archive", str(archive), "--json"], env).docs
    assert {entry["id"] for entry in listed} == set(done)
    for path in done.values():
        assert verify_package(path).integrity == "passed"
    assert leftovers(archive) == []
