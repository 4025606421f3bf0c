"""Build, canonicalise and parse ``provenance/manifest.json``.

The manifest is RFC 8785 (JCS) canonical JSON, so the same facts always give the
same bytes, and the Ed25519 signature covers exactly those bytes. It lists every
content file (``archive/``, ``indexes/``, ``pages/``) with its sha256 and size,
every WARC record with its offset and digests, the capture facts (times from the
capturing machine's clock, labelled as such) and the signer's public key. Every
manifest is validated against ``schemas/manifest.schema.json`` when built and when
parsed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import rfc8785

from ..errors import SchemaError, SigningKeyError
from ..layout import MANIFEST
from ..model import RecordInfo
from ..schema import schema_id, validate
from .signing import pem_fingerprint

SCHEMA_NAME = "manifest.schema.json"
CLOCK_LABEL = "capturing machine's clock (not trusted time)"
CONTENT_PREFIXES = ("archive/", "indexes/", "pages/")


def build_manifest(
    *,
    capture: Mapping[str, Any],
    files: Sequence[tuple[str, str, int]],
    records: Sequence[RecordInfo],
    public_key_pem: bytes,
) -> bytes:
    """The canonical manifest bytes for one capture.

    ``capture``: id, requested_url, final_url, status, started, ended, software,
    browser, options (and optionally user_agent, clock). ``files``: (zip path,
    sha256 hex, size) of each content file. Raises SchemaError when a fact is
    missing or malformed.
    """
    facts = dict(capture)
    facts.setdefault("clock", CLOCK_LABEL)
    document: dict[str, Any] = {
        "schema": schema_id(SCHEMA_NAME),
        "capture": facts,
        "files": [
            {"path": path, "sha256": sha, "bytes": size} for path, sha, size in sorted(files)
        ],
        "records": [_record(r) for r in records],
        "signer": {
            "algorithm": "Ed25519",
            "public_key_pem": public_key_pem.decode("ascii"),
            "fingerprint": _fingerprint(public_key_pem),
        },
    }
    _check(document, "manifest being built")
    data: bytes = rfc8785.dumps(document)
    return data


def parse_manifest(data: bytes) -> dict[str, Any]:
    """Parse manifest bytes; SchemaError with one line naming the first problem.

    Rejects invalid JSON, bytes that are not RFC 8785 canonical (a hand-edited
    manifest), schema violations, duplicate files or records, and a signer
    fingerprint that does not match its public key.
    """
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise SchemaError(f"{MANIFEST} is not valid JSON: {err}") from None
    _check(document, MANIFEST)
    try:
        canonical = rfc8785.dumps(document)
    except (rfc8785.CanonicalizationError, ValueError, TypeError) as err:
        raise SchemaError(f"{MANIFEST} cannot be canonicalised: {err}") from None
    if canonical != data:
        raise SchemaError(f"{MANIFEST} is not RFC 8785 canonical JSON: it was re-written")
    result: dict[str, Any] = document
    return result


def _fingerprint(public_key_pem: bytes) -> str:
    try:
        return pem_fingerprint(public_key_pem)
    except SigningKeyError as err:
        raise SchemaError(f"signer public key: {err}") from None


def _record(info: RecordInfo) -> dict[str, Any]:
    return {
        "id": info.record_id,
        "type": info.type,
        "target_uri": info.target_uri,
        "date": info.date,
        "offset": info.offset,
        "length": info.length,
        "block_digest": info.block_digest,
        "payload_digest": info.payload_digest,
    }


def _check(document: Any, what: str) -> None:
    """Schema plus the rules a schema cannot say."""
    validate(document, SCHEMA_NAME, what=what)
    paths = [f["path"] for f in document["files"]]
    dupes = sorted({p for p in paths if paths.count(p) > 1})
    if dupes:
        raise SchemaError(f"{what} lists file {dupes[0]} twice")
    ids = [r["id"] for r in document["records"]]
    seen: set[str] = set()
    for rid in ids:
        if rid in seen:
            raise SchemaError(f"{what} lists record {rid} twice")
        seen.add(rid)
    signer = document["signer"]
    if _fingerprint(signer["public_key_pem"].encode("ascii")) != signer["fingerprint"]:
        raise SchemaError(f"{what}: signer fingerprint does not match its public key")
