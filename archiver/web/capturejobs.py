"""Capture now: the form and the API that queue a capture, and the job's page and JSON."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from ..errors import CaptureError, UsageError
from ..schema import schema_id, validate
from . import views
from .common import Forbidden, app_state, json_response, read_form, read_json_body
from .jobs import Job
from .pageform import json_options, page_kwargs
from .pages import render


def _job_doc(job: Job) -> dict[str, Any]:
    links = {"page": f"/jobs/{job.id}", "api": f"/api/jobs/{job.id}"}
    if job.capture_id:
        links["capture"] = f"/captures/{job.capture_id}"
    doc = {"schema": schema_id("web-job.schema.json"), **job.to_json(), "links": links}
    validate(doc, "web-job.schema.json", what="API response")
    return doc


def _submit(request: Request, url: str, options: dict[str, Any]) -> Job:
    """Queue the capture; the options are checked first, as the command line checks them
    (a device name starts Playwright's driver: called in a worker thread)."""
    from ..capture.pageopts import page_setup

    queue = app_state(request).captures
    if not queue.enabled:
        raise Forbidden("this app was started without a signing key: it cannot capture")
    return queue.submit(url, page_setup(**options) if options else None)


async def capture_form(request: Request) -> Response:
    enabled = app_state(request).captures.enabled
    return render(request, "capture_new.html", {"enabled": enabled, "error": None, "url": ""})


async def capture_submit(request: Request) -> Response:
    form = await read_form(request)
    url = form.get("url", "")
    try:
        job = await run_in_threadpool(_submit, request, url, page_kwargs(form, strict=False))
    except (UsageError, CaptureError) as exc:
        ctx = {"enabled": True, "error": str(exc), "url": url, "opts": form}
        status = 400 if isinstance(exc, UsageError) else 422
        return render(request, "capture_new.html", ctx, status=status)
    return RedirectResponse(f"/jobs/{job.id}", status_code=303)


async def api_capture_submit(request: Request) -> Response:
    body = await read_json_body(request)
    if not isinstance(body.get("url"), str):
        raise views.BadRequest('the body must be a JSON object with "url": a string')
    options = json_options(body)  # a UsageError is a 400, as for any bad request
    job = await run_in_threadpool(_submit, request, body["url"], options)
    return json_response(_job_doc(job), 202)


def _job(request: Request) -> Job:
    job = app_state(request).captures.get(request.path_params["jid"])
    if job is None:
        raise views.NotFound(f"no capture job {request.path_params['jid']}")
    return job


async def job_page(request: Request) -> Response:
    return render(request, "job.html", {"doc": _job_doc(_job(request))})


async def api_job(request: Request) -> Response:
    return json_response(_job_doc(_job(request)))
