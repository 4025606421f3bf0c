"""Plain data passed between the modules of a capture.

browser.py produces a PageLoad; warc.py turns it into records and returns RecordInfo
for each; package.py, manifest.py and archive.py consume RecordInfo. Nothing here
does any work.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

Headers = list[tuple[str, str]]


@dataclass(frozen=True)
class Exchange:
    """One HTTP request and its response, as Chromium's network stack saw them.

    ``body_path`` holds the body as the browser handed it over (already decoded from
    any Content-Encoding), streamed to a temporary file; ``None`` when there is no
    body (e.g. a redirect hop or a HEAD request). ``response_headers`` are the
    headers exactly as received, including Content-Encoding: warc.py rewrites them
    to describe the stored payload.
    """

    request_id: str
    url: str
    method: str
    request_headers: Headers
    request_body: bytes | None
    http_version: str  # "HTTP/1.1", "HTTP/2" (as "h2" reported by CDP, normalised)
    status: int
    status_text: str
    response_headers: Headers
    body_path: Path | None
    body_size: int
    mime_type: str
    resource_type: str  # CDP type: Document, Stylesheet, Image, Font, Script, XHR, Fetch, ...
    started: datetime  # UTC, when the request was sent
    duration_ms: float | None = None
    remote_ip: str | None = None
    remote_port: int | None = None
    is_redirect: bool = False  # a 3xx hop whose Location the browser followed
    is_main_document: bool = False  # the top-level document's final response


@dataclass(frozen=True)
class FailedRequest:
    """A request the browser made that got no HTTP response (refused, aborted, blocked)."""

    url: str
    method: str
    resource_type: str
    error: str


@dataclass
class PageLoad:
    """Everything browser.load_page() learned about one page."""

    requested_url: str
    final_url: str
    main_status: int
    main_mime_type: str
    exchanges: list[Exchange]
    failed: list[FailedRequest]
    screenshot_png: bytes
    dom_html: str
    title: str
    browser_version: str  # e.g. "Chromium 156.0.8078.108"
    user_agent: str
    viewport: tuple[int, int]
    started: datetime  # UTC
    ended: datetime  # UTC
    timings_ms: dict[str, float] = field(default_factory=dict)  # phase name -> duration
    tls_chain_pem: list[str] = field(default_factory=list)  # main document, leaf first
    server_ip: str | None = None
    warnings: list[str] = field(default_factory=list)
    # what the capture's options did: consent clicks (dialog, button, choice, time),
    # requests refused by --block (never sent: not in the WARC), walls still in the way
    consent_clicks: list[dict[str, Any]] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    walls: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RecordInfo:
    """Where one WARC record sits in ``archive/data.warc.gz`` and what it says."""

    record_id: str  # "<urn:uuid:...>" exactly as in WARC-Record-ID
    type: str  # warcinfo, request, response, resource, metadata, revisit
    target_uri: str | None
    date: str  # WARC-Date, ISO 8601 UTC
    offset: int  # byte offset of the gzip member in data.warc.gz
    length: int  # byte length of the gzip member
    content_type: str  # the record's Content-Type header
    block_digest: str  # "sha256:<hex>"
    payload_digest: str | None  # "sha256:<hex>"; None for types without a payload digest
    status: int | None = None  # HTTP status for response records
    mime: str | None = None  # payload MIME type (for the CDXJ)
