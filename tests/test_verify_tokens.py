"""Check 7 on real packages: what each token proves, and how much evidence they add up to.

A package built with two local openssl TSAs (tests/packages.py), then changed as a
forger would: the TSA certificate inside a token altered (the signature still holds,
the ESS binding does not), a token copied under a second name, or the same TSTInfo
signed again by the TSA. A copy is not a second TSA's word: it is named, not counted,
and fails integrity (an unsigned member claims evidence it is not).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding
from packages import build_package
from tamper import TSR0, TSR1, members, resign_token, rewrite

from archiver.proof import add_timestamps
from archiver.proof.signing import public_pem
from archiver.schema import validate
from archiver.verify.run import VerifyReport, render_text, verify_package
from fixtures.tsa import LocalTSA

TSR2 = "provenance/manifest.json.sig.2.tsr"


class Setup:
    def __init__(self, path: Path, key: Ed25519PrivateKey, a: LocalTSA, b: LocalTSA) -> None:
        self.path, self.key, self.a, self.b = path, key, a, b
        self.pub = public_pem(key)
        self.roots = [a.root_pem, b.root_pem]


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    base = tmp_path_factory.mktemp("tokens")
    key = Ed25519PrivateKey.generate()
    (base / "pkg").mkdir()
    with LocalTSA(base / "a") as a, LocalTSA(base / "b") as b:
        yield Setup(build_package(base / "pkg" / "clean.wacz", key, [a.url, b.url]), key, a, b)


@pytest.fixture
def pkg(setup: Setup, tmp_path: Path) -> Path:
    dest = tmp_path / "copy.wacz"
    shutil.copyfile(setup.path, dest)
    return dest


def verify(setup: Setup, path: Path, *, roots: bool = True) -> VerifyReport:
    return verify_package(path, trust_keys=[setup.pub], tsa_roots=setup.roots if roots else [])


def lines(report: VerifyReport) -> list[str]:
    return [p.line() for p in report.problems]


def test_the_clean_package_counts_two_tokens_from_two_tsas(setup: Setup) -> None:
    report = verify(setup, setup.path)
    assert report.exit_code == 0, render_text(report)
    summary = report.check("tsa-trust").summary
    assert summary.startswith("2 of 2 distinct tokens chain to a root you trust"), summary
    assert "from 2 distinct TSAs" in summary
    assert [t.duplicate_of for t in report.timestamps] == [None, None]


# -- the TSA certificate inside a token ------------------------------------------------------


def _alter_certificate(setup: Setup) -> bytes:
    """TSR0 with one byte of its embedded TSA certificate's subject changed."""
    tsr = bytearray(members(setup.path)[TSR0])
    cert = x509.load_pem_x509_certificate(setup.a.cert_path.read_bytes())
    der = cert.public_bytes(Encoding.DER)
    at = bytes(tsr).index(der) + der.index(b"archiver test tsa") + 16
    tsr[at] ^= 0x01  # 'a' -> '`': still a parseable certificate, same key
    return bytes(tsr)


def test_an_altered_tsa_certificate_fails_integrity_without_roots(setup: Setup, pkg: Path) -> None:
    """Without --tsa-root nothing vouches for the certificate but the token's own ESS
    binding: a changed subject with the same key verified the signature, exit 0."""
    altered = _alter_certificate(setup)
    rewrite(pkg, {TSR0: lambda _: altered})
    report = verify(setup, pkg, roots=False)
    assert report.exit_code == 1, render_text(report)
    assert report.check("timestamp-0").status == "failed"
    assert any(
        line.startswith(f"{TSR0}: TSA certificate does not match the signingCertificate")
        for line in lines(report)
    ), lines(report)
    assert report.check("timestamp-1").status == "passed"
    assert report.timestamps[0].intact is False


def test_an_altered_tsa_certificate_also_fails_with_roots(setup: Setup, pkg: Path) -> None:
    altered = _alter_certificate(setup)
    rewrite(pkg, {TSR0: lambda _: altered})
    report = verify(setup, pkg)
    assert report.exit_code == 1 and report.timestamps[0].chain != "valid"
    assert any(TSR0 in line for line in lines(report))


# -- the same token twice ---------------------------------------------------------------------


def test_a_token_copied_to_a_second_name_is_named_and_not_counted(setup: Setup, pkg: Path) -> None:
    token = members(pkg)[TSR0]
    rewrite(pkg, {}, add={TSR2: token})
    report = verify(setup, pkg)
    text = render_text(report)
    assert report.exit_code == 1, text
    assert any(line.startswith(f"{TSR2}: same token as {TSR0}") for line in lines(report)), lines(
        report
    )
    assert [t.duplicate_of for t in report.timestamps] == [None, None, TSR0]
    assert report.check("timestamp-0").status == "passed"
    summary = report.check("tsa-trust").summary
    assert summary.startswith("2 of 2 distinct tokens chain"), summary
    assert "from 2 distinct TSAs" in summary and "1 duplicate" in summary
    validate(report.to_json(), "verify.schema.json")


def test_one_tsa_token_under_two_names_is_one_tsa(setup: Setup, pkg: Path) -> None:
    token = members(pkg)[TSR0]
    rewrite(pkg, {TSR1: lambda _: token})
    report = verify(setup, pkg)
    assert report.exit_code == 1, render_text(report)
    assert any(line.startswith(f"{TSR1}: same token as {TSR0}") for line in lines(report))
    summary = report.check("tsa-trust").summary
    assert summary.startswith("1 of 1 distinct token chains"), summary
    assert "from 1 distinct TSA" in summary


def test_the_same_tstinfo_signed_again_is_the_same_token(
    setup: Setup, pkg: Path, tmp_path: Path
) -> None:
    """Other bytes (a new CMS signature, a new signingTime) but the same TSA certificate
    and serial number: one timestamp, not two."""
    tsr = members(pkg)[TSR0]
    again = resign_token(tsr, tmp_path / "r", setup.a.cert_path, setup.a.key_path)
    assert again != tsr
    rewrite(pkg, {}, add={TSR2: again})
    report = verify(setup, pkg)
    assert report.exit_code == 1, render_text(report)
    assert any(line.startswith(f"{TSR2}: same token as {TSR0}") for line in lines(report))


def test_two_tokens_of_one_tsa_are_two_tokens_from_one_tsa(setup: Setup, tmp_path: Path) -> None:
    """Timestamped again later by the same TSA: a second, genuine token (another serial)."""
    key = Ed25519PrivateKey.generate()
    (tmp_path / "p").mkdir()
    path = build_package(tmp_path / "p" / "twice.wacz", key, [setup.a.url])
    assert add_timestamps(path, [setup.a.url], timeout=10).added == [TSR1]
    report = verify_package(path, trust_keys=[public_pem(key)], tsa_roots=setup.roots)
    assert report.exit_code == 0, render_text(report)
    summary = report.check("tsa-trust").summary
    assert summary.startswith("2 of 2 distinct tokens chain"), summary
    assert "from 1 distinct TSA" in summary
