"""Render a DiffReport (and a HistoryReport) for people: terminal text and one HTML file.

Plain text marks changes as ``[-old-]{+new+}``; on a colour terminal deletions are red
and struck through, insertions green and underlined. HTML is one self-contained file
(inline CSS, no scripts, no external assets), side by side, and marks every change with
``<del>``/``<ins>`` plus bracket markers, so it stays readable printed in black and white.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from .model import Change, DiffReport, Loc, Mark, Side
from .words import Segment

if TYPE_CHECKING:
    from .history import HistoryReport

_RED = "\x1b[31;9m"
_GREEN = "\x1b[32;4m"
_BOLD = "\x1b[1m"
_YELLOW = "\x1b[33m"
_RESET = "\x1b[0m"

_EVIDENCE_LABELS = (
    ("url", "url"),
    ("captured_at", "captured (capturing machine's clock)"),
    ("tsa_time", "trusted time (TSA)"),
    ("signature", "signature"),
    ("key_fingerprint", "key"),
    ("package", "package file"),
    ("package_sha256", "package sha256"),
    ("manifest_sha256", "manifest sha256"),
)


class _Style:
    def __init__(self, color: bool) -> None:
        self.color = color

    def wrap(self, code: str, text: str) -> str:
        return f"{code}{text}{_RESET}" if self.color and text else text

    def deleted(self, text: str) -> str:
        lead, body = _split_lead(text)
        return lead + (self.wrap(_RED, body) if self.color else f"[-{body}-]")

    def inserted(self, text: str) -> str:
        lead, body = _split_lead(text)
        return lead + (self.wrap(_GREEN, body) if self.color else f"{{+{body}+}}")

    def segments(self, segments: Iterable[Segment]) -> str:
        out = []
        for seg in segments:
            if seg.op == "delete":
                out.append(self.deleted(seg.text))
            elif seg.op == "insert":
                out.append(self.inserted(seg.text))
            else:
                out.append(seg.text)
        return "".join(out)


def _split_lead(text: str) -> tuple[str, str]:
    body = text.lstrip()
    return text[: len(text) - len(body)], body


def _where(loc: Loc | None) -> str:
    if loc is None:
        return "-"
    if loc.sentence is None:
        return f"\u00b6{loc.paragraph + 1}"
    return f"\u00b6{loc.paragraph + 1} s{loc.sentence + 1}"


def _side_lines(name: str, side: Side) -> list[str]:
    ev = side.evidence
    lines = [f"{name}: capture {ev['id']}"]
    for key, label in _EVIDENCE_LABELS:
        if ev.get(key):
            lines.append(f"   {label}: {ev[key]}")
    if side.extractor:
        ex = side.extractor
        lines.append(f"   extractor: {ex.get('name')} {ex.get('version')}")
    if not side.ok:
        lines.append(f"   extraction failed: {side.reason}")
    return lines


def _change_lines(change: Change, style: _Style) -> list[str]:
    unit = change.unit
    if unit == "sentence" and change.sentences > 1:
        unit = f"{change.sentences} sentences"
    if change.kind == "change":
        head = f"~ changed {unit}  A {_where(change.a)} -> B {_where(change.b)}"
        body = style.segments(change.segments)
    elif change.kind == "delete":
        head = f"- deleted {unit}  A {_where(change.a)}"
        body = style.deleted(change.old or "")
    elif change.kind == "insert":
        head = f"+ inserted {unit}  B {_where(change.b)}"
        body = style.inserted(change.new or "")
    else:
        edited = " and changed" if change.segments else ""
        head = f"> moved{edited} {unit}  A {_where(change.a)} -> B {_where(change.b)}"
        body = style.segments(change.segments) if change.segments else change.new or ""
    lines = [style.wrap(_BOLD, head), f"    {body}"]
    lines += [f"    number: {n.label()}" for n in change.numbers]
    return lines


def render_text(report: DiffReport, color: bool = False) -> str:
    """The report for a terminal: colour when ``color``, else ``[-old-]{+new+}`` markers."""
    style = _Style(color)
    lines = [*_side_lines("A", report.a), *_side_lines("B", report.b)]
    ignore = report.settings.get("ignore") or []
    lines.append(
        f"settings: {report.settings.get('algorithm')}"
        + (f"; ignoring {', '.join(f'/{p}/' for p in ignore)}" if ignore else "")
    )
    lines += ["", style.wrap(_YELLOW if report.status != "unchanged" else "", report.summary)]
    if report.status == "extraction_failed":
        return "\n".join(lines) + "\n"
    if report.metadata_changes:
        lines += ["", style.wrap(_BOLD, "Metadata")]
        for meta in report.metadata_changes:
            label = meta.label()
            if meta.segments:
                lines.append(f"  {label}: {style.segments(meta.segments)}")
            else:
                old = style.deleted(meta.old or "(none)")
                new = style.inserted(meta.new or "(none)")
                lines.append(f"  {label}: {old} -> {new}")
    numbers = report.number_changes()
    if numbers:
        lines += ["", style.wrap(_BOLD, "Numbers changed")]
        lines += [f"  {n.label()}" for n in numbers]
    if report.changes and report.rewritten:
        lines += ["", style.wrap(_BOLD, "Article text (largely rewritten)")]
        lines += _rewritten_lines(report.changes, style)
    elif report.changes:
        lines += ["", style.wrap(_BOLD, "Article text")]
        for change in report.changes:
            lines += [f"  {line}" for line in _change_lines(change, style)]
    return "\n".join(lines) + "\n"


_CLIP = 160  # characters of a replaced article's first paragraph shown on a terminal


def _rewritten_lines(changes: Sequence[Change], style: _Style) -> list[str]:
    """A replaced article in a few lines: whole paragraphs deleted and inserted are counted
    and their first words shown (the full texts are in --json and --html); any other
    change (a sentence kept, edited or moved) is listed as usual."""
    lines: list[str] = []
    for kind, side, sign in (("delete", "A", "-"), ("insert", "B", "+")):
        whole = [c for c in changes if c.kind == kind and c.unit == "paragraph"]
        if not whole:
            continue
        text = (whole[0].old if kind == "delete" else whole[0].new) or ""
        clipped = text if len(text) <= _CLIP else text[:_CLIP].rsplit(" ", 1)[0] + " ..."
        n = len(whole)
        word = "deleted" if kind == "delete" else "inserted"
        lines.append(
            style.wrap(_BOLD, f"  {sign} {n} paragraph{'s' if n != 1 else ''} of {side} {word}")
        )
        mark = style.deleted if kind == "delete" else style.inserted
        lines.append(f"      first: {mark(clipped)}")
    for change in changes:
        if change.unit == "paragraph" and change.kind in ("delete", "insert"):
            continue
        lines += [f"  {line}" for line in _change_lines(change, style)]
    lines.append("  (full texts: --json or --html)")
    return lines


# --- HTML ------------------------------------------------------------------------------

_CSS = """
body{font:15px/1.5 Georgia,serif;margin:1.5em;color:#111;background:#fff}
h1{font-size:1.3em}h2{font-size:1.1em;margin-top:1.5em}
table{border-collapse:collapse;width:100%;table-layout:fixed}
td,th{vertical-align:top;border:1px solid #999;padding:.4em .6em;text-align:left}
th{background:#eee}
dl{margin:0}dt{font-weight:bold;font-size:.85em}dd{margin:0 0 .3em 0;word-break:break-all}
del{text-decoration:line-through;background:#fdd;color:#900}
ins{text-decoration:underline;background:#dfd;color:#060}
.mk{font-weight:bold;font-family:monospace}
.move{background:#eef;border-bottom:1px dashed #339}
.status{font-weight:bold}.failed{border:3px double #900;padding:.5em}
.note{font-size:.85em;font-family:monospace}
@media print{del,ins,.move{background:none;color:#000}th{background:none}}
"""


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _del(text: str) -> str:
    lead, body = _split_lead(text)
    return f'{_e(lead)}<del><span class="mk">[-</span>{_e(body)}<span class="mk">-]</span></del>'


def _ins(text: str) -> str:
    lead, body = _split_lead(text)
    return f'{_e(lead)}<ins><span class="mk">{{+</span>{_e(body)}<span class="mk">+}}</span></ins>'


def _html_segments(segments: Sequence[Segment]) -> str:
    parts = []
    for seg in segments:
        if seg.op == "delete":
            parts.append(_del(seg.text))
        elif seg.op == "insert":
            parts.append(_ins(seg.text))
        else:
            parts.append(_e(seg.text))
    return "".join(parts)


def _html_mark(mark: Mark, report: DiffReport, side: str, first: bool = True) -> str:
    if mark.status == "equal":
        return _e(mark.text)
    if mark.status == "change":
        return _html_segments(mark.segments)
    if mark.status == "delete":
        return _del(mark.text)
    if mark.status == "insert":
        return _ins(mark.text)
    change = report.changes[mark.change] if mark.change is not None else None
    where = ""
    if change is not None:
        where = f"to B {_where(change.b)}" if side == "a" else f"from A {_where(change.a)}"
    label = f'<span class="mk">[moved {_e(where)}]</span> ' if first else ""
    text = _html_segments(mark.segments) if mark.segments else _e(mark.text)
    return f'<span class="move">{label}{text}</span>'


def _html_cell(marks: Sequence[Mark], report: DiffReport, side: str) -> str:
    """One side of a row; a run of moved sentences carries its [moved] label once."""
    parts = []
    for n, mark in enumerate(marks):
        first = n == 0 or marks[n - 1].change != mark.change or mark.change is None
        parts.append(_html_mark(mark, report, side, first))
    return " ".join(parts)


def _html_side(name: str, side: Side) -> str:
    rows = [f"<dt>capture</dt><dd>{_e(str(side.evidence['id']))}</dd>"]
    for key, label in _EVIDENCE_LABELS:
        value = side.evidence.get(key)
        if value:
            rows.append(f"<dt>{_e(label)}</dt><dd>{_e(value)}</dd>")
    if side.extractor:
        ex = side.extractor
        rows.append(
            f"<dt>extractor</dt><dd>{_e(str(ex.get('name')))} {_e(str(ex.get('version')))}</dd>"
        )
    if not side.ok:
        rows.append(f'<dt>extraction</dt><dd class="failed">failed: {_e(side.reason or "")}</dd>')
    return f"<th>{name}<dl>{''.join(rows)}</dl></th>"


def render_html(report: DiffReport) -> str:
    """One self-contained HTML page: evidence, settings, metadata, side-by-side text."""
    title = report.b.metadata.get("title") or report.a.metadata.get("title") or "article"
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Changes: {_e(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>Changes in the article text: {_e(title)}</h1>",
        f'<p class="status">{_e(report.summary)}</p>',
        "<table><tr>",
        _html_side("A (older)", report.a),
        _html_side("B (newer)", report.b),
        "</tr></table>",
    ]
    ignore = report.settings.get("ignore") or []
    out.append(
        f'<p class="note">settings: {_e(str(report.settings.get("algorithm")))}; '
        f"similarity threshold {_e(str(report.settings['similarity']['threshold']))}; "
        f"ignored patterns: {_e(', '.join(ignore) if ignore else 'none')}. "
        "Marks: <del><span class='mk'>[-</span>removed<span class='mk'>-]</span></del> "
        "<ins><span class='mk'>{+</span>added<span class='mk'>+}</span></ins> "
        "<span class='move'><span class='mk'>[moved]</span></span></p>"
    )
    if report.status != "extraction_failed":
        if report.metadata_changes:
            out.append("<h2>Metadata</h2><table><tr><th>field</th><th>A</th><th>B</th></tr>")
            for meta in report.metadata_changes:
                if meta.segments:
                    left = _html_segments([g for g in meta.segments if g.op != "insert"])
                    right = _html_segments([g for g in meta.segments if g.op != "delete"])
                else:
                    left = _del(meta.old) if meta.old else "(none)"
                    right = _ins(meta.new) if meta.new else "(none)"
                out.append(f"<tr><td>{_e(meta.label())}</td><td>{left}</td><td>{right}</td></tr>")
            out.append("</table>")
        numbers = report.number_changes()
        if numbers:
            out.append("<h2>Numbers changed</h2><ul>")
            out += [
                f"<li>{_del(n.old or '(none)')} \u2192 {_ins(n.new or '(none)')}"
                f"{' (same value, written differently)' if n.same_value else ''}</li>"
                for n in numbers
            ]
            out.append("</ul>")
        out.append("<h2>Article text</h2><table><tr><th>A</th><th>B</th></tr>")
        for row in report.rows:
            left = _html_cell(row.a, report, "a")
            right = _html_cell(row.b, report, "b")
            out.append(f"<tr><td>{left}</td><td>{right}</td></tr>")
        out.append("</table>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


# --- history ---------------------------------------------------------------------------


def render_history_text(report: HistoryReport, color: bool = False) -> str:
    """Every capture of a URL in time order, with what changed since the one before."""
    style = _Style(color)
    lines = [f"History of {report.url}: {len(report.steps)} capture(s)"]
    for step in report.steps:
        ev = step.evidence
        when = ev.get("tsa_time") or ev.get("captured_at") or ""
        lines += ["", style.wrap(_BOLD, f"{ev['id']}  {when}".rstrip())]
        if step.compared_to:
            lines.append(f"  compared with {step.compared_to}")
        lines.append(f"  {step.summary}")
        if step.diff is None:
            continue
        for meta in step.diff.metadata_changes:
            lines.append(f"  {meta.label()}: {meta.old or '(none)'} -> {meta.new or '(none)'}")
        for change in step.diff.changes:
            lines += [f"  {line}" for line in _change_lines(change, style)]
    return "\n".join(lines) + "\n"
