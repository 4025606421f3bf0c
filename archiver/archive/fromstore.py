"""Packages from a store into the archive, one per job id: the one way in for all.

A job's package is ``captures/<job id>.wacz`` in the store and ``<job id>.wacz`` in the
archive's ``captures/``; the index allows one entry per file, so a job can never be
indexed twice, whatever retries or a second process did. Each object is streamed into a
temporary file beside the archive's packages (memory stays flat), checked (its size and
sha256 against what the worker reported, when known; that it is a readable package that
names the job), and only then renamed into place and indexed.

``ingest_package`` is the coordinator's ingest of one job (``archiver.queue``),
``sync_store`` takes in every package of the store the index lacks (``archiver serve
--storage``). Neither imports the task engine or an object-storage client: the store is
any ``archiver.storage.Store``.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Container
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ArchiveError, PackageError
from ..layout import MANIFEST
from ..package import WaczReader
from ..storage import Store, StoredObject, StoreError
from .entry import IndexEntry
from .index import Archive
from .scan import scan_package

PREFIX = "captures/"


def job_key(job_id: str) -> str:
    return f"{PREFIX}{job_id}.wacz"


def key_job_id(key: str) -> str | None:
    """The job id a store key ``captures/<job id>.wacz`` names (None for other keys)."""
    name = key.removeprefix(PREFIX)
    if name == key or "/" in name or not name.endswith(".wacz") or name == ".wacz":
        return None
    return name.removesuffix(".wacz")


def package_job_id(path: Path) -> str | None:
    """The job id a package's signed manifest records (capture.options.job_id)."""
    with WaczReader(path) as wacz:
        if MANIFEST not in wacz.names():
            return None
        manifest = json.loads(wacz.read(MANIFEST, limit=16 * 1024 * 1024))
    options = manifest.get("capture", {}).get("options", {})
    job = options.get("job_id") if isinstance(options, dict) else None
    return job if isinstance(job, str) else None


def check_package(path: Path, job_id: str, where: str) -> IndexEntry:
    """The index entry of the package at ``path``; StoreError unless it is a readable
    package whose signed manifest names ``job_id``."""
    try:
        entry = scan_package(path)
        named = package_job_id(path)
    except (PackageError, ValueError, KeyError) as exc:
        reason = str(exc).replace(str(path), job_key(job_id))  # not the temporary file's name
        raise StoreError(
            f"{where}: {job_key(job_id)} is not a readable package ({reason}): not indexed"
        ) from exc
    if named != job_id:
        raise StoreError(f"{where}: {job_key(job_id)} holds job {named}, not {job_id}: not indexed")
    return entry


def fetch_checked(
    archive: Archive, store: Store, job_id: str, expected: tuple[int, str] | None = None
) -> tuple[IndexEntry, StoredObject]:
    """``job_id``'s package streamed from ``store`` to ``captures/<job id>.wacz``, checked
    first (nothing is left under that name when a check fails); not indexed yet."""
    key = job_key(job_id)
    tmp = archive.captures / f".ingest-{os.getpid()}-{uuid.uuid4().hex[:8]}.wacz"
    try:
        got = store.get(key, tmp)
        if expected is not None and (got.size, got.sha256) != expected:
            raise StoreError(
                f"{store.url}: {key} has {got.size} bytes, sha256 {got.sha256}; "
                f"the worker stored {expected[0]} bytes, sha256 {expected[1]}: not indexed"
            )
        entry = check_package(tmp, job_id, store.url)
        os.replace(tmp, archive.captures / f"{job_id}.wacz")
    finally:
        tmp.unlink(missing_ok=True)
    return entry, got


@dataclass(frozen=True)
class Ingested:
    job_id: str
    entry: IndexEntry
    path: Path
    already: bool  # the archive had indexed this job before


def ingest_package(
    archive: Archive, store: Store, job_id: str, expected: tuple[int, str] | None = None
) -> Ingested:
    """Index the package of ``job_id`` from ``store`` (StoreError when it is not what the
    worker wrote, or not a package of that job; ArchiveError when its capture is indexed
    already under another file)."""
    file = f"{job_id}.wacz"
    dest = archive.captures / file
    existing = archive.by_file(file)
    if existing is not None:
        return Ingested(job_id, existing, dest, already=True)
    entry, _got = fetch_checked(archive, store, job_id, expected)
    try:
        archive.add(entry, file=file)
    except ArchiveError:
        raced = archive.by_file(file)
        if raced is not None:  # another process indexed this job meanwhile: the same bytes
            return Ingested(job_id, raced, dest, already=True)
        # the capture id is indexed already (another file holds it): keep one
        dest.unlink(missing_ok=True)
        raise
    return Ingested(job_id, entry, dest, already=False)


@dataclass
class StoreSync:
    """What one ``sync_store`` pass did: the captures it indexed, the objects it could
    not take in (key, reason)."""

    added: list[IndexEntry] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)


def sync_store(archive: Archive, store: Store, *, skip: Container[str] = ()) -> StoreSync:
    """Index every package in ``store`` the archive has not indexed yet (keys in ``skip``
    are left alone: a caller's memory of objects that failed before). One object that
    cannot be taken in is reported in ``skipped`` and the pass goes on; StoreError only
    when the store cannot be listed."""
    out = StoreSync()
    indexed = archive.indexed_files()
    for key in store.list(PREFIX):
        job_id = key_job_id(key)
        if job_id is None or f"{job_id}.wacz" in indexed or key in skip:
            continue
        try:
            got = ingest_package(archive, store, job_id)
        except (StoreError, ArchiveError, OSError) as exc:
            out.skipped.append((key, str(exc)))
            continue
        if not got.already:
            out.added.append(got.entry)
    return out
