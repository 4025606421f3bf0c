"""One capture as the diff reads it: its evidence, and its article text cut into units.

Each side's article text becomes paragraphs (blank lines), then display text (markup
and whitespace runs removed), then the ``--ignore`` patterns are removed, then
sentences. Metadata fields get the same cleaning.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import UsageError
from .model import METADATA_FIELDS, Side
from .text import clean, collapse, paragraphs, sentences


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


def read_evidence(evidence: Mapping[str, Any] | None, default_id: str) -> dict[str, str | None]:
    ev = dict(evidence or {"id": default_id})
    if not isinstance(ev.get("id"), str) or not ev["id"]:
        raise UsageError(f"evidence for capture {default_id} has no capture id")
    out: dict[str, str | None] = {}
    for key, value in ev.items():
        if value is not None and not isinstance(value, str):
            raise UsageError(f"evidence field {key!r} of capture {ev['id']} must be text")
        out[str(key)] = value
    return out


def read_side(
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
