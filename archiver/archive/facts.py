"""What a package says about its capture, read from its own members for people to see.

The web app's capture page and the evidence report show the same facts: the signed
manifest's capture block, the ``urn:provenance:`` record (final URL, server IP, TLS
chain, warnings), the ``urn:text:`` article, the ``warcinfo`` fields, the hashes of
the package, its manifest and WARC. Every read is bounded. Nothing here says whether
the facts are true: that is ``archiver.verify``'s job, and both pages show its report
beside them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import PackageError
from ..layout import MANIFEST, WARC
from ..package import WaczReader, sha256_file
from ..warc import read_record_at

_SMALL = 16 << 20  # bound on a JSON record or member read for display
MAX_SCREENSHOT = 64 << 20


@dataclass
class PackageFacts:
    """A package's own account of its capture (unverified: pair it with a VerifyReport)."""

    path: Path
    package_sha256: str
    package_bytes: int
    manifest_sha256: str | None = None
    capture: dict[str, Any] = field(default_factory=dict)
    files: list[dict[str, Any]] = field(default_factory=list)
    signer_fingerprint: str | None = None
    provenance: dict[str, Any] | None = None
    text: dict[str, Any] | None = None
    warcinfo: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def warc_sha256(self) -> str | None:
        return next((str(f["sha256"]) for f in self.files if f.get("path") == WARC), None)

    def to_json(self) -> dict[str, Any]:
        prov = self.provenance or {}
        return {
            "package_sha256": self.package_sha256,
            "package_bytes": self.package_bytes,
            "manifest_sha256": self.manifest_sha256,
            "warc_sha256": self.warc_sha256,
            "capture": self.capture,
            "files": self.files,
            "signer_fingerprint": self.signer_fingerprint,
            "provenance": {
                "requested_url": prov.get("requested_url"),
                "final_url": prov.get("final_url"),
                "redirects": list(prov.get("redirects") or []),
                "status": prov.get("status"),
                "mime": prov.get("mime"),
                "server_ip": prov.get("server_ip"),
                "tls_chain_pem": list(prov.get("tls_chain_pem") or []),
                "tls": tls_summary(list(prov.get("tls_chain_pem") or [])),
                "browser": prov.get("browser"),
                "user_agent": prov.get("user_agent"),
                "viewport": prov.get("viewport"),
                "timings_ms": prov.get("timings_ms") or {},
                "network_policy": prov.get("network_policy"),
                "warnings": list(prov.get("warnings") or []),
            }
            if self.provenance is not None
            else None,
            "warcinfo": self.warcinfo,
            "problems": list(self.problems),
        }


def read_facts(path: Path) -> PackageFacts:
    """The facts of one package; PackageError when it cannot be opened as a zip at all.

    A member that is missing or unreadable is noted in ``problems``, not raised: a
    damaged package still shows what can be read from it.
    """
    digest, size = sha256_file(path)
    facts = PackageFacts(path, digest.removeprefix("sha256:"), size)
    with WaczReader(path) as wacz:
        manifest: dict[str, Any] = {}
        if MANIFEST in wacz.names():
            raw = wacz.read(MANIFEST, limit=_SMALL)
            facts.manifest_sha256 = hashlib.sha256(raw).hexdigest()
            manifest = _json_object(raw, MANIFEST, facts.problems)
        else:
            facts.problems.append(f"{MANIFEST} is missing")
        facts.capture = _dict(manifest.get("capture"))
        facts.files = [f for f in manifest.get("files") or [] if isinstance(f, dict)]
        facts.signer_fingerprint = _dict(manifest.get("signer")).get("fingerprint")
        records = [r for r in manifest.get("records") or [] if isinstance(r, dict)]
        if WARC not in wacz.names():
            facts.problems.append(f"{WARC} is missing")
            return facts
        for kind, prefix in (("provenance", "urn:provenance:"), ("text", "urn:text:")):
            record = _find(records, prefix)
            if record is None:
                facts.problems.append(f"no {prefix} record in the manifest")
                continue
            try:
                data = _record_block(wacz, int(record["offset"]), _SMALL)
            except (PackageError, KeyError, ValueError) as exc:
                facts.problems.append(f"{prefix} record unreadable: {exc}")
                continue
            setattr(facts, kind, _json_object(data, prefix + " record", facts.problems) or None)
        info = next((r for r in records if r.get("type") == "warcinfo"), None)
        if info is not None:
            try:
                data = _record_block(wacz, int(info["offset"]), _SMALL)
                facts.warcinfo = _warcinfo_fields(data)
            except (PackageError, KeyError, ValueError) as exc:
                facts.problems.append(f"warcinfo record unreadable: {exc}")
    return facts


def read_screenshot(path: Path) -> bytes | None:
    """The PNG of the ``urn:screenshot:`` record, or None when the package has none."""
    with WaczReader(path) as wacz:
        if MANIFEST not in wacz.names() or WARC not in wacz.names():
            return None
        manifest = _json_object(wacz.read(MANIFEST, limit=_SMALL), MANIFEST, [])
        records = [r for r in manifest.get("records") or [] if isinstance(r, dict)]
        record = _find(records, "urn:screenshot:")
        if record is None:
            return None
        try:
            data = _record_block(wacz, int(record["offset"]), MAX_SCREENSHOT)
        except (KeyError, ValueError) as exc:
            raise PackageError(f"urn:screenshot: record of {path} unreadable: {exc}") from exc
    return data if data.startswith(b"\x89PNG\r\n\x1a\n") else None


def _find(records: list[dict[str, Any]], prefix: str) -> dict[str, Any] | None:
    return next((r for r in records if str(r.get("target_uri") or "").startswith(prefix)), None)


def _record_block(wacz: WaczReader, offset: int, limit: int) -> bytes:
    with wacz.open(WARC) as stream:
        _info, record = read_record_at(stream, offset)
        data: bytes = record.raw_stream.read(limit + 1)
        record.raw_stream.close()
    if len(data) > limit:
        raise PackageError(f"record at offset {offset} is larger than {limit} bytes")
    return data


def _json_object(data: bytes, what: str, problems: list[str]) -> dict[str, Any]:
    try:
        doc = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        problems.append(f"{what} is not JSON: {exc}")
        return {}
    if not isinstance(doc, dict):
        problems.append(f"{what} is not a JSON object")
        return {}
    return doc


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _warcinfo_fields(data: bytes) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in data.decode("utf-8", "replace").splitlines():
        name, sep, value = line.partition(":")
        if sep and name.strip():
            fields[name.strip()] = value.strip()
    return fields


def tls_summary(chain_pem: list[str]) -> list[dict[str, str | None]]:
    """Subject, issuer, validity and sha256 of each certificate of a PEM chain."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    out: list[dict[str, str | None]] = []
    for pem in chain_pem:
        try:
            cert = x509.load_pem_x509_certificate(str(pem).encode("ascii"))
        except (ValueError, UnicodeEncodeError) as exc:
            out.append(
                {
                    "subject": None,
                    "issuer": None,
                    "not_before": None,
                    "not_after": None,
                    "sha256": None,
                    "error": str(exc),
                }
            )
            continue
        out.append(
            {
                "subject": cert.subject.rfc4514_string(),
                "issuer": cert.issuer.rfc4514_string(),
                "not_before": cert.not_valid_before_utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "not_after": cert.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "sha256": cert.fingerprint(hashes.SHA256()).hex(),
                "error": None,
            }
        )
    return out
