"""Benchmark: captures through the broker (Redis + workers + store) against the local pool.

    python bench/scale.py CORPUS_DIR [--pages N] [--runs R] [--workers 1,2] [--latency K]

Serves the first N CORPUS_DIR/*/source.html on 127.0.0.1 (fixtures/server.py), starts
redis-server on a free port and a folder store, and times as subprocesses:

  local   ``archiver capture -i LIST --workers W --no-timestamp --json`` (the local pool)
  broker  ``archiver capture --broker ... --storage ... -i LIST --no-timestamp --json``
          with W ``archiver worker`` processes (--concurrency 1) already running and
          warmed by one capture each: queue, capture, upload + check, ingest + index

Each run uses a fresh archive and a new batch name (so nothing is answered from the
store). Prints pages per minute for each W and the ratio broker/local (target >= 0.9x),
then the queue overhead per job: enqueue-to-start latency of K jobs sent one at a time
to an idle worker (the worker's 'running' record minus the job's enqueue time). Figures
only, no assertions.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from services import RedisServer  # noqa: E402


def timed(cmd: list[str], env: dict[str, str]) -> float:
    start = time.monotonic()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1800)
    took = time.monotonic() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:3])} failed: {proc.stderr.strip()[-500:]}")
    return took


def spread(urls: list[str], times: list[float]) -> str:
    """The pages-per-minute range over the runs."""
    rates = sorted(len(urls) * 60 / t for t in times)
    return f"[{rates[0]:.1f}-{rates[-1]:.1f}]"


def start_workers(
    cli: str, count: int, env: dict[str, str], logdir: Path
) -> list[subprocess.Popen[bytes]]:
    return [
        subprocess.Popen(
            [cli, "worker", "--concurrency", "1"],
            env=env,
            stdout=(logdir / f"worker{n}.log").open("wb"),
            stderr=subprocess.STDOUT,
        )
        for n in range(count)
    ]


def stop_workers(workers: list[subprocess.Popen[bytes]]) -> None:
    for w in workers:
        w.terminate()
    for w in workers:
        w.wait(120)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--pages", type=int, default=6)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--latency", type=int, default=5)
    opts = parser.parse_args()
    counts = [int(w) for w in opts.workers.split(",")]

    from fixtures.server import FixtureServer

    cli = str(Path(sys.executable).parent / "archiver")
    with tempfile.TemporaryDirectory() as tmpname, FixtureServer(corpus_dir=opts.corpus) as srv:
        tmp = Path(tmpname)
        redis = RedisServer(tmp)
        try:
            env = {k: v for k, v in os.environ.items() if not k.startswith("ARCHIVER_")}
            env["XDG_CONFIG_HOME"] = str(tmp / "config")
            env["ARCHIVER_BROKER"] = redis.url
            env["ARCHIVER_STORAGE"] = str(tmp / "store")
            subprocess.run([cli, "key", "generate"], env=env, check=True, capture_output=True)
            names = sorted(p.parent.name for p in opts.corpus.glob("*/source.html"))[: opts.pages]
            urls = [srv.url(f"/corpus/{name}/source.html") for name in names]
            listing = tmp / "urls.txt"
            listing.write_text("".join(f"{u}\n" for u in urls))
            print(f"{len(urls)} pages; {opts.runs} runs; redis {redis.url}")
            latencies: list[float] = []
            for count in counts:
                local: list[float] = []
                broker: list[float] = []
                workers = start_workers(cli, count, env, tmp)
                try:
                    warm = [srv.url("/")] * count
                    timed(
                        [
                            cli,
                            "capture",
                            "--no-timestamp",
                            "--batch",
                            f"warm{count}",
                            "--archive",
                            str(tmp / f"warm{count}"),
                            *warm,
                        ],
                        env,
                    )
                    for run in range(opts.runs):
                        archive = tmp / f"a-{count}-{run}"
                        local.append(
                            timed(
                                [
                                    cli,
                                    "capture",
                                    "-i",
                                    str(listing),
                                    "--workers",
                                    str(count),
                                    "--no-timestamp",
                                    "--json",
                                    "--archive",
                                    str(archive / "local"),
                                ],
                                {k: v for k, v in env.items() if k != "ARCHIVER_BROKER"},
                            )
                        )
                        broker.append(
                            timed(
                                [
                                    cli,
                                    "capture",
                                    "-i",
                                    str(listing),
                                    "--no-timestamp",
                                    "--json",
                                    "--batch",
                                    f"bench-{count}-{run}-{time.time()}",
                                    "--archive",
                                    str(archive / "broker"),
                                ],
                                env,
                            )
                        )
                    if count == counts[0]:
                        for n in range(opts.latency):
                            out = subprocess.run(
                                [
                                    cli,
                                    "capture",
                                    "--no-timestamp",
                                    "--json",
                                    "--batch",
                                    f"lat-{n}-{time.time()}",
                                    "--archive",
                                    str(tmp / "lat"),
                                    srv.url("/"),
                                ],
                                env=env,
                                capture_output=True,
                                text=True,
                                check=True,
                            ).stdout
                            job_id = json.loads(out.splitlines()[0])["job_id"]
                            rec = json.loads(
                                subprocess.run(
                                    [cli, "jobs", "--json"],
                                    env=env,
                                    capture_output=True,
                                    text=True,
                                    check=True,
                                ).stdout.splitlines()[-1]
                            )
                            assert rec["id"] == job_id
                            latencies.append(rec["started"] - rec["enqueued"])
                finally:
                    stop_workers(workers)
                pm_local = len(urls) * 60 / statistics.median(local)
                pm_broker = len(urls) * 60 / statistics.median(broker)
                ratios = [b and lo / b for lo, b in zip(local, broker, strict=True)]
                print(
                    f"W={count}: local {pm_local:.1f} pages/min {spread(urls, local)}, broker "
                    f"{pm_broker:.1f} pages/min {spread(urls, broker)}, broker/local "
                    f"{pm_broker / pm_local:.2f}x (runs {min(ratios):.2f}-{max(ratios):.2f}x)"
                )
            if latencies:
                median_ms = statistics.median(latencies) * 1000
                print(
                    f"enqueue-to-start latency: median {median_ms:.0f} ms, "
                    f"max {max(latencies) * 1000:.0f} ms over {len(latencies)} jobs"
                )
        finally:
            redis.stop()
            shutil.rmtree(tmp / "store", ignore_errors=True)


if __name__ == "__main__":
    main()
