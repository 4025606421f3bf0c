"""Check 3: every WARC record's digests against its own header and the signed manifest.

The digests were computed while streaming (``verify_warc.scan_warc``); here each
record is named when its block or payload digest does not match its header, when it
is not in the manifest (added), when a field differs from the manifest (type, target,
date, offset, length, digests), and each manifest record missing from the WARC
(removed) is named, unless the WARC stopped being readable before its end.
"""

from __future__ import annotations

from typing import Any

from ..layout import WARC
from .report import Check
from .warcscan import ScannedRecord


def check_records(
    check: Check,
    scanned: list[ScannedRecord],
    warc_error: str | None,
    manifest: dict[str, Any] | None,
) -> None:
    """Record every problem of the scanned records in ``check`` and settle it."""
    for rec in scanned:
        for problem in rec.problems:
            check.fail(rec.label(), problem)
        if rec.block_digest is None:
            check.fail(rec.label(), "has no WARC-Block-Digest")
        elif rec.block_ok is not True:
            check.fail(rec.label(), "block digest does not match its WARC-Block-Digest header")
        if rec.payload_digest is not None and rec.payload_ok is not True:
            check.fail(rec.label(), "payload digest does not match its WARC-Payload-Digest header")
    if warc_error:
        check.fail(WARC, warc_error + "; records after that point were not checked")
    if manifest is not None:
        _records_vs_manifest(check, manifest, scanned, complete=warc_error is None)
    against = (
        "and the signed manifest"
        if manifest is not None
        else "(NOT compared with the manifest: it is missing or unusable)"
    )
    check.settle(
        f"{len(scanned)} records: every block and payload digest matches its header {against}"
    )


def _records_vs_manifest(
    check: Check, manifest: dict[str, Any], scanned: list[ScannedRecord], *, complete: bool
) -> None:
    """Each scanned record against the signed list: fields, added and removed records."""
    listed = {r["id"]: r for r in manifest["records"]}
    seen: set[str] = set()
    for rec in scanned:
        rid = rec.record_id or ""
        entry = listed.get(rid)
        if entry is None:
            check.fail(rec.label(), "is not in the signed manifest (record added?)")
            continue
        if rid in seen:
            check.fail(rec.label(), "appears twice in the WARC")
        seen.add(rid)
        fields = (
            ("type", rec.type),
            ("target_uri", rec.target_uri),
            ("date", rec.date),
            ("offset", rec.offset),
            ("length", rec.length),
            ("block_digest", rec.block_digest),
            ("payload_digest", rec.payload_digest),
        )
        for key, value in fields:
            if entry[key] != value:
                check.fail(
                    rec.label(),
                    f"{key.replace('_', ' ')} is {value!r} but the signed manifest says "
                    f"{entry[key]!r}",
                )
    if complete:
        for rid, entry in listed.items():
            if rid not in seen:
                check.fail(
                    f"record {rid} ({entry['type']} {entry['target_uri']})",
                    f"is listed in the signed manifest at offset {entry['offset']} but is "
                    f"missing from {WARC} (record removed?)",
                )
