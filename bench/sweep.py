"""Sweep: capture every page of a corpus with the real CLI and check each package.

    python bench/sweep.py CORPUS_DIR [--only NAME ...] [--timeout S] [--jobs N]

CORPUS_DIR holds ``<name>/source.html`` (and optionally ``expected-metadata.json`` and
``expected.html``, as in Mozilla's readability test pages). The pages are served on
127.0.0.1 by ``fixtures/server.py``; each is captured with
``archiver capture URL --archive TMP --no-timestamp --json --timeout S`` and then checked:

  rc        the capture's exit code is 0 and its JSON line says ok
  verify    ``archiver verify PKG`` exits 0
  wacz      ``wacz validate -f PKG`` exits 0
  warcio    ``warcio check`` on the WARC taken out of the package exits 0
  text      the ``urn:text:`` record is valid against schemas/text.schema.json
  article   an article was found where the corpus has one (expected.html non-empty and
            readerable not false), and its title roughly matches the expected title
  stderr    no Python traceback anywhere; every stderr line starts with "archiver:"

Prints one row per page (``.`` = pass, ``X`` = fail, ``-`` = not applicable) with the
reasons, then totals. Exit status 1 when any page failed a check.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import re
import subprocess
import sys
import tempfile
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BIN = Path(sys.executable).parent
CHECKS = ("rc", "verify", "wacz", "warcio", "text", "article", "stderr")


@dataclass
class Result:
    name: str
    marks: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def fail(self, check: str, note: str) -> None:
        self.marks[check] = "X"
        self.notes.append(f"{check}: {note}")

    def passed(self, check: str) -> None:
        self.marks.setdefault(check, ".")

    @property
    def ok(self) -> bool:
        return "X" not in self.marks.values()


def _run(cmd: list[str], env: dict[str, str], timeout: float) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            cmd, env=env, capture_output=True, text=True, errors="replace", timeout=timeout
        )
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode(errors="replace") if isinstance(exc.stdout, bytes) else ""
        return subprocess.CompletedProcess(cmd, -9, out, f"(killed after {timeout} s)")


def _check_stderr(res: Result, label: str, stderr: str, *, prefixed: bool) -> None:
    if "Traceback (most recent call last)" in stderr:
        tail = stderr.strip().splitlines()[-1] if stderr.strip() else ""
        res.fail("stderr", f"{label} traceback: {tail[:160]}")
        return
    if prefixed:
        bad = [ln for ln in stderr.splitlines() if ln.strip() and not ln.startswith("archiver:")]
        if bad:
            res.fail("stderr", f"{label} stderr line without 'archiver:': {bad[0][:160]!r}")
            return
    res.passed("stderr")


def _norm(title: str) -> str:
    return re.sub(r"\W+", " ", title.casefold()).strip()


def _titles_match(got: str, want: str) -> bool:
    a, b = _norm(got), _norm(want)
    if not a or not b:
        return not b
    if a in b or b in a:
        return True
    return difflib.SequenceMatcher(None, a, b).ratio() >= 0.6


def _expectation(page_dir: Path) -> tuple[bool, str | None]:
    """(an article is expected, its expected title or None)."""
    meta: dict[str, object] = {}
    meta_path = page_dir / "expected-metadata.json"
    if meta_path.is_file():
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    expected = page_dir / "expected.html"
    has_body = expected.is_file() and bool(
        re.sub(r"<[^>]*>|\s", "", expected.read_text(encoding="utf-8", errors="replace"))
    )
    wanted = has_body and meta.get("readerable") is not False
    title = meta.get("title")
    return wanted, title if isinstance(title, str) else None


def _check_package(res: Result, pkg: Path, env: dict[str, str], work: Path, page: Path) -> None:
    from archiver.archive.scan import read_text_document
    from archiver.schema import validate

    proc = _run([str(BIN / "archiver"), "verify", str(pkg)], env, 120)
    _check_stderr(res, "verify", proc.stderr, prefixed=True)
    if proc.returncode != 0:
        last = (proc.stdout.strip().splitlines() or [""])[-1]
        res.fail("verify", f"exit {proc.returncode}: {last[:160]}")
    res.passed("verify")

    proc = _run([str(BIN / "wacz"), "validate", "-f", str(pkg)], env, 120)
    _check_stderr(res, "wacz", proc.stderr, prefixed=False)
    if proc.returncode != 0:
        res.fail("wacz", f"exit {proc.returncode}: {(proc.stdout + proc.stderr).strip()[-160:]}")
    res.passed("wacz")

    warc = work / "data.warc.gz"
    with zipfile.ZipFile(pkg) as zf:
        warc.write_bytes(zf.read("archive/data.warc.gz"))
    proc = _run([str(BIN / "warcio"), "check", "-v", str(warc)], env, 120)
    _check_stderr(res, "warcio", proc.stderr, prefixed=False)
    problems = [ln.strip() for ln in proc.stdout.splitlines() if ln.strip().startswith("digest ")]
    problems = [ln for ln in problems if ln != "digest pass"]
    if proc.returncode != 0 or problems:
        detail = problems[0] if problems else proc.stdout.strip()[-160:]
        res.fail("warcio", f"exit {proc.returncode}: {detail[:160]}")
    res.passed("warcio")

    try:
        doc = read_text_document(pkg)
        validate(doc, "text.schema.json")
    except Exception as exc:  # the sweep reports anything
        res.fail("text", f"{type(exc).__name__}: {str(exc)[:160]}")
        res.marks["article"] = "-"
        return
    res.passed("text")

    wanted, title = _expectation(page)
    article = doc.get("article")
    if not wanted:
        res.marks["article"] = "-"
    elif article is None:
        res.fail("article", f"none found: {doc.get('reason')}")
    elif title is not None and not _titles_match(article.get("title") or "", title):
        res.fail("article", f"title {article.get('title')!r} != expected {title!r}")
    res.passed("article")


def sweep_one(name: str, corpus: Path, base: str, tmp: Path, timeout: float) -> Result:
    res = Result(name)
    work = tmp / name
    work.mkdir()
    env = dict(os.environ, XDG_CONFIG_HOME=str(tmp / "config"), NO_COLOR="1")
    url = f"{base}/corpus/{name}/source.html"
    cmd = [str(BIN / "archiver"), "capture", url, "--archive", str(tmp / "archive")]
    cmd += ["--no-timestamp", "--json", "--timeout", str(timeout)]
    proc = _run(cmd, env, timeout * 4 + 60)
    _check_stderr(res, "capture", proc.stderr, prefixed=True)
    doc: dict[str, object] = {}
    try:
        lines = proc.stdout.strip().splitlines()
        doc = json.loads(lines[-1]) if lines else {}
    except json.JSONDecodeError:
        res.fail("rc", f"stdout is not JSON: {proc.stdout[:120]!r}")
    if proc.returncode != 0 or not doc.get("ok"):
        err = [ln for ln in proc.stderr.splitlines() if "error" in ln] or [proc.stderr[-160:]]
        res.fail("rc", f"exit {proc.returncode}: {err[0][:160]}")
        for check in CHECKS[1:]:
            res.marks.setdefault(check, "-")
        return res
    res.passed("rc")
    _check_package(res, Path(str(doc["path"])), env, work, corpus / name)
    return res


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", type=Path, help="folder of <name>/source.html")
    parser.add_argument("--only", nargs="*", default=None, help="only these page names")
    parser.add_argument("--timeout", type=float, default=20.0, help="capture --timeout (s)")
    parser.add_argument("--jobs", type=int, default=2, help="captures at once (default 2)")
    args = parser.parse_args(argv)

    from fixtures.server import FixtureServer

    corpus: Path = args.corpus.resolve()
    names = sorted(p.parent.name for p in corpus.glob("*/source.html"))
    if args.only:
        names = [n for n in names if n in set(args.only)]
    results: list[Result] = []
    with FixtureServer(corpus_dir=corpus) as site, tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            futures = [
                pool.submit(sweep_one, n, corpus, site.base_url, tmp, args.timeout) for n in names
            ]
            for fut in futures:
                res = fut.result()
                results.append(res)
                marks = "".join(res.marks.get(c, "?") for c in CHECKS)
                print(f"{marks}  {res.name:<45} {'; '.join(res.notes)}", flush=True)

    print(f"\n{'check':<8} {'pass':>5} {'fail':>5} {'n/a':>5}")
    for i, check in enumerate(CHECKS):
        col = [r.marks.get(check, "?") for r in results]
        print(f"{check:<8} {col.count('.'):>5} {col.count('X'):>5} {col.count('-'):>5}  ({i + 1})")
    bad = [r for r in results if not r.ok]
    print(f"\npages: {len(results)}  clean: {len(results) - len(bad)}  with failures: {len(bad)}")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
