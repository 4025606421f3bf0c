"""What a pass publishes besides the index: the Atom feeds, the check log's timestamp
tokens and the webhook deliveries; the part of ``Watcher`` that does it."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from datetime import datetime

from ..archive import Archive
from ..archive.watchlist import WatchList
from . import feeds
from .checklog import CheckLog
from .options import PassResult, RunOptions
from .webhooks import deliver_all, deliver_pending


class Publisher:
    """Feeds, tokens and deliveries of a ``Watcher`` (which sets these attributes)."""

    archive: Archive
    store: WatchList
    log: CheckLog
    options: RunOptions
    clock: Callable[[], datetime]
    _feed_lock: threading.Lock

    # --- feeds and tokens ---------------------------------------------------------------
    def _feeds_seq(self) -> int:
        return int(self.store.meta("feeds_seq") or 0)

    def _update_feeds(self, urls: list[str]) -> None:
        """Rewrite changes.atom and the feeds of ``urls`` from the index."""
        with self._feed_lock:
            seq = self.store.last_event_seq()
            if not urls and seq == self._feeds_seq() and seq:
                return
            if not urls and not seq:
                return
            archive_id = self.store.meta_default("archive_id", os.urandom(16).hex())
            feeds.write_feeds(
                self.archive.root,
                archive_id=archive_id,
                changes=self.store.events(limit=feeds.FEED_LIMIT),
                per_url={u: self.store.events(url=u, limit=feeds.FEED_LIMIT) for u in urls},
            )
            self.store.set_meta("feeds_seq", str(seq))

    def _timestamp_log(self, result: PassResult) -> None:
        """One batch of tokens over the log's head, unless a token covers it already."""
        head = self.log.head()
        if head is None or self.log.covered() >= head.n:
            return
        if not self.options.tsa_urls:
            result.warnings.append(
                f"check log entries up to {head.n} are not timestamped: no TSA configured"
            )
            return
        from ..proof import request_tokens
        from ..proof.tokens import token_time

        tokens, failures = request_tokens(
            head.line, self.options.tsa_urls, timeout=self.options.tsa_timeout
        )
        for url, tsr in tokens:
            self.log.store_token(head, tsr, url, token_time(tsr))
        result.tokens += len(tokens)
        result.warnings.extend(f"check log: {f}" for f in failures)

    # --- deliveries ----------------------------------------------------------------------
    def deliver(self, stop: threading.Event | None = None) -> dict[str, tuple[int, int]]:
        """One delivery round for every webhook, each in its own thread."""
        return deliver_all(
            self.store,
            self.options.webhooks,
            clock=self.clock,
            policy=self.options.webhook_policy,
            everything=self.options.everything,
            stop=stop,
        )

    def _sender(self, hook: str, stop: threading.Event, wake: threading.Event) -> None:
        while not stop.is_set():
            deliver_pending(
                self.store, hook, clock=self.clock, policy=self.options.webhook_policy, stop=stop
            )
            wake.wait(5.0)
            wake.clear()
