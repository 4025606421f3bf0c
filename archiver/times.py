"""Times as the package and the reports write them: ISO 8601 UTC, ``Z`` suffix."""

from __future__ import annotations

from datetime import UTC, datetime


def iso_utc(when: datetime, *, micro: bool = False) -> str:
    """``2026-11-27T09:18:07Z`` (or ``...07.123456Z`` with ``micro``); naive means UTC."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    when = when.astimezone(UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ" if micro else "%Y-%m-%dT%H:%M:%SZ")


def now_utc() -> datetime:
    """The capturing machine's clock, in UTC."""
    return datetime.now(UTC)
