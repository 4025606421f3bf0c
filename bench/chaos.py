"""Check: workers killed at random points of a batch; then the store, the index and every
package's verify are counted.

    python bench/chaos.py [--urls N] [--workers W] [--kills K] [--seed S] [--s3]

Starts redis-server, a store (a folder, or with --s3 moto's S3 server) and the fixture
site on 127.0.0.1; W ``archiver worker`` processes (``--redeliver-after 5``); then
``archiver capture --broker ... -i LIST --json`` waits for N URLs (fixture pages that
take 0-3 s to load, so kills land in loads, uploads and idle moments alike). While it
waits, K times at random moments (seeded), a random live worker is ``kill -9``ed and a
new one started. Afterwards it counts and prints:

* store objects under captures/ and leftovers under .incoming/ (after a worker's tidy);
* index entries, distinct URLs, distinct job ids;
* ``archiver verify`` of every indexed package and ``verify --storage`` of every object;
* jobs parked as failed.

Exit 0 when every URL has exactly one package in the store and one index entry, each
verifies, and nothing partial is left; 1 otherwise (the broken invariants are named).
A check script for a person, not a timed test.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from services import MotoS3, RedisServer  # noqa: E402

CLI = str(Path(sys.executable).parent / "archiver")


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [CLI, "worker", "--concurrency", "1", "--redeliver-after", "5", "--max-attempts", "5"],
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CLI, *args], env=env, capture_output=True, text=True, timeout=600)


def incoming(env: dict[str, str]) -> list[str]:
    """Every upload in progress left in the store (Store.list never shows them)."""
    spec = env["ARCHIVER_STORAGE"]
    if not spec.startswith("s3://"):
        return sorted(p.name for p in (Path(spec) / ".incoming").glob("*"))
    import boto3

    bucket, _, prefix = spec.removeprefix("s3://").partition("/")
    client = boto3.client("s3", endpoint_url=env["AWS_ENDPOINT_URL"])
    listed = client.list_objects_v2(Bucket=bucket, Prefix=f"{prefix}/.incoming/")
    return [o["Key"] for o in listed.get("Contents", [])]


def count(env: dict[str, str], urls: list[str], printed: str) -> list[str]:
    """Print what the store, the index and verify hold; the broken invariants."""
    from archiver.storage import open_store

    os.environ.update({k: v for k, v in env.items() if k.startswith("AWS_")})
    spec = env["ARCHIVER_STORAGE"]
    keys = list(open_store(spec).list("captures/"))
    left = incoming(env)
    docs = [json.loads(x) for x in printed.splitlines() if x.strip()]
    entries = [json.loads(x) for x in run(["list", "--json"], env).stdout.splitlines()]
    bad = [e["id"] for e in entries if run(["verify", str(e["id"])], env).returncode]
    bad += [k for k in keys if run(["verify", "--storage", spec, k], env).returncode]
    failed = run(["jobs", "--failed", "--json"], env).stdout.splitlines()
    print(f"  results printed:       {len(docs)} ({sum(1 for d in docs if d.get('ok'))} ok)")
    print(f"  store objects:         {len(keys)}; partial uploads left: {len(left)}")
    print(f"  index entries:         {len(entries)} ({len({e['url'] for e in entries})} URLs)")
    print(f"  verify failures:       {len(bad)} (indexed and stored)")
    print(f"  jobs parked as failed: {len(failed)}")
    problems = []
    if len(keys) != len(urls):
        problems.append(f"{len(keys)} store objects for {len(urls)} URLs")
    if len(entries) != len(urls) or {e["url"] for e in entries} != set(urls):
        problems.append(f"{len(entries)} index entries for {len(urls)} URLs")
    if bad:
        problems.append(f"verify failed: {bad}")
    if left:
        problems.append(f"partial uploads left: {left}")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--urls", type=int, default=12)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--kills", type=int, default=4)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--s3", action="store_true", help="moto's S3 server, not a folder")
    opts = parser.parse_args()
    rng = random.Random(opts.seed)

    from fixtures.server import FixtureServer

    with tempfile.TemporaryDirectory() as tmpname, FixtureServer() as site:
        tmp = Path(tmpname)
        redis = RedisServer(tmp)
        moto = MotoS3() if opts.s3 else None
        workers: list[subprocess.Popen[bytes]] = []
        try:
            env = {k: v for k, v in os.environ.items() if not k.startswith("ARCHIVER_")}
            env.update(
                XDG_CONFIG_HOME=str(tmp / "config"),
                ARCHIVER_BROKER=redis.url,
                ARCHIVER_ARCHIVE=str(tmp / "archive"),
                ARCHIVER_STORAGE=str(tmp / "store"),
            )
            if moto is not None:
                moto.make_bucket("chaos")
                env.update(moto.env)
                env["ARCHIVER_STORAGE"] = "s3://chaos/packages"
            subprocess.run([CLI, "key", "generate"], env=env, check=True, capture_output=True)
            urls = [site.url(f"/slow/{rng.randint(0, 3)}?n={n}") for n in range(opts.urls)]
            listing = tmp / "urls.txt"
            listing.write_text("".join(f"{u}\n" for u in urls))
            logs = tmp / "logs"
            logs.mkdir()
            workers = [start_worker(env, logs / f"w{n}.log") for n in range(opts.workers)]
            started = time.monotonic()
            waiting = subprocess.Popen(
                [CLI, "capture", "-i", str(listing), "--no-timestamp", "--json"],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            outcome: dict[str, str] = {}
            reader = threading.Thread(
                target=lambda: outcome.update(
                    zip(("out", "err"), waiting.communicate(), strict=True)
                )
            )
            reader.start()
            kills = 0
            while kills < opts.kills and waiting.poll() is None:
                time.sleep(rng.uniform(0.5, 4.0))
                live = [w for w in workers if w.poll() is None]
                if not live or waiting.poll() is not None:
                    break
                victim = rng.choice(live)
                victim.send_signal(signal.SIGKILL)
                victim.wait()
                kills += 1
                workers.append(start_worker(env, logs / f"w{len(workers)}.log"))
                print(f"  {time.monotonic() - started:6.1f} s: killed worker {victim.pid}")
            reader.join(900)
            took = time.monotonic() - started
            for worker in workers:
                if worker.poll() is None:
                    worker.send_signal(signal.SIGTERM)
            for worker in workers:
                worker.wait(120)

            print(
                f"{len(urls)} URLs, {opts.workers} workers, {kills} kill -9, seed {opts.seed}, "
                f"{'s3 (moto)' if moto else 'folder'} store: {took:.1f} s"
            )
            problems = count(env, urls, outcome.get("out", ""))
            if waiting.returncode != 0:
                problems.append(f"capture --broker exit {waiting.returncode}: {outcome.get('err')}")
            for problem in problems:
                print(f"BROKEN: {problem}")
            print("all invariants hold" if not problems else f"{len(problems)} invariant(s) broken")
            return 1 if problems else 0
        finally:
            for worker in workers:
                if worker.poll() is None:
                    worker.kill()
            redis.stop()
            if moto is not None:
                moto.close()
            shutil.rmtree(tmp / "store", ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
