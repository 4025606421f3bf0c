"""A browser profile to capture with (``--profile``): ``create_profile`` opens a page in
a persistent user-data folder so a person can log in once.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from pathlib import Path

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import async_playwright

from ..errors import BrowserError, CaptureError
from .chromium import find_browser, launch_args


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
