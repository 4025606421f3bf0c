"""Real packages for the verification tests, built from real bytes: WarcRecorder,
proof.seal with local openssl TSAs (fixtures/tsa.py), package.write_wacz.

``build_package`` makes one signed, timestamped package whose claimed times are fixed
(``WHEN``); ``clean_set`` makes the clean package the verification tests share, with
what a forger would use against it (another package's token, a TSA's certificate and
key, a stranger TSA). conftest.py offers it as the session fixture ``clean_package``.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from tamper import CDXJ, PAGES, WARC

from archiver import package, proof
from archiver.model import Exchange
from archiver.proof import signing
from archiver.warc import WarcRecorder
from fixtures.tsa import LocalTSA

URL = "http://127.0.0.1:8000/article.html"
WHEN = datetime(2026, 11, 27, 9, 18, 7, tzinfo=UTC)
CLAIMED_START = WHEN.strftime("%Y-%m-%dT%H:%M:%SZ")  # what the package claims
WRITTEN = WHEN + timedelta(seconds=5)  # datapackage.json's created: after the capture ended


def _exchange(tmp: Path, n: int, url: str, body: bytes, mime: str, main: bool) -> Exchange:
    body_path = tmp / f"body{n}"
    body_path.write_bytes(body)
    return Exchange(
        request_id=str(n),
        url=url,
        method="GET",
        request_headers=[("User-Agent", "test"), ("Accept", "*/*")],
        request_body=None,
        http_version="HTTP/1.1",
        status=200,
        status_text="OK",
        response_headers=[("Content-Type", mime), ("Content-Encoding", "gzip")],
        body_path=body_path,
        body_size=len(body),
        mime_type=mime,
        resource_type="Document" if main else "Image",
        started=WHEN,
        remote_ip="127.0.0.1",
        is_main_document=main,
    )


def build_package(dest: Path, key: Ed25519PrivateKey, tsa_urls: list[str]) -> Path:
    """A package of the article (main response 2nd record), an image, text, provenance."""
    work = dest.parent / "work"
    work.mkdir()
    warc_path = work / "data.warc.gz"
    ids = iter(f"<urn:uuid:00000000-0000-4000-8000-{n:012d}>" for n in range(1, 100))
    with open(warc_path, "wb") as out:
        rec = WarcRecorder(out, page_id="page1", make_id=lambda: next(ids))
        rec.warcinfo({"software": "archiver tests"}, date=WHEN)
        html = b"<html><title>Kursk</title><p>75,000 people were evacuated.</p></html>"
        main_resp, _ = rec.exchange(_exchange(work, 1, URL, html, "text/html", True))
        img = bytes(range(256)) * 300
        rec.exchange(
            _exchange(work, 2, URL.replace("article.html", "a.png"), img, "image/png", False)
        )
        text = json.dumps({"article": {"text": "75,000 people were evacuated."}}).encode()
        rec.resource("urn:text:" + URL, "application/json", text, date=WHEN)
        rec.metadata(
            "urn:provenance:" + URL,
            "application/json",
            b'{"warnings": []}',
            date=WHEN,
            refers_to=main_resp.record_id,
        )
    records = rec.records
    content: list[tuple[str, Path | bytes]] = [
        (WARC, warc_path),
        (CDXJ, package.build_cdxj(records)),
        (
            PAGES,
            package.build_pages(page_id="page1", url=URL, ts=CLAIMED_START, title="Kursk"),
        ),
    ]
    capture = {
        "id": "20261127T091807Z-3f9c2a1b",
        "requested_url": URL,
        "final_url": URL,
        "status": 200,
        "started": CLAIMED_START,
        "ended": "2026-11-27T09:18:09Z",
        "software": "archiver tests",
        "browser": "Chromium test",
        "options": {},
    }
    entries, warnings = proof.seal(
        capture=capture, content=content, records=records, key=key, tsa_urls=tsa_urls, timeout=10
    )
    assert not warnings, warnings
    package.write_wacz(
        dest,
        [*content, *entries],
        title="Kursk",
        main_page_url=URL,
        main_page_date=CLAIMED_START,
        software="archiver tests",
        created=WRITTEN,  # not the clock: verify compares it with the signed capture end
    )
    shutil.rmtree(work)
    return dest


class Built:
    """A package with its signer key and the roots of the TSAs that timestamped it."""

    def __init__(self, path: Path, key: Ed25519PrivateKey, roots: list[bytes]) -> None:
        self.path = path
        self.key = key
        self.roots = roots
        self.pub = signing.public_pem(key)


class Forge(Built):
    """The clean package (two tokens, TSAs A and B), another package of the same content by
    another key (timestamped by A), and TSA A's certificate/keys (as if the TSA were
    compromised, or a forger ran a TSA of their own)."""

    other: Path
    tsa_cert: Path
    tsa_key: Path
    tsa_root: Path  # TSA A's root CA certificate and key: it issues certificates that
    tsa_root_key: Path  # chain to ``roots``
    stranger: LocalTSA


@contextmanager
def clean_set(base: Path) -> Iterator[Forge]:
    """Build the clean package and its companions under ``base``; TSAs A and B run
    until the context ends."""
    key = Ed25519PrivateKey.generate()
    for sub in ("a", "b", "x", "one", "two"):
        (base / sub).mkdir()
    with LocalTSA(base / "a") as tsa_a, LocalTSA(base / "b") as tsa_b:
        path = build_package(base / "one" / "clean.wacz", key, [tsa_a.url, tsa_b.url])
        forge = Forge(path, key, [tsa_a.root_pem, tsa_b.root_pem])
        other_key = Ed25519PrivateKey.generate()  # same content, another signature
        forge.other = build_package(base / "two" / "other.wacz", other_key, [tsa_a.url])
        forge.tsa_cert, forge.tsa_key = tsa_a.cert_path, tsa_a.key_path
        forge.tsa_root = tsa_a.root_path
        forge.tsa_root_key = tsa_a.root_path.with_suffix(".key")  # as fixtures.tsa.make_ca names it
        forge.stranger = LocalTSA(base / "x")  # certificates only; never started
        yield forge
