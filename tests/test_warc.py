"""warc.py writes WARC/1.1 records that replay tools and `warcio check` accept."""

from __future__ import annotations

import gzip
import hashlib
import io
import subprocess
import sys
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

import pytest
from replay import WHEN, exchange, png_bytes
from warcio.archiveiterator import ArchiveIterator

from archiver.errors import PackageError
from archiver.warc import WarcRecorder, gzip_level, read_record_at

BIN = Path(sys.executable).parent


def ids() -> object:
    counter = iter(range(10_000))
    return lambda: f"<urn:uuid:00000000-0000-4000-8000-{next(counter):012d}>"


def write(tmp: Path, exchanges: list[object], **kw: object) -> tuple[Path, WarcRecorder]:
    path = tmp / "data.warc.gz"
    with path.open("wb") as out:
        rec = WarcRecorder(out, page_id="page-1", make_id=ids())  # type: ignore[arg-type]
        rec.warcinfo({"software": "archiver test", "host": "test"}, date=WHEN)
        for ex in exchanges:
            rec.exchange(ex)  # type: ignore[arg-type]
        rec.resource("urn:text:http://127.0.0.1/", "application/json", b'{"a": 1}', date=WHEN)
        rec.metadata(
            "urn:provenance:http://127.0.0.1/",
            "application/json",
            b"{}",
            date=WHEN,
            refers_to=rec.records[1].record_id,
        )
    return path, rec


def records(path: Path) -> list[tuple[dict[str, str], bytes, bytes]]:
    """(WARC headers, HTTP header block, payload) of every record, read by warcio."""
    out = []
    with path.open("rb") as fh:
        for record in ArchiveIterator(fh):
            http = record.http_headers.to_bytes() if record.http_headers else b""
            out.append((dict(record.rec_headers.headers), http, record.raw_stream.read()))
    return out


def test_records_pass_warcio_check_with_sha256_digests(tmp_path: Path) -> None:
    ex = exchange(tmp_path, "http://127.0.0.1:8000/", b"<html>hello</html>", is_main=True)
    path, rec = write(tmp_path, [ex])
    check = subprocess.run(
        [str(BIN / "warcio"), "check", "-v", str(path)], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.count("digest pass") == len(rec.records) == 5
    for headers, http, payload in records(path):
        assert (
            headers["WARC-Block-Digest"] == "sha256:" + hashlib.sha256(http + payload).hexdigest()
        )
        if headers["WARC-Type"] != "warcinfo":
            assert headers["WARC-Payload-Digest"] == "sha256:" + hashlib.sha256(payload).hexdigest()
    assert gzip.decompress(path.read_bytes()).startswith(b"WARC/1.1\r\n")


def test_each_record_is_its_own_gzip_member_at_the_reported_offset(tmp_path: Path) -> None:
    ex = exchange(tmp_path, "http://127.0.0.1:8000/", b"<html>hello</html>", is_main=True)
    path, rec = write(tmp_path, [ex])
    data = path.read_bytes()
    assert rec.records[0].offset == 0
    for a, b in zip(rec.records, rec.records[1:], strict=False):
        assert a.offset + a.length == b.offset
    last = rec.records[-1]
    assert last.offset + last.length == len(data)
    for info in rec.records:
        member = gzip.decompress(data[info.offset : info.offset + info.length])
        assert f"WARC-Record-ID: {info.record_id}".encode() in member


def test_decoded_body_is_described_by_its_headers(tmp_path: Path) -> None:
    body = b"<html>" + b"x" * 5000 + b"</html>"
    ex = exchange(
        tmp_path,
        "https://127.0.0.1:8443/page",
        body,
        http_version="HTTP/2",
        headers=[
            ("content-type", "text/html"),
            ("content-encoding", "br"),
            ("transfer-encoding", "chunked"),
            ("content-length", "123"),
            ("set-cookie", "a=1\nb=2"),
        ],
    )
    path, _ = write(tmp_path, [ex])
    headers, http, payload = records(path)[1]
    assert headers["WARC-Type"] == "response"
    assert payload == body
    lines = http.decode().split("\r\n")
    assert lines[0] == "HTTP/1.1 200 OK"
    assert "Content-Length: 5013" in lines
    assert "X-Archiver-Orig-Content-Encoding: br" in lines
    assert "X-Archiver-Orig-Transfer-Encoding: chunked" in lines
    assert "X-Archiver-Orig-Protocol: HTTP/2" in lines
    assert "set-cookie: a=1" in lines and "set-cookie: b=2" in lines
    lowered = [line.lower() for line in lines]
    assert not any(line.startswith(("content-encoding:", "transfer-encoding:")) for line in lowered)
    assert "content-length: 123" not in lowered


def test_request_and_response_point_at_each_other_and_share_the_page_id(tmp_path: Path) -> None:
    ex = exchange(tmp_path, "http://127.0.0.1:8000/a?q=1", b"ok", is_main=True)
    path, _ = write(tmp_path, [ex])
    recs = records(path)
    assert all(h["WARC-Page-ID"] == "page-1" for h, _, _ in recs)
    warcinfo, resp, req = recs[0][0], recs[1][0], recs[2][0]
    assert resp["WARC-Concurrent-To"] == req["WARC-Record-ID"]
    assert req["WARC-Concurrent-To"] == resp["WARC-Record-ID"]
    assert resp["WARC-IP-Address"] == "127.0.0.1"
    assert resp["WARC-Warcinfo-ID"] == warcinfo["WARC-Record-ID"]
    assert recs[2][1].startswith(b"GET /a?q=1 HTTP/1.1\r\nHost: 127.0.0.1:8000\r\n")
    assert recs[-1][0]["WARC-Refers-To"] == resp["WARC-Record-ID"]
    assert recs[-1][0]["WARC-Type"] == "metadata"
    assert recs[0][2] == b"software: archiver test\r\nhost: test\r\n"
    assert recs[0][0]["Content-Type"] == "application/warc-fields"


def test_redirect_hop_is_kept_with_its_location(tmp_path: Path) -> None:
    hop = exchange(
        tmp_path,
        "http://127.0.0.1:8000/old",
        None,
        status=301,
        headers=[("Location", "/new"), ("Content-Length", "0")],
        is_redirect=True,
    )
    final = exchange(tmp_path, "http://127.0.0.1:8000/new", b"new", is_main=True)
    path, rec = write(tmp_path, [hop, final])
    headers, http, payload = records(path)[1]
    assert headers["WARC-Target-URI"] == "http://127.0.0.1:8000/old"
    assert http.startswith(b"HTTP/1.1 301 Moved Permanently\r\n")
    assert b"Location: /new\r\n" in http and payload == b""
    assert rec.records[1].status == 301


def test_injected_ids_and_dates_give_identical_bytes(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    pa, _ = write(a, [exchange(a, "http://127.0.0.1/", b"same", is_main=True)])
    pb, _ = write(b, [exchange(b, "http://127.0.0.1/", b"same", is_main=True)])
    assert pa.read_bytes() == pb.read_bytes()


def test_reading_gives_back_what_was_written(tmp_path: Path) -> None:
    png = png_bytes()
    exs = [
        exchange(tmp_path, "http://127.0.0.1/", b"<html></html>", is_main=True),
        exchange(tmp_path, "http://127.0.0.1/i.png", png, mime="image/png"),
    ]
    path, rec = write(tmp_path, exs)
    with path.open("rb") as fh:
        read = [read_record_at(fh, written.offset) for written in rec.records]
        assert [info for info, _ in read] == rec.records
        assert [r.rec_headers.get_header("WARC-Record-ID") for _, r in read] == [
            w.record_id for w in rec.records
        ]
        image = rec.records[3]
        info, record = read_record_at(fh, image.offset)
        assert info == image and info.mime == "image/png" and info.status == 200
        assert record.raw_stream.read() == png


def test_large_body_is_streamed_not_held_in_memory(tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    digest = hashlib.sha256()
    with big.open("wb") as fh:
        for n in range(256):
            block = bytes([n]) * (1 << 17)  # 32 MiB in total
            fh.write(block)
            digest.update(block)
    ex = exchange(tmp_path, "http://127.0.0.1/big.bin", None, mime="application/octet-stream")
    ex = type(ex)(**{**ex.__dict__, "body_path": big, "body_size": big.stat().st_size})
    out = tmp_path / "big.warc.gz"
    tracemalloc.start()
    with out.open("wb") as fh:
        rec = WarcRecorder(fh, page_id="p", make_id=ids())  # type: ignore[arg-type]
        resp, _ = rec.exchange(ex)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert resp.payload_digest == "sha256:" + digest.hexdigest()
    assert peak < 8 << 20, f"peak Python memory {peak} bytes for a 32 MiB body"


def test_truncated_warc_is_a_package_error(tmp_path: Path) -> None:
    ex = exchange(tmp_path, "http://127.0.0.1/", b"<html>" + bytes(range(256)) * 200, is_main=True)
    path, rec = write(tmp_path, [ex])
    cut = path.read_bytes()[: rec.records[1].offset + rec.records[1].length // 2]
    with pytest.raises(PackageError, match=r"WARC data is not readable.*truncated"):
        read_record_at(io.BytesIO(cut), rec.records[1].offset)


def test_naive_dates_are_taken_as_utc(tmp_path: Path) -> None:
    out = io.BytesIO()
    rec = WarcRecorder(out, page_id="p")
    info = rec.resource("urn:x", "text/plain", b"x", date=datetime(2026, 1, 2, 3, 4, 5))
    aware = rec.resource(
        "urn:y", "text/plain", b"y", date=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    )
    assert info.date == aware.date == "2026-01-02T03:04:05Z"


def test_a_body_that_does_not_compress_is_stored_and_text_is_deflated(tmp_path: Path) -> None:
    """Media bodies go into their gzip member stored (no time spent deflating what does
    not shrink); text is deflated; warcio, gzip and the digests read both the same."""
    import random

    noise = random.Random(7).randbytes(3 << 20)  # like a video: does not compress
    text = b"<p>" + b"The council voted to close the bridge for repairs. " * 60_000 + b"</p>"
    media = exchange(tmp_path, "http://127.0.0.1/clip.mp4", noise, mime="video/mp4")
    page = exchange(tmp_path, "http://127.0.0.1/", text, is_main=True)
    path, rec = write(tmp_path, [media, page])
    data = path.read_bytes()
    by_uri = {(r.target_uri, r.type): r for r in rec.records}
    stored = by_uri[("http://127.0.0.1/clip.mp4", "response")]
    deflated = by_uri[("http://127.0.0.1/", "response")]
    assert len(noise) < stored.length < len(noise) * 1.01  # stored: a little framing only
    assert deflated.length < len(text) / 20  # deflated
    payloads = {
        h.get("WARC-Target-URI"): p for h, _, p in records(path) if h["WARC-Type"] == "response"
    }
    assert payloads["http://127.0.0.1/clip.mp4"] == noise
    assert payloads["http://127.0.0.1/"] == text
    assert stored.payload_digest == "sha256:" + hashlib.sha256(noise).hexdigest()
    # the gzip header's XFL byte tells the level zlib used: 4 fastest/stored, 0 default,
    # 2 maximum (what every member had before: level 9 even on video)
    assert data[stored.offset + 8] == 4 and data[deflated.offset + 8] == 0
    assert gzip_level(io.BytesIO(noise)) == 0 and gzip_level(io.BytesIO(text)) == 6
    for info in (stored, deflated):  # each still one member that gzip alone reads
        assert gzip.decompress(data[info.offset : info.offset + info.length]).startswith(
            b"WARC/1.1"
        )
    check = subprocess.run(
        [str(BIN / "warcio"), "check", "-v", str(path)], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr
