"""Record what one page exchanged, from the Network domain events of its CDP session.

``Recorder`` listens to ``Network.*`` events (and pauses responses through ``Fetch``),
streams every body it can to a file under ``bodies`` (``Network.streamResourceContent``,
else ``Network.getResponseBody`` once loaded), keeps count of requests in flight for
readiness, and hands back ``Exchange`` / ``FailedRequest`` values. It talks to the
browser only through a ``CdpSession``: browser.py adapts Playwright's session to it, so
this module never imports Playwright.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import re
import time
from collections.abc import Callable, Coroutine, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from ..model import Exchange, FailedRequest
from .exchanges import Hop, Tracked, collect, content_length, is_http

QUIET_S = 0.5  # no request in flight for this long = network idle
STEP_GRACE_S = 5.0  # bound for quick steps (starting a stream; page steps in browser.py)
_BODY_STATUSES_WITHOUT_BODY = {101, 204, 205, 304}
# Documents Chromium shows in a built-in viewer instead of handing the body to the page.
_VIEWER_TYPES = {"application/pdf", "application/x-pdf"}
_PAUSED_TYPES = ("Document", "Fetch", "XHR", "Script", "Other")
_EVENTS = (
    "requestWillBeSent",
    "requestWillBeSentExtraInfo",
    "responseReceived",
    "responseReceivedExtraInfo",
    "requestServedFromCache",
    "dataReceived",
    "loadingFinished",
    "loadingFailed",
)


class CdpError(Exception):
    """A CDP command the browser refused or could not answer; ``str`` is its message."""


class CdpSession(Protocol):
    """The page's CDP session: commands raise CdpError when the browser refuses them."""

    def on(self, event: str, handler: Callable[[dict[str, Any]], None]) -> None: ...

    async def send(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]: ...


def _decoded(result: Mapping[str, Any], key: str) -> bytes:
    """A body or post data from a CDP result, base64 or text."""
    raw = str(result.get(key, ""))
    return base64.b64decode(raw) if result.get("base64Encoded") else raw.encode("utf-8")


def _safe_name(request_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", request_id)


def _close_stream(req: Tracked) -> None:
    if req.stream_file is not None:
        req.stream_file.close()
        req.stream_file = None


class Recorder:
    """Collects Network domain events of one page target into Exchanges."""

    def __init__(self, session: CdpSession, bodies: Path) -> None:
        self.session = session
        self.bodies = bodies
        self.requests: dict[str, Tracked] = {}
        self.inflight: set[str] = set()
        self.last_change = time.monotonic()
        self.tasks: set[asyncio.Task[None]] = set()
        self.warnings: list[str] = []
        self.document_bodies: dict[str, Path] = {}
        for name in _EVENTS:
            session.on(f"Network.{name}", getattr(self, f"_on_{name}"))

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    def touch(self) -> None:
        self.last_change = time.monotonic()

    def _tracked(self, request_id: str) -> Tracked:
        """The request under this id; an ExtraInfo event may come before requestWillBeSent."""
        req = self.requests.get(request_id)
        if req is None:
            req = Tracked(request_id, "", "Other")
            self.requests[request_id] = req
        return req

    # events ---------------------------------------------------------------------------------

    def _on_requestWillBeSent(self, ev: dict[str, Any]) -> None:
        rid = ev["requestId"]
        req = self.requests.get(rid)
        if req is None:
            req = Tracked(rid, ev.get("frameId", ""), ev.get("type", "Other"))
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
            Hop(
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
        if redirect is None and is_http(request["url"]) and req.resource_type != "Document":
            req.stream_state = "pending"
            req.stream_task = self._spawn(self._start_stream(req, early=True))
        self.touch()

    async def _fetch_post_data(self, req: Tracked, index: int) -> None:
        """A large request body is not inlined in the event: ask for it."""
        try:
            result = await self.session.send(
                "Network.getRequestPostData", {"requestId": req.request_id}
            )
        except CdpError:
            return
        data = _decoded(result, "postData")
        if index < len(req.hops):
            req.hops[index].post_data = data

    def _on_requestWillBeSentExtraInfo(self, ev: dict[str, Any]) -> None:
        self._tracked(ev["requestId"]).sent_extra.append(ev)

    def _on_responseReceivedExtraInfo(self, ev: dict[str, Any]) -> None:
        self._tracked(ev["requestId"]).recv_extra.append(ev)

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
            and is_http(response.get("url", ""))
            and not response.get("fromDiskCache")
        ):
            req.stream_state = "pending"
            req.stream_task = self._spawn(self._start_stream(req))

    async def _start_stream(self, req: Tracked, *, early: bool = False) -> None:
        """Ask Chromium to hand over the body as dataReceived chunks.

        Asked as soon as the request is sent, so that little is buffered before streaming
        starts; if the renderer does not know the request yet, asked again once the
        response is in.
        """
        try:
            result = await self.session.send(
                "Network.streamResourceContent", {"requestId": req.request_id}
            )
        except CdpError:
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
        _close_stream(req)

    # bodies ---------------------------------------------------------------------------------

    def _body_file(self, req: Tracked) -> Path:
        if req.body_path is None:
            req.body_path = self.bodies / f"{_safe_name(req.request_id)}.body"
        return req.body_path

    async def _finish_body(self, req: Tracked) -> None:
        if req.stream_task is not None:
            await req.stream_task
        _close_stream(req)
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
        if not is_http(hop.url):
            return
        try:
            result = await self.session.send(
                "Network.getResponseBody", {"requestId": req.request_id}
            )
        except CdpError as err:
            req.body_path, req.body_size = None, 0
            if req.decoded_len > 0 or response.get("encodedDataLength", 0) > 0:
                reason = str(err).rpartition(":")[2].strip() or "unavailable"
                self.warnings.append(f"body of {hop.url} not recorded: {reason}")
            return
        data = _decoded(result, "body")
        if not data:
            req.body_path, req.body_size = None, 0
            if req.decoded_len > 0 or content_length(response) > 0:
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
        except CdpError as err:
            self.warnings.append(f"body of {ev.get('request', {}).get('url')} not read: {err}")
        finally:
            with contextlib.suppress(CdpError):
                await self.session.send("Fetch.continueRequest", {"requestId": ev["requestId"]})

    async def _ensure_streaming(self, req: Tracked) -> None:
        if req.stream_task is not None and not req.stream_task.done():
            await asyncio.wait([req.stream_task], timeout=STEP_GRACE_S)
        if req.stream_state == "none":
            req.stream_state = "pending"
            req.stream_task = self._spawn(self._start_stream(req))
            await asyncio.wait([req.stream_task], timeout=STEP_GRACE_S)

    async def _read_document(self, fetch_id: str, network_id: str) -> None:
        result = await self.session.send("Fetch.getResponseBody", {"requestId": fetch_id})
        path = self.bodies / f"{_safe_name(network_id)}.document"
        path.write_bytes(_decoded(result, "body"))
        self.document_bodies[network_id] = path

    # requests seen outside the page target (dedicated workers) ----------------------------

    def outside_started(self, key: str, *, ends: bool) -> None:
        """A request seen outside the page's session began; ``ends`` unless it is a stream."""
        if ends:
            self.inflight.add(key)
        self.touch()

    def outside_settled(self, key: str, url: str) -> None:
        """It ended: so did the page's request for that URL (handed over to a worker target)."""
        self.inflight.discard(key)
        for rid in list(self.inflight):
            req = self.requests.get(rid)
            if req is not None and req.hops and req.hops[-1].url == url:
                self.inflight.discard(rid)
        self.touch()

    # waiting and results --------------------------------------------------------------------

    async def settle(self) -> None:
        """Wait for outstanding body transfers (those already finished loading)."""
        while self.tasks:
            await asyncio.gather(*list(self.tasks), return_exceptions=True)

    def close_streams(self) -> None:
        for req in self.requests.values():
            _close_stream(req)

    async def wait_idle(self, deadline: float, quiet: float = QUIET_S) -> bool:
        """True once nothing was in flight for ``quiet`` seconds; False at the deadline."""
        while True:
            now = time.monotonic()
            if not self.inflight and now - self.last_change >= quiet:
                return True
            if now >= deadline:
                return False
            await asyncio.sleep(min(0.05, max(0.0, deadline - now)))

    def exchanges(self, main_frame: str) -> tuple[list[Exchange], list[FailedRequest], str | None]:
        """All recorded exchanges in request order, failures, and the main document's id."""
        return collect(self.requests.values(), main_frame)
