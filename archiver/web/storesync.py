"""``serve --storage``: a background thread takes the store's new packages into the
archive, on start and every ``every`` seconds, so captures made by workers appear in the
archive page, the timelines and the diff pages.

The work is ``archiver.archive.sync_store`` (the same checks as the coordinator's
ingest). An object that cannot be taken in is reported once and skipped for the life of
the app (restart it to try again); a store that cannot be reached is reported when the
reason changes. Nothing a sync meets stops the app.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..archive import Archive, sync_store
from ..storage import Store
from ..times import iso_utc, now_utc

MAX_SHOWN = 50  # skipped objects the status lists (all are remembered)


def warn_stderr(message: str) -> None:
    print(f"archiver: warning: {message}", file=sys.stderr, flush=True)


class StoreFollower:
    """Keeps the archive up to date with a store; ``status`` says how it went."""

    def __init__(
        self,
        archive_root: Path,
        store: Store,
        every: float,
        warn: Callable[[str], None] = warn_stderr,
    ) -> None:
        self.archive_root = archive_root
        self.store = store
        self.every = every
        self.warn = warn
        self.synced_at: str | None = None
        self.taken_in = 0
        self.error: str | None = None
        self.bad: dict[str, str] = {}  # key -> why it was not taken in
        self._lock = threading.Lock()  # guards the fields above
        self._pass = threading.Lock()  # one pass at a time
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="store-sync", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.sync_now()
            self._stop.wait(self.every)

    def sync_now(self) -> int:
        """One pass; returns how many captures it indexed."""
        with self._pass:
            with self._lock:
                skip = set(self.bad)
            try:
                result = sync_store(Archive(self.archive_root), self.store, skip=skip)
            except Exception as exc:  # the store or the archive: say it, keep serving
                reason = str(exc) or type(exc).__name__
                with self._lock:
                    changed, self.error = reason != self.error, reason
                if changed:
                    self.warn(f"cannot take in packages from {self.store.url}: {reason}")
                return 0
            with self._lock:
                self.error = None
                self.bad.update(result.skipped)
                self.taken_in += len(result.added)
                self.synced_at = iso_utc(now_utc())
            for key, reason in result.skipped:  # the reason names the object, mostly
                named = reason if key in reason else f"{self.store.url}: {key}: {reason}"
                self.warn(f"not taken in: {named}")
            return len(result.added)

    def status(self) -> dict[str, Any]:
        """The ``store`` part of the archive page's document."""
        with self._lock:
            skipped = [{"key": k, "reason": r} for k, r in sorted(self.bad.items())]
            return {
                "url": self.store.url,
                "every_s": self.every,
                "synced_at": self.synced_at,
                "taken_in": self.taken_in,
                "error": self.error,
                "skipped_total": len(skipped),
                "skipped": skipped[:MAX_SHOWN],
            }
