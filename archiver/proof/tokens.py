"""Check an RFC 3161 timestamp token (pure: bytes in, a ``TokenCheck`` out, no network).

``check_token`` tells integrity (the token is granted, its imprint is the SHA-256 of
the data, its CMS signature is made by the certificate it embeds) apart from trust
(that certificate carries a critical timeStamping extendedKeyUsage and chains to one
of the given roots, valid at the token's own genTime: a TSA certificate that expired
since still verifies). The network client that asks a TSA lives in ``tsa_client``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from rfc3161_client import decode_timestamp_response
from rfc3161_client._rust import verify as _rust_verify

from ..times import iso_utc
from . import cms
from .roots import load_certificates

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
        signer = cms.find_signer(token, embedded)
        if signer is None:
            result.problems.append("token does not embed its TSA certificate")
            return None
        result.signature_valid = cms.verify_signed_data(token, signer)
    except (ValueError, IndexError) as err:  # cms.CmsError, or structure too short
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
    return iso_utc(when) if when else "an unknown time"


def _failure_bits(tsr: bytes) -> list[int]:
    """The PKIFailureInfo bits set in a TimeStampResp's status, if any."""
    try:
        _, s, e = cms.tlv(tsr, 0)
        status = cms.children(tsr, s, e)[0]
        for tag, _, cs, ce in cms.children(tsr, status[2], status[3]):
            if tag == 0x03 and ce > cs:
                bits = tsr[cs + 1 : ce]
                return [i for i in range(len(bits) * 8) if bits[i // 8] & (0x80 >> (i % 8))]
    except (cms.CmsError, IndexError):
        return []
    return []


def token_time(tsr: bytes) -> str | None:
    """genTime of an RFC 3161 response, ISO 8601 UTC; None when it does not parse."""
    try:
        gen_time: datetime = decode_timestamp_response(tsr).tst_info.gen_time
    except Exception:  # any undecodable token: verify reports it, the index skips it
        return None
    return iso_utc(gen_time)
