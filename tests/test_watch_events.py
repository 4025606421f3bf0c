"""What a check means (pure: documents in, events out), webhooks that fail or hang
(real HTTP receivers on 127.0.0.1, real SQLite), and a graceful stop on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from archiver.archive import Archive
from archiver.archive.watchlist import CheckRecord, WatchList
from archiver.times import now_utc
from archiver.watch.events import Observation, judge
from archiver.watch.webhooks import WebhookPolicy, deliver_all

ARTICLE = {
    "article": {"title": "Troops honoured", "byline": "D. Harcourt", "text": "About 75,000 died."},
    "extractor": {"name": "trafilatura", "version": "2", "settings": {}},
}
EDITED = {**ARTICLE, "article": {**ARTICLE["article"], "text": "About 7,500 died."}}
WALL = {"article": None, "reason": "no article text found", "extractor": ARTICLE["extractor"]}


def obs(doc: dict[str, Any] | None, status: int = 200, **kw: Any) -> Observation:
    return Observation(
        url="http://a.example/", time="t", capture_id="c", status=status, text_doc=doc, **kw
    )


def verdict(o: Observation, state: str | None, previous: dict[str, Any] | None = ARTICLE) -> Any:
    return judge(o, state=state, kept_status=200, previous_doc=previous, ignore=(), keep_all=False)


def test_first_changed_and_unchanged() -> None:
    assert verdict(obs(ARTICLE), None, None).kinds == ["first"]
    same = verdict(obs(ARTICLE), "available")
    assert same.kinds == [] and not same.keep
    edit = verdict(obs(EDITED), "available")
    assert edit.kinds == ["changed"] and edit.keep
    assert [(n.old, n.new) for n in edit.diff.number_changes()] == [("75,000", "7,500")]


def test_a_wall_or_an_error_is_unavailable_never_all_text_deleted() -> None:
    wall = verdict(obs(WALL, warnings=("consent wall suspected",)), "available")
    assert wall.kinds == ["unavailable"] and wall.keep and wall.diff is None
    assert wall.reason is not None and wall.reason.startswith("a consent or bot wall")
    for status in (404, 410, 500, 503, 403):
        gone = verdict(obs(ARTICLE, status=status), "available")
        assert gone.kinds == ["unavailable"] and gone.reason == f"HTTP {status}"
    down = judge(
        Observation(url="u", time="t", error="refused"),
        state="available",
        kept_status=200,
        previous_doc=ARTICLE,
        ignore=(),
        keep_all=False,
    )
    assert down.kinds == ["unavailable"] and not down.keep and down.failed


def test_still_unavailable_is_no_new_event_and_restored_after() -> None:
    again = judge(
        obs(None, status=404),
        state="unavailable",
        kept_status=404,
        previous_doc=ARTICLE,
        ignore=(),
        keep_all=False,
    )
    assert again.kinds == [] and not again.keep and again.failed
    back = verdict(obs(ARTICLE), "unavailable")
    assert back.kinds == ["restored"]
    back_edited = verdict(obs(EDITED), "unavailable")
    assert back_edited.kinds == ["restored", "changed"]


def test_ignore_patterns_and_dates_do_not_make_a_change() -> None:
    noisy = {
        **ARTICLE,
        "article": {**ARTICLE["article"], "text": "About 75,000 died. Updated 5 minutes ago"},
    }
    base = {
        **ARTICLE,
        "article": {**ARTICLE["article"], "text": "About 75,000 died. Updated 9 minutes ago"},
    }
    plain = judge(
        obs(noisy),
        state="available",
        kept_status=200,
        previous_doc=base,
        ignore=(r"Updated \d+ minutes ago",),
        keep_all=False,
    )
    assert plain.kinds == []
    dated = {**ARTICLE, "article": {**ARTICLE["article"], "modified": "2031-01-02"}}
    assert verdict(obs(dated), "available").kinds == []
    assert verdict(obs(ARTICLE), "available").keep is False
    kept_all = judge(
        obs(ARTICLE),
        state="available",
        kept_status=200,
        previous_doc=ARTICLE,
        ignore=(),
        keep_all=True,
    )
    assert kept_all.keep and kept_all.kinds == []


# --- webhooks --------------------------------------------------------------------------


@contextmanager
def receiver(mode: str) -> Iterator[tuple[str, list[bytes]]]:
    got: list[bytes] = []
    release = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if mode == "hang":
                release.wait(10)
                return
            got.append(body)
            self.send_response(200 if mode == "ok" else 500)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", got
    finally:
        release.set()
        server.shutdown()
        server.server_close()


def test_a_hanging_or_failing_receiver_delays_only_its_own_deliveries(tmp_path: Path) -> None:
    archive = Archive(tmp_path / "archive")
    store = WatchList(archive)
    now = now_utc()
    store.add(["http://a.example/"], now=now, every=60.0, ignore=())
    with receiver("ok") as (good, got), receiver("hang") as (hang, _), receiver("500") as (bad, _):
        hooks = (hang, bad, good)
        events = [
            {
                "id": f"{n:032x}",
                "url": "http://a.example/",
                "kind": "changed",
                "time": "2031-01-01T00:00:00Z",
            }
            for n in range(3)
        ]
        store.record(
            CheckRecord(
                url="http://a.example/",
                check_time="x",
                next_due=now,
                failures=0,
                last_error=None,
                events=events,
                webhooks=hooks,
            )
        )
        policy = WebhookPolicy(timeout=0.5, tries_per_pass=2, first_wait=0.1)
        start = time.monotonic()
        results = deliver_all(store, hooks, clock=now_utc, policy=policy)
        elapsed = time.monotonic() - start
    assert results[good] == (3, 0) and len(got) == 3
    assert results[hang] == (0, 1) and results[bad] == (0, 1)  # the rest wait, in order
    assert elapsed < 3  # two bounded tries of the first event, not one per event, not forever
    rows = {(r["webhook"], r["event_id"]): r for r in store.deliveries()}
    assert rows[(hang, events[0]["id"])]["attempts"] == 2
    assert "no answer within 0.5 s" in rows[(hang, events[0]["id"])]["last_error"]
    assert rows[(bad, events[0]["id"])]["last_error"].startswith("HTTP 500")
    assert rows[(good, events[2]["id"])]["delivered"]
    # the next round leaves them waiting out the backoff, in order; --now retries them
    again = deliver_all(store, (bad,), clock=now_utc, policy=policy)
    assert again[bad] == (0, 0)
    retried = deliver_all(store, (bad,), clock=now_utc, policy=policy, everything=True)
    assert retried[bad] == (0, 1)  # still failing: tried at once, not after the wait


def test_watch_run_stops_gracefully_on_sigterm(tmp_path: Path) -> None:
    archiver = Path(sys.executable).with_name("archiver")
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "config")}
    env.pop("ARCHIVER_KEY", None)
    archive = tmp_path / "archive"
    proc = subprocess.Popen(
        [str(archiver), "watch", "run", "--no-timestamp", "--archive", str(archive)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    deadline = time.monotonic() + 30
    while not (archive / ".watch-run.lock").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)  # past start-up, into the wait between passes
    proc.send_signal(signal.SIGTERM)
    _out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "stopped" in err
