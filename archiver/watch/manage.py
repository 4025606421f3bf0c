"""The watch list as users edit and read it: add, remove, pause, resume, status rows."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from ..archive import Archive
from ..archive.watchlist import Watch, WatchList
from ..errors import UsageError
from ..schema import validate
from ..times import iso_utc
from ..urls import validate_url
from .pageoptions import shown
from .schedule import format_duration

STATUS_SCHEMA = "watch-status.schema.json"


def read_url_file(name: str) -> list[str]:
    """URLs from a file (``-``: stdin), one a line; blank lines and ``#`` comments skipped.
    UsageError (exit 2) for an unreadable file, or naming ``FILE:LINE`` of a bad URL."""
    try:
        text = sys.stdin.read() if name == "-" else Path(name).read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        why = getattr(exc, "strerror", None) or exc
        raise UsageError(f"cannot read URL list {name}: {why}") from None
    urls: list[str] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        try:
            urls.append(validate_url(line))
        except UsageError as exc:
            raise UsageError(f"{name}:{number}: {exc}") from None
    return urls


def check_ignore(patterns: Sequence[str]) -> list[str]:
    """The ``--ignore`` patterns, each compiled once here so a bad one fails at ``add``."""
    import re

    for pattern in patterns:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise UsageError(f"bad --ignore pattern {pattern!r}: {exc}") from None
    return list(patterns)


def add_watches(
    archive: Archive,
    urls: Sequence[str],
    *,
    now: datetime,
    every: float | None,
    ignore: Sequence[str],
    options: Mapping[str, Any] | None = None,
) -> tuple[list[str], list[str]]:
    """Validate every URL first (nothing is added when one is bad), then watch them.
    ``options`` (from ``pageoptions.watch_options``) replaces the page options of every
    URL given (``{}``: none); None leaves a watched URL's options as they are."""
    clean: list[str] = []
    for url in urls:
        valid = validate_url(url)
        if valid not in clean:
            clean.append(valid)
    if not clean:
        raise UsageError("no URL to watch: give URLs or -i FILE")
    return WatchList(archive).add(
        clean, now=now, every=every, ignore=check_ignore(ignore), options=options
    )


def _lookup(url: str) -> str:
    try:
        return validate_url(url)
    except UsageError:
        return url.strip()


def remove_watch(archive: Archive, url: str) -> None:
    WatchList(archive).remove(_lookup(url))


def pause_watch(archive: Archive, url: str, paused: bool) -> None:
    WatchList(archive).set_paused(_lookup(url), paused)


def status_row(watch: Watch) -> dict[str, Any]:
    """One watch as ``watch list/status --json`` print it (``watch-status.schema.json``)."""
    row = {
        "url": watch.url,
        "schedule": watch.schedule,
        "every": format_duration(watch.every) if watch.every is not None else None,
        "ignore": list(watch.ignore),
        "paused": watch.paused,
        "added": iso_utc(watch.added),
        "next_check": None if watch.paused else iso_utc(watch.next_due),
        "last_check": watch.last_check,
        "last_change": watch.last_change,
        "failures": watch.failures,
        "last_error": watch.last_error,
        "state": watch.state,
        "last_capture": watch.kept_id,
        "options": shown(watch.options),
    }
    validate(row, STATUS_SCHEMA, what="watch status")
    return row


def status_rows(archive: Archive) -> list[dict[str, Any]]:
    return [status_row(w) for w in WatchList(archive).all()]
