"""Page options from the app's forms and its JSON API: the ones a browser may set.

The app takes what changes how the page is shown: ``device``, ``viewport``,
``user_agent``, ``wait_for``, ``delay``, ``dismiss_consent`` and ``block``. It never
takes cookies files, scripts, browser profiles or headers: those are files on the
server or secrets, set on the command line (``capture``, ``watch add``) by whoever runs
the app. Values are checked as the command line checks them (``page_setup``), plus
bounds that keep one request from holding the app's capture thread for long.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import UsageError

WEB_OPTIONS = ("device", "viewport", "user_agent", "wait_for", "delay", "dismiss_consent", "block")
CLI_ONLY = ("cookies", "profile", "headers", "javascript")
MAX_DELAY_S = 30.0
MAX_TEXT = 500  # characters of a device name, user agent or selector
MAX_BLOCK = 50  # blocked host patterns


def _text(name: str, value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise UsageError(f"page option {name} must be a string")
    value = value.strip()
    if len(value) > MAX_TEXT:
        raise UsageError(f"page option {name} is longer than {MAX_TEXT} characters")
    return value or None


def _delay(value: object) -> float:
    if value is None or value == "":
        return 0.0
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise UsageError("page option delay must be a number of seconds")
    try:
        seconds = float(value)
    except ValueError:
        raise UsageError(f"bad delay {value!r}: a number of seconds") from None
    if not 0 <= seconds <= MAX_DELAY_S:
        raise UsageError(f"bad delay {seconds:g}: from 0 to {MAX_DELAY_S:g} seconds in the app")
    return seconds


def _flag(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if value in (None, "", "off", "0", "false"):
        return False
    if value in ("on", "1", "true", "yes"):
        return True
    raise UsageError("page option dismiss_consent must be true or false")


def _block(value: object) -> tuple[str, ...]:
    if value is None or value == "":
        return ()
    if isinstance(value, str):  # a form's textarea: one pattern a line (or comma-separated)
        items: list[object] = [p for line in value.splitlines() for p in line.split(",")]
    elif isinstance(value, list):
        items = value
    else:
        raise UsageError("page option block must be a list of host names or URL patterns")
    patterns = []
    for item in items:
        if not isinstance(item, str):
            raise UsageError("page option block must be a list of host names or URL patterns")
        if item.strip():
            patterns.append(item.strip()[:MAX_TEXT])
    if len(patterns) > MAX_BLOCK:
        raise UsageError(f"at most {MAX_BLOCK} block patterns in the app")
    return tuple(patterns)


def page_kwargs(values: Mapping[str, Any], *, strict: bool) -> dict[str, Any]:
    """``page_setup`` keyword arguments for the options in ``values`` (form fields, or
    the ``options`` object of a JSON request); ``{}`` when none is set. ``strict``
    (JSON): a key the app does not take is a UsageError; a form's other fields are not
    options and are left alone."""
    if strict:
        for name in values:
            if name in CLI_ONLY:
                raise UsageError(
                    f"the app does not take page option {name!r}: set it on the command "
                    "line (archiver capture, archiver watch add)"
                )
            if name not in WEB_OPTIONS:
                raise UsageError(
                    f"unknown page option {name!r}: the app takes {', '.join(WEB_OPTIONS)}"
                )
    out: dict[str, Any] = {}
    for name in ("device", "viewport", "user_agent", "wait_for"):
        text = _text(name, values.get(name))
        if text is not None:
            out[name] = text
    delay = _delay(values.get("delay"))
    if delay:
        out["delay"] = delay
    if _flag(values.get("dismiss_consent")):
        out["dismiss_consent"] = True
    block = _block(values.get("block"))
    if block:
        out["block"] = block
    return out


def json_options(body: Mapping[str, Any]) -> dict[str, Any]:
    """``page_kwargs`` of a JSON request's ``options`` object (absent or null: none)."""
    options = body.get("options")
    if options is None:
        return {}
    if not isinstance(options, dict):
        raise UsageError('"options" must be a JSON object of page options')
    return page_kwargs(options, strict=True)
