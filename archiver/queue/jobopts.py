"""Capture options as a job message: what the coordinator sends and a worker rebuilds.

The message is JSON in Redis until the job is acknowledged, so only plain values go in.
"""

from __future__ import annotations

from typing import Any

from ..capture.run import CaptureOptions


def to_job_doc(options: CaptureOptions) -> dict[str, Any]:
    """``options`` as the JSON a job carries (the job id is added by the worker)."""
    return {
        "timeout": options.timeout,
        "viewport": list(options.viewport),
        "tsa_urls": list(options.tsa_urls),
        "tsa_timeout": options.tsa_timeout,
    }


def from_job_doc(doc: dict[str, Any], job_id: str) -> CaptureOptions:
    """The capture options of a job message, for job ``job_id``."""
    viewport = doc.get("viewport")
    return CaptureOptions(
        timeout=float(doc.get("timeout", 30.0)),
        viewport=(int(viewport[0]), int(viewport[1])) if viewport else CaptureOptions().viewport,
        tsa_urls=tuple(doc.get("tsa_urls", ())),
        tsa_timeout=float(doc.get("tsa_timeout", 10.0)),
        job_id=job_id,
    )
