"""One page in a browser context: record it, wait until ready, apply the options, finish.

``_load_in`` opens a page, attaches the recorder to its CDP session (``_Cdp`` adapts
Playwright's session to netlog's), the request guard of a network policy and the
``--block`` route, waits (readiness.py), runs the page actions (pageactions.py), then
hands over to finish.py. Used by the one-shot ``load_page`` and by ``BrowserSession``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from playwright.async_api import BrowserContext, CDPSession, Download, Page, Route
from playwright.async_api import Error as PlaywrightError

from ..errors import CaptureError
from ..model import PageLoad
from .context import dropped_cookies
from .finish import _finish
from .netlog import CdpError, Recorder
from .netpolicy import NetworkPolicy, RequestGuard
from .pageactions import after_ready
from .pageopts import PageSetup
from .readiness import Clock, ready
from .workers import _Workers


class _Cdp:
    """The page's CDP session as netlog.Recorder wants it: Playwright errors become CdpError."""

    def __init__(self, session: CDPSession) -> None:
        self._session = session

    def on(self, event: str, handler: Callable[[dict[str, Any]], None]) -> None:
        self._session.on(event, handler)

    async def send(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        try:
            result: dict[str, Any] = await self._session.send(method, params)
        except PlaywrightError as err:
            raise CdpError(str(err)) from err
        return result


async def _load_in(
    context: BrowserContext,
    url: str,
    *,
    version: Awaitable[str],
    workdir: Path,
    timeout: float,
    viewport: tuple[int, int],
    progress: Callable[[str], None],
    started: datetime,
    clock: Clock,
    policy: NetworkPolicy | None = None,
    setup: PageSetup | None = None,
) -> PageLoad:
    """Open ``url`` in a new page of ``context``, wait until ready, assemble the PageLoad."""
    setup = setup or PageSetup()
    bodies = workdir / "bodies"
    bodies.mkdir(parents=True, exist_ok=True)
    recorder: Recorder | None = None
    guard_session: CDPSession | None = None
    try:
        page = await context.new_page()
        size = page.viewport_size  # a --device or --viewport choice, as the page has it
        if size is not None:
            viewport = (size["width"], size["height"])
        session = await context.new_cdp_session(page)
        recorder = Recorder(_Cdp(session), bodies)
        workers = _Workers(recorder, context)
        await session.send(
            "Network.enable",
            {"maxResourceBufferSize": 64 * 2**20, "maxTotalBufferSize": 256 * 2**20},
        )
        await recorder.intercept_responses()
        tree = await session.send("Page.getFrameTree")
        main_frame = str(tree["frameTree"]["frame"]["id"])
        downloads: list[Download] = []

        def on_download(download: Download) -> None:
            downloads.append(download)

        page.on("download", on_download)
        guard = None
        if policy is not None and context.browser is not None:
            # browser-wide, so pop-ups, frames and workers are paused too, and each
            # redirect hop as a new request; detached when this load ends
            guard_session = await context.browser.new_browser_cdp_session()
            guard = RequestGuard(_Cdp(guard_session), policy, main_frame)
            await guard.start()
            context.on("page", _close_popup)  # a refused pop-up can hold the load event
        blocked: list[str] = []
        if setup.block:  # registered last, so asked first; what it lets go falls back
            await context.route("**/*", _block_route(setup, blocked))
        cookie_warnings = await dropped_cookies(context, setup)  # before the page sets any
        try:
            result = await ready(page, recorder, url, timeout, clock, progress, downloads)
        except CaptureError as err:
            refused = guard.capture_error(url) if guard is not None else None
            raise (refused or err) from err
        result.steps.warnings.extend(cookie_warnings)
        if guard is not None:
            result.steps.warnings.extend(guard.refused)
        actions = None
        if not result.downloaded:
            actions = await after_ready(page, recorder, setup, timeout, result.steps.warnings)
            clock.lap("options")
        return await _finish(
            page=page,
            session=session,
            recorder=recorder,
            workers=workers,
            main_frame=main_frame,
            url=url,
            started=started,
            clock=clock,
            progress=progress,
            viewport=viewport,
            version=await version,
            downloads=downloads,
            loaded=result,
            bodies=bodies,
            timeout=timeout,
            consent_clicks=actions.consent_clicks if actions is not None else [],
            blocked=blocked,
        )
    finally:
        if guard_session is not None:
            with contextlib.suppress(PlaywrightError):
                await guard_session.detach()
        if recorder is not None:
            for task in list(recorder.tasks):  # body transfers of a load that failed
                task.cancel()
            await asyncio.gather(*recorder.tasks, return_exceptions=True)
            recorder.close_streams()


async def _close_popup(popup: Page) -> None:
    """Pop-ups are not part of a capture: under a network policy they are closed at once
    (their first request was already checked; a refused one can stall the page's load)."""
    with contextlib.suppress(PlaywrightError):
        await popup.close()


def _block_route(setup: PageSetup, blocked: list[str]) -> Callable[[Route], Awaitable[None]]:
    """--block: requests matching a pattern never leave the browser; their URLs are kept."""

    async def handle(route: Route) -> None:
        url = route.request.url
        if not setup.blocks(url):
            with contextlib.suppress(PlaywrightError):
                await route.fallback()
            return
        blocked.append(url)
        with contextlib.suppress(PlaywrightError):
            await route.abort("blockedbyclient")

    return handle
