"""A real capture replays in ReplayWeb.page, Webrecorder's in-browser replay viewer.

``archiver capture`` records the fixture article from a fixture server of its own; that
server is then stopped, so nothing can come from the live site any more. A small HTTP
server on 127.0.0.1 serves the harness page (``tests/replayweb/index.html``), the viewer
(``ui.js``, and ``sw.js`` as the replay service worker under ``/replay/``) and the
package, answering HTTP Range requests as a static host does. Real Chromium opens the
page; the viewer reads the WACZ (its CDXJ index, pages.jsonl, the WARC) and renders the
archived article in nested iframes, which the tests look into.

The viewer is the npm package ``replaywebpage``, pinned in tests/replayweb/package.json and
installed by ``make test`` (target ``replayweb``). A missing viewer FAILS the tests: it
is a broken environment, not an optional feature.
"""

from __future__ import annotations

import http.server
import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from playwright.sync_api import Frame, Page, ViewportSize, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from archiver.capture.chromium import launch_args
from fixtures.server import FixtureServer
from fixtures.site import EDITOR_NOTE, HEADLINE, PARAGRAPHS

pytestmark = pytest.mark.browser

HARNESS = Path(__file__).resolve().parent / "replayweb"
VIEWER = HARNESS / "node_modules" / "replaywebpage"
ARCHIVER = Path(sys.executable).parent / "archiver"
VIEWPORT: ViewportSize = {"width": 1280, "height": 900}
WAIT_MS = 60_000  # an upper bound for the viewer to load the package, never a measurement
RANGE = re.compile(r"bytes=(\d*)-(\d*)")


@pytest.fixture(scope="module")
def viewer() -> Path:
    """The installed ReplayWeb.page files; the test fails when they are missing."""
    missing = [name for name in ("ui.js", "sw.js") if not (VIEWER / name).is_file()]
    if missing:
        pytest.fail(
            f"ReplayWeb.page is not installed ({', '.join(missing)} missing in {VIEWER}): "
            "run `make test` (or `make replayweb`) to install it",
            pytrace=False,
        )
    return VIEWER


@dataclass
class Capture:
    package: Path
    url: str
    live_origin: str
    result: dict[str, Any]


@pytest.fixture(scope="module")
def capture(tmp_path_factory: pytest.TempPathFactory) -> Capture:
    """The fixture article captured by the CLI from a server that is gone afterwards."""
    home = tmp_path_factory.mktemp("xdg")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARCHIVER_")}
    env["XDG_CONFIG_HOME"] = str(home)
    archive = tmp_path_factory.mktemp("replayweb") / "archive"
    key = subprocess.run(
        [str(ARCHIVER), "key", "generate"], env=env, capture_output=True, text=True, timeout=60
    )
    assert key.returncode == 0, key.stderr
    with FixtureServer() as site:
        url = site.article_url
        run = subprocess.run(
            [str(ARCHIVER), "capture", url, "--archive", str(archive), "--no-timestamp", "--json"],
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
        )
    # The live site is stopped here: whatever the viewer shows from now on comes from the WACZ.
    assert run.returncode == 0, f"capture failed ({run.returncode}): {run.stderr}"
    result: dict[str, Any] = json.loads(run.stdout)
    return Capture(Path(result["path"]), result["final_url"], site.base_url, result)


@dataclass
class ReplayServer:
    """Serves the harness, the viewer and one package; remembers what it was asked for."""

    files: dict[str, tuple[Path, str]]
    requests: list[str] = field(default_factory=list)

    def handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_HEAD(self) -> None:
                self.answer(body=False)

            def do_GET(self) -> None:
                self.answer(body=True)

            def answer(self, *, body: bool) -> None:
                path = self.path.split("?", 1)[0]
                outer.requests.append(path)
                if path not in outer.files:
                    self.send_error(404)
                    return
                source, mime = outer.files[path]
                data = source.read_bytes()
                first, last, status = 0, len(data) - 1, 200
                wanted = RANGE.fullmatch(self.headers.get("Range", "").strip())
                if wanted and (wanted[1] or wanted[2]) and data:
                    status = 206
                    if wanted[1]:
                        first = int(wanted[1])
                        last = min(int(wanted[2]), last) if wanted[2] else last
                    else:
                        first = max(len(data) - int(wanted[2]), 0)
                    if first > last:
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(data)}")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                self.send_response(status)
                self.send_header("Content-Type", mime)
                self.send_header("Accept-Ranges", "bytes")
                self.send_header("Cache-Control", "no-store")
                if status == 206:
                    self.send_header("Content-Range", f"bytes {first}-{last}/{len(data)}")
                self.send_header("Content-Length", str(last - first + 1))
                self.end_headers()
                if body:
                    self.wfile.write(data[first : last + 1])

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


@pytest.fixture(scope="module")
def replay_server(viewer: Path, capture: Capture) -> Iterator[tuple[str, ReplayServer]]:
    js = "application/javascript"
    files = {
        "/": (HARNESS / "index.html", "text/html; charset=utf-8"),
        "/ui.js": (viewer / "ui.js", js),
        "/replay/ui.js": (viewer / "ui.js", js),
        "/replay/sw.js": (viewer / "sw.js", js),
        "/capture.wacz": (capture.package, "application/wacz+zip"),
    }
    state = ReplayServer(files)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), state.handler())
    thread = threading.Thread(target=server.serve_forever, name="replayweb", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@dataclass
class Session:
    page: Page
    console: list[str] = field(default_factory=list)
    requested: list[str] = field(default_factory=list)


@pytest.fixture
def session(browser_path: Path) -> Iterator[Session]:
    """A fresh Chromium (fresh service worker and cache) per test."""
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(browser_path), args=launch_args())
        try:
            context = browser.new_context(viewport=VIEWPORT)
            page = context.new_page()
            seen = Session(page)
            page.on("console", lambda m: seen.console.append(f"{m.type}: {m.text}"))
            page.on("pageerror", lambda e: seen.console.append(f"pageerror: {e}"))
            page.on("request", lambda r: seen.requested.append(r.url))
            yield seen
        finally:
            browser.close()


# Text of the document, looking into open shadow roots (the viewer's own UI lives in them).
DEEP_TEXT = """() => {
  const parts = [];
  const walk = (node) => {
    if (node.nodeType === Node.TEXT_NODE) { parts.push(node.textContent); return; }
    if (node.shadowRoot) walk(node.shadowRoot);
    for (const child of node.childNodes) walk(child);
  };
  if (document.documentElement) walk(document.documentElement);
  return parts.join(" ").replace(/\\s+/g, " ");
}"""


def find_frame(session: Session, wanted: Callable[[str], bool], what: str) -> Frame:
    """The first frame whose URL satisfies ``wanted``, waiting for the viewer to make it."""
    page = session.page
    for _ in range(WAIT_MS // 250):
        for frame in page.frames:
            if not frame.is_detached() and wanted(frame.url):
                return frame
        page.wait_for_timeout(250)  # lets Playwright process frame events, unlike time.sleep
    frames = [f.url for f in page.frames]
    console = "\n".join(session.console[-30:])
    raise AssertionError(f"no frame for {what}; frames: {frames}\nconsole:\n{console}")


def wait_in(frame: Frame, session: Session, script: str, arg: Any, what: str) -> None:
    """Wait until ``script(arg)`` holds in ``frame``; fail saying ``what`` never appeared."""
    try:
        frame.wait_for_function(script, arg=arg, timeout=WAIT_MS)
    except PlaywrightTimeout:
        console = "\n".join(session.console[-30:])
        raise AssertionError(f"{what} never showed in {frame.url}\nconsole:\n{console}") from None


HAS_TEXT = "text => document.body !== null && document.body.innerText.includes(text)"


def open_replay(session: Session, base: str, capture: Capture) -> Frame:
    """Open the archived article in the viewer; return the frame it is rendered in."""
    session.page.goto(base + "?" + urlencode({"url": capture.url}), wait_until="load")
    # The viewer renders the archived document in "mp_" (raw replay) mode.
    frame = find_frame(session, lambda u: u.endswith("mp_/" + capture.url), capture.url)
    wait_in(frame, session, HAS_TEXT, HEADLINE, "the headline")
    return frame


def test_article_replays_with_headline_and_paragraphs(
    replay_server: tuple[str, ReplayServer], capture: Capture, session: Session
) -> None:
    base, state = replay_server
    frame = open_replay(session, base, capture)

    assert frame.locator("h1").first.inner_text().strip() == HEADLINE
    text = frame.evaluate("document.body.innerText")
    for paragraph in (PARAGRAPHS[0], PARAGRAPHS[-1]):
        assert paragraph in text
    assert frame.title().startswith(HEADLINE)
    # The bytes came from the package, read piecewise as from any static host.
    assert "/capture.wacz" in state.requests


def test_paragraph_the_page_fetched_by_script_replays(
    replay_server: tuple[str, ReplayServer], capture: Capture, session: Session
) -> None:
    """The editor's note only exists after the page's own fetch(): replayed from the WARC."""
    base, _ = replay_server
    frame = open_replay(session, base, capture)
    wait_in(frame, session, HAS_TEXT, EDITOR_NOTE, "the editor's note (fetched by script)")


def test_lead_image_is_served_from_the_archive(
    replay_server: tuple[str, ReplayServer], capture: Capture, session: Session
) -> None:
    base, _ = replay_server
    frame = open_replay(session, base, capture)
    lead = frame.locator("figure.lead-image img")
    lead.scroll_into_view_if_needed()
    loaded = "() => { const i = document.querySelector('figure.lead-image img');"
    loaded += " return i !== null && i.complete && i.naturalWidth > 0; }"
    wait_in(frame, session, loaded, None, "a loaded lead image")
    source = lead.evaluate("img => img.currentSrc")
    # Rewritten to the viewer's own origin: served by its service worker from the WACZ.
    assert source.startswith(base + "replay/w/"), source
    assert "/img/lead-" in source
    assert lead.evaluate("img => img.naturalHeight") > 0


def test_nothing_is_asked_of_the_live_site(
    replay_server: tuple[str, ReplayServer], capture: Capture, session: Session
) -> None:
    """Every resource of the replayed page is rewritten to the archive; none leaks out."""
    base, state = replay_server
    frame = open_replay(session, base, capture)
    wait_in(frame, session, HAS_TEXT, EDITOR_NOTE, "the editor's note (fetched by script)")
    leaked = [url for url in session.requested if url.startswith(capture.live_origin)]
    assert leaked == []
    # The host is asked only for the harness, the viewer and the package: every archived
    # resource under /replay/w/ is answered by the service worker from the WACZ.
    strays = sorted({p for p in state.requests if p not in state.files} - {"/favicon.ico"})
    assert strays == []


def test_page_list_comes_from_pages_jsonl(
    replay_server: tuple[str, ReplayServer], capture: Capture, session: Session
) -> None:
    """Without a URL the viewer lists the package's pages: exactly ours, by title and URL."""
    base, _ = replay_server
    session.page.goto(base, wait_until="load")
    ui = find_frame(session, lambda u: u.startswith(base + "replay/?"), "the viewer's UI")
    expected = [HEADLINE, capture.url, "1 page"]
    check = f"want => {{ const t = ({DEEP_TEXT})(); return want.every(w => t.includes(w)); }}"
    wait_in(ui, session, check, expected, f"a page list of {expected}")


def test_screenshot_of_the_replay_is_a_png(
    replay_server: tuple[str, ReplayServer], capture: Capture, session: Session, tmp_path: Path
) -> None:
    base, _ = replay_server
    open_replay(session, base, capture)
    shot = tmp_path / "replay.png"
    session.page.screenshot(path=str(shot))
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (VIEWPORT["width"], VIEWPORT["height"])
