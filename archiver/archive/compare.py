"""Tie the pure diff to captures: read each package's text record and its proof.

``archiver.diff`` compares two ``urn:text:`` documents; this module finds them in the
archive, verifies each package offline (``archiver.verify``, no network) and hands the
result to the diff as evidence, so every report says which signed, timestamped
capture each side is.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..diff import DiffReport, HistoryReport, build_history, diff_documents
from ..errors import ArchiveError, PackageError
from ..layout import MANIFEST
from ..package import WaczReader, sha256_file
from ..urls import lookup_form
from ..verify import VerifyReport, verify_package
from .index import Archive
from .scan import package_walls, read_text_document


def evidence(path: Path, report: VerifyReport | None = None) -> dict[str, str | None]:
    """What ties one side of a diff to its proof: ids, hashes, signature and TSA time."""
    report = report or verify_package(path)
    capture = report.capture or {}
    times = sorted(t.time for t in report.timestamps if t.time and t.intact)
    return {
        "id": str(capture.get("id") or path.name.removesuffix(".wacz")),
        "url": _str(capture.get("final_url") or capture.get("requested_url")),
        "captured_at": _str(capture.get("started")),
        "package": str(path),
        "package_sha256": sha256_file(path)[0].removeprefix("sha256:"),
        "manifest_sha256": _manifest_sha256(path),
        "signature": _signature_status(report),
        "key_fingerprint": report.signer_fingerprint,
        "tsa_time": times[0] if times else None,
    }


def _manifest_sha256(path: Path) -> str | None:
    with WaczReader(path) as wacz:
        if MANIFEST not in wacz.names():
            return None
        return hashlib.sha256(wacz.read(MANIFEST, limit=64 << 20)).hexdigest()


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


def _signature_status(report: VerifyReport) -> str:
    if report.error is not None:
        return f"unreadable: {report.error}"
    if report.integrity == "failed":
        return "INTEGRITY FAILED: the package does not match its signed manifest"
    try:
        sig = report.check("signature")
    except LookupError:
        return "not checked"
    if sig.status.value != "passed":
        return f"signature {sig.status.value}"
    return f"valid (integrity passed; trust {report.trust})"


def load_side(path: Path) -> tuple[dict[str, Any], dict[str, str | None]]:
    """The text document and the evidence of one package."""
    doc = read_text_document(path)
    if doc is None:
        raise PackageError(f"{path} has no urn:text: record: was it made by archiver capture?")
    walls = package_walls(path)
    if walls:  # the text is the wall's, not the article's: never compared as an edit
        doc = {**doc, "article": None, "reason": f"behind a wall ({', '.join(walls)})"}
    return doc, evidence(path)


def diff_paths(
    a: Path, b: Path, *, ignore: Sequence[str] = (), names: tuple[str, str] | None = None
) -> DiffReport:
    """Diff two package files; ``names`` replaces their paths in the evidence (a package
    read from a store into a temporary file is named by its object)."""
    doc_a, ev_a = load_side(a)
    doc_b, ev_b = load_side(b)
    if names is not None:
        ev_a["package"], ev_b["package"] = names
    return diff_documents(doc_a, doc_b, ignore=ignore, evidence_a=ev_a, evidence_b=ev_b)


def diff_refs(
    archive: Archive, ref_a: str, ref_b: str, *, ignore: Sequence[str] = ()
) -> DiffReport:
    """Diff two captures given as ids (or id prefixes) or paths to .wacz files."""
    return diff_paths(archive.resolve(ref_a), archive.resolve(ref_b), ignore=ignore)


def diff_latest(archive: Archive, url: str, *, ignore: Sequence[str] = ()) -> DiffReport:
    """Diff the latest two captures of ``url`` (older first)."""
    entries = archive.list(url=lookup_form(url))
    if len(entries) < 2:
        found = "no capture" if not entries else "only one capture"
        raise ArchiveError(f"{found} of {url} in {archive.root}: a diff needs two")
    older, newer = entries[-2], entries[-1]
    return diff_paths(archive.package_path(older.id), archive.package_path(newer.id), ignore=ignore)


def history(archive: Archive, url: str, *, ignore: Sequence[str] = ()) -> HistoryReport:
    """Every capture of ``url`` in time order, each compared with the one before."""
    entries = archive.list(url=lookup_form(url))
    if not entries:
        raise ArchiveError(f"no capture of {url} in {archive.root}")
    steps = [load_side(archive.package_path(e.id))[::-1] for e in entries]
    return build_history(steps, url=url, ignore=ignore)
