"""verify_package on packages built from real bytes: WarcRecorder, proof.seal with two
local openssl TSAs (fixtures/tsa.py), package.write_wacz (tests/packages.py). Each tamper
test rewrites one zip member (and, like a careful tamperer, fixes the unsigned
datapackage.json) or takes a named broken package (tests/broken.py), and checks the
failure is caught, named, and gives the right exit code.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import shutil
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from packages import Built, build_package
from tamper import (
    CDXJ,
    MANIFEST,
    PAGES,
    SIG,
    TSR0,
    WARC,
    edit_record,
    flip,
    gzip_members,
    resign_with_another_key,
    rewrite,
)

from archiver.cli import cli
from archiver.errors import UsageError
from archiver.proof import signing
from archiver.schema import validate
from archiver.verify.run import VerifyReport, render_text, verify_package
from fixtures.tsa import LocalTSA

Broken = Callable[[str], Path]  # the broken_package fixture: a named broken package


# -- the clean package ------------------------------------------------------------------


@pytest.fixture
def built(clean_package: Built) -> Built:
    """The session's clean package (conftest.py): read it, tamper only with ``pkg``."""
    return clean_package


@pytest.fixture
def pkg(built: Built, tmp_path: Path) -> Path:
    dest = tmp_path / "copy.wacz"
    shutil.copyfile(built.path, dest)
    return dest


# -- tamper helpers ----------------------------------------------------------------


def warc_members(data: bytes) -> list[bytes]:
    """The gzip members of a WARC.gz, each decompressed (one record per member)."""
    return [gzip.decompress(m) for m in gzip_members(data)]


def warc_join(records: list[bytes]) -> bytes:
    return b"".join(gzip.compress(r, mtime=0) for r in records)


def problems(report: VerifyReport, check_id: str) -> list[str]:
    return [f"{p.where}: {p.message}" for p in report.check(check_id).problems]


def assert_schema(report: VerifyReport) -> dict[str, object]:
    doc = report.to_json()
    validate(doc, "verify.schema.json")
    json.dumps(doc)
    return doc


# -- clean package --------------------------------------------------------------------


def test_clean_package_with_two_tokens_verifies_and_trust_is_established(built: Built) -> None:
    report = verify_package(built.path, trust_keys=[built.pub], tsa_roots=built.roots)
    text = render_text(report)
    assert report.exit_code == 0, text
    assert report.integrity == "passed" and report.trust == "established"
    assert [c.status for c in report.checks] == ["passed"] * len(report.checks)
    assert len(report.timestamps) == 2
    for token in report.timestamps:
        assert token.intact and token.chain == "valid"
        assert token.gap_seconds is not None  # TSA time vs the claimed 2026-11-27T09:18:09Z
        assert token.time is not None and token.tsa
    assert report.signer_fingerprint == signing.fingerprint(built.key)
    assert "Result: OK (exit 0)" in text
    doc = assert_schema(report)
    assert doc["exit_code"] == 0 and doc["capture"]["id"] == "20261127T091807Z-3f9c2a1b"


def test_no_anchors_passes_integrity_but_says_loudly_trust_is_not_established(
    built: Built,
) -> None:
    report = verify_package(built.path)
    assert report.exit_code == 0
    assert report.integrity == "passed" and report.trust == "not established"
    assert report.check("key").status == "not checked"
    assert report.check("tsa-trust").status == "not checked"
    text = render_text(report)
    assert "Trust: NOT ESTABLISHED" in text
    assert_schema(report)


def test_strict_without_anchors_fails(built: Built) -> None:
    report = verify_package(built.path, strict=True)
    assert report.exit_code == 1
    assert report.integrity == "passed"


def test_trusted_keys_file_with_fingerprint_and_pem(built: Built, tmp_path: Path) -> None:
    other = signing.public_pem(Ed25519PrivateKey.generate()).decode()
    fp = signing.fingerprint(built.key)
    keys = tmp_path / "trusted-keys"
    keys.write_text(f"# desk\n{other}\nsha256:{fp}  # the newsroom key\n")
    report = verify_package(built.path, trusted_keys_file=keys, tsa_roots=built.roots)
    assert report.exit_code == 0 and report.check("key").status == "passed"
    keys.write_text(other)
    report = verify_package(built.path, trusted_keys_file=keys)
    assert report.exit_code == 1
    assert "NOT in your trusted keys" in problems(report, "key")[0]


def test_trusted_keys_file_with_junk_is_a_usage_error(built: Built, tmp_path: Path) -> None:
    keys = tmp_path / "trusted-keys"
    keys.write_text("3f9c not a key\n")
    with pytest.raises(UsageError, match="line 1"):
        verify_package(built.path, trusted_keys_file=keys)


def test_tsa_root_that_does_not_match_fails_trust(built: Built, tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    with LocalTSA(tmp_path / "x") as stranger:
        report = verify_package(built.path, tsa_roots=[stranger.root_pem])
    assert report.exit_code == 1
    assert report.integrity == "passed" and report.trust == "failed"
    assert report.check("tsa-trust").status == "failed"


# -- tampering --------------------------------------------------------------------------


def test_changed_byte_in_a_warc_payload_names_the_record(built: Built, pkg: Path) -> None:
    rewrite(pkg, {WARC: edit_record(1, lambda r: r.replace(b"75,000", b"7,500 "))})
    report = verify_package(pkg, trust_keys=[built.pub], tsa_roots=built.roots)
    assert report.exit_code == 1
    recs = problems(report, "records")
    assert any(
        "<urn:uuid:00000000-0000-4000-8000-000000000002>" in p and "payload digest" in p
        for p in recs
    ), recs
    assert any(p.startswith(WARC) and "signed manifest" in p for p in problems(report, "files"))
    assert report.check("signature").status == "passed"  # the manifest itself is untouched
    assert_schema(report)


def test_changed_byte_in_a_warc_header_names_the_record(built: Built, pkg: Path) -> None:
    rewrite(pkg, {WARC: edit_record(3, lambda r: r.replace(b"a.png", b"b.png", 1))})
    report = verify_package(pkg)
    assert report.exit_code == 1
    recs = problems(report, "records")
    assert any("target uri" in p and "a.png" in p for p in recs), recs
    assert report.check("index").status == "failed"


def test_changed_byte_in_the_cdxj_names_the_line(built: Built, pkg: Path) -> None:
    rewrite(pkg, {CDXJ: lambda d: d.replace(b'"offset": "', b'"offset": "1', 1)})
    report = verify_package(pkg)
    assert report.exit_code == 1
    assert any(p.startswith(f"{CDXJ} line 1:") for p in problems(report, "index"))
    assert any(p.startswith(CDXJ) for p in problems(report, "files"))


def test_changed_byte_in_pages_jsonl_is_caught_by_the_file_hash(pkg: Path) -> None:
    rewrite(pkg, {PAGES: lambda d: d.replace(b"Kursk", b"Kursx").replace(b'"K"', b'"X"')})
    report = verify_package(pkg)
    assert report.exit_code == 1
    assert problems(report, "files") == [
        f"{PAGES}: sha256 does not match the signed manifest (file changed)"
    ]


def test_changed_byte_in_the_manifest_breaks_the_signature(built: Built, pkg: Path) -> None:
    rewrite(pkg, {MANIFEST: lambda d: d.replace(b"3f9c2a1b", b"3f9c2a1c")})
    report = verify_package(pkg, trust_keys=[built.pub], tsa_roots=built.roots)
    assert report.exit_code == 1
    assert report.check("signature").status == "failed"
    assert problems(report, "signature")[0].startswith(SIG)


def test_changed_byte_in_the_signature_fails_signature_and_tokens(pkg: Path) -> None:
    rewrite(pkg, {SIG: flip(5)})
    report = verify_package(pkg)
    assert report.exit_code == 1
    assert report.check("signature").status == "failed"
    token_probs = problems(report, "timestamp-0")
    assert token_probs and "other data" in token_probs[0]


def test_changed_byte_in_a_token_names_the_token(built: Built, pkg: Path) -> None:
    with zipfile.ZipFile(pkg) as zf:
        tsr = zf.read(TSR0)
    # flip a byte inside the signed TSTInfo (its genTime digits), keep DER well-formed
    pos = tsr.find(b"2026") + 3
    rewrite(pkg, {TSR0: flip(pos)})
    report = verify_package(pkg, tsa_roots=built.roots)
    assert report.exit_code == 1
    probs = problems(report, "timestamp-0")
    assert probs and probs[0].startswith(TSR0), probs
    assert report.check("timestamp-1").status == "passed"


def test_removed_record_is_named(built: Built, pkg: Path) -> None:
    def drop(data: bytes) -> bytes:
        recs = warc_members(data)
        del recs[3]  # the image response
        return warc_join(recs)

    rewrite(pkg, {WARC: drop})
    report = verify_package(pkg)
    assert report.exit_code == 1
    recs = problems(report, "records")
    assert any("000000000004" in p and "missing from archive/data.warc.gz" in p for p in recs), recs


def test_file_added_to_the_zip_is_named(broken_package: Broken) -> None:
    report = verify_package(broken_package("extra-member"))
    assert report.exit_code == 1
    assert any(p.startswith("archive/extra.warc.gz") for p in problems(report, "layout"))
    assert any(
        "archive/extra.warc.gz: is not listed in the signed manifest" in p
        for p in problems(report, "files")
    )


def test_unsigned_datapackage_edit_without_fix_is_caught(pkg: Path) -> None:
    rewrite(pkg, {PAGES: lambda d: d + b"\n"}, fix_datapackage=False)
    report = verify_package(pkg)
    assert report.exit_code == 1
    assert any("datapackage.json" in p for p in problems(report, "files"))


def test_manifest_re_signed_with_another_key_and_tokens_dropped(built: Built, pkg: Path) -> None:
    thief = Ed25519PrivateKey.generate()

    def edit(doc: dict[str, Any]) -> None:
        doc["capture"]["status"] = 404  # a claim datapackage.json does not repeat

    resign_with_another_key(pkg, edit, thief)
    anyone = verify_package(pkg)
    assert anyone.integrity == "passed" and anyone.exit_code == 0  # valid, but by whom?
    assert "NOT ESTABLISHED" in render_text(anyone)
    assert anyone.check("tsa-trust").status == "not checked"
    report = verify_package(pkg, trust_keys=[built.pub])
    assert report.exit_code == 1
    assert report.check("signature").status == "passed"
    assert report.check("key").status == "failed"
    assert "NOT in your trusted keys" in problems(report, "key")[0]
    assert_schema(report)


# -- bad input ----------------------------------------------------------------------------


def test_not_a_zip_is_exit_2_with_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "x.wacz"
    bad.write_bytes(b"<html>not a package</html>")
    report = verify_package(bad)
    assert report.exit_code == 2 and report.error and "\n" not in report.error
    assert "not a zip" in report.error
    assert_schema(report)


def test_truncated_zip_is_exit_2(broken_package: Broken) -> None:
    report = verify_package(broken_package("truncated-zip"))
    assert report.exit_code == 2
    assert "truncated" in (report.error or "")


def test_truncated_gzip_member_is_exit_1_naming_the_offset(broken_package: Broken) -> None:
    report = verify_package(broken_package("truncated-gzip"))
    assert report.exit_code == 1
    recs = problems(report, "records")
    assert any(p.startswith(WARC) and "ends early" in p for p in recs), recs


def test_missing_manifest_is_exit_1(broken_package: Broken) -> None:
    report = verify_package(broken_package("missing-manifest"))
    assert report.exit_code == 1
    assert f"{MANIFEST}: is missing" in problems(report, "layout")
    assert report.check("signature").status == "failed"
    assert_schema(report)


@pytest.mark.parametrize("kind", ["not-zip", "truncated-zip", "missing-manifest"])
def test_cli_bad_input_is_one_clear_line_no_traceback(
    broken_package: Broken, tmp_path: Path, kind: str
) -> None:
    if kind == "not-zip":
        pkg = tmp_path / "junk.wacz"
        pkg.write_bytes(b"junk")
    else:
        pkg = broken_package(kind)
    result = CliRunner().invoke(cli, ["verify", str(pkg)])
    assert result.exit_code == (1 if kind == "missing-manifest" else 2), result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_cli_json_output_validates(built: Built) -> None:
    result = CliRunner().invoke(cli, ["verify", str(built.path), "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    validate(doc, "verify.schema.json")
    assert doc["trust"] == "not established"


def test_warc_that_inflates_far_beyond_its_size_is_scanned_in_bounded_chunks(
    tmp_path: Path,
) -> None:
    """A 64 MB zero body compresses to ~64 KB: the scanner still checks its digest."""
    from archiver.verify.warcscan import scan_warc

    body = b"\0" * (64 << 20)
    head = (
        "WARC/1.1\r\nWARC-Type: resource\r\nWARC-Record-ID: <urn:uuid:x>\r\n"
        "WARC-Target-URI: urn:x\r\nContent-Type: application/octet-stream\r\n"
        f"WARC-Block-Digest: sha256:{hashlib.sha256(body).hexdigest()}\r\n"
        f"WARC-Payload-Digest: sha256:{hashlib.sha256(body).hexdigest()}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    data = gzip.compress(head + body + b"\r\n\r\n", compresslevel=9)
    assert len(data) < 1 << 20
    found = []
    scan_warc(io.BytesIO(data), found.append, chunk=1 << 16)
    assert len(found) == 1 and found[0].block_ok and found[0].payload_ok
    assert found[0].length == len(data)


def test_token_from_a_certificate_without_timestamping_eku_fails(built: Built, pkg: Path) -> None:
    from archiver.proof import tsa_client

    with zipfile.ZipFile(pkg) as zf:
        signature = zf.read(SIG)
    query, _ = tsa_client.build_query(signature)
    (pkg.parent / "t").mkdir()
    with LocalTSA(pkg.parent / "t", mode="no_eku") as bad:
        tsr = tsa_client.post_query(bad.url, query, timeout=10)
        roots = [*built.roots, bad.root_pem]
    rewrite(pkg, {}, add={"provenance/manifest.json.sig.2.tsr": tsr})
    report = verify_package(pkg, tsa_roots=roots)
    assert report.exit_code == 1
    probs = problems(report, "timestamp-2")
    assert any("timeStamping" in p for p in probs), probs
    assert report.check("timestamp-0").status == "passed"


@pytest.mark.slow  # waits for the TSA certificate to expire
def test_tsa_certificate_expired_since_still_verifies_at_the_token_time(tmp_path: Path) -> None:
    import time

    (tmp_path / "t").mkdir()
    key = Ed25519PrivateKey.generate()
    with LocalTSA(tmp_path / "t", mode="expiring", expire_after=2.0) as tsa:
        path = build_package(tmp_path / "p.wacz", key, [tsa.url])
        root, not_after = tsa.root_pem, tsa.not_after
    while datetime.now(UTC) <= not_after:  # wait until the TSA certificate has expired
        time.sleep(0.5)
    report = verify_package(path, tsa_roots=[root])
    assert report.exit_code == 0, render_text(report)
    token = report.timestamps[0]
    assert token.chain == "valid" and "expired since" in token.chain_detail


def test_backdated_warc_record_is_named(pkg: Path) -> None:
    rewrite(
        pkg, {WARC: edit_record(3, lambda r: r.replace(b"WARC-Date: 2026", b"WARC-Date: 2025"))}
    )
    report = verify_package(pkg)
    assert report.exit_code == 1
    recs = problems(report, "records")
    assert any("000000000004" in p and "date is '2025" in p for p in recs), recs
    assert any("timestamp 2026" in p for p in problems(report, "index"))


def test_a_removed_token_leaves_the_other_named_by_its_own_number(built: Built, pkg: Path) -> None:
    """Tokens are not signed (they are added later), so dropping one is allowed."""
    rewrite(pkg, {TSR0: lambda _: None})
    report = verify_package(pkg, tsa_roots=built.roots)
    assert report.exit_code == 0, render_text(report)
    assert [t.file for t in report.timestamps] == ["provenance/manifest.json.sig.1.tsr"]
    assert report.check("timestamp-1").status == "passed"


def test_default_trusted_keys_file_is_used_when_no_option_is_given(
    built: Built, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A newsroom keeps its keys in ~/.config/archiver/trusted-keys: verify reads it."""
    monkeypatch.delenv("ARCHIVER_TRUSTED_KEYS", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    keys = tmp_path / "archiver" / "trusted-keys"
    keys.parent.mkdir()
    other = signing.fingerprint(Ed25519PrivateKey.generate())
    keys.write_text(f"# colleagues\n{other}\n")
    result = CliRunner().invoke(cli, ["verify", str(built.path), "--json"])
    assert result.exit_code == 1, result.output  # anchors given, and the signer is not one
    assert json.loads(result.output)["trust"] == "failed"
    keys.write_text(f"{other}\n{signing.fingerprint(built.key)}  # the signer\n")
    result = CliRunner().invoke(cli, ["verify", str(built.path), "--json"])
    doc = json.loads(result.output)
    assert next(c for c in doc["checks"] if c["id"] == "key")["status"] == "passed", doc
