"""Requests the page's CDP session does not answer for: dedicated workers'.

``_Workers`` follows Playwright's request events of a browser context, keeps the
recorder's in-flight count honest with them, and records the exchanges of the requests
the page's session never saw answered, from the browser's own responses.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from playwright.async_api import BrowserContext, Request
from playwright.async_api import Error as PlaywrightError

from ..model import Exchange, FailedRequest
from .exchanges import is_http, status_text
from .netlog import Recorder

_PW_TYPES = {"xhr": "XHR", "eventsource": "EventSource", "websocket": "WebSocket"}


class _Workers:
    """Follow Playwright's request events too: they include dedicated workers' requests.

    A worker's requests are not on the page's CDP session (a worker script starts there
    and finishes in the worker's target), so these events keep the recorder's in-flight
    count honest and let worker exchanges be recorded from the browser's own responses.
    """

    def __init__(self, recorder: Recorder, context: BrowserContext) -> None:
        self.recorder = recorder
        self.finished: list[Request] = []
        context.on("request", self._started)
        context.on("requestfinished", self._finished)
        context.on("requestfailed", self._failed)

    def _started(self, request: Request) -> None:
        # a stream never ends: not "in flight"
        self.recorder.outside_started(
            f"pw:{id(request)}", ends=request.resource_type != "eventsource"
        )

    def _finished(self, request: Request) -> None:
        self.finished.append(request)
        self.recorder.outside_settled(f"pw:{id(request)}", request.url)

    def _failed(self, request: Request) -> None:
        self.recorder.outside_settled(f"pw:{id(request)}", request.url)

    async def add_unseen(self, exchanges: list[Exchange], failed: list[FailedRequest]) -> None:
        """Record finished requests the page's CDP session never saw answered (workers)."""
        answered = {(ex.method, ex.url) for ex in exchanges}
        for request in self.finished:
            if (request.method, request.url) in answered:
                continue
            try:
                exchange = await self._exchange(request, len(exchanges))
            except PlaywrightError as err:
                self.recorder.warnings.append(
                    f"{request.url} not recorded: {str(err).splitlines()[0]}"
                )
                continue
            if exchange is not None:
                exchanges.append(exchange)
                failed[:] = [f for f in failed if f.url != request.url]

    async def _exchange(self, request: Request, index: int) -> Exchange | None:
        response = await request.response()
        if response is None or not is_http(request.url):
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
                body_path = self.recorder.bodies / f"worker-{index}.body"
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
            status_text=status_text(response.status, response.status_text),
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
