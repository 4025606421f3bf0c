"""Check ``indexes/index.cdxj``: every line points at a real record of the WARC.

A line is ``<surt key> <14-digit timestamp> {json}`` with ``offset``, ``length``,
``filename``, ``url`` and (when the record has one) ``digest``: the record found at
that offset must have that gzip member length, target URI and payload digest. Lines
are read one at a time (at most 1 MiB each).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import IO

from ..layout import CDXJ
from .report import Check
from .warcscan import ScannedRecord

WARC_NAME = "data.warc.gz"
MAX_LINE = 1 << 20


def _ts14(date: str) -> str:
    return "".join(c for c in date[:19] if c.isdigit())


def _where(number: int) -> str:
    return f"{CDXJ} line {number}"


def check_cdxj(fh: IO[bytes], records: Sequence[ScannedRecord], check: Check) -> int:
    """Record every bad line in ``check``; return the number of lines read."""
    by_offset = {r.offset: r for r in records}
    number = 0
    while line := fh.readline(MAX_LINE + 1):
        number += 1
        if len(line) > MAX_LINE:
            check.fail(_where(number), "is longer than 1 MiB; the rest of the index was skipped")
            return number
        text = line.decode("utf-8", "replace").strip()
        if not text:
            continue
        parts = text.split(" ", 2)
        try:
            entry = json.loads(parts[2])
            offset = int(entry["offset"])
            length = int(entry["length"])
        except (IndexError, ValueError, KeyError, TypeError):
            check.fail(_where(number), "is not a CDXJ line with a JSON offset and length")
            continue
        _check_entry(number, entry, offset, length, by_offset, check)
        rec = by_offset.get(offset)
        if rec is not None and rec.date and parts[1] != _ts14(rec.date):
            check.fail(
                _where(number), f"timestamp {parts[1]} is not the WARC-Date of {rec.label()}"
            )
    return number


def _check_entry(
    number: int,
    entry: dict[str, object],
    offset: int,
    length: int,
    by_offset: dict[int, ScannedRecord],
    check: Check,
) -> None:
    where = _where(number)
    if entry.get("filename", WARC_NAME) != WARC_NAME:
        check.fail(where, f"names WARC file {entry.get('filename')!r}, not {WARC_NAME}")
        return
    rec = by_offset.get(offset)
    if rec is None:
        check.fail(where, f"points at offset {offset}, where no record starts")
        return
    if rec.length != length:
        check.fail(
            where, f"says length {length}, but the record at offset {offset} is {rec.length} bytes"
        )
    if entry.get("url") != rec.target_uri:
        check.fail(
            where,
            f"says url {entry.get('url')!r}, but the record at offset {offset} "
            f"is for {rec.target_uri!r}",
        )
    digest = entry.get("digest")
    if digest is not None and digest != rec.payload_digest:
        check.fail(where, f"digest does not match the payload digest of {rec.label()}")
