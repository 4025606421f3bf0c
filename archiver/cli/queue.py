"""The command line of capture on many machines: ``worker``, ``jobs``, ``capture --broker``.

Like the rest of ``archiver.cli``: parse, call one library function (``archiver.queue``), render.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

import click

BROKER_HELP = "Redis broker, redis://HOST:PORT/DB (or $ARCHIVER_BROKER)."
STORAGE_HELP = "Package store: a folder or s3://bucket/prefix (or $ARCHIVER_STORAGE)."
S3_HELP = "S3-compatible endpoint URL (default: $AWS_ENDPOINT_URL, else AWS)."
# capture.session.MAX_BROWSER_RSS in MiB (a test holds them equal; importing the session
# here would load Playwright for every command), and the least bound that makes sense: an
# idle Chromium alone takes a few hundred MiB.
DEFAULT_BROWSER_MB = 1536
MIN_BROWSER_MB = 256


def _line(doc: dict[str, Any], as_json: bool, text: str) -> None:
    click.echo(json.dumps(doc, sort_keys=True) if as_json else text)


def capture_via_broker(
    urls: Sequence[str],
    *,
    broker: str,
    storage: str | None,
    s3_endpoint: str | None,
    options: Any,
    archive_path: str | None,
    batch: str | None,
    no_wait: bool,
    as_json: bool,
) -> None:
    """Queue the captures; unless ``no_wait``, wait, ingest each into the index, print."""
    from ..errors import ArchiverError, UsageError
    from ..queue import ingest_job, submit, wait
    from ..queue.jobopts import to_job_doc
    from ..storage import open_store
    from .base import open_archive, stop_on_signals

    if not storage:
        raise UsageError("--broker needs --storage STORE (where the workers put packages)")
    store = open_store(storage, s3_endpoint=s3_endpoint)
    jobs = submit(broker, store, urls, to_job_doc(options), batch=batch)
    if no_wait:
        for job in jobs:
            _line(
                {"job_id": job.job_id, "url": job.url, "state": job.state},
                as_json,
                f"{job.job_id} {job.state} {job.url}",
            )
        return
    archive = open_archive(archive_path)
    failed = 0

    def finished(record: dict[str, Any]) -> None:
        nonlocal failed
        job_id, url = record["id"], record.get("url", "")
        if record.get("status") == "failed":
            failed += 1
            error = record.get("error") or "failed"
            doc = {"ok": False, "job_id": job_id, "url": url, "error": error}
            if as_json:
                _line(doc, True, "")
            click.echo(f"archiver: error: {url}: {error} (job {job_id})", err=True)
            return
        result = record.get("result") or {}
        expected = (int(result["size"]), str(result["sha256"])) if "size" in result else None
        try:
            got = ingest_job(archive, store, job_id, expected)
        except ArchiverError as exc:
            failed += 1
            doc = {"ok": False, "job_id": job_id, "url": url, "error": str(exc)}
            if as_json:
                _line(doc, True, "")
            click.echo(f"archiver: error: {url}: {exc} (job {job_id})", err=True)
            return
        entry = got.entry
        doc = {**entry.to_json(), "ok": True, "job_id": job_id, "path": str(got.path)}
        _line(doc, as_json, f"{entry.id} {entry.status} {url} (job {job_id})")

    stored = [j for j in jobs if j.state == "stored"]
    for job in stored:  # done on an earlier run: straight from the store
        finished({**(job.record or {}), "id": job.job_id, "url": job.url, "status": "done"})
    with stop_on_signals() as (stop, signals):
        pending = [j.job_id for j in jobs if j.state != "stored"]
        wait(broker, pending, finished, stop=stop, store=store)
    if signals:
        click.echo("archiver: interrupted: the jobs stay queued; run again to wait", err=True)
        sys.exit(128 + signals[0])
    if failed:
        sys.exit(1)


@click.command()
@click.option("--broker", required=True, envvar="ARCHIVER_BROKER", help=BROKER_HELP)
@click.option("--storage", required=True, envvar="ARCHIVER_STORAGE", help=STORAGE_HELP)
@click.option("--s3-endpoint", metavar="URL", help=S3_HELP)
@click.option("--key", "key_path", metavar="PEM", help="This worker's signing key.")
@click.option(
    "--concurrency",
    type=click.IntRange(1, 32),
    default=1,
    show_default=True,
    help="Captures at once, each with its own browser.",
)
@click.option(
    "--redeliver-after",
    type=click.FloatRange(min=1),
    default=60.0,
    show_default=True,
    metavar="S",
    help="Seconds without a heartbeat before a worker counts as dead and its "
    "jobs run again elsewhere.",
)
@click.option(
    "--max-attempts",
    type=click.IntRange(min=1),
    default=3,
    show_default=True,
    help="Runs of a job before it is parked as failed.",
)
@click.option(
    "--recycle-after",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="Captures per browser before it is replaced.",
)
@click.option(
    "--max-browser-mb",
    type=click.IntRange(min=MIN_BROWSER_MB),
    default=None,
    metavar="MB",
    help="Replace a browser whose idle process tree holds more than this many MiB "
    f"(at least {MIN_BROWSER_MB}; default {DEFAULT_BROWSER_MB}, as for local batches).",
)
@click.option("--json", "as_json", is_flag=True, help="Job events as JSON lines.")
def worker(
    broker: str,
    storage: str,
    s3_endpoint: str | None,
    key_path: str | None,
    concurrency: int,
    redeliver_after: float,
    max_attempts: int,
    recycle_after: int | None,
    max_browser_mb: int | None,
    as_json: bool,
) -> None:
    """Run capture jobs from the broker; put each package in the store.

    A job is acknowledged only once its package is stored and checked. Runs until
    SIGTERM or Ctrl-C (running captures finish first).
    """
    from ..capture.session import MAX_BROWSER_RSS, RECYCLE_AFTER
    from ..proof.signing import fingerprint
    from ..queue import QueueSettings, run_worker
    from ..storage import open_store
    from .base import load_or_create_key, stop_on_signals

    store = open_store(storage, s3_endpoint=s3_endpoint)
    key = load_or_create_key(key_path)
    settings = QueueSettings(redeliver_after=redeliver_after, max_attempts=max_attempts)

    def event(doc: dict[str, Any]) -> None:
        text = " ".join(str(doc.get(k, "")) for k in ("status", "job_id", "url"))
        if doc.get("error"):
            text += f": {doc['error']}"
        _line(doc, as_json, text)
        sys.stdout.flush()

    recycle = recycle_after or RECYCLE_AFTER
    max_rss = max_browser_mb * 2**20 if max_browser_mb else MAX_BROWSER_RSS
    click.echo(
        f"archiver worker: {concurrency} at a time, signing as {fingerprint(key.public_key())}, "
        f"storing in {store.url}; a browser is replaced after {recycle} captures or past "
        f"{max_rss // 2**20} MiB",
        err=True,
    )
    with stop_on_signals() as (stop, _signals):
        run_worker(
            broker_url=broker,
            store=store,
            key=key,
            concurrency=concurrency,
            settings=settings,
            stop=stop,
            on_event=event,
            recycle_after=recycle,
            max_rss=max_rss,
        )


@click.command()
@click.option("--broker", required=True, envvar="ARCHIVER_BROKER", help=BROKER_HELP)
@click.option("--failed", "failed_only", is_flag=True, help="Only jobs parked as failed.")
@click.option("--json", "as_json", is_flag=True, help="JSON lines, one job each.")
def jobs(broker: str, failed_only: bool, as_json: bool) -> None:
    """The capture jobs the broker knows: state, attempts, last error."""
    from ..queue import list_jobs

    for record in list_jobs(broker, failed_only=failed_only):
        text = (
            f"{record['id']} {record.get('status')} attempts={record.get('attempts', 0)} "
            f"{record.get('url', '')}"
        )
        if record.get("error"):
            text += f": {record['error']}"
        _line(record, as_json, text)
