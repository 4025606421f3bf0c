"""archiver: capture, prove and compare web pages.

The library's entry points, importable from here::

    from archiver import Archive, CaptureOptions, capture_url, diff_documents, verify_package

The pipeline has one subpackage per stage: ``capture`` (Chromium -> WARC -> WACZ),
``proof`` (manifest, signature, trusted time), ``verify`` (pure offline checks),
``diff`` (pure article-text comparison) and ``archive`` (the folder and its SQLite
index). The names below load their stage on first use, so ``import archiver.verify``
never starts Playwright, SQLite or a network client. A receiver of ``watch run``'s
webhooks checks each POST's signature with ``verify_webhook`` (pure, no network).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
SOFTWARE = f"archiver {__version__}"

_EXPORTS = {
    # capture
    "capture_url": "archiver.capture",
    "capture_batch": "archiver.capture",
    "BatchSummary": "archiver.capture",
    "CaptureFailure": "archiver.capture",
    "CaptureOptions": "archiver.capture",
    "CaptureResult": "archiver.capture",
    "find_browser": "archiver.capture",
    # proof
    "seal": "archiver.proof",
    "add_timestamps": "archiver.proof",
    "generate_key": "archiver.proof",
    "load_key": "archiver.proof",
    "fingerprint": "archiver.proof",
    # verify
    "verify_package": "archiver.verify",
    "VerifyReport": "archiver.verify",
    # diff
    "diff_documents": "archiver.diff",
    "DiffReport": "archiver.diff",
    "build_history": "archiver.diff",
    "HistoryReport": "archiver.diff",
    # archive
    "Archive": "archiver.archive",
    "IndexEntry": "archiver.archive",
    "resolve_capture": "archiver.archive",
    # watch: the check a webhook receiver runs
    "verify_webhook": "archiver.watch.webhooksign",
    "WebhookSignatureError": "archiver.watch.webhooksign",
    # errors
    "ArchiverError": "archiver.errors",
    "UsageError": "archiver.errors",
    "BrowserError": "archiver.errors",
    "CaptureError": "archiver.errors",
    "CaptureInterrupted": "archiver.errors",
    "ArchiveError": "archiver.errors",
    "PackageError": "archiver.errors",
    "SigningKeyError": "archiver.errors",
    "TimestampError": "archiver.errors",
    "SchemaError": "archiver.errors",
}

__all__ = [
    "SOFTWARE",
    "Archive",
    "ArchiveError",
    "ArchiverError",
    "BatchSummary",
    "BrowserError",
    "CaptureError",
    "CaptureFailure",
    "CaptureInterrupted",
    "CaptureOptions",
    "CaptureResult",
    "DiffReport",
    "HistoryReport",
    "IndexEntry",
    "PackageError",
    "SchemaError",
    "SigningKeyError",
    "TimestampError",
    "UsageError",
    "VerifyReport",
    "WebhookSignatureError",
    "__version__",
    "add_timestamps",
    "build_history",
    "capture_batch",
    "capture_url",
    "diff_documents",
    "find_browser",
    "fingerprint",
    "generate_key",
    "load_key",
    "resolve_capture",
    "seal",
    "verify_package",
    "verify_webhook",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'archiver' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


if TYPE_CHECKING:
    from .archive import Archive, IndexEntry, resolve_capture
    from .capture import (
        BatchSummary,
        CaptureFailure,
        CaptureOptions,
        CaptureResult,
        capture_batch,
        capture_url,
        find_browser,
    )
    from .diff import DiffReport, HistoryReport, build_history, diff_documents
    from .errors import (
        ArchiveError,
        ArchiverError,
        BrowserError,
        CaptureError,
        CaptureInterrupted,
        PackageError,
        SchemaError,
        SigningKeyError,
        TimestampError,
        UsageError,
    )
    from .proof import add_timestamps, fingerprint, generate_key, load_key, seal
    from .verify import VerifyReport, verify_package
    from .watch.webhooksign import WebhookSignatureError, verify_webhook
