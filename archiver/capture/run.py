"""Orchestrate one capture: browser -> WARC records -> WACZ package -> proof -> index.

Nothing is written under the final package name until every step has succeeded:
the WARC and the bodies live in a work folder inside the archive, and the package is
renamed into place by ``package.write_wacz``. Both temporary names say which process
owns them, so each capture first clears what killed captures left (``Archive.tidy``).
"""

from __future__ import annotations

import importlib
import json
import platform
import shutil
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from .. import SOFTWARE, __version__, layout, package
from ..archive.entry import IndexEntry, text_sha256
from ..archive.index import Archive
from ..model import PageLoad, RecordInfo
from ..proof import seal
from ..proof.signing import fingerprint
from ..proof.tokens import token_time
from ..times import iso_utc, now_utc
from ..urls import validate_url
from ..warc import WarcRecorder
from . import browser
from .chromium import DEFAULT_VIEWPORT
from .netpolicy import NetworkPolicy
from .pageopts import PageSetup, redact_headers, redact_set_cookie
from .thumbnail import thumbnail

Progress = Callable[[str], None]

DEFAULT_TIMEOUT = 30.0


@dataclass(frozen=True)
class CaptureOptions:
    """What the user chose for a capture; recorded in warcinfo and the manifest."""

    timeout: float = DEFAULT_TIMEOUT
    viewport: tuple[int, int] = DEFAULT_VIEWPORT
    tsa_urls: tuple[str, ...] = ()
    tsa_timeout: float = 10.0
    # Addresses the browser may reach (archiver serve: public only); None = no policy.
    network_policy: NetworkPolicy | None = None
    # The queued job this capture runs for (archiver worker): recorded so retries of
    # one job can be told apart from a second capture of the same URL.
    job_id: str | None = None
    # What changes what the page shows (cookies, profile, headers, device, waits, script,
    # consent, blocking): recorded with secrets only as names and hashes.
    page: PageSetup = field(default_factory=PageSetup)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "timeout_s": self.timeout,
            "viewport": f"{self.viewport[0]}x{self.viewport[1]}",
            "tsa_urls": list(self.tsa_urls),
        }
        if self.network_policy is not None:
            out["network_policy"] = self.network_policy.as_dict()
        if self.job_id is not None:
            out["job_id"] = self.job_id
        if not self.page.is_default:
            out["page"] = self.page.record()
        return out


@dataclass
class CaptureResult:
    """What one capture produced: shown to the user and printed with ``--json``."""

    id: str
    path: Path
    url: str
    final_url: str
    status: int
    title: str
    started: str
    ended: str
    package_sha256: str
    records: int
    signed_by: str
    timestamps: int
    article: bool
    warnings: list[str] = field(default_factory=list)
    walls: list[str] = field(default_factory=list)  # "consent", "login/paywall", "bot check"

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": True,
            "id": self.id,
            "path": str(self.path),
            "url": self.url,
            "final_url": self.final_url,
            "status": self.status,
            "title": self.title,
            "started": self.started,
            "ended": self.ended,
            "package_sha256": self.package_sha256,
            "records": self.records,
            "signed_by": self.signed_by,
            "timestamps": self.timestamps,
            "article": self.article,
            "warnings": list(self.warnings),
            "walls": list(self.walls),
        }


def capture_url(
    url: str,
    *,
    archive: Archive,
    key: Ed25519PrivateKey,
    options: CaptureOptions,
    progress: Progress | None = None,
    session: browser.BrowserSession | None = None,
) -> CaptureResult:
    """Capture ``url`` into a new signed package in ``archive`` and index it.

    With ``session`` the page loads in that session's running browser (a batch);
    without, in a browser started for this capture alone.
    """
    say: Progress = progress or (lambda _step: None)
    url = validate_url(url)
    if options.network_policy is not None:
        options.network_policy.check_url(url)  # refused before a browser starts
    warming = _prewarm_extractor()
    recovered = [
        f"an interrupted capture had left a complete package: indexed it as {entry.id} ({path})"
        for entry, path in archive.tidy().recovered
    ]
    capture_id = archive.new_id(now_utc())
    dest = archive.package_path(capture_id)
    work = archive.work_folder(capture_id)
    try:
        load = (session or browser).load_page(
            url,
            workdir=work,
            timeout=options.timeout,
            viewport=options.viewport,
            progress=say,
            policy=options.network_policy,
            setup=options.page,
        )
        if options.network_policy is not None:  # what the browser really connected to
            reached = [(ex.url, ex.remote_ip) for ex in load.exchanges]
            options.network_policy.check_connected(reached)
        say("extracting article text")
        warming.join()
        from .. import extract

        text_doc = extract.extract(load.dom_html, load.final_url, mime_type=load.main_mime_type)
        if text_doc["article"] is None:
            text_doc = _article_as_served(load, text_doc)
        say("writing WARC records")
        page_id = uuid.uuid4().hex
        warc_path = work / "data.warc.gz"
        records = _write_warc(warc_path, load, text_doc, page_id, capture_id, options)
        ts14 = iso_utc(load.started)
        title = _title(load, text_doc)
        content: list[tuple[str, Path | bytes]] = [
            (layout.WARC, warc_path),
            (layout.CDXJ, package.build_cdxj(records)),
            (
                layout.PAGES,
                package.build_pages(page_id=page_id, url=load.final_url, ts=ts14, title=title),
            ),
        ]
        say("signing and timestamping")
        facts = _capture_facts(capture_id, load, options)
        provenance, proof_warnings = seal(
            capture=facts,
            content=content,
            records=records,
            key=key,
            tsa_urls=options.tsa_urls,
            timeout=options.tsa_timeout,
        )
        say("writing package")
        sha = package.write_wacz(
            dest,
            [*content, *provenance],
            title=title,
            main_page_url=load.final_url,
            main_page_date=ts14,
            software=SOFTWARE,
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    tokens = [data for name, data in provenance if layout.is_token(name)]
    warnings = [*recovered, *load.warnings, *proof_warnings]
    if text_doc.get("article") is None and text_doc.get("reason"):
        warnings.append(f"no article text: {text_doc['reason']}")
    signer = fingerprint(key.public_key())
    entry = IndexEntry(
        id=capture_id,
        url=load.requested_url,
        final_url=load.final_url,
        started=iso_utc(load.started, micro=True),
        ended=iso_utc(load.ended, micro=True),
        status=load.main_status,
        title=title,
        package_sha256=sha,
        text_sha256=text_sha256(text_doc),
        signed_by=signer,
        tsa_times=sorted(t for data in tokens if (t := token_time(data))),
        walls=list(load.walls),
    )
    archive.add(entry)
    return CaptureResult(
        id=capture_id,
        path=dest.resolve(),
        url=load.requested_url,
        final_url=load.final_url,
        status=load.main_status,
        title=title,
        started=entry.started,
        ended=entry.ended,
        package_sha256=sha,
        records=len(records),
        signed_by=signer,
        timestamps=len(tokens),
        article=text_doc.get("article") is not None,
        warnings=warnings,
        walls=list(load.walls),
    )


MAX_SERVED_BYTES = 20 * 2**20


def _article_as_served(load: PageLoad, rendered: dict[str, Any]) -> dict[str, Any]:
    """The text document from the main document's HTML as served, if only that has an article.

    A page can leave no article in its rendered DOM although it sent one: a script that
    document.write()s after load wipes the page; a script stuck in a loop lets no DOM be
    read. The served HTML is in the WARC too, so its article is evidence of what the URL
    said; the capture's warnings say where the text came from.
    """
    from .. import extract

    main = next((ex for ex in load.exchanges if ex.is_main_document), None)
    if main is None or main.body_path is None or main.mime_type not in extract.HTML_TYPES:
        return rendered
    if not 0 < main.body_size <= MAX_SERVED_BYTES:
        return rendered
    content_type = next((v for k, v in main.response_headers if k.lower() == "content-type"), "")
    html = extract.decode_html(main.body_path.read_bytes(), content_type)
    served = extract.extract(html, load.final_url, mime_type=main.mime_type)
    if served["article"] is None:
        return rendered
    load.warnings.append(
        "the rendered page held no article: article text taken from the HTML as served"
    )
    return served


def _prewarm_extractor() -> threading.Thread:
    """Import the extractor (trafilatura, lxml: a few hundred ms) while Chromium starts."""
    thread = threading.Thread(
        target=importlib.import_module, args=("archiver.extract",), daemon=True
    )
    thread.start()
    return thread


def _title(load: PageLoad, text_doc: dict[str, Any]) -> str:
    article = text_doc.get("article")
    if isinstance(article, dict) and article.get("title"):
        return str(article["title"])
    return load.title or load.final_url


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
