"""Finishing a ready page: screenshot, rendered DOM, bodies, main document facts, walls,
TLS chain, downloads adopted as bodies; all assembled into the PageLoad.
"""

from __future__ import annotations

import base64
import shutil
import ssl
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from playwright.async_api import CDPSession, Download, FloatRect, Page
from playwright.async_api import Error as PlaywrightError

from ..errors import CaptureError
from ..model import Exchange, PageLoad
from .exchanges import find_main
from .netlog import STEP_GRACE_S, Recorder
from .pageactions import find_walls
from .pagescripts import PAGE_HEIGHT_SCRIPT
from .readiness import Clock, Ready, Steps
from .workers import _Workers

MAX_SCREENSHOT_PX = 16384  # Chromium's largest texture: a taller full-page shot fails or hangs
_FULL_PAGE_TYPES = {"text/html", "application/xhtml+xml", "text/plain"}


def _pem_chain(der_b64: list[str]) -> list[str]:
    return [ssl.DER_cert_to_PEM_cert(base64.b64decode(item)) for item in der_b64]


async def _finish(
    *,
    page: Page,
    session: CDPSession,
    recorder: Recorder,
    workers: _Workers,
    main_frame: str,
    url: str,
    started: datetime,
    clock: Clock,
    progress: Callable[[str], None],
    viewport: tuple[int, int],
    version: str,
    downloads: list[Download],
    loaded: Ready,
    bodies: Path,
    timeout: float,
    consent_clicks: list[dict[str, Any]] | None = None,
    blocked: list[str] | None = None,
) -> PageLoad:
    """Screenshot, DOM, bodies, main document facts: assemble the PageLoad."""
    warnings, steps = loaded.steps.warnings, loaded.steps
    limit = max(timeout, 10.0)  # each step's own bound: a stuck page must not hang us
    screenshot, dom, title = b"", "", ""
    walls: list[str] = []
    if not loaded.downloaded:
        progress("screenshot")
        # Full-page screenshots hang on non-HTML documents (an SVG file): shoot the viewport.
        kind = await steps.run(page.evaluate("document.contentType"), STEP_GRACE_S, "", quiet=True)
        full = kind in _FULL_PAGE_TYPES
        clip: FloatRect | None = None
        if full:
            height = await steps.run(
                page.evaluate(PAGE_HEIGHT_SCRIPT), STEP_GRACE_S, "", quiet=True
            )
            if isinstance(height, int | float) and height > MAX_SCREENSHOT_PX:
                clip = {"x": 0, "y": 0, "width": viewport[0], "height": MAX_SCREENSHOT_PX}
                warnings.append(
                    f"screenshot shows the top {MAX_SCREENSHOT_PX} px of a {int(height)} px page"
                )
        shot = page.screenshot(full_page=full, clip=clip, type="png", timeout=limit * 1000.0)
        screenshot = await steps.run(shot, limit + STEP_GRACE_S, "screenshot") or b""
        clock.lap("screenshot")
        progress("saving page")
        dom = await steps.run(page.content(), limit, "rendered DOM") or ""
        title = await steps.run(page.title(), STEP_GRACE_S, "title", quiet=True) or ""
        walls = await find_walls(page)
        clock.lap("dom")
    progress("saving bodies")
    await Steps(warnings).run(recorder.settle(), limit, "reading response bodies")
    exchanges, failed, main_id = recorder.exchanges(main_frame)
    await workers.add_unseen(exchanges, failed)
    for download in downloads:
        await _adopt_download(download, exchanges, bodies, warnings)
    clock.lap("bodies")
    main_index = find_main(exchanges, main_id, page.url, url)
    if main_index is None:
        raise CaptureError(f"cannot load {url}: the browser recorded no response for it")
    main = exchanges[main_index]
    main = replace(main, is_main_document=True)
    exchanges[main_index] = main
    user_agent = next((v for k, v in main.request_headers if k.lower() == "user-agent"), "")
    if main.status >= 400:
        warnings.insert(0, f"HTTP {main.status}")
    if _bot_challenge(main):
        walls.append("bot check")
    walls = list(dict.fromkeys(walls))
    warnings.extend(WALL_WARNINGS[kind] for kind in walls)
    blocked_urls = set(blocked or [])
    failed = [f for f in failed if f.url not in blocked_urls]
    if loaded.downloaded:
        warnings.append(f"the browser downloaded {main.mime_type or 'the file'}: no screenshot")
    warnings.extend(recorder.warnings)
    tls: list[str] = []
    parts = urlsplit(main.url)
    if parts.scheme == "https":
        try:
            cert = await session.send(
                "Network.getCertificate", {"origin": f"https://{parts.netloc}"}
            )
            tls = _pem_chain(cert.get("tableNames", []))
        except PlaywrightError:
            warnings.append(f"TLS certificate chain of {parts.netloc} not available")
    clock.timings["total"] = round((time.monotonic() - clock.started) * 1000.0, 1)
    return PageLoad(
        requested_url=url,
        final_url=main.url,
        main_status=main.status,
        main_mime_type=main.mime_type,
        exchanges=exchanges,
        failed=failed,
        screenshot_png=screenshot,
        dom_html=dom,
        title=title,
        browser_version=version,
        user_agent=user_agent,
        viewport=viewport,
        started=started,
        ended=datetime.now(UTC),
        timings_ms=dict(clock.timings),
        tls_chain_pem=tls,
        server_ip=main.remote_ip,
        warnings=warnings,
        consent_clicks=list(consent_clicks or []),
        blocked=list(dict.fromkeys(blocked or [])),
        walls=walls,
    )


WALL_WARNINGS = {
    "consent": "consent wall suspected",
    "login/paywall": "login or paywall suspected: the article may be hidden or cut short",
    "bot check": "bot check suspected: the page is a challenge, not the article",
}


def _bot_challenge(main: Exchange) -> bool:
    """A Cloudflare-style challenge answer: its own header, or 403/503 from a challenge."""
    headers = {k.lower(): v for k, v in main.response_headers}
    if headers.get("cf-mitigated", "").lower() == "challenge":
        return True
    return main.status in (403, 429, 503) and "cf-chl" in headers.get("set-cookie", "")


async def _adopt_download(
    download: Download, exchanges: list[Exchange], bodies: Path, warnings: list[str]
) -> None:
    """A navigation the browser turned into a download: its file is the response body."""
    try:
        path = await download.path()
    except PlaywrightError as err:
        warnings.append(f"download of {download.url} failed: {str(err).splitlines()[0]}")
        return
    for i in range(len(exchanges) - 1, -1, -1):
        ex = exchanges[i]
        if ex.url == download.url and not ex.is_redirect and ex.body_path is None:
            target = bodies / f"download-{i}.body"
            shutil.copyfile(path, target)
            size = target.stat().st_size
            exchanges[i] = replace(ex, body_path=target, body_size=size)
            return
