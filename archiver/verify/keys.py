"""Trusted signing keys: ``--trust-key`` PEM bytes and the trusted-keys file.

Trusted-keys file format (UTF-8 text), one entry per PEM block or per line:

* a PEM public key block (``-----BEGIN PUBLIC KEY-----`` ... ``-----END PUBLIC KEY-----``),
  exactly as in a package's ``provenance/signer.pub.pem`` or ``archiver key show``;
* or a fingerprint: the sha256 hex of the key's SPKI DER (64 hex digits, as
  ``archiver key show`` prints it), optionally prefixed ``sha256:`` and/or written
  with ``:`` between byte pairs;
* text after ``#`` on a fingerprint line is a comment, and names that key (e.g. which
  worker holds it); a ``#`` comment line right before a PEM block (blank lines between
  allowed) names that key; other blank lines and lines starting with ``#`` are ignored.

``verify`` reports the name of a trusted signer key (``signer_name``). Example::

    # newsroom desk laptop
    3f9c2a1b...64 hex digits...  # worker-2
    # worker-3
    -----BEGIN PUBLIC KEY-----
    MCowBQYDK2VwAyEA...
    -----END PUBLIC KEY-----

Here ``worker-2`` and ``worker-3`` name their keys; ``newsroom desk laptop`` names none.

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
MAX_NAME = 100  # characters of a key's name kept

# fingerprint -> the name the file gives that key (None: unnamed)
TrustedKeys = dict[str, str | None]


def _name(comment: str) -> str | None:
    """A key's name from a comment: printable characters only, bounded."""
    text = "".join(ch for ch in comment if ch.isprintable()).strip()
    return text[:MAX_NAME] or None


def _fingerprint_line(text: str) -> tuple[str, str | None] | None:
    value, _, comment = text.partition("#")
    value = value.strip().lower()
    if not value:
        return None
    value = value.removeprefix("sha256:").replace(":", "")
    if not _HEX.fullmatch(value):
        raise ValueError(value)
    return value, _name(comment)


def _comment_before(data: bytes, start: int) -> str | None:
    """The name a ``# ...`` line right before offset ``start`` gives (blank lines skipped)."""
    for raw in reversed(data[:start].splitlines()):
        line = raw.decode("utf-8", "replace").strip()
        if line:
            return _name(line[1:]) if line.startswith("#") else None
    return None


def _add(found: TrustedKeys, fp: str, name: str | None) -> None:
    if found.get(fp) is None:  # a key listed twice keeps the first name given
        found[fp] = name


def parse_named_keys(data: bytes, *, source: str = "trusted keys file") -> TrustedKeys:
    """Every key in a trusted-keys file (format in the module doc), fingerprint -> name."""
    found: TrustedKeys = {}
    for match in _PEM.finditer(data):
        try:
            fp = pem_fingerprint(match.group(0))
        except SigningKeyError as err:
            raise UsageError(f"{source}: a PEM block is not an Ed25519 public key") from err
        _add(found, fp, _comment_before(data, match.start()))
    rest = _PEM.sub(b"", data)
    try:
        text = rest.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"{source} is not UTF-8 text") from None
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip().startswith("#"):
            continue
        try:
            entry = _fingerprint_line(line)
        except ValueError:
            raise UsageError(
                f"{source} line {number}: expected a PEM public key or a 64-hex-digit "
                f"sha256 fingerprint, got {line.strip()[:40]!r}"
            ) from None
        if entry:
            _add(found, *entry)
    return found


def parse_trusted_keys(data: bytes, *, source: str = "trusted keys file") -> set[str]:
    """Fingerprints of every key in a trusted-keys file (``parse_named_keys`` without
    the names)."""
    return set(parse_named_keys(data, source=source))


def trusted_keys(trust_keys: Sequence[bytes], trusted_keys_file: Path | None) -> TrustedKeys:
    """Every trusted key from ``--trust-key`` blobs and a trusted-keys file, fingerprint ->
    the name the file gives it (None when unnamed).

    Each ``trust_keys`` blob is read like a trusted-keys file (normally one PEM key).
    Raises UsageError (exit 2) for an unreadable file or an entry that is not a key.
    """
    found: TrustedKeys = {}
    for i, blob in enumerate(trust_keys, 1):
        keys = parse_named_keys(blob, source=f"trusted key #{i}")
        if not keys:
            raise UsageError(f"trusted key #{i} holds no PEM public key or fingerprint")
        for fp, name in keys.items():
            _add(found, fp, name)
    if trusted_keys_file is not None:
        try:
            data = Path(trusted_keys_file).read_bytes()
        except OSError as err:
            raise UsageError(
                f"cannot read trusted keys file {trusted_keys_file}: {err.strerror or err}"
            ) from None
        for fp, name in parse_named_keys(data, source=str(trusted_keys_file)).items():
            _add(found, fp, name)
    return found


def trusted_fingerprints(trust_keys: Sequence[bytes], trusted_keys_file: Path | None) -> set[str]:
    """Every trusted fingerprint (``trusted_keys`` without the names)."""
    return set(trusted_keys(trust_keys, trusted_keys_file))


def read_trust_keys(paths: Sequence[Path]) -> list[bytes]:
    """Read ``--trust-key`` files; UsageError (exit 2) naming an unreadable one."""
    blobs: list[bytes] = []
    for path in paths:
        try:
            blobs.append(Path(path).read_bytes())
        except OSError as err:
            raise UsageError(f"cannot read trusted key {path}: {err.strerror or err}") from None
    return blobs
