"""``archiver report`` as HTML (no browser): what the evidence report holds, its custody
record, and one line for bad input. The PDF is tested in test_web_browser.py."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from webpackages import PARAGRAPHS, URL, make_package

from archiver.archive.custody import Custody
from archiver.archive.index import Archive

ARCHIVER = Path(sys.executable).parent / "archiver"
A_ID = "20250428T093000Z-0000000a"
B_ID = "20250429T093000Z-0000000b"


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Archive:
    found = Archive(tmp_path_factory.mktemp("report") / "archive")
    key = Ed25519PrivateKey.generate()
    make_package(
        found,
        key,
        capture_id=A_ID,
        paragraphs=PARAGRAPHS,
        when=datetime(2025, 4, 28, 9, 30, tzinfo=UTC),
    )
    changed = [p.replace("75,000", "7,500") for p in PARAGRAPHS]
    make_package(
        found,
        key,
        capture_id=B_ID,
        paragraphs=changed,
        when=datetime(2025, 4, 29, 9, 30, tzinfo=UTC),
    )
    found.rebuild()
    return found


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARCHIVER_")}
    return subprocess.run(
        [str(ARCHIVER), *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=120
    )


def test_the_html_report_holds_the_evidence_and_its_hash_is_recorded(
    archive: Archive, tmp_path: Path
) -> None:
    out = tmp_path / "a.html"
    done = run(
        "report", A_ID, B_ID, "--archive", str(archive.root), "--html", str(out), cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    digest = done.stdout.split("sha256 ", 1)[1].strip()
    assert digest == hashlib.sha256(out.read_bytes()).hexdigest()
    html = out.read_text()
    for needed in (
        URL,
        "2025-04-28T09:30:00Z",
        "2025-04-29T09:30:00Z",
        "7,500",
        "75,000",
        "Edit interval",
        "openssl pkeyutl -verify",
        "Does not prove",
        "PASS",
    ):
        assert needed in html, needed
    assert "<script" not in html and "http://" not in html.split(URL)[0].split("<body>")[0]
    assert "data:image/png;base64," in html  # the bannered screenshot, inline
    for cid in (A_ID, B_ID):
        package_sha = hashlib.sha256((archive.captures / f"{cid}.wacz").read_bytes()).hexdigest()
        assert package_sha in html
        exported = [e for e in Custody(archive).recorded(cid) if e.kind == "exported"]
        assert exported and exported[-1].sha256 == digest and "a.html" in exported[-1].detail


def test_an_unknown_id_is_one_line_and_exit_2(archive: Archive, tmp_path: Path) -> None:
    done = run(
        "report",
        "20990101T000000Z-deadbeef",
        "--archive",
        str(archive.root),
        "--html",
        str(tmp_path / "x.html"),
        cwd=tmp_path,
    )
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1 and "20990101T000000Z-deadbeef" in done.stderr
    assert not (tmp_path / "x.html").exists()


@pytest.mark.parametrize("where", ["no/such/folder/r.pdf", "."])
def test_an_unwritable_output_is_one_line_and_exit_2(
    archive: Archive, tmp_path: Path, where: str
) -> None:
    done = run("report", A_ID, "--archive", str(archive.root), "--pdf", where, cwd=tmp_path)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot write the report" in lines[0]


def test_the_app_report_button_gives_the_same_report(archive: Archive) -> None:
    from starlette.testclient import TestClient

    from archiver.web import AppSettings, create_app

    with TestClient(
        create_app(AppSettings(archive=archive.root)), base_url="http://127.0.0.1:8080"
    ) as client:
        page = client.get(f"/captures/{A_ID}/report?format=html")
        assert page.status_code == 200
        assert page.headers["x-report-sha256"] == hashlib.sha256(page.content).hexdigest()
        assert "attachment" in page.headers["content-disposition"]
        assert URL in page.text
        assert client.get("/captures/20990101T000000Z-deadbeef/report").status_code == 404
        assert client.get(f"/diff/report?a={A_ID}&b=../x").status_code == 404
