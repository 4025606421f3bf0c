"""What every route of the app shares: the app's long-lived ``State``, error and JSON
responses, query and form parsing with the CSRF check."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..archive.custody import Custody
from ..archive.index import Archive
from ..capture import CaptureOptions
from ..errors import ArchiverError
from . import views
from .jobs import CaptureQueue
from .pages import render
from .settings import AppSettings
from .storesync import StoreFollower
from .verifier import Verifier


class State:
    """One app's long-lived parts."""

    def __init__(self, settings: AppSettings) -> None:
        self.settings = settings
        archive = Archive(settings.archive)
        custody = Custody(archive)
        self.verifier = Verifier(custody, trusted_keys_file=settings.trusted_keys_file)
        self.ctx = views.Context(archive, custody, self.verifier)
        options = CaptureOptions(
            timeout=settings.capture_timeout,
            tsa_urls=settings.tsa_urls,
            network_policy=settings.policy,
        )
        self.captures = CaptureQueue(settings.archive, settings.key, options)
        self.store_sync = (
            StoreFollower(settings.archive, settings.store, settings.sync_every)
            if settings.store is not None
            else None
        )


def app_state(request: Request) -> State:
    state: State = request.app.state.archiver
    return state


def wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def error_response(request: Request, status: int, message: str) -> Response:
    if wants_json(request):
        return JSONResponse({"error": message}, status_code=status)
    return render(request, "error.html", {"status": status, "message": message}, status=status)


def json_response(doc: dict[str, Any], status: int = 200) -> JSONResponse:
    return JSONResponse(doc, status_code=status)


def int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit():
        raise views.BadRequest(f"{name} must be a whole number, not {raw!r}")
    return max(low, min(int(raw), high))


async def read_form(request: Request) -> dict[str, str]:
    """The posted form, after checking its CSRF token (cookie-authenticated POSTs)."""
    form = await request.form()
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    if not csrf_ok(request, values.get("csrf")):
        raise Forbidden("the form's CSRF token is missing or wrong: reload the page")
    return values


def csrf_ok(request: Request, offered: str | None) -> bool:
    """True unless this POST came with the session cookie and without the right token."""
    state = request.scope.get("state", {})
    return not state.get("needs_csrf") or (offered is not None and offered == state.get("csrf"))


class Forbidden(ArchiverError):
    """A request refused for its origin or its CSRF token (HTTP 403)."""


async def read_json_body(request: Request) -> dict[str, Any]:
    """The JSON object a POST to the API carries (its CSRF header checked when a session
    cookie authenticates it)."""
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        raise views.BadRequest('send JSON: Content-Type: application/json, {"url": "https://..."}')
    if not csrf_ok(request, request.headers.get("x-csrf-token")):
        raise Forbidden("a cookie-authenticated POST needs the X-CSRF-Token header")
    try:
        body = json.loads(await request.body())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise views.BadRequest(f"the body is not JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise views.BadRequest("the body must be a JSON object")
    return body
