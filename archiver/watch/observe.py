"""What one check saw, read back from the package its capture wrote.

The capture's result gives the status, final URL and warnings; the package gives the
``urn:text:`` document and, through the signed manifest, the main document's payload
digest (the sha256 of its body as the browser received it, decoded).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..archive import IndexEntry, read_text_document
from ..layout import MANIFEST
from ..package import WaczReader
from ..proof import parse_manifest
from .events import Observation

MANIFEST_LIMIT = 256 << 20


def main_body_sha256(path: Path) -> str | None:
    """sha256 hex of the main document's body: the payload digest the manifest lists for
    the first response record of the capture's final URL."""
    with WaczReader(path) as wacz:
        manifest = parse_manifest(wacz.read(MANIFEST, limit=MANIFEST_LIMIT))
    final = manifest["capture"].get("final_url")
    for record in manifest["records"]:
        if record["type"] == "response" and record["target_uri"] == final:
            digest = record.get("payload_digest") or ""
            return str(digest).removeprefix("sha256:") or None
    return None


def capture_facts(entry: IndexEntry) -> dict[str, Any]:
    """A capture as events name it (``event.schema.json#/$defs/capture``)."""
    return {
        "id": entry.id,
        "package_sha256": entry.package_sha256,
        "tsa_times": list(entry.tsa_times),
        "captured_at": entry.started,
        "status": entry.status,
        "final_url": entry.final_url,
        "title": entry.title,
    }


def observe(url: str, package: Path, entry: IndexEntry, warnings: list[str]) -> Observation:
    """The observation of a check whose capture wrote ``package`` (indexed as ``entry``)."""
    return Observation(
        url=url,
        time=entry.started,
        capture_id=entry.id,
        status=entry.status,
        final_url=entry.final_url,
        text_doc=read_text_document(package),
        body_sha256=main_body_sha256(package),
        text_sha256=entry.text_sha256,
        warnings=tuple(warnings),
        capture=capture_facts(entry),
        walls=tuple(entry.walls),
    )
