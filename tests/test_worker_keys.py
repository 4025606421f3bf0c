"""Many worker keys, one trusted-keys file that names them: verify says which worker's
key signed each capture, and says so of no key the file does not list.

Packages are built by the test helpers (signed, no browser); each "worker" is a key.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from webpackages import PARAGRAPHS, make_package

from archiver.archive.index import Archive
from archiver.errors import UsageError
from archiver.proof import signing
from archiver.verify import parse_named_keys, parse_trusted_keys, verify_package

WHEN = datetime(2025, 4, 28, 9, 30, tzinfo=UTC)


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "archiver.cli", *args], capture_output=True, text=True, timeout=60
    )


@pytest.fixture(scope="module")
def workers(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[str, Path]]:
    """worker name -> (its key's fingerprint, a package it signed); 'stranger' is a key
    no trusted-keys file lists."""
    archive = Archive(tmp_path_factory.mktemp("keys") / "archive")
    out = {}
    for n, name in enumerate(("worker-2", "worker-3", "stranger")):
        key = Ed25519PrivateKey.generate()
        path = make_package(
            archive,
            key,
            capture_id=f"20250428T09300{n}Z-0000000{n}",
            when=WHEN,
            paragraphs=PARAGRAPHS,
        )
        out[name] = (signing.fingerprint(key), path)
    return out


@pytest.fixture(scope="module")
def trusted_file(
    workers: dict[str, tuple[str, Path]], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """worker-2 by a fingerprint line with its name, worker-3 by a named PEM block."""
    fp2, _ = workers["worker-2"]
    _, pkg3 = workers["worker-3"]
    import zipfile

    with zipfile.ZipFile(pkg3) as zf:
        pem3 = zf.read("provenance/signer.pub.pem").decode()
    path = tmp_path_factory.mktemp("trust") / "trusted-keys"
    path.write_text(f"# the newsroom's capture workers\n{fp2}  # worker-2\n\n# worker-3\n{pem3}")
    return path


@pytest.mark.parametrize("worker", ["worker-2", "worker-3"])
def test_verify_names_the_worker_whose_key_signed(
    worker: str, workers: dict[str, tuple[str, Path]], trusted_file: Path
) -> None:
    fp, pkg = workers[worker]
    got = run("verify", str(pkg), "--trusted-keys", str(trusted_file), "--json")
    assert got.returncode == 0, got.stderr
    doc = json.loads(got.stdout)
    assert (doc["signer_fingerprint"], doc["signer_name"]) == (fp, worker)
    key = next(c for c in doc["checks"] if c["id"] == "key")
    assert key["status"] == "passed" and worker in key["summary"]
    text = run("verify", str(pkg), "--trusted-keys", str(trusted_file))
    assert f"signed by {fp} ({worker}, trusted)" in text.stdout, text.stdout


def test_a_key_the_file_does_not_list_is_named_untrusted(
    workers: dict[str, tuple[str, Path]], trusted_file: Path
) -> None:
    fp, pkg = workers["stranger"]
    got = run("verify", str(pkg), "--trusted-keys", str(trusted_file), "--json")
    assert got.returncode == 1, got.stderr
    doc = json.loads(got.stdout)
    assert doc["signer_fingerprint"] == fp and doc["signer_name"] is None
    assert doc["trust"] == "failed"
    text = run("verify", str(pkg), "--trusted-keys", str(trusted_file))
    assert f"signed by {fp} (NOT one of your trusted keys)" in text.stdout, text.stdout
    assert "worker-" not in text.stdout


def test_without_trusted_keys_verify_names_no_worker(workers: dict[str, tuple[str, Path]]) -> None:
    fp, pkg = workers["worker-2"]
    report = verify_package(pkg)
    assert report.signer_fingerprint == fp and report.signer_name is None


def test_a_key_trusted_without_a_name(workers: dict[str, tuple[str, Path]], tmp_path: Path) -> None:
    fp, pkg = workers["worker-2"]
    (tmp_path / "keys").write_text(f"# header, not a name: a fingerprint line follows\n{fp}\n")
    report = verify_package(pkg, trusted_keys_file=tmp_path / "keys")
    assert report.signer_name is None and report.check("key").status.value == "passed"
    assert (
        "signed by " + fp + " (trusted)"
        in run("verify", str(pkg), "--trusted-keys", str(tmp_path / "keys")).stdout
    )


def test_names_in_the_file() -> None:
    k1, k2, k3 = (Ed25519PrivateKey.generate() for _ in range(3))
    fp1, fp2, fp3 = (signing.fingerprint(k) for k in (k1, k2, k3))
    pem2, pem3 = (signing.public_pem(k).decode() for k in (k2, k3))
    data = (
        f"# workers\nsha256:{fp1.upper()}   #  worker-1 \x1b[31m\n# worker-2\n\n{pem2}"
        f"{fp1}  # a second name is not kept\n{fp3}\n{pem3}"
    ).encode()
    assert parse_named_keys(data) == {fp1: "worker-1 [31m", fp2: "worker-2", fp3: None}
    assert parse_trusted_keys(data) == {fp1, fp2, fp3}  # the older call: fingerprints only
    with pytest.raises(UsageError, match="line 2"):
        parse_named_keys(f"{fp1}  # ok\nworker-2 {fp2}\n".encode())


def test_key_show_prints_a_line_for_the_trusted_keys_file(tmp_path: Path) -> None:
    pem = tmp_path / "worker.pem"
    assert run("key", "generate", "--key", str(pem)).returncode == 0
    shown = run("key", "show", "--key", str(pem), "--name", "worker-7")
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    fp = lines[-3].removeprefix("fingerprint ")
    assert parse_named_keys(lines[-1].encode()) == {fp: "worker-7"}
    assert fp == signing.fingerprint(signing.load_key(pem, passphrase=None))
    # the whole public key part of the output is a valid entry too
    assert parse_named_keys("\n".join(lines[:-3]).encode()) == {fp: None}
    bad = run("key", "show", "--key", str(pem), "--name", " ")
    assert bad.returncode == 2 and "--name" in bad.stderr
