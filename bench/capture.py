"""Benchmark: what a capture costs compared with a bare Playwright page load.

    python bench/capture.py [CORPUS_DIR] [--runs N] [--pages K] [--heavy-mb M]

Serves the fixture article (fixtures/server.py) and the first K CORPUS_DIR/*/source.html
on 127.0.0.1, then, alternating the order in every run, times as subprocesses:

  capture    ``archiver capture URL --archive TMP --no-timestamp --json`` (the whole tool)
  load_page  ``archiver.capture.browser.load_page`` alone (the browser layer of a capture)
  bare       a plain Playwright script doing the same browser steps: launch, goto until
             network idle, the same scroll pass, full-page screenshot, close

and prints medians and ratios. Then loads a page fetching M MB and reports the peak RSS of
the Python process and of its whole process tree (driver + Chromium) for each variant.
Figures only, no assertions.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

VARIANTS = ("capture", "load_page", "bare")


# --- child modes (run in a subprocess) ---------------------------------------------------------


def _child_bare(url: str) -> None:
    from playwright.sync_api import sync_playwright

    from archiver.capture.chromium import find_browser, launch_args
    from archiver.capture.pagescripts import SCROLL_SCRIPT

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(find_browser()), args=launch_args())
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(url, wait_until="networkidle", timeout=60_000)
        page.evaluate(SCROLL_SCRIPT, [200, time.time() * 1000 + 30_000])
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(full_page=True)
        page.content()
        browser.close()


def _child_load_page(url: str) -> None:
    from archiver.capture.browser import load_page

    with tempfile.TemporaryDirectory() as tmp:
        load = load_page(url, workdir=Path(tmp), timeout=60)
        print(json.dumps({"exchanges": len(load.exchanges), "timings_ms": load.timings_ms}))


# --- measuring ---------------------------------------------------------------------------------


def _tree(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as fh:
                    todo.extend(int(c) for c in fh.read().split())
        except OSError:
            continue
    return pids


def _rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def run(cmd: list[str], env: dict[str, str], sample_rss: bool = False) -> tuple[float, int, int]:
    """Run cmd; return wall seconds, peak RSS of the process and of its whole tree (KiB)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    peaks = [0, 0]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peaks[0] = max(peaks[0], _rss_kb(proc.pid))
            peaks[1] = max(peaks[1], sum(_rss_kb(p) for p in _tree(proc.pid)))
            stop.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    if sample_rss:
        sampler.start()
    out, err = proc.communicate()
    elapsed = time.perf_counter() - start
    stop.set()
    if sample_rss:
        sampler.join()
    if proc.returncode != 0:
        tail = (err or out).decode(errors="replace").strip().splitlines()[-1:]
        print(f"  ! {' '.join(cmd[:4])} ... failed: {tail}", file=sys.stderr)
    return elapsed, peaks[0], peaks[1]


def commands(url: str, archive: Path) -> dict[str, list[str]]:
    me = [sys.executable, str(Path(__file__).resolve())]
    cli = str(Path(sys.executable).parent / "archiver")
    return {
        "capture": [cli, "capture", url, "--archive", str(archive), "--no-timestamp", "--json"],
        "load_page": [*me, "--child-load-page", url],
        "bare": [*me, "--child-bare", url],
    }


def _report(times: dict[str, dict[str, list[float]]], runs: int) -> None:
    print(f"median wall time over {runs} runs (s), each variant in its own process")
    head = ("page", "capture", "load_page", "bare", "cap/bare", "lp/bare")
    print("{:40} {:>8} {:>9} {:>6} {:>8} {:>7}".format(*head))
    totals = {v: 0.0 for v in VARIANTS}
    for label, by_variant in times.items():
        med = {v: statistics.median(by_variant[v]) for v in VARIANTS}
        for v in VARIANTS:
            totals[v] += med[v]
        print(
            f"{label[:40]:40} {med['capture']:8.2f} {med['load_page']:9.2f} {med['bare']:6.2f}"
            f" {med['capture'] / med['bare']:8.2f} {med['load_page'] / med['bare']:7.2f}"
        )
    cap, lp, bare = totals["capture"], totals["load_page"], totals["bare"]
    print(
        f"{'all pages (sum of medians)':40} {cap:8.2f} {lp:9.2f} {bare:6.2f}"
        f" {cap / bare:8.2f} {lp / bare:7.2f}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", nargs="?", type=Path, help="folder of <name>/source.html")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--pages", type=int, default=5, help="corpus pages to use")
    parser.add_argument("--heavy-mb", type=int, default=300)
    parser.add_argument("--child-bare", metavar="URL")
    parser.add_argument("--child-load-page", metavar="URL")
    opts = parser.parse_args()
    if opts.child_bare:
        _child_bare(opts.child_bare)
        return 0
    if opts.child_load_page:
        _child_load_page(opts.child_load_page)
        return 0

    from fixtures.server import FixtureServer

    with tempfile.TemporaryDirectory() as tmp, FixtureServer(corpus_dir=opts.corpus) as srv:
        env = dict(os.environ, XDG_CONFIG_HOME=str(Path(tmp) / "config"))
        env.pop("ARCHIVER_KEY", None)
        cli = str(Path(sys.executable).parent / "archiver")
        subprocess.run([cli, "key", "generate"], env=env, check=True, capture_output=True)
        urls = {"fixture article": srv.article_url}
        if opts.corpus:
            names = sorted(p.parent.name for p in opts.corpus.glob("*/source.html"))
            for name in names[: opts.pages]:
                urls[name] = srv.url(f"/corpus/{name}/source.html")
        times: dict[str, dict[str, list[float]]] = {u: {v: [] for v in VARIANTS} for u in urls}
        for run_no in range(opts.runs):
            order = VARIANTS if run_no % 2 == 0 else tuple(reversed(VARIANTS))
            for label, url in urls.items():
                cmds = commands(url, Path(tmp) / "archive")
                for variant in order:
                    elapsed, _, _ = run(cmds[variant], env)
                    times[label][variant].append(elapsed)
        if opts.runs > 0:
            _report(times, opts.runs)
        heavy = srv.url(f"/heavy/{opts.heavy_mb}mb.html?parts=3")
        print(f"\npeak RSS loading {heavy} (MiB): python process / whole tree, and wall time")
        cmds = commands(heavy, Path(tmp) / "archive")
        for variant in VARIANTS:
            elapsed, own, tree = run(cmds[variant], env, sample_rss=True)
            print(f"  {variant:10} {own / 1024:7.0f} / {tree / 1024:7.0f}   {elapsed:6.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
