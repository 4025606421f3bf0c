"""Benchmark: what a capture costs compared with a bare Playwright page load.

    python bench/capture.py [CORPUS_DIR] [--runs N] [--pages K] [--heavy-mb M] [--heavy-runs R]
                            [--heavy-kind pattern|media]

Serves the fixture article (fixtures/server.py) and the first K CORPUS_DIR/*/source.html
on 127.0.0.1, then, alternating the order in every run, times as subprocesses:

  capture    ``archiver capture URL --archive TMP --no-timestamp --json`` (the whole tool)
  load_page  ``archiver.capture.browser.load_page`` alone (the browser layer of a capture)
  bare       a plain Playwright script doing the same browser steps: launch, goto until
             network idle, the same scroll pass, full-page screenshot, close

and prints medians and ratios. Then loads a page fetching M MB (three 1/3 fetches), R times
per variant, and reports wall time, ratio to bare and the peak RSS of the Python process and
of its whole process tree (driver + Chromium), median and [min-max], and the CPU seconds
spent by each kind of process (python, node driver, Chromium browser/renderer/...).
Figures only, no assertions.
"""

from __future__ import annotations

import argparse
import contextlib
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


def _cpu_s(pid: int) -> tuple[str, float]:
    """The process's role (python, node, chromium browser/renderer/...) and CPU seconds."""
    with open(f"/proc/{pid}/stat") as fh:
        stat = fh.read()
    name = stat[stat.index("(") + 1 : stat.rindex(")")]
    fields = stat[stat.rindex(")") + 2 :].split()
    with open(f"/proc/{pid}/cmdline") as fh:
        args = fh.read().replace("\0", " ").split()  # Chromium rewrites its argv
    if "chrom" in name or any("chrom" in a for a in args[:1]):
        kind = next((a[7:] for a in args if a.startswith("--type=")), "browser")
        name = f"chromium {kind}"
    elif name.startswith("node"):
        name = "node"
    return name, (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(
    cmd: list[str], env: dict[str, str], sample_rss: bool = False
) -> tuple[float, int, int, dict[str, float]]:
    """Run cmd; return wall seconds, peak RSS of the process and of its whole tree (KiB),
    and, when sampling, CPU seconds by process role (last sample of each process)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    peaks = [0, 0]
    cpu: dict[int, tuple[str, float]] = {}
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            pids = _tree(proc.pid)
            peaks[0] = max(peaks[0], _rss_kb(proc.pid))
            peaks[1] = max(peaks[1], sum(_rss_kb(p) for p in pids))
            for pid in pids:
                with contextlib.suppress(OSError, ValueError, IndexError):
                    cpu[pid] = _cpu_s(pid)
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
    by_role: dict[str, float] = {}
    for role, seconds in cpu.values():
        by_role[role] = by_role.get(role, 0.0) + seconds
    return elapsed, peaks[0], peaks[1], by_role


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


def _spread(values: list[float], fmt: str) -> str:
    return f"{statistics.median(values):{fmt}} [{min(values):{fmt}}-{max(values):{fmt}}]"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", nargs="?", type=Path, help="folder of <name>/source.html")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--pages", type=int, default=5, help="corpus pages to use")
    parser.add_argument("--heavy-mb", type=int, default=300)
    parser.add_argument("--heavy-runs", type=int, default=3)
    parser.add_argument(
        "--heavy-kind",
        choices=("pattern", "media"),
        default="pattern",
        help="pattern: bytes that compress well; media: bytes that do not, like video",
    )
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
                    elapsed, _, _, _ = run(cmds[variant], env)
                    times[label][variant].append(elapsed)
        if opts.runs > 0:
            _report(times, opts.runs)
        kind = "&kind=media" if opts.heavy_kind == "media" else ""
        heavy = srv.url(f"/heavy/{opts.heavy_mb}mb.html?parts=3{kind}")
        print(
            f"\nloading {heavy}, {opts.heavy_runs} runs: wall time (s) and peak RSS (MiB)"
            " of the python process / whole tree (driver + Chromium), median [min-max]"
        )
        cmds = commands(heavy, Path(tmp) / "archive")
        samples: dict[str, list[tuple[float, int, int, dict[str, float]]]] = {
            v: [] for v in VARIANTS
        }
        for run_no in range(opts.heavy_runs):
            order = VARIANTS if run_no % 2 == 0 else tuple(reversed(VARIANTS))
            for variant in order:
                samples[variant].append(run(cmds[variant], env, sample_rss=True))
        bare_med = statistics.median(s[0] for s in samples["bare"]) if opts.heavy_runs else 0
        for variant in VARIANTS if opts.heavy_runs else ():
            wall = [s[0] for s in samples[variant]]
            own = [s[1] / 1024 for s in samples[variant]]
            tree = [s[2] / 1024 for s in samples[variant]]
            ratio = statistics.median(wall) / bare_med
            print(
                f"  {variant:10} {_spread(wall, '.2f')} s  x{ratio:.2f}"
                f"   own {_spread(own, '.0f')}   tree {_spread(tree, '.0f')}"
            )
            roles = sorted({r for s in samples[variant] for r in s[3]})
            cpu = {r: statistics.median(s[3].get(r, 0.0) for s in samples[variant]) for r in roles}
            top = sorted((kv for kv in cpu.items() if kv[1] >= 0.1), key=lambda kv: -kv[1])
            print(
                f"  {'':10} CPU s (median): total {sum(cpu.values()):.1f}; "
                + ", ".join(f"{r} {c:.1f}" for r, c in top)
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
