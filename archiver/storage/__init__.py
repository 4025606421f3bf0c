"""Where finished packages live: a folder or S3-compatible object storage, one interface.

``open_store(spec)`` takes a folder path or ``s3://bucket/prefix``. Every ``Store`` puts a
finished file under its final key atomically (never a partial object under that key),
then reads the stored object back and checks its size and sha256 against what it wrote.
"""

from __future__ import annotations

from .base import Store, StoredObject, StoreError, sha256_file
from .fetch import fetched, fetched_all, object_name, package_key
from .open import open_store

__all__ = [
    "Store",
    "StoreError",
    "StoredObject",
    "fetched",
    "fetched_all",
    "object_name",
    "open_store",
    "package_key",
    "sha256_file",
]
