"""The documents behind every page: one function per page, the same for HTML and JSON.

Each returns the JSON document its ``/api`` twin sends (checked against its schema in
``schemas/``); the HTML templates render exactly that document, so the UI never shows
what the API cannot say.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ..archive.browse import browse
from ..archive.custody import Custody, custody_events
from ..archive.entry import IndexEntry
from ..archive.facts import PackageFacts, read_facts
from ..archive.index import Archive
from ..diff import DiffReport, build_history, diff_documents
from ..errors import ArchiveError, ArchiverError, PackageError
from ..report import edit_interval
from ..schema import schema_id, validate
from .settings import ID_PATTERN
from .verifier import Verdict, Verifier

_ID = re.compile(ID_PATTERN)


class NotFound(ArchiverError):
    """An id, URL or page the archive does not have (HTTP 404)."""


class BadRequest(ArchiverError):
    """A request that can never work (HTTP 400)."""

    exit_code = 2


def checked(doc: dict[str, Any], name: str) -> dict[str, Any]:
    validate(doc, name, what="API response")
    return doc


def capture_id(text: str) -> str:
    """``text`` if it is a capture id; NotFound otherwise (no paths, no traversal)."""
    if not _ID.fullmatch(text):
        raise NotFound(f"no capture {text!r}: a capture id looks like 20261127T091807Z-3f9c2a1b")
    return text


@dataclass
class Context:
    """What the views read from: the archive, its custody log, the verifier."""

    archive: Archive
    custody: Custody
    verifier: Verifier

    def entry(self, cid: str) -> IndexEntry:
        try:
            return self.archive.get(capture_id(cid))
        except ArchiveError as exc:
            raise NotFound(f"no capture {cid} in this archive") from exc

    def package(self, entry: IndexEntry) -> Path:
        path = self.archive.package_path(entry.id)
        if path.resolve().parent != self.archive.captures.resolve():
            raise NotFound(f"capture {entry.id} has no package in this archive")
        return path


def _row(entry: IndexEntry, verdict: Verdict) -> dict[str, Any]:
    return {
        "id": entry.id,
        "url": entry.url,
        "final_url": entry.final_url,
        "title": entry.title,
        "status": entry.status,
        "started": entry.started,
        "tsa_times": list(entry.tsa_times),
        "signed_by": entry.signed_by,
        "package_sha256": entry.package_sha256,
        "verify": {"state": verdict.state, "badge": verdict.badge},
    }


def captures_page(
    ctx: Context, *, query: str, offset: int, limit: int, store: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The archive page; ``store``: how taking in the store's packages goes (serve
    --storage), else None."""
    page = browse(ctx.archive, query=query, offset=offset, limit=limit)
    files = page.files
    paths = {e.id: ctx.archive.captures / files.get(e.id, f"{e.id}.wacz") for e in page.entries}
    verdicts = ctx.verifier.many(paths)
    doc = {
        "schema": schema_id("web-captures.schema.json"),
        "query": page.query,
        "offset": page.offset,
        "limit": page.limit,
        "total": page.total,
        "captures": [_row(e, verdicts[e.id]) for e in page.entries],
        "store": store,
    }
    return checked(doc, "web-captures.schema.json")


def _article(text: dict[str, Any] | None) -> tuple[dict[str, Any] | None, str | None]:
    if not isinstance(text, dict):
        return None, "the package has no readable urn:text: record"
    article = text.get("article")
    if not isinstance(article, dict):
        return None, str(text.get("reason") or "not an article")
    keys = ("title", "byline", "published", "modified", "site_name", "text")
    return {k: (None if article.get(k) is None else str(article[k])) for k in keys}, None


def capture_page(ctx: Context, cid: str) -> dict[str, Any]:
    entry = ctx.entry(cid)
    path = ctx.package(entry)
    facts: PackageFacts | None = None
    problem: str | None = None
    try:
        facts = read_facts(path)
    except (PackageError, OSError) as exc:
        problem = f"cannot read the package: {exc}"
    verdict = ctx.verifier.one(entry.id, path)
    article, reason = _article(facts.text if facts else None)
    tokens = (verdict.report or {}).get("timestamps") or []
    events = custody_events(ctx.custody, entry.id, (facts.capture if facts else {}), tokens)
    doc = {
        "schema": schema_id("web-capture.schema.json"),
        "entry": entry.to_json(),
        "facts": facts.to_json() if facts else None,
        "problem": problem,
        "article": article,
        "article_reason": reason,
        "verify": verdict.to_json(),
        "custody": [e.to_json() for e in events],
        "links": {
            "package": f"/captures/{entry.id}.wacz",
            "screenshot": f"/captures/{entry.id}/screenshot.png",
            "timeline": f"/urls/{quote(entry.url, safe='')}/timeline",
            "report": f"/captures/{entry.id}/report",
        },
    }
    return checked(doc, "web-capture.schema.json")


def verify_doc(ctx: Context, cid: str, *, rerun: bool = False) -> dict[str, Any]:
    entry = ctx.entry(cid)
    path = ctx.package(entry)
    verdict = ctx.verifier.rerun(entry.id, path) if rerun else ctx.verifier.one(entry.id, path)
    doc = {"schema": schema_id("web-verify.schema.json"), "id": entry.id, **verdict.to_json()}
    checked(doc, "web-verify.schema.json")
    if verdict.report is not None:
        validate(verdict.report, "verify.schema.json", what="cached verify report")
    return doc


# --- evidence, diffs and timelines ------------------------------------------------------


def evidence(entry: IndexEntry, facts: PackageFacts | None, verdict: Verdict) -> dict[str, Any]:
    """What ties one side of a diff to its proof (the keys ``archive.evidence`` gives),
    from the package and its cached verify report: no verification is run here."""
    report = verdict.report
    if report is None:
        signature = "not verified yet"
    elif report.get("error"):
        signature = f"unreadable: {report['error']}"
    elif report.get("integrity") == "failed":
        signature = "INTEGRITY FAILED: the package does not match its signed manifest"
    else:
        signature = f"valid (integrity passed; trust {report.get('trust')})"
    intact = [t["time"] for t in (report or {}).get("timestamps") or [] if t.get("intact")]
    tsa_times = sorted(intact) if report is not None else sorted(entry.tsa_times)
    return {
        "id": entry.id,
        "url": entry.final_url,
        "captured_at": entry.started,
        "package": f"{entry.id}.wacz",
        "package_sha256": facts.package_sha256 if facts else entry.package_sha256,
        "manifest_sha256": facts.manifest_sha256 if facts else None,
        "signature": signature,
        "key_fingerprint": (facts.signer_fingerprint if facts else None) or entry.signed_by,
        "tsa_time": tsa_times[0] if tsa_times else None,
    }


def _side(ctx: Context, cid: str) -> tuple[IndexEntry, PackageFacts, dict[str, Any]]:
    entry = ctx.entry(cid)
    path = ctx.package(entry)
    try:
        facts = read_facts(path)
    except (PackageError, OSError) as exc:
        raise BadRequest(f"capture {cid} cannot be read: {exc}") from exc
    return entry, facts, evidence(entry, facts, ctx.verifier.settled(entry.id, path))


def diff_report(ctx: Context, a: str, b: str) -> tuple[DiffReport, dict[str, Any]]:
    """The diff of captures ``a`` and ``b`` and the document of the diff page."""
    if not a or not b:
        raise BadRequest("give two captures: /diff?a=ID&b=ID")
    _ea, facts_a, ev_a = _side(ctx, a)
    _eb, facts_b, ev_b = _side(ctx, b)
    text_a, text_b = facts_a.text, facts_b.text
    if not isinstance(text_a, dict) or not isinstance(text_b, dict):
        which = a if not isinstance(text_a, dict) else b
        raise BadRequest(f"capture {which} has no readable urn:text: record")
    report = diff_documents(text_a, text_b, evidence_a=ev_a, evidence_b=ev_b)
    doc = {
        "schema": schema_id("web-diff.schema.json"),
        "a": a,
        "b": b,
        "interval": edit_interval(ev_a, ev_b),
        "links": {"report": f"/diff/report?a={a}&b={b}"},
        "diff": report.to_json(),
    }
    checked(doc, "web-diff.schema.json")
    validate(doc["diff"], "diff.schema.json", what="diff report")
    return report, doc


def watch_events(archive: Archive, url: str | None, limit: int = 100) -> list[dict[str, Any]]:
    """The watch engine's events (of ``url``), when this archive has any; else []."""
    try:
        from ..archive.watchlist import WatchList
    except ImportError:
        return []
    try:
        return WatchList(archive).events(url=url, limit=limit)
    except ArchiverError:
        return []


def events_doc(ctx: Context, *, limit: int = 100) -> dict[str, Any]:
    doc = {
        "schema": schema_id("web-events.schema.json"),
        "events": watch_events(ctx.archive, None, limit),
    }
    return checked(doc, "web-events.schema.json")


def timeline(ctx: Context, url: str) -> dict[str, Any]:
    """Every capture of ``url`` in time order, each compared with the one before."""
    from ..urls import lookup_form

    entries = ctx.archive.list(url=lookup_form(url))
    events = watch_events(ctx.archive, lookup_form(url))
    if not entries and not events:
        raise NotFound(f"no capture of {url} in this archive")
    steps = []
    readable: list[tuple[IndexEntry, Verdict]] = []
    skipped: list[dict[str, Any]] = []
    for entry in entries:
        path = ctx.archive.package_path(entry.id)
        try:
            facts = read_facts(path)
        except (PackageError, OSError) as exc:
            skipped.append({"id": entry.id, "reason": f"cannot read the package: {exc}"})
            continue
        doc = facts.text if isinstance(facts.text, dict) else {"article": None, "reason": "none"}
        verdict = ctx.verifier.settled(entry.id, path)
        steps.append((evidence(entry, facts, verdict), doc))
        readable.append((entry, verdict))
    history = build_history(steps, url=url)
    items = []
    for (entry, verdict), step in zip(readable, history.steps, strict=True):
        step_doc = step.to_json()
        items.append(
            {
                "id": entry.id,
                "started": entry.started,
                "tsa_time": step.evidence.get("tsa_time"),
                "title": entry.title,
                "status": entry.status,
                "final_url": entry.final_url,
                "verify": {"state": verdict.state, "badge": verdict.badge},
                "change": step.status,
                "summary": step.summary,
                "compared_to": step.compared_to,
                "counts": step_doc["counts"],
                "number_changes": step_doc["number_changes"],
                "metadata_changes": step_doc["metadata_changes"],
                "diff": f"/diff?a={step.compared_to}&b={entry.id}" if step.compared_to else None,
            }
        )
    doc = {
        "schema": schema_id("web-timeline.schema.json"),
        "url": url,
        "captures": items,
        "unreadable": skipped,
        "events": events,
    }
    return checked(doc, "web-timeline.schema.json")


# --- the watch list ------------------------------------------------------------------------

FEED_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,80}\.atom")


def _watch_module() -> Any:
    try:
        from .. import watch
    except ImportError as exc:  # an archiver without the watch stage
        raise NotFound("watching is not available in this version of archiver") from exc
    return watch


def watches_doc(ctx: Context) -> dict[str, Any]:
    """Every watched URL with its schedule and state, and the links to its Atom feed."""
    watch = _watch_module()
    from ..watch.feeds import url_feed_name

    rows = []
    for row in watch.status_rows(ctx.archive):
        rows.append({**row, "feed": f"/feeds/{url_feed_name(row['url'])}"})
    doc = {
        "schema": schema_id("web-watches.schema.json"),
        "watches": rows,
        "feed": "/feeds/changes.atom",
    }
    return checked(doc, "web-watches.schema.json")


def add_watch(
    ctx: Context,
    url: str,
    every: str | None,
    policy: Any,
    options: dict[str, Any] | None = None,
) -> None:
    """Watch ``url`` (the app's network policy applies to the URL given) with the page
    options the app takes (``pageform``). A URL already watched keeps its ignore
    patterns, its schedule unless ``every`` is given, and its command-line options
    (cookies, headers, script, profile); options given here replace its other ones."""
    watch = _watch_module()
    from ..times import now_utc
    from ..urls import validate_url
    from .pageform import WEB_OPTIONS

    url = validate_url(url)
    policy.check_url(url)
    seconds = watch.parse_duration(every) if every and every.strip() else None
    stored = None
    known = watch.WatchList(ctx.archive).get(url)
    if options:
        checked_options = watch.watch_options(**options)
        kept = (known.options or {}) if known else {}
        stored = {k: v for k, v in kept.items() if k not in WEB_OPTIONS} | checked_options
    ignore: list[str] = list(known.ignore) if known else []
    if known is not None and seconds is None:
        seconds = known.every
    watch.add_watches(
        ctx.archive, [url], now=now_utc(), every=seconds, ignore=ignore, options=stored
    )


def change_watch(ctx: Context, url: str, action: str) -> None:
    watch = _watch_module()
    if action == "remove":
        watch.remove_watch(ctx.archive, url)
    elif action in ("pause", "resume"):
        watch.pause_watch(ctx.archive, url, action == "pause")
    else:
        raise BadRequest(f"unknown action {action!r}: pause, resume or remove")


def feed_path(ctx: Context, name: str) -> Path:
    """The Atom feed file ``name`` in the archive's ``feeds/`` (validated: no paths)."""
    if not FEED_NAME.fullmatch(name):
        raise NotFound(f"no feed {name!r}")
    path = ctx.archive.root / "feeds" / name
    if not path.is_file():
        raise NotFound(f"no feed {name} yet: feeds are written by 'archiver watch run'")
    return path
