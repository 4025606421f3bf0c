"""One capture as the archive's index knows it, and how capture ids are made."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any


def new_capture_id(now: datetime) -> str:
    """``YYYYMMDDTHHMMSSZ-<8 random hex>``: sorts by time; 32 random bits per second."""
    now = now.astimezone(UTC) if now.tzinfo else now.replace(tzinfo=UTC)
    return f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(4)}"


@dataclass
class IndexEntry:
    """One capture as the index knows it.

    Times are ISO 8601 UTC strings; ``text_sha256`` is the sha256 hex of the article
    text (UTF-8) or None when there is no article; ``signed_by`` is the signer's key
    fingerprint; ``tsa_times`` the genTime of each timestamp token.
    """

    id: str
    url: str
    final_url: str
    started: str
    ended: str
    status: int
    title: str
    package_sha256: str
    text_sha256: str | None = None
    signed_by: str | None = None
    tsa_times: list[str] = field(default_factory=list)
    # what still hid the article when it was captured: "consent", "login/paywall",
    # "bot check" (the manifest's capture.walls); such a capture counts as unavailable
    walls: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def text_sha256(text_doc: Any) -> str | None:
    """sha256 hex of the article text of a ``urn:text:`` document, None without article."""
    article = text_doc.get("article") if isinstance(text_doc, dict) else None
    if not isinstance(article, dict):
        return None
    return hashlib.sha256(str(article.get("text", "")).encode("utf-8")).hexdigest()
