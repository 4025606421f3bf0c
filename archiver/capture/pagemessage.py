"""A ``PageSetup`` as plain JSON values, and back: how page options travel to a worker.

``to_message`` keeps everything a worker needs to rebuild the identical setup (so its
package records exactly what a local capture records): the cookies themselves, header
values and the script's source. Those are secrets or the user's files, so the message
belongs only in the broker (deleted on acknowledgement), never in a job record or a log.
``from_message`` checks every field: a message it cannot read fully is a ``UsageError``
(the job fails for good rather than capturing without an option the user asked for).
A profile is a browser folder on the sender's machine: it cannot travel.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from ..errors import UsageError

if TYPE_CHECKING:
    from .pageopts import PageSetup

PROFILE_REFUSAL = (
    "--profile cannot be sent to --broker workers: it is a browser folder on this machine "
    "(export its cookies to a file and use --cookies, or capture without --broker)"
)
_COOKIE_TEXT = ("name", "value", "domain", "path")
_COOKIE_FLAGS = ("httpOnly", "secure")
_SAME_SITE = ("Strict", "Lax", "None")
_TEXT_FIELDS = (
    "cookies_file",
    "cookies_file_sha256",
    "user_agent",
    "device",
    "wait_for",
    "javascript_file",
)
_FIELDS = {*_TEXT_FIELDS, "cookies", "headers", "viewport", "delay", "javascript"}
_FIELDS |= {"javascript_sha256", "dismiss_consent", "block"}


def to_message(setup: PageSetup) -> dict[str, Any]:
    """The fields of ``setup`` that differ from the default, as JSON values."""
    from .pageopts import sha256_text

    if setup.profile is not None:
        raise UsageError(PROFILE_REFUSAL)
    out: dict[str, Any] = {}
    if setup.cookies:
        out["cookies"] = [dict(cookie) for cookie in setup.cookies]
    for name in _TEXT_FIELDS:
        value = getattr(setup, name)
        if value is not None:
            out[name] = value
    if setup.headers:
        out["headers"] = [[name, value] for name, value in setup.headers]
    if setup.viewport is not None:
        out["viewport"] = list(setup.viewport)
    if setup.delay:
        out["delay"] = setup.delay
    if setup.javascript is not None:
        out["javascript"] = setup.javascript
        out["javascript_sha256"] = sha256_text(setup.javascript)
    if setup.dismiss_consent:
        out["dismiss_consent"] = True
    if setup.block:
        out["block"] = list(setup.block)
    return out


def from_message(doc: object) -> PageSetup:
    """The ``PageSetup`` a message describes (``{}`` or None: the default)."""
    from .pageopts import MAX_VIEWPORT, PageSetup, parse_header, sha256_text

    if doc is None:
        return PageSetup()
    if not isinstance(doc, dict):
        raise _bad("not an object")
    unknown = sorted(set(doc) - _FIELDS)
    if unknown:
        raise _bad(f"unknown field(s) {', '.join(unknown)} (is this worker older?)")
    text: dict[str, str | None] = {}
    for name in _TEXT_FIELDS:
        value = doc.get(name)
        if value is not None and not isinstance(value, str):
            raise _bad(f"{name} is not text")
        text[name] = value
    headers = []
    for pair in _list(doc, "headers"):
        if not (
            isinstance(pair, list) and len(pair) == 2 and all(isinstance(p, str) for p in pair)
        ):
            raise _bad("a header is not a [name, value] pair")
        try:
            headers.append(parse_header(f"{pair[0]}: {pair[1]}"))
        except UsageError:
            raise _bad(f"bad header {pair[0]!r}") from None
    viewport = doc.get("viewport")
    if viewport is not None:
        if not (
            isinstance(viewport, list)
            and len(viewport) == 2
            and all(type(v) is int and 1 <= v <= MAX_VIEWPORT for v in viewport)
        ):
            raise _bad("viewport is not [width, height]")
        viewport = (viewport[0], viewport[1])
    delay = doc.get("delay", 0.0)
    if isinstance(delay, bool) or not isinstance(delay, int | float):
        raise _bad("delay is not a number")
    if not math.isfinite(delay) or delay < 0:
        raise _bad("delay is not 0 or more seconds")
    script = doc.get("javascript")
    if script is not None:
        if not isinstance(script, str):
            raise _bad("javascript is not text")
        if doc.get("javascript_sha256") != sha256_text(script):
            raise _bad("the script does not match its sha256")
    consent = doc.get("dismiss_consent", False)
    block = _list(doc, "block")
    if not isinstance(consent, bool) or not all(isinstance(p, str) and p for p in block):
        raise _bad("dismiss_consent or block has the wrong type")
    return PageSetup(
        cookies=tuple(_cookie(c, n) for n, c in enumerate(_list(doc, "cookies"), start=1)),
        cookies_file=text["cookies_file"],
        cookies_file_sha256=text["cookies_file_sha256"],
        headers=tuple(headers),
        user_agent=text["user_agent"],
        device=text["device"],
        viewport=viewport,
        wait_for=text["wait_for"],
        delay=float(delay),
        javascript=script,
        javascript_file=text["javascript_file"],
        dismiss_consent=consent,
        block=tuple(block),
    )


def secret_values(doc: object) -> list[str]:
    """The cookie and header values in a message (to keep them out of error text)."""
    if not isinstance(doc, dict):
        return []
    out = []
    for cookie in doc.get("cookies") or ():
        if isinstance(cookie, dict) and isinstance(cookie.get("value"), str):
            out.append(cookie["value"])
    for pair in doc.get("headers") or ():
        if isinstance(pair, list) and len(pair) == 2 and isinstance(pair[1], str):
            out.append(pair[1])
    return [value for value in out if value]


def hide_secrets(text: str, secrets: list[str]) -> str:
    """``text`` with every secret value replaced (the longest first)."""
    for value in sorted(set(secrets), key=len, reverse=True):
        text = text.replace(value, "[secret]")
    return text


def _list(doc: dict[str, Any], name: str) -> list[Any]:
    value = doc.get(name, [])
    if not isinstance(value, list):
        raise _bad(f"{name} is not a list")
    return value


def _cookie(item: object, number: int) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise _bad(f"cookie {number} is not an object")
    unknown = set(item) - {*_COOKIE_TEXT, *_COOKIE_FLAGS, "expires", "sameSite"}
    if unknown:
        raise _bad(f"cookie {number} has unknown field(s) {', '.join(sorted(unknown))}")
    if not all(isinstance(item.get(k), str) for k in _COOKIE_TEXT) or not item["name"]:
        raise _bad(f"cookie {number} lacks a name, value, domain or path")
    if not all(isinstance(item.get(k, False), bool) for k in _COOKIE_FLAGS):
        raise _bad(f"cookie {number}: httpOnly and secure are true or false")
    expires = item.get("expires", -1)
    if isinstance(expires, bool) or not isinstance(expires, int | float):
        raise _bad(f"cookie {number}: expires is not a number")
    if "sameSite" in item and item["sameSite"] not in _SAME_SITE:
        raise _bad(f"cookie {number}: sameSite is not Strict, Lax or None")
    return dict(item)


def _bad(why: str) -> UsageError:
    return UsageError(f"job message: page options: {why}")


__all__ = ["PROFILE_REFUSAL", "from_message", "hide_secrets", "secret_values", "to_message"]
