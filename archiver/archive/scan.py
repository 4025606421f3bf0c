"""Read what the index needs from a package's own members (no SQLite here).

``scan_package`` is how ``Archive.rebuild`` recreates the index from the packages
alone; every read is bounded, and a package that cannot be read raises PackageError.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

from ..errors import PackageError, SigningKeyError
from ..layout import CDXJ, MANIFEST, PAGES, SIGNER, is_token
from ..package import WaczReader, sha256_file
from ..proof.signing import pem_fingerprint
from ..proof.tokens import token_time
from ..warc import read_record_at
from .entry import IndexEntry, text_sha256

_SMALL = 64 << 20  # bound on any JSON member or record read while indexing


def scan_package(path: Path) -> IndexEntry:
    """The index entry of one package, from its own members (PackageError if unreadable)."""
    try:
        package_sha = sha256_file(path)[0].removeprefix("sha256:")
    except OSError as exc:
        raise PackageError(f"{path} cannot be read: {exc.strerror or exc}") from exc
    capture_id = path.name.removesuffix(".wacz")
    with WaczReader(path) as wacz:
        page = _page(wacz)
        datapackage = wacz.datapackage()
        manifest = _json_member(wacz, MANIFEST) if MANIFEST in wacz.names() else {}
        raw_capture = manifest.get("capture")
        capture: dict[str, Any] = raw_capture if isinstance(raw_capture, dict) else {}
        cdxj = _cdxj(wacz)
        text_doc = _text_doc(wacz, cdxj)
        signed_by = _signer(wacz, manifest)
        tsa_times = package_tsa_times(wacz)
    page_url = str(page.get("url") or datapackage.get("mainPageURL") or "")
    page_ts = str(page.get("ts") or datapackage.get("mainPageDate") or "")
    final_url = str(capture.get("final_url") or page_url)
    status = capture.get("status")
    if not isinstance(status, int):
        status = next(
            (
                int(e["status"])
                for e in cdxj
                if e.get("url") == final_url and str(e.get("status", "")).isdecimal()
            ),
            0,
        )
    return IndexEntry(
        id=str(capture.get("id") or capture_id),
        url=str(capture.get("requested_url") or page_url),
        final_url=final_url,
        started=str(capture.get("started") or page_ts),
        ended=str(capture.get("ended") or capture.get("started") or page_ts),
        status=status,
        title=str(page.get("title") or datapackage.get("title") or final_url),
        package_sha256=package_sha,
        text_sha256=text_sha256(text_doc),
        signed_by=signed_by,
        tsa_times=tsa_times,
        walls=[str(w) for w in capture.get("walls") or [] if isinstance(w, str)],
    )


def package_walls(path: Path) -> list[str]:
    """What hid the article when the package was captured (its manifest's capture.walls)."""
    with WaczReader(path) as wacz:
        manifest = _json_member(wacz, MANIFEST) if MANIFEST in wacz.names() else {}
    capture = manifest.get("capture")
    walls = capture.get("walls") if isinstance(capture, dict) else None
    return [str(w) for w in walls] if isinstance(walls, list) else []


def read_text_document(path: Path) -> dict[str, Any] | None:
    """The ``urn:text:`` document of a package (None when it has no such record);
    PackageError when the record is not a JSON object."""
    with WaczReader(path) as wacz:
        cdxj = _cdxj(wacz)
        if _text_entry(cdxj) is None:
            return None
        doc = _text_doc(wacz, cdxj)
    if not isinstance(doc, dict):
        raise PackageError(f"urn:text: record in {path} is not a JSON object but {_kind(doc)}")
    return doc


def _kind(doc: Any) -> str:
    """What a parsed JSON value is, in JSON's words."""
    if isinstance(doc, bool):
        return "true" if doc else "false"
    kinds = {list: "an array", str: "a string", int: "a number", float: "a number"}
    return kinds.get(type(doc), "null")


def _json_member(wacz: WaczReader, name: str) -> dict[str, Any]:
    try:
        doc = json.loads(wacz.read(name, limit=_SMALL))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PackageError(f"{name} in {wacz.path} is not JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise PackageError(f"{name} in {wacz.path} is not a JSON object")
    return doc


def _page(wacz: WaczReader) -> dict[str, Any]:
    """The first page line of pages.jsonl (after the format header)."""
    for line in wacz.read(PAGES, limit=_SMALL).decode("utf-8", "replace").splitlines():
        try:
            doc = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(doc, dict) and "format" not in doc and doc.get("url"):
            return doc
    raise PackageError(f"{PAGES} in {wacz.path} lists no page")


def _cdxj(wacz: WaczReader) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    for line in wacz.read(CDXJ, limit=_SMALL).decode("utf-8", "replace").splitlines():
        parts = line.split(" ", 2)
        if len(parts) == 3:
            with contextlib.suppress(json.JSONDecodeError):
                doc = json.loads(parts[2])
                if isinstance(doc, dict):
                    entries.append(doc)
    return entries


def _text_entry(cdxj: list[dict[str, Any]]) -> dict[str, Any] | None:
    return next((e for e in cdxj if str(e.get("url", "")).startswith("urn:text:")), None)


def _text_doc(wacz: WaczReader, cdxj: list[dict[str, Any]]) -> Any:
    """The ``urn:text:`` record's JSON, found through the CDXJ; None when absent."""
    entry = _text_entry(cdxj)
    if entry is None:
        return None
    member = "archive/" + str(entry.get("filename", "data.warc.gz"))
    try:
        offset = int(entry["offset"])
    except (KeyError, ValueError) as exc:
        raise PackageError(f"{CDXJ} in {wacz.path} has a urn:text: line without offset") from exc
    with wacz.open(member) as stream:
        _info, record = read_record_at(stream, offset)
        data = record.raw_stream.read(_SMALL + 1)
        record.raw_stream.close()
    if len(data) > _SMALL:
        raise PackageError(f"urn:text: record in {wacz.path} is larger than {_SMALL} bytes")
    try:
        return json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PackageError(f"urn:text: record in {wacz.path} is not JSON: {exc}") from exc


def _signer(wacz: WaczReader, manifest: dict[str, Any]) -> str | None:
    signer = manifest.get("signer")
    if isinstance(signer, dict) and isinstance(signer.get("fingerprint"), str):
        return str(signer["fingerprint"])
    if SIGNER not in wacz.names():
        return None
    try:
        return pem_fingerprint(wacz.read(SIGNER, limit=1 << 16))
    except SigningKeyError:
        return None


def package_tsa_times(wacz: WaczReader) -> list[str]:
    """genTime of every readable ``provenance/*.tsr`` token, sorted."""
    return sorted(
        t
        for name in wacz.names()
        if is_token(name)
        if (t := token_time(wacz.read(name, limit=1 << 20))) is not None
    )
