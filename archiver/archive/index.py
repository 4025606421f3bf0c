"""The archive folder: ``captures/<id>.wacz`` and the SQLite index that lists them.

The index is a cache: ``Archive.rebuild()`` recreates it from the packages alone.
Several processes may write one archive at once (WAL journal, busy timeout, one short
transaction per write). This is the only module that uses sqlite3.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..errors import ArchiveError, KeyError_, PackageError, UsageError
from ..package import WaczReader, sha256_file
from ..proof.signing import pem_fingerprint
from ..warc import read_record_at

SCHEMA_VERSION = 1
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
    tsa_times TEXT NOT NULL
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


def new_capture_id(now: datetime) -> str:
    """``YYYYMMDDTHHMMSSZ-<8 random hex>``: sorts by time; 32 random bits per second."""
    now = now.astimezone(UTC) if now.tzinfo else now.replace(tzinfo=UTC)
    return f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(4)}"


@dataclass
class IndexEntry:
    """One capture as the index knows it.

    Times are ISO 8601 UTC strings; ``text_sha256`` is the sha256 hex of the article
    text (UTF-8) or None when there is no article; ``signed_by`` is the signer's key
    fingerprint; ``tsa_times`` the genTime of each timestamp token.
    """

    id: str
    url: str
    final_url: str
    started: str
    ended: str
    status: int
    title: str
    package_sha256: str
    text_sha256: str | None = None
    signed_by: str | None = None
    tsa_times: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _row(entry: IndexEntry) -> tuple[Any, ...]:
    values = asdict(entry)
    values["tsa_times"] = json.dumps(entry.tsa_times)
    return tuple(values[c] for c in _COLUMNS)


def _entry(row: sqlite3.Row) -> IndexEntry:
    values = {c: row[c] for c in _COLUMNS}
    values["tsa_times"] = json.loads(values["tsa_times"])
    return IndexEntry(**values)


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
        """Where the package of ``capture_id`` lives (or will)."""
        return self.captures / f"{capture_id}.wacz"

    def new_id(self, now: datetime) -> str:
        """A capture id whose package name is not taken yet, on disk or in the index."""
        while True:
            capture_id = new_capture_id(now)
            if self.package_path(capture_id).exists():
                continue
            with self._db() as db:
                taken = db.execute("SELECT 1 FROM captures WHERE id = ?", (capture_id,)).fetchone()
            if not taken:
                return capture_id

    def add(self, entry: IndexEntry) -> None:
        """Record a capture; ArchiveError if its id is already indexed."""
        marks = ",".join("?" for _ in _COLUMNS)
        with self._db() as db:
            try:
                db.execute(
                    f"INSERT INTO captures ({','.join(_COLUMNS)}) VALUES ({marks})", _row(entry)
                )
            except sqlite3.IntegrityError as exc:
                raise ArchiveError(f"capture {entry.id} is already in archive {self.root}") from exc

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
        path = Path(ref)
        if path.is_file():
            return path
        if ref.endswith(".wacz") or os.sep in ref:
            raise UsageError(f"{ref}: no such package file")
        try:
            found = self.package_path(self.get(ref).id)
        except ArchiveError as exc:
            if ref and self.package_path(ref).is_file():
                return self.package_path(ref)
            raise UsageError(
                f"{ref} is neither a capture id in archive {self.root} nor a .wacz file"
            ) from exc
        if not found.is_file():
            raise ArchiveError(
                f"capture {found.stem} is indexed but {found} is missing: "
                "run 'archiver index rebuild'"
            )
        return found

    def update_package(self, path: Path, package_sha256: str) -> None:
        """After a package in ``captures/`` changed (tokens added): refresh its sha256 and
        TSA times in the index. A package outside this archive is left alone."""
        path = Path(path)
        if path.resolve().parent != self.captures.resolve():
            return
        with WaczReader(path) as wacz:
            tsa_times = _tsa_times(wacz)
        with self._db() as db:
            db.execute(
                "UPDATE captures SET package_sha256 = ?, tsa_times = ? WHERE id = ?",
                (package_sha256, json.dumps(tsa_times), path.name.removesuffix(".wacz")),
            )

    def rebuild(self) -> int:
        """Drop the index and refill it from every package in ``captures/``."""
        entries: list[IndexEntry] = []
        for path in sorted(self.captures.glob("*.wacz")):
            if path.name.startswith("."):
                continue
            try:
                entries.append(scan_package(path))
            except PackageError as exc:
                raise ArchiveError(f"cannot index {path}: {exc}") from exc
        marks = ",".join("?" for _ in _COLUMNS)
        with self._db() as db:
            db.execute("BEGIN IMMEDIATE")
            db.execute("DROP TABLE IF EXISTS captures")
            db.execute("DROP TABLE IF EXISTS schema_version")
            _create_schema(db)
            db.executemany(
                f"INSERT INTO captures ({','.join(_COLUMNS)}) VALUES ({marks})",
                [_row(e) for e in entries],
            )
            db.execute("COMMIT")
        return len(entries)


def text_sha256(text_doc: Any) -> str | None:
    """sha256 hex of the article text of a ``urn:text:`` document, None without article."""
    article = text_doc.get("article") if isinstance(text_doc, dict) else None
    if not isinstance(article, dict):
        return None
    return hashlib.sha256(str(article.get("text", "")).encode("utf-8")).hexdigest()


PAGES = "pages/pages.jsonl"
CDXJ = "indexes/index.cdxj"
MANIFEST = "provenance/manifest.json"
SIGNER_PEM = "provenance/signer.pub.pem"
_SMALL = 64 << 20  # bound on any JSON member or record read while indexing


def scan_package(path: Path) -> IndexEntry:
    """The index entry of one package, from its own members (PackageError if unreadable)."""
    package_sha = sha256_file(path)[0].removeprefix("sha256:")
    capture_id = path.name.removesuffix(".wacz")
    with WaczReader(path) as wacz:
        page = _page(wacz)
        datapackage = wacz.datapackage()
        manifest = _json_member(wacz, MANIFEST) if MANIFEST in wacz.names() else {}
        raw_capture = manifest.get("capture")
        capture: dict[str, Any] = raw_capture if isinstance(raw_capture, dict) else {}
        cdxj = _cdxj(wacz)
        text_doc = _text_doc(wacz, cdxj)
        signed_by = _signer(wacz, manifest)
        tsa_times = _tsa_times(wacz)
    page_url = str(page.get("url") or datapackage.get("mainPageURL") or "")
    page_ts = str(page.get("ts") or datapackage.get("mainPageDate") or "")
    final_url = str(capture.get("final_url") or page_url)
    status = capture.get("status")
    if not isinstance(status, int):
        status = next(
            (
                int(e["status"])
                for e in cdxj
                if e.get("url") == final_url and str(e.get("status", "")).isdigit()
            ),
            0,
        )
    return IndexEntry(
        id=str(capture.get("id") or capture_id),
        url=str(capture.get("requested_url") or page_url),
        final_url=final_url,
        started=str(capture.get("started") or page_ts),
        ended=str(capture.get("ended") or capture.get("started") or page_ts),
        status=status,
        title=str(page.get("title") or datapackage.get("title") or final_url),
        package_sha256=package_sha,
        text_sha256=text_sha256(text_doc),
        signed_by=signed_by,
        tsa_times=tsa_times,
    )


def read_text_document(path: Path) -> Any:
    """The ``urn:text:`` document of a package (None when it has none)."""
    with WaczReader(path) as wacz:
        return _text_doc(wacz, _cdxj(wacz))


def _json_member(wacz: WaczReader, name: str) -> dict[str, Any]:
    try:
        doc = json.loads(wacz.read(name, limit=_SMALL))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PackageError(f"{name} in {wacz.path} is not JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise PackageError(f"{name} in {wacz.path} is not a JSON object")
    return doc


def _page(wacz: WaczReader) -> dict[str, Any]:
    """The first page line of pages.jsonl (after the format header)."""
    for line in wacz.read(PAGES, limit=_SMALL).decode("utf-8", "replace").splitlines():
        try:
            doc = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(doc, dict) and "format" not in doc and doc.get("url"):
            return doc
    raise PackageError(f"{PAGES} in {wacz.path} lists no page")


def _cdxj(wacz: WaczReader) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    for line in wacz.read(CDXJ, limit=_SMALL).decode("utf-8", "replace").splitlines():
        parts = line.split(" ", 2)
        if len(parts) == 3:
            with contextlib.suppress(json.JSONDecodeError):
                doc = json.loads(parts[2])
                if isinstance(doc, dict):
                    entries.append(doc)
    return entries


def _text_doc(wacz: WaczReader, cdxj: list[dict[str, Any]]) -> Any:
    """The ``urn:text:`` record's JSON, found through the CDXJ; None when absent."""
    entry = next((e for e in cdxj if str(e.get("url", "")).startswith("urn:text:")), None)
    if entry is None:
        return None
    member = "archive/" + str(entry.get("filename", "data.warc.gz"))
    try:
        offset = int(entry["offset"])
    except (KeyError, ValueError) as exc:
        raise PackageError(f"{CDXJ} in {wacz.path} has a urn:text: line without offset") from exc
    with wacz.open(member) as stream:
        _info, record = read_record_at(stream, offset)
        data = record.raw_stream.read(_SMALL + 1)
        record.raw_stream.close()
    if len(data) > _SMALL:
        raise PackageError(f"urn:text: record in {wacz.path} is larger than {_SMALL} bytes")
    try:
        return json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PackageError(f"urn:text: record in {wacz.path} is not JSON: {exc}") from exc


def _signer(wacz: WaczReader, manifest: dict[str, Any]) -> str | None:
    signer = manifest.get("signer")
    if isinstance(signer, dict) and isinstance(signer.get("fingerprint"), str):
        return str(signer["fingerprint"])
    if SIGNER_PEM not in wacz.names():
        return None
    try:
        return pem_fingerprint(wacz.read(SIGNER_PEM, limit=1 << 16))
    except KeyError_:
        return None


def _tsa_times(wacz: WaczReader) -> list[str]:
    """genTime of every readable ``provenance/*.tsr`` token, sorted."""
    return sorted(
        t
        for name in wacz.names()
        if name.startswith("provenance/") and name.endswith(".tsr")
        if (t := token_time(wacz.read(name, limit=1 << 20))) is not None
    )


def token_time(tsr: bytes) -> str | None:
    """genTime of an RFC 3161 response, ISO 8601 UTC; None when it does not parse."""
    import rfc3161_client

    try:
        gen_time = rfc3161_client.decode_timestamp_response(tsr).tst_info.gen_time
    except Exception:  # any undecodable token: verify.py reports it, the index skips it
        return None
    when: datetime = gen_time
    when = when.astimezone(UTC) if when.tzinfo else when.replace(tzinfo=UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")
