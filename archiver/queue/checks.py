"""``watch run --broker``: each watch check's capture runs on a worker.

The watcher's pass is unchanged (schedule, one check at a time per host, judging,
keeping or logging, events); only the capture goes to the workers. ``BrokerChecks`` is
the pass's capture function: it sends the check as a job, waits for its result, and
brings the package from the store into the check's scratch archive (streamed, its size,
sha256 and job id checked, like any ingest). Once the watcher has recorded the check,
``BrokerCheck.settle`` removes the store's copy of a package it did not keep, so the
store holds the same captures as the archive.

A check's job id comes from the URL, the options and the watch's state before the
check (its last check and next due time): a ``watch run`` killed while it waited sends
nothing twice; run again, it waits for the same job, or takes its package from the
store. A completed check changes that state, so the next check is a new job.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..archive.index import Archive
from ..archive.watchlist import WatchList
from ..capture.pageopts import PageSetup
from ..capture.run import CaptureOptions
from ..errors import ArchiverError, CaptureError, ServiceUnavailable
from ..storage import Store
from .coordinator import submit
from .engine import JobBook, QueueSettings, check_broker_url, live_workers, make_broker
from .ingest import ingest_job, job_key
from .jobopts import public_doc, to_job_doc

LIVENESS_EVERY_S = 5.0  # how often a waiting check looks for a live worker
WORKER_GRACE_S = 10.0  # how long a run waits with no live worker before giving up


@dataclass
class BrokerCheck:
    """What a check's capture produced, as the watcher reads it (id, path, warnings)."""

    id: str
    path: Path
    job_id: str
    store: Store
    warnings: list[str] = field(default_factory=list)

    def settle(self, kept: bool) -> None:
        """The check is recorded: drop the store's copy of a package not kept."""
        if not kept:
            with contextlib.suppress(ArchiverError):
                self.store.delete(job_key(self.job_id))


class BrokerChecks:
    """A watch pass's capture function that sends each capture to the workers."""

    def __init__(
        self,
        broker_url: str,
        store: Store,
        archive: Archive,
        capture_options: Callable[[PageSetup], CaptureOptions],
        *,
        settings: QueueSettings | None = None,
        poll_s: float = 0.5,
    ) -> None:
        self.broker_url = check_broker_url(broker_url)
        self.store = store
        self.watches = WatchList(archive)
        self.capture_options = capture_options
        self.settings = settings or QueueSettings()
        self.poll_s = poll_s
        self._broker: Any = None
        self._lock = threading.Lock()

    def _book(self) -> JobBook:
        with self._lock:
            if self._broker is None:
                self._broker = make_broker(self.broker_url, self.settings, maintenance=False)
            return JobBook(self._broker)

    def close(self) -> None:
        with self._lock:
            if self._broker is not None:
                self._broker.close()
                self._broker = None

    def check_workers(self, grace_s: float = WORKER_GRACE_S) -> None:
        """ServiceUnavailable unless a worker is alive within ``grace_s`` seconds (before
        a pass sends anything; a worker started at the same time gets to beat first)."""
        book = self._book()
        book.ping()
        deadline = time.monotonic() + grace_s
        while not live_workers(self._broker):
            if time.monotonic() >= deadline:
                raise ServiceUnavailable(
                    f"no archiver worker is running on {self.broker_url}: start one with "
                    "'archiver worker --broker URL --storage STORE'"
                )
            time.sleep(self.poll_s)

    def job_id(self, url: str, doc: dict[str, Any]) -> str:
        watch = self.watches.get(url)
        state = [watch.last_check, watch.next_due.isoformat()] if watch is not None else []
        named_by = public_doc(doc)  # the options as recorded: secret values only hashed
        text = json.dumps(["watch-check", url, named_by, state], sort_keys=True)
        return "job-" + hashlib.sha256(text.encode()).hexdigest()[:24]

    def __call__(self, url: str, scratch: Archive, page: PageSetup) -> BrokerCheck:
        doc = to_job_doc(self.capture_options(page))
        job_id = self.job_id(url, doc)
        sent = submit(
            self.broker_url, self.store, [url], doc, ids=[job_id], settings=self.settings
        )[0]
        # stored: done before a killed run of this command could take it in; reuse it
        stored = sent.state == "stored"
        record = (sent.record or {"status": "done"}) if stored else self._wait(job_id)
        if record.get("status") == "failed":
            raise CaptureError(f"{record.get('error') or 'failed'} (job {job_id})")
        result = record.get("result") or {}
        expected = (int(result["size"]), str(result["sha256"])) if "size" in result else None
        got = ingest_job(scratch, self.store, job_id, expected)
        warnings = [str(w) for w in result.get("warnings", [])]
        return BrokerCheck(got.entry.id, got.path, job_id, self.store, warnings)

    def _wait(self, job_id: str) -> dict[str, Any]:
        """The job's record once it is done or failed; ServiceUnavailable when no worker
        has counted as alive (each for its own redelivery bound after its last beat) for
        ``WORKER_GRACE_S``."""
        book = self._book()
        alone_since: float | None = None
        checked = float("-inf")
        while True:
            record = book.read(job_id)
            if record is not None and record.get("status") in ("done", "failed"):
                return record
            now = time.monotonic()
            if now - checked >= LIVENESS_EVERY_S:
                checked = now
                if live_workers(self._broker):
                    alone_since = None
                elif alone_since is None:
                    alone_since = now
                elif now - alone_since > WORKER_GRACE_S:
                    raise ServiceUnavailable(
                        f"no archiver worker has been alive on {self.broker_url} for "
                        f"{now - alone_since:.0f} s; job {job_id} stays queued"
                    )
            time.sleep(self.poll_s)
