"""The check log: signed, hash-chained, timestamped; ``archiver log verify`` names the
first bad entry when one is edited, removed or reordered (no browser: entries are
appended by the library as a pass would, tokens come from the local openssl TSA)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from archiver.cli import main
from archiver.proof import request_tokens
from archiver.proof.signing import generate_key, public_pem
from archiver.proof.tokens import token_time
from archiver.watch import CheckLog, verify_log
from fixtures.tsa import LocalTSA

H = "ab" * 32


def build(archive: Path, tmp_path: Path, entries: int = 5) -> Path:
    key = generate_key(tmp_path / "key.pem", passphrase=None, force=False)
    (tmp_path / "pub.pem").write_bytes(public_pem(key))
    log = CheckLog(archive)
    with LocalTSA(tmp_path / "tsa") as tsa:
        for n in range(entries):
            head = log.append(
                key,
                {
                    "time": f"2031-01-01T00:{n:02d}:00.000000Z",
                    "url": "http://news.example/a",
                    "final_url": "http://news.example/a",
                    "status": 200,
                    "body_sha256": H,
                    "text_sha256": H,
                    "matches": "20310101T000000Z-00000000",
                },
            )
            if n in (2, entries - 1):  # one batch after "pass" 1 and after "pass" 2
                tokens, failures = request_tokens(head.line, [tsa.url], timeout=10)
                assert not failures
                for url, tsr in tokens:
                    log.store_token(head, tsr, url, token_time(tsr))
        (tmp_path / "root.pem").write_bytes(tsa.root_pem)
    return archive / "log" / "checks.jsonl"


def verify(archive: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(["log", "verify", "--archive", str(archive), *args])
    out = capsys.readouterr()
    return int(info.value.code or 0), out.out, out.err


def test_an_intact_log_verifies_with_chain_signatures_and_tokens(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    archive = tmp_path / "archive"
    path = build(archive, tmp_path)
    lines = path.read_text().splitlines()
    assert [json.loads(x)["n"] for x in lines] == [1, 2, 3, 4, 5]
    code, out, _ = verify(
        archive,
        capsys,
        "--tsa-root",
        str(tmp_path / "root.pem"),
        "--trust-key",
        str(tmp_path / "pub.pem"),
    )
    assert code == 0, out
    assert "5 good entries; intact" in out
    assert "token 0 over entry 3: ok" in out and "token 1 over entry 5: ok" in out
    report = verify_log(archive / "log")
    assert report.ok and [t.entry for t in report.tokens] == [3, 5]


def test_the_json_report_names_entries_tokens_and_signer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import jsonschema

    from archiver.proof.signing import pem_fingerprint
    from archiver.schema import load_schema

    archive = tmp_path / "archive"
    build(archive, tmp_path)
    code, out, err = verify(archive, capsys, "--json", "--tsa-root", str(tmp_path / "root.pem"))
    assert code == 0 and err == "", err
    doc = json.loads(out)
    jsonschema.validate(doc, load_schema("log-verify.schema.json"))
    assert doc["ok"] and doc["entries"] == 5 and doc["first_bad"] is None
    assert doc["signers"] == [pem_fingerprint((tmp_path / "pub.pem").read_bytes())]
    assert [(t["number"], t["entry"], t["ok"], t["trusted"]) for t in doc["tokens"]] == [
        (0, 3, True, True),
        (1, 5, True, True),
    ]
    assert all(t["gen_time"] for t in doc["tokens"])

    path = archive / "log" / "checks.jsonl"
    lines = path.read_bytes().splitlines(keepends=True)
    lines[3] = lines[3].replace(b'"status":200', b'"status":500')
    path.write_bytes(b"".join(lines))
    code, out, _ = verify(archive, capsys, "--json")
    doc = json.loads(out)
    jsonschema.validate(doc, load_schema("log-verify.schema.json"))
    assert code == 1 and not doc["ok"]
    assert doc["first_bad"] == 4 and doc["entries"] == 3
    assert "entry 4 (line 4): the signature does not verify" in doc["problems"][0]


def test_a_log_copied_alone_verifies(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    archive = tmp_path / "archive"
    build(archive, tmp_path)
    elsewhere = tmp_path / "copy"
    shutil.copytree(archive / "log", elsewhere / "log")
    assert verify(elsewhere, capsys)[0] == 0


@pytest.mark.parametrize(
    "tamper,named",
    [
        ("edit", "entry 3 (line 3): the signature does not verify"),
        ("remove", "entry 3 (line 3): says it is entry 4"),
        ("reorder", "entry 2 (line 2): says it is entry 3"),
        ("truncate", "token 1: covers entry 5 but the log ends at entry 4"),
        ("rechain", "entry 3 (line 3): its previous-entry hash does not match"),
    ],
)
def test_a_tampered_log_fails_naming_the_entry(
    tamper: str, named: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    archive = tmp_path / "archive"
    path = build(archive, tmp_path)
    lines = path.read_bytes().splitlines(keepends=True)
    if tamper == "edit":  # a status changed after the fact (the signature no longer holds)
        lines[2] = lines[2].replace(b'"status":200', b'"status":404')
    elif tamper == "remove":
        del lines[2]
    elif tamper == "reorder":
        lines[1], lines[2] = lines[2], lines[1]
    elif tamper == "truncate":
        del lines[4]
    elif tamper == "rechain":  # entry 3 swapped for another log's validly signed entry 3
        other = tmp_path / "other"
        build(other, tmp_path / "o")
        lines[2] = (other / "log" / "checks.jsonl").read_bytes().splitlines(keepends=True)[2]
    path.write_bytes(b"".join(lines))
    code, out, err = verify(archive, capsys)
    assert code == 1
    assert named in err and err.count("\n") == 1, err
    assert "NOT intact" in out


def test_a_torn_last_line_is_cut_before_the_next_append(tmp_path: Path) -> None:
    """A crash in the middle of a write leaves a line without its newline: it was never
    acknowledged, so the next append drops it and the chain stays whole."""
    archive = tmp_path / "archive"
    path = build(archive, tmp_path, entries=2)
    with path.open("ab") as fh:
        fh.write(b'{"n":3,"half a li')
    key = generate_key(tmp_path / "key2.pem", passphrase=None, force=False)
    head = CheckLog(archive).append(
        key,
        {
            "time": "2031-01-01T01:00:00Z",
            "url": "u",
            "final_url": "u",
            "status": 200,
            "body_sha256": None,
            "text_sha256": None,
            "matches": "x",
        },
    )
    assert head.n == 3
    report = verify_log(archive / "log")
    assert report.ok and report.entries == 3


def test_no_log_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _out, err = verify(tmp_path / "archive", capsys)
    assert code == 2 and "no check log" in err
