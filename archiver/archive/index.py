"""The archive folder: ``captures/*.wacz`` and the SQLite index that lists them.

The index is a cache: ``Archive.rebuild()`` recreates it from the packages alone. It
records each capture under its signed id and the file it was found in, so a renamed
package is still found by its id. Several processes may write one archive at once (WAL
journal, busy timeout, one short transaction per write). ``Archive.tidy`` clears what a
killed process left (its work folder, a temporary package) and never touches a live
process's files. This is the only module that uses sqlite3.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from ..errors import ArchiveError, PackageError, UsageError
from ..package import WaczReader
from ..writers import writer_tag
from .entry import IndexEntry, new_capture_id
from .leftovers import UNKNOWN_WRITER_STALE_S as UNKNOWN_WRITER_STALE_S
from .leftovers import Tidied, clear_temp_packages, remove_dead_work_folders
from .scan import package_tsa_times, scan_package

SCHEMA_VERSION = 3  # 2: the package file name of each capture; 3: walls
INDEX_NAME = "index.sqlite3"
CAPTURES = "captures"
BUSY_TIMEOUT_S = 60.0
_COLUMNS = (
    "id",
    "url",
    "final_url",
    "started",
    "ended",
    "status",
    "title",
    "package_sha256",
    "text_sha256",
    "signed_by",
    "tsa_times",
    "walls",
)
_SCHEMA = """
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS captures (
    id TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    final_url TEXT NOT NULL,
    started TEXT NOT NULL,
    ended TEXT NOT NULL,
    status INTEGER NOT NULL,
    title TEXT NOT NULL,
    package_sha256 TEXT NOT NULL,
    text_sha256 TEXT,
    signed_by TEXT,
    tsa_times TEXT NOT NULL,
    walls TEXT NOT NULL DEFAULT '[]',
    file TEXT UNIQUE
);
CREATE INDEX IF NOT EXISTS captures_url ON captures (url);
CREATE INDEX IF NOT EXISTS captures_final_url ON captures (final_url);
"""


def _ensure_wal(db: sqlite3.Connection) -> None:
    """Put the index in WAL mode (persistent, so once per file) so writers do not block
    readers. Switching needs a moment with no other connection active and SQLite does
    not wait for it (no busy handler), so a second process creating the same archive
    retries here instead of failing with "database is locked"."""
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            mode = db.execute("PRAGMA journal_mode").fetchone()[0]
            if str(mode).lower() == "wal":
                return
            db.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _create_schema(db: sqlite3.Connection) -> None:
    """Tables and the schema version row, inside the caller's transaction."""
    for statement in _SCHEMA.split(";"):
        if statement.strip():
            db.execute(statement)
    if db.execute("SELECT count(*) FROM schema_version").fetchone()[0] == 0:
        db.execute("INSERT INTO schema_version VALUES (?)", (SCHEMA_VERSION,))


# ``file``: the package's name in captures/ (NULL: ``<id>.wacz``).
_INSERT = (
    f"INSERT INTO captures ({','.join(_COLUMNS)}, file) VALUES ({','.join('?' * len(_COLUMNS))}, ?)"
)


def _row(entry: IndexEntry) -> tuple[Any, ...]:
    values = asdict(entry)
    values["tsa_times"] = json.dumps(entry.tsa_times)
    values["walls"] = json.dumps(entry.walls)
    return tuple(values[c] for c in _COLUMNS)


def _entry(row: sqlite3.Row) -> IndexEntry:
    values = {c: row[c] for c in _COLUMNS}
    values["tsa_times"] = json.loads(values["tsa_times"])
    values["walls"] = json.loads(values["walls"] or "[]")
    return IndexEntry(**values)


@dataclass
class RebuildResult:
    """What ``Archive.rebuild`` did. ``skipped``: each package it could not index, with
    the reason; ``recovered``: complete packages an interrupted process had left under a
    temporary name, now in place and indexed; ``removed``: leftovers of dead processes."""

    indexed: int
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    recovered: list[Path] = field(default_factory=list)
    removed: list[Path] = field(default_factory=list)


class Archive:
    """An archive folder; creates ``captures/`` and the index when missing."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.captures = self.root / CAPTURES
        self.index_path = self.root / INDEX_NAME
        if self.root.exists() and not self.root.is_dir():
            raise ArchiveError(f"archive {self.root} is a file, not a folder")
        try:
            self.captures.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ArchiveError(
                f"cannot create archive folder {self.root}: {exc.strerror or exc}"
            ) from exc
        if not os.access(self.captures, os.W_OK | os.X_OK) or not os.access(
            self.root, os.W_OK | os.X_OK
        ):
            raise ArchiveError(f"archive folder {self.root} is not writable")
        with self._db() as db:
            db.execute("BEGIN IMMEDIATE")
            _create_schema(db)
            db.execute("COMMIT")
            version = db.execute("SELECT max(version) FROM schema_version").fetchone()[0]
        if version != SCHEMA_VERSION:
            self.rebuild()  # an index from another version: it is a cache, so refill it

    @contextlib.contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        try:
            db = sqlite3.connect(self.index_path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        except sqlite3.Error as exc:
            raise ArchiveError(f"cannot open index {self.index_path}: {exc}") from exc
        try:
            db.row_factory = sqlite3.Row
            db.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            _ensure_wal(db)
            yield db
        except sqlite3.Error as exc:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise ArchiveError(
                f"index {self.index_path} cannot be used ({exc}): move it away and run "
                "'archiver index rebuild'"
            ) from exc
        finally:
            db.close()

    def package_path(self, capture_id: str) -> Path:
        """Where the package of ``capture_id`` lives: the file the index names for it,
        else ``captures/<id>.wacz`` (where a new capture goes)."""
        with self._db() as db:
            row = db.execute("SELECT file FROM captures WHERE id = ?", (capture_id,)).fetchone()
        return self.captures / (row["file"] if row and row["file"] else f"{capture_id}.wacz")

    def new_id(self, now: datetime) -> str:
        """A capture id whose package name is not taken yet, on disk or in the index."""
        while True:
            capture_id = new_capture_id(now)
            if (self.captures / f"{capture_id}.wacz").exists():
                continue
            with self._db() as db:
                taken = db.execute("SELECT 1 FROM captures WHERE id = ?", (capture_id,)).fetchone()
            if not taken:
                return capture_id

    def add(self, entry: IndexEntry, file: str | None = None) -> None:
        """Record a capture whose package is ``captures/<file>`` (default ``<id>.wacz``);
        ArchiveError if its id or file is already indexed."""
        file = file or f"{entry.id}.wacz"
        with self._db() as db:
            try:
                db.execute(_INSERT, (*_row(entry), file))
            except sqlite3.IntegrityError as exc:
                raise ArchiveError(
                    f"capture {entry.id} (or package {file}) is already in archive {self.root}"
                ) from exc

    def by_file(self, file: str) -> IndexEntry | None:
        """The capture whose package is ``captures/<file>``, or None when none is indexed."""
        with self._db() as db:
            row = db.execute(
                "SELECT * FROM captures WHERE file = ? OR (file IS NULL AND id || '.wacz' = ?)",
                (file, file),
            ).fetchone()
        return None if row is None else _entry(row)

    def indexed_files(self) -> set[str]:
        """The package file names (in ``captures/``) of every indexed capture."""
        with self._db() as db:
            rows = db.execute("SELECT id, file FROM captures").fetchall()
        return {r["file"] or f"{r['id']}.wacz" for r in rows}

    def _indexed(self, capture_id: str) -> bool:
        with self._db() as db:
            return bool(db.execute("SELECT 1 FROM captures WHERE id = ?", (capture_id,)).fetchone())

    def list(self, url: str | None = None) -> list[IndexEntry]:
        """Every capture (of ``url``, requested or final, when given), oldest first."""
        query = "SELECT * FROM captures"
        args: tuple[str, ...] = ()
        if url is not None:
            query += " WHERE url = ? OR final_url = ?"
            args = (url, url)
        with self._db() as db:
            rows = db.execute(query + " ORDER BY started, id", args).fetchall()
        return [_entry(r) for r in rows]

    def get(self, capture_id: str) -> IndexEntry:
        """The capture with this id, or the only one whose id starts with it."""
        with self._db() as db:
            rows = db.execute(
                "SELECT * FROM captures WHERE substr(id, 1, ?) = ? ORDER BY id LIMIT 3",
                (len(capture_id), capture_id),
            ).fetchall()
        exact = [r for r in rows if r["id"] == capture_id]
        if exact:
            return _entry(exact[0])
        if not rows or not capture_id:
            raise ArchiveError(f"no capture {capture_id} in archive {self.root}")
        if len(rows) > 1:
            raise ArchiveError(
                f"capture id {capture_id} is ambiguous in archive {self.root}: "
                f"{rows[0]['id']}, {rows[1]['id']}, ... give more characters"
            )
        return _entry(rows[0])

    def resolve(self, ref: str) -> Path:
        """A package path from a capture id, id prefix, or path to an existing .wacz."""
        path = package_file(ref)
        if path is not None:
            return path
        try:
            entry = self.get(ref)
        except ArchiveError as exc:
            if ref and (self.captures / f"{ref}.wacz").is_file():
                return self.captures / f"{ref}.wacz"
            raise UsageError(
                f"{ref} is neither a capture id in archive {self.root} nor a .wacz file"
            ) from exc
        found = self.package_path(entry.id)
        if not found.is_file():
            raise ArchiveError(
                f"capture {entry.id} is indexed but {found} is missing: "
                "run 'archiver index rebuild'"
            )
        return found

    def ensure_tables(self, schema: str) -> None:
        """Create another part of the archive's own tables in the index (``CREATE ...
        IF NOT EXISTS`` statements separated by ``;``), in one transaction."""
        with self._db() as db:
            db.execute("BEGIN IMMEDIATE")
            for statement in schema.split(";"):
                if statement.strip():
                    db.execute(statement)
            db.execute("COMMIT")

    def ensure_column(self, table: str, column: str, declaration: str) -> None:
        """Add ``column`` to a table made by an older version (``ALTER TABLE ... ADD
        COLUMN``, existing rows get its default); nothing when it is there."""
        with self._db() as db:
            db.execute("BEGIN IMMEDIATE")
            names = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
            if column not in names:
                db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")
            db.execute("COMMIT")

    def update_package(self, path: Path, package_sha256: str) -> None:
        """After a package in ``captures/`` changed (tokens added): refresh its sha256 and
        TSA times in the index. A package outside this archive is left alone."""
        path = Path(path)
        if path.resolve().parent != self.captures.resolve():
            return
        with WaczReader(path) as wacz:
            tsa_times = package_tsa_times(wacz)
        with self._db() as db:
            db.execute(
                "UPDATE captures SET package_sha256 = ?, tsa_times = ? "
                "WHERE file = ? OR (file IS NULL AND id || '.wacz' = ?)",
                (package_sha256, json.dumps(tsa_times), path.name, path.name),
            )

    def rebuild(self) -> RebuildResult:
        """Drop the index and refill it from the packages in ``captures/``.

        Every readable package is indexed under its signed id and the file it is in; each
        one that cannot be (unreadable, or a second file holding an id already indexed)
        is listed in ``skipped`` with the reason. Leftovers of dead processes are cleared
        first, as ``tidy`` does.
        """
        removed = remove_dead_work_folders(self.root)
        scanned: list[tuple[IndexEntry, Path]] = []
        skipped: list[tuple[Path, str]] = []
        for path in sorted(self.captures.glob("*.wacz")):
            if path.name.startswith("."):
                continue
            try:
                scanned.append((scan_package(path), path))
            except PackageError as exc:
                skipped.append((path, str(exc)))
        # Of two files holding one capture, the one named after its id is indexed.
        scanned.sort(key=lambda found: (found[1].name != f"{found[0].id}.wacz", found[1].name))
        kept: dict[str, Path] = {}
        for entry, path in scanned:
            if entry.id in kept:
                skipped.append(
                    (
                        path,
                        f"holds capture {entry.id}, which {kept[entry.id].name} holds too: "
                        "keep one of the two",
                    )
                )
            else:
                kept[entry.id] = path
        rows = [(e, p.name) for e, p in scanned if kept[e.id] == p]
        tidied = clear_temp_packages(self.captures, lambda capture_id: capture_id in kept)
        rows.extend((e, p.name) for e, p in tidied.recovered)
        with self._db() as db:
            db.execute("BEGIN IMMEDIATE")
            db.execute("DROP TABLE IF EXISTS captures")
            db.execute("DROP TABLE IF EXISTS schema_version")
            _create_schema(db)
            db.executemany(_INSERT, [(*_row(e), file) for e, file in rows])
            db.execute("COMMIT")
        return RebuildResult(
            indexed=len(rows),
            skipped=sorted(skipped),
            recovered=[p for _, p in tidied.recovered],
            removed=[*removed, *tidied.removed],
        )

    # --- work folders and temporary packages ------------------------------------------
    def work_folder(self, capture_id: str) -> Path:
        """A new folder for one capture's WARC and bodies, named after this process so
        ``tidy`` can remove it once the process is gone; the caller removes it when done."""
        return Path(tempfile.mkdtemp(prefix=f".{capture_id}.{writer_tag()}.", dir=self.root))

    def tidy(self) -> Tidied:
        """Clear what killed processes left; never a running process's files.

        * a capture's work folder (``.<id>.<writer>.*/`` in the archive folder) whose
          process is gone is removed;
        * a temporary package (``captures/.<name>.wacz.<writer>.*.tmp``) whose writer is
          gone is moved into place and indexed when it is complete (it opens, its
          integrity verifies offline) and holds a capture neither indexed nor on disk
          under that name; otherwise it is removed (a truncated file, or an unfinished
          rewrite of a package that is still in place).

        A leftover whose writer cannot be checked (another host's; or from an older
        version, whose names do not say who wrote them) counts as gone once it has not
        changed for ``UNKNOWN_WRITER_STALE_S``.
        """
        removed = remove_dead_work_folders(self.root)
        tidied = clear_temp_packages(self.captures, self._indexed)
        for entry, path in tidied.recovered:
            with contextlib.suppress(ArchiveError):  # a concurrent tidy indexed it first
                self.add(entry, path.name)
        tidied.removed[:0] = removed
        return tidied


def package_file(ref: str) -> Path | None:
    """``ref`` as a package path when it names one; None when it reads as a capture id.

    A ref that looks like a path (ends in .wacz, or has a folder) but names no file
    is a UsageError: it is never taken for an id.
    """
    path = Path(ref)
    if path.is_file():
        return path
    if ref.endswith(".wacz") or os.sep in ref:
        raise UsageError(f"{ref}: no such package file")
    return None


def resolve_capture(ref: str, root: Path) -> Path:
    """The package a user means by ``ref`` (id, id prefix, or .wacz path).

    A path is used as it is, without opening (or creating) the archive at ``root``.
    """
    return package_file(ref) or Archive(root).resolve(ref)
