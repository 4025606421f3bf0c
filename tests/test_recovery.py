"""Bounded and recoverable: bad packages and renamed packages.

What a user sees from ``archiver index rebuild``, ``verify``, ``show``, ``list`` and
``diff`` when the archive holds an unreadable package or a package under another name.
The CLI runs as a real subprocess.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from replay import WHEN, exchange

from archiver import layout, package
from archiver.proof import seal
from archiver.proof.signing import generate_key
from archiver.warc import WarcRecorder

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = Path(sys.executable).parent / "archiver"
ARCHIVER = (
    [str(SCRIPT)]
    if SCRIPT.exists()
    else [sys.executable, "-c", "from archiver.cli import main; main()"]
)
URL = "http://127.0.0.1:8000/article.html"
STAMP = WHEN.strftime("%Y-%m-%dT%H:%M:%SZ")
ID_A = "20261127T091807Z-0000000a"
ID_B = "20261128T091807Z-0000000b"


# --- running the command line -----------------------------------------------------------
@dataclass
class Run:
    code: int
    out: str
    err: str

    @property
    def err_lines(self) -> list[str]:
        return [line for line in self.err.splitlines() if line.strip()]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A CLI environment with its own signing key (ARCHIVER_KEY) and config home."""
    key = tmp_path / "xdg" / "archiver" / "signing-key.pem"
    generate_key(key, passphrase=None, force=False)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARCHIVER_")}
    env.update(XDG_CONFIG_HOME=str(tmp_path / "xdg"), ARCHIVER_KEY=str(key))
    if "ARCHIVER_BROWSER" in os.environ:  # conftest's guard for unmarked tests
        env["ARCHIVER_BROWSER"] = os.environ["ARCHIVER_BROWSER"]
    return env


def run_cli(args: list[str], env: dict[str, str], timeout: float = 180) -> Run:
    proc = subprocess.run(
        [*ARCHIVER, *args],
        env=env,
        cwd=tempfile.gettempdir(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)


def listed(archive: Path, env: dict[str, str]) -> list[dict[str, object]]:
    run = run_cli(["list", "--archive", str(archive), "--json"], env)
    assert run.code == 0, run.err
    return [json.loads(line) for line in run.out.splitlines() if line.strip()]


# --- real signed packages, without a browser ----------------------------------------------
def signed_package(
    tmp: Path, dest: Path, key: Ed25519PrivateKey, capture_id: str, text: bytes | None = None
) -> Path:
    """A package signed with ``key`` (no timestamp) whose ``urn:text:`` record holds
    ``text`` (default: a one-paragraph article)."""
    if text is None:
        text = json.dumps({"article": {"title": "A page", "text": f"Capture {capture_id}."}})
        text = text.encode()
    work = Path(tempfile.mkdtemp(dir=tmp))
    warc = work / "data.warc.gz"
    with warc.open("wb") as out:
        rec = WarcRecorder(out, page_id="page-1")
        rec.warcinfo({"software": "archiver tests"}, date=WHEN)
        rec.exchange(exchange(work, URL, b"<title>A page</title><p>Hi</p>", is_main=True))
        rec.resource(f"urn:text:{URL}", "application/json", text, date=WHEN)
    content: list[tuple[str, Path | bytes]] = [
        (layout.WARC, warc),
        (layout.CDXJ, package.build_cdxj(rec.records)),
        (layout.PAGES, package.build_pages(page_id="page-1", url=URL, ts=STAMP, title="A page")),
    ]
    capture = {
        "id": capture_id,
        "requested_url": URL,
        "final_url": URL,
        "status": 200,
        "started": STAMP,
        "ended": STAMP,
        "clock": "test",
        "software": "archiver tests",
        "browser": "none",
        "options": {},
    }
    provenance, _no_time = seal(
        capture=capture, content=content, records=rec.records, key=key, tsa_urls=(), timeout=1
    )
    dest.parent.mkdir(parents=True, exist_ok=True)
    package.write_wacz(
        dest,
        [*content, *provenance],
        title="A page",
        main_page_url=URL,
        main_page_date=STAMP,
        software="archiver tests",
    )
    shutil.rmtree(work)
    return dest


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


# --- 1. a rebuild survives bad packages ---------------------------------------------------
def test_rebuild_indexes_the_good_packages_names_each_bad_one_and_exits_1(
    tmp_path: Path, env: dict[str, str], key: Ed25519PrivateKey
) -> None:
    archive = tmp_path / "archive"
    captures = archive / "captures"
    signed_package(tmp_path, captures / f"{ID_A}.wacz", key, ID_A)
    signed_package(tmp_path, captures / f"{ID_B}.wacz", key, ID_B)
    (captures / "20261127T000000Z-00000000.wacz").write_bytes(b"")  # sorts first
    (captures / "garbage.wacz").write_bytes(b"PK\x03\x04 not really")

    run = run_cli(["index", "rebuild", "--archive", str(archive)], env)
    assert run.code == 1, run.err
    assert "Traceback" not in run.err
    assert len(run.err_lines) == 2, run.err
    empty, garbage = run.err_lines
    assert empty.startswith(f"archiver: error: cannot index {captures}/20261127T000000Z-00000000")
    assert "not a WACZ package" in empty
    assert garbage.startswith(f"archiver: error: cannot index {captures}/garbage.wacz: ")
    assert run.out == "indexed 2 capture(s), 2 package(s) skipped\n"
    assert [e["id"] for e in listed(archive, env)] == [ID_A, ID_B]

    (captures / "20261127T000000Z-00000000.wacz").unlink()
    (captures / "garbage.wacz").unlink()
    run = run_cli(["index", "rebuild", "--archive", str(archive)], env)
    assert (run.code, run.out, run.err) == (0, "indexed 2 capture(s)\n", "")


# --- 2. a package under another name --------------------------------------------------------
def test_a_renamed_package_is_found_by_its_signed_id_after_a_rebuild(
    tmp_path: Path, env: dict[str, str], key: Ed25519PrivateKey
) -> None:
    archive = tmp_path / "archive"
    captures = archive / "captures"
    signed_package(tmp_path, captures / f"{ID_A}.wacz", key, ID_A)
    assert run_cli(["index", "rebuild", "--archive", str(archive)], env).code == 0
    renamed = captures / "other-name.wacz"
    (captures / f"{ID_A}.wacz").rename(renamed)

    stale = run_cli(["verify", ID_A, "--archive", str(archive)], env)
    assert stale.code == 1
    assert stale.err_lines == [
        f"archiver: error: capture {ID_A} is indexed but {captures}/{ID_A}.wacz is missing: "
        "run 'archiver index rebuild'"
    ]

    rebuilt = run_cli(["index", "rebuild", "--archive", str(archive)], env)
    assert (rebuilt.code, rebuilt.out) == (0, "indexed 1 capture(s)\n"), rebuilt.err
    verified = run_cli(["verify", ID_A, "--archive", str(archive), "--json"], env)
    assert verified.code == 0, verified.err
    report = json.loads(verified.out)
    assert report["integrity"] == "passed"
    assert report["capture"]["id"] == ID_A
    shown = run_cli(["show", ID_A, "--archive", str(archive)], env)
    assert shown.code == 0, shown.err
    assert f"package: {renamed}" in shown.out
    shown_json = run_cli(["show", ID_A[:12], "--archive", str(archive), "--json"], env)
    assert [json.loads(shown_json.out)] == listed(archive, env)
    diffed = run_cli(["diff", ID_A, str(renamed), "--archive", str(archive), "--json"], env)
    assert diffed.code == 0, diffed.err


def test_a_copy_of_an_indexed_package_is_named_and_the_original_stays_indexed(
    tmp_path: Path, env: dict[str, str], key: Ed25519PrivateKey
) -> None:
    archive = tmp_path / "archive"
    captures = archive / "captures"
    original = signed_package(tmp_path, captures / f"{ID_A}.wacz", key, ID_A)
    shutil.copyfile(original, captures / "a-copy.wacz")  # sorts before the original

    run = run_cli(["index", "rebuild", "--archive", str(archive)], env)
    assert run.code == 1
    assert run.err_lines == [
        f"archiver: error: cannot index {captures}/a-copy.wacz: holds capture {ID_A}, "
        f"which {ID_A}.wacz holds too: keep one of the two"
    ]
    assert [e["id"] for e in listed(archive, env)] == [ID_A]
    shown = run_cli(["show", ID_A, "--archive", str(archive)], env)
    assert f"package: {original}" in shown.out
