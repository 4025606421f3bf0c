"""Benchmark: batch capture throughput against bare Playwright at the same concurrency.

    python bench/batch.py CORPUS_DIR [--pages N] [--runs R] [--workers 1,2]

Serves the first N CORPUS_DIR/*/source.html on 127.0.0.1 (fixtures/server.py) and, in
every run, alternating the order, times as subprocesses:

  batch    ``archiver capture -i LIST --workers W --no-timestamp --json`` (the whole tool:
           one browser per worker, a fresh context per page, WARC, signing, index)
  bare     a plain Playwright script with W threads, each with one browser, doing the same
           browser steps per page: new context, goto until network idle, the same scroll
           pass, back to top, full-page screenshot, DOM, close the context
  oneshot  ``archiver capture URL`` once per page (a browser started for each page)

Prints pages per minute for each W and the ratio batch/bare (the target is >= 0.9x),
the peak memory of each worker (the RSS of its Playwright driver and browser tree,
sampled every 50 ms) and of the Python process, and the median per-page cost of a
page in a reused browser (the time between completions with one worker, first page
left out) against a one-shot capture of the same page. Figures only, no assertions.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from archiver.capture.procs import process_tree, rss_bytes  # noqa: E402

MIB = 2**20


# --- the bare baseline (run in a subprocess) ---------------------------------------------------


def _child_bare(workers: int, urls: list[str]) -> None:
    from playwright.sync_api import sync_playwright

    from archiver.capture.chromium import DEFAULT_VIEWPORT, find_browser, launch_args
    from archiver.capture.pagescripts import SCROLL_SCRIPT

    todo: queue.SimpleQueue[str] = queue.SimpleQueue()
    for url in urls:
        todo.put(url)
    lock = threading.Lock()

    def work() -> None:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(find_browser()), args=launch_args())
            while True:
                try:
                    url = todo.get_nowait()
                except queue.Empty:
                    break
                context = browser.new_context(
                    viewport={"width": DEFAULT_VIEWPORT[0], "height": DEFAULT_VIEWPORT[1]},
                    service_workers="block",
                    accept_downloads=True,
                )
                page = context.new_page()
                page.goto(url, wait_until="networkidle", timeout=60_000)
                page.evaluate(SCROLL_SCRIPT, [200, time.time() * 1000 + 30_000])
                page.evaluate("window.scrollTo(0, 0)")
                page.screenshot(full_page=True)
                page.content()
                context.close()
                with lock:
                    print(json.dumps({"ok": True, "url": url}), flush=True)
            browser.close()

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


# --- measuring ---------------------------------------------------------------------------------


@dataclass
class Timed:
    wall: float
    done_at: list[float] = field(default_factory=list)  # seconds from start, per page
    ok: int = 0
    python_peak: int = 0  # bytes
    worker_peaks: list[int] = field(default_factory=list)  # bytes, per driver+browser tree


def run(cmd: list[str], env: dict[str, str]) -> Timed:
    """Run ``cmd``; time each JSON line it prints and sample the memory of its workers."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    timed = Timed(wall=0.0)
    peaks: dict[int, int] = {}
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            timed.python_peak = max(timed.python_peak, rss_bytes(proc.pid))
            for child in process_tree(proc.pid)[1:]:
                if _is_driver(child):  # one Playwright driver per worker, the browser below
                    total = sum(rss_bytes(p) for p in process_tree(child))
                    peaks[child] = max(peaks.get(child, 0), total)
            stop.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    err_lines: list[bytes] = []
    reader = threading.Thread(target=lambda: err_lines.extend(proc.stderr or []), daemon=True)
    reader.start()
    assert proc.stdout is not None
    for line in proc.stdout:
        doc = json.loads(line)
        timed.done_at.append(time.perf_counter() - start)
        timed.ok += bool(doc.get("ok"))
    proc.wait()
    timed.wall = time.perf_counter() - start
    stop.set()
    sampler.join()
    reader.join()
    timed.worker_peaks = sorted(peaks.values(), reverse=True)
    if proc.returncode != 0:
        tail = b"".join(err_lines).decode(errors="replace").strip().splitlines()[-1:]
        print(f"  ! {' '.join(cmd[:3])} ... exit {proc.returncode}: {tail}", file=sys.stderr)
    return timed


def _is_driver(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"run-driver" in cmdline


def _spread(values: list[float], fmt: str = "{:.1f}") -> str:
    med = statistics.median(values)
    if len(values) == 1:
        return fmt.format(med)
    return f"{fmt.format(med)} ({fmt.format(min(values))}-{fmt.format(max(values))})"


def main() -> int:
    if sys.argv[1:2] == ["--child-bare"]:  # bench/batch.py --child-bare W URL...
        _child_bare(int(sys.argv[2]), sys.argv[3:])
        return 0
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("corpus", type=Path, help="folder of <name>/source.html")
    parser.add_argument("--pages", type=int, default=6)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts")
    opts = parser.parse_args()
    counts = [int(w) for w in opts.workers.split(",")]

    from fixtures.server import FixtureServer

    me = [sys.executable, str(Path(__file__).resolve())]
    cli = str(Path(sys.executable).parent / "archiver")
    with tempfile.TemporaryDirectory() as tmp, FixtureServer(corpus_dir=opts.corpus) as srv:
        env = dict(os.environ, XDG_CONFIG_HOME=str(Path(tmp) / "config"))
        env = {k: v for k, v in env.items() if k not in ("ARCHIVER_KEY", "ARCHIVER_ARCHIVE")}
        subprocess.run([cli, "key", "generate"], env=env, check=True, capture_output=True)
        names = sorted(p.parent.name for p in opts.corpus.glob("*/source.html"))[: opts.pages]
        urls = [srv.url(f"/corpus/{name}/source.html") for name in names]
        listing = Path(tmp) / "urls.txt"
        listing.write_text("".join(f"{u}\n" for u in urls))
        print(f"{len(urls)} pages: {', '.join(names)}; {opts.runs} runs, alternating order")
        results: dict[str, list[Timed]] = {}
        oneshot: dict[str, list[float]] = {u: [] for u in urls}
        variants = [(kind, w) for w in counts for kind in ("batch", "bare")]
        for run_no in range(opts.runs):
            order = variants if run_no % 2 == 0 else list(reversed(variants))
            for kind, w in order:
                archive = Path(tmp) / f"archive-{kind}-{w}-{run_no}"
                if kind == "batch":
                    cmd = [cli, "capture", "-i", str(listing), "--workers", str(w)]
                    cmd += ["--archive", str(archive), "--no-timestamp", "--json"]
                else:
                    cmd = [*me, "--child-bare", str(w), *urls]
                results.setdefault(f"{kind}-{w}", []).append(run(cmd, env))
            for url in urls if run_no % 2 == 0 else list(reversed(urls)):
                archive = Path(tmp) / f"archive-oneshot-{run_no}"
                cmd = [cli, "capture", url, "--archive", str(archive), "--no-timestamp", "--json"]
                oneshot[url].append(run(cmd, env).wall)
        _report(results, oneshot, urls, counts)
    return 0


def _report(
    results: dict[str, list[Timed]],
    oneshot: dict[str, list[float]],
    urls: list[str],
    counts: list[int],
) -> None:
    n = len(urls)
    print("\nthroughput, pages per minute: median (min-max) over runs")
    print(f"{'workers':>7} {'batch':>18} {'bare':>18} {'batch/bare':>18}")
    for w in counts:
        batch, bare = results[f"batch-{w}"], results[f"bare-{w}"]
        ppm_batch = [60.0 * n / t.wall for t in batch]
        ppm_bare = [60.0 * n / t.wall for t in bare]
        ratios = [b / r for b, r in zip(ppm_batch, ppm_bare, strict=True)]
        print(
            f"{w:>7} {_spread(ppm_batch):>18} {_spread(ppm_bare):>18}"
            f" {_spread(ratios, '{:.2f}') + 'x':>18}"
        )
        failed = [t for t in batch + bare if t.ok != n]
        if failed:
            print(f"        ! {len(failed)} run(s) did not capture every page")
    print("\npeak memory, MiB: each worker's driver + browser tree / the Python process")
    for w in counts:
        for kind in ("batch", "bare"):
            runs = results[f"{kind}-{w}"]
            workers = [p / MIB for t in runs for p in t.worker_peaks]
            python = [t.python_peak / MIB for t in runs]
            print(
                f"  {kind:5} W={w}: per worker {_spread(workers, '{:.0f}')}"
                f" / python {_spread(python, '{:.0f}')}"
            )
    if 1 in counts:
        reused: dict[str, list[float]] = {u: [] for u in urls}
        startup = []
        for timed in results["batch-1"]:
            gaps = [b - a for a, b in zip([0.0, *timed.done_at], timed.done_at, strict=False)]
            startup.append(gaps[0])
            for url, gap in zip(urls[1:], gaps[1:], strict=False):
                reused[url].append(gap)
        per_url = [
            statistics.median(oneshot[u]) - statistics.median(reused[u])
            for u in urls[1:]
            if reused[u]
        ]
        one = [statistics.median(oneshot[u]) for u in urls[1:]]
        again = [statistics.median(reused[u]) for u in urls[1:] if reused[u]]
        print(
            "\nper page, s (pages 2..N, median over pages): one-shot `archiver capture URL`"
            f" {statistics.median(one):.2f}, in a reused browser {statistics.median(again):.2f};"
            f" a reused browser saves {statistics.median(per_url):.2f}"
            f" (range {min(per_url):.2f} to {max(per_url):.2f})"
        )
        print(f"first page of a batch (process + browser start-up included): {_spread(startup)} s")


if __name__ == "__main__":
    raise SystemExit(main())
