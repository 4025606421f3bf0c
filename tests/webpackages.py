"""Small real packages for the web app's in-process tests (no browser): real WARC records
(a page, its text, a screenshot, provenance), a real manifest, signature and zip, made
with the library's own writers; an archive of them indexed by ``Archive.rebuild``."""

from __future__ import annotations

import io
import json
from datetime import datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from PIL import Image

from archiver import package, proof
from archiver.archive.index import Archive
from archiver.layout import CDXJ, PAGES, WARC
from archiver.model import Exchange
from archiver.warc import WarcRecorder

URL = "http://news.example/world/kursk"
PARAGRAPHS = [
    "North Korean leader Kim Jong-un praised the troops deployed to Russia.",
    "An estimated 75,000 Ukrainian troops in Kursk died, the commission said.",
    "A monument honoring their combat feats will soon be erected in the capital.",
]


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 96), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


def make_package(
    archive: Archive,
    key: Ed25519PrivateKey,
    *,
    capture_id: str,
    when: datetime,
    paragraphs: list[str],
    url: str = URL,
    title: str = "North Korea To Honour Soldiers",
    options: dict[str, object] | None = None,
) -> Path:
    """One signed package of ``url`` whose article is ``paragraphs``, in ``archive``
    (``options``: the capture options its manifest records, e.g. a worker's job id)."""
    work = archive.root / f"work-{capture_id}"
    work.mkdir(parents=True)
    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    html = "<html><title>" + title + "</title>" + "".join(f"<p>{p}</p>" for p in paragraphs)
    body = work / "body"
    body.write_bytes(html.encode())
    warc_path = work / "data.warc.gz"
    with open(warc_path, "wb") as out:
        rec = WarcRecorder(out, page_id=capture_id)
        rec.warcinfo({"software": "archiver tests", "browser": "Chromium test"}, date=when)
        main, _ = rec.exchange(
            Exchange(
                request_id="1",
                url=url,
                method="GET",
                request_headers=[("User-Agent", "test")],
                request_body=None,
                http_version="HTTP/1.1",
                status=200,
                status_text="OK",
                response_headers=[("Content-Type", "text/html")],
                body_path=body,
                body_size=body.stat().st_size,
                mime_type="text/html",
                resource_type="Document",
                started=when,
                remote_ip="93.184.215.14",
                is_main_document=True,
            )
        )
        rec.resource("urn:screenshot:" + url, "image/png", _png(), date=when)
        text = {
            "article": {
                "title": title,
                "byline": "Daniel Harcourt",
                "published": None,
                "modified": None,
                "site_name": "Meridian",
                "text": "\n".join(paragraphs),
            },
            "page_text": "\n".join(paragraphs),
            "extractor": {"name": "trafilatura", "version": "test", "settings": {}},
        }
        rec.resource("urn:text:" + url, "application/json", json.dumps(text).encode(), date=when)
        provenance = {
            "requested_url": url,
            "final_url": url,
            "server_ip": "93.184.215.14",
            "tls_chain_pem": [],
            "warnings": [],
            "browser": "Chromium test",
        }
        rec.metadata(
            "urn:provenance:" + url,
            "application/json",
            json.dumps(provenance).encode(),
            date=when,
            refers_to=main.record_id,
        )
    records = rec.records
    content: list[tuple[str, Path | bytes]] = [
        (WARC, warc_path),
        (CDXJ, package.build_cdxj(records)),
        (PAGES, package.build_pages(page_id=capture_id, url=url, ts=stamp, title=title)),
    ]
    capture = {
        "id": capture_id,
        "requested_url": url,
        "final_url": url,
        "status": 200,
        "started": stamp,
        "ended": stamp,
        "clock": "capturing machine's clock",
        "software": "archiver tests",
        "browser": "Chromium test",
        "options": options or {},
    }
    entries, _warnings = proof.seal(
        capture=capture, content=content, records=records, key=key, tsa_urls=[], timeout=5
    )
    dest = archive.captures / f"{capture_id}.wacz"
    package.write_wacz(
        dest,
        [*content, *entries],
        title=title,
        main_page_url=url,
        main_page_date=stamp,
        software="archiver tests",
        created=when,
    )
    for leftover in sorted(work.rglob("*"), reverse=True):
        leftover.unlink() if leftover.is_file() else leftover.rmdir()
    work.rmdir()
    return dest
