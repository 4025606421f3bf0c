"""Capture a page: drive Chromium, record every exchange it made, pack one signed WACZ.

``run.capture_url`` orchestrates browser -> WARC records -> package -> proof -> index;
``batch.capture_batch`` runs many captures with N workers, one reused browser each.
``browser`` is the only module of archiver that imports Playwright; ``chromium``
(finding the browser), ``netlog`` and ``exchanges`` (recording CDP network events)
and ``pagescripts`` (JavaScript run in the page) work without it.
"""

from .batch import BatchSummary, CaptureFailure, capture_batch
from .chromium import browser_version, find_browser
from .pageopts import PageSetup, page_setup
from .run import CaptureOptions, CaptureResult, capture_url

__all__ = [
    "BatchSummary",
    "CaptureFailure",
    "CaptureOptions",
    "CaptureResult",
    "PageSetup",
    "browser_version",
    "capture_batch",
    "capture_url",
    "find_browser",
    "page_setup",
]
