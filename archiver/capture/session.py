"""Launching Chromium, and one browser for many pages: ``BrowserSession``.

The session launches the browser on first use, opens every page in a fresh browser
context (no cookies, storage or cache from the page before) and replaces the browser
after a number of pages or when its process tree (procs.py reads /proc) grows too big.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from playwright.async_api import Browser, Playwright, async_playwright
from playwright.async_api import Error as PlaywrightError

from ..errors import ArchiverError, BrowserError, CaptureInterrupted
from ..model import PageLoad
from . import procs
from .chromium import DEFAULT_VIEWPORT, browser_version, find_browser, launch_args
from .context import _new_context
from .netpolicy import NetworkPolicy
from .page import _load_in
from .pageopts import PageSetup
from .readiness import Clock


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
