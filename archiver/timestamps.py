"""RFC 3161 trusted timestamps: ask a TSA for a token (network edge), check one (pure).

``request_token`` is the only function here that touches the network. ``check_token``
is pure: TimeStampResp DER and the timestamped bytes in, a ``TokenCheck`` out. It
tells integrity (the token is granted, its imprint is the SHA-256 of the data, its
CMS signature is made by the certificate it embeds) apart from trust (that
certificate carries a critical timeStamping extendedKeyUsage and chains to one of
the given roots, valid at the token's own genTime: a TSA certificate that expired
since still verifies).
"""

from __future__ import annotations

import hashlib
import urllib.error
import urllib.request
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import certifi
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from rfc3161_client import HashAlgorithm, TimestampRequestBuilder, decode_timestamp_response
from rfc3161_client._rust import verify as _rust_verify

from .errors import TimestampError

CONTENT_TYPE_QUERY = "application/timestamp-query"
MAX_RESPONSE = 1 << 20  # a TimeStampResp is a few KB; refuse to read more than 1 MiB
_DIGESTS = {
    "2.16.840.1.101.3.4.2.1": "sha256",
    "2.16.840.1.101.3.4.2.2": "sha384",
    "2.16.840.1.101.3.4.2.3": "sha512",
}
_STATUS = {
    0: "granted",
    1: "granted with modifications",
    2: "rejection",
    3: "waiting",
    4: "revocation warning",
    5: "revocation notification",
}
_FAILURES = {
    0: "badAlg (unrecognised or unsupported algorithm)",
    2: "badRequest (transaction not permitted or supported)",
    5: "badDataFormat (data submitted has the wrong format)",
    14: "timeNotAvailable (TSA's time source is not available)",
    15: "unacceptedPolicy (requested TSA policy is not supported)",
    16: "unacceptedExtension (requested extension is not supported)",
    17: "addInfoNotAvailable",
    25: "systemFailure",
}


@dataclass
class TokenCheck:
    """What one timestamp token proves. Each flag is a separate check.

    ``chain_valid`` is None when no roots were given (trust not established).
    """

    parsed: bool = False
    granted: bool = False
    imprint_matches: bool = False
    signature_valid: bool = False
    timestamping_eku: bool = False
    chain_valid: bool | None = None
    gen_time: datetime | None = None
    tsa_name: str | None = None
    serial: int | None = None
    policy: str | None = None
    nonce: int | None = None
    signer_subject: str | None = None
    signer_not_after: datetime | None = None
    expired_since: bool = False  # signer certificate expired after genTime, before ``now``
    problems: list[str] = field(default_factory=list)  # integrity: the token itself is wrong
    trust_problems: list[str] = field(default_factory=list)  # its TSA is not shown trustworthy

    @property
    def integrity_ok(self) -> bool:
        """Granted, imprint matches, signature by the embedded certificate holds."""
        return self.parsed and self.granted and self.imprint_matches and self.signature_valid

    @property
    def trusted(self) -> bool:
        """Integrity holds and the TSA chain reaches a given root at genTime."""
        return self.integrity_ok and self.timestamping_eku and self.chain_valid is True


# -- network edge -----------------------------------------------------------------


def build_query(data: bytes) -> tuple[bytes, int]:
    """A DER TimeStampReq over SHA-256(data), with a nonce and certReq; returns (der, nonce)."""
    req = TimestampRequestBuilder(
        data=data, hash_algorithm=HashAlgorithm.SHA256, nonce=True, cert_req=True
    ).build()
    nonce = req.nonce
    if nonce is None:
        raise TimestampError("could not build a timestamp request with a nonce")
    return bytes(req.as_bytes()), nonce


def post_query(tsa_url: str, query: bytes, *, timeout: float) -> bytes:
    """POST a TimeStampReq to ``tsa_url``; return the raw answer. Raises TimestampError."""
    if not tsa_url.startswith(("http://", "https://")):
        raise TimestampError(f"TSA {tsa_url}: not an http(s) URL")
    request = urllib.request.Request(
        tsa_url,
        data=query,
        method="POST",
        headers={"Content-Type": CONTENT_TYPE_QUERY, "Accept": "application/timestamp-reply"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            body: bytes = answer.read(MAX_RESPONSE + 1)
    except urllib.error.HTTPError as err:
        raise TimestampError(f"TSA {tsa_url} answered HTTP {err.code} {err.reason}") from None
    except urllib.error.URLError as err:
        raise TimestampError(f"TSA {tsa_url} is unreachable: {err.reason}") from None
    except TimeoutError:
        raise TimestampError(f"TSA {tsa_url} did not answer within {timeout:g} s") from None
    except OSError as err:
        raise TimestampError(f"TSA {tsa_url} is unreachable: {err}") from None
    if len(body) > MAX_RESPONSE:
        raise TimestampError(f"TSA {tsa_url} sent more than 1 MiB: not a timestamp response")
    return body


def request_token(tsa_url: str, data: bytes, *, timeout: float) -> bytes:
    """Ask ``tsa_url`` to timestamp SHA-256(data); return the TimeStampResp DER.

    The answer is checked with ``check_token`` (no roots) before it is returned:
    TimestampError names the TSA and why when it is rejected, for other data,
    for another nonce, not a timestamp response, or signed by an unsuitable cert.
    """
    query, nonce = build_query(data)
    tsr = post_query(tsa_url, query, timeout=timeout)
    result = check_token(tsr, data, roots=(), nonce=nonce)
    if result.problems:
        raise TimestampError(f"TSA {tsa_url}: {result.problems[0]}")
    return tsr


# -- roots ------------------------------------------------------------------------


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
    """Read PEM root files (``--tsa-root``). Raises TimestampError naming the file."""
    roots: list[bytes] = []
    for path in paths:
        try:
            data = path.read_bytes()
        except OSError as err:
            raise TimestampError(f"cannot read TSA root {path}: {err.strerror or err}") from None
        try:
            load_certificates([data])
        except TimestampError:
            raise TimestampError(f"{path} holds no PEM or DER certificate") from None
        roots.append(data)
    return roots


def system_roots() -> list[bytes]:
    """The certifi root store as one PEM bundle (plus the Debian store when present)."""
    bundles = [Path(certifi.where())]
    debian = Path("/etc/ssl/certs/ca-certificates.crt")
    if debian.is_file():
        bundles.append(debian)
    return [p.read_bytes() for p in bundles]


# -- pure check -------------------------------------------------------------------


def check_token(
    tsr: bytes,
    data: bytes,
    *,
    roots: Sequence[bytes],
    nonce: int | None = None,
    now: datetime | None = None,
) -> TokenCheck:
    """Check a TimeStampResp DER against the bytes it should cover. Pure: no network.

    ``roots``: trusted root certificates (PEM bundles or DER); empty means only
    integrity is checked and ``problems`` says "trust not established".
    ``nonce``: the nonce sent, when checking a fresh answer. ``now``: the clock used
    only to report whether the TSA certificate has expired since (default: UTC now).
    """
    result = TokenCheck()
    try:
        resp: Any = decode_timestamp_response(tsr)
        status = int(resp.status)
    except ValueError:
        result.problems.append("not a timestamp response (not RFC 3161 TimeStampResp DER)")
        return result
    result.parsed = True
    if status not in (0, 1):
        result.problems.append(_status_problem(tsr, status, list(resp.status_string)))
        return result
    result.granted = True
    try:
        info = resp.tst_info
        token = bytes(resp.time_stamp_token())
        embedded = [x509.load_der_x509_certificate(c) for c in resp.signed_data.certificates]
    except ValueError as err:
        result.problems.append(f"timestamp token cannot be read: {err}")
        return result
    result.gen_time = info.gen_time.astimezone(UTC)
    result.serial = int(info.serial_number)
    result.policy = info.policy.dotted_string
    result.nonce = info.nonce
    result.tsa_name = _general_name(info.name)

    _check_imprint(result, info.message_imprint, data)
    if nonce is not None and info.nonce != nonce:
        result.problems.append("token answers another request (nonce mismatch)")

    signer = _check_signature(result, token, embedded)
    if signer is not None:
        result.signer_subject = signer.subject.rfc4514_string()
        result.signer_not_after = signer.not_valid_after_utc
        result.tsa_name = result.tsa_name or result.signer_subject
        _check_eku(result, signer)
        clock = now or datetime.now(UTC)
        result.expired_since = result.gen_time <= signer.not_valid_after_utc < clock
        if not signer.not_valid_before_utc <= result.gen_time <= signer.not_valid_after_utc:
            result.trust_problems.append("TSA certificate was not valid at the token's time")

    if not roots:
        result.trust_problems.append("trust not established: no trusted TSA roots given")
        return result
    anchors = [c.public_bytes(Encoding.DER) for c in load_certificates(roots)]
    try:
        _rust_verify.pkcs7_verify(token, result.gen_time, anchors)
    except ValueError as err:
        result.chain_valid = False
        result.trust_problems.append(f"TSA chain not valid at {_iso(result.gen_time)}: {_why(err)}")
    else:
        result.chain_valid = True
    return result


def _check_imprint(result: TokenCheck, imprint: Any, data: bytes) -> None:
    algo = _DIGESTS.get(imprint.hash_algorithm.dotted_string)
    if algo is None:
        result.problems.append(f"unsupported imprint hash {imprint.hash_algorithm.dotted_string}")
        return
    result.imprint_matches = bytes(imprint.message) == hashlib.new(algo, data).digest()
    if not result.imprint_matches:
        result.problems.append("token is for other data (message imprint does not match)")


def _check_signature(
    result: TokenCheck, token: bytes, embedded: list[x509.Certificate]
) -> x509.Certificate | None:
    try:
        signer = _find_signer(token, embedded)
        if signer is None:
            result.problems.append("token does not embed its TSA certificate")
            return None
        result.signature_valid = _verify_signed_data(token, signer)
    except (ValueError, IndexError) as err:  # _CmsError, or structure too short
        result.problems.append(f"token signature cannot be checked: {err or 'malformed CMS'}")
        return None
    if not result.signature_valid:
        result.problems.append("token signature does not verify with its TSA certificate")
    return signer


def _check_eku(result: TokenCheck, cert: x509.Certificate) -> None:
    try:
        ext = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    except x509.ExtensionNotFound:
        result.problems.append("TSA certificate has no extendedKeyUsage timeStamping")
        return
    if x509.oid.ExtendedKeyUsageOID.TIME_STAMPING not in ext.value:
        result.problems.append("TSA certificate has no extendedKeyUsage timeStamping")
    elif not ext.critical:
        result.problems.append("TSA certificate's extendedKeyUsage is not critical")
    else:
        result.timestamping_eku = True


def _status_problem(tsr: bytes, status: int, texts: list[str]) -> str:
    label = _STATUS.get(status, f"status {status}")
    failures = [_FAILURES.get(bit, f"failure bit {bit}") for bit in _failure_bits(tsr)]
    detail = "; ".join([*texts, *failures])
    return f"TSA refused the request ({label})" + (f": {detail}" if detail else "")


def _general_name(name: Any) -> str | None:
    if name is None:
        return None
    value = getattr(name, "value", name)
    if isinstance(value, x509.Name):
        return value.rfc4514_string()
    return str(value)


def _why(err: Exception) -> str:
    text = str(err)
    marker = 'data: "Verify error: '
    if marker in text:
        return text.split(marker, 1)[1].split('"', 1)[0]
    return text.splitlines()[0] if text else type(err).__name__


def _iso(when: datetime | None) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ") if when else "an unknown time"


# -- minimal DER reading for the CMS SignedData of a token ---------------------------
# rfc3161-client checks a CMS signature only together with a chain to trusted roots;
# integrity without roots ("signed by the certificate it embeds") needs the signer
# info itself, read here with a small strict DER reader (definite lengths only).


class _CmsError(ValueError):
    pass


def _tlv(buf: bytes, pos: int) -> tuple[int, int, int]:
    """(tag, content start, content end) of the DER element at ``pos``."""
    if pos + 2 > len(buf):
        raise _CmsError("truncated DER")
    tag, first = buf[pos], buf[pos + 1]
    if tag & 0x1F == 0x1F:
        raise _CmsError("multi-byte DER tags are not expected here")
    pos += 2
    if first < 0x80:
        length = first
    elif first == 0x80:
        raise _CmsError("indefinite length (BER), not DER")
    else:
        n = first & 0x7F
        if n > 4 or pos + n > len(buf):
            raise _CmsError("bad DER length")
        length = int.from_bytes(buf[pos : pos + n], "big")
        pos += n
    if pos + length > len(buf):
        raise _CmsError("truncated DER")
    return tag, pos, pos + length


def _children(buf: bytes, start: int, end: int) -> list[tuple[int, int, int, int]]:
    """(tag, element start, content start, content end) of each element in a range."""
    out = []
    pos = start
    while pos < end:
        tag, cstart, cend = _tlv(buf, pos)
        out.append((tag, pos, cstart, cend))
        pos = cend
    if pos != end:
        raise _CmsError("DER element overruns its parent")
    return out


def _oid(content: bytes) -> str:
    if not content:
        raise _CmsError("empty OID")
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
    tag, s, e = _tlv(token, 0)
    ci = _children(token, s, e)
    if tag != 0x30 or len(ci) < 2 or ci[1][0] != 0xA0:
        raise _CmsError("not a CMS ContentInfo")
    tag, s, e = _tlv(token, ci[1][2])
    sd = _children(token, s, e)
    if tag != 0x30 or len(sd) < 4:
        raise _CmsError("not a CMS SignedData")
    encap = _children(token, sd[2][2], sd[2][3])
    if len(encap) != 2 or encap[1][0] != 0xA0:
        raise _CmsError("token has no encapsulated TSTInfo")
    tag, s, e = _tlv(token, encap[1][2])
    if tag != 0x04:
        raise _CmsError("TSTInfo is not an OCTET STRING")
    econtent = token[s:e]
    infos = _children(token, sd[-1][2], sd[-1][3])
    if sd[-1][0] != 0x31 or len(infos) != 1:
        raise _CmsError("token must have exactly one signer")
    si = _children(token, infos[0][2], infos[0][3])
    if len(si) < 5 or si[1][0] != 0x30 or si[3][0] != 0xA0:
        raise _CmsError("signer is not identified by issuer and serial with signed attributes")
    sid = _children(token, si[1][2], si[1][3])
    issuer_der = token[sid[0][1] : sid[0][3]]
    serial = int.from_bytes(token[sid[1][2] : sid[1][3]], "big", signed=True)
    digest_oid = _oid(token[slice(*_children(token, si[2][2], si[2][3])[0][2:])])
    attrs_el = token[si[3][1] : si[3][3]]
    message_digest = None
    for _, _, astart, aend in _children(token, si[3][2], si[3][3]):
        attr = _children(token, astart, aend)
        if _oid(token[attr[0][2] : attr[0][3]]) == _MESSAGE_DIGEST:
            values = _children(token, attr[1][2], attr[1][3])
            message_digest = token[values[0][2] : values[0][3]]
    sig_alg = _children(token, si[4][2], si[4][3])
    sig_el = si[5] if len(si) > 5 else None
    if sig_el is None or sig_el[0] != 0x04:
        raise _CmsError("signer has no signature")
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


def _find_signer(token: bytes, embedded: list[x509.Certificate]) -> x509.Certificate | None:
    """The embedded certificate named by the token's SignerInfo (issuer + serial)."""
    info = _parse_signed_data(token)
    for cert in embedded:
        if cert.serial_number == info.serial and cert.issuer.public_bytes() == info.issuer_der:
            return cert
    return None


def _verify_signed_data(token: bytes, cert: x509.Certificate) -> bool:
    """True when the token's signed attributes are signed by ``cert`` and cover its TSTInfo."""
    info = _parse_signed_data(token)
    digest = _HASHES.get(info.digest_oid)
    if digest is None:
        raise _CmsError(f"unsupported digest algorithm {info.digest_oid}")
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
                raise _CmsError("RSASSA-PSS token signatures are not supported")
            algo = _HASHES.get(info.sig_oid, digest)
            key.verify(info.signature, info.signed_attrs, padding.PKCS1v15(), algo)
        elif isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(info.signature, info.signed_attrs)
        else:
            raise _CmsError(f"unsupported TSA key type {type(key).__name__}")
    except InvalidSignature:
        return False
    return True


def _failure_bits(tsr: bytes) -> list[int]:
    """The PKIFailureInfo bits set in a TimeStampResp's status, if any."""
    try:
        _, s, e = _tlv(tsr, 0)
        status = _children(tsr, s, e)[0]
        for tag, _, cs, ce in _children(tsr, status[2], status[3]):
            if tag == 0x03 and ce > cs:
                bits = tsr[cs + 1 : ce]
                return [i for i in range(len(bits) * 8) if bits[i // 8] & (0x80 >> (i % 8))]
    except (_CmsError, IndexError):
        return []
    return []
