"""Test helpers: build a synthetic capture package, and replay a package with pywb.

``make_package`` writes a real WACZ from synthetic Exchanges (bodies in small files),
the way capture.py does, without a browser. ``PywbReplay`` starts pywb's own
``wayback`` server on a free 127.0.0.1 port over a temporary collection holding the
package's WARC and *our* CDXJ index, so a test proves pywb can find and serve what we
wrote.
"""

from __future__ import annotations

import hashlib
import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType

from archiver.model import Exchange, RecordInfo
from archiver.package import build_cdxj, build_pages, write_wacz
from archiver.warc import WarcRecorder

BIN = Path(sys.executable).parent
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never a proxy
WHEN = datetime(2026, 11, 27, 9, 18, 7, tzinfo=UTC)


def png_bytes(width: int = 3, height: int = 2) -> bytes:
    """A small valid PNG (red pixels), built by hand."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    ihdr = width.to_bytes(4, "big") + height.to_bytes(4, "big") + b"\x08\x02\x00\x00\x00"
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def exchange(
    tmp: Path,
    url: str,
    body: bytes | None,
    *,
    mime: str = "text/html",
    status: int = 200,
    headers: list[tuple[str, str]] | None = None,
    http_version: str = "HTTP/1.1",
    started: datetime = WHEN,
    is_redirect: bool = False,
    is_main: bool = False,
) -> Exchange:
    """A synthetic Exchange whose body sits in a file under ``tmp``."""
    body_path: Path | None = None
    if body is not None:
        body_path = tmp / f"body-{hashlib.sha256(url.encode()).hexdigest()[:12]}"
        body_path.write_bytes(body)
    return Exchange(
        request_id=url,
        url=url,
        method="GET",
        request_headers=[("User-Agent", "archiver-test"), ("Accept", "*/*")],
        request_body=None,
        http_version=http_version,
        status=status,
        status_text="",
        response_headers=headers if headers is not None else [("Content-Type", mime)],
        body_path=body_path,
        body_size=len(body or b""),
        mime_type=mime,
        resource_type="Document" if is_main else "Image",
        started=started,
        remote_ip="127.0.0.1",
        is_redirect=is_redirect,
        is_main_document=is_main,
    )


@dataclass
class Synthetic:
    """What make_package wrote, for assertions."""

    path: Path
    sha256: str
    url: str
    html: bytes
    png: bytes
    records: list[RecordInfo]
    text_doc: dict[str, object]
    members: dict[str, bytes] = field(default_factory=dict)


def make_package(
    tmp: Path,
    dest: Path,
    *,
    url: str = "http://127.0.0.1:8000/article.html",
    title: str = "A synthetic article",
    article_text: str | None = "First paragraph.\n\nSecond paragraph.",
    started: datetime = WHEN,
    capture_id: str = "20261127T091807Z-0badc0de",
    signer: str | None = "ab" * 32,
    tokens: int = 0,
) -> Synthetic:
    """Write a complete package (HTML page + PNG image + capture resources) to ``dest``."""
    work = tmp / f"work-{dest.stem}"
    work.mkdir(parents=True, exist_ok=True)
    img_url = url.rsplit("/", 1)[0] + "/pixel.png"
    html = (
        f"<html><head><title>{title}</title></head>"
        '<body><p>Hi</p><img src="pixel.png"></body></html>'
    ).encode()
    png = png_bytes()
    ids = iter(f"<urn:uuid:00000000-0000-4000-8000-{n:012d}>" for n in range(1000))
    warc = work / "data.warc.gz"
    text_doc: dict[str, object] = {
        "url": url,
        "article": None
        if article_text is None
        else {
            "title": title,
            "byline": None,
            "published": None,
            "modified": None,
            "site_name": None,
            "text": article_text,
        },
        "reason": None if article_text is not None else "no article found",
        "page_text": "Hi",
    }
    with warc.open("wb") as out:
        rec = WarcRecorder(out, page_id="page-1", make_id=lambda: next(ids))
        rec.warcinfo({"software": "archiver test", "format": "WARC File Format 1.1"}, date=started)
        main, _ = rec.exchange(
            exchange(
                work,
                url,
                html,
                is_main=True,
                started=started,
                headers=[
                    ("Content-Type", "text/html; charset=utf-8"),
                    ("Content-Encoding", "gzip"),
                    ("Content-Length", "17"),
                ],
            )
        )
        rec.exchange(
            exchange(
                work,
                img_url,
                png,
                mime="image/png",
                started=started + timedelta(seconds=1),
                headers=[("Content-Type", "image/png")],
            )
        )
        later = started + timedelta(seconds=2)
        rec.resource(f"urn:screenshot:{url}", "image/png", png, date=later)
        rec.resource(f"urn:dom:{url}", "text/html; charset=utf-8", html, date=later)
        rec.resource(
            f"urn:text:{url}", "application/json", json.dumps(text_doc).encode(), date=later
        )
        rec.metadata(
            f"urn:provenance:{url}",
            "application/json",
            b'{"final_url": "x"}',
            date=later,
            refers_to=main.record_id,
        )
    iso = started.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    manifest = {
        "capture": {
            "id": capture_id,
            "requested_url": url,
            "final_url": url,
            "status": 200,
            "started": iso,
            "ended": iso,
        },
    }
    if signer:
        manifest["signer"] = {"fingerprint": signer}
    members: dict[str, bytes] = {
        "indexes/index.cdxj": build_cdxj(rec.records),
        "pages/pages.jsonl": build_pages(
            page_id="page-1", url=url, ts=started.strftime("%Y-%m-%dT%H:%M:%SZ"), title=title
        ),
        "provenance/manifest.json": json.dumps(manifest).encode(),
        "provenance/manifest.json.sig": b"\x01" * 64,
    }
    for n in range(tokens):
        members[f"provenance/manifest.json.sig.{n}.tsr"] = b"not a real token"
    sha = write_wacz(
        dest,
        [("archive/data.warc.gz", warc), *members.items()],
        title=title,
        main_page_url=url,
        main_page_date=started.strftime("%Y-%m-%dT%H:%M:%SZ"),
        software="archiver test",
        created=started,
    )
    members["archive/data.warc.gz"] = warc.read_bytes()
    return Synthetic(dest, sha, url, html, png, list(rec.records), text_doc, members)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class PywbReplay:
    """pywb's ``wayback`` serving one package as collection ``coll`` on 127.0.0.1.

    Use as a context manager; ``fetch(url)`` returns (status, headers, body) of the
    replayed original URL (``id_`` mode: the payload exactly as archived).
    """

    def __init__(self, wacz: Path, workdir: Path) -> None:
        self.workdir = workdir
        coll = workdir / "collections" / "coll"
        (coll / "archive").mkdir(parents=True)
        (coll / "indexes").mkdir(parents=True)
        with zipfile.ZipFile(wacz) as zf:
            (coll / "archive" / "data.warc.gz").write_bytes(zf.read("archive/data.warc.gz"))
            (coll / "indexes" / "index.cdxj").write_bytes(zf.read("indexes/index.cdxj"))
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}/coll"
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> PywbReplay:
        log = (self.workdir / "wayback.log").open("wb")
        self.proc = subprocess.Popen(
            [str(BIN / "wayback"), "-b", "127.0.0.1", "-p", str(self.port), "-t", "2"],
            cwd=self.workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"wayback exited: {(self.workdir / 'wayback.log').read_text()}")
            try:
                with _OPENER.open(f"http://127.0.0.1:{self.port}/", timeout=2):
                    return self
            except (urllib.error.URLError, OSError):
                time.sleep(0.2)
        raise RuntimeError("wayback did not start within 60 s")

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def fetch(self, url: str, ts: str = "", mode: str = "id_") -> tuple[int, dict[str, str], bytes]:
        """Replay ``url`` (at 14-digit ``ts``, or the closest capture) in ``mode``.

        ``id_`` (default) serves the archived payload byte for byte; ``mp_`` is the
        rewritten page a reader sees in pywb's frame.
        """
        target = f"{self.base}/{ts}{mode}/{url}"
        try:
            with _OPENER.open(target, timeout=30) as resp:
                return resp.status, dict(resp.headers.items()), resp.read()
        except urllib.error.HTTPError as err:
            return err.code, dict(err.headers.items()), err.read()
