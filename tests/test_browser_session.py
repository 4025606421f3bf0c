"""BrowserSession: one Chromium for many page loads, a fresh context for each.

What it proves, on the fixture site with real Chromium:

* the browser starts once for several loads (only the first load's timings have a
  ``launch`` step) and is replaced after ``recycle_after`` loads;
* nothing carries over between loads: a cookie set by one page is not sent by the
  next, while inside one load the same cookie is sent (the control);
* a browser whose process tree is above ``max_rss`` is replaced before the next load;
* setting ``stop`` ends a running load promptly with CaptureInterrupted.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from archiver.capture.session import BrowserSession
from archiver.errors import CaptureInterrupted
from archiver.model import Exchange, PageLoad
from fixtures.server import FixtureServer

pytestmark = pytest.mark.browser


def cookie_headers(exchange: Exchange) -> list[str]:
    return [v for k, v in exchange.request_headers if k.lower() == "cookie"]


def echo_exchange(load: PageLoad) -> Exchange:
    (exchange,) = [ex for ex in load.exchanges if ex.url.endswith("/cookie/echo")]
    return exchange


def test_one_browser_for_several_loads_each_in_a_fresh_context(
    fixture_server: FixtureServer, browser_path: Path, tmp_path: Path
) -> None:
    with BrowserSession(recycle_after=2) as session:
        loads = [
            session.load_page(url, workdir=tmp_path / str(n), timeout=20)
            for n, url in enumerate(
                [
                    fixture_server.url("/cookie/set?value=first"),
                    fixture_server.url("/cookie/echo"),
                    fixture_server.url("/cookie/echo"),
                ]
            )
        ]
        assert session.launches == 2  # reused for the second load, recycled for the third
    assert ["launch" in load.timings_ms for load in loads] == [True, False, True]
    # control: inside one context the cookie the page set is sent with its frame
    assert cookie_headers(echo_exchange(loads[0])) == ["batch-test=first"]
    # the next capture in the same browser does not send it
    assert cookie_headers(echo_exchange(loads[1])) == []
    assert "Cookies sent: no cookies" in loads[1].dom_html
    assert all(load.browser_version == loads[0].browser_version for load in loads)


def test_a_browser_above_the_memory_bound_is_replaced(
    fixture_server: FixtureServer, browser_path: Path, tmp_path: Path
) -> None:
    with BrowserSession(max_rss=1) as session:
        for n in range(2):
            session.load_page(
                fixture_server.url("/cookie/echo"), workdir=tmp_path / str(n), timeout=20
            )
            assert session.rss() > 0  # the running browser's process tree, from /proc
        assert session.launches == 2
        assert session.peak_rss > 0
    assert session.rss() == 0


def test_stop_interrupts_a_running_load(
    fixture_server: FixtureServer, browser_path: Path, tmp_path: Path
) -> None:
    stop = threading.Event()
    with BrowserSession(stop=stop) as session:
        timer = threading.Timer(1.5, stop.set)
        timer.start()
        started = time.monotonic()
        with pytest.raises(CaptureInterrupted, match="interrupted"):
            session.load_page(fixture_server.url("/slow/30"), workdir=tmp_path, timeout=60)
        assert time.monotonic() - started < 15
        timer.join()
