"""Sealing a capture and timestamping it later, checked with openssl as a user would."""

from __future__ import annotations

import hashlib
import json
import shutil
import socket
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from archiver import package
from archiver.errors import PackageError, TimestampError
from archiver.model import RecordInfo
from archiver.proof import add_timestamps, seal
from archiver.proof.manifest import parse_manifest
from archiver.proof.signing import fingerprint
from archiver.proof.tokens import check_token
from archiver.warc import WarcRecorder
from fixtures.tsa import LocalTSA

URL = "http://127.0.0.1:8000/story"
CAPTURE_ID = "20261127T091807Z-3f9c2a1b"
CAPTURE: dict[str, Any] = {
    "id": CAPTURE_ID,
    "requested_url": URL,
    "final_url": URL,
    "status": 200,
    "started": "2026-11-27T09:18:07.000000Z",
    "ended": "2026-11-27T09:18:12.000000Z",
    "software": "archiver 0.1.0",
    "browser": "Chromium 140.0.0.0",
    "options": {"timeout_s": 30.0},
}


@pytest.fixture(scope="module")
def tsas(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalTSA, LocalTSA]]:
    base = tmp_path_factory.mktemp("tsas")
    with LocalTSA(base / "a") as one, LocalTSA(base / "b") as two:
        yield one, two


@pytest.fixture
def dead_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}/tsa"


def make_content(tmp: Path) -> tuple[list[tuple[str, Path | bytes]], list[RecordInfo]]:
    """A real WARC (written by warc.py), its CDXJ and pages.jsonl."""
    warc = tmp / "data.warc.gz"
    when = datetime(2026, 11, 27, 9, 18, 12, tzinfo=UTC)
    with warc.open("wb") as out:
        rec = WarcRecorder(out, page_id="page-1")
        rec.warcinfo({"software": "archiver 0.1.0"}, date=when)
        rec.resource(f"urn:dom:{URL}", "text/html", b"<p>The mayor said 75,000.</p>", date=when)
        rec.resource(f"urn:text:{URL}", "application/json", b'{"text": "x"}', date=when)
    records = rec.records
    content: list[tuple[str, Path | bytes]] = [
        ("archive/data.warc.gz", warc),
        ("indexes/index.cdxj", package.build_cdxj(records)),
        ("pages/pages.jsonl", package.build_pages(page_id="page-1", url=URL, ts="x", title="t")),
    ]
    return content, records


def write_package(tmp: Path, tsa_urls: list[str], key: Ed25519PrivateKey) -> tuple[Path, list[str]]:
    content, records = make_content(tmp)
    entries, warnings = seal(
        capture=CAPTURE, content=content, records=records, key=key, tsa_urls=tsa_urls, timeout=5
    )
    dest = tmp / f"{CAPTURE_ID}.wacz"
    package.write_wacz(
        dest,
        [*content, *entries],
        title="t",
        main_page_url=URL,
        main_page_date="2026-11-27T09:18:12Z",
        software="archiver 0.1.0",
    )
    return dest, warnings


def unzip(wacz: Path, into: Path) -> Path:
    with zipfile.ZipFile(wacz) as zf:
        zf.extractall(into)
    return into


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), cwd=cwd, capture_output=True, text=True)


def openssl_verify_signature(prov: Path) -> subprocess.CompletedProcess[str]:
    """The DESIGN's signature check, with openssl alone, in an unzipped provenance/."""
    args = ["pkeyutl", "-verify", "-pubin", "-inkey", "signer.pub.pem", "-rawin"]
    return run("openssl", *args, "-in", "manifest.json", "-sigfile", "manifest.json.sig", cwd=prov)


def test_sealed_package_verifies_with_plain_openssl(
    tsas: tuple[LocalTSA, LocalTSA], tmp_path: Path
) -> None:
    key = Ed25519PrivateKey.generate()
    wacz, warnings = write_package(tmp_path, [t.url for t in tsas], key)
    assert warnings == []
    out = unzip(wacz, tmp_path / "unzipped")
    prov = out / "provenance"
    assert sorted(p.name for p in prov.iterdir()) == [
        "manifest.json",
        "manifest.json.sig",
        "manifest.json.sig.0.tsr",
        "manifest.json.sig.1.tsr",
        "signer.pub.pem",
    ]
    # the DESIGN's "check it without this tool" commands
    sig = openssl_verify_signature(prov)
    assert sig.returncode == 0 and "Signature Verified Successfully" in sig.stdout, sig.stderr
    for n, tsa in enumerate(tsas):
        ts = run(
            "openssl",
            "ts",
            "-verify",
            "-data",
            "manifest.json.sig",
            "-in",
            f"manifest.json.sig.{n}.tsr",
            "-CAfile",
            str(tsa.root_path),
            cwd=prov,
        )
        assert ts.returncode == 0 and "Verification: OK" in ts.stdout, ts.stderr
    manifest = parse_manifest((prov / "manifest.json").read_bytes())
    for entry in manifest["files"]:
        data = (out / entry["path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"]
        assert len(data) == entry["bytes"]
    assert [f["path"] for f in manifest["files"]] == [
        "archive/data.warc.gz",
        "indexes/index.cdxj",
        "pages/pages.jsonl",
    ]
    assert len(manifest["records"]) == 3
    assert manifest["signer"]["fingerprint"] == fingerprint(key.public_key())


def test_a_tampered_manifest_fails_the_openssl_signature_check(
    tsas: tuple[LocalTSA, LocalTSA], tmp_path: Path
) -> None:
    wacz, _ = write_package(tmp_path, [], Ed25519PrivateKey.generate())
    prov = unzip(wacz, tmp_path / "u") / "provenance"
    manifest = prov / "manifest.json"
    manifest.write_bytes(manifest.read_bytes().replace(b'"status":200', b'"status":201'))
    sig = openssl_verify_signature(prov)
    assert sig.returncode != 0


def test_an_unreachable_tsa_is_a_warning_and_the_capture_is_still_signed(
    tsas: tuple[LocalTSA, LocalTSA], dead_url: str, tmp_path: Path
) -> None:
    content, records = make_content(tmp_path)
    entries, warnings = seal(
        capture=CAPTURE,
        content=content,
        records=records,
        key=Ed25519PrivateKey.generate(),
        tsa_urls=[dead_url, tsas[0].url],
        timeout=5,
    )
    names = [n for n, _ in entries]
    assert names == [
        "provenance/manifest.json",
        "provenance/manifest.json.sig",
        "provenance/signer.pub.pem",
        "provenance/manifest.json.sig.0.tsr",
    ]
    assert len(warnings) == 1
    assert warnings[0].startswith(f"no timestamp: TSA {dead_url} is unreachable")
    members = dict(entries)
    token = check_token(
        members["provenance/manifest.json.sig.0.tsr"],
        members["provenance/manifest.json.sig"],
        roots=[tsas[0].root_pem],
    )
    assert token.trusted


def test_all_tsas_failing_gives_a_loud_warning_and_a_signed_capture(
    dead_url: str, tmp_path: Path
) -> None:
    with LocalTSA(tmp_path, "http500") as broken:
        wacz, warnings = write_package(
            tmp_path, [dead_url, broken.url], Ed25519PrivateKey.generate()
        )
    assert len(warnings) == 3
    assert "answered HTTP 500" in warnings[1]
    assert warnings[2].startswith("no trusted timestamp: every TSA failed")
    assert warnings[2].endswith(f"run 'archiver timestamp {CAPTURE_ID}' later")
    prov = unzip(wacz, tmp_path / "u") / "provenance"
    assert not list(prov.glob("*.tsr"))
    sig = openssl_verify_signature(prov)
    assert sig.returncode == 0


def members(wacz: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(wacz) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def test_timestamps_added_later_change_only_the_datapackage(
    tsas: tuple[LocalTSA, LocalTSA], dead_url: str, tmp_path: Path
) -> None:
    wacz, warnings = write_package(tmp_path, [], Ed25519PrivateKey.generate())
    assert warnings[0].startswith("no trusted timestamp: no TSA was asked")
    before = members(wacz)

    first = add_timestamps(wacz, [tsas[0].url], timeout=5)
    assert first.added == ["provenance/manifest.json.sig.0.tsr"] and first.failures == []
    assert first.package_sha256 == hashlib.sha256(wacz.read_bytes()).hexdigest()
    second = add_timestamps(wacz, [dead_url, tsas[1].url, tsas[0].url], timeout=5)
    assert second.added == [
        "provenance/manifest.json.sig.1.tsr",
        "provenance/manifest.json.sig.2.tsr",
    ]
    assert len(second.failures) == 1 and dead_url in second.failures[0]

    after = members(wacz)
    changed = {n for n in before if before[n] != after[n]}
    assert changed == {"datapackage.json", "datapackage-digest.json"}
    assert set(after) - set(before) == set(first.added + second.added)
    signature = after["provenance/manifest.json.sig"]
    roots = {0: tsas[0], 1: tsas[1], 2: tsas[0]}
    for n, tsa in roots.items():
        token = check_token(
            after[f"provenance/manifest.json.sig.{n}.tsr"], signature, roots=[tsa.root_pem]
        )
        assert token.trusted, token.problems
    datapackage = json.loads(after["datapackage.json"])
    listed = {r["path"]: r["hash"] for r in datapackage["resources"]}
    for name in first.added + second.added:
        assert listed[name] == "sha256:" + hashlib.sha256(after[name]).hexdigest()
    wacz_cli = shutil.which("wacz") or str(Path(sys.executable).parent / "wacz")
    valid = subprocess.run([wacz_cli, "validate", "-f", str(wacz)], capture_output=True, text=True)
    assert valid.returncode == 0 and "Validation succeeded" in valid.stdout, valid.stdout
    digest = json.loads(after["datapackage-digest.json"])
    assert digest["hash"] == "sha256:" + hashlib.sha256(after["datapackage.json"]).hexdigest()


def test_add_timestamps_refuses_a_broken_signature_and_keeps_a_package_when_all_fail(
    dead_url: str, tsas: tuple[LocalTSA, LocalTSA], tmp_path: Path
) -> None:
    wacz, _ = write_package(tmp_path, [], Ed25519PrivateKey.generate())
    untouched = wacz.read_bytes()
    added, failures, sha = add_timestamps(wacz, [dead_url], timeout=5)
    assert added == [] and sha is None
    assert len(failures) == 1 and failures[0].startswith(f"no timestamp: TSA {dead_url}")
    result = add_timestamps(wacz, [dead_url], timeout=5)
    assert result.added == [] and result.failures == failures
    assert wacz.read_bytes() == untouched
    with pytest.raises(TimestampError, match="no TSA to ask"):
        add_timestamps(wacz, [], timeout=5)

    # a package whose signature was made by another key: never timestamp it
    forged = tmp_path / "forged.wacz"
    with zipfile.ZipFile(wacz) as src, zipfile.ZipFile(forged, "w") as dst:
        for name in src.namelist():
            data = src.read(name)
            if name == "provenance/manifest.json.sig":
                data = Ed25519PrivateKey.generate().sign(src.read("provenance/manifest.json"))
            dst.writestr(name, data)
    asked = len(tsas[0].requests)
    with pytest.raises(PackageError, match=r"manifest\.json\.sig does not verify"):
        add_timestamps(forged, [tsas[0].url], timeout=5)
    assert len(tsas[0].requests) == asked  # the forged package was never sent to a TSA


def test_content_files_are_hashed_as_streamed_files_and_bytes(tmp_path: Path) -> None:
    big = tmp_path / "big.warc.gz"
    with big.open("wb") as out:
        for i in range(5):
            out.write(bytes([i]) * (1 << 20))
    content: list[tuple[str, Path | bytes]] = [
        ("archive/data.warc.gz", big),
        ("pages/pages.jsonl", b"{}\n"),
    ]
    entries, _ = seal(
        capture=CAPTURE,
        content=content,
        records=[],
        key=Ed25519PrivateKey.generate(),
        tsa_urls=[],
        timeout=1,
    )
    manifest = parse_manifest(dict(entries)["provenance/manifest.json"])
    assert manifest["files"] == [
        {
            "path": "archive/data.warc.gz",
            "sha256": hashlib.sha256(big.read_bytes()).hexdigest(),
            "bytes": 5 << 20,
        },
        {"path": "pages/pages.jsonl", "sha256": hashlib.sha256(b"{}\n").hexdigest(), "bytes": 3},
    ]
