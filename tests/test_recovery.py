"""Bounded and recoverable: bad packages, renamed packages and killed processes.

What a user sees from ``archiver index rebuild``, ``verify``, ``show``, ``list``, ``diff``
and the next ``capture`` when the archive holds an unreadable package, a package under
another name, or what a process killed with SIGKILL left behind (a work folder, a
truncated or a complete temporary package). The leftovers are made by real processes
killed with SIGKILL at the moment in question, and the CLI runs as a real subprocess.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from replay import WHEN, exchange

from archiver import layout, package
from archiver.proof import seal
from archiver.proof.signing import generate_key
from archiver.warc import WarcRecorder
from fixtures.server import FixtureServer

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


# --- 3. leftovers of killed processes -------------------------------------------------------
KILLER = """
import json, os, signal, sys, zipfile
from pathlib import Path
from archiver import package
from archiver.archive import Archive

mode, archive, src, dest = sys.argv[1:]
def die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)

Archive(Path(archive)).work_folder(Path(dest).stem)
if mode == "work-folder":
    die()
with zipfile.ZipFile(src) as zf:
    meta = json.loads(zf.read("datapackage.json"))
    entries = [
        (name, zf.read(name))
        for name in zf.namelist()
        if name not in ("datapackage.json", "datapackage-digest.json")
    ]
if mode == "before-rename":  # the package is complete, fsynced, not yet renamed
    os.replace = die
else:  # killed while writing: no datapackage, no zip directory
    package._finish = die
package.write_wacz(
    Path(dest),
    entries,
    title=meta["title"],
    main_page_url=meta["mainPageURL"],
    main_page_date=meta["mainPageDate"],
    software=meta["software"],
)
"""


def killed_while(mode: str, archive: Path, src: Path | None = None, dest: str = ID_A) -> None:
    """Run a process that starts a capture's work folder (and writes ``src``'s members
    to ``captures/<dest>.wacz``) and kills itself with SIGKILL at ``mode``."""
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            KILLER,
            mode,
            str(archive),
            str(src or ""),
            str(archive / "captures" / f"{dest}.wacz"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr


def leftovers(archive: Path) -> list[str]:
    """Hidden entries the tool made in the archive folder and in captures/."""
    hidden = [p for p in archive.iterdir() if p.name.startswith(".")]
    hidden += [p for p in (archive / "captures").iterdir() if p.name.startswith(".")]
    return sorted(str(p.relative_to(archive)) for p in hidden)


def test_rebuild_clears_dead_processes_leftovers_and_recovers_a_complete_package(
    tmp_path: Path, env: dict[str, str], key: Ed25519PrivateKey
) -> None:
    archive = tmp_path / "archive"
    indexed = signed_package(tmp_path, archive / "captures" / f"{ID_A}.wacz", key, ID_A)
    assert run_cli(["index", "rebuild", "--archive", str(archive)], env).code == 0
    elsewhere = signed_package(tmp_path, tmp_path / "b.wacz", key, ID_B)

    killed_while("work-folder", archive)
    killed_while("writing", archive, elsewhere, dest=ID_B)  # truncated
    killed_while("before-rename", archive, indexed, dest=ID_A)  # a rewrite of an indexed one
    killed_while("before-rename", archive, elsewhere, dest=ID_B)  # complete, not indexed
    made = leftovers(archive)
    assert len([m for m in made if not m.startswith("captures/")]) == 4  # one folder each
    temps = [m for m in made if m.startswith("captures/")]
    assert len(temps) == 3 and all(m.endswith(".tmp") for m in temps), made

    run = run_cli(["index", "rebuild", "--archive", str(archive)], env)
    assert run.code == 0, run.err
    assert run.err_lines == [
        "archiver: removed 6 leftover(s) of interrupted captures",
        f"archiver: recovered {archive}/captures/{ID_B}.wacz: a complete package an "
        "interrupted capture had left under a temporary name",
    ]
    assert run.out == "indexed 2 capture(s)\n"
    assert leftovers(archive) == []
    assert [e["id"] for e in listed(archive, env)] == [ID_A, ID_B]
    for capture_id in (ID_A, ID_B):
        verified = run_cli(["verify", capture_id, "--archive", str(archive), "--json"], env)
        assert verified.code == 0, verified.err
        assert json.loads(verified.out)["integrity"] == "passed"


def test_a_live_processes_files_and_other_names_are_left_alone(
    tmp_path: Path, env: dict[str, str]
) -> None:
    archive = tmp_path / "archive"
    (archive / "captures").mkdir(parents=True)
    live = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import time; from archiver.package import writer_tag; "
            "print(writer_tag(), flush=True); time.sleep(300)",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert live.stdout is not None
        tag = live.stdout.readline().strip()
        kept = [
            archive / f".{ID_A}.{tag}.abcd_123",  # a live capture's work folder
            archive / f".{ID_B}-abcd_123",  # an older version's, recent
            archive / ".git",
            archive / ".20261127T091807Z-0000000c.deadbeef.1.0.abcd_123",  # another host's
        ]
        for folder in kept:
            folder.mkdir()
        live_temp = archive / "captures" / f".{ID_A}.wacz.{tag}.abcd_123.tmp"
        live_temp.write_bytes(b"PK\x03\x04 being written")
        old = archive / f".{ID_B}-efgh_456"  # an older version's, untouched for two days
        old.mkdir()
        old_temp = archive / "captures" / f".{ID_B}.wacz.efgh_456.tmp"
        old_temp.write_bytes(b"PK\x03\x04 half")
        # ages are set by the clock the tool reads (the file system's own clock may differ,
        # e.g. under faketime), so "recent" and "two days old" hold whatever the date
        now = time.time()
        for path in (*kept, live_temp):
            os.utime(path, (now, now))
        two_days_ago = now - 2 * 24 * 3600
        for path in (old, old_temp):
            os.utime(path, (two_days_ago, two_days_ago))

        run = run_cli(["index", "rebuild", "--archive", str(archive)], env)
        assert run.code == 0, run.err
        assert run.err_lines == ["archiver: removed 2 leftover(s) of interrupted captures"]
        assert all(p.exists() for p in [*kept, live_temp])
        assert not old.exists() and not old_temp.exists()
    finally:
        live.kill()
        live.wait()
    again = run_cli(["index", "rebuild", "--archive", str(archive)], env)
    assert again.err_lines == ["archiver: removed 2 leftover(s) of interrupted captures"]
    assert not (archive / f".{ID_A}.{tag}.abcd_123").exists() and not live_temp.exists()


# --- 4. a text record that is JSON but not an object ------------------------------------------
@pytest.mark.parametrize(("text", "kind"), [(b"[]", "an array"), (b'"x"', "a string")])
def test_diff_of_a_text_record_that_is_not_an_object_exits_2_with_one_line(
    text: bytes, kind: str, tmp_path: Path, env: dict[str, str], key: Ed25519PrivateKey
) -> None:
    good = signed_package(tmp_path, tmp_path / "good.wacz", key, ID_A)
    odd = signed_package(tmp_path, tmp_path / "odd.wacz", key, ID_B, text=text)
    with zipfile.ZipFile(odd) as zf:  # the package is otherwise sound
        assert zf.testzip() is None
    run = run_cli(["diff", str(good), str(odd), "--archive", str(tmp_path / "archive")], env)
    assert run.code == 2, run.err
    assert run.err_lines == [
        f"archiver: error: urn:text: record in {odd} is not a JSON object but {kind}"
    ]
    assert run.out == ""


# --- 3, with a real browser: kill -9 during a capture ---------------------------------------
def start_capture(
    url: str, archive: Path, env: dict[str, str], *prefix: str
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*(prefix or ARCHIVER), "capture", url, "--archive", str(archive), "--no-timestamp"],
        env=env,
        cwd=tempfile.gettempdir(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(condition: object, what: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.browser
@pytest.mark.parametrize("then", ["capture", "index rebuild"])
def test_a_capture_killed_mid_way_leaves_nothing_after_the_next_run(
    then: str, fixture_server: FixtureServer, tmp_path: Path, env: dict[str, str]
) -> None:
    archive = tmp_path / "archive"
    proc = start_capture(fixture_server.url("/hang"), archive, env)
    try:
        wait_for(
            lambda: archive.is_dir() and any(p.is_dir() for p in archive.glob(".*")),
            "the capture's work folder",
        )
        time.sleep(1)  # the browser is loading the page by now
    finally:
        proc.kill()  # SIGKILL: no cleanup runs
        proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert len(leftovers(archive)) == 1

    if then == "capture":
        run = run_cli(
            ["capture", fixture_server.article_url, "--archive", str(archive), "--no-timestamp"],
            env,
        )
        expected = 1
    else:
        run = run_cli(["index", "rebuild", "--archive", str(archive)], env)
        assert run.err_lines == ["archiver: removed 1 leftover(s) of interrupted captures"]
        expected = 0
    assert run.code == 0, run.err
    assert leftovers(archive) == []
    entries = listed(archive, env)
    assert len(entries) == expected
    assert [p.name for p in (archive / "captures").iterdir()] == [
        f"{e['id']}.wacz" for e in entries
    ]


KILL_AT_RENAME = """
import os, signal, sys
real = os.replace
def replace(src, dst, *args, **kwargs):
    if str(dst).endswith(".wacz"):
        os.kill(os.getpid(), signal.SIGKILL)
    return real(src, dst, *args, **kwargs)
os.replace = replace
from archiver.cli import main
main()
"""


@pytest.mark.browser
def test_a_capture_killed_before_its_rename_is_recovered_by_the_next_capture(
    fixture_server: FixtureServer, tmp_path: Path, env: dict[str, str]
) -> None:
    archive = tmp_path / "archive"
    killed = start_capture(
        fixture_server.url("/image.png"), archive, env, sys.executable, "-c", KILL_AT_RENAME
    )
    _out, err = killed.communicate(timeout=180)
    assert killed.returncode == -signal.SIGKILL, err
    temps = list((archive / "captures").glob(".*.tmp"))
    assert len(temps) == 1 and len(leftovers(archive)) == 2  # and its work folder
    lost_id = temps[0].name[1:].split(".wacz.")[0]

    run = run_cli(
        ["capture", fixture_server.article_url, "--archive", str(archive), "--no-timestamp"],
        env,
    )
    assert run.code == 0, run.err
    assert (
        f"archiver: warning: an interrupted capture had left a complete package: indexed it "
        f"as {lost_id} ({archive}/captures/{lost_id}.wacz)"
    ) in run.err_lines
    assert leftovers(archive) == []
    entries = listed(archive, env)
    assert [e["url"] for e in entries] == [
        fixture_server.url("/image.png"),
        fixture_server.article_url,
    ]
    verified = run_cli(["verify", lost_id, "--archive", str(archive), "--json"], env)
    assert verified.code == 0, verified.err
    assert json.loads(verified.out)["integrity"] == "passed"
