"""browser.py: real Chromium loading pages from a local server on 127.0.0.1.

Each test proves something a user of the archive sees: which exchanges are recorded,
with which headers and bodies, and which one-line errors a bad URL gives. Finding the
browser and a browser that fails to start, which need no Chromium: test_chromium.py.
"""

from __future__ import annotations

import gzip
import hashlib
import http.server
import os
import random
import socket
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from archiver.capture.browser import browser_version, find_browser, load_page
from archiver.errors import CaptureError
from archiver.model import Exchange, PageLoad

pytestmark = pytest.mark.browser

Route = Callable[[http.server.BaseHTTPRequestHandler], None]


@dataclass
class Site:
    """A threaded HTTP server serving files from a folder plus programmable routes."""

    root: Path
    routes: dict[str, Route] = field(default_factory=dict)
    seen_headers: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    port: int = 0

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def write(self, name: str, content: str | bytes) -> None:
        data = content.encode("utf-8") if isinstance(content, str) else content
        (self.root / name).write_bytes(data)


def _handler(site: Site) -> type[http.server.SimpleHTTPRequestHandler]:
    class Handler(http.server.SimpleHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, directory=str(site.root), **kwargs)  # type: ignore[arg-type]

        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            site.seen_headers[self.path] = list(self.headers.items())
            route = site.routes.get(self.path.partition("?")[0])
            if route is not None:
                route(self)
            else:
                super().do_GET()

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            reply(self, 200, body, "text/plain")

    return Handler


def reply(
    h: http.server.BaseHTTPRequestHandler,
    status: int,
    body: bytes,
    mime: str,
    extra: list[tuple[str, str]] | None = None,
) -> None:
    h.send_response(status)
    h.send_header("Content-Type", mime)
    h.send_header("Content-Length", str(len(body)))
    for name, value in extra or []:
        h.send_header(name, value)
    h.end_headers()
    h.wfile.write(body)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("site")
    s = Site(root)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(s))
    server.daemon_threads = True
    s.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield s
    server.shutdown()
    server.server_close()


BIG = random.Random(7).randbytes(400_000)
ARTICLE = "<p>" + "Words of the article. " * 40 + "</p>"
GZIPPED_TEXT = ("gzip me " * 2000).encode()

RICH_PAGE = f"""<!doctype html>
<html><head><title>Rich page</title>
<link rel="stylesheet" href="/style.css">
<script src="/missing.js"></script>
</head><body>
<h1>Rich page</h1>{ARTICLE}
<img src="/small.svg" srcset="/small.svg 1x, /small2x.svg 2x" alt="srcset">
<iframe src="/frame.html" width="300" height="200"></iframe>
<iframe src="http://localhost:{{port}}/cross.html" width="300" height="200"></iframe>
<div style="height: 6000px">spacer</div>
<img src="/lazy.svg" loading="lazy" alt="lazy">
<div id="observed" style="height: 50px">observed</div>
<script>
fetch('/api/data.json').then(r => r.json()).then(d => document.title += ' ' + d.n);
const x = new XMLHttpRequest(); x.open('GET', '/api/xhr.txt'); x.send();
fetch('/echo', {{method: 'POST', body: 'posted-body'}});
fetch('/echo-big', {{method: 'POST', body: new Blob(['p'.repeat(300000)])}});
fetch('/big.bin').then(r => r.arrayBuffer());
fetch('/gz.txt').then(r => r.text());
new Worker('/worker.js');
new IntersectionObserver((entries, obs) => {{
  if (entries.some(e => e.isIntersecting)) {{ fetch('/seen-by-observer.txt'); obs.disconnect(); }}
}}).observe(document.getElementById('observed'));
</script>
</body></html>
"""
SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    '<rect width="10" height="10"/></svg>'
)


def _gzip_route(h: http.server.BaseHTTPRequestHandler) -> None:
    reply(h, 200, gzip.compress(GZIPPED_TEXT), "text/plain", [("Content-Encoding", "gzip")])


def _redirect(target: str) -> Route:
    def route(h: http.server.BaseHTTPRequestHandler) -> None:
        reply(h, 301, b"moved", "text/plain", [("Location", target)])

    return route


@pytest.fixture(scope="module")
def rich(site: Site, tmp_path_factory: pytest.TempPathFactory) -> PageLoad:
    """One capture of a page using every kind of subresource, shared by several tests."""
    site.write("rich.html", RICH_PAGE.replace("{port}", str(site.port)))
    site.write("cross.html", '<p>other site</p><img src="/cross-img.svg">')
    site.write("cross-img.svg", SVG)
    site.write("worker.js", "fetch('/from-worker.txt');")
    site.write("from-worker.txt", "worker was here")
    site.write("style.css", "body { font-family: sans-serif; }")
    for name in ("small.svg", "small2x.svg", "lazy.svg", "frame-img.svg"):
        site.write(name, SVG)
    site.write("frame.html", '<p>inside the frame</p><img src="/frame-img.svg">')
    (site.root / "api").mkdir(exist_ok=True)
    site.write("api/data.json", '{"n": 42}')
    site.write("api/xhr.txt", "xhr answer")
    site.write("seen-by-observer.txt", "observed")
    site.write("big.bin", BIG)
    site.routes["/gz.txt"] = _gzip_route
    site.routes["/start"] = _redirect("/rich.html")
    workdir = tmp_path_factory.mktemp("rich-work")
    steps: list[str] = []
    load = load_page(site.url("/start"), workdir=workdir, timeout=30, progress=steps.append)
    load.warnings.append("steps: " + ",".join(steps))  # handed to test_progress_steps
    return load


def _one(load: PageLoad, path: str, site: Site) -> Exchange:
    found = [ex for ex in load.exchanges if ex.url == site.url(path)]
    assert len(found) == 1, f"{path}: {[(e.url, e.status) for e in load.exchanges]}"
    return found[0]


def _body(ex: Exchange) -> bytes:
    assert ex.body_path is not None, f"{ex.url} has no body"
    return ex.body_path.read_bytes()


def _header(headers: list[tuple[str, str]], name: str) -> list[str]:
    return [v for k, v in headers if k.lower() == name.lower()]


def test_redirect_hop_is_its_own_exchange(rich: PageLoad, site: Site) -> None:
    hop = _one(rich, "/start", site)
    assert hop.is_redirect and hop.status == 301 and hop.body_path is None
    assert _header(hop.response_headers, "Location") == ["/rich.html"]
    for name in ("User-Agent", "Accept", "Host", "Sec-Fetch-Mode", "Upgrade-Insecure-Requests"):
        assert _header(hop.request_headers, name) == _header(site.seen_headers["/start"], name)
    main = _one(rich, "/rich.html", site)
    assert main.is_main_document and not main.is_redirect
    assert rich.requested_url == site.url("/start")
    assert rich.final_url == site.url("/rich.html")
    assert rich.main_status == 200 and rich.main_mime_type == "text/html"
    assert rich.title.startswith("Rich page")
    assert rich.server_ip == "127.0.0.1"
    assert [ex for ex in rich.exchanges if ex.is_main_document] == [main]


def test_subresources_of_every_kind_are_recorded(rich: PageLoad, site: Site) -> None:
    missing = _one(rich, "/missing.js", site)
    assert missing.status == 404 and missing.resource_type == "Script"
    assert _body(_one(rich, "/api/data.json", site)) == b'{"n": 42}'
    assert _one(rich, "/api/data.json", site).resource_type == "Fetch"
    xhr = _one(rich, "/api/xhr.txt", site)
    assert xhr.resource_type == "XHR" and _body(xhr) == b"xhr answer"
    post = _one(rich, "/echo", site)
    assert post.method == "POST" and post.request_body == b"posted-body"
    assert _body(post) == b"posted-body"
    big_post = _one(rich, "/echo-big", site)  # too big to travel inside the CDP event
    assert big_post.request_body == b"p" * 300_000 and _body(big_post) == b"p" * 300_000
    assert _body(_one(rich, "/style.css", site)).startswith(b"body {")
    assert _one(rich, "/small.svg", site).status == 200  # the 1x candidate of the srcset


def test_lazy_content_below_the_fold_is_recorded(rich: PageLoad, site: Site) -> None:
    assert _body(_one(rich, "/lazy.svg", site)) == SVG.encode()
    assert _body(_one(rich, "/seen-by-observer.txt", site)) == b"observed"


def test_iframe_and_its_resources_are_recorded(rich: PageLoad, site: Site) -> None:
    frame = _one(rich, "/frame.html", site)
    assert frame.resource_type == "Document" and not frame.is_main_document
    assert b"inside the frame" in _body(frame)
    assert _one(rich, "/frame-img.svg", site).status == 200
    # a cross-site iframe (localhost vs 127.0.0.1) would run out of process by default
    other = [ex for ex in rich.exchanges if ex.url.startswith(f"http://localhost:{site.port}/")]
    assert {ex.url.rsplit("/", 1)[1] for ex in other} == {"cross.html", "cross-img.svg"}


def test_dedicated_worker_requests_are_recorded(rich: PageLoad, site: Site) -> None:
    assert _one(rich, "/worker.js", site).status == 200
    assert _body(_one(rich, "/from-worker.txt", site)) == b"worker was here"
    assert not [f for f in rich.failed if "worker" in f.url]


def test_gzip_body_stored_decoded_with_original_header(rich: PageLoad, site: Site) -> None:
    ex = _one(rich, "/gz.txt", site)
    assert _body(ex) == GZIPPED_TEXT
    assert ex.body_size == len(GZIPPED_TEXT)
    assert _header(ex.response_headers, "Content-Encoding") == ["gzip"]
    assert _header(ex.response_headers, "Content-Length") == [str(len(gzip.compress(GZIPPED_TEXT)))]


def test_request_headers_are_what_the_browser_sent(rich: PageLoad, site: Site) -> None:
    ex = _one(rich, "/rich.html", site)
    sent = site.seen_headers["/rich.html"]
    assert _header(ex.request_headers, "User-Agent") == [rich.user_agent]
    assert "HeadlessChrome" in rich.user_agent or "Chrome" in rich.user_agent
    for name in ("User-Agent", "Accept", "Accept-Encoding", "Host", "Sec-Fetch-Site"):
        assert _header(ex.request_headers, name) == _header(sent, name), name
    css = _one(rich, "/style.css", site)
    assert _header(css.request_headers, "Referer") == [site.url("/rich.html")]
    assert _header(css.request_headers, "Accept") == _header(
        site.seen_headers["/style.css"], "Accept"
    )


def test_large_body_streams_intact(rich: PageLoad, site: Site) -> None:
    ex = _one(rich, "/big.bin", site)
    assert ex.body_size == len(BIG)
    assert hashlib.sha256(_body(ex)).hexdigest() == hashlib.sha256(BIG).hexdigest()


def test_capture_facts_and_progress(rich: PageLoad) -> None:
    assert rich.screenshot_png.startswith(b"\x89PNG\r\n\x1a\n")
    assert "inside the frame" not in rich.dom_html and "Rich page" in rich.dom_html
    assert rich.browser_version.startswith(("Chromium ", "Google Chrome "))
    assert rich.viewport == (1280, 800) and rich.started <= rich.ended
    assert {"launch", "navigate", "idle", "scroll", "screenshot", "total"} <= set(rich.timings_ms)
    steps = rich.warnings[-1].removeprefix("steps: ").split(",")
    assert steps[:3] == ["launching browser", "loading", "waiting for network idle"]
    assert "scrolling" in steps and "screenshot" in steps
    assert not [w for w in rich.warnings[:-1] if "HTTP" in w or "idle" in w]


def test_main_document_404_is_a_capture_with_warning(site: Site, tmp_path: Path) -> None:
    def not_found(h: http.server.BaseHTTPRequestHandler) -> None:
        reply(h, 404, b"<html><title>Gone</title><p>no such page</p></html>", "text/html")

    site.routes["/gone"] = not_found
    load = load_page(site.url("/gone"), workdir=tmp_path, timeout=20)
    assert load.main_status == 404 and load.title == "Gone"
    assert "HTTP 404" in load.warnings
    assert b"no such page" in _body(next(e for e in load.exchanges if e.is_main_document))


def test_consent_overlay_is_flagged(site: Site, tmp_path: Path) -> None:
    site.write(
        "consent.html",
        "<title>News</title><p>story</p>"
        '<div id="cookie-banner" style="position:fixed;inset:0;background:#fff">'
        "We use cookies to improve your experience. <button>Accept all</button></div>",
    )
    load = load_page(site.url("/consent.html"), workdir=tmp_path, timeout=20)
    assert "consent wall suspected" in load.warnings
    site.write("no-consent.html", "<title>News</title><p>story about cookies</p>")
    load = load_page(site.url("/no-consent.html"), workdir=tmp_path / "2", timeout=20)
    assert "consent wall suspected" not in load.warnings


def test_request_that_never_ends_bounds_readiness(site: Site, tmp_path: Path) -> None:
    release = threading.Event()

    def hold(h: http.server.BaseHTTPRequestHandler) -> None:
        release.wait(30)  # answers only when the test is over

    site.routes["/poll"] = hold
    site.write("polling.html", "<title>Live</title><p>live</p><script>fetch('/poll')</script>")
    try:
        load = load_page(site.url("/polling.html"), workdir=tmp_path, timeout=3)
    finally:
        release.set()
    assert load.title == "Live" and load.screenshot_png.startswith(b"\x89PNG")
    assert "network never went idle within 3 s" in load.warnings
    assert [(f.url, f.error) for f in load.failed] == [
        (site.url("/poll"), "no response before the capture ended")
    ]


def test_event_stream_does_not_hold_readiness(site: Site, tmp_path: Path) -> None:
    release = threading.Event()

    def events(h: http.server.BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "text/event-stream")
        h.end_headers()
        h.wfile.write(b"data: hello\n\n")
        h.wfile.flush()
        release.wait(30)

    site.routes["/events"] = events
    site.write("live.html", "<title>Live</title><script>new EventSource('/events')</script>")
    try:
        load = load_page(site.url("/live.html"), workdir=tmp_path, timeout=8)
    finally:
        release.set()
    assert load.title == "Live"
    assert not [w for w in load.warnings if "idle" in w]


def test_image_main_document_is_recorded(site: Site, tmp_path: Path) -> None:
    site.write("picture.svg", SVG)
    load = load_page(site.url("/picture.svg"), workdir=tmp_path, timeout=20)
    main = _one(load, "/picture.svg", site)
    assert main.is_main_document and load.main_mime_type == "image/svg+xml"
    assert _body(main) == SVG.encode()
    assert load.screenshot_png.startswith(b"\x89PNG")


def test_pdf_main_document_is_recorded(site: Site, tmp_path: Path) -> None:
    pdf = (
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
        b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
    )
    site.write("doc.pdf", pdf)
    load = load_page(site.url("/doc.pdf"), workdir=tmp_path, timeout=20)
    main = _one(load, "/doc.pdf", site)  # the PDF viewer's own wrapper page is not recorded
    assert main.is_main_document
    assert load.main_status == 200 and load.main_mime_type == "application/pdf"
    assert _body(main) == pdf


def test_download_main_document_is_recorded(site: Site, tmp_path: Path) -> None:
    data = b"PK\x03\x04" + random.Random(3).randbytes(5000)

    def attachment(h: http.server.BaseHTTPRequestHandler) -> None:
        disposition = ("Content-Disposition", "attachment; filename=data.zip")
        reply(h, 200, data, "application/zip", [disposition])

    site.routes["/data.zip"] = attachment
    load = load_page(site.url("/data.zip"), workdir=tmp_path, timeout=20)
    main = _one(load, "/data.zip", site)
    assert main.is_main_document and load.main_mime_type == "application/zip"
    assert _body(main) == data
    assert load.screenshot_png == b"" and load.dom_html == ""
    assert "the browser downloaded application/zip: no screenshot" in load.warnings


def test_https_main_document_keeps_its_certificate(tmp_path: Path) -> None:
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    import ssl

    root = tmp_path / "www"
    root.mkdir()
    s = Site(root)
    s.write("index.html", "<title>secure</title><p>hello</p>")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(s))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"https://127.0.0.1:{server.server_address[1]}/index.html"
        load = load_page(url, workdir=tmp_path / "work", timeout=20, ignore_https_errors=True)
    finally:
        server.shutdown()
        server.server_close()
    assert load.title == "secure" and load.final_url == url
    assert load.tls_chain_pem == [
        ssl.DER_cert_to_PEM_cert(ssl.PEM_cert_to_DER_cert(cert.read_text()))
    ]


# --- errors -----------------------------------------------------------------------------------


def test_connection_refused(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/"
    with pytest.raises(CaptureError) as err:
        load_page(url, workdir=tmp_path, timeout=10)
    assert str(err.value) == f"cannot reach {url}: connection refused (net::ERR_CONNECTION_REFUSED)"


def test_host_that_does_not_resolve(tmp_path: Path) -> None:
    with pytest.raises(CaptureError) as err:
        load_page("http://does-not-exist.invalid/", workdir=tmp_path, timeout=10)
    assert str(err.value) == (
        "host does-not-exist.invalid does not resolve (net::ERR_NAME_NOT_RESOLVED)"
    )


def test_server_that_never_answers(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)  # accepts connections, never answers
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/slow"
        with pytest.raises(CaptureError) as err:
            load_page(url, workdir=tmp_path, timeout=2)
    assert str(err.value) == f"{url} did not answer within 2 s"


def test_redirect_loop(site: Site, tmp_path: Path) -> None:
    site.routes["/loop-a"] = _redirect("/loop-b")
    site.routes["/loop-b"] = _redirect("/loop-a")
    with pytest.raises(CaptureError) as err:
        load_page(site.url("/loop-a"), workdir=tmp_path, timeout=20)
    assert str(err.value) == f"redirect loop at {site.url('/loop-a')} (ERR_TOO_MANY_REDIRECTS)"


def test_real_browser_version() -> None:
    version = browser_version(find_browser())
    assert version.split(" ")[0] in {"Chromium", "Google"}
    assert version.rsplit(" ", 1)[1].count(".") == 3
    assert os.access(find_browser(), os.X_OK)


def test_very_tall_page_gets_a_screenshot_of_its_top(site: Site, tmp_path: Path) -> None:
    # A full-page shot taller than Chromium's largest texture fails after a long wait;
    # the capture keeps the top of the page instead, and says so.
    site.write("tall.html", "<title>Tall</title><p>top</p><div style='height:60000px'></div>")
    load = load_page(site.url("/tall.html"), workdir=tmp_path, timeout=20)
    png = load.screenshot_png
    assert png.startswith(b"\x89PNG")
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert (width, height) == (1280, 16384)
    assert any(w.startswith("screenshot shows the top 16384 px of a ") for w in load.warnings)
    assert not any(w.startswith("screenshot failed") for w in load.warnings)


def test_main_document_204_is_a_capture_with_warning(site: Site, tmp_path: Path) -> None:
    # Chromium aborts a navigation answered 204 (it keeps the blank page); the answer
    # itself is what the URL gave at that time, so it is recorded, not an error.
    def no_content(h: http.server.BaseHTTPRequestHandler) -> None:
        h.send_response(204)
        h.send_header("X-Seen", "yes")
        h.end_headers()

    site.routes["/empty"] = no_content
    load = load_page(site.url("/empty"), workdir=tmp_path, timeout=20)
    main = next(e for e in load.exchanges if e.is_main_document)
    assert (load.main_status, main.url, main.body_size) == (204, site.url("/empty"), 0)
    assert _header(main.response_headers, "X-Seen") == ["yes"]
    assert "HTTP 204: the server sent no content to show" in load.warnings


def test_page_that_navigates_itself_during_the_scroll_pass(site: Site, tmp_path: Path) -> None:
    site.write("landed.html", "<title>Landed</title><p>the page it went on to</p>")
    site.write(
        "leaves.html",
        "<title>Leaves</title><p>first</p><div style='height:5000px'></div><script>"
        "addEventListener('scroll', () => { location.href = '/landed.html' }, {once: true})"
        "</script>",
    )
    load = load_page(site.url("/leaves.html"), workdir=tmp_path, timeout=20)
    assert (load.final_url, load.title) == (site.url("/landed.html"), "Landed")
    went = f"the page went on to {site.url('/landed.html')} by itself: that page is captured"
    assert went in load.warnings
    assert not any("Execution context was destroyed" in w for w in load.warnings)
    assert "the page it went on to" in load.dom_html
    urls = [ex.url for ex in load.exchanges]
    assert site.url("/leaves.html") in urls and site.url("/landed.html") in urls
