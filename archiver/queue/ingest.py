"""Packages from the store into the coordinator's index, one per job id.

A job's package is ``captures/<job id>.wacz`` in the store and ``<job id>.wacz`` in the
archive's ``captures/``; the index allows one entry per file, so a job can never be
indexed twice, whatever retries did. Ingest streams the object into a temporary file,
checks its size and sha256 against what the worker reported, checks that the package
names the job, and only then renames it into place and indexes it.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..archive.entry import IndexEntry
from ..archive.index import Archive
from ..archive.scan import scan_package
from ..errors import ArchiveError, PackageError
from ..layout import MANIFEST
from ..package import WaczReader
from ..storage import Store, StoreError

PREFIX = "captures/"


def job_key(job_id: str) -> str:
    return f"{PREFIX}{job_id}.wacz"


def package_job_id(path: Path) -> str | None:
    """The job id a package's signed manifest records (capture.options.job_id)."""
    with WaczReader(path) as wacz:
        if MANIFEST not in wacz.names():
            return None
        manifest = json.loads(wacz.read(MANIFEST, limit=16 * 1024 * 1024))
    options = manifest.get("capture", {}).get("options", {})
    job = options.get("job_id") if isinstance(options, dict) else None
    return job if isinstance(job, str) else None


@dataclass(frozen=True)
class Ingested:
    job_id: str
    entry: IndexEntry
    path: Path
    already: bool  # the archive had indexed this job before


def ingest_job(
    archive: Archive, store: Store, job_id: str, expected: tuple[int, str] | None = None
) -> Ingested:
    """Index the package of ``job_id`` from ``store`` (StoreError when it is not what the
    worker wrote, PackageError when it is not a package of that job)."""
    file = f"{job_id}.wacz"
    dest = archive.captures / file
    existing = next((e for e in archive.list() if archive.package_path(e.id) == dest), None)
    if existing is not None:
        return Ingested(job_id, existing, dest, already=True)
    tmp = archive.captures / f".ingest-{os.getpid()}-{uuid.uuid4().hex[:8]}.wacz"
    try:
        got = store.get(job_key(job_id), tmp)
        if expected is not None and (got.size, got.sha256) != expected:
            raise StoreError(
                f"{store.url}: {job_key(job_id)} has {got.size} bytes, sha256 {got.sha256}; "
                f"the worker stored {expected[0]} bytes, sha256 {expected[1]}: not indexed"
            )
        entry = _check_package(tmp, job_id, store.url)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    try:
        archive.add(entry, file=file)
    except ArchiveError:
        # the capture id is indexed already (another file holds it): keep one
        dest.unlink(missing_ok=True)
        raise
    return Ingested(job_id, entry, dest, already=False)


def _check_package(path: Path, job_id: str, where: str) -> IndexEntry:
    try:
        entry = scan_package(path)
        named = package_job_id(path)
    except (PackageError, ValueError, KeyError) as exc:
        raise StoreError(
            f"{where}: {job_key(job_id)} is not a readable package ({exc}): not indexed"
        ) from exc
    if named != job_id:
        raise StoreError(f"{where}: {job_key(job_id)} holds job {named}, not {job_id}: not indexed")
    return entry


def describe_stored(store: Store, key: str, job_id: str, scratch: Path) -> dict[str, Any]:
    """A job result for a package already in the store (a retry after a late death)."""
    tmp = scratch / f"{uuid.uuid4().hex}.wacz"
    try:
        got = store.get(key, tmp)
        entry = _check_package(tmp, job_id, store.url)
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
        name = key[len(PREFIX) :]
        if "/" in name or not name.endswith(".wacz"):
            continue
        job_id = name.removesuffix(".wacz")
        dest = archive.captures / name
        tmp = archive.captures / f".ingest-{os.getpid()}-{uuid.uuid4().hex[:8]}.wacz"
        try:
            store.get(key, tmp)
            _check_package(tmp, job_id, store.url)
            os.replace(tmp, dest)
            out.downloaded += 1
        except (StoreError, OSError) as exc:
            out.skipped.append((key, str(exc)))
        finally:
            tmp.unlink(missing_ok=True)
    return out
