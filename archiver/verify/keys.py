"""Trusted signing keys: ``--trust-key`` PEM bytes and the trusted-keys file.

Trusted-keys file format (UTF-8 text), one entry per PEM block or per line:

* a PEM public key block (``-----BEGIN PUBLIC KEY-----`` ... ``-----END PUBLIC KEY-----``),
  exactly as in a package's ``provenance/signer.pub.pem`` or ``archiver key show``;
* or a fingerprint: the sha256 hex of the key's SPKI DER (64 hex digits, as
  ``archiver key show`` prints it), optionally prefixed ``sha256:`` and/or written
  with ``:`` between byte pairs;
* text after ``#`` on a fingerprint line is a comment (e.g. whose key it is); blank
  lines and lines starting with ``#`` are ignored.

Example::

    # newsroom desk laptop
    3f9c2a1b...64 hex digits...  # Anna, 2026 key
    -----BEGIN PUBLIC KEY-----
    MCowBQYDK2VwAyEA...
    -----END PUBLIC KEY-----

Anything else in the file is refused with a ``UsageError`` naming the line, so a
typo never silently trusts nothing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from ..errors import SigningKeyError, UsageError
from ..proof.signing import pem_fingerprint

_HEX = re.compile(r"[0-9a-f]{64}")
_PEM = re.compile(rb"-----BEGIN PUBLIC KEY-----.+?-----END PUBLIC KEY-----", re.DOTALL)


def _fingerprint_line(text: str) -> str | None:
    value = text.split("#", 1)[0].strip().lower()
    if not value:
        return None
    value = value.removeprefix("sha256:").replace(":", "")
    if not _HEX.fullmatch(value):
        raise ValueError(value)
    return value


def parse_trusted_keys(data: bytes, *, source: str = "trusted keys file") -> set[str]:
    """Fingerprints of every key in a trusted-keys file (format in the module doc)."""
    found: set[str] = set()
    for match in _PEM.finditer(data):
        try:
            found.add(pem_fingerprint(match.group(0)))
        except SigningKeyError as err:
            raise UsageError(f"{source}: a PEM block is not an Ed25519 public key") from err
    rest = _PEM.sub(b"", data)
    try:
        text = rest.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"{source} is not UTF-8 text") from None
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip().startswith("#"):
            continue
        try:
            fp = _fingerprint_line(line)
        except ValueError:
            raise UsageError(
                f"{source} line {number}: expected a PEM public key or a 64-hex-digit "
                f"sha256 fingerprint, got {line.strip()[:40]!r}"
            ) from None
        if fp:
            found.add(fp)
    return found


def trusted_fingerprints(trust_keys: Sequence[bytes], trusted_keys_file: Path | None) -> set[str]:
    """Every trusted fingerprint from ``--trust-key`` blobs and a trusted-keys file.

    Each ``trust_keys`` blob is read like a trusted-keys file (normally one PEM key).
    Raises UsageError (exit 2) for an unreadable file or an entry that is not a key.
    """
    found: set[str] = set()
    for i, blob in enumerate(trust_keys, 1):
        keys = parse_trusted_keys(blob, source=f"trusted key #{i}")
        if not keys:
            raise UsageError(f"trusted key #{i} holds no PEM public key or fingerprint")
        found |= keys
    if trusted_keys_file is not None:
        try:
            data = Path(trusted_keys_file).read_bytes()
        except OSError as err:
            raise UsageError(
                f"cannot read trusted keys file {trusted_keys_file}: {err.strerror or err}"
            ) from None
        found |= parse_trusted_keys(data, source=str(trusted_keys_file))
    return found


def read_trust_keys(paths: Sequence[Path]) -> list[bytes]:
    """Read ``--trust-key`` files; UsageError (exit 2) naming an unreadable one."""
    blobs: list[bytes] = []
    for path in paths:
        try:
            blobs.append(Path(path).read_bytes())
        except OSError as err:
            raise UsageError(f"cannot read trusted key {path}: {err.strerror or err}") from None
    return blobs
