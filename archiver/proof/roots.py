"""Trusted roots for timestamp tokens: the system store, or PEM/DER files a user gives."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path

import certifi
from cryptography import x509

from ..errors import TimestampError, UsageError


def load_certificates(blobs: Sequence[bytes]) -> list[x509.Certificate]:
    """Parse PEM bundles or DER certificates. Raises TimestampError on junk."""
    certs: list[x509.Certificate] = []
    for blob in blobs:
        try:
            if b"-----BEGIN" in blob:
                with warnings.catch_warnings():  # old roots with odd serials still parse
                    warnings.simplefilter("ignore")
                    certs.extend(x509.load_pem_x509_certificates(blob))
            else:
                certs.append(x509.load_der_x509_certificate(blob))
        except ValueError as err:
            raise TimestampError(f"not a certificate (PEM or DER): {err}") from None
    return certs


def read_roots(paths: Sequence[Path]) -> list[bytes]:
    """Read root certificate files (``--tsa-root``). UsageError (exit 2) naming a bad one."""
    roots: list[bytes] = []
    for path in paths:
        try:
            data = path.read_bytes()
        except OSError as err:
            raise UsageError(
                f"cannot read TSA root certificate {path}: {err.strerror or err}"
            ) from None
        try:
            load_certificates([data])
        except TimestampError:
            raise UsageError(f"TSA root {path} holds no PEM or DER certificate") from None
        roots.append(data)
    return roots


def system_roots() -> list[bytes]:
    """The certifi root store as one PEM bundle (plus the Debian store when present)."""
    bundles = [Path(certifi.where())]
    debian = Path("/etc/ssl/certs/ca-certificates.crt")
    if debian.is_file():
        bundles.append(debian)
    return [p.read_bytes() for p in bundles]
