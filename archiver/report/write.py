"""Render the evidence report as self-contained HTML or as a PDF (Chromium print-to-PDF),
and record it in the capture's chain of custody with its sha256."""

from __future__ import annotations

import hashlib
import os
import tempfile
from functools import cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from ..archive.custody import Custody
from ..archive.index import Archive
from ..errors import UsageError
from .collect import ReportData


@cache
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(Path(__file__).resolve().parent / "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_html(data: ReportData) -> str:
    """The whole report as one HTML page: styles and images inline, nothing to fetch."""
    diff_html = ""
    if data.diff is not None:
        from ..diff import render_html as diff_page

        page = diff_page(data.diff)
        start, end = page.find("<body>"), page.rfind("</body>")
        diff_html = page[start + len("<body>") : end] if 0 <= start < end else page
    return _environment().get_template("report.html").render(data=data, diff_html=diff_html)


def check_writable(dest: Path) -> None:
    """UsageError now, before any work, when ``dest`` cannot be written."""
    parent = dest.parent if str(dest.parent) else Path(".")
    if dest.is_dir():
        raise UsageError(f"cannot write the report to {dest}: it is a folder")
    if not parent.is_dir():
        raise UsageError(f"cannot write the report to {dest}: no folder {parent}")
    if not os.access(parent, os.W_OK) or (dest.exists() and not os.access(dest, os.W_OK)):
        raise UsageError(f"cannot write the report to {dest}: permission denied")


def write_report(
    data: ReportData, dest: Path, *, pdf: bool, archive: Archive, timeout: float = 60.0
) -> str:
    """Write the report to ``dest`` (atomically) and return its sha256; every capture it
    covers gets an 'exported' custody event naming the file and its sha256."""
    check_writable(dest)
    html = render_html(data)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent or ".")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        if pdf:
            from ..capture.pdf import print_pdf

            footer = f"Evidence report · {', '.join(s.capture_id for s in data.sides)}"
            print_pdf(html, tmp, footer=footer, timeout=timeout)
        else:
            tmp.write_text(html, encoding="utf-8")
        digest = hashlib.sha256(tmp.read_bytes()).hexdigest()
        os.replace(tmp, dest)
    except OSError as exc:
        raise UsageError(f"cannot write the report to {dest}: {exc.strerror or exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)
    custody = Custody(archive)
    kind = "PDF" if pdf else "HTML"
    others = [s.capture_id for s in data.sides]
    for side in data.sides:
        with_ = [o for o in others if o != side.capture_id]
        detail = f"evidence report {dest.name} ({kind})"
        detail += f" comparing with {with_[0]}" if with_ else ""
        custody.record(side.capture_id, "exported", detail, sha256=digest)
    return digest
