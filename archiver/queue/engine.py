"""The task engine (Dramatiq over Redis): the broker, the capture actor, the job records.

Why Dramatiq and not Celery: its Redis broker acknowledges a message only when the actor
returns, and requeues the unacknowledged messages of a worker whose heartbeat stopped
after ``heartbeat_timeout`` (seconds, not Celery's one-hour visibility timeout over
Redis); prefetch is a plain number; retries with backoff and a dead-letter queue are
built in. Every other module talks to the queue through this package's functions.

Redelivery bound: a live worker process beats every ``POLL_MS`` (its delay-queue
consumer polls even while every capture thread is busy) and, on every poll, looks for
workers whose last beat is older than ``redeliver_after`` seconds; their jobs go back on
the queue. A job of a killed worker therefore runs again within ``redeliver_after`` plus
about a second, provided one worker is alive. Default 60 s.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import dramatiq
import redis
from dramatiq.brokers.redis import MAINTENANCE_SCALE, RedisBroker
from dramatiq.middleware import CurrentMessage

from ..errors import ServiceUnavailable, UsageError

QUEUE = "archiver-captures"
ACTOR = "archiver_capture"
REDELIVER_AFTER_S = 60.0
MAX_ATTEMPTS = 3
POLL_MS = 250  # idle workers poll (and beat) this often: enqueue-to-start latency
JOB_KEY = "archiver:job:"
# An upload left in the store's .incoming/ this long belongs to a dead worker (a live
# one publishes a package in seconds), as does one whose owner has no recent heartbeat.
TIDY_AFTER_S = 600.0
JOB_LIST = "archiver:jobs"
WORKERS = "archiver:workers"  # worker process id -> alive until (ms since the epoch)


class BrokerUnavailable(ServiceUnavailable):
    """The broker cannot be reached (exit 1)."""


@dataclass(frozen=True)
class QueueSettings:
    redeliver_after: float = REDELIVER_AFTER_S  # seconds without a heartbeat: worker dead
    max_attempts: int = MAX_ATTEMPTS  # a job failing this many times is parked as failed
    min_backoff: float = 1.0  # seconds before the first retry (doubling up to max_backoff)
    max_backoff: float = 60.0


def check_broker_url(url: str) -> str:
    """``url`` if it names a Redis broker, else bad usage (exit 2) before anything runs."""
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise UsageError(f"broker {url}: use redis://HOST:PORT/DB")
    return url


def make_broker(url: str, settings: QueueSettings, *, maintenance: bool) -> RedisBroker:
    """A broker on ``url``; only workers (``maintenance``) requeue dead workers' jobs."""
    check_broker_url(url)
    broker = RedisBroker(  # type: ignore[no-untyped-call]
        url=url,
        heartbeat_timeout=int(settings.redeliver_after * 1000),
        maintenance_chance=MAINTENANCE_SCALE if maintenance else 0,
        socket_timeout=10,
        socket_connect_timeout=5,
        # A failed job's message (page options: cookie and header values) is not kept in
        # the dead-letter set: the next worker poll deletes it; the job book keeps the error.
        dead_message_ttl=0,
    )
    broker.add_middleware(CurrentMessage())
    return broker


def declare_actor(
    broker: RedisBroker, settings: QueueSettings, fn: Callable[..., Any], throws: tuple[type, ...]
) -> Any:
    decorate = dramatiq.actor(
        actor_name=ACTOR,
        queue_name=QUEUE,
        broker=broker,
        max_retries=settings.max_attempts - 1,
        min_backoff=int(settings.min_backoff * 1000),
        max_backoff=int(settings.max_backoff * 1000),
        throws=throws,
        time_limit=15 * 60 * 1000,
    )
    return decorate(fn)


def send_job(broker: RedisBroker, job_id: str, url: str, options: dict[str, Any]) -> None:
    message: Any = dramatiq.Message(
        queue_name=QUEUE,
        actor_name=ACTOR,
        args=(job_id, url, options),
        kwargs={},
        options={},
        message_id=job_id,
    )
    broker.declare_queue(QUEUE)
    broker.enqueue(message)


def worker_beat(broker: RedisBroker, settings: QueueSettings) -> None:
    """A worker process is alive (called every half second by ``archiver worker``).

    Dramatiq's own heartbeat set also holds every process that only enqueued jobs, so
    liveness is kept apart: ``WORKERS`` maps each worker process to the time until
    which it counts as alive (now + its ``redeliver_after``), so every reader applies
    the worker's own bound without knowing it."""
    until = int((time.time() + settings.redeliver_after) * 1000)
    try:
        broker.client.execute_command("ZADD", WORKERS, until, broker.broker_id)
        forgotten = int((time.time() - 86400) * 1000)  # workers gone for a day
        broker.client.execute_command("ZREMRANGEBYSCORE", WORKERS, "-inf", forgotten)
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        raise BrokerUnavailable(f"the broker is not reachable: {exc}") from exc


def live_workers(broker: RedisBroker) -> set[str]:
    """Ids of the worker processes that count as alive (BrokerUnavailable if down)."""
    now = int(time.time() * 1000)
    try:
        members = broker.client.zrangebyscore(WORKERS, now, "+inf")
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        raise BrokerUnavailable(f"the broker is not reachable: {exc}") from exc
    return {_text(m) for m in members}


def forget_worker(broker: RedisBroker) -> None:
    """A worker stopping cleanly: drop its beat, so coordinators see it gone now (its
    unacknowledged jobs, if any, are requeued by the next live worker)."""
    with contextlib.suppress(redis.ConnectionError, redis.TimeoutError):
        broker.client.zrem(WORKERS, broker.broker_id)


def current_attempt() -> int:
    """1 for a job's first run, 2 for its first retry, ..."""
    message = CurrentMessage.get_current_message()
    return 1 + int(message.options.get("retries", 0)) if message is not None else 1


# --- job records: a Redis hash per job, and a list of job ids in enqueue order --------
class JobBook:
    """What every job is doing, readable by ``archiver jobs`` from any machine."""

    def __init__(self, broker: RedisBroker) -> None:
        self.client: Any = broker.client
        self.url = broker.client.connection_pool.connection_kwargs.get("host", "")

    def _call(self, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            raise BrokerUnavailable(f"the broker is not reachable: {exc}") from exc

    def ping(self) -> None:
        self._call(self.client.ping)

    def write(self, job_id: str, **fields: Any) -> None:
        fields["updated"] = time.time()

        def run() -> None:
            pipe = self.client.pipeline()
            for name, value in fields.items():
                pipe.hset(JOB_KEY + job_id, name, json.dumps(value))
            pipe.execute()

        self._call(run)

    def create(self, job_id: str, url: str) -> bool:
        """Record a new queued job; False when ``job_id`` is known and not failed."""
        existing = self.read(job_id)
        if existing and existing.get("status") != "failed":
            return False
        if not existing:
            self._call(lambda: self.client.rpush(JOB_LIST, job_id))
        self.write(
            job_id,
            id=job_id,
            url=url,
            status="queued",
            attempts=0,
            error=None,
            enqueued=time.time(),
        )
        return True

    def read(self, job_id: str) -> dict[str, Any] | None:
        raw = self._call(lambda: self.client.hgetall(JOB_KEY + job_id))
        if not raw:
            return None
        return {_text(k): json.loads(_text(v)) for k, v in raw.items()}

    def all(self) -> list[dict[str, Any]]:
        ids = [_text(i) for i in self._call(lambda: self.client.lrange(JOB_LIST, 0, -1))]
        return [r for r in (self.read(i) for i in ids) if r is not None]


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
