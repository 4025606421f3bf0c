"""Packages from the store into the coordinator's index, one per job id.

The checks and the ingest itself are ``archiver.archive.fromstore`` (shared with
``archiver serve --storage``, which must not load the task engine); here: the names the
queue has always offered, the worker's description of a package it finds already
stored, and ``fetch_store`` for ``index rebuild --storage``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..archive.fromstore import (
    PREFIX,
    Ingested,
    check_package,
    fetch_checked,
    ingest_package,
    job_key,
    key_job_id,
    package_job_id,
)
from ..archive.index import Archive
from ..storage import Store, StoreError

__all__ = [
    "PREFIX",
    "Ingested",
    "StoreRebuild",
    "describe_stored",
    "fetch_store",
    "ingest_job",
    "job_key",
    "package_job_id",
]

ingest_job = ingest_package


def describe_stored(store: Store, key: str, job_id: str, scratch: Path) -> dict[str, Any]:
    """A job result for a package already in the store (a retry after a late death)."""
    tmp = scratch / f"{uuid.uuid4().hex}.wacz"
    try:
        got = store.get(key, tmp)
        entry = check_package(tmp, job_id, store.url)
    finally:
        tmp.unlink(missing_ok=True)
    return {
        **entry.to_json(),
        "ok": True,
        "job_id": job_id,
        "store": store.url,
        "key": key,
        "size": got.size,
        "sha256": got.sha256,
        "reused": True,
    }


@dataclass
class StoreRebuild:
    downloaded: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)


def fetch_store(archive: Archive, store: Store) -> StoreRebuild:
    """Bring every package in ``store`` into ``archive``'s captures folder (for rebuild)."""
    out = StoreRebuild()
    for key in store.list(PREFIX):
        job_id = key_job_id(key)
        if job_id is None:
            continue
        try:
            fetch_checked(archive, store, job_id)
            out.downloaded += 1
        except (StoreError, OSError) as exc:
            out.skipped.append((key, str(exc)))
    return out
