"""Drive headless Chromium and record what it exchanged, from its own network stack.

The only module that imports Playwright. ``load_page`` opens one URL in a fresh
browser, records every request and response through a CDP session (Network domain
events, bodies streamed to files under ``workdir``), waits until the page is ready
(load, network idle, a scroll pass for lazy content, idle again, back to top), then
takes a full-page screenshot and the rendered DOM. ``BrowserSession`` does the same
for many URLs in one running browser, each page in a fresh browser context (no
cookies, storage or cache from the page before), and replaces the browser after a
number of pages or when its process tree (procs.py reads /proc) grows too big.

Its parts: chromium.py finds the browser and its version; netlog.py records the CDP
Network events (netlog_exchanges.py turns them into Exchanges); pagescripts.py holds
the JavaScript run in the page. This module launches, navigates, waits, and adapts
Playwright's objects for the recorder.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import difflib
import shutil
import ssl
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from playwright.async_api import (
    Browser,
    BrowserContext,
    CDPSession,
    Download,
    FloatRect,
    Page,
    Playwright,
    Request,
    Route,
    async_playwright,
)
from playwright.async_api import Error as PlaywrightError

from ..errors import ArchiverError, BrowserError, CaptureError, CaptureInterrupted, UsageError
from ..model import Exchange, FailedRequest, PageLoad
from . import procs
from .chromium import (
    BROWSER_ARGS,
    BROWSER_NAMES,
    DEFAULT_VIEWPORT,
    NO_BROWSER,
    browser_version,
    find_browser,
    launch_args,
)
from .exchanges import find_main, is_http, status_text
from .netlog import STEP_GRACE_S, CdpError, Recorder
from .netpolicy import NetworkPolicy, RequestGuard
from .pageactions import after_ready, find_walls
from .pageopts import PageSetup
from .pagescripts import PAGE_HEIGHT_SCRIPT, SCROLL_SCRIPT
from .readiness import Clock, Ready, Steps, ready

__all__ = [
    "BROWSER_ARGS",
    "BROWSER_NAMES",
    "MAX_BROWSER_RSS",
    "NO_BROWSER",
    "RECYCLE_AFTER",
    "SCROLL_SCRIPT",
    "BrowserSession",
    "browser_version",
    "check_device",
    "create_profile",
    "find_browser",
    "load_page",
]
T = TypeVar("T")
MAX_SCREENSHOT_PX = 16384  # Chromium's largest texture: a taller full-page shot fails or hangs
_FULL_PAGE_TYPES = {"text/html", "application/xhtml+xml", "text/plain"}
_PW_TYPES = {"xhr": "XHR", "eventsource": "EventSource", "websocket": "WebSocket"}


# --- the edge: Playwright objects as the recorder sees them ----------------------------------


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


class _Workers:
    """Follow Playwright's request events too: they include dedicated workers' requests.

    A worker's requests are not on the page's CDP session (a worker script starts there
    and finishes in the worker's target), so these events keep the recorder's in-flight
    count honest and let worker exchanges be recorded from the browser's own responses.
    """

    def __init__(self, recorder: Recorder, context: BrowserContext) -> None:
        self.recorder = recorder
        self.finished: list[Request] = []
        context.on("request", self._started)
        context.on("requestfinished", self._finished)
        context.on("requestfailed", self._failed)

    def _started(self, request: Request) -> None:
        # a stream never ends: not "in flight"
        self.recorder.outside_started(
            f"pw:{id(request)}", ends=request.resource_type != "eventsource"
        )

    def _finished(self, request: Request) -> None:
        self.finished.append(request)
        self.recorder.outside_settled(f"pw:{id(request)}", request.url)

    def _failed(self, request: Request) -> None:
        self.recorder.outside_settled(f"pw:{id(request)}", request.url)

    async def add_unseen(self, exchanges: list[Exchange], failed: list[FailedRequest]) -> None:
        """Record finished requests the page's CDP session never saw answered (workers)."""
        answered = {(ex.method, ex.url) for ex in exchanges}
        for request in self.finished:
            if (request.method, request.url) in answered:
                continue
            try:
                exchange = await self._exchange(request, len(exchanges))
            except PlaywrightError as err:
                self.recorder.warnings.append(
                    f"{request.url} not recorded: {str(err).splitlines()[0]}"
                )
                continue
            if exchange is not None:
                exchanges.append(exchange)
                failed[:] = [f for f in failed if f.url != request.url]

    async def _exchange(self, request: Request, index: int) -> Exchange | None:
        response = await request.response()
        if response is None or not is_http(request.url):
            return None
        response_headers = [(h["name"], h["value"]) for h in await response.headers_array()]
        if not response_headers:
            return None  # synthesised by the browser (e.g. the PDF viewer's wrapper page)
        is_redirect = request.redirected_to is not None
        body_path: Path | None = None
        size = 0
        if not is_redirect and request.method != "HEAD":
            data = await response.body()
            if data:
                body_path = self.recorder.bodies / f"worker-{index}.body"
                body_path.write_bytes(data)
                size = len(data)
        timing = request.timing
        server = await response.server_addr()
        kind = request.resource_type
        mime = (await response.header_value("content-type") or "").partition(";")[0].strip()
        return Exchange(
            request_id=f"pw-{index}",
            url=request.url,
            method=request.method,
            request_headers=[(h["name"], h["value"]) for h in await request.headers_array()],
            request_body=request.post_data_buffer,
            http_version="HTTP/1.1",  # Playwright does not report the protocol
            status=response.status,
            status_text=status_text(response.status, response.status_text),
            response_headers=response_headers,
            body_path=body_path,
            body_size=size,
            mime_type=mime,
            resource_type=_PW_TYPES.get(kind, kind[:1].upper() + kind[1:]),
            started=datetime.fromtimestamp(timing["startTime"] / 1000.0, UTC),
            duration_ms=timing["responseEnd"] if timing["responseEnd"] >= 0 else None,
            remote_ip=server["ipAddress"] if server else None,
            remote_port=server["port"] if server else None,
            is_redirect=is_redirect,
        )


# --- one page load ---------------------------------------------------------------------------


def _pem_chain(der_b64: list[str]) -> list[str]:
    return [ssl.DER_cert_to_PEM_cert(base64.b64decode(item)) for item in der_b64]


def load_page(
    url: str,
    *,
    workdir: Path,
    timeout: float,
    viewport: tuple[int, int] = DEFAULT_VIEWPORT,
    progress: Callable[[str], None] | None = None,
    ignore_https_errors: bool = False,
    policy: NetworkPolicy | None = None,
    setup: PageSetup | None = None,
) -> PageLoad:
    """Load ``url`` in a fresh headless Chromium and record everything it exchanged.

    Bodies are written under ``workdir``. Raises CaptureError when the page cannot be
    reached or does not answer within ``timeout`` seconds, BrowserError when Chromium
    cannot start. A 4xx/5xx main document is a normal PageLoad with a warning.
    Several pages in a row: ``BrowserSession`` pays the browser's start-up once.
    With a ``policy``, every request the page makes is checked against it before it
    leaves (netpolicy.RequestGuard): refused ones fail, a refused page is a CaptureError.
    ``setup`` holds the options that change what the page shows (pageopts.PageSetup).
    """
    executable = find_browser()
    return asyncio.run(
        _load(
            url,
            executable=executable,
            workdir=workdir,
            timeout=timeout,
            viewport=viewport,
            progress=progress or (lambda _step: None),
            ignore_https_errors=ignore_https_errors,
            policy=policy,
            setup=setup or PageSetup(),
        )
    )


_DEVICES: dict[str, dict[str, Any]] = {}


async def _devices(pw: Any) -> dict[str, dict[str, Any]]:
    if not _DEVICES:
        _DEVICES.update(pw.devices)
    return _DEVICES


def check_device(name: str) -> None:
    """A UsageError naming the closest device names unless ``name`` is one of Playwright's."""

    async def names() -> list[str]:
        async with async_playwright() as pw:
            return list(await _devices(pw))

    known = list(_DEVICES) or asyncio.run(names())
    if name in known:
        return
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.4)
    if not close:
        lower = {n.lower(): n for n in known}
        close = [lower[n] for n in difflib.get_close_matches(name.lower(), list(lower), n=3)]
    hint = f"; closest: {', '.join(repr(n) for n in close)}" if close else ""
    raise UsageError(f"unknown device {name!r}{hint}")


async def _launch(pw: Any, executable: Path, timeout: float) -> Browser:
    args = launch_args()
    try:
        browser: Browser = await pw.chromium.launch(
            executable_path=str(executable),
            headless=True,
            args=args,
            timeout=max(timeout, 30.0) * 1000.0,
        )
    except PlaywrightError as err:
        lines = [ln.strip() for ln in str(err).splitlines() if ln.strip()]
        reason = lines[0].removeprefix("BrowserType.launch: ") if lines else "unknown error"
        raise BrowserError(f"cannot start the browser {executable}: {reason}") from err
    return browser


async def _context_options(
    pw: Any, viewport: tuple[int, int], ignore_https_errors: bool, setup: PageSetup
) -> dict[str, Any]:
    """new_context's arguments: the device's descriptor, then the user's own choices."""
    options: dict[str, Any] = {}
    if setup.device is not None:
        devices = await _devices(pw)
        if setup.device not in devices:
            raise UsageError(f"unknown device {setup.device!r}")
        options.update(devices[setup.device])
        options.pop("default_browser_type", None)
    else:
        options["viewport"] = {"width": viewport[0], "height": viewport[1]}
    if setup.viewport is not None:
        options["viewport"] = {"width": setup.viewport[0], "height": setup.viewport[1]}
    if setup.user_agent is not None:
        options["user_agent"] = setup.user_agent
    if setup.headers:
        options["extra_http_headers"] = dict(setup.headers)
    options.update(
        service_workers="block", accept_downloads=True, ignore_https_errors=ignore_https_errors
    )
    return options


async def _new_context(
    pw: Any,
    browser: Browser,
    viewport: tuple[int, int],
    ignore_https_errors: bool,
    setup: PageSetup,
    executable: Path,
    timeout: float,
) -> BrowserContext:
    """A fresh context: its own cookies, storage and cache, nothing from earlier pages;
    with ``setup.profile`` a persistent context on that user-data folder instead."""
    options = await _context_options(pw, viewport, ignore_https_errors, setup)
    if setup.profile is not None:
        try:
            context: BrowserContext = await pw.chromium.launch_persistent_context(
                str(setup.profile),
                executable_path=str(executable),
                headless=True,
                args=launch_args(),
                timeout=max(timeout, 30.0) * 1000.0,
                **options,
            )
        except PlaywrightError as err:
            first = str(err).strip().splitlines()[0] if str(err).strip() else "unknown error"
            raise BrowserError(f"cannot open the profile {setup.profile}: {first}") from err
    else:
        context = await browser.new_context(**options)
    if setup.cookies:
        try:
            await context.add_cookies([dict(c) for c in setup.cookies])  # type: ignore[misc]
        except PlaywrightError as err:
            await context.close()
            first = str(err).strip().splitlines()[0]
            raise UsageError(f"the browser refused a cookie: {first}") from err
    return context


async def _load(
    url: str,
    *,
    executable: Path,
    workdir: Path,
    timeout: float,
    viewport: tuple[int, int],
    progress: Callable[[str], None],
    ignore_https_errors: bool,
    policy: NetworkPolicy | None = None,
    setup: PageSetup | None = None,
) -> PageLoad:
    setup = setup or PageSetup()
    started = datetime.now(UTC)
    clock = Clock()
    progress("launching browser")
    async with async_playwright() as pw:
        browser = await _launch(pw, executable, timeout)
        version_task = asyncio.ensure_future(asyncio.to_thread(browser_version, executable))
        try:
            clock.lap("launch")
            context = await _new_context(
                pw, browser, viewport, ignore_https_errors, setup, executable, timeout
            )
            try:
                return await _load_in(
                    context,
                    url,
                    version=version_task,
                    workdir=workdir,
                    timeout=timeout,
                    viewport=viewport,
                    progress=progress,
                    started=started,
                    clock=clock,
                    policy=policy,
                    setup=setup,
                )
            finally:
                if setup.profile is not None:
                    await context.close()
        finally:
            if not version_task.done():
                version_task.cancel()
            await browser.close()


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
        try:
            result = await ready(page, recorder, url, timeout, clock, progress, downloads)
        except CaptureError as err:
            refused = guard.capture_error(url) if guard is not None else None
            raise (refused or err) from err
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


# --- one browser for many pages --------------------------------------------------------------

RECYCLE_AFTER = 50  # page loads per browser before a fresh one: bounds what any leak can grow
MAX_BROWSER_RSS = 1536 * 2**20  # the idle browser's process tree above this: start a fresh one
CONTEXT_CLOSE_S = 10.0  # a context that does not close in this time: the browser is replaced
STOP_POLL_S = 0.1  # how often a running load looks at the stop event


class BrowserSession:
    """One headless Chromium kept running across page loads; each load gets a fresh context.

    ``load_page`` works like the module's one-shot ``load_page`` but launches the
    browser only on first use, then opens every page in a new browser context (its own
    cookies, storage and cache: nothing leaks from one capture into the next) and closes
    that context afterwards. The browser is replaced after ``recycle_after`` loads, when
    its idle process tree holds more than ``max_rss`` bytes, or when it crashed.

    A session owns an asyncio event loop and the Playwright objects made on it, so it
    must be used from one thread at a time (a batch gives each worker thread its own).
    When ``stop`` is set, a running load is cancelled and raises CaptureInterrupted.
    """

    def __init__(
        self,
        *,
        recycle_after: int = RECYCLE_AFTER,
        max_rss: int = MAX_BROWSER_RSS,
        stop: threading.Event | None = None,
    ) -> None:
        self.recycle_after = recycle_after
        self.max_rss = max_rss
        self.stop = stop
        self.launches = 0  # browsers started over the session's life
        self.loads = 0  # page loads in the current browser
        self.peak_rss = 0  # largest browser process tree seen, bytes
        self._loop = asyncio.new_event_loop()
        self._loop.set_exception_handler(self._loop_error)
        self._pw: Playwright | None = None
        self._browser: Browser | None = None
        self._executable: Path | None = None
        self._version: asyncio.Future[str] | None = None
        self._pid: int | None = None

    def __enter__(self) -> BrowserSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def load_page(
        self,
        url: str,
        *,
        workdir: Path,
        timeout: float,
        viewport: tuple[int, int] = DEFAULT_VIEWPORT,
        progress: Callable[[str], None] | None = None,
        ignore_https_errors: bool = False,
        policy: NetworkPolicy | None = None,
        setup: PageSetup | None = None,
    ) -> PageLoad:
        """As the module's ``load_page``, in this session's browser (launched if needed)."""
        say = progress or (lambda _step: None)
        work = self._load(
            url, workdir, timeout, viewport, say, ignore_https_errors, policy, setup or PageSetup()
        )
        try:
            return self._loop.run_until_complete(self._until_stopped(work, url))
        except CaptureInterrupted:
            raise
        except (ArchiverError, PlaywrightError):
            if self._browser is not None and not self._browser.is_connected():
                self._discard()  # it crashed: the next load starts a fresh one
            raise

    def rss(self) -> int:
        """Resident memory of the browser's process tree now, bytes (0 if not running)."""
        return procs.tree_rss_bytes(self._pid) if self._pid is not None else 0

    def restart(self) -> None:
        """Close the browser; the next load starts a fresh one."""
        if self._browser is not None:
            self._loop.run_until_complete(self._close_browser())

    def close(self) -> None:
        """Close the browser and Playwright, and the session's event loop."""
        if self._loop.is_closed():
            return
        try:
            self.restart()
            if self._pw is not None:
                with contextlib.suppress(Exception):
                    self._loop.run_until_complete(self._pw.stop())
                self._pw = None
            self._loop.run_until_complete(self._loop.shutdown_asyncgens())
            self._loop.run_until_complete(self._loop.shutdown_default_executor())
        finally:
            self._loop.close()

    def _loop_error(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        """After a stop (Ctrl-C also reaches Playwright's driver), its dying words are noise."""
        if self.stop is None or not self.stop.is_set():
            loop.default_exception_handler(context)

    # -- inside the session's loop --------------------------------------------------------

    async def _until_stopped(self, work: Coroutine[Any, Any, PageLoad], url: str) -> PageLoad:
        task = asyncio.ensure_future(work)
        checked = time.monotonic()
        while not task.done():
            if self.stop is not None and self.stop.is_set():
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task
                raise CaptureInterrupted(f"capture of {url} interrupted: nothing was kept")
            await asyncio.wait({task}, timeout=STOP_POLL_S)
            if time.monotonic() - checked >= 0.5:  # the peak, sampled while pages load
                self.peak_rss = max(self.peak_rss, self.rss())
                checked = time.monotonic()
        return task.result()

    async def _load(
        self,
        url: str,
        workdir: Path,
        timeout: float,
        viewport: tuple[int, int],
        progress: Callable[[str], None],
        ignore_https_errors: bool,
        policy: NetworkPolicy | None = None,
        setup: PageSetup | None = None,
    ) -> PageLoad:
        setup = setup or PageSetup()
        started = datetime.now(UTC)
        clock = Clock()
        if self._browser is not None and self._due_for_recycling():
            await self._close_browser()
        browser, version = self._browser, self._version
        if browser is None or version is None:
            progress("launching browser")
            browser, version = await self._start(timeout)
            clock.lap("launch")
        self.loads += 1
        assert self._pw is not None and self._executable is not None  # set by _start
        context = await _new_context(
            self._pw, browser, viewport, ignore_https_errors, setup, self._executable, timeout
        )
        try:
            return await _load_in(
                context,
                url,
                version=version,
                workdir=workdir,
                timeout=timeout,
                viewport=viewport,
                progress=progress,
                started=started,
                clock=clock,
                policy=policy,
                setup=setup,
            )
        finally:
            try:
                await asyncio.wait_for(context.close(), CONTEXT_CLOSE_S)
            except (TimeoutError, PlaywrightError):
                await self._close_browser()
            else:
                self.peak_rss = max(self.peak_rss, self.rss())

    def _due_for_recycling(self) -> bool:
        if self._browser is None or not self._browser.is_connected():
            return True
        return self.loads >= self.recycle_after or self.rss() > self.max_rss

    async def _start(self, timeout: float) -> tuple[Browser, asyncio.Future[str]]:
        executable = self._executable = self._executable or find_browser()
        if self._pw is None:
            self._pw = await async_playwright().start()
        browser = self._browser = await _launch(self._pw, executable, timeout)
        self.launches += 1
        self.loads = 0
        if self._version is None:
            self._version = asyncio.ensure_future(asyncio.to_thread(browser_version, executable))
        self._pid = await _browser_pid(browser)
        return browser, self._version

    async def _close_browser(self) -> None:
        browser, self._browser, self._pid = self._browser, None, None
        if browser is not None:
            with contextlib.suppress(PlaywrightError, TimeoutError):
                await asyncio.wait_for(browser.close(), CONTEXT_CLOSE_S)

    def _discard(self) -> None:
        self._loop.run_until_complete(self._close_browser())


async def _browser_pid(browser: Browser) -> int | None:
    """The browser process's id, from Chromium itself (for reading its memory in /proc)."""
    try:
        cdp = await browser.new_browser_cdp_session()
        try:
            info = await cdp.send("SystemInfo.getProcessInfo")
        finally:
            await cdp.detach()
    except PlaywrightError:
        return None
    for process in info.get("processInfo", []):
        if process.get("type") == "browser":
            return int(process["id"])
    return None


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


# --- a profile to capture with ----------------------------------------------------------------


def create_profile(
    folder: Path,
    url: str,
    *,
    headless: bool,
    timeout: float = 60.0,
    script: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[str]:
    """Open ``url`` in a browser whose user data lives in ``folder`` (made mode 0700), so a
    person can log in once; later captures use it with ``--profile``. With a window the
    profile is saved when the person closes it; ``headless``, once the page (and
    ``script``, e.g. one that submits a login form) has settled. Returns the names of
    the cookies the profile holds (never their values)."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder.chmod(0o700)
    executable = find_browser()
    say = progress or (lambda _step: None)
    return asyncio.run(_create_profile(folder, url, executable, headless, timeout, script, say))


async def _create_profile(
    folder: Path,
    url: str,
    executable: Path,
    headless: bool,
    timeout: float,
    script: str | None,
    say: Callable[[str], None],
) -> list[str]:
    async with async_playwright() as pw:
        try:
            context = await pw.chromium.launch_persistent_context(
                str(folder),
                executable_path=str(executable),
                headless=headless,
                args=launch_args(),
                timeout=max(timeout, 30.0) * 1000.0,
            )
        except PlaywrightError as err:
            first = str(err).strip().splitlines()[0] if str(err).strip() else "unknown error"
            raise BrowserError(f"cannot open a browser on {folder}: {first}") from err
        try:
            page = context.pages[0] if context.pages else await context.new_page()
            try:
                await page.goto(url, wait_until="load", timeout=timeout * 1000.0)
                if script is not None:
                    await page.evaluate(script)
                await page.wait_for_load_state("networkidle", timeout=timeout * 1000.0)
            except PlaywrightError as err:
                first = str(err).strip().splitlines()[0]
                raise CaptureError(f"cannot load {url} into the profile: {first}") from err
            if not headless:
                say("log in, then close the browser window to save the profile")
                closed = asyncio.Event()
                context.on("close", lambda _ctx: closed.set())
                page.on("close", lambda _page: closed.set())
                await closed.wait()
            try:
                names = sorted({str(c.get("name", "")) for c in await context.cookies()})
            except PlaywrightError:  # the person closed the whole browser: it is saved
                names = []
        finally:
            with contextlib.suppress(PlaywrightError):
                await context.close()
    return names


# --- printing ----------------------------------------------------------------------------------


def print_pdf(html: str, dest: Path, *, footer: str = "", timeout: float = 60.0) -> None:
    """Print a self-contained HTML page to a PDF at ``dest`` (A4, print styles), offline,
    with scripts off; the footer line and page numbers on every page."""
    asyncio.run(_print_pdf(html, dest, find_browser(), footer, timeout))


async def _print_pdf(html: str, dest: Path, executable: Path, footer: str, timeout: float) -> None:
    from html import escape

    async with async_playwright() as pw:
        browser = await _launch(pw, executable, timeout)
        try:
            context = await browser.new_context(java_script_enabled=False, offline=True)
            page = await context.new_page()
            await page.set_content(html, wait_until="load", timeout=timeout * 1000.0)
            await page.emulate_media(media="print")
            await page.pdf(
                path=str(dest),
                format="A4",
                print_background=True,
                display_header_footer=True,
                header_template="<span></span>",
                footer_template=(
                    '<div style="font:7pt sans-serif;width:100%;text-align:center;color:#333">'
                    f'{escape(footer)} · page <span class="pageNumber"></span> of '
                    '<span class="totalPages"></span></div>'
                ),
                margin={"top": "16mm", "bottom": "18mm", "left": "14mm", "right": "14mm"},
            )
        except PlaywrightError as err:
            first = str(err).strip().splitlines()[0] if str(err).strip() else "unknown error"
            raise BrowserError(f"cannot print the report to PDF: {first}") from err
        finally:
            await browser.close()
