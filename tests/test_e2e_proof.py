"""Issue #3 end to end: real Chromium captures of the fixture article, signed and
timestamped by real local `openssl ts` TSAs, checked through the `archiver` command
line exactly as a user runs it (and with only unzip, sha256sum and openssl, as the
README shows).

Captures are made once per module and copied for each tamper. Every tamper rewrites
one thing the way a careful tamperer would (fixing the unsigned datapackage.json and
its digest to match) and must be caught, named, and exit 1.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import shutil
import socket
import stat
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from tamper import (
    CDXJ,
    MANIFEST,
    PAGES,
    SIG,
    TSR0,
    TSR1,
    UNSIGNED,
    WARC,
    Transform,
    edit_record,
    find_record,
    flip,
    flip_byte_in_body,
    gzip_members,
    main_response,
    members,
    record_id_at,
    resign_with_another_key,
    rewrite,
)

from archiver.proof import signing
from archiver.schema import validate
from fixtures.server import FixtureServer
from fixtures.tsa import LocalTSA

pytestmark = pytest.mark.browser

ARCHIVER = Path(sys.executable).parent / "archiver"
ROOT = Path(__file__).resolve().parents[1]
FAULTS = ("http500", "garbage", "reject", "other_data", "wrong_nonce", "no_eku")
FAULT_REASON = {
    "http500": "HTTP 500",
    "garbage": "not a timestamp response",
    "reject": "rejection",
    "other_data": "other data",
    "wrong_nonce": "nonce",
    "no_eku": "timeStamping",
    "unreachable": "unreachable",
}


# -- running the command line -------------------------------------------------------


def base_env(config_home: Path, browser: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARCHIVER_")}
    env["XDG_CONFIG_HOME"] = str(config_home)
    env["ARCHIVER_BROWSER"] = str(browser)
    return env


def run(
    args: list[str], env: dict[str, str], cwd: Path | None = None, **extra: str
) -> subprocess.CompletedProcess[str]:
    """One `archiver` command as a user runs it (no terminal: never prompts)."""
    return subprocess.run(
        [str(ARCHIVER), *args],
        env={**env, **extra},
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=180,
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    """stderr is exactly one `archiver: error: ...` line, never a traceback."""
    assert "Traceback" not in result.stderr + result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("archiver: error: "), lines[0]
    return lines[0]


def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens (the port was free a moment ago)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/tsr"


def capture_json(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1, result.stdout  # --json: one line on stdout, nothing else
    doc: dict[str, Any] = json.loads(lines[0])
    return doc


# -- module captures -----------------------------------------------------------------


@dataclass
class Captured:
    """One real capture and what a user knows about it."""

    path: Path
    capture_id: str
    doc: dict[str, Any]
    stderr: str
    archive: Path
    env: dict[str, str]


@dataclass
class Tsas:
    a: LocalTSA
    b: LocalTSA
    roots: list[Path]  # root certificate files of a and b


@pytest.fixture(scope="module")
def tsas(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tsas]:
    base = tmp_path_factory.mktemp("tsas")
    (base / "a").mkdir()
    (base / "b").mkdir()
    with LocalTSA(base / "a") as a, LocalTSA(base / "b") as b:
        yield Tsas(a, b, [a.root_path, b.root_path])


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory, browser_path: Path) -> dict[str, str]:
    return base_env(tmp_path_factory.mktemp("config"), browser_path)


@pytest.fixture(scope="module")
def main(
    tmp_path_factory: pytest.TempPathFactory,
    fixture_server: FixtureServer,
    tsas: Tsas,
    env: dict[str, str],
) -> Captured:
    """The article captured with two good TSAs; the first capture creates the key."""
    archive = tmp_path_factory.mktemp("main") / "archive"
    args = ["capture", fixture_server.article_url, "--archive", str(archive), "--json"]
    result = run([*args, "--tsa", tsas.a.url, "--tsa", tsas.b.url], env)
    doc = capture_json(result)
    return Captured(Path(doc["path"]), doc["id"], doc, result.stderr, archive, env)


@pytest.fixture(scope="module")
def signer_pem(main: Captured, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The public key as `archiver key show` prints it, saved as a user would."""
    shown = run(["key", "show"], main.env)
    assert shown.returncode == 0, shown.stderr
    pem = re.search(r"-----BEGIN PUBLIC KEY-----.*?-----END PUBLIC KEY-----\n", shown.stdout, re.S)
    assert pem, shown.stdout
    path = tmp_path_factory.mktemp("signer") / "signer.pem"
    path.write_text(pem.group(0))
    return path


@pytest.fixture(scope="module")
def faulty(
    tmp_path_factory: pytest.TempPathFactory, fixture_server: FixtureServer, env: dict[str, str]
) -> Iterator[tuple[Captured, Path, dict[str, str]]]:
    """The article captured while every TSA fails; yields it, a pristine copy, mode->url."""
    base = tmp_path_factory.mktemp("faulty")
    archive = base / "archive"
    with ExitStack() as stack:
        urls = {mode: stack.enter_context(LocalTSA(base, mode)).url for mode in FAULTS}
        urls["unreachable"] = closed_port_url()
        args = ["capture", fixture_server.article_url, "--archive", str(archive), "--json"]
        for url in urls.values():
            args += ["--tsa", url]
        result = run(args, env)
    doc = capture_json(result)
    cap = Captured(Path(doc["path"]), doc["id"], doc, result.stderr, archive, env)
    pristine = base / "pristine.wacz"
    shutil.copyfile(cap.path, pristine)
    yield cap, pristine, urls


# -- zip, gzip and WARC surgery ------------------------------------------------------


@pytest.fixture
def pkg(main: Captured, tmp_path: Path) -> Path:
    dest = tmp_path / "capture.wacz"
    shutil.copyfile(main.path, dest)
    return dest


def verify(
    path: Path, env: dict[str, str], *extra: str, as_json: bool = False
) -> subprocess.CompletedProcess[str]:
    result = run(["verify", str(path), *extra, *(["--json"] if as_json else [])], env)
    assert "Traceback" not in result.stdout + result.stderr
    return result


def anchors(tsas: Tsas, signer: Path) -> list[str]:
    return [
        "--trust-key",
        str(signer),
        "--tsa-root",
        str(tsas.roots[0]),
        "--tsa-root",
        str(tsas.roots[1]),
    ]


# -- a clean capture -------------------------------------------------------------------


def test_capture_with_two_tsas_has_two_tokens_and_verifies_with_trust(
    main: Captured, tsas: Tsas, signer_pem: Path
) -> None:
    assert main.doc["ok"] is True and main.doc["timestamps"] == 2 and not main.doc["warnings"]
    assert "created a new signing key" in main.stderr
    names = members(main.path)
    assert sorted(n for n in names if n.endswith(".tsr")) == [TSR0, TSR1]

    result = verify(main.path, main.env, *anchors(tsas, signer_pem), as_json=True)
    assert result.returncode == 0, result.stdout
    doc = json.loads(result.stdout)
    validate(doc, "verify.schema.json")
    assert doc["exit_code"] == 0
    assert doc["integrity"] == "passed" and doc["trust"] == "established"
    assert doc["capture"]["id"] == main.capture_id
    assert doc["signer_fingerprint"] == main.doc["signed_by"]
    assert all(c["status"] == "passed" for c in doc["checks"]), doc["checks"]
    assert [t["file"].rsplit("/", 1)[-1] for t in doc["timestamps"]] == [
        "manifest.json.sig.0.tsr",
        "manifest.json.sig.1.tsr",
    ]
    ended = datetime.fromisoformat(main.doc["ended"].replace("Z", "+00:00"))
    for token in doc["timestamps"]:
        assert token["intact"] is True and token["chain"] == "valid", token
        tsa_time = datetime.fromisoformat(token["time"].replace("Z", "+00:00"))
        # the TSA answered during this capture: its time is within minutes of the claim
        assert abs((tsa_time - ended).total_seconds()) < 600
        assert token["gap_seconds"] is not None
        assert abs(token["gap_seconds"] - (tsa_time - ended).total_seconds()) < 2

    text = verify(main.path, main.env, *anchors(tsas, signer_pem))
    assert text.returncode == 0
    assert text.stdout.count("chain valid at that time") == 2
    # the gap, in plain words (a TSA time given to the second may fall in the same second)
    assert re.search(r"(after|in the same second as) the claimed capture end", text.stdout)
    assert "Trust: ESTABLISHED" in text.stdout and "Result: OK (exit 0)" in text.stdout


def test_without_anchors_integrity_passes_and_trust_is_loudly_not_established(
    main: Captured,
) -> None:
    result = verify(main.path, main.env)
    assert result.returncode == 0, result.stdout
    assert "Integrity: PASSED" in result.stdout
    assert "Trust: NOT ESTABLISHED" in result.stdout
    as_json = verify(main.path, main.env, as_json=True)
    doc = json.loads(as_json.stdout)
    validate(doc, "verify.schema.json")
    assert doc["trust"] == "not established" and doc["exit_code"] == 0


def test_strict_without_anchors_fails(main: Captured) -> None:
    result = verify(main.path, main.env, "--strict")
    assert result.returncode == 1, result.stdout
    assert "Integrity: PASSED" in result.stdout and "NOT ESTABLISHED" in result.stdout


def test_verify_by_capture_id_through_the_archive(main: Captured) -> None:
    result = run(["verify", main.capture_id, "--archive", str(main.archive)], main.env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert main.capture_id in result.stdout


# -- the README's openssl-only check ---------------------------------------------------


def readme_commands() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(
        r"<!-- openssl-check:begin -->\s*```sh\n(.*?)```\s*<!-- openssl-check:end -->", text, re.S
    )
    assert block, "README.md lost its openssl-check block"
    return block.group(1)


def run_readme_check(package: Path, root: Path, workdir: Path) -> subprocess.CompletedProcess[str]:
    """Run exactly the README's commands in a fresh folder holding capture.wacz; the
    TSA root sits where the commands look for it after `cd provenance`."""
    workdir.mkdir()
    shutil.copyfile(package, workdir / "capture.wacz")
    (workdir / "provenance").mkdir()
    shutil.copyfile(root, workdir / "provenance" / "tsa-root.pem")
    script = workdir / "check.sh"
    script.write_text(readme_commands())
    return subprocess.run(
        ["bash", "-e", str(script)],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C"},
    )


def test_readme_openssl_commands_check_a_real_capture(
    main: Captured, tsas: Tsas, tmp_path: Path
) -> None:
    result = run_readme_check(main.path, tsas.roots[0], tmp_path / "check")
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert "Signature Verified Successfully" in out
    assert "Verification: OK" in out
    assert re.search(r"Time stamp: \w+ +\d+ \d\d:\d\d:\d\d \d{4} GMT", out), out
    for f in (WARC, CDXJ, PAGES):
        assert f"OK {f}" in out.splitlines()
    assert "MISMATCH" not in out
    fingerprint = out.strip().splitlines()[-1].split()[0]
    shown = run(["key", "show"], main.env)
    assert f"fingerprint {fingerprint}" in shown.stdout
    assert fingerprint == main.doc["signed_by"]


@pytest.mark.parametrize(
    ("tamper", "expect"),
    [
        ("manifest", "Signature Verification Failure"),
        ("signature", "Signature Verification Failure"),
        ("token", "Verification: FAILED"),
        ("warc", "MISMATCH archive/data.warc.gz"),
        ("pages", "MISMATCH pages/pages.jsonl"),
    ],
)
def test_readme_openssl_commands_catch_a_tampered_capture(
    pkg: Path, tsas: Tsas, tmp_path: Path, main: Captured, tamper: str, expect: str
) -> None:
    url = main.doc["final_url"]
    changes: dict[str, dict[str, Transform]] = {
        "manifest": {MANIFEST: lambda d: d.replace(b'"status":200', b'"status":201', 1)},
        "signature": {SIG: flip(10)},
        "token": {TSR0: lambda d: flip(d.find(b"2026") + 3)(d)},
        "warc": {
            WARC: lambda d: edit_record(
                find_record(d, main_response(url)), flip_byte_in_body(b"Kursk")
            )(d)
        },
        "pages": {PAGES: lambda d: d.replace(b"Kursk", b"Kursq", 1)},
    }
    rewrite(pkg, changes[tamper])
    assert members(pkg) != members(main.path)
    result = run_readme_check(pkg, tsas.roots[0], tmp_path / "check")
    out = result.stdout + result.stderr
    assert expect in out, out
    if tamper in ("manifest", "signature", "token"):
        assert result.returncode != 0  # bash -e stops at the failing openssl step


# -- tampering, through `archiver verify` on browser captures ----------------------------


def failed(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Integrity: FAILED" in result.stdout or "Trust: FAILED" in result.stdout
    assert "Result: FAILED (exit 1)" in result.stdout
    return result.stdout


def problem_lines(out: str) -> list[str]:
    return [line.strip()[2:] for line in out.splitlines() if line.strip().startswith("- ")]


def test_changed_byte_in_a_warc_payload_names_the_record(
    main: Captured, pkg: Path, tsas: Tsas, signer_pem: Path
) -> None:
    data = members(pkg)[WARC]
    index = find_record(data, main_response(main.doc["final_url"]))
    rid = record_id_at(data, index)
    rewrite(pkg, {WARC: edit_record(index, flip_byte_in_body(b"Kursk"))})
    out = failed(verify(pkg, main.env, *anchors(tsas, signer_pem)))
    probs = problem_lines(out)
    assert any(rid in p and "digest" in p for p in probs), probs
    assert any(p.startswith(WARC) and "signed manifest" in p for p in probs), probs
    assert "PASS  5 signature" in out  # the manifest itself is untouched


def test_flipped_byte_in_the_gzip_stream_is_caught(main: Captured, pkg: Path) -> None:
    data = members(pkg)[WARC]
    index = find_record(data, main_response(main.doc["final_url"]))
    raw = gzip_members(data)
    start = sum(len(m) for m in raw[:index])
    rewrite(pkg, {WARC: flip(start + len(raw[index]) // 2)})
    out = failed(verify(pkg, main.env))
    probs = problem_lines(out)
    assert any(p.startswith(WARC) for p in probs), probs


def test_changed_target_uri_in_a_warc_header_names_the_record(main: Captured, pkg: Path) -> None:
    url = main.doc["final_url"]
    data = members(pkg)[WARC]
    index = find_record(data, main_response(url))
    rid = record_id_at(data, index)
    forged = url[:-1] + chr(ord(url[-1]) ^ 1)
    old, new = f"WARC-Target-URI: {url}\r\n".encode(), f"WARC-Target-URI: {forged}\r\n".encode()
    rewrite(pkg, {WARC: edit_record(index, lambda r: r.replace(old, new, 1))})
    probs = problem_lines(failed(verify(pkg, main.env)))
    assert any(rid in p and "target uri" in p.lower() for p in probs), probs


def test_changed_warc_date_header_is_caught_by_the_file_hash(main: Captured, pkg: Path) -> None:
    data = members(pkg)[WARC]
    index = find_record(data, main_response(main.doc["final_url"]))

    def backdate(record: bytes) -> bytes:
        return re.sub(rb"WARC-Date: 2", b"WARC-Date: 1", record, count=1)

    rewrite(pkg, {WARC: edit_record(index, backdate)})
    probs = problem_lines(failed(verify(pkg, main.env)))
    assert any(p.startswith(WARC) and "signed manifest" in p for p in probs), probs


def test_changed_byte_in_the_cdxj_names_the_line(main: Captured, pkg: Path) -> None:
    rewrite(pkg, {CDXJ: lambda d: d.replace(b'"offset": "', b'"offset": "1', 1)})
    probs = problem_lines(failed(verify(pkg, main.env)))
    assert any(re.match(rf"{CDXJ} line \d+:", p) for p in probs), probs
    assert any(p.startswith(CDXJ) and "signed manifest" in p for p in probs), probs


def test_changed_byte_in_pages_jsonl_names_the_file(main: Captured, pkg: Path) -> None:
    rewrite(pkg, {PAGES: lambda d: d.replace(b"Kursk", b"Kursq", 1)})
    probs = problem_lines(failed(verify(pkg, main.env)))
    assert any(p.startswith(PAGES) and "signed manifest" in p for p in probs), probs


def test_changed_byte_in_the_manifest_breaks_the_signature(
    main: Captured, pkg: Path, tsas: Tsas, signer_pem: Path
) -> None:
    rewrite(pkg, {MANIFEST: lambda d: d.replace(b'"status":200', b'"status":201', 1)})
    out = failed(verify(pkg, main.env, *anchors(tsas, signer_pem)))
    assert "FAIL  5 signature" in out
    assert any(p.startswith(SIG) for p in problem_lines(out)), out


def test_changed_byte_in_the_signature_fails_signature_and_tokens(
    main: Captured, pkg: Path
) -> None:
    rewrite(pkg, {SIG: flip(7)})
    result = verify(pkg, main.env, as_json=True)
    assert result.returncode == 1
    doc = json.loads(result.stdout)
    validate(doc, "verify.schema.json")
    status = {c["id"]: c["status"] for c in doc["checks"]}
    assert status["signature"] == "failed"
    assert status["timestamp-0"] == "failed" and status["timestamp-1"] == "failed"
    assert all(t["intact"] is False for t in doc["timestamps"])


def test_changed_byte_in_a_token_names_the_token(main: Captured, pkg: Path, tsas: Tsas) -> None:
    rewrite(pkg, {TSR0: lambda d: flip(d.find(b"2026") + 3)(d)})  # the token's genTime
    out = failed(
        verify(pkg, main.env, "--tsa-root", str(tsas.roots[0]), "--tsa-root", str(tsas.roots[1]))
    )
    probs = problem_lines(out)
    assert any(p.startswith(TSR0) for p in probs), probs
    assert not any(p.startswith(TSR1) for p in probs), probs
    assert "PASS  5 signature" in out


def test_removed_record_is_named(main: Captured, pkg: Path) -> None:
    data = members(pkg)[WARC]
    index = find_record(data, lambda h: h.get("WARC-Type") == "request")
    rid = record_id_at(data, index)

    def drop(warc: bytes) -> bytes:
        raw = gzip_members(warc)
        del raw[index]
        return b"".join(raw)

    rewrite(pkg, {WARC: drop})
    probs = problem_lines(failed(verify(pkg, main.env)))
    assert any(rid in p and "missing" in p for p in probs), probs


def test_file_added_to_the_zip_is_named(main: Captured, pkg: Path) -> None:
    rewrite(pkg, {}, add={"pages/extra.jsonl": b'{"format": "json-pages-1.0"}\n'})
    probs = problem_lines(failed(verify(pkg, main.env)))
    assert any(p.startswith("pages/extra.jsonl") for p in probs), probs


def test_forged_record_appended_to_the_warc_is_named(main: Captured, pkg: Path) -> None:
    data = members(pkg)[WARC]
    index = find_record(data, lambda h: h.get("WARC-Type") == "response")
    original = record_id_at(data, index)
    forged_id = original.replace("urn:uuid:", "urn:uuid:f", 1)

    def append(warc: bytes) -> bytes:
        record = gzip.decompress(gzip_members(warc)[index]).replace(
            original.encode(), forged_id.encode(), 1
        )
        return warc + gzip.compress(record, mtime=0)

    rewrite(pkg, {WARC: append})
    probs = problem_lines(failed(verify(pkg, main.env)))
    assert any(forged_id in p and "not in the signed manifest" in p for p in probs), probs


def test_a_second_copy_of_a_member_in_the_zip_is_named(main: Captured, pkg: Path) -> None:
    """Zip readers disagree on which of two same-named members counts: never accept it."""
    forged = members(pkg)[PAGES].replace(b"Kursk", b"Kursq", 1)
    with pytest.warns(UserWarning, match="Duplicate name"), zipfile.ZipFile(pkg, "a") as zf:
        zf.writestr(PAGES, forged)
    probs = problem_lines(failed(verify(pkg, main.env)))
    assert any(p.startswith(PAGES) and "2 times" in p for p in probs), probs


def test_datapackage_left_stale_is_caught(main: Captured, pkg: Path) -> None:
    rewrite(pkg, {PAGES: lambda d: d + b"\n"}, fix_datapackage=False)
    out = failed(verify(pkg, main.env))
    assert "datapackage.json" in out


def test_manifest_re_signed_with_another_key_and_tokens_dropped(
    main: Captured, pkg: Path, signer_pem: Path
) -> None:
    thief = Ed25519PrivateKey.generate()

    def edit(doc: dict[str, Any]) -> None:
        doc["capture"]["ended"] = "2026-01-01T00:00:00Z"  # backdated

    resign_with_another_key(pkg, edit, thief)
    anyone = verify(pkg, main.env)
    assert anyone.returncode == 0, anyone.stdout  # intact, but signed by whom?
    assert "Trust: NOT ESTABLISHED" in anyone.stdout
    result = verify(pkg, main.env, "--trust-key", str(signer_pem), as_json=True)
    assert result.returncode == 1, result.stdout
    report = json.loads(result.stdout)
    validate(report, "verify.schema.json")
    status = {c["id"]: c["status"] for c in report["checks"]}
    assert status["signature"] == "passed" and status["key"] == "failed"
    assert report["signer_fingerprint"] == signing.fingerprint(thief)
    assert report["timestamps"] == []
    text = verify(pkg, main.env, "--trust-key", str(signer_pem))
    assert "NOT in your trusted keys" in text.stdout


# -- bad input -----------------------------------------------------------------------------


def test_not_a_zip_is_exit_2_with_a_clear_report(main: Captured, tmp_path: Path) -> None:
    bad = tmp_path / "x.wacz"
    bad.write_bytes(b"<html>not a package</html>")
    result = verify(bad, main.env)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "not a zip" in result.stdout + result.stderr
    doc = json.loads(verify(bad, main.env, as_json=True).stdout)
    validate(doc, "verify.schema.json")
    assert doc["exit_code"] == 2 and doc["error"] and "\n" not in doc["error"]


def test_truncated_zip_is_exit_2(main: Captured, pkg: Path) -> None:
    pkg.write_bytes(pkg.read_bytes()[: pkg.stat().st_size // 2])
    result = verify(pkg, main.env)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "truncated" in (result.stdout + result.stderr).lower()


def test_truncated_gzip_member_in_the_warc_is_named(main: Captured, pkg: Path) -> None:
    rewrite(pkg, {WARC: lambda d: d[:-40]})
    probs = problem_lines(failed(verify(pkg, main.env)))
    assert any(p.startswith(WARC) and "ends early" in p for p in probs), probs


def test_missing_manifest_is_named(main: Captured, pkg: Path) -> None:
    rewrite(pkg, {MANIFEST: lambda _: None})
    out = failed(verify(pkg, main.env))
    assert f"{MANIFEST}: is missing" in problem_lines(out), out
    assert "FAIL  5 signature" in out


def test_nonexistent_path_is_one_line_exit_2(main: Captured, tmp_path: Path) -> None:
    result = verify(tmp_path / "nowhere.wacz", main.env)
    assert result.returncode == 2
    assert "nowhere.wacz" in assert_one_line_error(result)


@pytest.mark.parametrize("option", ["--tsa-root", "--trust-key"])
@pytest.mark.parametrize("content", [None, b"junk\n"])
def test_unusable_anchor_file_is_one_line_exit_2(
    main: Captured, tmp_path: Path, option: str, content: bytes | None
) -> None:
    anchor = tmp_path / "anchor.pem"
    if content is not None:
        anchor.write_bytes(content)
    result = run(["verify", str(main.path), option, str(anchor)], main.env)
    assert result.returncode == 2
    line = assert_one_line_error(result)
    assert "anchor.pem" in line or "#1" in line, line


# -- TSA faults during capture, and timestamps added later ---------------------------------


def test_every_tsa_failing_still_saves_a_signed_capture_with_loud_warnings(
    faulty: tuple[Captured, Path, dict[str, str]],
) -> None:
    cap, pristine, urls = faulty  # the pristine copy: a later test adds a token
    assert cap.path.is_file() and cap.doc["ok"] is True
    assert cap.doc["timestamps"] == 0 and len(cap.doc["signed_by"]) == 64
    names = members(pristine)
    assert SIG in names and not any(n.endswith(".tsr") for n in names)
    warnings = [line for line in cap.stderr.splitlines() if line.startswith("archiver: warning:")]
    for mode, url in urls.items():
        named = [w for w in warnings if url in w]
        assert len(named) == 1, (mode, warnings)
        assert FAULT_REASON[mode] in named[0], (mode, named[0])
    assert any("no trusted timestamp" in w for w in warnings), warnings
    assert cap.doc["warnings"] == [w.removeprefix("archiver: warning: ") for w in warnings]
    # the capture is intact and signed; it merely has no trusted time
    result = verify(pristine, cap.env)
    assert result.returncode == 0, result.stdout
    assert verify(pristine, cap.env, "--strict").returncode == 1


def test_timestamp_later_adds_a_token_and_changes_nothing_signed(
    faulty: tuple[Captured, Path, dict[str, str]], tsas: Tsas
) -> None:
    cap, _, _ = faulty
    before = members(cap.path)
    result = run(
        ["timestamp", cap.capture_id, "--archive", str(cap.archive), "--tsa", tsas.a.url], cap.env
    )
    assert result.returncode == 0, result.stderr
    assert "added 1 timestamp token" in result.stdout
    after = members(cap.path)
    assert set(after) - set(before) == {TSR0}
    changed = {n for n in before if before[n] != after[n]}
    assert changed == set(UNSIGNED)
    listed = run(["list", "--json", "--archive", str(cap.archive)], cap.env)
    assert listed.returncode == 0, listed.stderr
    entries = [json.loads(line) for line in listed.stdout.splitlines()]
    (entry,) = [e for e in entries if e["id"] == cap.capture_id]
    assert len(entry["tsa_times"]) == 1
    assert entry["package_sha256"] == hashlib.sha256(cap.path.read_bytes()).hexdigest()
    report = verify(cap.path, cap.env, "--tsa-root", str(tsas.roots[0]), as_json=True)
    assert report.returncode == 0, report.stdout
    doc = json.loads(report.stdout)
    (token,) = doc["timestamps"]
    assert token["chain"] == "valid" and token["time"] is not None
    assert entry["tsa_times"][0][:19] == token["time"][:19]


def test_timestamp_later_with_no_tsa_answering_leaves_the_package_unchanged(
    faulty: tuple[Captured, Path, dict[str, str]], tmp_path: Path
) -> None:
    cap, pristine, _ = faulty
    copy = tmp_path / "copy.wacz"
    shutil.copyfile(pristine, copy)
    result = run(
        ["timestamp", str(copy), "--archive", str(tmp_path / "a"), "--tsa", closed_port_url()],
        cap.env,
    )
    assert result.returncode == 1
    assert "unreachable" in result.stderr and "no TSA answered" in result.stderr
    assert "Traceback" not in result.stderr
    assert copy.read_bytes() == pristine.read_bytes()


def test_timestamp_refuses_a_package_whose_signature_fails(
    main: Captured, pkg: Path, tsas: Tsas, tmp_path: Path
) -> None:
    rewrite(pkg, {SIG: flip(3)})
    before = pkg.read_bytes()
    result = run(
        ["timestamp", str(pkg), "--archive", str(tmp_path / "a"), "--tsa", tsas.a.url], main.env
    )
    assert result.returncode == 2
    assert "does not verify" in assert_one_line_error(result)
    assert pkg.read_bytes() == before


@pytest.mark.slow  # waits for the TSA certificate to expire
def test_token_from_a_since_expired_tsa_certificate_verifies_at_the_token_time(
    faulty: tuple[Captured, Path, dict[str, str]], tmp_path: Path
) -> None:
    cap, pristine, _ = faulty
    copy = tmp_path / "copy.wacz"
    shutil.copyfile(pristine, copy)
    (tmp_path / "t").mkdir()
    with LocalTSA(tmp_path / "t", mode="expiring", expire_after=3.0) as tsa:
        result = run(
            ["timestamp", str(copy), "--archive", str(tmp_path / "a"), "--tsa", tsa.url], cap.env
        )
        root, not_after = tsa.root_path, tsa.not_after
    assert result.returncode == 0, result.stderr
    while datetime.now(UTC) <= not_after:  # wait until the TSA certificate has expired
        time.sleep(0.5)
    report = verify(copy, cap.env, "--tsa-root", str(root), as_json=True)
    assert report.returncode == 0, report.stdout
    (token,) = json.loads(report.stdout)["timestamps"]
    assert token["chain"] == "valid", token
    assert "expired since" in token["chain_detail"]


# -- keys ------------------------------------------------------------------------------------


def test_key_generate_is_private_and_refuses_to_overwrite(
    env: dict[str, str], tmp_path: Path
) -> None:
    key = tmp_path / "keys" / "k.pem"
    first = run(["key", "generate", "--key", str(key)], env)
    assert first.returncode == 0, first.stderr
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    fp = re.search(r"fingerprint ([0-9a-f]{64})", first.stdout)
    assert fp
    original = key.read_bytes()
    again = run(["key", "generate", "--key", str(key)], env)
    assert again.returncode == 2
    assert "--force" in assert_one_line_error(again)
    assert key.read_bytes() == original
    forced = run(["key", "generate", "--key", str(key), "--force"], env)
    assert forced.returncode == 0, forced.stderr
    assert key.read_bytes() != original and stat.S_IMODE(key.stat().st_mode) == 0o600
    assert fp.group(1) not in forced.stdout


def test_key_show_prints_the_public_key_and_never_the_private_one(
    env: dict[str, str], tmp_path: Path
) -> None:
    key = tmp_path / "k.pem"
    assert run(["key", "generate", "--key", str(key)], env).returncode == 0
    private = serialization.load_pem_private_key(key.read_bytes(), None)
    assert isinstance(private, Ed25519PrivateKey)
    shown = run(["key", "show", "--key", str(key)], env)
    assert shown.returncode == 0, shown.stderr
    assert signing.public_pem(private).decode() in shown.stdout
    assert f"fingerprint {signing.fingerprint(private)}" in shown.stdout
    out = shown.stdout + shown.stderr
    assert "PRIVATE" not in out
    for line in key.read_text().splitlines()[1:-1]:
        assert line not in out


def private_secrets(key_file: Path, passphrase: bytes | None = None) -> list[bytes]:
    """Every form the private key could leak in: PEM body lines, DER, raw bytes, hex."""
    private = serialization.load_pem_private_key(key_file.read_bytes(), passphrase)
    assert isinstance(private, Ed25519PrivateKey)
    raw = private.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    der = private.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    plain_pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    lines = [ln for ln in plain_pem.splitlines() if not ln.startswith(b"-----")]
    return [raw, der, raw.hex().encode(), b"PRIVATE KEY", *lines]


def assert_no_secret_in(package: Path, secrets: list[bytes]) -> None:
    blobs = [package.read_bytes(), *members(package).values()]
    warc = members(package)[WARC]
    blobs += [gzip.decompress(m) for m in gzip_members(warc)]
    for blob in blobs:
        for secret in secrets:
            assert secret not in blob


def test_the_private_key_never_appears_in_the_package(main: Captured) -> None:
    key_file = Path(main.env["XDG_CONFIG_HOME"]) / "archiver" / "signing-key.pem"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert_no_secret_in(main.path, private_secrets(key_file))


def test_wrong_passphrase_is_one_line_and_writes_no_package(
    env: dict[str, str], fixture_server: FixtureServer, tmp_path: Path
) -> None:
    key = tmp_path / "enc.pem"
    made = run(["key", "generate", "--key", str(key)], env, ARCHIVER_KEY_PASSPHRASE="right horse")
    assert made.returncode == 0, made.stderr
    archive = tmp_path / "archive"
    args = ["capture", fixture_server.article_url, "--archive", str(archive), "--key", str(key)]
    wrong = run([*args, "--no-timestamp"], env, ARCHIVER_KEY_PASSPHRASE="wrong horse")
    assert wrong.returncode == 2
    assert "passphrase" in assert_one_line_error(wrong)
    none = run([*args, "--no-timestamp"], env)  # encrypted, no passphrase, no terminal
    assert none.returncode == 2
    assert str(key) in assert_one_line_error(none)
    assert not list(archive.glob("captures/*.wacz"))


def test_missing_key_file_given_with_key_is_a_clear_error(
    env: dict[str, str], fixture_server: FixtureServer, tmp_path: Path
) -> None:
    missing = tmp_path / "no-such-key.pem"
    archive = tmp_path / "archive"
    result = run(
        [
            "capture",
            fixture_server.article_url,
            "--archive",
            str(archive),
            "--key",
            str(missing),
            "--no-timestamp",
        ],
        env,
    )
    assert result.returncode == 2
    line = assert_one_line_error(result)
    assert str(missing) in line and "key generate" in line
    assert not missing.exists()  # an explicit --key is never silently created
    assert not list(archive.glob("captures/*.wacz"))


def test_encrypted_key_with_the_right_passphrase_signs_and_timestamps(
    env: dict[str, str], fixture_server: FixtureServer, tsas: Tsas, tmp_path: Path
) -> None:
    key = tmp_path / "enc.pem"
    made = run(["key", "generate", "--key", str(key)], env, ARCHIVER_KEY_PASSPHRASE="right horse")
    assert made.returncode == 0, made.stderr
    assert b"ENCRYPTED PRIVATE KEY" in key.read_bytes()
    fp = re.search(r"fingerprint ([0-9a-f]{64})", made.stdout)
    assert fp
    archive = tmp_path / "archive"
    dead = closed_port_url()
    args = ["capture", fixture_server.article_url, "--archive", str(archive), "--key", str(key)]
    result = run(
        [*args, "--tsa", dead, "--tsa", tsas.b.url, "--json"],
        env,
        ARCHIVER_KEY_PASSPHRASE="right horse",
    )
    doc = capture_json(result)
    assert doc["signed_by"] == fp.group(1) and doc["timestamps"] == 1
    # one TSA failing beside a good one is a warning naming it, not the loud one
    assert any(dead in w and "unreachable" in w for w in doc["warnings"]), doc["warnings"]
    assert not any("no trusted timestamp" in w for w in doc["warnings"])
    pub = tmp_path / "pub.pem"
    shown = run(["key", "show", "--key", str(key)], env, ARCHIVER_KEY_PASSPHRASE="right horse")
    assert shown.returncode == 0, shown.stderr
    pub.write_text(shown.stdout.split("fingerprint")[0])
    checked = verify(
        Path(doc["path"]), env, "--trust-key", str(pub), "--tsa-root", str(tsas.roots[1])
    )
    assert checked.returncode == 0, checked.stdout
    assert "Trust: ESTABLISHED" in checked.stdout
    assert_no_secret_in(Path(doc["path"]), private_secrets(key, b"right horse"))
