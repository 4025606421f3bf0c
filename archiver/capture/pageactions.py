"""What a capture does to a ready page before it is recorded, as the user asked.

In this order: dismiss consent dialogs (``--dismiss-consent``), run the user's script
(``--javascript``), wait for a selector (``--wait-for``), wait a delay (``--delay``);
then the network is given a moment to go quiet again. Every consent click is returned
(dialog, button, time) for provenance. After all that ``find_walls`` names what still
hides the article: a consent wall, a login or paywall, a bot check.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page
from playwright.async_api import TimeoutError as PlaywrightTimeoutError

from ..errors import CaptureError, PageScriptError
from ..times import iso_utc, now_utc
from .netlog import Recorder
from .pageopts import PageSetup
from .pagescripts import CONSENT_DISMISS_SCRIPT, WALL_SCRIPT

CONSENT_ROUNDS = 3  # a first layer's button can open a second layer
CONSENT_SETTLE_S = 0.4  # after a click: the dialog animates away, the page reloads ads
QUIET_AFTER_ACTIONS_S = 0.3


@dataclass
class Actions:
    consent_clicks: list[dict[str, Any]] = field(default_factory=list)


async def after_ready(
    page: Page, recorder: Recorder, setup: PageSetup, timeout: float, warnings: list[str]
) -> Actions:
    """Apply the user's page options to the loaded page; a script error is PageScriptError."""
    done = Actions()
    if setup.is_default:
        return done
    deadline = time.monotonic() + timeout
    if setup.dismiss_consent:
        done.consent_clicks = await dismiss_consent(page, warnings)
    if setup.javascript is not None:
        name = setup.javascript_file or "script"
        try:
            await asyncio.wait_for(page.evaluate(setup.javascript), timeout)
        except TimeoutError:
            msg = f"--javascript {name} did not finish within {timeout:g} s"
            raise PageScriptError(msg) from None
        except PlaywrightError as err:
            lines = [ln.strip() for ln in str(err).splitlines() if ln.strip()]
            first = lines[0].removeprefix("Page.evaluate: ") if lines else "unknown error"
            raise PageScriptError(f"--javascript {name} failed: {first}") from err
    if setup.wait_for is not None:
        left = max(deadline - time.monotonic(), 1.0)
        try:
            await page.wait_for_selector(setup.wait_for, state="visible", timeout=left * 1000.0)
        except PlaywrightTimeoutError:
            raise CaptureError(
                f"--wait-for {setup.wait_for!r}: nothing matched within {timeout:g} s"
            ) from None
        except PlaywrightError as err:
            first = str(err).strip().splitlines()[0]
            raise CaptureError(f"--wait-for {setup.wait_for!r}: {first}") from err
    if setup.delay:
        await asyncio.sleep(setup.delay)
    recorder.touch()
    await recorder.wait_idle(time.monotonic() + min(timeout, 10.0), quiet=QUIET_AFTER_ACTIONS_S)
    return done


async def dismiss_consent(page: Page, warnings: list[str]) -> list[dict[str, Any]]:
    """Click reject-all (else accept-all) in each consent dialog found, in every frame."""
    clicks: list[dict[str, Any]] = []
    for _round in range(CONSENT_ROUNDS):
        clicked = False
        for frame in list(page.frames):
            try:
                hit = await asyncio.wait_for(frame.evaluate(CONSENT_DISMISS_SCRIPT), 5.0)
            except (PlaywrightError, TimeoutError):
                continue  # a frame that went away or a stuck one: look at the others
            if not isinstance(hit, dict):
                continue
            hit["time"] = iso_utc(now_utc(), micro=True)
            hit["frame"] = frame.url if frame != page.main_frame else "main"
            if hit.get("tcf") is None:
                hit.pop("tcf", None)
            clicks.append(hit)
            clicked = True
            await asyncio.sleep(CONSENT_SETTLE_S)
            break
        if not clicked:
            break
    if not clicks:
        warnings.append("--dismiss-consent: no consent dialog found")
    return clicks


async def find_walls(page: Page) -> list[str]:
    """Kinds of wall still hiding the article: 'consent', 'login/paywall', 'bot check'."""
    try:
        found = await asyncio.wait_for(page.evaluate(WALL_SCRIPT), 5.0)
    except (PlaywrightError, TimeoutError):
        return []
    return [str(kind) for kind in found] if isinstance(found, list) else []
