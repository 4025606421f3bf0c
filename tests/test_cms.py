"""The token's CMS structure, read field by field (``archiver.proof.cms``).

Each token here starts as a real answer of the local openssl TSA; the variants are
built with asn1crypto and, where the test needs a TSA signature over changed signed
attributes, signed again with that TSA's own key: what a compromised or careless TSA
could issue, not just random damage. ``check_token`` must find each fault and name it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from asn1crypto import cms, core, tsp
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from archiver.proof.tokens import check_token
from archiver.proof.tsa_client import request_token
from fixtures.tsa import LocalTSA

DATA = b"\x02the signature bytes\x00" * 3
ESS_MISMATCH = "TSA certificate does not match the signingCertificate the token names"


class Issued:
    def __init__(self, tsa: LocalTSA, tsr: bytes) -> None:
        self.tsa = tsa
        self.tsr = tsr
        key = serialization.load_pem_private_key(tsa.key_path.read_bytes(), password=None)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        self.key = key
        self.cert_der = tsp.TimeStampResp.load(tsr)["time_stamp_token"]["content"]["certificates"][
            0
        ].dump()


@pytest.fixture(scope="module")
def issued(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Issued]:
    with LocalTSA(tmp_path_factory.mktemp("cms")) as tsa:
        yield Issued(tsa, request_token(tsa.url, DATA, timeout=10))


def _parts(tsr: bytes) -> tuple[Any, Any, Any]:
    resp = tsp.TimeStampResp.load(tsr)
    signed = resp["time_stamp_token"]["content"]
    return resp, signed, signed["signer_infos"][0]


def resign(
    issued: Issued,
    edit: Callable[[list[Any]], list[Any]],
    *,
    signer: Callable[[Any], None] = lambda si: None,
) -> bytes:
    """The token with its signed attributes edited, then signed again by the TSA key."""
    resp, _, si = _parts(issued.tsr)
    attrs = cms.CMSAttributes(edit([a.copy() for a in si["signed_attrs"]]))
    si["signed_attrs"] = attrs
    signer(si)
    to_sign = b"\x31" + attrs.dump(force=True)[1:]
    si["signature"] = issued.key.sign(to_sign, ec.ECDSA(hashes.SHA256()))
    out: bytes = resp.dump(force=True)
    return out


def without(*names: str) -> Callable[[list[Any]], list[Any]]:
    return lambda attrs: [a for a in attrs if a["type"].native not in names]


def replacing(name: str, value: Any) -> Callable[[list[Any]], list[Any]]:
    def edit(attrs: list[Any]) -> list[Any]:
        kept = [a for a in attrs if a["type"].native != name]
        return [*kept, cms.CMSAttribute({"type": name, "values": [value]})]

    return edit


def ess_v2(cert_hash: bytes, algorithm: str = "sha256") -> tsp.SigningCertificateV2:
    cert_id = {"hash_algorithm": {"algorithm": algorithm}, "cert_hash": cert_hash}
    return tsp.SigningCertificateV2({"certs": [cert_id]})


def ess_v1(cert_hash: bytes) -> tsp.SigningCertificate:
    return tsp.SigningCertificate({"certs": [{"cert_hash": cert_hash}]})


# -- the genuine token, and the reader's old cases --------------------------------------


def test_a_genuine_token_is_intact_and_bound_to_its_certificate(issued: Issued) -> None:
    result = check_token(issued.tsr, DATA, roots=[issued.tsa.root_pem])
    assert result.problems == [] and result.trusted
    assert result.certificate_bound is True
    assert result.tsa_name == "CN=archiver test tsa,O=archiver tests"
    assert result.signer_subject == result.tsa_name


def test_a_changed_signature_byte_and_a_changed_tstinfo_fail(issued: Issued) -> None:
    tampered = bytearray(issued.tsr)
    tampered[-3] ^= 0x01  # inside the signature value, the token's last field
    bad = check_token(bytes(tampered), DATA, roots=())
    assert not bad.signature_valid and not bad.integrity_ok
    assert bad.problems == ["token signature does not verify with its TSA certificate"]

    resp, signed, _ = _parts(issued.tsr)
    tst = signed["encap_content_info"]["content"].parsed
    tst["serial_number"] = tst["serial_number"].native + 1  # messageDigest no longer matches
    signed["encap_content_info"]["content"] = core.ParsableOctetString(tst.dump(force=True))
    edited = check_token(resp.dump(force=True), DATA, roots=())
    assert edited.problems == ["token signature does not verify with its TSA certificate"]


@pytest.mark.parametrize("cut", [1, 2, 10, 100, 400, -40, -1])
def test_a_truncated_token_is_a_verdict_not_a_crash(issued: Issued, cut: int) -> None:
    result = check_token(issued.tsr[:cut], DATA, roots=[issued.tsa.root_pem])
    assert not result.integrity_ok and result.problems


def test_bytes_after_the_response_are_refused(issued: Issued) -> None:
    result = check_token(issued.tsr + b"\x00", DATA, roots=())
    assert result.problems == ["not a timestamp response (not RFC 3161 TimeStampResp DER)"]


def test_an_indefinite_length_ber_token_is_not_der(issued: Issued) -> None:
    # the outer SEQUENCE re-encoded with an indefinite length (BER): not DER
    resp = tsp.TimeStampResp.load(issued.tsr)
    body = resp.contents
    ber = b"\x30\x80" + body + b"\x00\x00"
    result = check_token(ber, DATA, roots=())
    assert not result.integrity_ok and result.problems


def test_two_signers_are_refused(issued: Issued) -> None:
    resp, signed, si = _parts(issued.tsr)
    signed["signer_infos"] = cms.SignerInfos([si.copy(), si.copy()])
    result = check_token(resp.dump(force=True), DATA, roots=())
    assert not result.integrity_ok
    assert result.problems == [
        "token signature cannot be checked: token must have exactly one signer"
    ]


def test_a_signer_named_by_subject_key_identifier_is_found(issued: Issued) -> None:
    from asn1crypto import x509 as asn1_x509

    cert = asn1_x509.Certificate.load(issued.cert_der)
    ski = hashlib.sha1(cert.public_key["public_key"].native).digest()

    def by_ski(si: Any) -> None:
        si["version"] = "v3"
        si["sid"] = cms.SignerIdentifier({"subject_key_identifier": ski})

    # the certificate has no SKI extension: the key's SHA-1 names it (RFC 5280 4.2.1.2)
    token = resign(issued, lambda attrs: attrs, signer=by_ski)
    result = check_token(token, DATA, roots=())
    assert result.problems == [] and result.integrity_ok


def test_a_signed_content_type_other_than_tstinfo_is_refused(issued: Issued) -> None:
    token = resign(issued, replacing("content_type", cms.ContentType("data")))
    result = check_token(token, DATA, roots=())
    assert not result.integrity_ok
    assert result.problems == [
        "token signature cannot be checked: the signed contentType is not the token's TSTInfo"
    ]


def test_a_missing_message_digest_is_refused(issued: Issued) -> None:
    token = resign(issued, without("message_digest"))
    result = check_token(token, DATA, roots=())
    assert not result.integrity_ok
    assert result.problems == ["token signature cannot be checked: no signed messageDigest"]


def test_rejection_failure_bits_are_named(tmp_path: Path) -> None:
    from archiver.proof.tsa_client import build_query, post_query

    with LocalTSA(tmp_path, "reject") as bad:
        tsr = post_query(bad.url, build_query(DATA)[0], timeout=10)
    result = check_token(tsr, DATA, roots=())
    assert result.problems == [
        "TSA refused the request (rejection): Message digest algorithm is not supported.; "
        "badAlg (unrecognised or unsupported algorithm)"
    ]


# -- the ESS binding: signingCertificate(V2) names the certificate that signed ------------


def test_an_altered_embedded_certificate_breaks_the_binding(issued: Issued) -> None:
    """One byte of the certificate's subject changed: the key (and so the signature)
    is the same, but it is not the certificate the TSA signed for."""
    tsr = bytearray(issued.tsr)
    at = bytes(tsr).index(issued.cert_der) + issued.cert_der.index(b"archiver test tsa") + 16
    tsr[at] ^= 0x01  # 'a' -> '`' keeps the certificate parseable
    result = check_token(bytes(tsr), DATA, roots=())
    assert result.signature_valid and result.certificate_bound is False
    assert not result.integrity_ok
    assert result.problems == [ESS_MISMATCH + " (ESSCertIDv2 sha256 hash differs)"]


def test_a_signing_certificate_v2_naming_another_certificate_fails(issued: Issued) -> None:
    token = resign(issued, replacing("signing_certificate_v2", ess_v2(b"\x00" * 32)))
    result = check_token(token, DATA, roots=[issued.tsa.root_pem])
    assert not result.integrity_ok and not result.trusted
    assert result.problems == [ESS_MISMATCH + " (ESSCertIDv2 sha256 hash differs)"]


def test_signing_certificate_v1_and_v2_with_sha512_bind(issued: Issued) -> None:
    v1 = resign(
        issued,
        lambda attrs: replacing(
            "signing_certificate", ess_v1(hashlib.sha1(issued.cert_der).digest())
        )(without("signing_certificate_v2")(attrs)),
    )
    sha512 = ess_v2(hashlib.sha512(issued.cert_der).digest(), "sha512")
    v2 = resign(issued, replacing("signing_certificate_v2", sha512))
    for token in (v1, v2):
        result = check_token(token, DATA, roots=[issued.tsa.root_pem])
        assert result.problems == [] and result.trusted and result.certificate_bound is True

    wrong = resign(issued, replacing("signing_certificate", ess_v1(b"\x01" * 20)))
    result = check_token(wrong, DATA, roots=())
    assert result.problems == [ESS_MISMATCH + " (ESSCertID sha1 hash differs)"]


def test_an_ess_issuer_serial_naming_another_certificate_fails(issued: Issued) -> None:
    from asn1crypto import x509 as asn1_x509

    cert = asn1_x509.Certificate.load(issued.cert_der)
    cert_id = {
        "cert_hash": hashlib.sha256(issued.cert_der).digest(),
        "issuer_serial": {
            "issuer": [asn1_x509.GeneralName({"directory_name": cert.issuer})],
            "serial_number": cert.serial_number + 1,
        },
    }
    value = tsp.SigningCertificateV2({"certs": [cert_id]})
    token = resign(issued, replacing("signing_certificate_v2", value))
    result = check_token(token, DATA, roots=())
    assert result.problems == [ESS_MISMATCH + " (its issuer and serial number differ)"]


def test_a_token_naming_no_certificate_is_intact_with_a_trust_note(issued: Issued) -> None:
    """RFC 3161 requires the attribute; without it the certificate is bound only by its
    chain, which trust checks: a note, not an integrity failure."""
    token = resign(issued, without("signing_certificate_v2"))
    result = check_token(token, DATA, roots=())
    assert result.integrity_ok and result.certificate_bound is None
    assert result.trust_problems == [
        "trust not established: no trusted TSA roots given",
        "token does not name its TSA certificate (no signingCertificate attribute): "
        "only a chain to a trusted root vouches for that certificate",
    ]
    assert check_token(token, DATA, roots=[issued.tsa.root_pem]).trusted
