"""The archive folder: ``captures/*.wacz``, the SQLite index that lists them (a cache
that ``Archive.rebuild`` recreates from the packages alone), and comparing captures
of one URL with the pure diff, each side tied to its offline verify; packages taken in
from a store (``sync_store``, ``ingest_package``).
"""

from .compare import diff_latest, diff_paths, diff_refs, evidence, history
from .entry import IndexEntry, new_capture_id, text_sha256
from .fromstore import StoreSync, ingest_package, sync_store
from .index import Archive, package_file, resolve_capture
from .scan import read_text_document, scan_package

__all__ = [
    "Archive",
    "IndexEntry",
    "StoreSync",
    "diff_latest",
    "diff_paths",
    "diff_refs",
    "evidence",
    "history",
    "ingest_package",
    "new_capture_id",
    "package_file",
    "read_text_document",
    "resolve_capture",
    "scan_package",
    "sync_store",
    "text_sha256",
]
