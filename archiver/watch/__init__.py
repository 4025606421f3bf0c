"""Watch pages for edits: the schedule, one pass over what is due, events, feeds,
webhooks and the signed check log.

``schedule`` (pure: durations, the age ladder, jitter, backoff), ``events`` (pure: what
a check means), ``runner`` (one ``watch run`` pass; ``options`` what it is asked and
what it did, ``hostqueue`` the per-host order, ``runlock`` one run per archive,
``publish`` its feeds, tokens and deliveries), ``checklog`` (the signed, hash-chained
log of unchanged checks and its offline check), ``feeds`` (Atom), ``webhooks`` (the
HTTP POST edge), ``webhooksign`` (pure: signed bodies and ``verify_webhook``, the check a
receiver runs), ``manage`` (add, remove, pause, status), ``pageoptions`` (a watch's
page options: stored, rebuilt at each check, shown without secrets). The watch
list itself lives in the archive's SQLite index (``archiver.archive.watchlist``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# Loaded on first use: a webhook receiver importing ``verify_webhook`` loads only
# ``webhooksign`` (hmac and hashlib), not the runner, SQLite, HTTP or the browser.
_EXPORTS = {
    "CheckLog": ".checklog",
    "LogReport": ".checklog",
    "PassResult": ".options",
    "RunOptions": ".options",
    "WatchList": "..archive.watchlist",
    "Watcher": ".runner",
    "WebhookPolicy": ".webhooks",
    "WebhookSignatureError": ".webhooksign",
    "add_watches": ".manage",
    "check_webhook_url": ".webhooks",
    "format_duration": ".schedule",
    "next_check": ".schedule",
    "parse_duration": ".schedule",
    "pause_watch": ".manage",
    "read_url_file": ".manage",
    "read_webhook_secret": ".webhooksign",
    "remove_watch": ".manage",
    "run_lock": ".runlock",
    "secret_warnings": ".webhooksign",
    "sign_webhook": ".webhooksign",
    "status_row": ".manage",
    "status_rows": ".manage",
    "verify_log": ".checklog",
    "verify_webhook": ".webhooksign",
    "watch_options": ".pageoptions",
    "watch_setup": ".pageoptions",
}

__all__ = [
    "CheckLog",
    "LogReport",
    "PassResult",
    "RunOptions",
    "WatchList",
    "Watcher",
    "WebhookPolicy",
    "WebhookSignatureError",
    "add_watches",
    "check_webhook_url",
    "format_duration",
    "next_check",
    "parse_duration",
    "pause_watch",
    "read_url_file",
    "read_webhook_secret",
    "remove_watch",
    "run_lock",
    "secret_warnings",
    "sign_webhook",
    "status_row",
    "status_rows",
    "verify_log",
    "verify_webhook",
    "watch_options",
    "watch_setup",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'archiver.watch' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


if TYPE_CHECKING:
    from ..archive.watchlist import WatchList
    from .checklog import CheckLog, LogReport, verify_log
    from .manage import (
        add_watches,
        pause_watch,
        read_url_file,
        remove_watch,
        status_row,
        status_rows,
    )
    from .options import PassResult, RunOptions
    from .pageoptions import watch_options, watch_setup
    from .runlock import run_lock
    from .runner import Watcher
    from .schedule import format_duration, next_check, parse_duration
    from .webhooks import WebhookPolicy, check_webhook_url
    from .webhooksign import (
        WebhookSignatureError,
        read_webhook_secret,
        secret_warnings,
        sign_webhook,
        verify_webhook,
    )
