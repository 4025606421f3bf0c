"""``diff`` and ``report`` read packages straight from a store (``--storage``): each
object is streamed to a temporary file that is gone afterwards, the pure code runs on
it, and the evidence names the object, not the temporary file. A missing object is one
line and exit 1, as for ``verify --storage``.

A folder store always; an S3-compatible one (moto's server) under the services marker.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from services import MotoS3
from webpackages import PARAGRAPHS, make_package

from archiver.archive.custody import Custody
from archiver.archive.index import Archive
from archiver.storage import open_store

A_JOB = "job-0000000000000000000000aa"
B_JOB = "job-0000000000000000000000bb"


@pytest.fixture(scope="module")
def moto() -> Iterator[MotoS3]:
    server = MotoS3()
    yield server
    server.close()


@pytest.fixture(params=["folder", pytest.param("s3", marks=pytest.mark.services)])
def stored(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[str, dict[str, str]]:
    """A store holding two captures of one URL, the casualty figure changed in B; the
    STORE text and the environment the command needs."""
    env = {**os.environ, "TMPDIR": str(tmp_path / "tmp")}
    (tmp_path / "tmp").mkdir()
    if request.param == "folder":
        spec = str(tmp_path / "store")
    else:
        moto: MotoS3 = request.getfixturevalue("moto")
        env.update(moto.env)
        bucket = f"r{abs(hash(request.node.name)) % 10**8}"
        moto.make_bucket(bucket)
        spec = f"s3://{bucket}/newsroom"
        for name, value in moto.env.items():
            monkeypatch.setenv(name, value)
    scratch = Archive(tmp_path / "worker")
    key = Ed25519PrivateKey.generate()
    changed = [p.replace("75,000", "7,500") for p in PARAGRAPHS]
    store = open_store(spec)
    for job, day, paragraphs in ((A_JOB, 28, PARAGRAPHS), (B_JOB, 29, changed)):
        path = make_package(
            scratch,
            key,
            capture_id=f"202504{day}T093000Z-000000{day}",
            when=datetime(2025, 4, day, 9, 30, tzinfo=UTC),
            paragraphs=paragraphs,
            options={"job_id": job},
        )
        store.put(f"captures/{job}.wacz", path)
    return spec, env


def run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "archiver.cli", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_diff_reads_both_captures_from_the_store(
    stored: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    spec, env = stored
    got = run(["diff", "--storage", spec, A_JOB, f"captures/{B_JOB}.wacz", "--json"], env, tmp_path)
    assert got.returncode == 0, got.stderr
    doc = json.loads(got.stdout)
    assert "7,500" in json.dumps(doc["changes"]) and "75,000" in json.dumps(doc["changes"])
    url = open_store(spec).url.rstrip("/")
    assert doc["a"]["evidence"]["package"] == f"{url}/captures/{A_JOB}.wacz"
    assert doc["b"]["evidence"]["package"] == f"{url}/captures/{B_JOB}.wacz"
    assert doc["a"]["evidence"]["signature"].startswith("valid")
    assert not list((tmp_path / "tmp").iterdir())  # the temporary copies are gone


def test_diff_of_a_stored_capture_and_a_local_file(
    stored: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    spec, env = stored
    local = next((tmp_path / "worker").rglob("*20250429T093000Z*.wacz"))
    got = run(["diff", "--storage", spec, A_JOB, str(local), "--json"], env, tmp_path)
    assert got.returncode == 0, got.stderr
    doc = json.loads(got.stdout)
    assert "7,500" in json.dumps(doc["changes"])
    url = open_store(spec).url.rstrip("/")
    assert doc["a"]["evidence"]["package"] == f"{url}/captures/{A_JOB}.wacz"
    assert doc["b"]["evidence"]["package"] == str(local.resolve())
    assert local.is_file()  # read in place, never removed
    assert not list((tmp_path / "tmp").iterdir())


def test_report_of_two_stored_captures(stored: tuple[str, dict[str, str]], tmp_path: Path) -> None:
    spec, env = stored
    archive = tmp_path / "coordinator"
    got = run(["report", "--storage", spec, "--archive", str(archive), A_JOB, B_JOB], env, tmp_path)
    assert got.returncode == 0, got.stderr
    out = tmp_path / f"{B_JOB}-report.html"
    assert got.stdout.startswith(f"wrote {out.name}")
    html = out.read_text(encoding="utf-8")
    assert f"captures/{B_JOB}.wacz" in html and "7,500" in html
    assert str(tmp_path / "tmp") not in html  # named by its object, not the temporary file
    assert not list((tmp_path / "tmp").iterdir())
    # custody is the coordinator's: the verification and the export are in its archive
    events = Custody(Archive(archive)).recorded("20250429T093000Z-00000029")
    assert [e.kind for e in events] == ["verified", "exported"], events


def test_verify_names_the_stored_object(stored: tuple[str, dict[str, str]], tmp_path: Path) -> None:
    spec, env = stored
    got = run(["verify", "--storage", spec, A_JOB, "--json"], env, tmp_path)
    assert got.returncode == 0, got.stderr
    assert json.loads(got.stdout)["package"].endswith(f"/captures/{A_JOB}.wacz")


@pytest.mark.parametrize("command", ["diff", "report"])
def test_a_missing_object_is_one_line_and_exit_1(
    command: str, stored: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    spec, env = stored
    got = run([command, "--storage", spec, A_JOB, "job-missing"], env, tmp_path)
    assert got.returncode == 1, got.stderr
    assert got.stderr.count("\n") == 1 and "Traceback" not in got.stderr
    assert got.stderr.startswith("archiver: error: "), got.stderr
    assert "no object captures/job-missing.wacz" in got.stderr, got.stderr
    assert not list((tmp_path / "tmp").iterdir())
    assert not (tmp_path / "job-missing-report.html").exists()


def test_diff_from_a_store_needs_two_refs(tmp_path: Path) -> None:
    env = {**os.environ}
    for args in (["--url", "http://news.example/"], [A_JOB]):
        got = run(["diff", "--storage", str(tmp_path / "store"), *args], env, tmp_path)
        assert got.returncode == 2 and "--storage" in got.stderr, got.stderr
        assert got.stderr.count("\n") == 1
