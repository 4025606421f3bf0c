"""The chain of custody and the verify cache, in the archive's SQLite index.

Two tables beside ``captures`` (same file and connection handling as ``Archive``), not
a cache of the packages, so ``Archive.rebuild`` leaves them alone:

* ``custody``: what happened to a capture after it was made, in order: verified (with
  the result), exported (a report or a download, with the file's sha256). The events
  the package proves by itself (captured, timestamped) are read from the package and
  merged in by ``custody_events``.
* ``verify_cache``: the last ``verify`` report of a package, keyed by the package's
  sha256 and the trust anchors it was checked against, so a page that shows a verdict
  never re-runs a verification whose inputs have not changed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ..times import iso_utc, now_utc
from .index import Archive

_SCHEMA = """
CREATE TABLE IF NOT EXISTS custody (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    capture_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    time TEXT NOT NULL,
    detail TEXT NOT NULL,
    sha256 TEXT
);
CREATE INDEX IF NOT EXISTS custody_capture ON custody (capture_id, seq);
CREATE TABLE IF NOT EXISTS verify_cache (
    package_sha256 TEXT NOT NULL,
    anchors TEXT NOT NULL,
    stat TEXT NOT NULL,
    verified_at TEXT NOT NULL,
    report TEXT NOT NULL,
    PRIMARY KEY (package_sha256, anchors)
);
CREATE INDEX IF NOT EXISTS verify_cache_stat ON verify_cache (stat, anchors);
"""
KINDS = ("captured", "timestamped", "verified", "exported")


@dataclass(frozen=True)
class CustodyEvent:
    """One event in a capture's chain of custody."""

    capture_id: str
    kind: str  # one of KINDS
    time: str  # ISO 8601 UTC
    detail: str
    sha256: str | None = None
    source: str = "recorded"  # "package" (proven by the package itself) or "recorded"

    def to_json(self) -> dict[str, Any]:
        return {
            "capture_id": self.capture_id,
            "kind": self.kind,
            "time": self.time,
            "detail": self.detail,
            "sha256": self.sha256,
            "source": self.source,
        }


class Custody:
    """Custody events and cached verify reports of one archive."""

    def __init__(self, archive: Archive) -> None:
        self.archive = archive
        archive.ensure_tables(_SCHEMA)

    # --- custody events ------------------------------------------------------------
    def record(
        self, capture_id: str, kind: str, detail: str, *, sha256: str | None = None
    ) -> CustodyEvent:
        if kind not in KINDS:
            raise ValueError(f"unknown custody event {kind!r}")
        event = CustodyEvent(capture_id, kind, iso_utc(now_utc(), micro=True), detail, sha256)
        with self.archive._db() as db:
            db.execute(
                "INSERT INTO custody (capture_id, kind, time, detail, sha256) VALUES (?,?,?,?,?)",
                (event.capture_id, event.kind, event.time, event.detail, event.sha256),
            )
        return event

    def recorded(self, capture_id: str, *, limit: int = 500) -> list[CustodyEvent]:
        """The events recorded for ``capture_id``, oldest first (the latest ``limit``)."""
        with self.archive._db() as db:
            rows = db.execute(
                "SELECT * FROM (SELECT * FROM custody WHERE capture_id = ? "
                "ORDER BY seq DESC LIMIT ?) ORDER BY seq",
                (capture_id, limit),
            ).fetchall()
        return [
            CustodyEvent(r["capture_id"], r["kind"], r["time"], r["detail"], r["sha256"])
            for r in rows
        ]

    # --- verify cache --------------------------------------------------------------
    # A report is kept under the package's sha256 and the trust anchors it was checked
    # against ("anchors": a digest of the trusted keys and TSA roots). ``stat`` (size,
    # mtime, inode of the file when it was hashed) lets a list of captures find each
    # report without hashing every package; a capture page hashes its package.
    def cached_report(self, package_sha256: str, anchors: str) -> tuple[dict[str, Any], str] | None:
        """The report kept for these bytes and anchors, and the stat it was stored with."""
        with self.archive._db() as db:
            row = db.execute(
                "SELECT report, stat FROM verify_cache WHERE package_sha256 = ? AND anchors = ?",
                (package_sha256, anchors),
            ).fetchone()
        report = _report(row["report"]) if row is not None else None
        return (report, str(row["stat"])) if report is not None else None

    def cached_by_stat(self, stats: list[str], anchors: str) -> dict[str, dict[str, Any]]:
        """The cached reports of files whose stat signature is one of ``stats``."""
        if not stats:
            return {}
        marks = ",".join("?" for _ in stats)
        with self.archive._db() as db:
            rows = db.execute(
                f"SELECT stat, report FROM verify_cache WHERE anchors = ? AND stat IN ({marks})",
                (anchors, *stats),
            ).fetchall()
        return {r["stat"]: doc for r in rows if (doc := _report(r["report"])) is not None}

    def store_report(
        self, package_sha256: str, anchors: str, stat: str, report: dict[str, Any]
    ) -> None:
        with self.archive._db() as db:
            db.execute(
                "INSERT OR REPLACE INTO verify_cache "
                "(package_sha256, anchors, stat, verified_at, report) VALUES (?,?,?,?,?)",
                (
                    package_sha256,
                    anchors,
                    stat,
                    str(report.get("verified_at") or ""),
                    json.dumps(report),
                ),
            )


def _report(text: str) -> dict[str, Any] | None:
    doc = json.loads(text)
    return doc if isinstance(doc, dict) else None


def package_events(
    capture_id: str, capture: dict[str, Any], tokens: list[dict[str, Any]]
) -> list[CustodyEvent]:
    """The events a package proves by itself: captured (machine clock), timestamped (TSA)."""
    out: list[CustodyEvent] = []
    started = capture.get("started")
    if started:
        ended = capture.get("ended") or started
        out.append(
            CustodyEvent(
                capture_id,
                "captured",
                str(started),
                f"captured by {capture.get('software') or 'archiver'} with "
                f"{capture.get('browser') or 'a browser'}, ended {ended} "
                "(the capturing machine's clock)",
                source="package",
            )
        )
    for token in tokens:
        if token.get("time"):
            out.append(
                CustodyEvent(
                    capture_id,
                    "timestamped",
                    str(token["time"]),
                    f"RFC 3161 token {token.get('file')} from {token.get('tsa') or 'a TSA'} "
                    f"({'intact' if token.get('intact') else 'NOT intact'}; chain "
                    f"{token.get('chain') or 'not established'})",
                    source="package",
                )
            )
    return out


def custody_events(
    custody: Custody, capture_id: str, capture: dict[str, Any], tokens: list[dict[str, Any]]
) -> list[CustodyEvent]:
    """Every custody event of a capture in time order: the package's own, then recorded."""
    events = package_events(capture_id, capture, tokens) + custody.recorded(capture_id)
    return sorted(events, key=lambda e: e.time)
