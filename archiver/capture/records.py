"""The documents a capture writes about itself, and the WARC that holds them.

``_write_warc`` writes warcinfo, every exchange (secret header values redacted), the
screenshot, thumbnail, DOM, extracted text, pageinfo and provenance records;
``_capture_facts`` is the capture's part of the signed proof.
"""

from __future__ import annotations

import json
import platform
import socket
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import SOFTWARE, __version__
from ..model import PageLoad, RecordInfo
from ..times import iso_utc
from ..warc import WarcRecorder
from .pageopts import PageSetup, redact_headers, redact_set_cookie
from .thumbnail import thumbnail

if TYPE_CHECKING:
    from .run import CaptureOptions


def _capture_facts(capture_id: str, load: PageLoad, options: CaptureOptions) -> dict[str, Any]:
    return {
        "id": capture_id,
        "requested_url": load.requested_url,
        "final_url": load.final_url,
        "status": load.main_status,
        "started": iso_utc(load.started, micro=True),
        "ended": iso_utc(load.ended, micro=True),
        "clock": "capturing machine's clock (not trusted time)",
        "software": SOFTWARE,
        "browser": load.browser_version,
        "user_agent": load.user_agent,
        "options": options.as_dict(),
        **({"walls": list(load.walls)} if load.walls else {}),
    }


def _write_warc(
    path: Path,
    load: PageLoad,
    text_doc: dict[str, Any],
    page_id: str,
    capture_id: str,
    options: CaptureOptions,
) -> list[RecordInfo]:
    final = load.final_url
    date = load.ended
    with path.open("wb") as out:
        rec = WarcRecorder(out, page_id=page_id)
        rec.warcinfo(_warcinfo_fields(load, capture_id, options))
        main_response: RecordInfo | None = None
        secret_names = options.page.secret_header_names()
        cookie_names = options.page.cookie_names()
        for ex in load.exchanges:
            request_headers, _ = redact_headers(ex.request_headers, secret_names)
            response_headers, _ = redact_set_cookie(ex.response_headers, cookie_names)
            ex = replace(ex, request_headers=request_headers, response_headers=response_headers)
            response, _request = rec.exchange(ex)
            if ex.is_main_document:
                main_response = response
        rec.resource(f"urn:screenshot:{final}", "image/png", load.screenshot_png, date=date)
        thumb = thumbnail(load.screenshot_png)
        if thumb is not None:
            rec.resource(f"urn:thumbnail:{final}", "image/png", thumb, date=date)
        rec.resource(
            f"urn:dom:{final}",
            "text/html; charset=utf-8",
            load.dom_html.encode("utf-8"),
            date=date,
        )
        rec.resource(f"urn:text:{final}", "application/json", _json_bytes(text_doc), date=date)
        rec.resource(
            f"urn:pageinfo:{final}", "application/json", _json_bytes(_pageinfo(load)), date=date
        )
        rec.metadata(
            f"urn:provenance:{final}",
            "application/json",
            _json_bytes(_provenance(load, capture_id, main_response, options)),
            date=date,
            refers_to=main_response.record_id if main_response else None,
        )
        out.flush()
        return list(rec.records)


def _json_bytes(doc: Any) -> bytes:
    return json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=True).encode("utf-8")


def _warcinfo_fields(load: PageLoad, capture_id: str, options: CaptureOptions) -> dict[str, str]:
    return {
        "software": SOFTWARE,
        "format": "WARC File Format 1.1",
        "conformsTo": "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/",
        "isPartOf": capture_id,
        "description": f"archiver capture of {load.requested_url}",
        "browser": load.browser_version,
        "http-header-user-agent": load.user_agent,
        "viewport": f"{load.viewport[0]}x{load.viewport[1]}",
        "capture-options": json.dumps(options.as_dict(), sort_keys=True),
        "hostname": socket.gethostname(),
        "operating-system": platform.platform(),
        "python": platform.python_version(),
        "archiver-version": __version__,
    }


def _pageinfo(load: PageLoad) -> dict[str, Any]:
    resources = [
        {
            "url": ex.url,
            "method": ex.method,
            "status": ex.status,
            "mime": ex.mime_type,
            "size": ex.body_size,
            "type": ex.resource_type,
            "started": iso_utc(ex.started, micro=True),
            "duration_ms": ex.duration_ms,
            "redirect": ex.is_redirect,
        }
        for ex in load.exchanges
    ]
    failed = [
        {"url": f.url, "method": f.method, "type": f.resource_type, "error": f.error}
        for f in load.failed
    ]
    return {
        "url": load.final_url,
        "title": load.title,
        "resources": resources,
        "failed": failed,
        "blocked": list(load.blocked),
        "counts": {
            "resources": len(resources),
            "failed": len(failed),
            "blocked": len(load.blocked),
        },
    }


def _provenance(
    load: PageLoad, capture_id: str, main: RecordInfo | None, options: CaptureOptions
) -> dict[str, Any]:
    policy = options.network_policy
    return {
        "network_policy": policy.as_dict() if policy is not None else {"name": "none"},
        "capture_id": capture_id,
        "requested_url": load.requested_url,
        "final_url": load.final_url,
        "redirects": [ex.url for ex in load.exchanges if ex.is_redirect and ex.method == "GET"],
        "status": load.main_status,
        "mime": load.main_mime_type,
        "server_ip": load.server_ip,
        "tls_chain_pem": list(load.tls_chain_pem),
        "main_response_record": main.record_id if main else None,
        "started": iso_utc(load.started, micro=True),
        "ended": iso_utc(load.ended, micro=True),
        "clock": "capturing machine's clock (not trusted time)",
        "timings_ms": dict(load.timings_ms),
        "browser": load.browser_version,
        "user_agent": load.user_agent,
        "viewport": list(load.viewport),
        "software": SOFTWARE,
        "warnings": list(load.warnings),
        "page_options": options.page.record(),
        "consent_clicks": list(load.consent_clicks),
        "blocked_requests": len(load.blocked),
        "walls": list(load.walls),
        "redaction": _redaction_note(load, options.page),
    }


def _redaction_note(load: PageLoad, page: PageSetup) -> dict[str, Any]:
    """Which header values the WARC's records hold only as hashes (and why)."""
    requests: set[str] = set()
    responses: set[str] = set()
    for ex in load.exchanges:
        requests.update(redact_headers(ex.request_headers, page.secret_header_names())[1])
        responses.update(redact_set_cookie(ex.response_headers, page.cookie_names())[1])
    return {
        "rule": "secret header values are stored as '[redacted by archiver; sha256=<hex>]'",
        "request_headers": sorted(requests),
        "response_headers": sorted(responses),
    }
