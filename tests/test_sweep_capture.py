"""Captures of hostile pages found by bench/sweep.py and by hand (real Chromium, real CLI path).

Each page is served on 127.0.0.1 by a small server of its own; each test captures it with
``archiver.capture.capture_url`` and reads the package back.
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from archiver.archive import Archive, read_text_document
from archiver.capture import CaptureOptions, capture_url
from archiver.extract import decode_html

STORY = "".join(
    f"<p>Paragraph {i}: the inquest into the death heard evidence from witness {i}.</p>"
    for i in range(12)
)
PAGES: dict[str, tuple[str, bytes]] = {
    # BuzzFeed-like: an ad script calls document.write after load, which wipes the page
    "/wiped.html": (
        "text/html; charset=utf-8",
        (
            "<html><head><title>Inquest adjourned</title></head><body>"
            f"<article><h1>Inquest adjourned</h1>{STORY}</article>"
            "<script>addEventListener('load', () => setTimeout(() =>"
            " document.write('<p>ad</p>'), 0))</script></body></html>"
        ).encode(),
    ),
}


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        content_type, body = PAGES.get(self.path, ("text/plain", b"not found"))
        self.send_response(200 if self.path in PAGES else 404)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.browser
def test_page_that_wipes_itself_after_load_keeps_its_served_article(
    base_url: str, tmp_path: Path
) -> None:
    archive = Archive(tmp_path / "archive")
    result = capture_url(
        base_url + "/wiped.html",
        archive=archive,
        key=Ed25519PrivateKey.generate(),
        options=CaptureOptions(timeout=20),
    )
    doc = read_text_document(result.path)
    assert result.article and doc["article"]["title"] == "Inquest adjourned"
    assert doc["article"]["text"].startswith("Paragraph 0: the inquest into the death")
    assert (
        "the rendered page held no article: article text taken from the HTML as served"
        in result.warnings
    )


@pytest.mark.parametrize(
    ("data", "content_type", "text"),
    [
        ("Caf\xe9 cr\xe8me".encode("latin-1"), "text/html; charset=ISO-8859-1", "Café crème"),
        (
            '<meta charset="windows-1251"><p>Привет</p>'.encode("cp1251"),
            "text/html",
            '<meta charset="windows-1251"><p>Привет</p>',
        ),
        ("\ufeff<p>Grüße</p>".encode("utf-16-le"), "text/html", "<p>Grüße</p>"),
        ("naïve".encode(), "text/html; charset=x-no-such-charset", "naïve"),
        (b"bad \xff byte", "text/html; charset=utf-8", "bad \ufffd byte"),
    ],
)
def test_served_html_is_decoded_by_its_declared_charset(
    data: bytes, content_type: str, text: str
) -> None:
    assert decode_html(data, content_type) == text
