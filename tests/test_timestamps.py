"""RFC 3161 tokens from a real local openssl TSA: requesting, and the pure check."""

from __future__ import annotations

import hashlib
import socket
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from archiver.errors import TimestampError, UsageError
from archiver.proof.roots import read_roots, system_roots
from archiver.proof.tokens import check_token
from archiver.proof.tsa_client import build_query, post_query, request_token
from fixtures.tsa import LocalTSA, make_ca

DATA = b"\x01signature bytes\x00" * 4


def openssl_verify(
    tmp: Path, tsr: bytes, data: bytes, root: Path
) -> subprocess.CompletedProcess[str]:
    (tmp / "x.tsr").write_bytes(tsr)
    (tmp / "x.data").write_bytes(data)
    return subprocess.run(
        [
            "openssl",
            "ts",
            "-verify",
            "-data",
            str(tmp / "x.data"),
            "-in",
            str(tmp / "x.tsr"),
            "-CAfile",
            str(root),
        ],
        capture_output=True,
        text=True,
    )


def raw_answer(url: str, data: bytes) -> bytes:
    """What the TSA sent, unchecked (to show check_token finds the fault itself)."""
    query, _ = build_query(data)
    return post_query(url, query, timeout=10)


@pytest.fixture(scope="module")
def tsa(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalTSA]:
    with LocalTSA(tmp_path_factory.mktemp("tsa")) as running:
        yield running


def test_token_verifies_with_openssl_and_with_check_token(tsa: LocalTSA, tmp_path: Path) -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    tsr = request_token(tsa.url, DATA, timeout=10)
    after = datetime.now(UTC)
    proc = openssl_verify(tmp_path, tsr, DATA, tsa.root_path)
    assert proc.returncode == 0 and "Verification: OK" in proc.stdout, proc.stderr

    result = check_token(tsr, DATA, roots=[tsa.root_pem])
    assert result.problems == []
    assert result.integrity_ok and result.trusted
    assert result.imprint_matches and result.signature_valid and result.timestamping_eku
    assert result.chain_valid is True
    assert result.gen_time is not None
    assert before - timedelta(seconds=1) <= result.gen_time <= after + timedelta(seconds=1)
    assert result.tsa_name is not None and "archiver test tsa" in result.tsa_name
    assert isinstance(result.serial, int)
    assert not result.expired_since


def test_token_asks_for_the_tsa_certificate_and_covers_sha256(tsa: LocalTSA) -> None:
    query, nonce = build_query(DATA)
    proc = subprocess.run(
        ["openssl", "ts", "-query", "-in", "/dev/stdin", "-text"], input=query, capture_output=True
    )
    text = proc.stdout.decode()
    assert "Certificate required: yes" in text
    assert "sha256" in text
    assert hashlib.sha256(DATA).hexdigest()[:4] in text.replace(" ", "").replace("-", "")
    assert nonce > 0


def test_without_roots_only_integrity_is_reported(tsa: LocalTSA) -> None:
    tsr = request_token(tsa.url, DATA, timeout=10)
    result = check_token(tsr, DATA, roots=())
    assert result.integrity_ok
    assert result.chain_valid is None and not result.trusted
    assert result.problems == []
    assert result.trust_problems == ["trust not established: no trusted TSA roots given"]


def test_another_root_does_not_establish_trust(tsa: LocalTSA, tmp_path: Path) -> None:
    tsr = request_token(tsa.url, DATA, timeout=10)
    stranger, _ = make_ca(tmp_path, "some other root")
    result = check_token(tsr, DATA, roots=[stranger.read_bytes()])
    assert result.integrity_ok and result.chain_valid is False and not result.trusted
    assert any(p.startswith("TSA chain not valid at") for p in result.trust_problems)
    assert openssl_verify(tmp_path, tsr, DATA, stranger).returncode != 0
    # nor does the public root store trust a throwaway test CA
    assert check_token(tsr, DATA, roots=system_roots()).chain_valid is False


def test_token_for_other_bytes_and_a_tampered_token_fail(tsa: LocalTSA) -> None:
    tsr = request_token(tsa.url, DATA, timeout=10)
    wrong = check_token(tsr, DATA + b"!", roots=[tsa.root_pem])
    assert not wrong.imprint_matches and not wrong.integrity_ok
    assert "token is for other data (message imprint does not match)" in wrong.problems

    tampered = bytearray(tsr)
    tampered[-3] ^= 0x01  # inside the CMS signature value, the last field of the token
    bad = check_token(bytes(tampered), DATA, roots=())
    assert bad.imprint_matches and not bad.signature_valid and not bad.integrity_ok
    assert "token signature does not verify with its TSA certificate" in bad.problems

    for cut in (1, 10, len(tsr) // 3, len(tsr) // 2, len(tsr) - 1):  # truncated: a verdict
        truncated = check_token(tsr[:cut], DATA, roots=[tsa.root_pem])
        assert not truncated.integrity_ok and truncated.problems

    assert check_token(b"<html>hi</html>", DATA, roots=()).problems == [
        "not a timestamp response (not RFC 3161 TimeStampResp DER)"
    ]


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("http500", r"answered HTTP 500"),
        ("garbage", r"not a timestamp response"),
        ("reject", r"refused the request \(rejection\).*badAlg"),
        ("other_data", r"token is for other data"),
        ("wrong_nonce", r"answers another request \(nonce mismatch\)"),
        ("no_eku", r"no extendedKeyUsage timeStamping"),
    ],
)
def test_each_tsa_fault_gives_one_clear_line(tmp_path: Path, mode: str, message: str) -> None:
    with LocalTSA(tmp_path, mode) as bad, pytest.raises(TimestampError, match=message) as err:
        request_token(bad.url, DATA, timeout=10)
    assert str(err.value).startswith(f"TSA {bad.url}")
    assert "\n" not in str(err.value)


def test_token_from_a_cert_without_timestamping_eku_is_untrusted(tmp_path: Path) -> None:
    with LocalTSA(tmp_path, "no_eku") as bad:
        tsr = raw_answer(bad.url, DATA)
    result = check_token(tsr, DATA, roots=[bad.root_pem])
    assert result.integrity_ok  # well signed...
    assert not result.timestamping_eku and result.chain_valid is False and not result.trusted
    assert "TSA certificate has no extendedKeyUsage timeStamping" in result.problems
    assert openssl_verify(tmp_path, tsr, DATA, bad.root_path).returncode != 0


def test_rejection_is_reported_by_check_token(tmp_path: Path) -> None:
    with LocalTSA(tmp_path, "reject") as bad:
        tsr = raw_answer(bad.url, DATA)
    result = check_token(tsr, DATA, roots=[bad.root_pem])
    assert result.parsed and not result.granted and not result.integrity_ok
    assert result.problems[0].startswith("TSA refused the request (rejection)")


def test_unreachable_and_silent_tsas(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(TimestampError, match=r"is unreachable.*refused"):
        request_token(f"http://127.0.0.1:{port}/tsa", DATA, timeout=5)

    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/tsa"
        with pytest.raises(TimestampError, match=r"did not answer within 1 s"):
            request_token(url, DATA, timeout=1)

    with pytest.raises(TimestampError, match="not an http"):
        request_token("ftp://127.0.0.1/tsa", DATA, timeout=1)


@pytest.mark.slow  # waits for the TSA certificate to expire
def test_tsa_cert_expired_since_still_verifies_at_token_time(tmp_path: Path) -> None:
    with LocalTSA(tmp_path, "expiring", expire_after=3) as short:
        tsr = request_token(short.url, DATA, timeout=10)
        not_after = short.not_after
        root, root_path = short.root_pem, short.root_path
    while datetime.now(UTC) <= not_after + timedelta(seconds=1):
        time.sleep(0.5)
    # openssl checks the chain at the current time: the certificate has really expired
    proc = openssl_verify(tmp_path, tsr, DATA, root_path)
    assert proc.returncode != 0 and "expired" in proc.stderr
    result = check_token(tsr, DATA, roots=[root])
    assert result.problems == []
    assert result.trusted and result.chain_valid is True
    assert result.expired_since
    assert result.gen_time is not None and result.gen_time <= not_after


def test_read_roots_names_the_bad_file(tmp_path: Path) -> None:
    good, _ = make_ca(tmp_path)
    assert read_roots([good]) == [good.read_bytes()]
    junk = tmp_path / "junk.pem"
    junk.write_text("hello")
    with pytest.raises(UsageError, match=r"junk\.pem holds no PEM or DER certificate"):
        read_roots([junk])
    with pytest.raises(UsageError, match="cannot read TSA root"):
        read_roots([tmp_path / "absent.pem"])
