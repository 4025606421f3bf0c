"""Verify a package offline: pure checks, bytes in, a ``VerifyReport`` out, no network.

One module per family of checks (zip layout and structure, member hashes, the WARC
scan and its records, the CDXJ, the signature and trusted keys, timestamp tokens);
``run.verify_package`` runs them all (in order: ``verifier``) and keeps integrity and
trust apart.
"""

from .keys import (
    parse_named_keys,
    parse_trusted_keys,
    read_trust_keys,
    trusted_fingerprints,
    trusted_keys,
)
from .report import Check, Status, TokenInfo, VerifyReport, render_text
from .run import verify_package

__all__ = [
    "Check",
    "Status",
    "TokenInfo",
    "VerifyReport",
    "parse_named_keys",
    "parse_trusted_keys",
    "read_trust_keys",
    "render_text",
    "trusted_fingerprints",
    "trusted_keys",
    "verify_package",
]
