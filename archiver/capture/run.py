"""Orchestrate one capture: browser -> WARC records -> WACZ package -> proof -> index.

Nothing is written under the final package name until every step has succeeded:
the WARC and the bodies live in a work folder inside the archive, and the package is
renamed into place by ``package.write_wacz``. Both temporary names say which process
owns them, so each capture first clears what killed captures left (``Archive.tidy``).
"""

from __future__ import annotations

import importlib
import shutil
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from .. import SOFTWARE, layout, package
from ..archive.entry import IndexEntry, text_sha256
from ..archive.index import Archive
from ..model import PageLoad
from ..proof import seal
from ..proof.signing import fingerprint
from ..proof.tokens import token_time
from ..times import iso_utc, now_utc
from ..urls import validate_url
from . import browser
from .chromium import DEFAULT_VIEWPORT
from .netpolicy import NetworkPolicy
from .pageopts import PageSetup
from .records import _capture_facts, _write_warc
from .session import BrowserSession

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
    session: BrowserSession | None = None,
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
