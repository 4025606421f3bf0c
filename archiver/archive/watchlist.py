"""The watch list and its events, in the archive's SQLite index (``index.sqlite3``).

Tables beside ``captures`` (same file, same connection handling as ``Archive``: WAL,
busy timeout, one short transaction per write). Unlike ``captures`` they are not a
cache: ``Archive.rebuild`` leaves them alone.

* ``watches``: one row per watched URL: its schedule (``every_s``, NULL for the age
  ladder), ``--ignore`` patterns, pause flag, when it is due (``next_due``, seconds since
  the epoch, indexed so a pass with nothing due reads one index page), its page options
  (``options``: JSON of what ``watch add`` was given, files as absolute paths; NULL for
  none; added to older lists by ``ensure_column``), and its state: the capture kept as
  the base of the next comparison, the last check that saw that content, consecutive
  failures and the last error.
* ``events``: every event document, in the order they were stored (``seq``).
* ``deliveries``: one row per (event, webhook) until the receiver took it.
* ``watch_pending``: a package being moved into ``captures/`` by a check; a row left
  behind by a crash names a package to index (``recover``).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..errors import UsageError
from ..times import iso_utc
from .entry import IndexEntry
from .index import _COLUMNS, Archive, _row

_SCHEMA = """
CREATE TABLE IF NOT EXISTS watches (
    url TEXT PRIMARY KEY,
    added TEXT NOT NULL,
    every_s REAL,
    ignore TEXT NOT NULL DEFAULT '[]',
    paused INTEGER NOT NULL DEFAULT 0,
    next_due REAL NOT NULL,
    last_check TEXT,
    last_change TEXT,
    failures INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    state TEXT,
    kept_id TEXT,
    available_id TEXT,
    seen TEXT,
    options TEXT
);
CREATE INDEX IF NOT EXISTS watches_due ON watches (paused, next_due);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    url TEXT NOT NULL,
    kind TEXT NOT NULL,
    time TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_url ON events (url, seq);
CREATE TABLE IF NOT EXISTS deliveries (
    event_id TEXT NOT NULL,
    webhook TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt REAL NOT NULL,
    delivered TEXT,
    last_error TEXT,
    PRIMARY KEY (event_id, webhook)
);
CREATE TABLE IF NOT EXISTS watch_pending (
    capture_id TEXT PRIMARY KEY,
    url TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS watch_meta (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""


def _epoch(when: datetime) -> float:
    return when.timestamp()


def _from_epoch(value: float) -> datetime:
    return datetime.fromtimestamp(value, UTC)


@dataclass
class Watch:
    """One watched URL and what the last checks found."""

    url: str
    added: datetime
    every: float | None
    ignore: list[str]
    paused: bool
    next_due: datetime
    last_check: str | None = None
    last_change: str | None = None
    failures: int = 0
    last_error: str | None = None
    state: str | None = None  # None before the first capture, "available", "unavailable"
    kept_id: str | None = None  # the capture the next check is compared with
    available_id: str | None = None  # the latest kept capture that showed the page
    seen: dict[str, Any] | None = None  # the last check that saw the kept content
    options: dict[str, Any] | None = None  # page options as watch add stored them

    @property
    def schedule(self) -> str:
        return "ladder" if self.every is None else "every"


@dataclass
class CheckRecord:
    """What one check changes in the index, written in one transaction."""

    url: str
    check_time: str
    next_due: datetime
    failures: int
    last_error: str | None
    state: str | None = None
    kept_id: str | None = None
    available_id: str | None = None
    seen: dict[str, Any] | None = None
    changed: bool = False  # sets last_change to check_time
    capture: IndexEntry | None = None  # a kept package to index
    events: list[dict[str, Any]] = field(default_factory=list)
    webhooks: Sequence[str] = ()
    pending_id: str | None = None  # the watch_pending row this check clears


@dataclass
class Delivery:
    event_id: str
    webhook: str
    attempts: int
    doc: dict[str, Any]
    next_attempt: datetime


def _watch(row: sqlite3.Row) -> Watch:
    return Watch(
        url=row["url"],
        added=datetime.fromisoformat(row["added"]),
        every=row["every_s"],
        ignore=list(json.loads(row["ignore"])),
        paused=bool(row["paused"]),
        next_due=_from_epoch(row["next_due"]),
        last_check=row["last_check"],
        last_change=row["last_change"],
        failures=row["failures"],
        last_error=row["last_error"],
        state=row["state"],
        kept_id=row["kept_id"],
        available_id=row["available_id"],
        seen=json.loads(row["seen"]) if row["seen"] else None,
        options=json.loads(row["options"]) if row["options"] else None,
    )


class WatchList:
    """The watches, events and webhook deliveries of one archive."""

    def __init__(self, archive: Archive) -> None:
        self.archive = archive
        archive.ensure_tables(_SCHEMA)
        archive.ensure_column("watches", "options", "TEXT")  # lists made before page options

    # --- the list ---------------------------------------------------------------------
    def add(
        self,
        urls: Iterable[str],
        *,
        now: datetime,
        every: float | None,
        ignore: Sequence[str],
        options: Mapping[str, Any] | None = None,
    ) -> tuple[list[str], list[str]]:
        """Watch each URL (due at once); returns (added, updated): a URL already watched
        keeps its history and takes the new schedule and ignore patterns. ``options``
        replaces the page options (``{}``: none); None keeps a watched URL's own."""
        added: list[str] = []
        updated: list[str] = []
        stored = json.dumps(dict(options), sort_keys=True) if options else None
        with self.archive._db() as db:
            db.execute("BEGIN IMMEDIATE")
            for url in urls:
                exists = db.execute("SELECT 1 FROM watches WHERE url = ?", (url,)).fetchone()
                if exists:
                    db.execute(
                        "UPDATE watches SET every_s = ?, ignore = ? WHERE url = ?",
                        (every, json.dumps(list(ignore)), url),
                    )
                    if options is not None:
                        db.execute("UPDATE watches SET options = ? WHERE url = ?", (stored, url))
                    updated.append(url)
                else:
                    db.execute(
                        "INSERT INTO watches (url, added, every_s, ignore, next_due, options) "
                        "VALUES (?, ?, ?, ?, ?, ?)",
                        (
                            url,
                            iso_utc(now, micro=True),
                            every,
                            json.dumps(list(ignore)),
                            _epoch(now),
                            stored,
                        ),
                    )
                    added.append(url)
            db.execute("COMMIT")
        return added, updated

    def remove(self, url: str) -> None:
        with self.archive._db() as db:
            gone = db.execute("DELETE FROM watches WHERE url = ?", (url,)).rowcount
        if not gone:
            raise UsageError(f"{url} is not watched in archive {self.archive.root}")

    def set_paused(self, url: str, paused: bool) -> None:
        with self.archive._db() as db:
            found = db.execute(
                "UPDATE watches SET paused = ? WHERE url = ?", (int(paused), url)
            ).rowcount
        if not found:
            raise UsageError(f"{url} is not watched in archive {self.archive.root}")

    def get(self, url: str) -> Watch | None:
        with self.archive._db() as db:
            row = db.execute("SELECT * FROM watches WHERE url = ?", (url,)).fetchone()
        return _watch(row) if row else None

    def all(self) -> list[Watch]:
        with self.archive._db() as db:
            rows = db.execute("SELECT * FROM watches ORDER BY url").fetchall()
        return [_watch(r) for r in rows]

    def due(self, now: datetime, *, everything: bool = False) -> list[Watch]:
        """Active watches due at ``now`` (every active one with ``everything``), soonest first."""
        query = "SELECT * FROM watches WHERE paused = 0"
        args: tuple[float, ...] = ()
        if not everything:
            query += " AND next_due <= ?"
            args = (_epoch(now),)
        with self.archive._db() as db:
            rows = db.execute(query + " ORDER BY next_due, url", args).fetchall()
        return [_watch(r) for r in rows]

    # --- one check --------------------------------------------------------------------
    def begin_keep(self, capture_id: str, url: str) -> None:
        """Say a package is about to be moved into ``captures/`` (cleared by ``record``)."""
        with self.archive._db() as db:
            db.execute("INSERT OR REPLACE INTO watch_pending VALUES (?, ?)", (capture_id, url))

    def pending(self) -> list[tuple[str, str]]:
        with self.archive._db() as db:
            rows = db.execute("SELECT capture_id, url FROM watch_pending").fetchall()
        return [(r["capture_id"], r["url"]) for r in rows]

    def clear_pending(self, capture_id: str, entry: IndexEntry | None) -> None:
        """After a crash: index the package that made it into ``captures/`` (if any)."""
        with self.archive._db() as db:
            db.execute("BEGIN IMMEDIATE")
            if entry is not None:
                db.execute(
                    f"INSERT OR IGNORE INTO captures ({','.join(_COLUMNS)}) "
                    f"VALUES ({','.join('?' for _ in _COLUMNS)})",
                    _row(entry),
                )
            db.execute("DELETE FROM watch_pending WHERE capture_id = ?", (capture_id,))
            db.execute("COMMIT")

    def record(self, rec: CheckRecord) -> None:
        """Store a check's outcome, its kept capture, its events and their deliveries
        atomically: a crash leaves either all of it or none."""
        with self.archive._db() as db:
            db.execute("BEGIN IMMEDIATE")
            if rec.capture is not None:
                db.execute(
                    f"INSERT INTO captures ({','.join(_COLUMNS)}) "
                    f"VALUES ({','.join('?' for _ in _COLUMNS)})",
                    _row(rec.capture),
                )
            sets = [
                "last_check = ?",
                "next_due = ?",
                "failures = ?",
                "last_error = ?",
            ]
            args: list[Any] = [rec.check_time, _epoch(rec.next_due), rec.failures, rec.last_error]
            for name in ("state", "kept_id", "available_id"):
                value = getattr(rec, name)
                if value is not None:
                    sets.append(f"{name} = ?")
                    args.append(value)
            if rec.seen is not None:
                sets.append("seen = ?")
                args.append(json.dumps(rec.seen, sort_keys=True))
            if rec.changed:
                sets.append("last_change = ?")
                args.append(rec.check_time)
            db.execute(f"UPDATE watches SET {', '.join(sets)} WHERE url = ?", (*args, rec.url))
            for doc in rec.events:
                db.execute(
                    "INSERT INTO events (id, url, kind, time, doc) VALUES (?, ?, ?, ?, ?)",
                    (doc["id"], doc["url"], doc["kind"], doc["time"], json.dumps(doc)),
                )
                for hook in rec.webhooks:
                    db.execute(
                        "INSERT INTO deliveries (event_id, webhook, next_attempt) VALUES (?, ?, 0)",
                        (doc["id"], hook),
                    )
            if rec.pending_id is not None:
                db.execute("DELETE FROM watch_pending WHERE capture_id = ?", (rec.pending_id,))
            db.execute("COMMIT")

    # --- events and deliveries --------------------------------------------------------
    def events(self, *, url: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """The latest ``limit`` events (of ``url``), oldest first."""
        query = "SELECT doc FROM events"
        args: tuple[Any, ...] = ()
        if url is not None:
            query += " WHERE url = ?"
            args = (url,)
        with self.archive._db() as db:
            rows = db.execute(query + " ORDER BY seq DESC LIMIT ?", (*args, limit)).fetchall()
        return [json.loads(r["doc"]) for r in reversed(rows)]

    def urls_with_events_since(self, seq: int) -> list[str]:
        with self.archive._db() as db:
            rows = db.execute(
                "SELECT DISTINCT url FROM events WHERE seq > ? ORDER BY url", (seq,)
            ).fetchall()
        return [r["url"] for r in rows]

    def next_due(self) -> datetime | None:
        """When the soonest active watch is due (None when none is active)."""
        with self.archive._db() as db:
            row = db.execute("SELECT min(next_due) FROM watches WHERE paused = 0").fetchone()
        return None if row[0] is None else _from_epoch(row[0])

    def last_event_seq(self) -> int:
        with self.archive._db() as db:
            return int(db.execute("SELECT coalesce(max(seq), 0) FROM events").fetchone()[0])

    def meta(self, name: str) -> str | None:
        with self.archive._db() as db:
            row = db.execute("SELECT value FROM watch_meta WHERE name = ?", (name,)).fetchone()
        return str(row["value"]) if row else None

    def set_meta(self, name: str, value: str) -> None:
        with self.archive._db() as db:
            db.execute("INSERT OR REPLACE INTO watch_meta VALUES (?, ?)", (name, value))

    def meta_default(self, name: str, value: str) -> str:
        """The stored value of ``name``, storing ``value`` first when there is none."""
        with self.archive._db() as db:
            db.execute("INSERT OR IGNORE INTO watch_meta VALUES (?, ?)", (name, value))
            row = db.execute("SELECT value FROM watch_meta WHERE name = ?", (name,)).fetchone()
        return str(row["value"])

    def undelivered(self, webhook: str) -> list[Delivery]:
        """This receiver's undelivered events, in the order they were stored."""
        with self.archive._db() as db:
            rows = db.execute(
                "SELECT d.event_id, d.webhook, d.attempts, d.next_attempt, e.doc "
                "FROM deliveries d JOIN events e ON e.id = d.event_id "
                "WHERE d.webhook = ? AND d.delivered IS NULL ORDER BY e.seq",
                (webhook,),
            ).fetchall()
        return [
            Delivery(
                r["event_id"],
                r["webhook"],
                r["attempts"],
                json.loads(r["doc"]),
                _from_epoch(r["next_attempt"]),
            )
            for r in rows
        ]

    def delivery_result(
        self,
        delivery: Delivery,
        *,
        attempts: int,
        delivered: str | None,
        error: str | None,
        next_attempt: datetime,
    ) -> None:
        with self.archive._db() as db:
            db.execute(
                "UPDATE deliveries SET attempts = ?, delivered = ?, last_error = ?, "
                "next_attempt = ? WHERE event_id = ? AND webhook = ?",
                (
                    attempts,
                    delivered,
                    error,
                    _epoch(next_attempt),
                    delivery.event_id,
                    delivery.webhook,
                ),
            )

    def deliveries(self) -> list[Mapping[str, Any]]:
        with self.archive._db() as db:
            rows = db.execute(
                "SELECT event_id, webhook, attempts, delivered, last_error FROM deliveries "
                "ORDER BY rowid"
            ).fetchall()
        return [dict(r) for r in rows]
