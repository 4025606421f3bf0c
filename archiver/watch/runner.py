"""One ``watch run`` pass: check every due URL, keep or log each result, emit events.

A pass: recover what a crash left (a package moved but not indexed, scratch folders,
feeds behind the index) -> pick the due watches -> check them with N workers, one
request at a time per host and at least ``host_delay`` seconds between the end of one
check of a host and the start of the next -> timestamp the check log's head (one batch)
-> deliver webhooks.

A check captures into a scratch archive in ``<archive>/.watch-scratch/``; then either
the package is moved into ``captures/`` and indexed (first capture, the article text,
headline, byline or status changed, or ``keep_all``), or an entry goes into the check
log and the package is deleted. The index row, the events and their webhook deliveries
are written in one transaction; only then are events printed, put in the feeds and
POSTed, so a crash never loses or doubles one.

``capture`` is any ``(url, scratch archive, page setup) -> CaptureResult`` function
(default ``archiver.capture.capture_url`` with the run's options; ``watch run --broker``
sends the check to the workers instead): another engine can replace it without touching
the pass. The page setup is the watch's own capture options.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ..archive import Archive, read_text_document, scan_package
from ..archive.watchlist import CheckRecord, Watch, WatchList
from ..capture.pageopts import PageSetup
from ..errors import (
    ArchiveError,
    ArchiverError,
    BrowserError,
    CaptureError,
    PackageError,
    ServiceUnavailable,
)
from ..times import iso_utc, now_utc
from . import feeds, schedule
from .checklog import CheckLog, Head
from .events import Observation, Verdict, build_event, judge
from .hostqueue import HostQueue as HostQueue
from .options import PassResult as PassResult
from .options import RunOptions as RunOptions
from .pageoptions import watch_setup
from .publish import Publisher
from .runlock import run_lock as run_lock

SCRATCH = ".watch-scratch"
REPORTS = "reports"

Clock = Callable[[], datetime]
CaptureFn = Callable[[str, Archive, PageSetup], Any]  # returns a capture.CaptureResult
EventSink = Callable[[dict[str, Any]], None]


class Watcher(Publisher):
    """Runs passes over one archive's watch list."""

    def __init__(
        self,
        archive: Archive,
        key: Ed25519PrivateKey,
        options: RunOptions,
        *,
        clock: Clock = now_utc,
        capture: CaptureFn | None = None,
        on_event: EventSink | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.archive = archive
        self.store = WatchList(archive)
        self.log = CheckLog(archive.root)
        self.key = key
        self.options = options
        self.clock = clock
        self.capture = capture or self._default_capture
        self.on_event = on_event or (lambda _doc: None)
        self.monotonic = monotonic
        self.scratch_root = archive.root / SCRATCH
        self._feed_lock = threading.Lock()
        self._profile_lock = threading.Lock()

    def _default_capture(self, url: str, scratch: Archive, page: PageSetup) -> Any:
        from ..capture import capture_url

        options = self.options.capture_options(page)
        if page.profile is None:
            return capture_url(url, archive=scratch, key=self.key, options=options)
        with self._profile_lock:  # one Chromium at a time may open a profile folder
            return capture_url(url, archive=scratch, key=self.key, options=options)

    def page_setup(self, watch: Watch) -> PageSetup:
        """The capture options a check of ``watch`` runs with: its stored page options,
        files read afresh (a UsageError, the check's error, when one cannot be read)."""
        return watch_setup(watch.options)

    # --- recovery ---------------------------------------------------------------------
    def recover(self) -> list[str]:
        """Undo what a killed run left (call with the run lock held); returns notes."""
        notes: list[str] = []
        if self.scratch_root.exists():
            for child in self.scratch_root.iterdir():
                shutil.rmtree(child, ignore_errors=True)
        for capture_id, url in self.store.pending():
            path = self.archive.package_path(capture_id)
            entry = None
            if path.is_file():
                try:
                    entry = scan_package(path)
                    notes.append(f"indexed {capture_id} of {url}, left unindexed by a crash")
                except PackageError as exc:
                    notes.append(f"{path} is unreadable after a crash: {exc}")
            self.store.clear_pending(capture_id, entry)
        self._update_feeds(self.store.urls_with_events_since(self._feeds_seq()))
        return notes

    # --- one pass ---------------------------------------------------------------------
    def run_pass(self, stop: threading.Event | None = None) -> PassResult:
        stop = stop or threading.Event()
        result = PassResult()
        due = self.store.due(self.clock(), everything=self.options.everything)
        if due:
            self._check_all(due, stop, result)
        self._timestamp_log(result)
        return result

    def _check_all(self, due: list[Watch], stop: threading.Event, result: PassResult) -> None:
        self.scratch_root.mkdir(exist_ok=True)
        queue = HostQueue(due, delay=self.options.host_delay, monotonic=self.monotonic, stop=stop)
        lock = threading.Lock()
        fatal: list[BaseException] = []

        def work() -> None:
            while not fatal and (watch := queue.take()) is not None:
                try:
                    self._check(watch, result, lock)
                except (BrowserError, ServiceUnavailable) as exc:  # every check would fail
                    fatal.append(exc)
                    stop.set()
                except Exception as exc:  # a bug in one check must not stop the others
                    self.store.record(
                        self._failure(watch, self.clock(), f"internal error: {exc!r}")
                    )
                    with lock:
                        result.errors.append(f"{watch.url}: internal error: {exc!r}")
                finally:
                    queue.done(watch)

        workers = max(1, min(self.options.workers, queue.hosts))
        threads = [threading.Thread(target=work, name=f"watch-{i}") for i in range(workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if fatal:
            raise fatal[0]

    def _check(self, watch: Watch, result: PassResult, lock: threading.Lock) -> None:
        now = self.clock()
        work = Path(tempfile.mkdtemp(prefix="check-", dir=self.scratch_root))
        captured: Any = None
        try:
            obs, captured, entry = self._observe(watch, work, now)
            package = Path(captured.path) if captured is not None else None
            with lock:
                result.checked += 1
            verdict = self._judge(watch, obs)
            record, events = self._apply(watch, obs, verdict, package, entry, now)
        except (BrowserError, ServiceUnavailable):  # not this URL's fault: stop the pass
            raise
        except ArchiverError as exc:  # a check that failed for another reason than the page
            record, events = self._failure(watch, now, f"{exc}"), []
            with lock:
                result.errors.append(f"{watch.url}: {exc}")
        finally:
            shutil.rmtree(work, ignore_errors=True)
        self.store.record(record)
        settle = getattr(captured, "settle", None)  # an engine's copy of the package
        if settle is not None:
            settle(record.capture is not None)
        with lock:
            if record.capture is not None:
                result.kept += 1
            if record.failures:
                result.failed += 1
            result.events.extend(events)
        if events:
            self._update_feeds([watch.url])
            for doc in events:
                self.on_event(doc)

    def _observe(self, watch: Watch, work: Path, now: datetime) -> tuple[Observation, Any, Any]:
        """What the check saw, the capture function's result (None when it failed) and
        the package's index entry."""
        from .observe import observe

        scratch = Archive(work)
        try:
            captured = self.capture(watch.url, scratch, self.page_setup(watch))
        except CaptureError as exc:
            return (
                Observation(url=watch.url, time=iso_utc(now, micro=True), error=str(exc)),
                None,
                None,
            )
        entry = scratch.get(captured.id)
        return (
            observe(watch.url, Path(captured.path), entry, list(captured.warnings)),
            captured,
            entry,
        )

    def _judge(self, watch: Watch, obs: Observation) -> Verdict:
        kept_status = None
        if watch.kept_id:
            with contextlib.suppress(ArchiverError):
                kept_status = self.archive.get(watch.kept_id).status
        previous = None
        if watch.available_id:
            path = self.archive.package_path(watch.available_id)
            if path.is_file():
                previous = read_text_document(path)
        return judge(
            obs,
            state=watch.state,
            kept_status=kept_status,
            previous_doc=previous,
            ignore=watch.ignore,
            keep_all=self.options.keep_all,
        )

    def _failure(self, watch: Watch, now: datetime, error: str) -> CheckRecord:
        failures = watch.failures + 1
        return CheckRecord(
            url=watch.url,
            check_time=iso_utc(now),
            next_due=schedule.next_check(
                url=watch.url, added=watch.added, now=now, every=watch.every, failures=failures
            ),
            failures=failures,
            last_error=error,
        )

    def _apply(
        self,
        watch: Watch,
        obs: Observation,
        verdict: Verdict,
        package: Path | None,
        entry: Any,
        now: datetime,
    ) -> tuple[CheckRecord, list[dict[str, Any]]]:
        failures = watch.failures + 1 if verdict.failed else 0
        record = CheckRecord(
            url=watch.url,
            check_time=iso_utc(now),
            next_due=schedule.next_check(
                url=watch.url, added=watch.added, now=now, every=watch.every, failures=failures
            ),
            failures=failures,
            last_error=verdict.reason,
            state=verdict.state,
            webhooks=self.options.webhooks,
        )
        seen = dict(watch.seen or {})
        this_check: dict[str, Any]
        if package is None:  # unreachable: nothing to keep or log
            this_check = {"time": obs.time, "source": "failed-check"}
        elif verdict.keep:
            this_check = self._keep(watch, package, entry, record)
        else:
            head = self._log(watch, obs)
            this_check = {
                "time": obs.time,
                "source": "check-log",
                "log_entry": head.n,
                "entry_sha256": head.sha256,
            }
        if package is not None:
            seen["last"] = this_check
            if verdict.state == "available":
                seen["available"] = this_check
            record.seen = seen
        record.events = self._events(watch, obs, verdict, this_check, record)
        record.changed = bool(record.events)
        return record, record.events

    def _keep(self, watch: Watch, package: Path, entry: Any, record: CheckRecord) -> dict[str, Any]:
        dest = self.archive.package_path(entry.id)
        if dest.exists():
            raise ArchiveError(f"capture {entry.id} already exists in {self.archive.root}")
        self.store.begin_keep(entry.id, watch.url)
        os.replace(package, dest)
        record.capture = entry
        record.pending_id = entry.id
        record.kept_id = entry.id
        if record.state == "available":
            record.available_id = entry.id
        return {"time": entry.started, "source": "capture", "capture_id": entry.id}

    def _log(self, watch: Watch, obs: Observation) -> Head:
        return self.log.append(
            self.key,
            {
                "time": obs.time,
                "url": watch.url,
                "final_url": obs.final_url or watch.url,
                "status": obs.status or 0,
                "body_sha256": obs.body_sha256,
                "text_sha256": obs.text_sha256,
                "matches": watch.kept_id or "",
            },
        )

    def _events(
        self,
        watch: Watch,
        obs: Observation,
        verdict: Verdict,
        this_check: dict[str, Any],
        record: CheckRecord,
    ) -> list[dict[str, Any]]:
        if not verdict.kinds:
            return []
        base_id = watch.available_id or watch.kept_id
        before = None
        if base_id:
            with contextlib.suppress(ArchiverError):
                from .observe import capture_facts

                before = capture_facts(self.archive.get(base_id))
        report = None
        if before is not None and record.capture is not None:
            report = self._write_report(watch, base_id or "", record.capture.id)
        seen = watch.seen or {}
        docs = []
        for kind in verdict.kinds:
            last_old = seen.get("last") if kind == "restored" else seen.get("available")
            interval = (
                {"last_old": last_old, "first_new": this_check}
                if last_old and kind != "first"
                else None
            )
            docs.append(
                build_event(
                    kind,
                    obs,
                    before=before if kind != "first" else None,
                    reason=verdict.reason,
                    diff=verdict.diff,
                    report=report if kind != "first" else None,
                    interval=interval,
                )
            )
        return docs

    def _write_report(self, watch: Watch, before_id: str, after_id: str) -> str | None:
        from ..archive import diff_paths
        from ..diff import render_html

        report = diff_paths(
            self.archive.package_path(before_id),
            self.archive.package_path(after_id),
            ignore=watch.ignore,
        )
        name = f"{REPORTS}/{after_id}.html"
        path = self.archive.root / name
        path.parent.mkdir(exist_ok=True)
        feeds.write_feed(path, render_html(report).encode("utf-8"))
        return name

    def run_forever(
        self,
        stop: threading.Event,
        on_pass: Callable[[PassResult], None],
        *,
        poll: float = 30.0,
    ) -> None:
        """Passes until ``stop`` is set; webhooks are delivered by one background thread
        per receiver, so a slow receiver never holds up a pass or another receiver."""
        wake = threading.Event()
        senders = [
            threading.Thread(target=self._sender, args=(hook, stop, wake), daemon=True)
            for hook in self.options.webhooks
        ]
        for sender in senders:
            sender.start()
        while not stop.is_set():
            result = self.run_pass(stop)
            # --now means "check everything now", once: later passes follow the schedule
            self.options = dataclasses.replace(self.options, everything=False)
            on_pass(result)
            if result.events:
                wake.set()
            upcoming = self.store.next_due()
            wait = poll
            if upcoming is not None:
                wait = min(poll, max(0.2, (upcoming - self.clock()).total_seconds()))
            stop.wait(wait)
        wake.set()
        for sender in senders:
            sender.join(timeout=self.options.webhook_policy.timeout + 1)
