"""The diff stage: what a publisher changed between two captures of the same page.

Everything here is pure: two ``urn:text:`` documents (and the evidence tying each to its
signed capture) go in, a ``DiffReport`` comes out, with the same bytes on every run; a
series of captures gives a ``HistoryReport``. Renderers turn either into terminal text or
one self-contained HTML file. Nothing here touches the network, the browser or the
archive: ``archiver.archive.compare`` finds the documents and verifies the packages.
"""

from .documents import diff_documents, settings
from .history import HistoryReport, HistoryStep, build_history
from .model import Change, DiffReport, Loc, Mark, MetaChange, Row, Side
from .render import render_history_text, render_html, render_text
from .words import NumberChange, Segment

__all__ = [
    "Change",
    "DiffReport",
    "HistoryReport",
    "HistoryStep",
    "Loc",
    "Mark",
    "MetaChange",
    "NumberChange",
    "Row",
    "Segment",
    "Side",
    "build_history",
    "diff_documents",
    "render_history_text",
    "render_html",
    "render_text",
    "settings",
]
