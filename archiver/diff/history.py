"""The history of one URL: each capture in time order, and what changed since the last one.

Each step is compared with the latest earlier capture whose extraction succeeded, so a
capture whose extraction failed (a consent wall, an error page) is reported as such and
does not make the next capture look entirely new.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..schema import schema_id
from .documents import diff_documents, settings
from .model import DiffReport

Step = tuple[Mapping[str, Any], Mapping[str, Any]]  # (evidence, urn:text: document)


@dataclass(frozen=True)
class HistoryStep:
    """One capture in the history. ``diff`` is None for the first readable capture."""

    evidence: dict[str, str | None]
    status: str  # "first", "changed", "unchanged", "extraction_failed"
    summary: str
    title: str | None
    compared_to: str | None
    diff: DiffReport | None

    def to_json(self) -> dict[str, Any]:
        d = self.diff
        return {
            "evidence": dict(self.evidence),
            "status": self.status,
            "summary": self.summary,
            "title": self.title,
            "compared_to": self.compared_to,
            "counts": d.counts() if d else None,
            "metadata_changes": [m.to_json() for m in d.metadata_changes] if d else [],
            "changes": [c.to_json() for c in d.changes] if d else [],
            "number_changes": [n.to_json() for n in d.number_changes()] if d else [],
        }


@dataclass(frozen=True)
class HistoryReport:
    """Every capture of ``url``, oldest first."""

    url: str
    settings: dict[str, Any]
    steps: tuple[HistoryStep, ...]

    def to_json(self) -> dict[str, Any]:
        """The history as JSON data, valid against ``schemas/history.schema.json``."""
        return {
            "schema": schema_id("history.schema.json"),
            "url": self.url,
            "settings": self.settings,
            "steps": [s.to_json() for s in self.steps],
        }


def build_history(
    steps: Sequence[Step], *, url: str | None = None, ignore: Sequence[str] = ()
) -> HistoryReport:
    """Build the history from ``(evidence, text document)`` pairs given oldest first.

    ``evidence`` is the same mapping ``diff_documents`` takes (``id`` required).
    """
    out: list[HistoryStep] = []
    base: Step | None = None
    for evidence, doc in steps:
        if base is None:
            # Diff the capture against itself: validates evidence and tells if text is readable.
            report = diff_documents(
                doc, doc, ignore=ignore, evidence_a=evidence, evidence_b=evidence
            )
        else:
            report = diff_documents(
                base[1], doc, ignore=ignore, evidence_a=base[0], evidence_b=evidence
            )
        side = report.b
        title = side.metadata.get("title")
        if not side.ok:
            summary = f"extraction failed: {side.reason}"
            out.append(HistoryStep(side.evidence, "extraction_failed", summary, title, None, None))
            continue
        if base is None:
            n = sum(len(p) for p in side.paragraphs)
            summary = f"first readable capture: {len(side.paragraphs)} paragraphs, {n} sentences"
            out.append(HistoryStep(side.evidence, "first", summary, title, None, None))
        else:
            prev = report.a.evidence["id"]
            out.append(
                HistoryStep(side.evidence, report.status, report.summary, title, prev, report)
            )
        base = (evidence, doc)
    if url is None:
        first = steps[0] if steps else None
        url = str(first[0].get("url") or first[1].get("url") or "") if first else ""
    return HistoryReport(url, settings(ignore), tuple(out))
