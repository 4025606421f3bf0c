"""Signed webhook bodies (pure: no network): the headers a POST carries and the check a
receiver runs.

Each POST carries ``X-Archiver-Timestamp: <unix seconds>`` and
``X-Archiver-Signature: sha256=<hex>``, the HMAC-SHA256, keyed with the shared secret,
of ``<timestamp>.<body>`` (the exact bytes sent). Signing the timestamp with the body
lets a receiver refuse an old POST replayed later (``tolerance_s``); the body holds the
event's ``id``, so within that window a receiver drops a repeat by its id. Hex, as
GitHub's ``X-Hub-Signature-256``, and the timestamp in the signed text, as Stripe's
``Stripe-Signature``: ``printf '%s.%s' "$ts" "$body" | openssl dgst -sha256 -hmac
"$secret"`` computes the same signature.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from ..errors import ArchiverError, UsageError

TIMESTAMP_HEADER = "X-Archiver-Timestamp"
SIGNATURE_HEADER = "X-Archiver-Signature"
SCHEME = "sha256="
TOLERANCE_S = 300
SHORT_SECRET = 16  # bytes: a shorter secret is warned about
MAX_SECRET_FILE = 1 << 16


class WebhookSignatureError(ArchiverError):
    """A webhook POST whose signature is missing, malformed, wrong or too old: the
    receiver should refuse it (answer 401 or 403). ``str(err)`` says which."""


class Headers(Protocol):
    """Anything with ``items()``: a dict, ``http.server``'s headers, a framework's."""

    def items(self) -> Iterable[tuple[str, Any]]: ...


def _key(secret: bytes | str) -> bytes:
    return secret.encode("utf-8") if isinstance(secret, str) else bytes(secret)


def signature(secret: bytes | str, timestamp: int, body: bytes) -> str:
    """``sha256=<hex>``: HMAC-SHA256 of ``<timestamp>.<body>`` keyed with ``secret``."""
    signed = str(int(timestamp)).encode("ascii") + b"." + body
    return SCHEME + hmac.new(_key(secret), signed, hashlib.sha256).hexdigest()


def sign_webhook(secret: bytes | str, body: bytes, *, timestamp: int) -> dict[str, str]:
    """The headers that sign ``body`` as sent at ``timestamp`` (unix seconds)."""
    return {
        TIMESTAMP_HEADER: str(int(timestamp)),
        SIGNATURE_HEADER: signature(secret, timestamp, body),
    }


def verify_webhook(
    secret: bytes | str,
    headers: Headers,
    body: bytes,
    *,
    now: datetime | float,
    tolerance_s: float = TOLERANCE_S,
) -> bool:
    """True if ``body`` was signed with ``secret`` within ``tolerance_s`` seconds of
    ``now`` (a datetime or unix seconds, either side); else WebhookSignatureError, never
    False (so ``if verify_webhook(...)`` and ``try: verify_webhook(...)`` both hold).

    ``headers`` are the request's headers (names in any case); ``body`` the exact bytes
    received, before any JSON parsing. Pure: no network, no clock but ``now``.
    """
    if not isinstance(body, bytes | bytearray | memoryview):
        raise TypeError("verify_webhook needs the body as the bytes received, not text")
    if not _key(secret):
        raise WebhookSignatureError("no webhook secret to check the signature with")
    stamp = _header(headers, TIMESTAMP_HEADER)
    given = _header(headers, SIGNATURE_HEADER)
    if stamp is None:
        raise WebhookSignatureError(f"no {TIMESTAMP_HEADER} header: the POST is not signed")
    if given is None:
        raise WebhookSignatureError(f"no {SIGNATURE_HEADER} header: the POST is not signed")
    if not (stamp.isascii() and stamp.isdigit() and len(stamp) <= 12):
        raise WebhookSignatureError(f"{TIMESTAMP_HEADER} {stamp[:40]!r} is not unix seconds")
    if not given.startswith(SCHEME):
        raise WebhookSignatureError(f"{SIGNATURE_HEADER} does not start with {SCHEME!r}")
    expected = signature(secret, int(stamp), bytes(body))
    if not hmac.compare_digest(expected.encode("ascii"), given.strip().lower().encode()):
        raise WebhookSignatureError(
            "the signature does not match: another secret, or the body or timestamp was changed"
        )
    now_s = now.timestamp() if isinstance(now, datetime) else float(now)
    skew = now_s - int(stamp)
    if abs(skew) > tolerance_s:
        when = "old" if skew > 0 else "in the future"
        raise WebhookSignatureError(
            f"the signature is {abs(skew):.0f} s {when} (tolerance {tolerance_s:g} s): "
            "a replay, or a clock that is off"
        )
    return True


def _header(headers: Headers, name: str) -> str | None:
    wanted = name.lower()
    for key, value in headers.items():
        if str(key).lower() == wanted:
            return value.decode("latin-1") if isinstance(value, bytes) else str(value)
    return None


def read_webhook_secret(path: Path, source: str = "--webhook-secret") -> bytes:
    """The secret in the file at ``path``, without surrounding whitespace (a trailing
    newline is not part of it). UsageError (exit 2), one line, when the file is
    missing, unreadable, too large or holds no secret."""
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_SECRET_FILE + 1)
    except FileNotFoundError:
        raise UsageError(f"{source} {path}: no such file") from None
    except IsADirectoryError:
        raise UsageError(f"{source} {path} is a directory, not a secret file") from None
    except OSError as err:
        raise UsageError(f"{source} {path}: cannot read it: {err.strerror or err}") from None
    if len(data) > MAX_SECRET_FILE:
        raise UsageError(f"{source} {path} is over {MAX_SECRET_FILE} bytes: not a secret file")
    secret = data.strip()
    if not secret:
        raise UsageError(f"{source} {path} is empty: put the shared secret in it")
    return secret


def secret_warnings(path: Path, secret: bytes) -> list[str]:
    """Warnings about a secret file that works but should not be left as it is."""
    from ..proof.signing import exposure_warning

    warnings = []
    exposed = exposure_warning(path, what="webhook secret")
    if exposed:
        warnings.append(exposed)
    if len(secret) < SHORT_SECRET:
        warnings.append(
            f"webhook secret in {path} is short ({len(secret)} bytes): "
            "use 32 random bytes or more (openssl rand -hex 32)"
        )
    return warnings
