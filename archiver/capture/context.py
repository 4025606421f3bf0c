"""A browser context with the page options applied: device, viewport, user agent,
headers, cookies, profile (pageopts.PageSetup); ``check_device`` checks a device name,
``dropped_cookies`` names the cookies the browser did not keep.
"""

from __future__ import annotations

import asyncio
import difflib
import time
from pathlib import Path
from typing import Any

from playwright.async_api import Browser, BrowserContext, async_playwright
from playwright.async_api import Error as PlaywrightError

from ..errors import BrowserError, UsageError
from .chromium import launch_args
from .pageopts import PageSetup

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


async def dropped_cookies(context: BrowserContext, setup: PageSetup) -> list[str]:
    """A warning naming the cookies of ``setup`` the browser silently did not keep
    (expired, or ``SameSite=None`` without ``Secure``), or none: a capture that was meant
    to be logged in should say why it may not be. Names only, never values."""
    if not setup.cookies:
        return []
    kept = {
        (c.get("name"), str(c.get("domain", "")).lstrip("."), c.get("path", "/"))
        for c in await context.cookies()
    }
    now = time.time()
    dropped = []
    for cookie in setup.cookies:
        key = (cookie["name"], str(cookie["domain"]).lstrip("."), cookie.get("path", "/"))
        if key in kept:
            continue
        expires = float(cookie.get("expires", -1))
        if 0 < expires < now:
            why = "expired"
        elif cookie.get("sameSite") == "None" and not cookie.get("secure"):
            why = "SameSite=None without Secure"
        else:
            why = "refused"
        dropped.append(f"{cookie['name']} for {cookie['domain']} ({why})")
    if not dropped:
        return []
    shown = ", ".join(dropped[:5]) + (f" and {len(dropped) - 5} more" if len(dropped) > 5 else "")
    source = setup.cookies_file or "the cookies file"
    return [
        f"the browser did not keep {len(dropped)} of {len(setup.cookies)} cookies "
        f"from {source}: {shown}"
    ]
