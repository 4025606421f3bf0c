"""The archive folder: ``captures/*.wacz``, the SQLite index that lists them (a cache
that ``Archive.rebuild`` recreates from the packages alone), and comparing captures
of one URL with the pure diff, each side tied to its offline verify.
"""

from .compare import diff_latest, diff_paths, diff_refs, evidence, history
from .entry import IndexEntry, new_capture_id, text_sha256
from .index import Archive, package_file, resolve_capture
from .scan import read_text_document, scan_package

__all__ = [
    "Archive",
    "IndexEntry",
    "diff_latest",
    "diff_paths",
    "diff_refs",
    "evidence",
    "history",
    "new_capture_id",
    "package_file",
    "read_text_document",
    "resolve_capture",
    "scan_package",
    "text_sha256",
]
