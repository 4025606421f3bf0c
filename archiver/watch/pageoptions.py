"""A watch's page options: checked and stored by ``watch add``, rebuilt at every check,
shown without secrets.

What is stored is what the user typed (``capture.page_setup``'s arguments), with the
``--cookies``, ``--javascript`` and ``--profile`` paths made absolute: every check
reads the files afresh (a refreshed cookies file is used at the next check), and a file
that became unreadable fails that check with ``page_setup``'s own one-line error,
recorded as the watch's last error. Header values are stored as typed (the watch list is
local state, like a config file); ``shown`` replaces them with their sha256, and cookie
values are never stored at all (only the file's path).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..capture.pageopts import PageSetup, page_setup, sha256_text
from ..errors import UsageError

FILES = ("cookies", "javascript")
PLAIN = ("user_agent", "device", "wait_for")
KNOWN = {*FILES, *PLAIN, "profile", "headers", "viewport", "delay", "dismiss_consent", "block"}


def watch_options(
    *,
    cookies: str | None = None,
    profile: str | None = None,
    headers: tuple[str, ...] = (),
    user_agent: str | None = None,
    device: str | None = None,
    viewport: str | None = None,
    wait_for: str | None = None,
    delay: float = 0.0,
    javascript: str | None = None,
    dismiss_consent: bool = False,
    block: tuple[str, ...] = (),
) -> dict[str, Any]:
    """What to store for these options (``{}`` for none), after checking them exactly as
    ``capture`` does: a bad file or value is a UsageError now, not at the first check."""
    setup = page_setup(
        cookies=cookies,
        profile=profile,
        headers=headers,
        user_agent=user_agent,
        device=device,
        viewport=viewport,
        wait_for=wait_for,
        delay=delay,
        javascript=javascript,
        dismiss_consent=dismiss_consent,
        block=block,
    )
    doc: dict[str, Any] = {}
    for name, path in (("cookies", cookies), ("javascript", javascript)):
        if path is not None:
            doc[name] = str(Path(path).expanduser().resolve())
    if setup.profile is not None:
        doc["profile"] = str(setup.profile)
    if setup.headers:
        doc["headers"] = [[name, value] for name, value in setup.headers]
    for name in PLAIN:
        if getattr(setup, name) is not None:
            doc[name] = getattr(setup, name)
    if setup.viewport is not None:
        doc["viewport"] = f"{setup.viewport[0]}x{setup.viewport[1]}"
    if setup.delay:
        doc["delay"] = setup.delay
    if setup.dismiss_consent:
        doc["dismiss_consent"] = True
    if setup.block:
        doc["block"] = list(setup.block)
    return doc


def watch_setup(options: Mapping[str, Any] | None) -> PageSetup:
    """The PageSetup of a watch's stored options, files read now (a UsageError naming the
    file when one cannot be read or parsed any more)."""
    if not options:
        return PageSetup()
    unknown = sorted(set(options) - KNOWN)
    if unknown:
        raise UsageError(
            f"page options {', '.join(unknown)} of this watch are unknown to this version "
            "of archiver (run watch add again with the options you want)"
        )
    return page_setup(
        cookies=options.get("cookies"),
        profile=options.get("profile"),
        headers=tuple(f"{name}: {value}" for name, value in options.get("headers", ())),
        user_agent=options.get("user_agent"),
        device=options.get("device"),
        viewport=options.get("viewport"),
        wait_for=options.get("wait_for"),
        delay=float(options.get("delay", 0.0)),
        javascript=options.get("javascript"),
        dismiss_consent=bool(options.get("dismiss_consent", False)),
        block=tuple(options.get("block", ())),
    )


def shown(options: Mapping[str, Any] | None) -> dict[str, Any]:
    """The stored options as ``watch list``/``status`` show them: header values only as
    sha256 (cookie values are not stored: only their file's path). Options of a newer
    version are left out: this one cannot know which of their values are secret."""
    out = {name: value for name, value in (options or {}).items() if name in KNOWN}
    if "headers" in out:
        out["headers"] = [
            {"name": name, "value_sha256": sha256_text(value)} for name, value in out["headers"]
        ]
    return out
