"""Headline, byline, dates and site name, compared apart from the body.

A date that names the same time in another format is a ``format_only`` change.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from email.utils import parsedate_to_datetime

from .model import METADATA_FIELDS, MetaChange
from .text import norm
from .words import NumberChange, Segment, word_diff


def metadata_changes(
    old: Mapping[str, str | None], new: Mapping[str, str | None]
) -> list[MetaChange]:
    out = []
    for name in METADATA_FIELDS:
        before, after = old.get(name), new.get(name)
        if norm(before or "") == norm(after or ""):
            continue
        segments: list[Segment] = []
        numbers: list[NumberChange] = []
        if before and after:
            segments, numbers = word_diff(before, after)
        same = name in ("published", "modified") and same_time(before, after)
        if same:
            numbers = []  # no fact changed: "Z" -> "+00:00" is not a number to call out
        out.append(MetaChange(name, before, after, tuple(segments), tuple(numbers), same))
    return out


def _when(text: str | None) -> tuple[datetime, bool] | None:
    """An ISO 8601 or RFC 2822 date, and whether it gives a time of day; None if neither."""
    if not text:
        return None
    text = text.strip()
    try:
        value = datetime.fromisoformat(text)
        return value, len(text) > 10
    except ValueError:
        pass
    try:
        return parsedate_to_datetime(text), True
    except (TypeError, ValueError, IndexError):
        return None


def same_time(old: str | None, new: str | None) -> bool:
    """Two date texts that name the same time, written differently (a format-only change).

    Same instant when both carry a zone; same wall-clock time when one lacks it (the zone
    was added or dropped); same calendar date when one gives no time of day.
    """
    a, b = _when(old), _when(new)
    if a is None or b is None:
        return False
    (da, timed_a), (db, timed_b) = a, b
    if not (timed_a and timed_b):
        return da.date() == db.date()
    if (da.tzinfo is None) != (db.tzinfo is None):
        return da.replace(tzinfo=None) == db.replace(tzinfo=None)
    return da == db
