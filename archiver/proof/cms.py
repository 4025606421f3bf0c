"""Read an RFC 3161 TimeStampResp and check its CMS signature (pure: bytes in, verdicts out).

The structures (TimeStampResp, ContentInfo, SignedData, SignerInfo, TSTInfo, the
signed attributes and the ESS signingCertificate(V2) binding) are read with asn1crypto's
field definitions; signatures are checked with ``cryptography``. rfc3161-client checks a
CMS signature only together with a chain to trusted roots: integrity without roots
("signed by the certificate it embeds, and that certificate is the one the TSA named")
is checked here. Only DER with definite lengths is accepted, as RFC 3161 requires.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, ClassVar

from asn1crypto import cms, core, parser, tsp  # type: ignore[import-untyped]
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.x509 import Certificate, load_der_x509_certificate

TST_INFO = "1.2.840.113549.1.9.16.1.4"
_CONTENT_TYPE = "1.2.840.113549.1.9.3"
_MESSAGE_DIGEST = "1.2.840.113549.1.9.4"
_SIGNING_CERTIFICATE = "1.2.840.113549.1.9.16.2.12"  # ESSCertID, SHA-1 (RFC 2634)
_SIGNING_CERTIFICATE_V2 = "1.2.840.113549.1.9.16.2.47"  # ESSCertIDv2 (RFC 5035)
_MAX_DEPTH = 40  # a TimeStampResp nests about 15 deep; deeper is a bomb, not a token
_ESS_HASHES = ("sha1", "sha256", "sha384", "sha512")


class CmsError(ValueError):
    """The token's CMS structure is not what RFC 3161 and RFC 5652 say."""


class _TimeStampResp(core.Sequence):  # type: ignore[misc]
    """RFC 3161 TimeStampResp: asn1crypto's own marks the token as required, but a
    refusal carries none (``timeStampToken TimeStampToken OPTIONAL``)."""

    _fields: ClassVar[list[tuple[Any, ...]]] = [
        ("status", tsp.PKIStatusInfo),
        ("time_stamp_token", cms.ContentInfo, {"optional": True}),
    ]


@dataclass(frozen=True)
class Response:
    """The status of a TimeStampResp, and its token (a ContentInfo) when it has one."""

    status: int
    texts: list[str]  # PKIFreeText
    failure_bits: list[int]  # PKIFailureInfo bits set, lowest first
    token: Any  # asn1crypto cms.ContentInfo, or None


@dataclass(frozen=True)
class SignedToken:
    """A TimeStampToken's parts, read and checked for shape (not yet for signature)."""

    der: bytes  # the ContentInfo as it stands in the response
    tst_info: Any  # asn1crypto tsp.TSTInfo, fully parsed
    econtent: bytes  # the TSTInfo DER the signature's messageDigest covers
    signer_infos: list[Any]  # asn1crypto cms.SignerInfo
    certificates: list[Any]  # asn1crypto x509.Certificate, as embedded


@dataclass(frozen=True)
class Binding:
    """Does the signingCertificate(V2) attribute name the certificate that signed?

    ``bound``: True it does, False it names another, None the token names none.
    """

    bound: bool | None
    detail: str = ""


def read_response(tsr: bytes) -> Response:
    """The status (and token) of a DER TimeStampResp. CmsError when it is not one."""
    try:
        _require_der(tsr)
        resp = _TimeStampResp.load(tsr, strict=True)
        status_info = resp["status"]
        status = int(status_info["status"])
        texts = status_info["status_string"].native or []
        fail_info = status_info["fail_info"]
        bits = _bits(fail_info) if fail_info.native is not None else []
        token = resp["time_stamp_token"]
        if isinstance(token, core.Void):
            token = None
    except (ValueError, TypeError, KeyError, IndexError, OverflowError) as err:
        raise CmsError(_one_line(err)) from None
    return Response(status, [str(t) for t in texts], bits, token)


def read_token(token: Any) -> SignedToken:
    """The SignedData of a granted response's token. CmsError says what is missing."""
    if token is None:
        raise CmsError("the response is granted but carries no token")
    try:
        if token["content_type"].dotted != "1.2.840.113549.1.7.2":
            raise CmsError("the token is not a CMS SignedData")
        signed = token["content"]
        encap = signed["encap_content_info"]
        if encap["content_type"].dotted != TST_INFO:
            raise CmsError("the token does not encapsulate a TSTInfo")
        content = encap["content"]
        if isinstance(content, core.Void) or content is None:
            raise CmsError("the token has no encapsulated TSTInfo")
        if content.method != 0:
            raise CmsError("the TSTInfo is a constructed OCTET STRING (BER), not DER")
        econtent = bytes(content.contents)
        _require_der(econtent)
        tst_info = tsp.TSTInfo.load(econtent, strict=True)
        tst_info.native  # noqa: B018 -- parse every field now: errors belong here
        certificates = [c.chosen for c in (signed["certificates"] or []) if c.name == "certificate"]
        for cert in certificates:
            cert.native  # noqa: B018
        infos = list(signed["signer_infos"])
    except CmsError:
        raise
    except (ValueError, TypeError, KeyError, IndexError, OverflowError) as err:
        raise CmsError(_one_line(err)) from None
    return SignedToken(token.dump(), tst_info, econtent, infos, certificates)


def find_signer(token: SignedToken) -> Any:
    """The embedded certificate the SignerInfo names (issuer + serial, or key id)."""
    info = _signer(token)
    sid = info["sid"]
    for cert in token.certificates:
        if sid.name == "issuer_and_serial_number":
            named = sid.chosen
            if (
                cert.serial_number == named["serial_number"].native
                and cert.issuer == named["issuer"]
            ):
                return cert
        elif sid.chosen.native in (cert.key_identifier, cert.public_key.sha1):
            return cert  # by SKI, or the key's SHA-1 (RFC 5280 4.2.1.2) without one
    return None


def load_certificate(cert: Any) -> Certificate:
    """An embedded (asn1crypto) certificate as a ``cryptography`` one, same bytes."""
    return load_der_x509_certificate(cert.dump())


def verify_signed_data(token: SignedToken, cert: Any) -> bool:
    """True when the signed attributes are signed by ``cert`` and cover the TSTInfo."""
    info = _signer(token)
    attrs = _signed_attributes(info)
    if _CONTENT_TYPE not in attrs:
        raise CmsError("no signed contentType")
    if attrs[_CONTENT_TYPE].dotted != TST_INFO:
        raise CmsError("the signed contentType is not the token's TSTInfo")
    if _MESSAGE_DIGEST not in attrs:
        raise CmsError("no signed messageDigest")
    digest_oid = info["digest_algorithm"]["algorithm"].dotted
    digest = _HASHES.get(digest_oid)
    if digest is None:
        raise CmsError(f"unsupported digest algorithm {digest_oid}")
    h = hashes.Hash(digest)
    h.update(token.econtent)
    if attrs[_MESSAGE_DIGEST].native != h.finalize():
        return False
    signed_attrs = b"\x31" + info["signed_attrs"].dump()[1:]  # signed as SET OF, RFC 5652 5.4
    signature = info["signature"].native
    sig_oid = info["signature_algorithm"]["algorithm"].dotted
    key = load_certificate(cert).public_key()
    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, signed_attrs, ec.ECDSA(_HASHES.get(sig_oid, digest)))
        elif isinstance(key, rsa.RSAPublicKey):
            if sig_oid == "1.2.840.113549.1.1.10":
                raise CmsError("RSASSA-PSS token signatures are not supported")
            algo = _HASHES.get(sig_oid, digest)
            key.verify(signature, signed_attrs, padding.PKCS1v15(), algo)
        elif isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, signed_attrs)
        else:
            raise CmsError(f"unsupported TSA key type {type(key).__name__}")
    except InvalidSignature:
        return False
    return True


def certificate_binding(token: SignedToken, cert: Any) -> Binding:
    """Check the ESS signingCertificate(V2) attribute against ``cert`` (RFC 5035).

    Its first ESSCertID names the signer: the hash of the whole certificate, and
    optionally its issuer and serial number. Without this binding a certificate with
    another subject or extensions but the same key would verify just as well.
    """
    attrs = _signed_attributes(_signer(token))
    der = cert.dump()
    found = False
    kinds = ((_SIGNING_CERTIFICATE_V2, "ESSCertIDv2"), (_SIGNING_CERTIFICATE, "ESSCertID"))
    for oid, label in kinds:
        value = attrs.get(oid)
        if value is None:
            continue
        found = True
        if not len(value["certs"]):
            return Binding(False, f"its {label} list is empty")
        cert_id = value["certs"][0]
        algo = "sha1"
        if oid == _SIGNING_CERTIFICATE_V2:
            algo = cert_id["hash_algorithm"]["algorithm"].native
        if algo not in _ESS_HASHES:
            raise CmsError(f"unsupported {label} hash algorithm {algo}")
        if hashlib.new(algo, der).digest() != cert_id["cert_hash"].native:
            return Binding(False, f"{label} {algo} hash differs")
        issuer_serial = cert_id["issuer_serial"]
        if issuer_serial.native is not None and not _same_issuer_serial(issuer_serial, cert):
            return Binding(False, "its issuer and serial number differ")
    return Binding(True) if found else Binding(None)


def _same_issuer_serial(issuer_serial: Any, cert: Any) -> bool:
    if issuer_serial["serial_number"].native != cert.serial_number:
        return False
    names = [n.chosen for n in issuer_serial["issuer"] if n.name == "directory_name"]
    return any(name == cert.issuer for name in names)


def _signer(token: SignedToken) -> Any:
    if len(token.signer_infos) != 1:
        raise CmsError("token must have exactly one signer")
    return token.signer_infos[0]


def _signed_attributes(info: Any) -> dict[str, Any]:
    """Each signed attribute's single value by OID; CmsError on repeats or none."""
    attrs = info["signed_attrs"]
    if isinstance(attrs, core.Void) or not len(attrs):
        raise CmsError("signer has no signed attributes")
    out: dict[str, Any] = {}
    try:
        for attr in attrs:
            oid = attr["type"].dotted
            if oid in out:
                raise CmsError(f"signed attribute {oid} appears more than once")
            if len(attr["values"]) != 1:
                raise CmsError(f"signed attribute {oid} must have exactly one value")
            out[oid] = attr["values"][0]
            out[oid].native  # noqa: B018 -- parse it now
    except CmsError:
        raise
    except (ValueError, TypeError, KeyError, IndexError) as err:
        raise CmsError(_one_line(err)) from None
    return out


def _require_der(data: bytes, depth: int = 0) -> None:
    """Refuse indefinite lengths (BER) anywhere in the constructed tree of ``data``."""
    if depth > _MAX_DEPTH:
        raise CmsError("ASN.1 nested too deeply")
    pos = 0
    while pos < len(data):
        _, method, _, header, contents, trailer = parser.parse(data[pos:])
        if trailer:
            raise CmsError("indefinite length (BER), not DER")
        if method == 1:
            _require_der(contents, depth + 1)
        pos += len(header) + len(contents)


def _bits(fail_info: Any) -> list[int]:
    index = {name: bit for bit, name in tsp.PKIFailureInfo._map.items()}
    return sorted(index.get(name, name) for name in fail_info.native)


def _one_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__


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
