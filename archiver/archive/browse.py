"""Pages of the archive's index for people browsing it: newest first, searchable.

``Archive.list`` returns every capture; an archive of ten thousand captures is read a
page at a time here, with the search done by SQLite.
"""

from __future__ import annotations

from dataclasses import dataclass

from .entry import IndexEntry
from .index import Archive, _entry

MAX_PAGE = 200


@dataclass(frozen=True)
class Page:
    """One page of captures, newest first, and how many match in all."""

    entries: list[IndexEntry]
    total: int
    offset: int
    limit: int
    query: str
    files: dict[str, str]  # capture id -> its package's file name in captures/


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def browse(archive: Archive, *, query: str = "", offset: int = 0, limit: int = 50) -> Page:
    """Captures whose URL (requested or final) or title contains ``query``, newest first."""
    limit = max(1, min(limit, MAX_PAGE))
    offset = max(0, offset)
    where = ""
    args: tuple[str, ...] = ()
    query = query.strip()
    if query:
        pattern = _like(query)
        where = (
            " WHERE url LIKE ? ESCAPE '\\' OR final_url LIKE ? ESCAPE '\\' "
            "OR title LIKE ? ESCAPE '\\' OR id LIKE ? ESCAPE '\\'"
        )
        args = (pattern, pattern, pattern, pattern)
    with archive._db() as db:
        total = int(db.execute("SELECT count(*) FROM captures" + where, args).fetchone()[0])
        rows = db.execute(
            "SELECT * FROM captures" + where + " ORDER BY started DESC, id DESC LIMIT ? OFFSET ?",
            (*args, limit, offset),
        ).fetchall()
    files = {r["id"]: r["file"] for r in rows}
    return Page([_entry(r) for r in rows], total, offset, limit, query, files)
