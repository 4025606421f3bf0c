"""What an app instance serves and how: the archive, the token, the capture policy."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..capture.netpolicy import NetworkPolicy

MAX_BODY = 64 * 1024  # bytes of any request body the app accepts
ID_PATTERN = r"[0-9]{8}T[0-9]{6}Z-[0-9a-f]{8}"


@dataclass
class AppSettings:
    """Everything an app needs; ``archiver serve`` fills it from options and config.

    ``token``: when set, every request must carry it (bearer header, or the session
    cookie the login form sets). ``replay_port``: the second origin replay runs on
    (None: replay disabled). ``key``: the signing key for captures made through the app
    (None: the capture form is disabled). ``policy``: the network policy of those
    captures. ``replayweb``: the folder holding ReplayWeb.page's ``ui.js`` and ``sw.js``.
    ``store``: an ``archiver.storage.Store`` whose packages are taken into the archive on
    start and every ``sync_every`` seconds (None: the archive folder alone).
    """

    archive: Path
    token: str | None = None
    key: Any = None
    tsa_urls: tuple[str, ...] = ()
    capture_timeout: float = 30.0
    policy: NetworkPolicy = field(default_factory=NetworkPolicy.public_only)
    trusted_keys_file: Path | None = None
    replayweb: Path | None = None
    replay_port: int | None = None
    page_size: int = 50
    store: Any = None
    sync_every: float = 60.0
    secret: bytes = field(default_factory=lambda: secrets.token_bytes(32))

    def sign(self, purpose: str, value: str) -> str:
        """An HMAC of ``value`` for one ``purpose`` (session, csrf, replay capability)."""
        mac = hmac.new(self.secret, f"{purpose}\0{value}".encode(), hashlib.sha256)
        return mac.hexdigest()[:40]

    def signed_ok(self, purpose: str, value: str, mac: str) -> bool:
        return hmac.compare_digest(self.sign(purpose, value), mac)

    def token_ok(self, offered: str) -> bool:
        if self.token is None:
            return True
        return hmac.compare_digest(offered.encode("utf-8"), self.token.encode("utf-8"))
