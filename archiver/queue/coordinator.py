"""Sending captures to the workers, and following them until each is done or failed.

Job ids are derived from the batch name and the URL (``job-`` + 24 hex digits), so
running the same command again names the same jobs: a job already stored is ingested
from the store without being queued again, a job still queued or running is waited for,
and only the rest are sent. The default batch name is the URL list, the options (page
options as recorded: secret values only hashed) and the UTC date; ``batch`` chooses
another (a fresh capture of the same list the same day).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..errors import ArchiverError
from ..storage import Store
from .engine import TIDY_AFTER_S, JobBook, QueueSettings, live_workers, make_broker, send_job
from .ingest import job_key


@dataclass(frozen=True)
class Submitted:
    job_id: str
    url: str
    state: str  # "queued" (sent now), "pending" (sent before), "stored" (already done)
    record: dict[str, Any] | None = None  # the broker's record of a stored job, if any


def job_ids(urls: Sequence[str], options: dict[str, Any], batch: str | None) -> list[str]:
    if batch is None:
        day = datetime.now(UTC).strftime("%Y-%m-%d")
        if "page" in options:  # named by the options as recorded: secrets only hashed
            from .jobopts import public_doc

            options = public_doc(options)
        batch = json.dumps([list(urls), options, day], sort_keys=True)
    seen: Counter[str] = Counter()
    ids = []
    for url in urls:
        seen[url] += 1
        digest = hashlib.sha256(f"{batch}\n{url}\n{seen[url]}".encode()).hexdigest()
        ids.append(f"job-{digest[:24]}")
    return ids


def submit(
    broker_url: str,
    store: Store,
    urls: Sequence[str],
    options: dict[str, Any],
    *,
    batch: str | None = None,
    ids: Sequence[str] | None = None,
    settings: QueueSettings | None = None,
) -> list[Submitted]:
    """Queue a capture job per URL (BrokerUnavailable when Redis cannot be reached);
    ``ids`` names the jobs instead of ``batch``."""
    broker = make_broker(broker_url, settings or QueueSettings(), maintenance=False)
    try:
        book = JobBook(broker)
        book.ping()
        out = []
        names = list(ids) if ids is not None else job_ids(urls, options, batch)
        for job_id, url in zip(names, urls, strict=True):
            if store.stat(job_key(job_id)) is not None:
                out.append(Submitted(job_id, url, "stored", book.read(job_id)))
            elif book.create(job_id, url):
                book._call(lambda j=job_id, u=url: send_job(broker, j, u, options))  # type: ignore[misc]
                out.append(Submitted(job_id, url, "queued"))
            else:
                out.append(Submitted(job_id, url, "pending"))
        return out
    finally:
        broker.close()


def wait(
    broker_url: str,
    jobs: Sequence[str],
    on_finished: Callable[[dict[str, Any]], None],
    *,
    stop: threading.Event,
    poll_s: float = 0.5,
    store: Store | None = None,
    settings: QueueSettings | None = None,
) -> None:
    """Call ``on_finished`` with each job's record as it becomes done or failed; then
    remove from ``store`` the uploads that workers no longer alive left behind."""
    settings = settings or QueueSettings()
    broker = make_broker(broker_url, settings, maintenance=False)
    try:
        book = JobBook(broker)
        pending = list(jobs)
        while pending and not stop.is_set():
            still = []
            for job_id in pending:
                record = book.read(job_id)
                if record is not None and record.get("status") in ("done", "failed"):
                    on_finished(record)
                else:
                    still.append(job_id)
            pending = still
            if pending:
                stop.wait(poll_s)
        if store is not None and not pending:  # uploads left by workers that died
            live = live_workers(broker)
            with contextlib.suppress(ArchiverError):
                store.tidy(TIDY_AFTER_S, dead=lambda owner: owner not in live)
    finally:
        broker.close()


def list_jobs(broker_url: str, *, failed_only: bool = False) -> list[dict[str, Any]]:
    broker = make_broker(broker_url, QueueSettings(), maintenance=False)
    try:
        records = JobBook(broker).all()
    finally:
        broker.close()
    return [r for r in records if not failed_only or r.get("status") == "failed"]
