"""Ed25519 signing keys: create, load, sign, and check signatures.

Keys are PKCS#8 PEM files with mode 0600, optionally encrypted with a passphrase.
The private key is never printed, logged or packed: only ``public_pem`` and
``fingerprint`` leave this module. ``verify_signature`` is pure (bytes in, verdict
out) so ``verify.py`` can reuse it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import tempfile
from pathlib import Path

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ..errors import SigningKeyError

ALGORITHM = "Ed25519"


def load_or_create_key(
    path: Path, *, passphrase: bytes | None, may_create: bool
) -> tuple[Ed25519PrivateKey, bool]:
    """The key at ``path``; returns (key, created).

    The policy for a first capture: when the user named no key file (``may_create``)
    and none exists at the default place, a new one is created there. A key file the
    user named must exist: it is never created behind their back.
    """
    if may_create and not path.exists():
        return generate_key(path, passphrase=passphrase, force=False), True
    return load_key(path, passphrase=passphrase), False


def generate_key(path: Path, *, passphrase: bytes | None, force: bool) -> Ed25519PrivateKey:
    """Create a new Ed25519 key at ``path`` (mode 0600, written atomically).

    Refuses to replace an existing file unless ``force``.
    """
    if path.exists() and not force:
        raise SigningKeyError(f"a signing key already exists at {path}: use --force to replace it")
    key = Ed25519PrivateKey.generate()
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase)
        if passphrase
        else serialization.NoEncryption()
    )
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        _write_private(path, pem, replace=force)
    except OSError as err:
        raise SigningKeyError(f"cannot write signing key {path}: {err.strerror or err}") from err
    return key


def _write_private(path: Path, data: bytes, *, replace: bool) -> None:
    """Write ``data`` to a 0600 temp file beside ``path`` and move it into place."""
    fd, tmp = tempfile.mkstemp(prefix=".signing-key-", dir=path.parent)  # mode 0600
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        if replace:
            os.replace(tmp, path)
        else:
            os.link(tmp, path)  # fails if a key appeared meanwhile: never clobber
            os.unlink(tmp)
    except FileExistsError:
        os.unlink(tmp)
        raise SigningKeyError(
            f"a signing key already exists at {path}: use --force to replace it"
        ) from None
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def load_key(path: Path, *, passphrase: bytes | None) -> Ed25519PrivateKey:
    """Read the Ed25519 private key at ``path``; SigningKeyError says what is wrong."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise SigningKeyError(f"no signing key at {path}: run 'archiver key generate'") from None
    except IsADirectoryError:
        raise SigningKeyError(f"signing key path {path} is a directory, not a key file") from None
    except OSError as err:
        raise SigningKeyError(f"cannot read signing key {path}: {err.strerror or err}") from err
    try:
        key = serialization.load_pem_private_key(data, password=passphrase or None)
    except TypeError as err:
        if passphrase:
            raise SigningKeyError(
                f"signing key {path} is not encrypted: omit the passphrase"
            ) from err
        raise SigningKeyError(
            f"signing key {path} is encrypted: give its passphrase (ARCHIVER_KEY_PASSPHRASE)"
        ) from err
    except ValueError as err:
        if passphrase and b"ENCRYPTED PRIVATE KEY" in data:
            raise SigningKeyError(f"wrong passphrase for signing key {path}") from err
        raise SigningKeyError(f"{path} is not a PEM private key") from err
    except UnsupportedAlgorithm as err:
        raise SigningKeyError(f"{path} holds a key type this tool cannot use") from err
    if not isinstance(key, Ed25519PrivateKey):
        kind = type(key).__name__.removeprefix("_").replace("PrivateKey", "")
        raise SigningKeyError(f"signing key {path} is a {kind} key, not Ed25519")
    return key


def exposure_warning(path: Path, what: str = "signing key") -> str | None:
    """The warning for a key file (or another secret: ``what``) that others than its
    owner may read or change (like ssh, which refuses such a key; we warn and go on), or
    None."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return None
    if os.name != "posix" or not mode & 0o077:
        return None
    how = "readable" if mode & 0o044 else "writable"
    return f"{what} {path} is {how} by others (mode {mode:04o}): chmod 600 {path}"


def is_encrypted(path: Path) -> bool:
    """True when the key file at ``path`` is a passphrase-protected PKCS#8 PEM."""
    try:
        with path.open("rb") as fh:
            head = fh.read(4096)
    except OSError:
        return False
    return b"-----BEGIN ENCRYPTED PRIVATE KEY-----" in head


def public_pem(key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    """The public key as SPKI PEM (what ``provenance/signer.pub.pem`` holds)."""
    pub = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return pub.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def fingerprint(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """sha256 hex of the public key's SPKI DER encoding."""
    pub = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    der = pub.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()


def sign(key: Ed25519PrivateKey, data: bytes) -> bytes:
    """The 64-byte Ed25519 signature over ``data``."""
    return key.sign(data)


def load_public_pem(pem: bytes) -> Ed25519PublicKey:
    """Parse an SPKI PEM public key; SigningKeyError unless it is Ed25519."""
    try:
        pub = serialization.load_pem_public_key(pem)
    except (ValueError, UnsupportedAlgorithm) as err:
        raise SigningKeyError("public key is not a valid PEM public key") from err
    if not isinstance(pub, Ed25519PublicKey):
        raise SigningKeyError("public key is not an Ed25519 key")
    return pub


def pem_fingerprint(pem: bytes) -> str:
    """sha256 hex of the SPKI DER of an Ed25519 PEM public key; SigningKeyError if not one."""
    return fingerprint(load_public_pem(pem))


def verify_signature(public_key_pem: bytes, data: bytes, signature: bytes) -> bool:
    """Pure check: True when ``signature`` is a valid Ed25519 signature of ``data``.

    Returns False for a wrong signature or a key that cannot be parsed; never raises
    for bad input, never touches the network.
    """
    try:
        pub = load_public_pem(public_key_pem)
        pub.verify(signature, data)
    except (SigningKeyError, InvalidSignature):
        return False
    return True
