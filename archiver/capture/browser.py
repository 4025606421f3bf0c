"""Drive headless Chromium and record what it exchanged, from its own network stack.

``load_page`` opens one URL in a fresh browser, records every request and response
through a CDP session (Network domain events, bodies streamed to files under
``workdir``), waits until the page is ready (load, network idle, a scroll pass for lazy
content, idle again, back to top), then takes a full-page screenshot and the rendered
DOM. ``BrowserSession`` (session.py) does the same for many URLs in one running browser.

Its parts: chromium.py finds the browser and its version; session.py launches it and
keeps it for many pages; context.py applies the page options to a browser context;
page.py loads one page in a context; workers.py records workers' requests; finish.py
takes the screenshot and DOM and assembles the PageLoad; netlog.py records the CDP
Network events; pagescripts.py holds the JavaScript run in the page; profile.py and
pdf.py create a profile and print the report. This module keeps the one-shot load and
re-exports the public names.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from playwright.async_api import async_playwright

from ..model import PageLoad
from .chromium import (
    BROWSER_ARGS,
    BROWSER_NAMES,
    DEFAULT_VIEWPORT,
    NO_BROWSER,
    browser_version,
    find_browser,
)
from .context import _new_context, check_device
from .netpolicy import NetworkPolicy
from .page import _load_in
from .pageopts import PageSetup
from .pagescripts import SCROLL_SCRIPT
from .pdf import print_pdf
from .profile import create_profile
from .readiness import Clock
from .session import MAX_BROWSER_RSS, RECYCLE_AFTER, BrowserSession, _launch

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
    "print_pdf",
]


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
