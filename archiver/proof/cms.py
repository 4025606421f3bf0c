"""Check the CMS SignedData signature of an RFC 3161 token against its own certificate.

rfc3161-client checks a CMS signature only together with a chain to trusted roots;
integrity without roots ("signed by the certificate it embeds") needs the signer info
itself, read here with a small strict DER reader (definite lengths only). Pure.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa


class CmsError(ValueError):
    """The token's CMS structure is not what RFC 3161 and RFC 5652 say."""


def tlv(buf: bytes, pos: int) -> tuple[int, int, int]:
    """(tag, content start, content end) of the DER element at ``pos``."""
    if pos + 2 > len(buf):
        raise CmsError("truncated DER")
    tag, first = buf[pos], buf[pos + 1]
    if tag & 0x1F == 0x1F:
        raise CmsError("multi-byte DER tags are not expected here")
    pos += 2
    if first < 0x80:
        length = first
    elif first == 0x80:
        raise CmsError("indefinite length (BER), not DER")
    else:
        n = first & 0x7F
        if n > 4 or pos + n > len(buf):
            raise CmsError("bad DER length")
        length = int.from_bytes(buf[pos : pos + n], "big")
        pos += n
    if pos + length > len(buf):
        raise CmsError("truncated DER")
    return tag, pos, pos + length


def children(buf: bytes, start: int, end: int) -> list[tuple[int, int, int, int]]:
    """(tag, element start, content start, content end) of each element in a range."""
    out = []
    pos = start
    while pos < end:
        tag, cstart, cend = tlv(buf, pos)
        out.append((tag, pos, cstart, cend))
        pos = cend
    if pos != end:
        raise CmsError("DER element overruns its parent")
    return out


def _oid(content: bytes) -> str:
    if not content:
        raise CmsError("empty OID")
    arcs: list[int] = []
    value = 0
    for byte in content:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(value)
            value = 0
    first = min(arcs[0] // 40, 2)
    return ".".join(str(a) for a in [first, arcs[0] - 40 * first, *arcs[1:]])


@dataclass
class _SignerInfo:
    serial: int
    issuer_der: bytes
    digest_oid: str
    signed_attrs: bytes  # the [0] IMPLICIT element, re-tagged as SET OF for verifying
    message_digest: bytes | None
    sig_oid: str
    signature: bytes
    econtent: bytes


_MESSAGE_DIGEST = "1.2.840.113549.1.9.4"


def _parse_signed_data(token: bytes) -> _SignerInfo:
    """Read the single SignerInfo and eContent of a ContentInfo(SignedData)."""
    tag, s, e = tlv(token, 0)
    ci = children(token, s, e)
    if tag != 0x30 or len(ci) < 2 or ci[1][0] != 0xA0:
        raise CmsError("not a CMS ContentInfo")
    tag, s, e = tlv(token, ci[1][2])
    sd = children(token, s, e)
    if tag != 0x30 or len(sd) < 4:
        raise CmsError("not a CMS SignedData")
    encap = children(token, sd[2][2], sd[2][3])
    if len(encap) != 2 or encap[1][0] != 0xA0:
        raise CmsError("token has no encapsulated TSTInfo")
    tag, s, e = tlv(token, encap[1][2])
    if tag != 0x04:
        raise CmsError("TSTInfo is not an OCTET STRING")
    econtent = token[s:e]
    infos = children(token, sd[-1][2], sd[-1][3])
    if sd[-1][0] != 0x31 or len(infos) != 1:
        raise CmsError("token must have exactly one signer")
    si = children(token, infos[0][2], infos[0][3])
    if len(si) < 5 or si[1][0] != 0x30 or si[3][0] != 0xA0:
        raise CmsError("signer is not identified by issuer and serial with signed attributes")
    sid = children(token, si[1][2], si[1][3])
    issuer_der = token[sid[0][1] : sid[0][3]]
    serial = int.from_bytes(token[sid[1][2] : sid[1][3]], "big", signed=True)
    digest_oid = _oid(token[slice(*children(token, si[2][2], si[2][3])[0][2:])])
    attrs_el = token[si[3][1] : si[3][3]]
    message_digest = None
    for _, _, astart, aend in children(token, si[3][2], si[3][3]):
        attr = children(token, astart, aend)
        if _oid(token[attr[0][2] : attr[0][3]]) == _MESSAGE_DIGEST:
            values = children(token, attr[1][2], attr[1][3])
            message_digest = token[values[0][2] : values[0][3]]
    sig_alg = children(token, si[4][2], si[4][3])
    sig_el = si[5] if len(si) > 5 else None
    if sig_el is None or sig_el[0] != 0x04:
        raise CmsError("signer has no signature")
    return _SignerInfo(
        serial=serial,
        issuer_der=issuer_der,
        digest_oid=digest_oid,
        signed_attrs=b"\x31" + attrs_el[1:],
        message_digest=message_digest,
        sig_oid=_oid(token[sig_alg[0][2] : sig_alg[0][3]]),
        signature=token[sig_el[2] : sig_el[3]],
        econtent=econtent,
    )


_HASHES: dict[str, hashes.HashAlgorithm] = {
    "2.16.840.1.101.3.4.2.1": hashes.SHA256(),
    "2.16.840.1.101.3.4.2.2": hashes.SHA384(),
    "2.16.840.1.101.3.4.2.3": hashes.SHA512(),
    "1.2.840.10045.4.3.2": hashes.SHA256(),  # ecdsa-with-SHA256
    "1.2.840.10045.4.3.3": hashes.SHA384(),
    "1.2.840.10045.4.3.4": hashes.SHA512(),
    "1.2.840.113549.1.1.11": hashes.SHA256(),  # sha256WithRSAEncryption
    "1.2.840.113549.1.1.12": hashes.SHA384(),
    "1.2.840.113549.1.1.13": hashes.SHA512(),
}


def find_signer(token: bytes, embedded: list[x509.Certificate]) -> x509.Certificate | None:
    """The embedded certificate named by the token's SignerInfo (issuer + serial)."""
    info = _parse_signed_data(token)
    for cert in embedded:
        if cert.serial_number == info.serial and cert.issuer.public_bytes() == info.issuer_der:
            return cert
    return None


def verify_signed_data(token: bytes, cert: x509.Certificate) -> bool:
    """True when the token's signed attributes are signed by ``cert`` and cover its TSTInfo."""
    info = _parse_signed_data(token)
    digest = _HASHES.get(info.digest_oid)
    if digest is None:
        raise CmsError(f"unsupported digest algorithm {info.digest_oid}")
    h = hashes.Hash(digest)
    h.update(info.econtent)
    if info.message_digest != h.finalize():
        return False
    key = cert.public_key()
    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            algo = _HASHES.get(info.sig_oid, digest)
            key.verify(info.signature, info.signed_attrs, ec.ECDSA(algo))
        elif isinstance(key, rsa.RSAPublicKey):
            if info.sig_oid == "1.2.840.113549.1.1.10":
                raise CmsError("RSASSA-PSS token signatures are not supported")
            algo = _HASHES.get(info.sig_oid, digest)
            key.verify(info.signature, info.signed_attrs, padding.PKCS1v15(), algo)
        elif isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(info.signature, info.signed_attrs)
        else:
            raise CmsError(f"unsupported TSA key type {type(key).__name__}")
    except InvalidSignature:
        return False
    return True
