"""The provenance manifest: canonical bytes, schema, and refusal of edited manifests."""

from __future__ import annotations

import io
import itertools
import json
from datetime import UTC, datetime
from typing import Any

import pytest
import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from archiver.errors import SchemaError
from archiver.model import RecordInfo
from archiver.proof.manifest import build_manifest, parse_manifest
from archiver.proof.signing import fingerprint, public_pem
from archiver.warc import WarcRecorder

CAPTURE: dict[str, Any] = {
    "id": "20261127T091807Z-3f9c2a1b",
    "requested_url": "http://127.0.0.1:8000/a",
    "final_url": "http://127.0.0.1:8000/a/",
    "status": 200,
    "started": "2026-11-27T09:18:07.123456Z",
    "ended": "2026-11-27T09:18:12.000001Z",
    "software": "archiver 0.1.0",
    "browser": "Chromium 140.0.0.0",
    "user_agent": "Mozilla/5.0",
    "options": {"timeout_s": 30.0, "viewport": "1280x800", "tsa_urls": []},
}
FILES = [
    ("pages/pages.jsonl", "b" * 64, 120),
    ("archive/data.warc.gz", "a" * 64, 4096),
    ("indexes/index.cdxj", "c" * 64, 300),
]


def real_records() -> list[RecordInfo]:
    """RecordInfo from a real WARC written by warc.py (fixed ids and dates)."""
    ids = (f"<urn:uuid:00000000-0000-4000-8000-{n:012d}>" for n in itertools.count())
    rec = WarcRecorder(io.BytesIO(), page_id="page-1", make_id=lambda: next(ids))
    when = datetime(2026, 11, 27, 9, 18, 12, tzinfo=UTC)
    rec.warcinfo({"software": "archiver 0.1.0"}, date=when)
    rec.resource("urn:dom:http://127.0.0.1:8000/a/", "text/html", b"<p>hi</p>", date=when)
    rec.metadata("urn:provenance:http://127.0.0.1:8000/a/", "application/json", b"{}", date=when)
    return rec.records


KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))


def build(**changes: Any) -> bytes:
    args: dict[str, Any] = {
        "capture": CAPTURE,
        "files": FILES,
        "records": real_records(),
        "public_key_pem": public_pem(KEY),
    }
    args.update(changes)
    return build_manifest(**args)


def test_manifest_bytes_are_canonical_and_stable() -> None:
    data = build()
    assert data == build()  # same facts, same bytes
    doc = json.loads(data)
    assert rfc8785.dumps(doc) == data
    assert b"\n" not in data and b": " not in data
    assert list(doc) == sorted(doc)  # JCS orders keys
    assert doc["schema"] == "https://archiver.dev/schemas/manifest.schema.json"
    # files sorted by path whatever order they came in
    assert [f["path"] for f in doc["files"]] == sorted(p for p, _, _ in FILES)
    assert build(files=list(reversed(FILES))) == data


def test_manifest_holds_the_capture_files_records_and_signer() -> None:
    records = real_records()
    doc = parse_manifest(build(records=records))
    assert doc["capture"]["clock"] == "capturing machine's clock (not trusted time)"
    assert doc["capture"]["final_url"] == CAPTURE["final_url"]
    assert {"path": "archive/data.warc.gz", "sha256": "a" * 64, "bytes": 4096} in doc["files"]
    assert [r["type"] for r in doc["records"]] == ["warcinfo", "resource", "metadata"]
    first = doc["records"][1]
    assert first["id"] == records[1].record_id
    assert first["offset"] == records[1].offset and first["length"] == records[1].length
    assert first["block_digest"] == records[1].block_digest
    assert first["payload_digest"] == records[1].payload_digest
    assert first["target_uri"] == "urn:dom:http://127.0.0.1:8000/a/"
    assert doc["records"][0]["payload_digest"] is None
    assert doc["signer"] == {
        "algorithm": "Ed25519",
        "public_key_pem": public_pem(KEY).decode(),
        "fingerprint": fingerprint(KEY),
    }


def test_building_with_bad_facts_names_the_problem() -> None:
    with pytest.raises(SchemaError, match="at capture: 'final_url' is a required property"):
        build(capture={k: v for k, v in CAPTURE.items() if k != "final_url"})
    with pytest.raises(SchemaError, match="at files/0/path"):
        build(files=[("provenance/manifest.json", "a" * 64, 1)])
    with pytest.raises(SchemaError, match=r"lists file archive/data\.warc\.gz twice"):
        build(files=[FILES[1], FILES[1]])


def edit(data: bytes, change: Any) -> bytes:
    doc = json.loads(data)
    change(doc)
    return rfc8785.dumps(doc)


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        (lambda d: b"{" + d, "is not valid JSON"),
        (lambda d: json.dumps(json.loads(d), indent=1).encode(), "is not RFC 8785 canonical"),
        (lambda d: edit(d, lambda m: m.pop("records")), "'records' is a required property"),
        (lambda d: edit(d, lambda m: m.update(extra=1)), "Additional properties"),
        (
            lambda d: edit(d, lambda m: m["files"][0].update(sha256="XYZ")),
            "at files/0/sha256",
        ),
        (
            lambda d: edit(d, lambda m: m["records"].append(m["records"][0])),
            "lists record <urn:uuid:00000000-0000-4000-8000-000000000000> twice",
        ),
        (
            lambda d: edit(d, lambda m: m["signer"].update(fingerprint="0" * 64)),
            "signer fingerprint does not match its public key",
        ),
    ],
)
def test_tampered_manifest_is_rejected_on_parse(tamper: Any, message: str) -> None:
    bad = tamper(build())
    with pytest.raises(SchemaError) as err:
        parse_manifest(bad)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_parse_returns_exactly_what_was_built() -> None:
    data = build()
    assert rfc8785.dumps(parse_manifest(data)) == data
