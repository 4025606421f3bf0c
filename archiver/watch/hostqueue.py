"""The order of a pass's checks: one check at a time per host, with a delay between
the checks of one host."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from urllib.parse import urlsplit

from ..archive.watchlist import Watch


def _host(url: str) -> str:
    parts = urlsplit(url)
    return f"{(parts.hostname or '').lower()}:{parts.port or ''}"


class HostQueue:
    """Hands due watches to workers: one check at a time per host, ``delay`` seconds
    between the end of one check of a host and the start of the next."""

    def __init__(
        self,
        watches: list[Watch],
        *,
        delay: float,
        monotonic: Callable[[], float],
        stop: threading.Event,
    ) -> None:
        self._queues: dict[str, deque[Watch]] = {}
        for watch in watches:
            self._queues.setdefault(_host(watch.url), deque()).append(watch)
        self._ready: dict[str, float] = dict.fromkeys(self._queues, 0.0)
        self._busy: set[str] = set()
        self._delay = delay
        self._clock = monotonic
        self._stop = stop
        self._cond = threading.Condition()

    @property
    def hosts(self) -> int:
        return len(self._queues)

    def take(self) -> Watch | None:
        """The next watch a worker may check now (waits for a host to be ready); None
        when every queue is empty or the run is stopping."""
        with self._cond:
            while not self._stop.is_set():
                idle = [h for h, q in self._queues.items() if q and h not in self._busy]
                if not idle:
                    if not self._busy:
                        return None
                    self._cond.wait(0.5)
                    continue
                host = min(idle, key=lambda h: self._ready[h])
                wait = self._ready[host] - self._clock()
                if wait > 0:
                    self._cond.wait(min(wait, 0.5))
                    continue
                self._busy.add(host)
                return self._queues[host].popleft()
            return None

    def done(self, watch: Watch) -> None:
        with self._cond:
            host = _host(watch.url)
            self._busy.discard(host)
            self._ready[host] = self._clock() + self._delay
            self._cond.notify_all()
