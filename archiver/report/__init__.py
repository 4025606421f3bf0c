"""The evidence report: one capture (or two and their changes) as a document a person
can file: what, when, by whom, how, every check with what it proves and does not, the
hashes, the chain of custody and the commands to check it without this tool.

``collect`` gathers (verifying each package afresh), ``render_html`` makes one
self-contained page, ``write_report`` writes HTML or a PDF printed by Chromium and
records the export, with the report's sha256, in the custody log.
"""

from .collect import ReportData, collect, edit_interval
from .write import check_writable, render_html, write_report

__all__ = [
    "ReportData",
    "check_writable",
    "collect",
    "edit_interval",
    "render_html",
    "write_report",
]
