"""What a check means: compare it with the watch's state, decide the events, build them.

Pure: an ``Observation`` (what one check saw) and the watch's state go in; a ``Verdict``
(the events, whether to keep the package) comes out. Events follow
``schemas/event.schema.json``:

* ``first``: the first capture of a URL;
* ``changed``: the article text, headline or byline differs from the kept capture
  (after the watch's ``--ignore`` patterns);
* ``unavailable``: HTTP 4xx/5xx, unreachable, or no article where the previous capture
  had one (a consent or bot wall): never "all text deleted";
* ``restored``: available again after ``unavailable``.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..diff import DiffReport, diff_documents
from ..schema import schema_id, validate

KINDS = ("first", "changed", "unavailable", "restored")
SCHEMA = "event.schema.json"
WATCHED_META = ("title", "byline")  # metadata whose change is a "changed" event


@dataclass
class Observation:
    """What one check saw. ``error`` set: the page could not be captured at all."""

    url: str
    time: str
    capture_id: str | None = None
    status: int | None = None
    final_url: str | None = None
    text_doc: Mapping[str, Any] | None = None
    body_sha256: str | None = None
    text_sha256: str | None = None
    warnings: Sequence[str] = ()
    error: str | None = None
    capture: dict[str, Any] | None = None  # the event's "after" capture facts
    walls: Sequence[str] = ()  # "consent", "login/paywall", "bot check" (IndexEntry.walls)

    @property
    def article(self) -> Mapping[str, Any] | None:
        doc = self.text_doc or {}
        article = doc.get("article")
        return article if isinstance(article, Mapping) else None


@dataclass
class Verdict:
    """What to do with one check: events (kind, reason, diff), keep the package or log it."""

    kinds: list[str] = field(default_factory=list)
    keep: bool = False
    state: str | None = None  # the watch's state after this check
    reason: str | None = None  # why unavailable
    diff: DiffReport | None = None  # against the last available capture, when compared
    failed: bool = False  # counts as a consecutive failure (backoff)


def unavailable_reason(obs: Observation, *, had_article: bool) -> str | None:
    """Why the page counts as unavailable, or None when it is there."""
    if obs.error is not None:
        return f"unreachable: {obs.error}"
    if obs.status is not None and obs.status >= 400:
        return f"HTTP {obs.status}"
    if obs.walls:  # named at capture time: what shows is the wall, not the article
        return f"behind a wall ({', '.join(obs.walls)})"
    if obs.article is None and had_article:
        why = (obs.text_doc or {}).get("reason") or "no article text"
        wall = any("consent" in w or "wall" in w for w in obs.warnings)
        label = "a consent or bot wall" if wall else "no article"
        return f"{label} where the previous capture had an article ({why})"
    return None


def article_changed(report: DiffReport) -> bool:
    """The article text, headline or byline differ (dates and site name do not count)."""
    if report.status != "changed":
        return False
    return bool(report.changes) or any(m.field in WATCHED_META for m in report.metadata_changes)


def judge(
    obs: Observation,
    *,
    state: str | None,
    kept_status: int | None,
    previous_doc: Mapping[str, Any] | None,
    ignore: Sequence[str],
    keep_all: bool,
) -> Verdict:
    """Decide the events of one check.

    ``state``: the watch's state before (None: never captured); ``kept_status``: the HTTP
    status of the kept capture; ``previous_doc``: the text document of the latest kept
    capture where the page was available (None if there is none).
    """
    had_article = bool(previous_doc and isinstance(previous_doc.get("article"), Mapping))
    reason = unavailable_reason(obs, had_article=had_article)
    captured = obs.capture_id is not None
    verdict = Verdict(reason=reason, failed=reason is not None)
    verdict.state = "unavailable" if reason else "available"
    if state is None:
        if captured:
            verdict.kinds = ["first"]
            verdict.keep = True
        else:
            verdict.state = None
        return verdict
    if reason is not None:
        if state != "unavailable":
            verdict.kinds = ["unavailable"]
        verdict.keep = captured and (bool(verdict.kinds) or keep_all or obs.status != kept_status)
        return verdict
    if previous_doc is not None and obs.text_doc is not None:
        verdict.diff = diff_documents(previous_doc, obs.text_doc, ignore=ignore)
    changed = verdict.diff is not None and article_changed(verdict.diff)
    if state == "unavailable":
        verdict.kinds.append("restored")
    if changed:
        verdict.kinds.append("changed")
    verdict.keep = bool(verdict.kinds) or keep_all or obs.status != kept_status
    return verdict


def diff_summary(report: DiffReport | None) -> dict[str, Any] | None:
    """The part of a diff an event carries: counts, numbers, headline and byline."""
    if report is None:
        return None

    def meta(name: str) -> dict[str, str | None] | None:
        found = next((m for m in report.metadata_changes if m.field == name), None)
        return {"old": found.old, "new": found.new} if found else None

    return {
        "status": report.status,
        "summary": report.summary,
        "counts": report.counts(),
        "numbers": [
            {"old": n.old, "new": n.new} for n in report.number_changes() if not n.same_value
        ],
        "headline": meta("title"),
        "byline": meta("byline"),
    }


def summary_line(kind: str, url: str, *, reason: str | None, diff: DiffReport | None) -> str:
    if kind == "first":
        return f"first capture of {url}"
    if kind == "unavailable":
        return f"{url} is unavailable: {reason}"
    if kind == "restored":
        return f"{url} is available again"
    text = diff.summary if diff is not None else "the article changed"
    return f"{url} changed: {text}"


def build_event(
    kind: str,
    obs: Observation,
    *,
    before: dict[str, Any] | None,
    reason: str | None,
    diff: DiffReport | None,
    report: str | None,
    interval: dict[str, Any] | None,
) -> dict[str, Any]:
    """One event document, checked against ``schemas/event.schema.json``."""
    doc = {
        "schema": schema_id(SCHEMA),
        "id": uuid.uuid4().hex,
        "kind": kind,
        "url": obs.url,
        "time": obs.time,
        "summary": summary_line(kind, obs.url, reason=reason, diff=diff),
        "before": before,
        "after": obs.capture,
        "diff": diff_summary(diff) if kind in ("changed", "restored") else None,
        "report": report,
        "interval": interval,
        "reason": reason if kind == "unavailable" else None,
    }
    validate(doc, SCHEMA, what=f"{kind} event")
    return doc
