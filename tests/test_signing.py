"""Signing keys: what a user sees when creating, loading and using their Ed25519 key."""

from __future__ import annotations

import hashlib
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from archiver.config import key_chosen, key_path
from archiver.errors import SigningKeyError
from archiver.proof.signing import (
    exposure_warning,
    fingerprint,
    generate_key,
    is_encrypted,
    load_key,
    load_or_create_key,
    public_pem,
    sign,
    verify_signature,
)


def test_generated_key_is_private_pkcs8_and_loads_back(tmp_path: Path) -> None:
    path = tmp_path / "conf" / "signing-key.pem"
    key = generate_key(path, passphrase=None, force=False)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert not is_encrypted(path)
    assert [p.name for p in path.parent.iterdir()] == ["signing-key.pem"]  # no temp left
    loaded = load_key(path, passphrase=None)
    assert fingerprint(loaded) == fingerprint(key)
    # openssl reads it as an ED25519 key: the file is standard PKCS#8
    out = subprocess.run(
        ["openssl", "pkey", "-in", str(path), "-noout", "-text"], capture_output=True, text=True
    )
    assert out.returncode == 0 and "ED25519" in out.stdout


def test_generate_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    path = tmp_path / "signing-key.pem"
    first = generate_key(path, passphrase=None, force=False)
    with pytest.raises(SigningKeyError, match=r"already exists.*--force"):
        generate_key(path, passphrase=None, force=False)
    assert fingerprint(load_key(path, passphrase=None)) == fingerprint(first)
    second = generate_key(path, passphrase=None, force=True)
    assert fingerprint(load_key(path, passphrase=None)) == fingerprint(second) != fingerprint(first)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_passphrase_right_wrong_and_missing(tmp_path: Path) -> None:
    path = tmp_path / "k.pem"
    key = generate_key(path, passphrase=b"correct horse", force=False)
    assert b"ENCRYPTED PRIVATE KEY" in path.read_bytes()
    assert is_encrypted(path)
    assert not is_encrypted(tmp_path / "absent.pem")
    assert fingerprint(load_key(path, passphrase=b"correct horse")) == fingerprint(key)
    with pytest.raises(SigningKeyError, match="wrong passphrase"):
        load_key(path, passphrase=b"battery staple")
    with pytest.raises(SigningKeyError, match="is encrypted: give its passphrase"):
        load_key(path, passphrase=None)


def test_missing_unreadable_and_garbage_key_files(tmp_path: Path) -> None:
    missing = tmp_path / "nope.pem"
    with pytest.raises(SigningKeyError) as err:
        load_key(missing, passphrase=None)
    assert str(err.value) == f"no signing key at {missing}: run 'archiver key generate'"
    assert err.value.exit_code == 2

    garbage = tmp_path / "garbage.pem"
    garbage.write_bytes(b"this is not a key\n")
    with pytest.raises(SigningKeyError, match="is not a PEM private key"):
        load_key(garbage, passphrase=None)

    with pytest.raises(SigningKeyError, match="is a directory"):
        load_key(tmp_path, passphrase=None)


def test_unreadable_key_file(tmp_path: Path) -> None:
    unreadable = tmp_path / "locked.pem"
    generate_key(unreadable, passphrase=None, force=False)
    unreadable.chmod(0)
    if not os.access(unreadable, os.R_OK):
        with pytest.raises(SigningKeyError, match="cannot read signing key"):
            load_key(unreadable, passphrase=None)
        return
    # Running as root, where permissions do not bind: try it as an unprivileged user.
    tmp_path.chmod(0o755)
    pid = os.fork()
    if pid == 0:  # child: drop to nobody, report through the exit code only
        code = 1
        try:
            os.setgid(65534)
            os.setuid(65534)
            load_key(unreadable, passphrase=None)
        except SigningKeyError as err:
            code = 0 if "cannot read signing key" in str(err) else 2
        except BaseException:
            code = 3
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, "an unreadable key must give a clear error"


def test_a_non_ed25519_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "ec.pem"
    path.write_bytes(
        ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    with pytest.raises(SigningKeyError, match="not Ed25519"):
        load_key(path, passphrase=None)


def test_key_path_order(tmp_path: Path) -> None:
    env = {"ARCHIVER_KEY": "/k/my.pem", "XDG_CONFIG_HOME": "/x"}
    assert key_path("/opt/k.pem", env) == Path("/opt/k.pem")
    assert key_path(None, env) == Path("/k/my.pem")
    assert key_path(None, {"XDG_CONFIG_HOME": "/x"}) == Path("/x/archiver/signing-key.pem")
    assert key_path(None, {"HOME": "/home/ann"}) == Path(
        "/home/ann/.config/archiver/signing-key.pem"
    )
    assert key_chosen(None, env) and key_chosen("/opt/k.pem", {})
    assert not key_chosen(None, {"HOME": "/home/ann"})


def test_a_key_is_created_only_where_the_user_named_none(tmp_path: Path) -> None:
    default = tmp_path / "conf" / "signing-key.pem"
    key, created = load_or_create_key(default, passphrase=None, may_create=True)
    assert created and default.is_file()
    again, created = load_or_create_key(default, passphrase=None, may_create=True)
    assert not created and fingerprint(again) == fingerprint(key)
    named = tmp_path / "named.pem"
    with pytest.raises(SigningKeyError):
        load_or_create_key(named, passphrase=None, may_create=False)
    assert not named.exists()


def test_signature_verifies_with_openssl_and_fails_when_data_changes(tmp_path: Path) -> None:
    key = generate_key(tmp_path / "k.pem", passphrase=None, force=False)
    data = b'{"hello":"world"}'
    sig = sign(key, data)
    pem = public_pem(key)
    assert verify_signature(pem, data, sig)
    assert not verify_signature(pem, data + b" ", sig)
    assert not verify_signature(pem, data, bytes(64))
    assert not verify_signature(b"not a key", data, sig)
    other = generate_key(tmp_path / "other.pem", passphrase=None, force=False)
    assert not verify_signature(public_pem(other), data, sig)

    (tmp_path / "pub.pem").write_bytes(pem)
    (tmp_path / "data").write_bytes(data)
    (tmp_path / "sig").write_bytes(sig)
    der = subprocess.run(
        ["openssl", "pkey", "-pubin", "-in", str(tmp_path / "pub.pem"), "-outform", "DER"],
        capture_output=True,
    ).stdout
    assert hashlib.sha256(der).hexdigest() == fingerprint(key.public_key())
    ok = subprocess.run(
        [
            "openssl",
            "pkeyutl",
            "-verify",
            "-pubin",
            "-inkey",
            str(tmp_path / "pub.pem"),
            "-rawin",
            "-in",
            str(tmp_path / "data"),
            "-sigfile",
            str(tmp_path / "sig"),
        ],
        capture_output=True,
        text=True,
    )
    assert ok.returncode == 0, ok.stderr


def test_private_key_is_never_in_public_output(tmp_path: Path) -> None:
    key = generate_key(tmp_path / "k.pem", passphrase=None, force=False)
    raw = key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    assert raw not in public_pem(key)
    assert b"PRIVATE" not in public_pem(key)


@pytest.mark.parametrize(
    ("mode", "word"), [(0o644, "readable"), (0o640, "readable"), (0o620, "writable")]
)
def test_a_key_file_others_can_open_gets_a_warning(tmp_path: Path, mode: int, word: str) -> None:
    path = tmp_path / "k.pem"
    generate_key(path, passphrase=None, force=False)
    assert exposure_warning(path) is None
    path.chmod(mode)
    assert exposure_warning(path) == (
        f"signing key {path} is {word} by others (mode {mode:04o}): chmod 600 {path}"
    )
    assert exposure_warning(tmp_path / "absent.pem") is None


def run_archiver(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARCHIVER_")}
    env.update(XDG_CONFIG_HOME=str(tmp_path / "xdg"), ARCHIVER_BROWSER="/nonexistent/chrome")
    return subprocess.run(
        [sys.executable, "-c", "from archiver.cli import main; main()", *args],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_key_show_and_capture_warn_about_a_key_others_can_read(tmp_path: Path) -> None:
    path = tmp_path / "k.pem"
    key = generate_key(path, passphrase=None, force=False)
    private = run_archiver(["key", "show", "--key", str(path)], tmp_path)
    assert (private.returncode, private.stderr) == (0, "")
    path.chmod(0o644)
    warning = f"archiver: warning: signing key {path} is readable by others (mode 0644): "
    warning += f"chmod 600 {path}"
    shown = run_archiver(["key", "show", "--key", str(path)], tmp_path)
    assert shown.returncode == 0
    assert shown.stderr.splitlines() == [warning]
    assert fingerprint(key) in shown.stdout
    # capture warns too (and goes on: here it then fails for want of a browser)
    captured = run_archiver(
        ["capture", "http://127.0.0.1:9/", "--key", str(path), "--no-timestamp"], tmp_path
    )
    assert captured.stderr.splitlines()[0] == warning, captured.stderr
    assert "Traceback" not in captured.stderr
