"""When to check a watched URL next: durations, the age ladder, jitter, backoff.

Pure: every function takes the times it needs (the caller's injected clock); nothing
here reads the clock, sleeps or touches the archive.

* The default schedule is a news article's age ladder (NewsDiffs checks fresh stories
  most often): while a watch is younger than 3 hours, every 15 minutes; younger than a
  day, every 30 minutes; than a week, every 2 hours; than 30 days, daily; then weekly.
  A watch's age counts from when it was added.
* ``--every`` replaces the ladder with one exact interval.
* Every URL gets its own fixed jitter of 0-10% of the interval (from a hash of the URL),
  so the checks of one site spread out yet each URL's schedule is reproducible.
* A failing URL backs off exponentially: the interval doubles with each consecutive
  failure, up to a day (or the interval itself when that is longer).
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timedelta

from ..errors import UsageError

MINUTE = 60.0
HOUR = 60 * MINUTE
DAY = 24 * HOUR
WEEK = 7 * DAY

# (age below which the step applies, interval); the last step has no bound.
LADDER: tuple[tuple[float, float], ...] = (
    (3 * HOUR, 15 * MINUTE),
    (DAY, 30 * MINUTE),
    (WEEK, 2 * HOUR),
    (30 * DAY, DAY),
    (float("inf"), WEEK),
)
MAX_JITTER = 0.10  # of the interval
BACKOFF_CAP = DAY

_UNITS = {"s": 1.0, "m": MINUTE, "h": HOUR, "d": DAY, "w": WEEK}
_DURATION = re.compile(r"(?:(\d+(?:\.\d+)?)([smhdw]))+")
_PART = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")


def parse_duration(text: str) -> float:
    """Seconds in ``30s``, ``15m``, ``2h``, ``1d``, ``1w`` (or ``1h30m``); UsageError otherwise."""
    value = text.strip().lower()
    if not _DURATION.fullmatch(value):
        raise UsageError(f"bad duration {text!r}: give a number and a unit, e.g. 30s, 15m, 2h, 1d")
    seconds = sum(float(n) * _UNITS[u] for n, u in _PART.findall(value))
    if seconds <= 0:
        raise UsageError(f"bad duration {text!r}: it must be longer than zero")
    return seconds


def format_duration(seconds: float) -> str:
    """The shortest exact form: ``15m``, ``2h``, ``90s``, ``1d``."""
    for unit in ("w", "d", "h", "m"):
        size = _UNITS[unit]
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def ladder_interval(age_s: float) -> float:
    """The ladder's interval for a watch ``age_s`` seconds old."""
    for bound, interval in LADDER:
        if age_s < bound:
            return interval
    return LADDER[-1][1]


def jitter_fraction(url: str) -> float:
    """This URL's fixed share of the allowed jitter, in [0, 1)."""
    digest = hashlib.sha256(url.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def interval(*, url: str, added: datetime, now: datetime, every: float | None) -> float:
    """Seconds until the next check after a successful one at ``now``, jitter included."""
    base = every if every is not None else ladder_interval((now - added).total_seconds())
    return base * (1 + MAX_JITTER * jitter_fraction(url))


def backoff(
    *, url: str, added: datetime, now: datetime, every: float | None, failures: int
) -> float:
    """Seconds until the next try after ``failures`` consecutive failures (1 or more).

    The normal interval doubles per failure (2x, 4x, 8x ...), capped at a day, or at the
    normal interval when that is longer than a day: never a hot loop, never later than
    a healthy URL would be checked on a weekly schedule.
    """
    normal = interval(url=url, added=added, now=now, every=every)
    if failures <= 0:
        return normal
    cap = max(BACKOFF_CAP, normal)
    return min(normal * float(2 ** min(failures, 32)), cap)


def next_check(
    *, url: str, added: datetime, now: datetime, every: float | None, failures: int = 0
) -> datetime:
    """When a URL checked at ``now`` is due again (after ``failures`` failures in a row)."""
    seconds = backoff(url=url, added=added, now=now, every=every, failures=failures)
    return now + timedelta(seconds=seconds)
