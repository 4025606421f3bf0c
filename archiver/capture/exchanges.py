"""What the recorder keeps per CDP request id, and how it becomes Exchanges.

Pure: no browser, no I/O. ``netlog.Recorder`` fills ``Tracked`` requests from
Network domain events; ``collect`` turns them into ``Exchange`` (one per hop: a
redirect hop is its own exchange) and ``FailedRequest`` values.
"""

from __future__ import annotations

import http
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from ..model import Exchange, FailedRequest, Headers

if TYPE_CHECKING:
    import asyncio


def header_list(headers: Mapping[str, Any] | None) -> Headers:
    """CDP header objects join repeated headers with newlines; split them back."""
    out: Headers = []
    for name, value in (headers or {}).items():
        if name.startswith(":"):
            continue  # HTTP/2 pseudo-headers belong to the request/status line
        out.extend((name, part) for part in str(value).split("\n"))
    return out


def parse_headers_text(text: str) -> Headers | None:
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


def http_version(protocol: str | None) -> str:
    proto = (protocol or "http/1.1").lower()
    if proto.startswith("h2"):
        return "HTTP/2"
    if proto.startswith("h3") or proto == "quic":
        return "HTTP/3"
    if proto.startswith("http/"):
        return proto.upper()
    return "HTTP/1.1"


def status_text(status: int, given: str | None) -> str:
    if given:
        return given
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return ""


def content_length(response: Mapping[str, Any]) -> int:
    for name, value in (response.get("headers") or {}).items():
        if name.lower() == "content-length" and str(value).strip().isdigit():
            return int(str(value).strip())
    return 0


def is_http(url: str) -> bool:
    return url.startswith(("http://", "https://"))


def strip_fragment(url: str) -> str:
    return url.partition("#")[0]


@dataclass
class Hop:
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
class Tracked:
    """Everything learned under one CDP request id, and the state of its body transfer."""

    request_id: str
    frame_id: str
    resource_type: str
    hops: list[Hop] = field(default_factory=list)
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
    stream_file: IO[bytes] | None = None
    stream_task: asyncio.Task[None] | None = None


def collect(
    requests: Iterable[Tracked], main_frame: str
) -> tuple[list[Exchange], list[FailedRequest], str | None]:
    """All recorded exchanges in request order, failures, and the main document's id."""
    exchanges: list[Exchange] = []
    failed: list[FailedRequest] = []
    main_id: str | None = None
    for req in requests:
        if not req.hops or not is_http(req.hops[0].url):
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
            exchanges.append(_exchange(req, index, hop, last))
    return exchanges, failed, main_id


def _exchange(req: Tracked, index: int, hop: Hop, last: bool) -> Exchange:
    response = hop.response or {}
    status = int(response.get("status", 0))
    sent = req.sent_extra[index] if index < len(req.sent_extra) else None
    recv = req.recv_extra[index] if index < len(req.recv_extra) else None
    if recv is not None and int(recv.get("statusCode", status)) != status:
        recv = None
    request_headers = header_list(sent["headers"] if sent else hop.headers)
    response_headers: Headers | None = None
    if recv is not None and recv.get("headersText"):
        response_headers = parse_headers_text(recv["headersText"])
    if response_headers is None:
        response_headers = header_list(recv["headers"] if recv else response.get("headers"))
    duration = None
    if hop.end_ts is not None and hop.ts:
        duration = round((hop.end_ts - hop.ts) * 1000.0, 3)
    body = req.body_path if last and not hop.is_redirect else None
    return Exchange(
        request_id=req.request_id if last else f"{req.request_id}#{index}",
        url=hop.url,
        method=hop.method,
        request_headers=request_headers,
        request_body=hop.post_data,
        http_version=http_version(response.get("protocol")),
        status=status,
        status_text=status_text(status, response.get("statusText")),
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


def find_main(
    exchanges: Sequence[Exchange], main_id: str | None, page_url: str, requested: str
) -> int | None:
    """Index of the top-level document's final response: the main-frame navigation shown.

    The main frame's Document request (``main_id`` from ``collect``), else the last
    Document exchange at the page's URL, else at the requested URL (fragments ignored).
    """
    candidates = [i for i, ex in enumerate(exchanges) if ex.request_id == main_id]
    if candidates:
        return candidates[-1]
    for target in (strip_fragment(page_url), strip_fragment(requested)):
        for i in range(len(exchanges) - 1, -1, -1):
            ex = exchanges[i]
            if ex.url == target and not ex.is_redirect and ex.resource_type == "Document":
                return i
    return None
