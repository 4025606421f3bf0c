"""Pure text diff of two ``urn:text:`` documents -> DiffReport.

Steps (all deterministic, no time limits, see docs in ``DiffReport.settings``):

1. Each side: article text -> paragraphs (blank lines) -> display text (markup and
   whitespace runs removed) -> ``--ignore`` patterns removed -> sentences.
2. Paragraphs are aligned on their sentences' matching keys (``diff_text.norm``: case,
   whitespace, markup, typographic quotes/dashes folded) by ``diff_align.align``; an
   unmatched paragraph identical to an unmatched one on the other side is one paragraph
   *move* (so the moved paragraphs are the fewest that explain a reorder). Sentences of
   the other paragraphs are aligned within each gap between matched paragraphs.
3. Unmatched sentences are explained, in this order: a sentence deleted in one place and
   inserted with the same key elsewhere is a sentence move; between the same two aligned
   neighbours, one sentence split into a run of two or three (or such a run merged into
   one) is one changed item (``diff_joins``), then a deleted and an inserted sentence
   whose word sets are similar (Dice >= 0.5) are one *changed* sentence with word-level
   segments (so is a lone short line of at most 3 words replaced by another in place,
   and a sentence that is another with one run of words added, as when a sentence is
   added after one without end punctuation); then, anywhere in the document, a deleted
   and an inserted sentence of 4 words or more with Dice >= 2/3 are one *move* that also
   carries word-level segments (moved and edited); what remains is inserted or deleted
   (a whole paragraph as one paragraph item).
4. Headline, byline, dates and site name are compared apart from the body; a date that
   names the same time in another format is ``format_only``.
5. The summary leads with "article largely rewritten" when at most a fifth of each side's
   sentences survive, says when a moved sentence was also edited, and names a word
   replacement made in several places once ("Berg" -> "Borg" 4 times).
"""

from __future__ import annotations

import itertools
import re
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parsedate_to_datetime
from fractions import Fraction
from typing import Any

from .. import __version__
from ..errors import UsageError
from ..schema import schema_id
from .align import MAX_EXACT, align
from .joins import JOIN_THRESHOLD, MAX_RUN, find_joins
from .pairing import CANDIDATES_PER_KEY, THRESHOLD, pair_extended, pair_similar
from .text import NORMALISATION, clean, collapse, norm, paragraphs, sentences, word_keys
from .words import NumberChange, Segment, side_views, word_diff

ALGORITHM = "archiver-diff/3"
MOVE_THRESHOLD = Fraction(2, 3)
MOVE_MIN_WORDS = 4
REWRITE_KEPT = Fraction(1, 5)  # at most this share of each side kept: "largely rewritten"
METADATA_FIELDS = ("title", "byline", "published", "modified", "site_name")
FIELD_LABELS = {
    "title": "headline",
    "byline": "byline",
    "published": "published date",
    "modified": "modified date",
    "site_name": "site name",
}
EVIDENCE_KEYS = (
    "id",
    "url",
    "captured_at",
    "package_sha256",
    "manifest_sha256",
    "signature",
    "key_fingerprint",
    "tsa_time",
)


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
        out = {f"{u}s_{k}": 0 for u in ("sentence", "paragraph") for k in _KINDS.values()}
        del out["paragraphs_changed"]
        for c in self.changes:
            out[f"{c.unit}s_{_KINDS[c.kind]}"] += c.sentences if c.unit == "sentence" else 1
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


_KINDS = {"insert": "inserted", "delete": "deleted", "change": "changed", "move": "moved"}


def compile_ignore(patterns: Sequence[str]) -> list[re.Pattern[str]]:
    """Compile ``--ignore`` patterns; a bad one is a UsageError naming it."""
    out = []
    for pattern in patterns:
        try:
            out.append(re.compile(pattern))
        except re.error as exc:
            raise UsageError(f"--ignore pattern {pattern!r} is not a valid regex: {exc}") from exc
    return out


def _scrub(shown: str, ignore: Sequence[re.Pattern[str]]) -> str:
    """Remove the ignore patterns from display text (markup already removed)."""
    for pattern in ignore:
        shown = pattern.sub(" ", shown)
    return collapse(shown)


def _evidence(evidence: Mapping[str, Any] | None, default_id: str) -> dict[str, str | None]:
    ev = dict(evidence or {"id": default_id})
    if not isinstance(ev.get("id"), str) or not ev["id"]:
        raise UsageError(f"evidence for capture {default_id} has no capture id")
    out: dict[str, str | None] = {}
    for key, value in ev.items():
        if value is not None and not isinstance(value, str):
            raise UsageError(f"evidence field {key!r} of capture {ev['id']} must be text")
        out[str(key)] = value
    return out


def _side(
    doc: Mapping[str, Any], evidence: dict[str, str | None], ignore: Sequence[re.Pattern[str]]
) -> Side:
    article = doc.get("article")
    extractor = doc.get("extractor")
    extractor = dict(extractor) if isinstance(extractor, Mapping) else None
    if not isinstance(article, Mapping):
        reason = doc.get("reason") or "no article in the text document"
        return Side(evidence, extractor, False, str(reason), {}, ())
    meta: dict[str, str | None] = {}
    for name in METADATA_FIELDS:
        value = article.get(name)
        meta[name] = _scrub(clean(str(value)), ignore) or None if value is not None else None
    paras = []
    for para in paragraphs(str(article.get("text") or "")):
        shown = _scrub(para, ignore)
        if shown:
            paras.append(tuple(sentences(shown)))
    if not paras:
        reason = doc.get("reason") or "the extracted article text is empty"
        return Side(evidence, extractor, False, str(reason), meta, ())
    return Side(evidence, extractor, True, None, meta, tuple(paras))


def settings(ignore: Sequence[str]) -> dict[str, Any]:
    """The diff settings recorded in every report, enough to reproduce it."""
    return {
        "algorithm": ALGORITHM,
        "software": f"archiver {__version__}",
        "ignore": list(ignore),
        "ignore_applies_to": "each paragraph and metadata field, after markup removal",
        "normalisation": list(NORMALISATION),
        "units": "paragraphs split on blank lines; sentences on . ! ? and ellipses "
        "followed by space, except after abbreviations and initials",
        "rewritten": f"at most {REWRITE_KEPT} of each side's sentences kept (3 or more)",
        "alignment": "paragraphs, then sentences in the gaps between matched paragraphs: "
        "patience anchors on unique keys, exact Myers LCS in gaps of at most "
        f"{MAX_EXACT} (len_a * len_b) cells, larger anchorless gaps cut into equal blocks",
        "tokens": "numbers whole (inner punctuation, ranges, a sign not after a word, a "
        "currency sign before, an attached unit or a scale word after: -12, $3bn, "
        "1.5 million, 12 per cent, 5-7); words (with digits: numbers); one token per Han or "
        "kana character; single punctuation marks",
        "numbers": "a number word replaced by a number is a number change; same value "
        "written differently (12% / 12 per cent, three / 3) is marked same_value",
        "dates": "published/modified naming the same time in another format are format_only",
        "similarity": {
            "measure": "dice on sets of word and number keys",
            "threshold": THRESHOLD,
            "short_replacement": "one line of <= 3 words replacing one in place is a change",
            "extension": "a sentence that is another with one run of words added, in place, "
            "is a change",
            "moved_and_changed": {
                "threshold": float(MOVE_THRESHOLD),
                "min_words": MOVE_MIN_WORDS,
            },
            "candidates_per_key": CANDIDATES_PER_KEY,
            "split_or_merged": f"one sentence against a run of up to {MAX_RUN} on the other "
            f"side in place: same words, or Dice >= {float(JOIN_THRESHOLD)} and better than "
            "any one of the run",
        },
    }


def diff_documents(
    a: Mapping[str, Any],
    b: Mapping[str, Any],
    *,
    ignore: Sequence[str] = (),
    evidence_a: Mapping[str, Any] | None = None,
    evidence_b: Mapping[str, Any] | None = None,
) -> DiffReport:
    """Compare two ``urn:text:`` documents: ``a`` the older capture, ``b`` the newer one.

    ``evidence_a``/``evidence_b`` tie each side to its proof: ``id`` (required) and any of
    ``url``, ``captured_at``, ``package_sha256``, ``manifest_sha256``, ``signature``,
    ``key_fingerprint``, ``tsa_time`` (text or None). Without them the sides are "A" and "B".
    """
    patterns = compile_ignore(ignore)
    side_a = _side(a, _evidence(evidence_a, "A"), patterns)
    side_b = _side(b, _evidence(evidence_b, "B"), patterns)
    conf = settings(ignore)
    if not side_a.ok or not side_b.ok:
        failed = [(n, s) for n, s in (("A", side_a), ("B", side_b)) if not s.ok]
        summary = "; ".join(
            f"extraction failed for {n} ({s.evidence['id']}): {s.reason}" for n, s in failed
        )
        return DiffReport(
            "extraction_failed", summary + "; no text compared", side_a, side_b, conf, (), ()
        )
    meta = _metadata_changes(side_a.metadata, side_b.metadata)
    changes, rows = _body(side_a.paragraphs, side_b.paragraphs)
    status = "changed" if meta or changes else "unchanged"
    report = DiffReport(status, "", side_a, side_b, conf, tuple(meta), changes, rows)
    return DiffReport(status, _summary(report), side_a, side_b, conf, tuple(meta), changes, rows)


def _metadata_changes(
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


def _summary(report: DiffReport) -> str:
    if report.status == "unchanged":
        return "no change in the article"
    counts = report.counts()
    parts = []
    for unit in ("paragraph", "sentence"):
        for word in _KINDS.values():
            n = counts.get(f"{unit}s_{word}", 0)
            if n:
                parts.append(f"{n} {unit}{'s' if n != 1 else ''} {word}")
                edited = sum(
                    c.sentences
                    for c in report.changes
                    if word == "moved" and c.unit == unit and c.kind == "move" and c.segments
                )
                if edited:
                    parts[-1] += f" ({edited} also edited)" if n > 1 else " and edited"
    for word in ("changed", "reformatted"):
        n = counts.get(f"numbers_{word}", 0)
        if n:
            parts.append(f"{n} number{'s' if n != 1 else ''} {word}")
    for m in report.metadata_changes:
        parts.append(f"{FIELD_LABELS[m.field]} {'reformatted' if m.format_only else 'changed'}")
    parts += [f'"{old}" -> "{new}" {n} times' for (old, new), n in _repeated_edits(report)]
    if report.rewritten:
        kept_a, all_a, _, all_b = report.kept()
        head = (
            f"article largely rewritten: {kept_a} of A's {all_a} sentences kept in any form, "
            f"B has {all_b}"
        )
        return f"{head} ({', '.join(parts)})"
    return ", ".join(parts)


def _repeated_edits(report: DiffReport) -> list[tuple[tuple[str, str], int]]:
    """One word replacement made in several places ("Berg" -> "Borg" 4 times), in order."""
    seen: Counter[tuple[str, str]] = Counter()
    for c in report.changes:
        segs = c.segments
        for k in range(len(segs) - 1):
            gone, came = segs[k], segs[k + 1]
            if gone.op == "delete" and came.op == "insert":
                old, new = gone.text.strip(), came.text.strip()
                if old and new and len(old.split()) <= 3 and len(new.split()) <= 3:
                    seen[old, new] += 1
    return [(pair, n) for pair, n in seen.items() if n > 1]


# --- body ----------------------------------------------------------------------------


@dataclass
class _Unit:
    """A sentence on one side, and what the diff decided about it."""

    para: int
    index: int  # within paragraph
    text: str
    key: str
    status: str = "equal"
    change: int | None = None
    partner: int | None = None  # flat index on the other side (moves and changes)


def _flatten(paras: Sequence[Sequence[str]]) -> list[_Unit]:
    return [
        _Unit(p, s, text, norm(text)) for p, para in enumerate(paras) for s, text in enumerate(para)
    ]


def _body(
    paras_a: Sequence[Sequence[str]], paras_b: Sequence[Sequence[str]]
) -> tuple[tuple[Change, ...], tuple[Row, ...]]:
    ua, ub = _flatten(paras_a), _flatten(paras_b)
    pairs = _align_two_levels(ua, ub)
    matched_a = {i for i, _ in pairs}
    matched_b = {j for _, j in pairs}
    for i, u in enumerate(ua):
        if i not in matched_a and u.status == "equal":
            u.status = "delete"
    for j, u in enumerate(ub):
        if j not in matched_b and u.status == "equal":
            u.status = "insert"
    _sentence_moves(ua, ub)
    # Regions: unmatched runs between the same two aligned neighbours.
    bounds = [(-1, -1), *pairs, (len(ua), len(ub))]
    region: dict[tuple[str, int], int] = {}
    joins: dict[tuple[str, int], tuple[list[int], list[int]]] = {}
    for r, ((i0, j0), (i1, j1)) in enumerate(itertools.pairwise(bounds)):
        dels = [i for i in range(i0 + 1, i1) if ua[i].status == "delete"]
        ins = [j for j in range(j0 + 1, j1) if ub[j].status == "insert"]
        region.update({("a", i): r for i in dels} | {("b", j): r for j in ins})
        if dels and ins:
            keys_a = [word_keys(ua[i].text) for i in dels]
            keys_b = [word_keys(ub[j].text) for j in ins]
            groups = find_joins(keys_a, keys_b)
            for xs, ys in groups:
                group = ([dels[i] for i in xs], [ins[j] for j in ys])
                for x in group[0]:
                    ua[x].status, ua[x].partner = "change", group[1][0]
                    joins["a", x] = group
                for y in group[1]:
                    ub[y].status, ub[y].partner = "change", group[0][0]
                    joins["b", y] = group
            if groups:
                left_a = [n for n, i in enumerate(dels) if ua[i].status == "delete"]
                left_b = [n for n, j in enumerate(ins) if ub[j].status == "insert"]
                dels, ins = [dels[n] for n in left_a], [ins[n] for n in left_b]
                keys_a, keys_b = [keys_a[n] for n in left_a], [keys_b[n] for n in left_b]
        if dels and ins:
            found = pair_similar(keys_a, keys_b)
            if not found and len(dels) == len(ins) == 1 and max(map(len, keys_a + keys_b)) <= 3:
                found = [(0, 0)]  # a short line replaced in place: Dice is too coarse there
            paired_a = {i for i, _ in found}
            paired_b = {j for _, j in found}
            rest_a = [i for i in range(len(dels)) if i not in paired_a]
            rest_b = [j for j in range(len(ins)) if j not in paired_b]
            if rest_a and rest_b:
                # One line left on each side is in place: a single word may be extended.
                least = 1 if len(rest_a) == len(rest_b) == 1 else 2
                more = pair_extended(
                    [keys_a[i] for i in rest_a], [keys_b[j] for j in rest_b], min_keys=least
                )
                found += [(rest_a[i], rest_b[j]) for i, j in more]
            for i, j in found:
                ua[dels[i]].status = ub[ins[j]].status = "change"
                ua[dels[i]].partner, ub[ins[j]].partner = ins[j], dels[i]
    _moved_changes(ua, ub, region)
    return _collect(ua, ub, bounds, joins)


def _moved_changes(ua: list[_Unit], ub: list[_Unit], region: dict[tuple[str, int], int]) -> None:
    """A sentence deleted here and inserted elsewhere, edited on the way, is one move.

    Left-over deletes and inserts anywhere in the document pair when their word sets are
    similar at ``MOVE_THRESHOLD`` (stricter than in place) and hold ``MOVE_MIN_WORDS``
    word keys at least; such a move carries word-level segments.
    """
    dels = [n for n, u in enumerate(ua) if u.status == "delete"]
    ins = [n for n, u in enumerate(ub) if u.status == "insert"]
    if not dels or not ins:
        return
    keys_a = [word_keys(ua[n].text) for n in dels]
    keys_b = [word_keys(ub[n].text) for n in ins]
    for i, j in pair_similar(keys_a, keys_b, threshold=MOVE_THRESHOLD):
        if min(len(set(keys_a[i])), len(set(keys_b[j]))) < MOVE_MIN_WORDS:
            continue
        x, y = dels[i], ins[j]
        # Between the same two aligned neighbours it did not move: it changed in place.
        in_place = region.get(("a", x)) == region.get(("b", y))
        ua[x].status = ub[y].status = "change" if in_place else "mchange"
        ua[x].partner, ub[y].partner = y, x


def _para_groups(units: list[_Unit]) -> dict[int, list[int]]:
    groups: dict[int, list[int]] = defaultdict(list)
    for n, u in enumerate(units):
        groups[u.para].append(n)
    return groups


def _align_two_levels(ua: list[_Unit], ub: list[_Unit]) -> list[tuple[int, int]]:
    """Align whole paragraphs first, then sentences between matched paragraphs.

    Paragraphs match on their sentence keys. An unmatched paragraph with the same keys as
    an unmatched one on the other side is one paragraph move (taken in reading order), so
    the moved set is the paragraphs left out of the paragraph alignment: the fewest that
    explain the reorder. Sentences of the other unmatched paragraphs are aligned within
    each gap between two matched paragraphs. Returns matched sentence pairs.
    """
    groups_a = list(_para_groups(ua).values())
    groups_b = list(_para_groups(ub).values())
    keys_a = [tuple(ua[n].key for n in g) for g in groups_a]
    keys_b = [tuple(ub[n].key for n in g) for g in groups_b]
    para_pairs = align(keys_a, keys_b)
    matched_a = {p for p, _ in para_pairs}
    matched_b = {q for _, q in para_pairs}
    waiting: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for p, key in enumerate(keys_a):
        if p not in matched_a:
            waiting[key].append(p)
    for q, key in enumerate(keys_b):
        queue = waiting.get(key) if q not in matched_b else None
        if queue:
            p = queue.pop(0)
            for x, y in zip(groups_a[p], groups_b[q], strict=True):
                ua[x].status = ub[y].status = "pmove"
                ua[x].partner, ub[y].partner = y, x
    pairs: list[tuple[int, int]] = []
    bounds = [(-1, -1), *para_pairs, (len(groups_a), len(groups_b))]
    for (p0, q0), (p1, q1) in itertools.pairwise(bounds):
        gap_a = [n for p in range(p0 + 1, p1) for n in groups_a[p] if ua[n].status == "equal"]
        gap_b = [n for q in range(q0 + 1, q1) for n in groups_b[q] if ub[n].status == "equal"]
        if gap_a and gap_b:
            found = align([ua[n].key for n in gap_a], [ub[n].key for n in gap_b])
            pairs += [(gap_a[i], gap_b[j]) for i, j in found]
        if p1 < len(groups_a):
            pairs += zip(groups_a[p1], groups_b[q1], strict=True)
    return pairs


def _sentence_moves(ua: list[_Unit], ub: list[_Unit]) -> None:
    """A sentence deleted here and inserted with the same key there is one move."""
    waiting: dict[str, list[int]] = defaultdict(list)
    for n, u in enumerate(ua):
        if u.status == "delete":
            waiting[u.key].append(n)
    for n, u in enumerate(ub):
        queue = waiting.get(u.key) if u.status == "insert" else None
        if queue:
            x = queue.pop(0)
            ua[x].status = u.status = "move"
            ua[x].partner, u.partner = n, x


def _collect(
    ua: list[_Unit],
    ub: list[_Unit],
    bounds: list[tuple[int, int]],
    joins: Mapping[tuple[str, int], tuple[list[int], list[int]]],
) -> tuple[tuple[Change, ...], tuple[Row, ...]]:
    """Turn unit decisions into ordered Change items and side-by-side rows."""
    groups_a, groups_b = _para_groups(ua), _para_groups(ub)
    whole = {
        "a": {p for p, m in groups_a.items() if all(ua[n].status == "delete" for n in m)},
        "b": {p for p, m in groups_b.items() if all(ub[n].status == "insert" for n in m)},
    }
    stream: list[tuple[int | None, int | None]] = []  # (a index, b index) in reading order
    for (i0, j0), (i1, j1) in itertools.pairwise(bounds):
        stream += [(i, None) for i in range(i0 + 1, i1)]
        stream += [(None, j) for j in range(j0 + 1, j1)]
        if i1 < len(ua):
            stream.append((i1, j1))
    changes: list[Change] = []
    segs: dict[tuple[str, int], tuple[Segment, ...]] = {}
    for i, j in stream:
        if i is not None and j is None:
            side, n = "a", i
        elif j is not None and i is None:
            side, n = "b", j
        else:
            continue
        u = ua[n] if side == "a" else ub[n]
        if u.change is not None:
            continue
        idx = len(changes)
        if u.status == "pmove" and u.partner is not None:
            x, y = (n, u.partner) if side == "a" else (u.partner, n)
            pa, pb = ua[x].para, ub[y].para
            changes.append(
                Change(
                    "move",
                    "paragraph",
                    " ".join(ua[m].text for m in groups_a[pa]),
                    " ".join(ub[m].text for m in groups_b[pb]),
                    Loc(pa),
                    Loc(pb),
                    sentences=len(groups_b[pb]),
                )
            )
            for m in groups_a[pa]:
                ua[m].change = idx
            for m in groups_b[pb]:
                ub[m].change = idx
        elif u.status in ("delete", "insert") and u.para in whole[side]:
            units, groups = (ua, groups_a) if side == "a" else (ub, groups_b)
            text = " ".join(units[m].text for m in groups[u.para])
            old, new = (text, None) if side == "a" else (None, text)
            loc_a, loc_b = (Loc(u.para), None) if side == "a" else (None, Loc(u.para))
            size = len(groups[u.para])
            changes.append(Change(u.status, "paragraph", old, new, loc_a, loc_b, sentences=size))
            for m in groups[u.para]:
                units[m].change = idx
        elif u.status == "delete":
            changes.append(Change("delete", "sentence", u.text, None, _loc(u), None))
            u.change = idx
        elif u.status == "insert":
            changes.append(Change("insert", "sentence", None, u.text, None, _loc(u)))
            u.change = idx
        elif (side, n) in joins:
            xs, ys = joins[side, n]
            old = " ".join(ua[x].text for x in xs)
            new = " ".join(ub[y].text for y in ys)
            segments, numbers = word_diff(old, new)
            view_a, view_b = side_views(old, new)
            for x, cut in zip(xs, _cut(view_a, [ua[x].text for x in xs]), strict=True):
                ua[x].change, segs["a", x] = idx, cut
            for y, cut in zip(ys, _cut(view_b, [ub[y].text for y in ys]), strict=True):
                ub[y].change, segs["b", y] = idx, cut
            changes.append(
                Change(
                    "change",
                    "sentence",
                    old,
                    new,
                    _loc(ua[xs[0]]),
                    _loc(ub[ys[0]]),
                    tuple(segments),
                    tuple(numbers),
                    sentences=max(len(xs), len(ys)),
                )
            )
        elif u.partner is not None:
            x, y = (n, u.partner) if side == "a" else (u.partner, n)
            ua[x].change = ub[y].change = idx
            if u.status == "move":
                changes.append(
                    Change("move", "sentence", ua[x].text, ub[y].text, _loc(ua[x]), _loc(ub[y]))
                )
            else:
                segments, numbers = word_diff(ua[x].text, ub[y].text)
                view_a, view_b = side_views(ua[x].text, ub[y].text)
                segs["a", x], segs["b", y] = tuple(view_a), tuple(view_b)
                changes.append(
                    Change(
                        "move" if u.status == "mchange" else "change",
                        "sentence",
                        ua[x].text,
                        ub[y].text,
                        _loc(ua[x]),
                        _loc(ub[y]),
                        tuple(segments),
                        tuple(numbers),
                    )
                )
    merged = _merge_runs(changes, ua, ub)
    return tuple(merged), _rows(stream, ua, ub, segs)


def _cut(view: list[Segment], texts: list[str]) -> list[tuple[Segment, ...]]:
    """One side's segments of a joined text, cut back into its sentences (joined by " ")."""
    ends = [sum(len(t) for t in texts[: k + 1]) + k for k in range(len(texts))]
    out: list[tuple[Segment, ...]] = []
    cur: list[Segment] = []
    pos = 0
    for seg in view:
        text = seg.text
        while text:
            last = len(out) == len(texts) - 1
            if not last and pos >= ends[len(out)]:
                out.append(tuple(cur))
                cur = []
                if text[0] == " ":
                    text, pos = text[1:], pos + 1
                continue
            piece = text if last else text[: ends[len(out)] - pos]
            cur.append(Segment(seg.op, piece))
            pos += len(piece)
            text = text[len(piece) :]
    out.append(tuple(cur))
    return out + [() for _ in range(len(texts) - len(out))]


def _merge_runs(changes: list[Change], ua: list[_Unit], ub: list[_Unit]) -> list[Change]:
    """Join sentence inserts, deletes and moves that follow each other on both sides."""
    flat_a: dict[tuple[int, int | None], int] = {(u.para, u.index): n for n, u in enumerate(ua)}
    flat_b: dict[tuple[int, int | None], int] = {(u.para, u.index): n for n, u in enumerate(ub)}

    def at(loc: Loc | None, flat: dict[tuple[int, int | None], int]) -> int | None:
        return None if loc is None else flat.get((loc.paragraph, loc.sentence))

    def join(first: str | None, last: str | None, same_para: bool) -> str | None:
        if first is None or last is None:
            return first if last is None else last
        return f"{first}{' ' if same_para else chr(10) * 2}{last}"

    out: list[Change] = []
    remap: dict[int, int] = {}
    ends: tuple[int | None, int | None] = (None, None)
    for idx, c in enumerate(changes):
        pos = (at(c.a, flat_a), at(c.b, flat_b))
        prev = out[-1] if out else None
        follows = (
            prev is not None
            and c.unit == prev.unit == "sentence"
            and c.kind == prev.kind
            and c.kind in ("insert", "delete", "move")
            and not c.segments
            and not prev.segments
            and all(
                (p is None) == (e is None) and (p is None or e is None or p == e + 1)
                for p, e in zip(pos, ends, strict=True)
            )
        )
        if prev is not None and follows:
            same_a = pos[0] is None or ends[0] is None or ua[pos[0]].para == ua[ends[0]].para
            same_b = pos[1] is None or ends[1] is None or ub[pos[1]].para == ub[ends[1]].para
            out[-1] = Change(
                prev.kind,
                prev.unit,
                join(prev.old, c.old, same_a),
                join(prev.new, c.new, same_b),
                prev.a,
                prev.b,
                sentences=prev.sentences + 1,
            )
        else:
            out.append(c)
        remap[idx] = len(out) - 1
        ends = pos
    for u in (*ua, *ub):
        if u.change is not None:
            u.change = remap[u.change]
    return out


def _loc(u: _Unit) -> Loc:
    return Loc(u.para, u.index)


def _mark(u: _Unit, segs: tuple[Segment, ...]) -> Mark:
    status = "move" if u.status in ("pmove", "mchange") else u.status
    return Mark(status, u.text, u.para, u.change, segs)


def _rows(
    stream: list[tuple[int | None, int | None]],
    ua: list[_Unit],
    ub: list[_Unit],
    segs: dict[tuple[str, int], tuple[Segment, ...]],
) -> tuple[Row, ...]:
    """Cut the reading-order stream into rows at every paragraph boundary of either side."""
    rows: list[Row] = []
    cur_a: list[Mark] = []
    cur_b: list[Mark] = []
    for i, j in stream:
        break_a = i is not None and cur_a and cur_a[-1].paragraph != ua[i].para
        break_b = j is not None and cur_b and cur_b[-1].paragraph != ub[j].para
        if break_a or break_b:
            rows.append(Row(tuple(cur_a), tuple(cur_b)))
            cur_a, cur_b = [], []
        if i is not None:
            cur_a.append(_mark(ua[i], segs.get(("a", i), ())))
        if j is not None:
            cur_b.append(_mark(ub[j], segs.get(("b", j), ())))
    if cur_a or cur_b:
        rows.append(Row(tuple(cur_a), tuple(cur_b)))
    return tuple(rows)
