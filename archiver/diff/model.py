"""The diff report: what changed between two captures, as data a renderer or JSON reads.

``DiffReport`` holds both sides (``Side``), the metadata changes (``MetaChange``), the
body changes (``Change``, located by ``Loc``) and the side-by-side rows (``Row`` of
``Mark``) a renderer draws; ``to_json`` gives the ``diff.schema.json`` form.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from ..schema import schema_id
from .words import NumberChange, Segment

REWRITE_KEPT = Fraction(1, 5)  # at most this share of each side kept: "largely rewritten"
METADATA_FIELDS = ("title", "byline", "published", "modified", "site_name")
FIELD_LABELS = {
    "title": "headline",
    "byline": "byline",
    "published": "published date",
    "modified": "modified date",
    "site_name": "site name",
}


@dataclass(frozen=True)
class Side:
    """One capture as the diff saw it: its evidence, extractor and article text."""

    evidence: dict[str, str | None]
    extractor: dict[str, Any] | None
    ok: bool
    reason: str | None
    metadata: dict[str, str | None]
    paragraphs: tuple[tuple[str, ...], ...]  # sentences (display text) per paragraph

    def to_json(self) -> dict[str, Any]:
        return {
            "evidence": dict(self.evidence),
            "extractor": self.extractor,
            "extraction": {"ok": self.ok, "reason": self.reason},
            "metadata": dict(self.metadata),
            "paragraphs": len(self.paragraphs),
            "sentences": sum(len(p) for p in self.paragraphs),
        }


@dataclass(frozen=True)
class Loc:
    """Where a unit sits on one side: paragraph index, and sentence index within it."""

    paragraph: int
    sentence: int | None = None

    def to_json(self) -> dict[str, int | None]:
        return {"paragraph": self.paragraph, "sentence": self.sentence}

    def label(self) -> str:
        if self.sentence is None:
            return f"paragraph {self.paragraph + 1}"
        return f"paragraph {self.paragraph + 1}, sentence {self.sentence + 1}"


@dataclass(frozen=True)
class Change:
    """One body change. ``kind``: insert, delete, change, move; ``unit``: sentence, paragraph.

    Consecutive sentences inserted, deleted or moved together are one item: ``sentences``
    says how many, ``a``/``b`` locate the first, and ``old``/``new`` join them (with a blank
    line where a paragraph ends). A sentence moved and edited on the way is a ``move`` with
    word-level ``segments`` and ``numbers``, never joined with its neighbours.
    """

    kind: str
    unit: str
    old: str | None
    new: str | None
    a: Loc | None
    b: Loc | None
    segments: tuple[Segment, ...] = ()
    numbers: tuple[NumberChange, ...] = ()
    sentences: int = 1

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "unit": self.unit,
            "old": self.old,
            "new": self.new,
            "a": self.a.to_json() if self.a else None,
            "b": self.b.to_json() if self.b else None,
            "segments": [s.to_json() for s in self.segments],
            "numbers": [n.to_json() for n in self.numbers],
            "sentences": self.sentences,
        }


@dataclass(frozen=True)
class MetaChange:
    """A headline, byline, date or site-name change, reported apart from the body."""

    field: str
    old: str | None
    new: str | None
    segments: tuple[Segment, ...] = ()
    numbers: tuple[NumberChange, ...] = ()
    format_only: bool = False  # a date written another way that names the same time

    def label(self) -> str:
        name = FIELD_LABELS[self.field]
        return f"{name} (same time, written differently)" if self.format_only else name

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "field": self.field,
            "label": self.label(),
            "old": self.old,
            "new": self.new,
            "segments": [s.to_json() for s in self.segments],
            "numbers": [n.to_json() for n in self.numbers],
        }
        if self.format_only:
            out["format_only"] = True
        return out


@dataclass(frozen=True)
class Mark:
    """One sentence as a renderer shows it on one side.

    ``status``: equal, delete, insert, change, move; ``change`` indexes
    ``DiffReport.changes`` (None when equal); ``segments`` (for a changed sentence) hold
    only this side's view: equal + delete on side A, equal + insert on side B.
    """

    status: str
    text: str
    paragraph: int
    change: int | None = None
    segments: tuple[Segment, ...] = ()


@dataclass(frozen=True)
class Row:
    """Aligned stretch of both sides, for side-by-side rendering."""

    a: tuple[Mark, ...]
    b: tuple[Mark, ...]


@dataclass(frozen=True)
class DiffReport:
    """What changed between side ``a`` (older) and side ``b`` (newer)."""

    status: str  # "changed", "unchanged" or "extraction_failed"
    summary: str
    a: Side
    b: Side
    settings: dict[str, Any]
    metadata_changes: tuple[MetaChange, ...]
    changes: tuple[Change, ...]
    rows: tuple[Row, ...] = field(default=(), repr=False)

    def counts(self) -> dict[str, int]:
        # Paragraphs are never "changed" as a unit: their sentences are.
        out = {f"{u}s_{k}": 0 for u in ("sentence", "paragraph") for k in KINDS.values()}
        del out["paragraphs_changed"]
        for c in self.changes:
            out[f"{c.unit}s_{KINDS[c.kind]}"] += c.sentences if c.unit == "sentence" else 1
        body = [n for c in self.changes for n in c.numbers]
        out["numbers_changed"] = sum(not n.same_value for n in body)
        reformatted = sum(n.same_value for n in body)
        if reformatted:  # present only when some are, so reports without any keep their shape
            out["numbers_reformatted"] = reformatted
        out["metadata_changed"] = len(self.metadata_changes)
        return out

    def kept(self) -> tuple[int, int, int, int]:
        """Sentences of A not deleted, A's sentences, sentences of B not inserted, B's."""
        marks_a = [m for row in self.rows for m in row.a]
        marks_b = [m for row in self.rows for m in row.b]
        kept_a = sum(m.status != "delete" for m in marks_a)
        kept_b = sum(m.status != "insert" for m in marks_b)
        return kept_a, len(marks_a), kept_b, len(marks_b)

    @property
    def rewritten(self) -> bool:
        """At most ``REWRITE_KEPT`` of each side's sentences (3 or more) survive in any form."""
        kept_a, all_a, kept_b, all_b = self.kept()
        if min(all_a, all_b) < 3:
            return False
        return kept_a <= REWRITE_KEPT * all_a and kept_b <= REWRITE_KEPT * all_b

    def number_changes(self) -> list[NumberChange]:
        out = [n for c in self.metadata_changes for n in c.numbers]
        return out + [n for c in self.changes for n in c.numbers]

    def to_json(self) -> dict[str, Any]:
        """The report as JSON data, valid against ``schemas/diff.schema.json``."""
        return {
            "schema": schema_id("diff.schema.json"),
            "status": self.status,
            "summary": self.summary,
            "rewritten": self.rewritten,
            "a": self.a.to_json(),
            "b": self.b.to_json(),
            "settings": self.settings,
            "counts": self.counts(),
            "metadata_changes": [m.to_json() for m in self.metadata_changes],
            "changes": [c.to_json() for c in self.changes],
            "number_changes": [n.to_json() for n in self.number_changes()],
        }


KINDS = {"insert": "inserted", "delete": "deleted", "change": "changed", "move": "moved"}
