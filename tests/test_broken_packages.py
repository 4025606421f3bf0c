"""Every named broken package (tests/broken.py) fails ``archiver verify``, with the exit
code its breakage calls for, naming the file that is broken; the clean package they are
made from passes with the same anchors, so each failure is the breakage's own."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from broken import BROKEN
from click.testing import CliRunner
from packages import Forge
from tamper import TSR0

from archiver.cli import cli


@pytest.fixture(scope="module")
def anchors(clean_package: Forge, tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """--trust-key and --tsa-root options naming the clean package's signer and TSAs."""
    folder = tmp_path_factory.mktemp("anchors")
    (folder / "signer.pem").write_bytes(clean_package.pub)
    options = ["--trust-key", str(folder / "signer.pem")]
    for n, root in enumerate(clean_package.roots):
        (folder / f"root{n}.pem").write_bytes(root)
        options += ["--tsa-root", str(folder / f"root{n}.pem")]
    return options


def verify_json(path: Path, anchors: list[str]) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(cli, ["verify", str(path), *anchors, "--json"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    doc: dict[str, Any] = json.loads(result.output)
    return result.exit_code, doc


def test_the_clean_package_passes_with_every_anchor(
    clean_package: Forge, anchors: list[str]
) -> None:
    code, doc = verify_json(clean_package.path, anchors)
    assert code == 0, doc
    assert doc["integrity"] == "passed" and doc["trust"] == "established"


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_each_named_broken_package_fails_naming_the_broken_file(
    name: str, broken_package: Callable[[str], Path], anchors: list[str]
) -> None:
    broken = BROKEN[name]
    path = broken_package(name)
    code, doc = verify_json(path, anchors)
    assert code == broken.exit_code, doc
    if broken.names is None:  # unreadable: the one error line names the package
        assert doc["integrity"] == "unreadable" and path.name in doc["error"], doc
        return
    lines = [
        f"{p['where']}: {p['message']}"
        for check in doc["checks"]
        if check["status"] == "failed"
        for p in check["problems"]
    ]
    assert any(broken.names in line for line in lines), lines


def test_a_token_by_a_tsa_certificate_expired_when_it_signed_is_not_trusted_time(
    broken_package: Callable[[str], Path], anchors: list[str]
) -> None:
    """Unlike a certificate that expired after signing (test_verify): the token is intact,
    but its time is no trusted time."""
    code, doc = verify_json(broken_package("expired-tsa-cert"), anchors)
    assert code == 1 and doc["integrity"] == "passed" and doc["trust"] == "failed"
    (token,) = doc["timestamps"]
    assert token["file"] == TSR0 and token["chain"] == "invalid"
    assert token["chain_detail"] == "TSA certificate was not valid at the token's time"
