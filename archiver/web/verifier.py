"""Verify reports for the app: run in the background, cached by package sha256.

A page never waits for a verification and never repeats one whose inputs (the package
bytes, the trust anchors) have not changed: the report is kept in the archive's
``verify_cache`` table (``archive.custody``). ``runs`` counts real verifications.
"""

from __future__ import annotations

import hashlib
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..archive.custody import Custody
from ..package import sha256_file
from ..verify import verify_package


@dataclass(frozen=True)
class Verdict:
    """What a page shows for one package: a report, or that one is on its way."""

    state: str  # "done", "queued", "missing"
    report: dict[str, Any] | None = None

    @property
    def badge(self) -> str:
        return badge(self.report) if self.report is not None else self.state

    def to_json(self) -> dict[str, Any]:
        return {"state": self.state, "badge": self.badge, "report": self.report}


def badge(report: dict[str, Any]) -> str:
    """passed / failed / trust not established, from a verify report document."""
    if report.get("integrity") != "passed" or report.get("trust") == "failed":
        return "failed"
    if report.get("trust") == "established":
        return "passed"
    return "trust not established"


def stat_key(path: Path) -> str | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return f"{path.name}:{st.st_size}:{st.st_mtime_ns}:{st.st_ino}"


class Verifier:
    """Background verification with a persistent cache; one worker thread by default."""

    def __init__(
        self, custody: Custody, *, trusted_keys_file: Path | None = None, workers: int = 1
    ) -> None:
        self.custody = custody
        self.trusted_keys_file = trusted_keys_file
        self.anchors = _anchors_digest(trusted_keys_file)
        self.runs = 0
        self._lock = threading.Lock()
        self._pending: dict[Path, Future[dict[str, Any]]] = {}
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="verify")

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    # --- looking up -------------------------------------------------------------------
    def many(self, paths: dict[str, Path]) -> dict[str, Verdict]:
        """Verdicts of several packages (by capture id) without hashing any of them;
        those with no cached report are queued."""
        stats = {cid: stat_key(p) for cid, p in paths.items()}
        cached = self.custody.cached_by_stat([s for s in stats.values() if s], self.anchors)
        out: dict[str, Verdict] = {}
        for cid, path in paths.items():
            key = stats[cid]
            if key is None:
                out[cid] = Verdict("missing")
            elif key in cached:
                out[cid] = Verdict("done", cached[key])
            else:
                out[cid] = self._queue(cid, path)
        return out

    def one(self, capture_id: str, path: Path) -> Verdict:
        """The verdict of one package, looked up by its sha256 (hashed now); queued when
        there is no report for these exact bytes yet."""
        key = stat_key(path)
        if key is None:
            return Verdict("missing")
        with self._lock:
            if path in self._pending:
                return Verdict("queued")
        sha = sha256_file(path)[0].removeprefix("sha256:")
        found = self.custody.cached_report(sha, self.anchors)
        if found is not None:
            report, stored_stat = found
            if stored_stat != key:  # same bytes, touched or copied: find it by stat again
                self.custody.store_report(sha, self.anchors, key, report)
            return Verdict("done", report)
        return self._queue(capture_id, path)

    def settled(self, capture_id: str, path: Path, timeout: float = 120.0) -> Verdict:
        """As ``one``, but waits (up to ``timeout``) for a verification it had to start:
        for pages whose evidence must say what the signature check found (diffs)."""
        verdict = self.one(capture_id, path)
        if verdict.state != "queued":
            return verdict
        with self._lock:
            future = self._pending.get(path)
        if future is not None:
            try:
                future.result(timeout=timeout)
            except Exception:
                return verdict
        return self.one(capture_id, path)

    def rerun(self, capture_id: str, path: Path) -> Verdict:
        """Verify again now (in the background), whatever the cache says."""
        if stat_key(path) is None:
            return Verdict("missing")
        return self._queue(capture_id, path)

    # --- running ----------------------------------------------------------------------
    def _queue(self, capture_id: str, path: Path) -> Verdict:
        with self._lock:
            if path not in self._pending:
                future = self._pool.submit(self.run, capture_id, path)
                self._pending[path] = future
                future.add_done_callback(lambda _f: self._done(path))
        return Verdict("queued")

    def _done(self, path: Path) -> None:
        with self._lock:
            self._pending.pop(path, None)

    def wait(self, timeout: float | None = None) -> None:
        """Wait for every queued verification (tests and the bench)."""
        with self._lock:
            futures = list(self._pending.values())
        for future in futures:
            future.result(timeout=timeout)

    def run(self, capture_id: str, path: Path) -> dict[str, Any]:
        """Verify ``path`` now, cache the report and record the custody event."""
        key = stat_key(path) or ""
        sha = sha256_file(path)[0].removeprefix("sha256:")
        report = verify_package(path, trusted_keys_file=self.trusted_keys_file)
        with self._lock:
            self.runs += 1
        doc = report.to_json()
        self.custody.store_report(sha, self.anchors, key, doc)
        self.custody.record(
            capture_id,
            "verified",
            f"verify: integrity {doc['integrity']}, trust {doc['trust']} (archiver serve)",
            sha256=sha,
        )
        return doc


def _anchors_digest(trusted_keys_file: Path | None) -> str:
    """Which trust anchors reports were made with: a digest of the trusted-keys file."""
    if trusted_keys_file is None:
        return "none"
    try:
        data = trusted_keys_file.read_bytes()
    except OSError:
        return "unreadable"
    return hashlib.sha256(data).hexdigest()[:16]
