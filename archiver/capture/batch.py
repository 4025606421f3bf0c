"""Capture many URLs with N workers, each keeping one browser running across its captures.

``capture_batch`` hands the URLs to ``workers`` threads. Each thread owns a
``browser.BrowserSession``: one Chromium launched on its first capture and kept for
the next ones (every capture still gets a fresh browser context, so no cookie, storage
or cache carries over), replaced after ``recycle_after`` captures or when its memory
grows past ``max_rss``. A capture is the ordinary ``run.capture_url`` with that
session, so a batch writes exactly the packages and index entries that one-shot
captures would.

Why threads, each with its own asyncio loop, and not processes: Playwright's objects
belong to the event loop that made them, so one loop per worker keeps each browser on
its own loop with no sharing; the time of a capture is spent waiting on Chromium (its
own processes) and on disk, so the GIL costs little; and threads share the signing key,
the archive and one stop flag, so Ctrl-C or SIGTERM reaches every worker at once
without a second signal protocol. The SQLite index is safe for concurrent writers.

Results come back in completion order through ``on_result``, always called from the
thread that called ``capture_batch``. Setting ``stop`` ends the batch cleanly: no new
capture starts, a running capture is cancelled at its next step (its work folder is
removed; no package, no index entry), finished captures stay as they are.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ..archive.index import Archive
from ..errors import ArchiverError, CaptureInterrupted
from .chromium import find_browser
from .run import CaptureOptions, CaptureResult, capture_url
from .session import MAX_BROWSER_RSS, RECYCLE_AFTER, BrowserSession

DEFAULT_WORKERS = 2
WAIT_S = 0.2  # how long the calling thread blocks at a time: signals are handled between waits


@dataclass(frozen=True)
class CaptureFailure:
    """A URL that could not be captured: the one line the user sees, and its exit code."""

    url: str
    error: str
    exit_code: int = 1
    interrupted: bool = False

    def to_json(self) -> dict[str, object]:
        return {"ok": False, "url": self.url, "error": self.error}


BatchItem = CaptureResult | CaptureFailure


@dataclass
class BatchSummary:
    """How a batch went: counts, and what each worker's browser cost."""

    total: int
    captured: int = 0
    failed: int = 0
    interrupted: int = 0  # captures stopped while running: nothing of them was kept
    browser_launches: int = 0
    peak_browser_rss: list[int] = field(default_factory=list)  # bytes, one per worker

    @property
    def not_started(self) -> int:
        return self.total - self.captured - self.failed - self.interrupted


@dataclass(frozen=True)
class _WorkerDone:
    launches: int
    peak_rss: int


def capture_batch(
    urls: Sequence[str],
    *,
    archive: Archive,
    key: Ed25519PrivateKey,
    options: CaptureOptions,
    workers: int = DEFAULT_WORKERS,
    on_result: Callable[[BatchItem], None] | None = None,
    on_step: Callable[[str, str], None] | None = None,
    stop: threading.Event | None = None,
    recycle_after: int = RECYCLE_AFTER,
    max_rss: int = MAX_BROWSER_RSS,
) -> BatchSummary:
    """Capture every URL, ``workers`` at a time; one URL failing does not stop the others.

    ``on_result`` gets each CaptureResult or CaptureFailure as it completes;
    ``on_step(url, step)`` the steps of running captures (from worker threads).
    Raises BrowserError before anything starts when no browser can be found.
    """
    find_browser()  # no browser at all: one error, not one per URL
    stop = threading.Event() if stop is None else stop
    todo: queue.SimpleQueue[str] = queue.SimpleQueue()
    for url in urls:
        todo.put(url)
    done: queue.SimpleQueue[BatchItem | _WorkerDone] = queue.SimpleQueue()
    count = max(1, min(workers, len(urls)))
    summary = BatchSummary(total=len(urls))
    threads = [
        threading.Thread(
            target=_work,
            name=f"capture-worker-{n}",
            args=(todo, done, stop),
            kwargs={
                "capture": _Capture(archive, key, options, on_step, stop),
                "recycle_after": recycle_after,
                "max_rss": max_rss,
            },
            daemon=True,
        )
        for n in range(1, count + 1)
    ]
    for thread in threads:
        thread.start()
    running = len(threads)
    try:
        while running:
            try:
                item = done.get(timeout=WAIT_S)
            except queue.Empty:
                continue
            if isinstance(item, _WorkerDone):
                running -= 1
                summary.browser_launches += item.launches
                summary.peak_browser_rss.append(item.peak_rss)
                continue
            if isinstance(item, CaptureResult):
                summary.captured += 1
            elif item.interrupted:
                summary.interrupted += 1
            else:
                summary.failed += 1
            if on_result is not None:
                on_result(item)
    finally:
        if running:  # leaving early (Ctrl-C again, a broken pipe): stop the workers
            stop.set()
        for thread in threads:
            thread.join()
    return summary


@dataclass(frozen=True)
class _Capture:
    """One capture as a worker runs it; every failure becomes a CaptureFailure."""

    archive: Archive
    key: Ed25519PrivateKey
    options: CaptureOptions
    on_step: Callable[[str, str], None] | None
    stop: threading.Event

    def __call__(self, url: str, session: BrowserSession) -> BatchItem:
        def step(name: str) -> None:
            if self.stop.is_set():  # between steps: before anything is written
                raise CaptureInterrupted(f"capture of {url} interrupted: nothing was kept")
            if self.on_step is not None:
                self.on_step(url, name)

        try:
            return capture_url(
                url,
                archive=self.archive,
                key=self.key,
                options=self.options,
                progress=step,
                session=session,
            )
        except Exception as err:  # one URL's failure must not end the batch
            if self.stop.is_set():  # whatever broke after a stop came from stopping
                message = f"capture of {url} interrupted: nothing was kept"
                return CaptureFailure(url, message, CaptureInterrupted.exit_code, True)
            if isinstance(err, ArchiverError):
                return CaptureFailure(url, str(err), err.exit_code)
            session.restart()  # an unexpected error: do not trust that browser any more
            return CaptureFailure(url, f"internal error: {type(err).__name__}: {err}", 3)


def _work(
    todo: queue.SimpleQueue[str],
    done: queue.SimpleQueue[BatchItem | _WorkerDone],
    stop: threading.Event,
    *,
    capture: _Capture,
    recycle_after: int,
    max_rss: int,
) -> None:
    session = BrowserSession(recycle_after=recycle_after, max_rss=max_rss, stop=stop)
    try:
        while not stop.is_set():
            try:
                url = todo.get_nowait()
            except queue.Empty:
                break
            done.put(capture(url, session))
    finally:
        try:
            session.close()
        finally:
            done.put(_WorkerDone(session.launches, session.peak_rss))
