"""Wait until a page is really ready: navigate, load, network idle, a scroll pass that
triggers lazy content, idle again, back to the top; every step bounded by the deadline.

Failures of a step become warnings (the capture goes on with what the page shows);
a navigation that cannot happen at all is a ``CaptureError`` with one line.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit

from playwright.async_api import Download, Page
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import TimeoutError as PlaywrightTimeoutError

from ..errors import CaptureError
from .exchanges import strip_fragment
from .netlog import STEP_GRACE_S, Recorder
from .pagescripts import SCROLL_SCRIPT, SCROLL_TOP_SCRIPT

T = TypeVar("T")
QUIET_AFTER_SCROLL_S = 0.15  # shorter second window: the page has settled once already;
# each scroll step already waited two frames, so lazy loads have been requested by now


def net_error(message: str) -> str | None:
    match = re.search(r"net::(ERR_[A-Z0-9_]+)", message)
    return match.group(1) if match else None


def capture_error(url: str, message: str) -> CaptureError:
    code = net_error(message)
    host = urlsplit(url).hostname or url
    if code == "ERR_NAME_NOT_RESOLVED":
        return CaptureError(f"host {host} does not resolve (net::{code})")
    if code == "ERR_CONNECTION_REFUSED":
        return CaptureError(f"cannot reach {url}: connection refused (net::{code})")
    if code == "ERR_TOO_MANY_REDIRECTS":
        return CaptureError(f"redirect loop at {url} ({code})")
    if code is not None:
        reason = code.removeprefix("ERR_").replace("_", " ").lower()
        return CaptureError(f"cannot load {url}: {reason} (net::{code})")
    first = message.strip().splitlines()[0] if message.strip() else "unknown error"
    return CaptureError(f"cannot load {url}: {first}")


@dataclass
class Clock:
    started: float = field(default_factory=time.monotonic)
    mark: float = field(default_factory=time.monotonic)
    timings: dict[str, float] = field(default_factory=dict)

    def lap(self, name: str) -> None:
        now = time.monotonic()
        self.timings[name] = round((now - self.mark) * 1000.0, 1)
        self.mark = now


class Steps:
    """Runs page steps each bounded in time; failures become warnings, not errors.

    Once one step times out the page is taken as stuck (e.g. a script in an endless
    loop): later steps get only a short bound so the capture still ends promptly.
    """

    STUCK_BOUND_S = 1.0

    def __init__(self, warnings: list[str]) -> None:
        self.warnings = warnings
        self.stuck = False

    async def run(
        self, work: Coroutine[Any, Any, T], seconds: float, what: str, *, quiet: bool = False
    ) -> T | None:
        bound = min(seconds, self.STUCK_BOUND_S) if self.stuck else seconds
        try:
            return await asyncio.wait_for(work, bound)
        except TimeoutError:
            self.stuck = True
            if not quiet:
                self.warnings.append(f"{what} did not finish within {bound:.0f} s")
        except PlaywrightError as err:
            if not quiet:
                self.warnings.append(f"{what} failed: {str(err).strip().splitlines()[0]}")
        return None


def _empty_answer(recorder: Recorder, url: str) -> int | None:
    """204 or 205 when that was the answer to the navigation to ``url``, else None."""
    for req in recorder.requests.values():
        if req.resource_type != "Document" or not req.hops:
            continue
        hop = req.hops[-1]
        status = int((hop.response or {}).get("status", 0))
        if status in (204, 205) and strip_fragment(req.hops[0].url) == strip_fragment(url):
            return status
    return None


@dataclass
class Ready:
    steps: Steps  # carries the warnings so far, and whether the page is stuck
    downloaded: bool


async def ready(
    page: Page,
    recorder: Recorder,
    url: str,
    timeout: float,
    clock: Clock,
    progress: Callable[[str], None],
    downloads: list[Download],
) -> Ready:
    """Navigate and wait for readiness: load, idle, scroll pass, idle, back to top."""
    deadline = time.monotonic() + timeout
    warnings: list[str] = []
    steps = Steps(warnings)
    progress("loading")
    try:
        await page.goto(url, wait_until="commit", timeout=timeout * 1000.0)
    except PlaywrightTimeoutError as err:
        raise CaptureError(f"{url} did not answer within {timeout:g} s") from err
    except PlaywrightError as err:
        if "Download is starting" in str(err) or downloads:
            clock.lap("navigate")
            return Ready(steps, downloaded=True)
        empty = _empty_answer(recorder, url) if net_error(str(err)) == "ERR_ABORTED" else None
        if empty is None:
            raise capture_error(url, str(err)) from err
        # 204/205: the browser keeps the blank page, but the answer itself is the capture
        warnings.append(f"HTTP {empty}: the server sent no content to show")
        clock.lap("navigate")
        return Ready(steps, downloaded=False)
    clock.lap("navigate")
    remaining = max(0.0, deadline - time.monotonic())
    try:
        await page.wait_for_load_state("load", timeout=max(remaining, 0.001) * 1000.0)
    except PlaywrightTimeoutError:
        warnings.append(f"load event did not fire within {timeout:g} s")
    clock.lap("load")
    loaded_url = page.url
    progress("waiting for network idle")
    idle = await recorder.wait_idle(deadline)
    clock.lap("idle")
    progress("scrolling")
    left = max(0.0, deadline - time.monotonic())
    scroll = page.evaluate(SCROLL_SCRIPT, [200, time.time() * 1000.0 + left * 1000.0])
    scrolled = await steps.run(scroll, left + STEP_GRACE_S, "scroll pass", quiet=True)
    if scrolled is None and not steps.stuck and page.url == loaded_url:
        # the script failed: most often a navigation destroyed its context; see it land
        with contextlib.suppress(PlaywrightError):
            await page.wait_for_event(
                "framenavigated", predicate=lambda f: f == page.main_frame, timeout=1000.0
            )
    if page.url != loaded_url:
        # location.href, meta refresh, a script reacting to the scroll: the page left
        warnings.append(f"the page went on to {page.url} by itself: that page is captured")
        try:
            left = max(deadline - time.monotonic(), 0.001)
            await page.wait_for_load_state("load", timeout=left * 1000.0)
        except PlaywrightTimeoutError:
            warnings.append(f"load event of {page.url} did not fire within {timeout:g} s")
    elif scrolled is None:
        warnings.append("scroll pass did not finish: lazy content may be missing")
    clock.lap("scroll")
    progress("waiting for network idle")
    recorder.touch()  # lazy loads the last scroll step started may not have reported yet
    idle = await recorder.wait_idle(deadline, quiet=QUIET_AFTER_SCROLL_S) and idle
    if not idle and recorder.inflight:
        warnings.append(f"network never went idle within {timeout:g} s")
    clock.lap("idle_after_scroll")
    await steps.run(page.evaluate(SCROLL_TOP_SCRIPT), STEP_GRACE_S, "scroll back to top")
    clock.lap("scroll_top")
    return Ready(steps, downloaded=bool(downloads))
