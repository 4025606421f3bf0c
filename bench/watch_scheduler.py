"""Scheduler cost: ``archiver watch run --once`` over 10,000 watched URLs, none due.

The issue's target: under a second. Prints the median wall time of the whole command
(interpreter start, imports, opening the index, the due query, the check log's head)
over several runs, and the median of the pass alone in-process.

    .venv/bin/python bench/watch_scheduler.py [--urls 10000] [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from archiver.archive import Archive  # noqa: E402
from archiver.archive.watchlist import WatchList  # noqa: E402
from archiver.proof.signing import generate_key  # noqa: E402
from archiver.times import now_utc  # noqa: E402
from archiver.watch import RunOptions, Watcher  # noqa: E402

ARCHIVER = Path(sys.executable).with_name("archiver")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--urls", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        archive = Archive(base / "archive")
        later = now_utc() + timedelta(days=1)  # added "tomorrow": nothing is due today
        urls = [f"https://site{n % 50}.example/news/{n}" for n in range(args.urls)]
        WatchList(archive).add(urls, now=later, every=None, ignore=())
        env = {**os.environ, "XDG_CONFIG_HOME": str(base / "config")}
        env.pop("ARCHIVER_KEY", None)
        command = [
            str(ARCHIVER),
            "watch",
            "run",
            "--once",
            "--no-timestamp",
            "--archive",
            str(base / "archive"),
        ]
        subprocess.run(command, env=env, check=True, capture_output=True)  # creates the key
        wall = []
        for _ in range(args.runs):
            start = time.perf_counter()
            proc = subprocess.run(command, env=env, capture_output=True, text=True)
            wall.append(time.perf_counter() - start)
            if proc.returncode != 0 or proc.stdout:
                raise SystemExit(f"unexpected: {proc.returncode} {proc.stdout} {proc.stderr}")
        key = generate_key(base / "k.pem", passphrase=None, force=False)
        watcher = Watcher(archive, key, RunOptions())
        passes = []
        for _ in range(args.runs):
            start = time.perf_counter()
            result = watcher.run_pass()
            passes.append(time.perf_counter() - start)
            assert result.checked == 0
    print(f"watched URLs: {args.urls}, due: 0, runs: {args.runs}")
    print(
        f"archiver watch run --once (whole command): median {statistics.median(wall):.3f} s "
        f"(min {min(wall):.3f}, max {max(wall):.3f}); target < 1 s"
    )
    print(f"one pass in-process: median {statistics.median(passes) * 1000:.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
