"""Drive headless Chromium and record what it exchanged, from its own network stack.

The only module that imports Playwright. ``load_page`` opens one URL in a fresh
browser, records every request and response through a CDP session (Network domain
events, bodies streamed to files under ``workdir``), waits until the page is ready
(load, network idle, a scroll pass for lazy content, idle again, back to top), then
takes a full-page screenshot and the rendered DOM.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import http
import re
import shutil
import ssl
import time
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from playwright.async_api import (
    Browser,
    BrowserContext,
    CDPSession,
    Download,
    Page,
    Request,
    async_playwright,
)
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import TimeoutError as PlaywrightTimeoutError

from archiver.chromium import (
    BROWSER_ARGS,
    BROWSER_NAMES,
    NO_BROWSER,
    browser_version,
    find_browser,
    launch_args,
)
from archiver.errors import BrowserError, CaptureError
from archiver.model import Exchange, FailedRequest, Headers, PageLoad

__all__ = [
    "BROWSER_ARGS",
    "BROWSER_NAMES",
    "NO_BROWSER",
    "SCROLL_SCRIPT",
    "browser_version",
    "find_browser",
    "load_page",
]
T = TypeVar("T")
QUIET_S = 0.5  # no request in flight for this long = network idle
STEP_GRACE_S = 5.0  # bound for quick page steps (scroll to top, title, DOM queries)
QUIET_AFTER_SCROLL_S = 0.25  # shorter second window: the page has settled once already
_BODY_STATUSES_WITHOUT_BODY = {101, 204, 205, 304}
# Documents Chromium shows in a built-in viewer instead of handing the body to the page.
_VIEWER_TYPES = {"application/pdf", "application/x-pdf"}
_PAUSED_TYPES = ("Document", "Fetch", "XHR", "Script", "Other")
_FULL_PAGE_TYPES = {"text/html", "application/xhtml+xml", "text/plain"}
_PW_TYPES = {"xhr": "XHR", "eventsource": "EventSource", "websocket": "WebSocket"}

# Scrolls down by viewport steps, giving lazy loaders (loading=lazy, IntersectionObserver)
# two frames and a short pause at each step. Bounded by step count and a wall-clock deadline.
SCROLL_SCRIPT = """
async ([maxSteps, deadline]) => {
  const frame = () => new Promise(r => requestAnimationFrame(() => r()));
  const pause = ms => new Promise(r => setTimeout(r, ms));
  const step = window.innerHeight || 800;
  let steps = 0;
  while (steps < maxSteps && Date.now() < deadline) {
    const el = document.scrollingElement || document.documentElement;
    if (!el || window.scrollY + step >= el.scrollHeight) break;
    window.scrollBy(0, step);
    steps++;
    await frame(); await frame(); await pause(25);
  }
  return steps;
}
"""
SCROLL_TOP_SCRIPT = """
async () => {
  window.scrollTo(0, 0);
  await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r())));
}
"""
# An obvious cookie/consent overlay: a visible fixed/sticky element covering a quarter of
# the viewport whose id, class, label or text speaks of cookies or consent.
CONSENT_SCRIPT = """
() => {
  const re = /cookie|consent|gdpr|privacy|onetrust|didomi|usercentrics|sp_message|qc-cmp/i;
  const vw = window.innerWidth, vh = window.innerHeight;
  for (const el of document.querySelectorAll('body *')) {
    const st = getComputedStyle(el);
    if (st.position !== 'fixed' && st.position !== 'sticky') continue;
    if (st.display === 'none' || st.visibility === 'hidden' || Number(st.opacity) === 0) continue;
    const r = el.getBoundingClientRect();
    const w = Math.max(0, Math.min(r.right, vw) - Math.max(r.left, 0));
    const h = Math.max(0, Math.min(r.bottom, vh) - Math.max(r.top, 0));
    if (w * h < 0.25 * vw * vh) continue;
    const label = [el.id, String(el.className), el.getAttribute('aria-label') || '',
                   (el.innerText || '').slice(0, 3000)].join(' ');
    if (re.test(label)) return true;
  }
  return false;
}
"""


# --- recording from CDP Network events -------------------------------------------------------


def _header_list(headers: Mapping[str, Any] | None) -> Headers:
    """CDP header objects join repeated headers with newlines; split them back."""
    out: Headers = []
    for name, value in (headers or {}).items():
        if name.startswith(":"):
            continue  # HTTP/2 pseudo-headers belong to the request/status line
        out.extend((name, part) for part in str(value).split("\n"))
    return out


def _parse_headers_text(text: str) -> Headers | None:
    """Raw HTTP/1.x response head as received: keeps order and repeated headers."""
    lines = text.replace("\r\n", "\n").split("\n")
    if not lines or not lines[0].startswith("HTTP/"):
        return None
    out: Headers = []
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if sep:
            out.append((name.strip(), value.strip()))
    return out


def _http_version(protocol: str | None) -> str:
    proto = (protocol or "http/1.1").lower()
    if proto.startswith("h2"):
        return "HTTP/2"
    if proto.startswith("h3") or proto == "quic":
        return "HTTP/3"
    if proto.startswith("http/"):
        return proto.upper()
    return "HTTP/1.1"


def _status_text(status: int, given: str | None) -> str:
    if given:
        return given
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return ""


def _content_length(response: Mapping[str, Any]) -> int:
    for name, value in (response.get("headers") or {}).items():
        if name.lower() == "content-length" and str(value).strip().isdigit():
            return int(str(value).strip())
    return 0


def _is_http(url: str) -> bool:
    return url.startswith(("http://", "https://"))


def _strip_fragment(url: str) -> str:
    return url.partition("#")[0]


@dataclass
class _Hop:
    """One request the browser sent under a request id (redirects add hops)."""

    url: str
    method: str
    headers: dict[str, Any]
    post_data: bytes | None
    started: datetime
    ts: float  # CDP monotonic timestamp, seconds
    response: dict[str, Any] | None = None
    end_ts: float | None = None
    is_redirect: bool = False


@dataclass
class _Request:
    request_id: str
    frame_id: str
    resource_type: str
    hops: list[_Hop] = field(default_factory=list)
    sent_extra: list[dict[str, Any]] = field(default_factory=list)
    recv_extra: list[dict[str, Any]] = field(default_factory=list)
    from_cache: bool = False
    finished: bool = False
    error: str | None = None
    body_path: Path | None = None
    body_size: int = 0
    decoded_len: int = 0  # sum of dataReceived.dataLength: the decoded body size
    stream_state: str = "none"  # none | pending | on | off
    pending: list[bytes] = field(default_factory=list)
    stream_file: Any = None
    stream_task: asyncio.Task[None] | None = None


class _Recorder:
    """Collects Network domain events of one page target into Exchanges."""

    def __init__(self, session: CDPSession, bodies: Path) -> None:
        self.session = session
        self.bodies = bodies
        self.requests: dict[str, _Request] = {}
        self.inflight: set[str] = set()
        self.last_change = time.monotonic()
        self.tasks: set[asyncio.Task[None]] = set()
        self.warnings: list[str] = []
        self.document_bodies: dict[str, Path] = {}
        self.pw_finished: list[Request] = []
        for name in (
            "requestWillBeSent",
            "requestWillBeSentExtraInfo",
            "responseReceived",
            "responseReceivedExtraInfo",
            "requestServedFromCache",
            "dataReceived",
            "loadingFinished",
            "loadingFailed",
        ):
            session.on(f"Network.{name}", getattr(self, f"_on_{name}"))

    def _spawn(self, coro: Any) -> asyncio.Task[None]:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    def touch(self) -> None:
        self.last_change = time.monotonic()

    # events ---------------------------------------------------------------------------------

    def _on_requestWillBeSent(self, ev: dict[str, Any]) -> None:
        rid = ev["requestId"]
        req = self.requests.get(rid)
        if req is None:
            req = _Request(rid, ev.get("frameId", ""), ev.get("type", "Other"))
            self.requests[rid] = req
        elif not req.hops:  # an ExtraInfo event came first
            req.frame_id, req.resource_type = ev.get("frameId", ""), ev.get("type", "Other")
        redirect = ev.get("redirectResponse")
        if redirect is not None and req.hops:
            hop = req.hops[-1]
            hop.response, hop.is_redirect, hop.end_ts = redirect, True, ev.get("timestamp")
        request = ev["request"]
        post: bytes | None = None
        if request.get("postData") is not None:
            post = str(request["postData"]).encode("utf-8")
        elif request.get("postDataEntries"):
            post = b"".join(
                base64.b64decode(e.get("bytes", "")) for e in request["postDataEntries"]
            )
        elif request.get("hasPostData"):
            self._spawn(self._fetch_post_data(req, len(req.hops)))
        wall = ev.get("wallTime") or time.time()
        req.hops.append(
            _Hop(
                url=request["url"],
                method=request.get("method", "GET"),
                headers=request.get("headers", {}),
                post_data=post,
                started=datetime.fromtimestamp(wall, UTC),
                ts=ev.get("timestamp", 0.0),
            )
        )
        if req.resource_type != "EventSource":  # a stream never ends: not "in flight"
            self.inflight.add(rid)
        if redirect is None and _is_http(request["url"]) and req.resource_type != "Document":
            req.stream_state = "pending"
            req.stream_task = self._spawn(self._start_stream(req, early=True))
        self.touch()

    async def _fetch_post_data(self, req: _Request, index: int) -> None:
        """A large request body is not inlined in the event: ask for it."""
        try:
            result = await self.session.send(
                "Network.getRequestPostData", {"requestId": req.request_id}
            )
        except PlaywrightError:
            return
        raw = str(result.get("postData", ""))
        data = base64.b64decode(raw) if result.get("base64Encoded") else raw.encode("utf-8")
        if index < len(req.hops):
            req.hops[index].post_data = data

    def _on_requestWillBeSentExtraInfo(self, ev: dict[str, Any]) -> None:
        req = self.requests.get(ev["requestId"])
        if req is None:
            req = _Request(ev["requestId"], "", "Other")
            self.requests[ev["requestId"]] = req
        req.sent_extra.append(ev)

    def _on_responseReceivedExtraInfo(self, ev: dict[str, Any]) -> None:
        req = self.requests.get(ev["requestId"])
        if req is None:
            req = _Request(ev["requestId"], "", "Other")
            self.requests[ev["requestId"]] = req
        req.recv_extra.append(ev)

    def _on_requestServedFromCache(self, ev: dict[str, Any]) -> None:
        req = self.requests.get(ev["requestId"])
        if req is not None:
            req.from_cache = True

    def _on_responseReceived(self, ev: dict[str, Any]) -> None:
        req = self.requests.get(ev["requestId"])
        if req is None or not req.hops:
            return
        response = ev["response"]
        req.hops[-1].response = response
        req.resource_type = ev.get("type", req.resource_type)
        self.touch()
        if (
            req.stream_state == "none"
            and _is_http(response.get("url", ""))
            and not response.get("fromDiskCache")
        ):
            req.stream_state = "pending"
            req.stream_task = self._spawn(self._start_stream(req))

    async def _start_stream(self, req: _Request, *, early: bool = False) -> None:
        """Ask Chromium to hand over the body as dataReceived chunks.

        Asked as soon as the request is sent, so that little is buffered before streaming
        starts; if the renderer does not know the request yet, asked again once the
        response is in.
        """
        try:
            result = await self.session.send(
                "Network.streamResourceContent", {"requestId": req.request_id}
            )
        except PlaywrightError:
            if early and req.hops and req.hops[-1].response is not None and not req.finished:
                await self._start_stream(req)
            elif early:
                req.stream_state, req.pending = "none", []
            else:
                req.stream_state, req.pending = "off", []
            return
        req.stream_file = self._body_file(req).open("wb")
        req.stream_file.write(base64.b64decode(result.get("bufferedData", "")))
        for chunk in req.pending:
            req.stream_file.write(chunk)
        req.pending = []
        req.stream_state = "on"

    def _on_dataReceived(self, ev: dict[str, Any]) -> None:
        req = self.requests.get(ev["requestId"])
        if req is None:
            return
        req.decoded_len += int(ev.get("dataLength", 0))
        data = ev.get("data")
        if data:
            chunk = base64.b64decode(data)
            if req.stream_state == "on" and req.stream_file is not None:
                req.stream_file.write(chunk)
            elif req.stream_state == "pending":
                req.pending.append(chunk)
        self.touch()

    def _on_loadingFinished(self, ev: dict[str, Any]) -> None:
        req = self.requests.get(ev["requestId"])
        self.inflight.discard(ev["requestId"])
        self.touch()
        if req is None or not req.hops:
            return
        req.finished = True
        req.hops[-1].end_ts = ev.get("timestamp")
        self._spawn(self._finish_body(req))

    def _on_loadingFailed(self, ev: dict[str, Any]) -> None:
        req = self.requests.get(ev["requestId"])
        self.inflight.discard(ev["requestId"])
        self.touch()
        if req is None:
            return
        reason = ev.get("blockedReason") or ev.get("errorText") or "failed"
        req.error = f"{reason} (canceled)" if ev.get("canceled") else str(reason)
        if req.hops:
            req.hops[-1].end_ts = ev.get("timestamp")
        if req.stream_file is not None:
            req.stream_file.close()
            req.stream_file = None

    # bodies ---------------------------------------------------------------------------------

    def _body_file(self, req: _Request) -> Path:
        if req.body_path is None:
            safe = re.sub(r"[^A-Za-z0-9._-]", "_", req.request_id)
            req.body_path = self.bodies / f"{safe}.body"
        return req.body_path

    async def _finish_body(self, req: _Request) -> None:
        if req.stream_task is not None:
            await req.stream_task
        if req.stream_file is not None:
            req.stream_file.close()
            req.stream_file = None
        document = self.document_bodies.get(req.request_id)
        if document is not None:
            req.body_path, req.body_size = document, document.stat().st_size
            return
        path = req.body_path
        if req.stream_state == "on" and path is not None:
            size = path.stat().st_size
            if size == req.decoded_len and size > 0:
                req.body_size = size
                return
        hop = req.hops[-1]
        response = hop.response or {}
        if hop.method == "HEAD" or response.get("status") in _BODY_STATUSES_WITHOUT_BODY:
            req.body_path, req.body_size = None, 0
            return
        if not _is_http(hop.url):
            return
        try:
            result = await self.session.send(
                "Network.getResponseBody", {"requestId": req.request_id}
            )
        except PlaywrightError as err:
            req.body_path, req.body_size = None, 0
            if req.decoded_len > 0 or response.get("encodedDataLength", 0) > 0:
                reason = str(err).rpartition(":")[2].strip() or "unavailable"
                self.warnings.append(f"body of {hop.url} not recorded: {reason}")
            return
        raw = result.get("body", "")
        data = base64.b64decode(raw) if result.get("base64Encoded") else raw.encode("utf-8")
        if not data:
            req.body_path, req.body_size = None, 0
            if req.decoded_len > 0 or _content_length(response) > 0:
                self.warnings.append(f"body of {hop.url} not recorded: the browser did not keep it")
            return
        target = self._body_file(req)
        target.write_bytes(data)
        req.body_size = len(data)

    async def intercept_responses(self) -> None:
        """Pause responses at the headers stage, before their body reaches the page.

        Two reasons. Streaming: a body is handed over chunk by chunk only from the moment
        Network.streamResourceContent is processed; what arrived before comes back in one
        message. Holding the response until streaming is on keeps that message empty, so
        memory stays flat however fast and large the body is. PDFs: Chromium shows them in
        its viewer and Network.getResponseBody returns the viewer's wrapper page, while
        Fetch.getResponseBody returns the file. Images, fonts and stylesheets are not
        paused: Chromium does not stream them and keeps them for getResponseBody.
        """
        self.session.on("Fetch.requestPaused", self._on_paused)
        patterns = [
            {"urlPattern": "*", "resourceType": kind, "requestStage": "Response"}
            for kind in _PAUSED_TYPES
        ]
        await self.session.send("Fetch.enable", {"patterns": patterns})

    def _on_paused(self, ev: dict[str, Any]) -> None:
        self._spawn(self._paused(ev))

    async def _paused(self, ev: dict[str, Any]) -> None:
        try:
            headers = ev.get("responseHeaders") or []
            ctype = next(
                (str(h["value"]) for h in headers if str(h["name"]).lower() == "content-type"),
                "",
            )
            mime = ctype.partition(";")[0].strip().lower()
            status = int(ev.get("responseStatusCode") or 0)
            network_id = str(ev.get("networkId") or "")
            if mime in _VIEWER_TYPES and 200 <= status < 300 and network_id:
                await self._read_document(ev["requestId"], network_id)
            elif (
                network_id in self.requests
                and ev.get("resourceType") != "Document"  # known to the page only once shown
                and not 300 <= status < 400
            ):
                await self._ensure_streaming(self.requests[network_id])
        except PlaywrightError as err:
            self.warnings.append(f"body of {ev.get('request', {}).get('url')} not read: {err}")
        finally:
            with contextlib.suppress(PlaywrightError):
                await self.session.send("Fetch.continueRequest", {"requestId": ev["requestId"]})

    async def _ensure_streaming(self, req: _Request) -> None:
        if req.stream_task is not None and not req.stream_task.done():
            await asyncio.wait([req.stream_task], timeout=STEP_GRACE_S)
        if req.stream_state == "none":
            req.stream_state = "pending"
            req.stream_task = self._spawn(self._start_stream(req))
            await asyncio.wait([req.stream_task], timeout=STEP_GRACE_S)

    async def _read_document(self, fetch_id: str, network_id: str) -> None:
        result = await self.session.send("Fetch.getResponseBody", {"requestId": fetch_id})
        raw = result.get("body", "")
        data = base64.b64decode(raw) if result.get("base64Encoded") else raw.encode()
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", network_id)
        path = self.bodies / f"{safe}.document"
        path.write_bytes(data)
        self.document_bodies[network_id] = path

    # requests outside the page target (dedicated workers) ---------------------------------

    def watch(self, context: BrowserContext) -> None:
        """Follow Playwright's request events too: they include dedicated workers' requests.

        A worker's requests are not on the page's CDP session (a worker script starts there
        and finishes in the worker's target), so these events keep the in-flight count
        honest and let worker exchanges be recorded from the browser's own responses.
        """
        context.on("request", self._pw_request)
        context.on("requestfinished", self._pw_finished)
        context.on("requestfailed", self._pw_failed)

    def _pw_request(self, request: Request) -> None:
        if request.resource_type != "eventsource":  # a stream never ends: not "in flight"
            self.inflight.add(f"pw:{id(request)}")
        self.touch()

    def _pw_finished(self, request: Request) -> None:
        self.pw_finished.append(request)
        self._pw_settled(request)

    def _pw_failed(self, request: Request) -> None:
        self._pw_settled(request)

    def _pw_settled(self, request: Request) -> None:
        self.inflight.discard(f"pw:{id(request)}")
        for rid in list(self.inflight):
            req = self.requests.get(rid)
            if req is not None and req.hops and req.hops[-1].url == request.url:
                self.inflight.discard(rid)  # handed over to a worker target
        self.touch()

    async def add_unseen(self, exchanges: list[Exchange], failed: list[FailedRequest]) -> None:
        """Record finished requests the page's CDP session never saw answered (workers)."""
        answered = {(ex.method, ex.url) for ex in exchanges}
        for request in self.pw_finished:
            if (request.method, request.url) in answered:
                continue
            try:
                exchange = await self._from_playwright(request, len(exchanges))
            except PlaywrightError as err:
                self.warnings.append(f"{request.url} not recorded: {str(err).splitlines()[0]}")
                continue
            if exchange is not None:
                exchanges.append(exchange)
                failed[:] = [f for f in failed if f.url != request.url]

    async def _from_playwright(self, request: Request, index: int) -> Exchange | None:
        response = await request.response()
        if response is None or not _is_http(request.url):
            return None
        response_headers = [(h["name"], h["value"]) for h in await response.headers_array()]
        if not response_headers:
            return None  # synthesised by the browser (e.g. the PDF viewer's wrapper page)
        is_redirect = request.redirected_to is not None
        body_path: Path | None = None
        size = 0
        if not is_redirect and request.method != "HEAD":
            data = await response.body()
            if data:
                body_path = self.bodies / f"worker-{index}.body"
                body_path.write_bytes(data)
                size = len(data)
        timing = request.timing
        server = await response.server_addr()
        kind = request.resource_type
        mime = (await response.header_value("content-type") or "").partition(";")[0].strip()
        return Exchange(
            request_id=f"pw-{index}",
            url=request.url,
            method=request.method,
            request_headers=[(h["name"], h["value"]) for h in await request.headers_array()],
            request_body=request.post_data_buffer,
            http_version="HTTP/1.1",  # Playwright does not report the protocol
            status=response.status,
            status_text=_status_text(response.status, response.status_text),
            response_headers=response_headers,
            body_path=body_path,
            body_size=size,
            mime_type=mime,
            resource_type=_PW_TYPES.get(kind, kind[:1].upper() + kind[1:]),
            started=datetime.fromtimestamp(timing["startTime"] / 1000.0, UTC),
            duration_ms=timing["responseEnd"] if timing["responseEnd"] >= 0 else None,
            remote_ip=server["ipAddress"] if server else None,
            remote_port=server["port"] if server else None,
            is_redirect=is_redirect,
        )

    async def settle(self) -> None:
        """Wait for outstanding body transfers (those already finished loading)."""
        while self.tasks:
            await asyncio.gather(*list(self.tasks), return_exceptions=True)

    def close_streams(self) -> None:
        for req in self.requests.values():
            if req.stream_file is not None:
                req.stream_file.close()
                req.stream_file = None

    async def wait_idle(self, deadline: float, quiet: float = QUIET_S) -> bool:
        """True once nothing was in flight for ``quiet`` seconds; False at the deadline."""
        while True:
            now = time.monotonic()
            if not self.inflight and now - self.last_change >= quiet:
                return True
            if now >= deadline:
                return False
            await asyncio.sleep(min(0.05, max(0.0, deadline - now)))

    # results --------------------------------------------------------------------------------

    def exchanges(self, main_frame: str) -> tuple[list[Exchange], list[FailedRequest], str | None]:
        """All recorded exchanges in request order, failures, and the main document's id."""
        exchanges: list[Exchange] = []
        failed: list[FailedRequest] = []
        main_id: str | None = None
        for req in self.requests.values():
            if not req.hops or not _is_http(req.hops[0].url):
                continue
            if (
                req.resource_type == "Document"
                and req.frame_id == main_frame
                and req.hops[-1].response is not None
                and req.error is None
            ):
                main_id = req.request_id
            for index, hop in enumerate(req.hops):
                last = index == len(req.hops) - 1
                if hop.response is None:
                    error = req.error or "no response before the capture ended"
                    failed.append(FailedRequest(hop.url, hop.method, req.resource_type, error))
                    continue
                if last and (req.from_cache or hop.response.get("fromDiskCache")):
                    continue  # served from the browser cache: already recorded once
                exchanges.append(self._exchange(req, index, hop, last))
        return exchanges, failed, main_id

    def _exchange(self, req: _Request, index: int, hop: _Hop, last: bool) -> Exchange:
        response = hop.response or {}
        status = int(response.get("status", 0))
        sent = req.sent_extra[index] if index < len(req.sent_extra) else None
        recv = req.recv_extra[index] if index < len(req.recv_extra) else None
        if recv is not None and int(recv.get("statusCode", status)) != status:
            recv = None
        request_headers = _header_list(sent["headers"] if sent else hop.headers)
        response_headers: Headers | None = None
        if recv is not None and recv.get("headersText"):
            response_headers = _parse_headers_text(recv["headersText"])
        if response_headers is None:
            response_headers = _header_list(recv["headers"] if recv else response.get("headers"))
        duration = None
        if hop.end_ts is not None and hop.ts:
            duration = round((hop.end_ts - hop.ts) * 1000.0, 3)
        body = req.body_path if last and not hop.is_redirect else None
        return Exchange(
            request_id=req.request_id
            if index == len(req.hops) - 1
            else f"{req.request_id}#{index}",
            url=hop.url,
            method=hop.method,
            request_headers=request_headers,
            request_body=hop.post_data,
            http_version=_http_version(response.get("protocol")),
            status=status,
            status_text=_status_text(status, response.get("statusText")),
            response_headers=response_headers,
            body_path=body,
            body_size=req.body_size if body is not None else 0,
            mime_type=str(response.get("mimeType", "")),
            resource_type=req.resource_type,
            started=hop.started,
            duration_ms=duration,
            remote_ip=response.get("remoteIPAddress"),
            remote_port=response.get("remotePort"),
            is_redirect=hop.is_redirect,
        )


# --- one page load ---------------------------------------------------------------------------


def _net_error(message: str) -> str | None:
    match = re.search(r"net::(ERR_[A-Z0-9_]+)", message)
    return match.group(1) if match else None


def _capture_error(url: str, message: str) -> CaptureError:
    code = _net_error(message)
    host = urlsplit(url).hostname or url
    if code == "ERR_NAME_NOT_RESOLVED":
        return CaptureError(f"host {host} does not resolve (net::{code})")
    if code == "ERR_CONNECTION_REFUSED":
        return CaptureError(f"cannot reach {url}: connection refused (net::{code})")
    if code == "ERR_TOO_MANY_REDIRECTS":
        return CaptureError(f"redirect loop at {url} ({code})")
    if code is not None:
        reason = code.removeprefix("ERR_").replace("_", " ").lower()
        return CaptureError(f"cannot load {url}: {reason} (net::{code})")
    first = message.strip().splitlines()[0] if message.strip() else "unknown error"
    return CaptureError(f"cannot load {url}: {first}")


def _pem_chain(der_b64: list[str]) -> list[str]:
    return [ssl.DER_cert_to_PEM_cert(base64.b64decode(item)) for item in der_b64]


@dataclass
class _Clock:
    started: float = field(default_factory=time.monotonic)
    mark: float = field(default_factory=time.monotonic)
    timings: dict[str, float] = field(default_factory=dict)

    def lap(self, name: str) -> None:
        now = time.monotonic()
        self.timings[name] = round((now - self.mark) * 1000.0, 1)
        self.mark = now


def load_page(
    url: str,
    *,
    workdir: Path,
    timeout: float,
    viewport: tuple[int, int] = (1280, 800),
    progress: Callable[[str], None] | None = None,
    ignore_https_errors: bool = False,
) -> PageLoad:
    """Load ``url`` in a fresh headless Chromium and record everything it exchanged.

    Bodies are written under ``workdir``. Raises CaptureError when the page cannot be
    reached or does not answer within ``timeout`` seconds, BrowserError when Chromium
    cannot start. A 4xx/5xx main document is a normal PageLoad with a warning.
    """
    executable = find_browser()
    return asyncio.run(
        _load(
            url,
            executable=executable,
            workdir=workdir,
            timeout=timeout,
            viewport=viewport,
            progress=progress or (lambda _step: None),
            ignore_https_errors=ignore_https_errors,
        )
    )


async def _launch(pw: Any, executable: Path, timeout: float) -> Browser:
    args = launch_args()
    try:
        browser: Browser = await pw.chromium.launch(
            executable_path=str(executable),
            headless=True,
            args=args,
            timeout=max(timeout, 30.0) * 1000.0,
        )
    except PlaywrightError as err:
        lines = [ln.strip() for ln in str(err).splitlines() if ln.strip()]
        reason = lines[0].removeprefix("BrowserType.launch: ") if lines else "unknown error"
        raise BrowserError(f"cannot start the browser {executable}: {reason}") from err
    return browser


async def _load(
    url: str,
    *,
    executable: Path,
    workdir: Path,
    timeout: float,
    viewport: tuple[int, int],
    progress: Callable[[str], None],
    ignore_https_errors: bool,
) -> PageLoad:
    started = datetime.now(UTC)
    clock = _Clock()
    bodies = workdir / "bodies"
    bodies.mkdir(parents=True, exist_ok=True)
    progress("launching browser")
    async with async_playwright() as pw:
        browser = await _launch(pw, executable, timeout)
        version_task = asyncio.ensure_future(asyncio.to_thread(browser_version, executable))
        recorder: _Recorder | None = None
        try:
            clock.lap("launch")
            context = await browser.new_context(
                viewport={"width": viewport[0], "height": viewport[1]},
                service_workers="block",
                accept_downloads=True,
                ignore_https_errors=ignore_https_errors,
            )
            page = await context.new_page()
            session = await context.new_cdp_session(page)
            recorder = _Recorder(session, bodies)
            recorder.watch(context)
            await session.send(
                "Network.enable",
                {"maxResourceBufferSize": 64 * 2**20, "maxTotalBufferSize": 256 * 2**20},
            )
            await recorder.intercept_responses()
            tree = await session.send("Page.getFrameTree")
            main_frame = str(tree["frameTree"]["frame"]["id"])
            downloads: list[Download] = []

            def on_download(download: Download) -> None:
                downloads.append(download)

            page.on("download", on_download)
            result = await _ready(page, recorder, url, timeout, clock, progress, downloads)
            return await _finish(
                page=page,
                session=session,
                recorder=recorder,
                main_frame=main_frame,
                url=url,
                started=started,
                clock=clock,
                progress=progress,
                viewport=viewport,
                version=await version_task,
                downloads=downloads,
                ready=result,
                bodies=bodies,
                timeout=timeout,
            )
        finally:
            if recorder is not None:
                recorder.close_streams()
            if not version_task.done():
                version_task.cancel()
            await browser.close()


class _Steps:
    """Runs page steps each bounded in time; failures become warnings, not errors.

    Once one step times out the page is taken as stuck (e.g. a script in an endless
    loop): later steps get only a short bound so the capture still ends promptly.
    """

    STUCK_BOUND_S = 1.0

    def __init__(self, warnings: list[str]) -> None:
        self.warnings = warnings
        self.stuck = False

    async def run(
        self, work: Coroutine[Any, Any, T], seconds: float, what: str, *, quiet: bool = False
    ) -> T | None:
        bound = min(seconds, self.STUCK_BOUND_S) if self.stuck else seconds
        try:
            return await asyncio.wait_for(work, bound)
        except TimeoutError:
            self.stuck = True
            if not quiet:
                self.warnings.append(f"{what} did not finish within {bound:.0f} s")
        except PlaywrightError as err:
            if not quiet:
                self.warnings.append(f"{what} failed: {str(err).strip().splitlines()[0]}")
        return None


@dataclass
class _Ready:
    steps: _Steps  # carries the warnings so far, and whether the page is stuck
    downloaded: bool


async def _ready(
    page: Page,
    recorder: _Recorder,
    url: str,
    timeout: float,
    clock: _Clock,
    progress: Callable[[str], None],
    downloads: list[Download],
) -> _Ready:
    """Navigate and wait for readiness: load, idle, scroll pass, idle, back to top."""
    deadline = time.monotonic() + timeout
    warnings: list[str] = []
    steps = _Steps(warnings)
    progress("loading")
    try:
        await page.goto(url, wait_until="commit", timeout=timeout * 1000.0)
    except PlaywrightTimeoutError as err:
        raise CaptureError(f"{url} did not answer within {timeout:g} s") from err
    except PlaywrightError as err:
        if "Download is starting" in str(err) or downloads:
            clock.lap("navigate")
            return _Ready(steps, downloaded=True)
        raise _capture_error(url, str(err)) from err
    clock.lap("navigate")
    remaining = max(0.0, deadline - time.monotonic())
    try:
        await page.wait_for_load_state("load", timeout=max(remaining, 0.001) * 1000.0)
    except PlaywrightTimeoutError:
        warnings.append(f"load event did not fire within {timeout:g} s")
    clock.lap("load")
    progress("waiting for network idle")
    idle = await recorder.wait_idle(deadline)
    clock.lap("idle")
    progress("scrolling")
    left = max(0.0, deadline - time.monotonic())
    scroll = page.evaluate(SCROLL_SCRIPT, [200, time.time() * 1000.0 + left * 1000.0])
    await steps.run(scroll, left + STEP_GRACE_S, "scroll pass")
    clock.lap("scroll")
    progress("waiting for network idle")
    recorder.touch()  # lazy loads the last scroll step started may not have reported yet
    idle = await recorder.wait_idle(deadline, quiet=QUIET_AFTER_SCROLL_S) and idle
    if not idle and recorder.inflight:
        warnings.append(f"network never went idle within {timeout:g} s")
    clock.lap("idle_after_scroll")
    await steps.run(page.evaluate(SCROLL_TOP_SCRIPT), STEP_GRACE_S, "scroll back to top")
    clock.lap("scroll_top")
    return _Ready(steps, downloaded=bool(downloads))


async def _finish(
    *,
    page: Page,
    session: CDPSession,
    recorder: _Recorder,
    main_frame: str,
    url: str,
    started: datetime,
    clock: _Clock,
    progress: Callable[[str], None],
    viewport: tuple[int, int],
    version: str,
    downloads: list[Download],
    ready: _Ready,
    bodies: Path,
    timeout: float,
) -> PageLoad:
    """Screenshot, DOM, bodies, main document facts: assemble the PageLoad."""
    warnings, steps = ready.steps.warnings, ready.steps
    limit = max(timeout, 10.0)  # each step's own bound: a stuck page must not hang us
    screenshot, dom, title, consent = b"", "", "", False
    if not ready.downloaded:
        progress("screenshot")
        # Full-page screenshots hang on non-HTML documents (an SVG file): shoot the viewport.
        kind = await steps.run(page.evaluate("document.contentType"), STEP_GRACE_S, "", quiet=True)
        full = kind in _FULL_PAGE_TYPES
        shot = page.screenshot(full_page=full, type="png", timeout=limit * 1000.0)
        screenshot = await steps.run(shot, limit + STEP_GRACE_S, "screenshot") or b""
        clock.lap("screenshot")
        progress("saving page")
        dom = await steps.run(page.content(), limit, "rendered DOM") or ""
        title = await steps.run(page.title(), STEP_GRACE_S, "title", quiet=True) or ""
        consent = bool(
            await steps.run(page.evaluate(CONSENT_SCRIPT), STEP_GRACE_S, "consent", quiet=True)
        )
        clock.lap("dom")
    progress("saving bodies")
    await _Steps(warnings).run(recorder.settle(), limit, "reading response bodies")
    exchanges, failed, main_id = recorder.exchanges(main_frame)
    await recorder.add_unseen(exchanges, failed)
    for download in downloads:
        await _adopt_download(download, exchanges, bodies, warnings)
    clock.lap("bodies")
    main_index = _main_index(exchanges, main_id, page.url, url)
    if main_index is None:
        raise CaptureError(f"cannot load {url}: the browser recorded no response for it")
    main = exchanges[main_index]
    main = Exchange(**{**main.__dict__, "is_main_document": True})
    exchanges[main_index] = main
    user_agent = next((v for k, v in main.request_headers if k.lower() == "user-agent"), "")
    if main.status >= 400:
        warnings.insert(0, f"HTTP {main.status}")
    if consent:
        warnings.append("consent wall suspected")
    if ready.downloaded:
        warnings.append(f"the browser downloaded {main.mime_type or 'the file'}: no screenshot")
    warnings.extend(recorder.warnings)
    tls: list[str] = []
    parts = urlsplit(main.url)
    if parts.scheme == "https":
        try:
            cert = await session.send(
                "Network.getCertificate", {"origin": f"https://{parts.netloc}"}
            )
            tls = _pem_chain(cert.get("tableNames", []))
        except PlaywrightError:
            warnings.append(f"TLS certificate chain of {parts.netloc} not available")
    clock.timings["total"] = round((time.monotonic() - clock.started) * 1000.0, 1)
    return PageLoad(
        requested_url=url,
        final_url=main.url,
        main_status=main.status,
        main_mime_type=main.mime_type,
        exchanges=exchanges,
        failed=failed,
        screenshot_png=screenshot,
        dom_html=dom,
        title=title,
        browser_version=version,
        user_agent=user_agent,
        viewport=viewport,
        started=started,
        ended=datetime.now(UTC),
        timings_ms=dict(clock.timings),
        tls_chain_pem=tls,
        server_ip=main.remote_ip,
        warnings=warnings,
    )


def _main_index(
    exchanges: list[Exchange], main_id: str | None, page_url: str, requested: str
) -> int | None:
    """The top-level document's final response: the main-frame navigation now shown."""
    candidates = [i for i, ex in enumerate(exchanges) if ex.request_id == main_id]
    if candidates:
        return candidates[-1]
    for target in (_strip_fragment(page_url), _strip_fragment(requested)):
        for i in range(len(exchanges) - 1, -1, -1):
            ex = exchanges[i]
            if ex.url == target and not ex.is_redirect and ex.resource_type == "Document":
                return i
    return None


async def _adopt_download(
    download: Download, exchanges: list[Exchange], bodies: Path, warnings: list[str]
) -> None:
    """A navigation the browser turned into a download: its file is the response body."""
    try:
        path = await download.path()
    except PlaywrightError as err:
        warnings.append(f"download of {download.url} failed: {str(err).splitlines()[0]}")
        return
    for i in range(len(exchanges) - 1, -1, -1):
        ex = exchanges[i]
        if ex.url == download.url and not ex.is_redirect and ex.body_path is None:
            target = bodies / f"download-{i}.body"
            shutil.copyfile(path, target)
            exchanges[i] = Exchange(
                **{**ex.__dict__, "body_path": target, "body_size": target.stat().st_size}
            )
            return
