"""Capture options as a job message: what the coordinator sends and a worker rebuilds.

The message is JSON in Redis until the job is acknowledged, so only plain values go in.
The page options (``page``: cookies, headers, device, script, ...) travel whole, secret
values included, so the worker's package records exactly what a local capture records;
``public_doc`` is the same document with those values only as hashes (what may be
shown, logged or hashed into a job id). A message without ``page`` (an older
coordinator) captures with the default page setup.
"""

from __future__ import annotations

from typing import Any

from ..capture.pageopts import PageSetup
from ..capture.run import CaptureOptions


def to_job_doc(options: CaptureOptions) -> dict[str, Any]:
    """``options`` as the JSON a job carries (the job id is added by the worker); a
    UsageError when its page setup cannot travel (a profile)."""
    doc: dict[str, Any] = {
        "timeout": options.timeout,
        "viewport": list(options.viewport),
        "tsa_urls": list(options.tsa_urls),
        "tsa_timeout": options.tsa_timeout,
    }
    if not options.page.is_default:
        doc["page"] = options.page.to_message()
    return doc


def from_job_doc(doc: dict[str, Any], job_id: str) -> CaptureOptions:
    """The capture options of a job message, for job ``job_id``."""
    viewport = doc.get("viewport")
    return CaptureOptions(
        timeout=float(doc.get("timeout", 30.0)),
        viewport=(int(viewport[0]), int(viewport[1])) if viewport else CaptureOptions().viewport,
        tsa_urls=tuple(doc.get("tsa_urls", ())),
        tsa_timeout=float(doc.get("tsa_timeout", 10.0)),
        job_id=job_id,
        page=PageSetup.from_message(doc.get("page")),
    )


def public_doc(doc: dict[str, Any]) -> dict[str, Any]:
    """``doc`` with its page options as the package records them (secrets hashed)."""
    if "page" not in doc:
        return doc
    return {**doc, "page": PageSetup.from_message(doc["page"]).record()}


def secret_values(doc: dict[str, Any]) -> list[str]:
    """The secret values a job message carries (cookie and header values)."""
    from ..capture.pagemessage import secret_values as values

    return values(doc.get("page") if isinstance(doc, dict) else None)
