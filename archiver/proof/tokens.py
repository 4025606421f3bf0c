"""Check an RFC 3161 timestamp token (pure: bytes in, a ``TokenCheck`` out, no network).

``check_token`` tells integrity (the token is granted, its imprint is the SHA-256 of
the data, its CMS signature is made by the certificate it embeds, and that certificate
is the one its signingCertificate(V2) attribute names) apart from trust (that
certificate carries a critical timeStamping extendedKeyUsage and chains to one of the
given roots, valid at the token's own genTime: a TSA certificate that expired since
still verifies). ``cms`` reads the structures; the network client that asks a TSA
lives in ``tsa_client``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
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
NOT_BOUND = "TSA certificate does not match the signingCertificate the token names"
UNNAMED = (
    "token does not name its TSA certificate (no signingCertificate attribute): "
    "only a chain to a trusted root vouches for that certificate"
)


@dataclass
class TokenCheck:
    """What one timestamp token proves. Each flag is a separate check.

    ``chain_valid`` is None when no roots were given (trust not established).
    ``certificate_bound`` is None when the token names no certificate (no ESS
    signingCertificate attribute): then only the chain vouches for it.
    """

    parsed: bool = False
    granted: bool = False
    imprint_matches: bool = False
    signature_valid: bool = False
    certificate_bound: bool | None = None
    timestamping_eku: bool = False
    chain_valid: bool | None = None
    gen_time: datetime | None = None
    tsa_name: str | None = None
    serial: int | None = None
    policy: str | None = None
    nonce: int | None = None
    signer_subject: str | None = None
    signer_not_after: datetime | None = None
    signer_sha256: str | None = None  # of the TSA certificate's DER: who signed, exactly
    expired_since: bool = False  # signer certificate expired after genTime, before ``now``
    problems: list[str] = field(default_factory=list)  # integrity: the token itself is wrong
    trust_problems: list[str] = field(default_factory=list)  # its TSA is not shown trustworthy

    @property
    def integrity_ok(self) -> bool:
        """Granted, imprint matches, signature by the embedded certificate holds, and
        that certificate is not another than the one the token names."""
        return (
            self.parsed
            and self.granted
            and self.imprint_matches
            and self.signature_valid
            and self.certificate_bound is not False
        )

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
        resp = cms.read_response(tsr)
    except cms.CmsError:
        result.problems.append("not a timestamp response (not RFC 3161 TimeStampResp DER)")
        return result
    result.parsed = True
    if resp.status not in (0, 1):
        result.problems.append(_status_problem(resp))
        return result
    result.granted = True
    try:
        token = cms.read_token(resp.token)
        info = token.tst_info
        gen_time = info["gen_time"].native
        if not isinstance(gen_time, datetime):
            raise cms.CmsError("genTime is not a date")
    except cms.CmsError as err:
        result.problems.append(f"timestamp token cannot be read: {err}")
        return result
    result.gen_time = _utc(gen_time)
    result.serial = int(info["serial_number"].native)
    result.policy = info["policy"].dotted
    result.nonce = info["nonce"].native
    result.tsa_name = _general_name(info["tsa"])

    _check_imprint(result, info["message_imprint"], data)
    if nonce is not None and result.nonce != nonce:
        result.problems.append("token answers another request (nonce mismatch)")

    trust_notes: list[str] = []
    signer = _check_signature(result, token, trust_notes)
    if signer is not None:
        result.signer_subject = signer.subject.rfc4514_string()
        result.signer_not_after = signer.not_valid_after_utc
        result.signer_sha256 = hashlib.sha256(signer.public_bytes(Encoding.DER)).hexdigest()
        result.tsa_name = result.tsa_name or result.signer_subject
        _check_eku(result, signer)
        clock = now or datetime.now(UTC)
        result.expired_since = result.gen_time <= signer.not_valid_after_utc < clock
        if not signer.not_valid_before_utc <= result.gen_time <= signer.not_valid_after_utc:
            result.trust_problems.append("TSA certificate was not valid at the token's time")

    if not roots:
        result.trust_problems.append("trust not established: no trusted TSA roots given")
        result.trust_problems.extend(trust_notes)
        return result
    anchors = [c.public_bytes(Encoding.DER) for c in load_certificates(roots)]
    try:
        _rust_verify.pkcs7_verify(token.der, result.gen_time, anchors)
    except ValueError as err:
        result.chain_valid = False
        result.trust_problems.append(f"TSA chain not valid at {_iso(result.gen_time)}: {_why(err)}")
    else:
        result.chain_valid = True
    result.trust_problems.extend(trust_notes)
    return result


def _check_imprint(result: TokenCheck, imprint: Any, data: bytes) -> None:
    oid = imprint["hash_algorithm"]["algorithm"].dotted
    algo = _DIGESTS.get(oid)
    if algo is None:
        result.problems.append(f"unsupported imprint hash {oid}")
        return
    result.imprint_matches = imprint["hashed_message"].native == hashlib.new(algo, data).digest()
    if not result.imprint_matches:
        result.problems.append("token is for other data (message imprint does not match)")


def _check_signature(
    result: TokenCheck, token: cms.SignedToken, trust_notes: list[str]
) -> x509.Certificate | None:
    try:
        found = cms.find_signer(token)
        if found is None:
            result.problems.append("token does not embed its TSA certificate")
            return None
        signer = cms.load_certificate(found)
        result.signature_valid = cms.verify_signed_data(token, found)
        binding = cms.certificate_binding(token, found) if result.signature_valid else None
    except ValueError as err:  # cms.CmsError, or a certificate cryptography cannot load
        result.problems.append(f"token signature cannot be checked: {err or 'malformed CMS'}")
        return None
    if not result.signature_valid:
        result.problems.append("token signature does not verify with its TSA certificate")
    elif binding is not None:
        result.certificate_bound = binding.bound
        if binding.bound is False:
            result.problems.append(f"{NOT_BOUND} ({binding.detail})")
        elif binding.bound is None:
            trust_notes.append(UNNAMED)
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


def _status_problem(resp: cms.Response) -> str:
    label = _STATUS.get(resp.status, f"status {resp.status}")
    failures = [_FAILURES.get(bit, f"failure bit {bit}") for bit in resp.failure_bits]
    detail = "; ".join([*resp.texts, *failures])
    return f"TSA refused the request ({label})" + (f": {detail}" if detail else "")


def _general_name(name: Any) -> str | None:
    """The TSTInfo's tsa GeneralName as text: a directory name in RFC 4514 form."""
    if name is None or name.native is None:
        return None
    if name.name == "directory_name":
        try:
            return _rfc4514(name.chosen)
        except ValueError:
            return str(name.chosen.human_friendly)
    return str(name.native)


def _rfc4514(name: Any) -> str:
    rdns = [
        x509.RelativeDistinguishedName(
            [
                x509.NameAttribute(x509.ObjectIdentifier(attr["type"].dotted), attr["value"].native)
                for attr in rdn
            ]
        )
        for rdn in name.chosen
    ]
    return x509.Name(rdns).rfc4514_string()


def _why(err: Exception) -> str:
    text = str(err)
    marker = 'data: "Verify error: '
    if marker in text:
        return text.split(marker, 1)[1].split('"', 1)[0]
    return text.splitlines()[0] if text else type(err).__name__


def _utc(when: datetime) -> datetime:
    """A TSTInfo genTime is UTC (RFC 3161 2.4.2); a time without a zone is taken as UTC."""
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(UTC)


def _iso(when: datetime | None) -> str:
    return iso_utc(when) if when else "an unknown time"


def token_time(tsr: bytes) -> str | None:
    """genTime of an RFC 3161 response, ISO 8601 UTC; None when it does not parse."""
    try:
        gen_time = cms.read_token(cms.read_response(tsr).token).tst_info["gen_time"].native
        if not isinstance(gen_time, datetime):
            return None
        return iso_utc(_utc(gen_time))
    except Exception:  # any undecodable token: verify reports it, the index skips it
        return None
