"""POST events to webhooks: the watch stage's only network edge.

Each receiver has its own queue (the ``deliveries`` table) and its own thread, so a
receiver that answers 500 or never answers delays only its own deliveries. Every
attempt has a bounded timeout; a failed delivery is retried with exponential backoff,
within a pass (a few short waits) and across passes (``next_attempt`` in the index);
every attempt and its error are recorded. With a secret, every attempt is signed afresh
(``webhooksign``: a new timestamp, so a retry is never refused as a stale replay).
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ..archive.watchlist import Delivery, WatchList
from ..errors import UsageError
from ..times import iso_utc
from .webhooksign import sign_webhook

Clock = Callable[[], datetime]
MAX_ANSWER = 1 << 16


@dataclass(frozen=True)
class WebhookPolicy:
    timeout: float = 10.0  # seconds per attempt (connect and answer)
    tries_per_pass: int = 3  # attempts of one delivery within one pass
    first_wait: float = 0.5  # seconds before the second try in a pass; doubles after
    retry_after: float = 60.0  # seconds before the next pass may retry; doubles per attempt
    retry_cap: float = 6 * 3600.0
    secret: bytes | None = field(default=None, repr=False)  # signs each POST; never stored


def check_webhook_url(url: str) -> str:
    """UsageError (exit 2) unless ``url`` is an http(s) URL."""
    from ..urls import validate_url

    try:
        return validate_url(url)
    except UsageError as exc:
        raise UsageError(f"bad --webhook {url!r}: {exc}") from None


def post(
    url: str,
    event: dict[str, Any],
    *,
    timeout: float,
    secret: bytes | None = None,
    now: datetime | None = None,
) -> str | None:
    """POST one event as JSON; None on a 2xx answer, else the error in one line.

    With ``secret``, the body is signed as sent at ``now`` (timestamp and signature
    headers, see ``webhooksign``)."""
    body = json.dumps(event, ensure_ascii=False, sort_keys=True).encode("utf-8")
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "archiver-watch",
        "X-Archiver-Event": str(event.get("kind")),
        "X-Archiver-Event-Id": str(event.get("id")),
    }
    if secret is not None:
        if now is None:
            raise ValueError("a signed POST needs the time it is sent at")
        headers.update(sign_webhook(secret, body, timestamp=int(now.timestamp())))
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            answer.read(MAX_ANSWER)
            status = int(answer.status)
    except urllib.error.HTTPError as err:
        return f"HTTP {err.code} {err.reason}"
    except urllib.error.URLError as err:
        return f"unreachable: {err.reason}"
    except TimeoutError:
        return f"no answer within {timeout:g} s"
    except OSError as err:
        return f"unreachable: {err}"
    return None if 200 <= status < 300 else f"HTTP {status}"


def deliver_pending(
    store: WatchList,
    webhook: str,
    *,
    clock: Clock,
    policy: WebhookPolicy,
    everything: bool = False,
    stop: threading.Event | None = None,
    sleep: Callable[[float], None] | None = None,
) -> tuple[int, int]:
    """Deliver this receiver's due events in order; returns (delivered, failed).

    Events go out in the order they were stored. A delivery that still fails after
    ``tries_per_pass`` attempts stays in the index with its next attempt due after a
    growing wait, and this receiver's round ends there: its later events wait behind
    it, in order (``everything``: retry now, whatever the wait).
    """
    stop = stop or threading.Event()
    wait = sleep or stop.wait
    delivered = failed = 0
    for item in store.undelivered(webhook):
        if stop.is_set() or (not everything and item.next_attempt > clock()):
            break  # the oldest undelivered event is waiting out its backoff: so do the rest
        if _deliver_one(store, item, clock=clock, policy=policy, wait=wait, stop=stop):
            delivered += 1
        else:
            failed += 1
            break  # the receiver is down: its later events wait for the next round, in order
    return delivered, failed


def _deliver_one(
    store: WatchList,
    item: Delivery,
    *,
    clock: Clock,
    policy: WebhookPolicy,
    wait: Callable[[float], Any],
    stop: threading.Event,
) -> bool:
    attempts = item.attempts
    pause = policy.first_wait
    error: str | None = None
    for n in range(policy.tries_per_pass):
        if n:
            wait(pause)
            pause *= 2
            if stop.is_set():
                break
        attempts += 1
        error = post(
            item.webhook, item.doc, timeout=policy.timeout, secret=policy.secret, now=clock()
        )
        if error is None:
            store.delivery_result(
                item,
                attempts=attempts,
                delivered=iso_utc(clock()),
                error=None,
                next_attempt=clock(),
            )
            return True
    later = min(policy.retry_after * 2 ** max(0, attempts - 1), policy.retry_cap)
    store.delivery_result(
        item,
        attempts=attempts,
        delivered=None,
        error=error,
        next_attempt=clock() + timedelta(seconds=later),
    )
    return False


def deliver_all(
    store: WatchList,
    webhooks: Sequence[str],
    *,
    clock: Clock,
    policy: WebhookPolicy,
    everything: bool = False,
    stop: threading.Event | None = None,
) -> dict[str, tuple[int, int]]:
    """One delivery round, every receiver in its own thread; waits for all of them."""
    results: dict[str, tuple[int, int]] = {}

    def run(hook: str) -> None:
        results[hook] = deliver_pending(
            store, hook, clock=clock, policy=policy, everything=everything, stop=stop
        )

    threads = [threading.Thread(target=run, args=(h,), daemon=True) for h in webhooks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results
