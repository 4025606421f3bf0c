"""Pure text diff of two ``urn:text:`` documents -> DiffReport.

Steps (all deterministic, no time limits, see docs in ``DiffReport.settings``):

1. Each side: article text -> paragraphs (blank lines) -> display text (markup and
   whitespace runs removed) -> ``--ignore`` patterns removed -> sentences.
2. Paragraphs are aligned on their sentences' matching keys (``text.norm``: case,
   whitespace, markup, typographic quotes/dashes folded) by ``align.align``; an
   unmatched paragraph identical to an unmatched one on the other side is one paragraph
   *move* (so the moved paragraphs are the fewest that explain a reorder). Sentences of
   the other paragraphs are aligned within each gap between matched paragraphs.
3. Unmatched sentences are explained, in this order: a sentence deleted in one place and
   inserted with the same key elsewhere is a sentence move; between the same two aligned
   neighbours, one sentence split into a run of two or three (or such a run merged into
   one) is one changed item (``joins``), then a deleted and an inserted sentence
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

from collections.abc import Mapping, Sequence
from typing import Any

from .. import SOFTWARE
from .align import MAX_EXACT
from .body import MOVE_MIN_WORDS, MOVE_THRESHOLD, diff_body
from .joins import JOIN_THRESHOLD, MAX_RUN
from .meta import metadata_changes
from .model import REWRITE_KEPT, DiffReport
from .pairing import CANDIDATES_PER_KEY, THRESHOLD
from .sides import compile_ignore, read_evidence, read_side
from .summary import summarise
from .text import NORMALISATION

ALGORITHM = "archiver-diff/3"


def settings(ignore: Sequence[str]) -> dict[str, Any]:
    """The diff settings recorded in every report, enough to reproduce it."""
    return {
        "algorithm": ALGORITHM,
        "software": SOFTWARE,
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
    side_a = read_side(a, read_evidence(evidence_a, "A"), patterns)
    side_b = read_side(b, read_evidence(evidence_b, "B"), patterns)
    conf = settings(ignore)
    if not side_a.ok or not side_b.ok:
        failed = [(n, s) for n, s in (("A", side_a), ("B", side_b)) if not s.ok]
        summary = "; ".join(
            f"extraction failed for {n} ({s.evidence['id']}): {s.reason}" for n, s in failed
        )
        return DiffReport(
            "extraction_failed", summary + "; no text compared", side_a, side_b, conf, (), ()
        )
    meta = metadata_changes(side_a.metadata, side_b.metadata)
    changes, rows = diff_body(side_a.paragraphs, side_b.paragraphs)
    status = "changed" if meta or changes else "unchanged"
    report = DiffReport(status, "", side_a, side_b, conf, tuple(meta), changes, rows)
    return DiffReport(status, summarise(report), side_a, side_b, conf, tuple(meta), changes, rows)
