"""Check one RFC 3161 timestamp response, with integrity and trust kept apart.

Integrity (no anchors needed): the token's imprint is the hash of the signature file,
the TSA's CMS signature over the token holds with the certificate the token carries,
and that certificate is a timestamping certificate (critical EKU timeStamping).
Trust: the TSA certificate chains, at the token's own time (genTime), to a root you
trust (given PEM roots, plus the certifi and system stores). rfc3161-client checks
signature and chain in one step, so the signature alone is checked here with a small
DER walk over the CMS SignedData (RFC 5652 section 5.4).
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path

import certifi
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID
from rfc3161_client import PKIStatus, decode_timestamp_response
from rfc3161_client._rust import verify as _rust_verify

SYSTEM_BUNDLES = ("/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt")
_HASHES: dict[bytes, type[hashes.HashAlgorithm]] = {
    bytes.fromhex("608648016503040201"): hashes.SHA256,
    bytes.fromhex("608648016503040202"): hashes.SHA384,
    bytes.fromhex("608648016503040203"): hashes.SHA512,
    bytes.fromhex("2b0e03021a"): hashes.SHA1,
}
_MESSAGE_DIGEST = bytes.fromhex("2a864886f70d010904")
_RSA_PSS = bytes.fromhex("2a864886f70d01010a")


class TokenFormatError(Exception):
    """The bytes are not a timestamp token this checker understands."""


@dataclass
class TokenResult:
    tsa: str | None = None
    gen_time: datetime | None = None
    imprint_ok: bool = False
    signature_ok: bool = False
    eku_ok: bool = False
    problem: str | None = None  # first integrity problem, plain language
    chain_ok: bool = False
    chain_detail: str = ""


def _tlv(data: bytes, pos: int) -> tuple[int, int, int]:
    """(tag, start of value, end of value) of the DER element at ``pos``."""
    if pos + 2 > len(data):
        raise TokenFormatError("truncated DER")
    tag, first = data[pos], data[pos + 1]
    pos += 2
    if first < 0x80:
        length = first
    else:
        n = first & 0x7F
        if n == 0 or n > 4 or pos + n > len(data):
            raise TokenFormatError("bad DER length")
        length = int.from_bytes(data[pos : pos + n], "big")
        pos += n
    if pos + length > len(data):
        raise TokenFormatError("truncated DER")
    return tag, pos, pos + length


def _children(data: bytes, start: int, end: int) -> list[tuple[int, int, int, int]]:
    """(tag, element start, value start, value end) of each child in [start, end)."""
    out = []
    pos = start
    while pos < end:
        tag, vs, ve = _tlv(data, pos)
        out.append((tag, pos, vs, ve))
        pos = ve
    return out


def _first_oid(data: bytes, vs: int, ve: int) -> bytes:
    tag, s, e = _tlv(data, vs)
    if tag != 0x06:
        raise TokenFormatError("expected an OID")
    return data[s:e]


@dataclass
class _SignerParts:
    econtent: bytes
    digest_oid: bytes
    signed_attrs_der: bytes  # re-tagged as SET, the bytes that were signed
    message_digest: bytes
    sig_oid: bytes
    signature: bytes


def _cms_parts(token: bytes) -> _SignerParts:
    _, vs, ve = _tlv(token, 0)  # ContentInfo
    kids = _children(token, vs, ve)
    _, _, svs, _ = kids[1]  # [0] EXPLICIT
    _, sds, sde = _tlv(token, svs)  # SignedData
    sd = _children(token, sds, sde)
    _, _, evs, eve = sd[2]  # encapContentInfo
    encap = _children(token, evs, eve)
    _, _, xs, _ = encap[1]  # [0] EXPLICIT eContent
    _, os_s, os_e = _tlv(token, xs)
    econtent = token[os_s:os_e]
    _, _, sis, sie = sd[-1]  # signerInfos SET
    signers = _children(token, sis, sie)
    if len(signers) != 1:
        raise TokenFormatError(f"expected one signer, found {len(signers)}")
    _, _, si_s, si_e = signers[0]
    si = _children(token, si_s, si_e)
    digest_oid = _first_oid(token, si[2][2], si[2][3])
    attrs = next((c for c in si if c[0] == 0xA0), None)
    if attrs is None:
        raise TokenFormatError("token has no signed attributes")
    idx = si.index(attrs)
    sig_alg, sig = si[idx + 1], si[idx + 2]
    signed = b"\x31" + token[attrs[1] + 1 : attrs[3]]
    message_digest = b""
    for _, _, a_s, a_e in _children(token, attrs[2], attrs[3]):
        attr = _children(token, a_s, a_e)
        if token[attr[0][2] : attr[0][3]] == _MESSAGE_DIGEST:
            _, ms, me = _tlv(token, attr[1][2])
            message_digest = token[ms:me]
    return _SignerParts(
        econtent,
        digest_oid,
        signed,
        message_digest,
        _first_oid(token, sig_alg[2], sig_alg[3]),
        token[sig[2] : sig[3]],
    )


def _check_signature(parts: _SignerParts, cert: x509.Certificate) -> str | None:
    """None when the TSA's signature holds, else what is wrong."""
    algo = _HASHES.get(parts.digest_oid)
    if algo is None:
        return "the token uses a digest algorithm this tool does not know"
    h = hashes.Hash(algo())
    h.update(parts.econtent)
    if h.finalize() != parts.message_digest:
        return "the token's content does not match its signed digest (token altered)"
    key = cert.public_key()
    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(parts.signature, parts.signed_attrs_der, ec.ECDSA(algo()))
        elif isinstance(key, rsa.RSAPublicKey):
            pad: padding.AsymmetricPadding = padding.PKCS1v15()
            if parts.sig_oid == _RSA_PSS:
                pad = padding.PSS(padding.MGF1(algo()), padding.PSS.AUTO)
            key.verify(parts.signature, parts.signed_attrs_der, pad, algo())
        elif isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(parts.signature, parts.signed_attrs_der)
        else:
            return "the TSA certificate's key type is not supported"
    except InvalidSignature:
        return "the TSA's signature over the token does not verify (token altered)"
    return None


@cache
def default_roots() -> tuple[bytes, ...]:
    """DER of every root in certifi and the system bundle, deduplicated."""
    seen: dict[bytes, None] = {}
    for bundle in (certifi.where(), *SYSTEM_BUNDLES):
        try:
            pem = Path(bundle).read_bytes()
        except OSError:
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                certs = x509.load_pem_x509_certificates(pem)
        except ValueError:
            continue
        for cert in certs:
            seen.setdefault(cert.public_bytes(Encoding.DER), None)
    return tuple(seen)


def load_roots(pems: Sequence[bytes]) -> list[bytes]:
    """DER of every certificate in the given PEM bytes; ValueError names a bad one."""
    out: list[bytes] = []
    for i, pem in enumerate(pems):
        try:
            certs = x509.load_pem_x509_certificates(pem)
        except ValueError:
            raise ValueError(f"TSA root #{i + 1} is not a PEM certificate") from None
        out.extend(c.public_bytes(Encoding.DER) for c in certs)
    return out


def check_tsr(tsr: bytes, signature: bytes, *, roots: Sequence[bytes]) -> TokenResult:
    """Check a TimeStampResp over ``signature`` (the bytes of manifest.json.sig).

    Never raises for bad bytes: a token that cannot be parsed is a failed token.
    """
    res = TokenResult()
    try:
        _check(tsr, signature, roots, res)
    except Exception:  # untrusted bytes through a Rust parser: any error means malformed
        res.signature_ok = res.imprint_ok = res.chain_ok = False
        res.problem = res.problem or "the timestamp token is malformed"
    return res


def _check(tsr: bytes, signature: bytes, roots: Sequence[bytes], res: TokenResult) -> None:
    try:
        resp = decode_timestamp_response(tsr)
    except Exception:  # the Rust parser raises assorted types
        res.problem = "not a readable RFC 3161 timestamp response"
        return
    if resp.status != PKIStatus.GRANTED:
        res.problem = f"the TSA did not grant this timestamp (status {resp.status})"
        return
    info = resp.tst_info
    res.gen_time = info.gen_time
    digest = _imprint_hash(info.message_imprint.hash_algorithm.dotted_string, signature)
    res.imprint_ok = digest is not None and digest == info.message_imprint.message
    token = resp.time_stamp_token()
    try:
        certs = [x509.load_der_x509_certificate(c) for c in resp.signed_data.certificates]
    except ValueError:
        res.problem = "the token carries a malformed certificate"
        return
    signer = next(iter(resp.signed_data.signer_infos), None)
    leaf = next(
        (
            c
            for c in certs
            if signer and c.issuer == signer.issuer and c.serial_number == signer.serial_number
        ),
        None,
    )
    if leaf is not None:
        res.tsa = leaf.subject.rfc4514_string()
    if leaf is None:
        res.problem = "the token does not carry the TSA's certificate, so it cannot be checked"
    else:
        try:
            res.problem = _check_signature(_cms_parts(token), leaf)
        except (TokenFormatError, IndexError, ValueError):
            res.problem = "the token's signed data is malformed"
        res.signature_ok = res.problem is None
        res.eku_ok = _has_timestamping_eku(leaf)
        if res.signature_ok and not res.eku_ok:
            res.problem = "the TSA certificate is not a timestamping certificate (critical EKU)"
    if res.problem is None and not res.imprint_ok:
        res.problem = "the token is for other data: its imprint is not the hash of the signature"
    if res.problem is None:
        try:
            _rust_verify.pkcs7_verify(token, info.gen_time, list(roots))
            res.chain_ok = True
            res.chain_detail = "chain valid at the token's time"
        except Exception as err:  # the Rust binding raises ValueError and others
            res.chain_ok = False
            res.chain_detail = _chain_reason(str(err))


def _imprint_hash(oid: str, data: bytes) -> bytes | None:
    names = {
        "2.16.840.1.101.3.4.2.1": "sha256",
        "2.16.840.1.101.3.4.2.2": "sha384",
        "2.16.840.1.101.3.4.2.3": "sha512",
    }
    name = names.get(oid)
    return hashlib.new(name, data).digest() if name else None


def _has_timestamping_eku(cert: x509.Certificate) -> bool:
    try:
        ext = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    except x509.ExtensionNotFound:
        return False
    return ext.critical and ExtendedKeyUsageOID.TIME_STAMPING in ext.value


def _chain_reason(err: str) -> str:
    if "unable to get local issuer" in err or "self-signed certificate in" in err:
        return "the TSA certificate does not chain to any root you trust"
    if "expired" in err or "not yet valid" in err:
        return "a certificate in the TSA chain was not valid at the token's time"
    return "the TSA chain does not verify: " + err.split("data:")[-1].strip(' "})]')[:120]
