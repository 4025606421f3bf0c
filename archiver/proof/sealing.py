"""Seal a capture: manifest -> Ed25519 signature -> RFC 3161 tokens over the signature.

``seal`` produces the ``provenance/`` members of a new package; ``add_timestamps``
adds tokens to an existing package later (``archiver timestamp``), over its
existing signature bytes, so only the new ``.tsr`` files and the datapackage change.
A TSA that fails is a warning naming it, never a lost capture.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, NamedTuple

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from .. import layout, package
from ..errors import PackageError, TimestampError
from ..model import RecordInfo
from . import signing
from .manifest import build_manifest, parse_manifest

MANIFEST_LIMIT = 256 << 20  # a manifest lists records; refuse absurd sizes


def hash_content(content: Sequence[tuple[str, Path | bytes]]) -> list[tuple[str, str, int]]:
    """(path, sha256 hex, size) of each content file; files are streamed, not loaded."""
    out: list[tuple[str, str, int]] = []
    for name, source in content:
        if isinstance(source, bytes):
            out.append((name, hashlib.sha256(source).hexdigest(), len(source)))
        else:
            label, size = package.sha256_file(source)
            out.append((name, label.removeprefix("sha256:"), size))
    return out


def seal(
    *,
    capture: Mapping[str, Any],
    content: Sequence[tuple[str, Path | bytes]],
    records: Sequence[RecordInfo],
    key: Ed25519PrivateKey,
    tsa_urls: Sequence[str],
    timeout: float,
) -> tuple[list[tuple[str, bytes]], list[str]]:
    """Build, sign and timestamp the manifest of one capture.

    Returns (provenance members to add to the package, warnings). Only the public
    key is packed. With every TSA failing the capture is still signed, with a loud
    warning that it has no trusted time.
    """
    pem = signing.public_pem(key)
    manifest = build_manifest(
        capture=capture, files=hash_content(content), records=records, public_key_pem=pem
    )
    signature = signing.sign(key, manifest)
    entries: list[tuple[str, bytes]] = [
        (layout.MANIFEST, manifest),
        (layout.SIGNATURE, signature),
        (layout.SIGNER, pem),
    ]
    tokens, warnings = _collect_tokens(signature, tsa_urls, timeout)
    entries.extend((layout.token_path(n), tsr) for n, tsr in enumerate(tokens))
    if not tokens:
        warnings.append(_no_time_warning(str(capture.get("id", "ID")), bool(tsa_urls)))
    return entries, warnings


class Timestamped(NamedTuple):
    """What ``add_timestamps`` did; unpacks as ``added, failures, package_sha256``."""

    added: list[str]  # zip paths of the new tokens; empty: the package is unchanged
    failures: list[str]  # one line per TSA that gave no token, naming it and why
    package_sha256: str | None  # new sha256 when the package was rewritten, else None


def add_timestamps(package_path: Path, tsa_urls: Sequence[str], *, timeout: float) -> Timestamped:
    """Ask TSAs to timestamp an existing package's signature and add the tokens.

    The signature must verify against the packed manifest and public key first.
    New tokens are numbered after the existing ones; only the new ``.tsr`` members,
    ``datapackage.json`` and ``datapackage-digest.json`` change. Raises
    TimestampError when no TSA is given; a package that cannot be read or whose
    signature fails raises PackageError.
    """
    if not tsa_urls:
        raise TimestampError("no TSA to ask: give --tsa URL or configure default TSAs")
    with package.WaczReader(package_path) as reader:
        names = reader.names()
        for needed in layout.SIGNED:
            if needed not in names:
                raise PackageError(f"{package_path} has no {needed}: it was never signed")
        manifest = reader.read(layout.MANIFEST, limit=MANIFEST_LIMIT)
        signature = reader.read(layout.SIGNATURE, limit=4096)
        pem = reader.read(layout.SIGNER, limit=4096)
    if not signing.verify_signature(pem, manifest, signature):
        raise PackageError(
            f"{package_path}: {layout.SIGNATURE} does not verify: refusing to timestamp it"
        )
    parse_manifest(manifest)  # a signed but malformed manifest is refused here too
    existing = [n for name in names if (n := layout.token_number(name)) is not None]
    start = max(existing) + 1 if existing else 0
    tokens, failures = _collect_tokens(signature, tsa_urls, timeout)
    if not tokens:
        return Timestamped([], failures, None)
    add = [(layout.token_path(start + i), tsr) for i, tsr in enumerate(tokens)]
    sha = package.rewrite_wacz(package_path, add)
    return Timestamped([name for name, _ in add], failures, sha)


def _collect_tokens(
    signature: bytes, tsa_urls: Sequence[str], timeout: float
) -> tuple[list[bytes], list[str]]:
    """Ask every TSA at once (each bounded by ``timeout``); tokens keep the TSAs' order."""
    from . import tsa_client  # the network edge: loaded only when a token is asked for

    def ask(url: str) -> bytes | str:
        try:
            return tsa_client.request_token(url, signature, timeout=timeout)
        except TimestampError as err:
            return f"no timestamp: {err}"  # err names the TSA

    if not tsa_urls:
        return [], []
    with ThreadPoolExecutor(max_workers=min(8, len(tsa_urls))) as pool:
        answers = list(pool.map(ask, tsa_urls))
    tokens = [a for a in answers if isinstance(a, bytes)]
    warnings = [a for a in answers if isinstance(a, str)]
    return tokens, warnings


def request_tokens(
    data: bytes, tsa_urls: Sequence[str], *, timeout: float
) -> tuple[list[tuple[str, bytes]], list[str]]:
    """Timestamp any bytes (e.g. a check log's head entry) at every TSA at once.

    Returns ((TSA URL, TimeStampResp DER) for each TSA that answered, in the TSAs'
    order; one warning line per TSA that did not). Each token's imprint is SHA-256(data).
    """
    from . import tsa_client  # the network edge: loaded only when a token is asked for

    def ask(url: str) -> tuple[str, bytes] | str:
        try:
            return url, tsa_client.request_token(url, data, timeout=timeout)
        except TimestampError as err:
            return f"no timestamp: {err}"

    if not tsa_urls:
        return [], []
    with ThreadPoolExecutor(max_workers=min(8, len(tsa_urls))) as pool:
        answers = list(pool.map(ask, tsa_urls))
    return [a for a in answers if isinstance(a, tuple)], [a for a in answers if isinstance(a, str)]


def _no_time_warning(capture_id: str, asked: bool) -> str:
    why = "every TSA failed" if asked else "no TSA was asked"
    return (
        f"no trusted timestamp: {why}; the capture is signed but its time is only the "
        f"capturing machine's claim: run 'archiver timestamp {capture_id}' later"
    )
