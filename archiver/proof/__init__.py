"""Prove a capture: manifest -> Ed25519 signature -> RFC 3161 timestamp tokens.

Everything here is pure but the TSA client (``tsa_client``), the proof stage's only
network edge; it is loaded only when a token is requested, so ``verify`` can use the
manifest, signature and token checks without pulling in any network code.
"""

from .manifest import build_manifest, parse_manifest
from .roots import load_certificates, read_roots, system_roots
from .sealing import Timestamped, add_timestamps, request_tokens, seal
from .signing import (
    fingerprint,
    generate_key,
    load_key,
    load_or_create_key,
    pem_fingerprint,
    public_pem,
    sign,
    verify_signature,
)
from .tokens import TokenCheck, check_token, token_time

__all__ = [
    "Timestamped",
    "TokenCheck",
    "add_timestamps",
    "build_manifest",
    "check_token",
    "fingerprint",
    "generate_key",
    "load_certificates",
    "load_key",
    "load_or_create_key",
    "parse_manifest",
    "pem_fingerprint",
    "public_pem",
    "read_roots",
    "request_tokens",
    "seal",
    "sign",
    "system_roots",
    "token_time",
    "verify_signature",
]
