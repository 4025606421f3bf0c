"""``archiver worker``: run capture jobs from the broker, publish each package to the store.

A job runs as an ordinary ``capture_url`` into a private scratch archive, with a
browser session kept per worker thread (recycled by count and memory like a local
batch). Its package is then put under ``captures/<job id>.wacz`` in the store (checked
after upload) and only then does the actor return, which is when Dramatiq acknowledges
the message. A job whose package is already in the store (its worker died after the
upload, before the acknowledgement) is answered from the store without capturing again.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dramatiq
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ..archive.index import Archive
from ..capture.pagemessage import hide_secrets
from ..capture.run import capture_url
from ..capture.session import MAX_BROWSER_RSS, RECYCLE_AFTER, BrowserSession
from ..errors import ArchiverError, UsageError
from ..storage import Store
from .engine import (
    POLL_MS,
    TIDY_AFTER_S,
    BrokerUnavailable,
    JobBook,
    QueueSettings,
    current_attempt,
    declare_actor,
    forget_worker,
    live_workers,
    make_broker,
    worker_beat,
)
from .ingest import describe_stored, job_key
from .jobopts import from_job_doc, secret_values

Event = Callable[[dict[str, Any]], None]


class _Runner:
    def __init__(
        self,
        store: Store,
        key: Ed25519PrivateKey,
        book: JobBook,
        settings: QueueSettings,
        scratch: Path,
        on_event: Event,
        recycle_after: int,
        max_rss: int,
    ) -> None:
        self.store = store
        self.key = key
        self.book = book
        self.settings = settings
        self.scratch = scratch
        self.archive = Archive(scratch / "archive")
        self.on_event = on_event
        self.recycle_after = recycle_after
        self.max_rss = max_rss
        self.name = f"{socket.gethostname()}:{os.getpid()}"
        self.owner = ""  # this process's broker id: names its uploads in progress
        self.live: Callable[[], set[str]] = set
        self._local = threading.local()
        self._sessions: list[BrowserSession] = []
        self._lock = threading.Lock()
        self._tidied = float("-inf")

    def session(self) -> BrowserSession:
        session: BrowserSession | None = getattr(self._local, "session", None)
        if session is None:
            session = BrowserSession(recycle_after=self.recycle_after, max_rss=self.max_rss)
            self._local.session = session
            with self._lock:
                self._sessions.append(session)
        return session

    def __call__(self, job_id: str, url: str, options_doc: dict[str, Any]) -> None:
        self.tidy()
        attempt = current_attempt()
        self.book.write(
            job_id, status="running", attempts=attempt, worker=self.name, started=time.time()
        )
        self.on_event({"job_id": job_id, "url": url, "status": "running", "attempt": attempt})
        try:
            result = self.run(job_id, url, options_doc)
        except Exception as exc:
            known = isinstance(exc, ArchiverError)
            error = str(exc) if known else f"internal error: {type(exc).__name__}: {exc}"
            error = hide_secrets(error, secret_values(options_doc))  # the record is public
            final = attempt >= self.settings.max_attempts or isinstance(exc, UsageError)
            status = "failed" if final else "retrying"
            if not known:
                self.session().restart()
            try:
                self.book.write(job_id, status=status, error=error)
            finally:
                self.on_event({"job_id": job_id, "url": url, "status": status, "error": error})
            raise
        self.book.write(job_id, status="done", error=None, result=result)
        self.on_event({"job_id": job_id, "url": url, "status": "done", "key": result["key"]})

    def tidy(self) -> None:
        """At most once a minute: remove uploads dead workers left in the store."""
        with self._lock:
            if time.monotonic() - self._tidied < 60:
                return
            self._tidied = time.monotonic()
        with contextlib.suppress(ArchiverError):
            live = self.live()
            self.store.tidy(TIDY_AFTER_S, dead=lambda owner: owner not in live)

    def run(self, job_id: str, url: str, options_doc: dict[str, Any]) -> dict[str, Any]:
        key = job_key(job_id)
        if self.store.stat(key) is not None:  # stored before a death: answer from the store
            return describe_stored(self.store, key, job_id, self.scratch)
        options = from_job_doc(options_doc, job_id)
        result = capture_url(
            url, archive=self.archive, key=self.key, options=options, session=self.session()
        )
        try:
            stored = self.store.put(key, result.path, owner=self.owner)
        finally:
            result.path.unlink(missing_ok=True)
        return {
            **result.to_json(),
            "path": None,
            "job_id": job_id,
            "store": self.store.url,
            "key": key,
            "size": stored.size,
            "sha256": stored.sha256,
        }

    def close(self) -> None:
        for session in self._sessions:
            # the process is ending: a browser that will not close dies with it
            with contextlib.suppress(Exception):
                session.close()


class _HideMessages(logging.Filter):
    """Dramatiq names a message in its log lines with its arguments, page options (cookie
    and header values) included: name it by actor and id only, and hide those values in
    the traceback logged with it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            secrets = [s for arg in record.args for s in _secrets(arg)]
            record.args = tuple(_named(arg) for arg in record.args)
            if secrets and record.exc_info:
                text = logging.Formatter().formatException(record.exc_info)
                record.exc_text = hide_secrets(text, secrets)  # used instead of exc_info
        return True


def _named(arg: object) -> object:
    if isinstance(arg, dramatiq.Message | dramatiq.MessageProxy):
        return f"{arg.actor_name}(job {arg.message_id})"
    return arg


def _secrets(arg: object) -> list[str]:
    if not isinstance(arg, dramatiq.Message | dramatiq.MessageProxy):
        return []
    args = tuple(arg.args)
    return secret_values(args[2]) if len(args) > 2 and isinstance(args[2], dict) else []


def _quiet_dramatiq() -> None:
    """Dramatiq's own log: errors only, on stderr, messages named without arguments."""
    log = logging.getLogger("dramatiq")
    log.setLevel(logging.ERROR)
    if not any(isinstance(f, _HideMessages) for h in log.handlers for f in h.filters):
        handler = logging.StreamHandler()
        handler.addFilter(_HideMessages())
        log.addHandler(handler)
    log.propagate = False


def run_worker(
    *,
    broker_url: str,
    store: Store,
    key: Ed25519PrivateKey,
    concurrency: int = 1,
    settings: QueueSettings | None = None,
    stop: threading.Event,
    on_event: Event | None = None,
    recycle_after: int = RECYCLE_AFTER,
    max_rss: int = MAX_BROWSER_RSS,
) -> None:
    """Run capture jobs ``concurrency`` at a time until ``stop`` is set."""
    settings = settings or QueueSettings()
    _quiet_dramatiq()
    broker = make_broker(broker_url, settings, maintenance=True)
    book = JobBook(broker)
    book.ping()
    scratch = Path(tempfile.mkdtemp(prefix="archiver-worker-"))
    runner = _Runner(
        store, key, book, settings, scratch, on_event or (lambda _e: None), recycle_after, max_rss
    )
    runner.owner = broker.broker_id
    runner.live = lambda: live_workers(broker)
    declare_actor(broker, settings, runner, throws=(UsageError,))
    worker = dramatiq.Worker(broker, worker_threads=concurrency, worker_timeout=POLL_MS)
    worker.queue_prefetch = concurrency  # one job per capture thread, none waiting
    worker.start()
    try:
        worker_beat(broker, settings)
        while not stop.wait(0.5):
            with contextlib.suppress(BrokerUnavailable):  # Dramatiq reconnects by itself
                worker_beat(broker, settings)
    finally:
        worker.stop(timeout=60_000)
        forget_worker(broker)
        runner.close()
        broker.close()
        shutil.rmtree(scratch, ignore_errors=True)
