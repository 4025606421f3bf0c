"""Capture on many machines, against real services on 127.0.0.1: redis-server, moto's S3
server, the fixture site and real Chromium, driven through the command line.

* two workers capture a batch; one is kill -9'ed in the middle of a capture; its job runs
  again on the other within the redelivery bound; afterwards every URL has exactly one
  package in the store and one index entry, each verifies, and no partial object is left;
* Redis stopped mid-batch: the waiting command says so in one line, exit 1; Redis back
  and the same command run again finishes the batch without duplicates;
* a package corrupted in the store after upload: the ingest and verify both catch it;
* a job that keeps failing is parked as failed with its last error (archiver jobs).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from services import MotoS3, RedisServer

from archiver.storage import open_store

pytestmark = [pytest.mark.services, pytest.mark.browser, pytest.mark.slow]

ARCHIVER = [sys.executable, "-m", "archiver.cli"]
REDELIVER_S = "4"


@pytest.fixture(scope="module")
def moto() -> Iterator[MotoS3]:
    server = MotoS3()
    yield server
    server.close()


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    yield server
    server.stop()


@pytest.fixture
def env(
    tmp_path: Path, moto: MotoS3, browser_path: Path, request: pytest.FixtureRequest
) -> dict[str, str]:
    out = {k: v for k, v in os.environ.items() if not k.startswith(("ARCHIVER_", "AWS_"))}
    out.update(moto.env)
    out["XDG_CONFIG_HOME"] = str(tmp_path / "config")
    out["ARCHIVER_BROWSER"] = str(browser_path)
    out["ARCHIVER_ARCHIVE"] = str(tmp_path / "archive")
    bucket = f"t{abs(hash(request.node.name)) % 10**9}"
    moto.make_bucket(bucket)
    out["ARCHIVER_STORAGE"] = f"s3://{bucket}/packages"
    subprocess.run([*ARCHIVER, "key", "generate"], env=out, check=True, capture_output=True)
    return out


def run(
    args: list[str], env: dict[str, str], timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*ARCHIVER, *args], env=env, capture_output=True, text=True, timeout=timeout
    )


class Worker:
    def __init__(self, broker: str, env: dict[str, str], log: Path, *extra: str) -> None:
        self.log = log
        self.proc = subprocess.Popen(
            [
                *ARCHIVER,
                "worker",
                "--broker",
                broker,
                "--redeliver-after",
                REDELIVER_S,
                "--max-attempts",
                "2",
                "--json",
                *extra,
            ],
            env=env,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
        )

    def events(self) -> list[dict[str, object]]:
        out = []
        for line in self.log.read_text().splitlines():
            if line.startswith("{"):
                out.append(json.loads(line))
        return out

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def store_keys(env: dict[str, str]) -> list[str]:
    os.environ.update({k: v for k, v in env.items() if k.startswith("AWS_")})
    store = open_store(env["ARCHIVER_STORAGE"])
    return list(store.list())


def raw_store_names(env: dict[str, str]) -> list[str]:
    """Every object in the bucket, temporary uploads included."""
    import boto3

    bucket = env["ARCHIVER_STORAGE"].removeprefix("s3://").split("/")[0]
    client = boto3.client(
        "s3",
        endpoint_url=env["AWS_ENDPOINT_URL"],
        aws_access_key_id="test",
        aws_secret_access_key="test",
        region_name="us-east-1",
    )
    return [o["Key"] for o in client.list_objects_v2(Bucket=bucket).get("Contents", [])]


def check_archive(env: dict[str, str], urls: list[str]) -> list[dict[str, object]]:
    listed = run(["list", "--json"], env)
    assert listed.returncode == 0, listed.stderr
    entries = [json.loads(line) for line in listed.stdout.splitlines()]
    assert sorted(e["url"] for e in entries) == sorted(urls)
    for entry in entries:
        verified = run(["verify", str(entry["id"])], env)
        assert verified.returncode == 0, verified.stdout + verified.stderr
    return entries


def test_two_workers_one_killed_mid_capture(
    env: dict[str, str], redis_server: RedisServer, fixture_server, tmp_path: Path
) -> None:
    urls = [fixture_server.url(f"/slow/{2 + n % 2}?n={n}") for n in range(6)]
    a = Worker(redis_server.url, env, tmp_path / "a.log")
    b = Worker(redis_server.url, env, tmp_path / "b.log")
    try:
        waiting = subprocess.Popen(
            [*ARCHIVER, "capture", "--broker", redis_server.url, "--json", *urls],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 60
        while not any(e.get("status") == "running" for e in a.events()):
            assert time.monotonic() < deadline, a.log.read_text()
            time.sleep(0.2)
        time.sleep(1.0)  # in the middle of a slow page
        a.proc.kill()  # kill -9
        a.proc.wait()
        out, err = waiting.communicate(timeout=240)
        assert waiting.returncode == 0, err
        docs = [json.loads(line) for line in out.splitlines()]
        assert len(docs) == len(urls) and all(d["ok"] for d in docs)
        assert len({d["job_id"] for d in docs}) == len(urls)
    finally:
        a.stop()
        b.stop()
    killed = [e for e in a.events() if e.get("status") == "running"][-1]
    assert any(
        e.get("job_id") == killed["job_id"] and e.get("status") == "done" for e in b.events()
    ), "the killed worker's job was not run again by the other"
    keys = store_keys(env)
    assert len(keys) == len(urls) and all(k.startswith("captures/job-") for k in keys)
    assert sorted(raw_store_names(env)) == sorted(f"packages/{k}" for k in keys)
    check_archive(env, urls)
    from_store = run(["verify", "--storage", env["ARCHIVER_STORAGE"], keys[0]], env)
    assert from_store.returncode == 0, from_store.stdout + from_store.stderr
    # the index rebuilt from the store alone holds the same captures
    env2 = {**env, "ARCHIVER_ARCHIVE": str(tmp_path / "rebuilt")}
    rebuilt = run(["index", "rebuild", "--storage", env["ARCHIVER_STORAGE"]], env2)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert f"indexed {len(urls)} capture(s)" in rebuilt.stdout
    check_archive(env2, urls)


def test_redis_stopped_mid_batch_then_rerun(
    env: dict[str, str], redis_server: RedisServer, fixture_server, tmp_path: Path
) -> None:
    urls = [fixture_server.url(f"/slow/1?r={n}") for n in range(4)]
    worker = Worker(redis_server.url, env, tmp_path / "w.log")
    try:
        waiting = subprocess.Popen(
            [*ARCHIVER, "capture", "--broker", redis_server.url, *urls],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 60
        while not any(e.get("status") == "done" for e in worker.events()):
            assert time.monotonic() < deadline, worker.log.read_text()
            time.sleep(0.2)
        redis_server.stop()
        _out, err = waiting.communicate(timeout=60)
        assert waiting.returncode == 1
        lines = err.strip().splitlines()
        assert len(lines) == 1 and "broker" in lines[0] and "not reachable" in lines[0], err
        redis_server.start()
        again = run(["capture", "--broker", redis_server.url, "--json", *urls], env, 240)
        assert again.returncode == 0, again.stderr
    finally:
        worker.stop()
    assert len(store_keys(env)) == len(urls)
    check_archive(env, urls)


def test_corrupted_in_store_is_caught_by_ingest_and_verify(
    env: dict[str, str], redis_server: RedisServer, fixture_server, tmp_path: Path
) -> None:
    url = fixture_server.article_url
    worker = Worker(redis_server.url, env, tmp_path / "w.log")
    try:
        sent = run(["capture", "--broker", redis_server.url, "--no-wait", "--json", url], env)
        assert sent.returncode == 0, sent.stderr
        job_id = json.loads(sent.stdout)["job_id"]
        deadline = time.monotonic() + 120
        while not any(e.get("status") == "done" for e in worker.events()):
            assert time.monotonic() < deadline, worker.log.read_text()
            time.sleep(0.2)
    finally:
        worker.stop()
    os.environ.update({k: v for k, v in env.items() if k.startswith("AWS_")})
    store = open_store(env["ARCHIVER_STORAGE"])
    key = f"captures/{job_id}.wacz"
    good = tmp_path / "good.wacz"
    store.get(key, good)
    data = bytearray(good.read_bytes())
    data[len(data) // 2] ^= 0x01
    bad = tmp_path / "bad.wacz"
    bad.write_bytes(bytes(data))
    store.put(key, bad)  # someone changes the object after the worker stored it
    ingest = run(["capture", "--broker", redis_server.url, url], env)
    assert ingest.returncode == 1
    assert "not indexed" in ingest.stderr and job_id in ingest.stderr, ingest.stderr
    assert run(["list", "--json"], env).stdout.strip() == ""
    verified = run(["verify", "--storage", env["ARCHIVER_STORAGE"], job_id], env)
    assert verified.returncode == 1, verified.stdout + verified.stderr
    assert "FAIL" in verified.stdout.upper(), verified.stdout


def test_job_failing_every_time_is_parked_as_failed(
    env: dict[str, str], redis_server: RedisServer, fixture_server, tmp_path: Path
) -> None:
    url = fixture_server.url("/status/nothing-listens").replace(f":{fixture_server.port}", ":9")
    worker = Worker(redis_server.url, env, tmp_path / "w.log")
    try:
        done = run(["capture", "--broker", redis_server.url, url], env, 240)
    finally:
        worker.stop()
    assert done.returncode == 1 and url in done.stderr
    jobs = run(["jobs", "--broker", redis_server.url, "--failed", "--json"], env)
    records = [json.loads(line) for line in jobs.stdout.splitlines()]
    assert len(records) == 1 and records[0]["status"] == "failed"
    assert records[0]["attempts"] == 2 and records[0]["error"]


def test_watch_run_through_the_broker_keeps_what_a_local_run_keeps(
    env: dict[str, str], redis_server: RedisServer, fixture_server, tmp_path: Path
) -> None:
    """``watch run --broker``: the workers capture, the watcher judges and keeps; a run
    killed while it waits, run again, captures nothing twice; an unchanged check leaves
    no package in the store; no worker alive is one line, exit 1, and no failure is
    charged to the watched URL."""
    url = fixture_server.article_url
    watch = ["watch", "run", "--once", "--now", "--host-delay", "0", "--no-timestamp"]
    broker = ["--broker", redis_server.url, "--json"]
    assert run(["watch", "add", url, "--every", "1s"], env).returncode == 0
    worker = Worker(redis_server.url, env, tmp_path / "w.log")
    try:
        # a run killed while its check waits; run again, it takes the same job's package
        killed = subprocess.Popen(
            [*ARCHIVER, *watch, *broker],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while not any(e.get("status") == "running" for e in worker.events()):
            assert time.monotonic() < deadline, worker.log.read_text()
            time.sleep(0.1)
        killed.kill()  # kill -9 while the check waits for the worker
        killed.wait()
        while not any(e.get("status") == "done" for e in worker.events()):
            assert time.monotonic() < deadline, worker.log.read_text()
            time.sleep(0.2)
        first = run([*watch, *broker], env)
        assert first.returncode == 0, first.stderr
        assert [json.loads(x)["kind"] for x in first.stdout.splitlines()] == ["first"]
        assert len(store_keys(env)) == 1
        assert len([e for e in worker.events() if e.get("status") == "running"]) == 1

        same = run([*watch, *broker], env)
        assert same.returncode == 0 and same.stdout == "", same.stderr
        assert len(store_keys(env)) == 1  # the unchanged check's package left the store
        log = (Path(env["ARCHIVER_ARCHIVE"]) / "log" / "checks.jsonl").read_text()
        assert len(log.splitlines()) == 1

        with fixture_server.variant("number-changed"):
            changed = run([*watch, *broker], env)
        assert changed.returncode == 0, changed.stderr
        events = [json.loads(x) for x in changed.stdout.splitlines()]
        assert [e["kind"] for e in events] == ["changed"]
        assert events[0]["diff"]["numbers"] == [{"old": "75,000", "new": "7,500"}]
        assert len(store_keys(env)) == 2
        done = [e for e in worker.events() if e.get("status") == "done"]
        assert len(done) == 3  # every capture ran on the worker, the killed run's once
    finally:
        worker.stop()
    entries = check_archive(env, [url, url])
    assert len({e["id"] for e in entries}) == 2

    alone = run([*watch, *broker], env, 60)
    assert alone.returncode == 1
    lines = alone.stderr.strip().splitlines()
    assert len(lines) == 1 and "no archiver worker is running" in lines[0], alone.stderr
    status = run(["watch", "status", "--json"], env)
    assert json.loads(status.stdout)["failures"] == 0
