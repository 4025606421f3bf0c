"""The web app driven by real Chromium through Playwright, on 127.0.0.1.

The app (and its replay origin) runs in this process (``AppServer.start``); captures
made through it are real: headless Chromium records the fixture site, a local
``openssl ts`` TSA timestamps them. What the tests look at is what a person sees: the
replayed article inside the capture page, the timeline, the diff, the badges, the
capture form, the refusals, the PDF report's text and first page.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import zipfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from playwright.sync_api import Browser, Frame, Page, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from tamper import edit_record, find_record, flip_byte_in_body, main_response, rewrite
from webpackages import PARAGRAPHS, make_package

from archiver import config
from archiver.archive.index import Archive
from archiver.capture.chromium import launch_args
from archiver.capture.netpolicy import NetworkPolicy
from archiver.web import AppSettings
from archiver.web.server import AppServer, Listening
from fixtures.server import FixtureServer
from fixtures.site import EDITOR_NOTE, HEADLINE
from fixtures.tsa import LocalTSA

pytestmark = pytest.mark.browser

WAIT_MS = 90_000  # an upper bound for a capture or the viewer, never a measurement
PUBLIC_IP = "93.184.215.14"  # what the policy is told "public.test" resolves to


@dataclass
class App:
    server: AppServer
    at: Listening
    archive: Path

    def url(self, path: str) -> str:
        return self.at.url.rstrip("/") + path

    def capture(self, url: str) -> dict[str, Any]:
        """Capture ``url`` through ``POST /api/captures``; the finished job document."""
        response = httpx.post(self.url("/api/captures"), json={"url": url}, timeout=30)
        assert response.status_code == 202, response.text
        job = response.json()
        deadline = time.monotonic() + WAIT_MS / 1000
        while job["state"] in ("queued", "running") and time.monotonic() < deadline:
            time.sleep(0.3)
            job = httpx.get(self.url(job["links"]["api"]), timeout=30).json()
        return dict(job)


@pytest.fixture(scope="module")
def site() -> Iterator[FixtureServer]:
    with FixtureServer() as server:
        yield server


@pytest.fixture(scope="module")
def tsa(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalTSA]:
    with LocalTSA(tmp_path_factory.mktemp("tsa")) as server:
        yield server


def _start(settings: AppSettings, host: str = "127.0.0.1") -> App:
    server = AppServer(settings, host=host, port=0, replay_port=0)
    return App(server, server.start(), settings.archive)


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, tsa: LocalTSA) -> Iterator[App]:
    """The app over a fresh archive; its captures may reach 127.0.0.1 (the fixture site)."""
    settings = AppSettings(
        archive=tmp_path_factory.mktemp("app") / "archive",
        key=Ed25519PrivateKey.generate(),
        tsa_urls=(tsa.url,),
        policy=NetworkPolicy(allow_private=True),
        replayweb=config.replayweb_dir(None),
    )
    running = _start(settings)
    yield running
    running.server.stop()


@pytest.fixture(scope="module")
def public_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    """An app with the default policy: public addresses only. Its resolver says
    public.test is a public address (the browser is told it is 127.0.0.1)."""

    def resolver(host: str) -> list[str]:
        if host == "public.test":
            return [PUBLIC_IP]
        raise LookupError(f"{host} does not resolve")

    settings = AppSettings(
        archive=tmp_path_factory.mktemp("public") / "archive",
        key=Ed25519PrivateKey.generate(),
        policy=NetworkPolicy(resolver=resolver),
        replayweb=config.replayweb_dir(None),
    )
    running = _start(settings)
    yield running
    running.server.stop()


@pytest.fixture(scope="module")
def two_captures(app: App, site: FixtureServer) -> tuple[dict[str, Any], dict[str, Any]]:
    """The fixture article, then the same URL after the casualty figure changed."""
    first = app.capture(site.article_url)
    with site.variant("number-changed"):
        second = app.capture(site.article_url)
    assert first["state"] == "done", first["error"]
    assert second["state"] == "done", second["error"]
    return first, second


@pytest.fixture(scope="module")
def browser(browser_path: Path) -> Iterator[Browser]:
    with sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=str(browser_path), args=launch_args())
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    yield context.new_page()
    context.close()


def _frame(page: Page, suffix: str) -> Frame:
    for _ in range(WAIT_MS // 250):
        for frame in page.frames:
            if not frame.is_detached() and frame.url.endswith(suffix):
                return frame
        page.wait_for_timeout(250)
    raise AssertionError(f"no frame ending {suffix}: {[f.url for f in page.frames]}")


HAS_TEXT = "text => document.body !== null && document.body.innerText.includes(text)"


def _wait_text(frame: Frame, text: str) -> None:
    try:
        # polled by interval: an offscreen cross-origin frame gets no animation frames
        frame.wait_for_function(HAS_TEXT, arg=text, timeout=WAIT_MS, polling=250)
    except PlaywrightTimeout:
        shown = frame.evaluate("document.body ? document.body.innerText : '(no body)'")
        raise AssertionError(f"{text!r} never showed in {frame.url}; it shows:\n{shown}") from None


def test_the_article_replays_inside_the_capture_page(
    app: App, two_captures: tuple[dict[str, Any], dict[str, Any]], page: Page
) -> None:
    first, _ = two_captures
    page.goto(app.url(first["links"]["capture"]))
    frame = _frame(page, "mp_/" + first["url"])
    _wait_text(frame, HEADLINE)
    _wait_text(frame, EDITOR_NOTE)  # the paragraph the page's script fetched
    # replay runs on its own origin, in a sandboxed frame without popups or top navigation
    assert app.at.replay_url and frame.url.startswith(app.at.replay_url)
    sandbox = page.get_attribute("iframe#replay", "sandbox") or ""
    assert "allow-scripts" in sandbox and "allow-popups" not in sandbox
    assert "allow-top-navigation" not in sandbox
    # the replayed page cannot read the app's API: another origin, no CORS
    leaked = frame.evaluate(
        """async (api) => { try { const r = await fetch(api, {credentials: 'include'});
           return await r.text(); } catch (e) { return 'blocked'; } }""",
        app.url("/api/captures"),
    )
    assert "web-captures" not in leaked


def test_the_timeline_marks_the_change_and_opens_the_diff(
    app: App,
    two_captures: tuple[dict[str, Any], dict[str, Any]],
    page: Page,
    site: FixtureServer,
) -> None:
    first, second = two_captures
    page.goto(app.url("/captures/" + second["capture_id"]))
    page.click("text=Timeline of this URL")
    page.wait_for_selector("li.step-changed")
    changed = page.inner_text("li.step-changed")
    assert "75,000" in changed and "7,500" in changed
    page.click("li.step-changed >> text=See what changed")
    page.wait_for_url("**/diff?*")
    body = page.inner_text("main")
    assert "7,500" in body and "75,000" in body and "Edit interval" in body
    assert first["capture_id"] in page.url and second["capture_id"] in page.url


def test_a_tampered_package_reads_fail_and_the_app_keeps_working(
    app: App, two_captures: tuple[dict[str, Any], dict[str, Any]], page: Page
) -> None:
    archive = Archive(app.archive)
    bad_id = "20250430T093000Z-0000000c"
    bad = make_package(
        archive,
        Ed25519PrivateKey.generate(),
        capture_id=bad_id,
        url="http://tampered.test/",
        paragraphs=PARAGRAPHS,
        when=datetime(2025, 4, 30, 9, 30, tzinfo=UTC),
    )
    archive.rebuild()  # indexed as made; changed afterwards, as a tamperer would
    with zipfile.ZipFile(bad) as zf:
        index = find_record(zf.read("archive/data.warc.gz"), main_response("http://tampered.test/"))
    rewrite(bad, {"archive/data.warc.gz": edit_record(index, flip_byte_in_body(b"Korean"))})
    page.goto(app.url("/?q=tampered.test"))
    badge = page.locator(f"td[data-verify-id='{bad_id}'] .badge")
    try:
        badge.filter(has_text="FAIL").wait_for(timeout=WAIT_MS)
    except PlaywrightTimeout:
        api = httpx.get(app.url(f"/api/captures/{bad_id}/verify")).text[:300]
        raise AssertionError(f"badge: {page.inner_html('tbody')[:500]}\napi: {api}") from None
    page.goto(app.url(f"/captures/{bad_id}"))
    assert "Integrity FAILED" in page.inner_text(".verdict-line")
    assert "archive/data.warc.gz" in page.inner_text("#verify") or "urn:uuid" in page.inner_text(
        "#verify"
    )
    ok = page.goto(app.url("/captures/" + two_captures[0]["capture_id"]))
    assert ok is not None and ok.status == 200


def test_the_capture_form_makes_a_capture_that_appears_in_the_list(
    app: App, site: FixtureServer, page: Page
) -> None:
    url = site.variant_url("word-changed")
    page.goto(app.url("/capture"))
    page.fill("input[name=url]", url)
    page.click("button:has-text('Capture')")
    page.wait_for_url("**/captures/2*", timeout=WAIT_MS)  # the job page opens the capture
    new_id = page.url.rsplit("/", 1)[-1]
    assert url in page.inner_text(".final-url")
    page.goto(app.url("/"))
    assert page.locator(f"a[href='/captures/{new_id}']").count() == 1


def test_the_capture_form_takes_page_options(app: App, site: FixtureServer, page: Page) -> None:
    """Options chosen in the form shape the capture (a 500 px screenshot) and are in its
    signed provenance."""
    from test_capture_options import Package, png_width

    page.goto(app.url("/capture"))
    page.fill("input[name=url]", site.url("/opt/mobile"))  # a page that fits any width
    page.click("summary:has-text('Page options')")
    page.fill("input[name=viewport]", "500x900")
    page.fill("textarea[name=block]", "ads.invalid")
    page.click("button:has-text('Capture')")
    page.wait_for_url("**/captures/2*", timeout=WAIT_MS)
    new_id = page.url.rsplit("/", 1)[-1]
    package = Package(next(app.archive.glob(f"captures/**/{new_id}*.wacz")))
    assert png_width(package.resource("urn:screenshot:")) == 500
    options = package.json("urn:provenance:")["page_options"]
    assert options["viewport"] == "500x900" and options["block"] == ["ads.invalid"]


@pytest.mark.parametrize(
    "target", ["http://127.0.0.1:9/", "http://10.0.0.1/", "http://169.254.169.254/latest/"]
)
def test_the_form_refuses_private_targets(public_app: App, page: Page, target: str) -> None:
    page.goto(public_app.url("/capture"))
    page.fill("input[name=url]", target)
    page.click("button:has-text('Capture')")
    alert = page.inner_text("[role=alert]")
    assert "refused to capture" in alert and target.split("/")[2].split(":")[0] in alert


@pytest.fixture
def public_test_browser(
    tmp_path: Path, browser_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Captures' Chromium resolves public.test to 127.0.0.1 (the fixture site), as a
    public name whose server is, in fact, on this machine."""
    wrapper = tmp_path / "chromium"
    wrapper.write_text(
        f'#!/bin/sh\nexec "{browser_path}" "--host-resolver-rules=MAP public.test 127.0.0.1" "$@"\n'
    )
    wrapper.chmod(0o755)
    monkeypatch.setenv("ARCHIVER_BROWSER", str(wrapper))


@pytest.mark.usefixtures("public_test_browser")
def test_a_public_name_that_redirects_to_loopback_is_refused(
    public_app: App, site: FixtureServer
) -> None:
    target = f"http://public.test:{site.port}/redirect?to={site.article_url}"
    job = public_app.capture(target)
    assert job["state"] == "failed"
    assert "refused" in job["error"] and "127.0.0.1 is loopback" in job["error"]
    assert job["error"].count("\n") == 0
    assert not list((public_app.archive / "captures").glob("*.wacz"))


@pytest.mark.usefixtures("public_test_browser")
def test_a_public_name_the_browser_reaches_on_loopback_is_refused(
    public_app: App, site: FixtureServer
) -> None:
    """DNS rebinding: the check saw a public address, the browser connected to loopback."""
    job = public_app.capture(f"http://public.test:{site.port}/")
    assert job["state"] == "failed"
    assert "reached 127.0.0.1 (loopback)" in job["error"]


def test_without_the_token_a_non_loopback_bind_answers_401(tmp_path: Path, page: Page) -> None:
    settings = AppSettings(archive=tmp_path / "archive", token="newsroom-token")
    running = _start(settings, host="0.0.0.0")
    try:
        base = running.at.url.replace("0.0.0.0", "127.0.0.1")
        response = page.goto(base)
        assert response is not None and response.status == 401
        assert httpx.get(base + "api/captures").status_code == 401
        page.fill("input[name=token]", "newsroom-token")
        page.click("button:has-text('Sign in')")
        page.wait_for_selector("h1:has-text('Archive')")
        api = page.request.get(base + "api/captures")
        assert api.status == 200  # the session cookie the login set
    finally:
        running.server.stop()


def test_a_cross_site_form_post_is_rejected(app: App, site: FixtureServer, page: Page) -> None:
    page.goto(site.url("/"))  # another origin
    with page.expect_navigation() as navigation:
        page.evaluate(
            """(action) => { const f = document.createElement('form'); f.method = 'post';
               f.action = action; const i = document.createElement('input'); i.name = 'url';
               i.value = 'http://example.com/'; f.appendChild(i); document.body.appendChild(f);
               f.submit(); }""",
            app.url("/capture"),
        )
    response = navigation.value
    assert response is not None and response.status == 403


@pytest.mark.parametrize(
    "path",
    [
        "/captures/..%2F..%2Findex.sqlite3",
        "/captures/%2e%2e%2findex.sqlite3.wacz",
        "/api/captures/..%252f..%252fetc%252fpasswd",
    ],
)
def test_traversal_ids_are_rejected(app: App, page: Page, path: str) -> None:
    response = page.goto(app.url(path))
    assert response is not None and response.status == 404


def test_the_pdf_report_holds_the_evidence(
    app: App, two_captures: tuple[dict[str, Any], dict[str, Any]], page: Page, tmp_path: Path
) -> None:
    if not (shutil.which("pdftotext") and shutil.which("pdftoppm")):
        pytest.fail("pdftotext/pdftoppm missing: run make install (poppler-utils)", pytrace=False)
    first, second = two_captures
    page.goto(app.url(f"/diff?a={first['capture_id']}&b={second['capture_id']}"))
    with page.expect_download(timeout=WAIT_MS) as download:
        page.click("text=Evidence report (PDF)")
    pdf = tmp_path / "report.pdf"
    download.value.save_as(pdf)
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    flat = " ".join(text.split())
    for job in (first, second):
        facts = httpx.get(app.url(f"/api/captures/{job['capture_id']}")).json()
        entry = facts["entry"]
        assert entry["url"] in flat
        assert entry["started"] in flat  # the machine clock
        assert entry["tsa_times"] and entry["tsa_times"][0] in flat  # the TSA's time
        for digest in (
            facts["facts"]["signer_fingerprint"],
            facts["facts"]["package_sha256"],
            facts["facts"]["manifest_sha256"],
            facts["facts"]["warc_sha256"],
        ):
            assert digest in flat, digest
    assert "75,000" in flat and "7,500" in flat
    subprocess.run(
        ["pdftoppm", "-png", "-r", "50", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "p")],
        check=True,
    )
    first_page = next(tmp_path.glob("p*.png"))
    assert first_page.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    custody = httpx.get(app.url(f"/api/captures/{first['capture_id']}")).json()["custody"]
    assert any(e["kind"] == "exported" and e["sha256"] for e in custody)


def test_json_twins_of_the_real_captures_are_valid(
    app: App, two_captures: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    from archiver.schema import validate

    first, second = two_captures
    validate(httpx.get(app.url("/api/captures")).json(), "web-captures.schema.json")
    doc = httpx.get(app.url(f"/api/captures/{first['capture_id']}")).json()
    validate(doc, "web-capture.schema.json")
    assert doc["facts"]["provenance"]["network_policy"]["name"] == "allow-private"
    timeline = httpx.get(app.url(f"/api/urls/{first['url']}/timeline")).json()
    validate(timeline, "web-timeline.schema.json")
    assert json.dumps(timeline).count(second["capture_id"]) >= 1
    assert os.environ.get("ARCHIVER_BROWSER") != "/nonexistent"


@pytest.mark.usefixtures("public_test_browser")
def test_every_request_of_a_page_is_checked(site: FixtureServer, tmp_path: Path) -> None:
    """Image, iframe, pop-up, dedicated worker and fetch() of a public page each ask for
    a private or metadata address: each is refused before it leaves, and named."""
    from archiver.capture import browser

    policy = NetworkPolicy(resolver=lambda host: [PUBLIC_IP] if host == "public.test" else [])
    url = f"http://public.test:{site.port}/reach-private"
    with ThreadPoolExecutor(1) as pool:  # its own thread: this one runs Playwright's loop
        load = pool.submit(
            browser.load_page, url, workdir=tmp_path, timeout=30, policy=policy
        ).result()
    refused = "\n".join(w for w in load.warnings if w.startswith("network policy refused"))
    for url in (
        "http://169.254.169.254/latest/meta-data/pixel.png",
        "http://10.0.0.3/frame",
        "http://10.0.0.1/popup",
        "http://10.0.0.2/worker",
        "http://10.0.0.4/xhr",
    ):
        assert url in refused, (url, load.warnings)
    assert not [ex for ex in load.exchanges if ex.url.startswith(("http://10.", "http://169."))]
