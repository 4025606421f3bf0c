"""Captures asked for through the app: queued, run one at a time in a background thread.

Each job keeps the progress lines ``capture_url`` reports, so the capture-now page can
show them live (``GET /api/jobs/{id}``) until the new capture's page opens.
"""

from __future__ import annotations

import queue
import secrets
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..archive.index import Archive
from ..capture import CaptureOptions, capture_url
from ..capture.pageopts import PageSetup
from ..errors import ArchiverError
from ..times import iso_utc, now_utc
from ..urls import validate_url

MAX_JOBS = 200  # finished jobs kept for their pages; the oldest go first
MAX_WAITING = 20  # captures queued or running at once; more is refused (HTTP 429)


class Busy(ArchiverError):
    """Too many captures are waiting already (HTTP 429)."""


@dataclass
class Job:
    id: str
    url: str
    created: str
    state: str = "queued"  # queued, running, done, failed
    steps: list[str] = field(default_factory=list)
    capture_id: str | None = None
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    page: PageSetup = field(default_factory=PageSetup)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "url": self.url,
            "created": self.created,
            "state": self.state,
            "steps": list(self.steps),
            "capture_id": self.capture_id,
            "error": self.error,
            "warnings": list(self.warnings),
            "options": self.page.record(),
        }


class CaptureQueue:
    """Runs the app's captures in order on one worker thread."""

    def __init__(self, archive_root: Path, key: Any, options: CaptureOptions) -> None:
        self.archive_root = archive_root
        self.key = key
        self.options = options
        self.jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._queue: queue.Queue[Job | None] = queue.Queue()
        self._thread: threading.Thread | None = None

    @property
    def enabled(self) -> bool:
        return self.key is not None

    def submit(self, url: str, page: PageSetup | None = None) -> Job:
        """Queue a capture of ``url`` (with ``page``'s options); UsageError for a URL that
        can never be captured, CaptureError for one the network policy refuses (checked
        before queueing)."""
        url = validate_url(url)
        policy = self.options.network_policy
        if policy is not None:
            policy.check_url(url)
        job = Job(secrets.token_hex(8), url, iso_utc(now_utc()), page=page or PageSetup())
        with self._lock:
            waiting = sum(j.state in ("queued", "running") for j in self.jobs.values())
            if waiting >= MAX_WAITING:
                raise Busy(f"{waiting} captures are waiting already: try again in a minute")
            self.jobs[job.id] = job
            while len(self.jobs) > MAX_JOBS:
                oldest = next(iter(self.jobs))
                if self.jobs[oldest].state in ("queued", "running"):
                    break
                del self.jobs[oldest]
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._work, name="captures", daemon=True)
                self._thread.start()
        self._queue.put(job)
        return job

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            job = self.jobs.get(job_id)
            return replace(job, steps=list(job.steps)) if job else None

    def stop(self) -> None:
        self._queue.put(None)

    def _work(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            self._run(job)

    def _run(self, job: Job) -> None:
        def progress(step: str) -> None:
            with self._lock:
                job.steps.append(step)

        with self._lock:
            job.state = "running"
        try:
            result = capture_url(
                job.url,
                archive=Archive(self.archive_root),
                key=self.key,
                options=replace(self.options, page=job.page),
                progress=progress,
            )
        except ArchiverError as exc:
            with self._lock:
                job.state, job.error = "failed", str(exc)
            return
        except Exception as exc:  # a bug must not kill the worker: the job says what
            with self._lock:
                job.state, job.error = "failed", f"internal error: {type(exc).__name__}: {exc}"
            return
        with self._lock:
            job.state, job.capture_id = "done", result.id
            job.warnings = list(result.warnings)
