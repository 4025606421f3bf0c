"""The ASGI app: routes that parse, call ``views`` (the library) and render.

Every HTML page has a JSON twin under ``/api`` that returns the very document the page
renders. Errors people can act on become 4xx pages (or one JSON line) with the message.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    JSONResponse,
    RedirectResponse,
    Response,
)
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ..archive.custody import Custody
from ..archive.facts import read_screenshot
from ..archive.index import Archive
from ..capture import CaptureOptions
from ..errors import ArchiverError, CaptureError, PackageError, UsageError
from ..schema import schema_id, validate
from . import views
from .jobs import Busy, CaptureQueue, Job
from .pages import render, render_login
from .security import SESSION_COOKIE, SESSION_S, BodyTooLarge, Guard, new_session
from .settings import AppSettings
from .verifier import Verifier

HERE = Path(__file__).resolve().parent


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


def _state(request: Request) -> State:
    state: State = request.app.state.archiver
    return state


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _error(request: Request, status: int, message: str) -> Response:
    if _wants_json(request):
        return JSONResponse({"error": message}, status_code=status)
    return render(request, "error.html", {"status": status, "message": message}, status=status)


def _json(doc: dict[str, Any], status: int = 200) -> JSONResponse:
    return JSONResponse(doc, status_code=status)


def _int(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit():
        raise views.BadRequest(f"{name} must be a whole number, not {raw!r}")
    return max(low, min(int(raw), high))


async def _form(request: Request) -> dict[str, str]:
    """The posted form, after checking its CSRF token (cookie-authenticated POSTs)."""
    form = await request.form()
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    if not _csrf_ok(request, values.get("csrf")):
        raise Forbidden("the form's CSRF token is missing or wrong: reload the page")
    return values


def _csrf_ok(request: Request, offered: str | None) -> bool:
    """True unless this POST came with the session cookie and without the right token."""
    state = request.scope.get("state", {})
    return not state.get("needs_csrf") or (offered is not None and offered == state.get("csrf"))


class Forbidden(ArchiverError):
    """A request refused for its origin or its CSRF token (HTTP 403)."""


# --- the archive ----------------------------------------------------------------------


def _captures_doc(request: Request) -> dict[str, Any]:
    st = _state(request)
    size = st.settings.page_size
    return views.captures_page(
        st.ctx,
        query=request.query_params.get("q", "")[:500],
        offset=_int(request, "offset", 0, 0, 10**9),
        limit=_int(request, "limit", size, 1, 200),
    )


async def archive_page(request: Request) -> Response:
    return render(request, "archive.html", {"doc": _captures_doc(request)})


async def api_captures(request: Request) -> Response:
    return _json(_captures_doc(request))


# --- one capture ----------------------------------------------------------------------


def _replay_src(request: Request, cid: str) -> str | None:
    st = _state(request)
    if st.settings.replay_port is None:
        return None
    host = request.url.hostname or "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    cap = st.settings.sign("replay", cid)
    return f"{request.url.scheme}://{host}:{st.settings.replay_port}/embed/{cid}/{cap}"


async def capture_page(request: Request) -> Response:
    cid = request.path_params["cid"]
    doc = views.capture_page(_state(request).ctx, cid)
    return render(request, "capture.html", {"doc": doc, "replay_src": _replay_src(request, cid)})


async def api_capture(request: Request) -> Response:
    return _json(views.capture_page(_state(request).ctx, request.path_params["cid"]))


async def api_verify(request: Request) -> Response:
    rerun = request.method == "POST"
    if rerun and not _csrf_ok(request, request.headers.get("x-csrf-token")):
        raise Forbidden("a cookie-authenticated POST needs the X-CSRF-Token header")
    doc = views.verify_doc(_state(request).ctx, request.path_params["cid"], rerun=rerun)
    return _json(doc, 202 if doc["state"] == "queued" else 200)


async def verify_again(request: Request) -> Response:
    await _form(request)
    cid = request.path_params["cid"]
    views.verify_doc(_state(request).ctx, cid, rerun=True)
    return RedirectResponse(f"/captures/{cid}#verify", status_code=303)


async def download(request: Request) -> Response:
    st = _state(request)
    entry = st.ctx.entry(request.path_params["cid"])
    path = st.ctx.package(entry)
    if not path.is_file():
        raise views.NotFound(f"the package of {entry.id} is missing")
    if "range" not in request.headers and request.method == "GET":
        st.ctx.custody.record(entry.id, "exported", "package downloaded through archiver serve")
    return FileResponse(
        path,
        media_type="application/wacz+zip",
        filename=f"{entry.id}.wacz",
        headers={"Cache-Control": "private, no-cache"},
    )


async def screenshot(request: Request) -> Response:
    st = _state(request)
    entry = st.ctx.entry(request.path_params["cid"])
    try:
        png = read_screenshot(st.ctx.package(entry))
    except (PackageError, OSError) as exc:
        raise views.NotFound(f"no readable screenshot in {entry.id}: {exc}") from exc
    if png is None:
        raise views.NotFound(f"capture {entry.id} has no screenshot")
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=60"})


# --- timelines, diffs, events -----------------------------------------------------------


async def timeline_page(request: Request) -> Response:
    doc = views.timeline(_state(request).ctx, request.path_params["url"])
    return render(request, "timeline.html", {"doc": doc})


async def api_timeline(request: Request) -> Response:
    return _json(views.timeline(_state(request).ctx, request.path_params["url"]))


def _pair(request: Request) -> tuple[str, str]:
    return request.query_params.get("a", ""), request.query_params.get("b", "")


async def diff_page(request: Request) -> Response:
    from ..diff import render_html

    report, doc = views.diff_report(_state(request).ctx, *_pair(request))
    body = render_html(report)
    start, end = body.find("<body>"), body.rfind("</body>")
    inner = body[start + len("<body>") : end] if start >= 0 and end > start else body
    return render(request, "diff.html", {"doc": doc, "diff_html": inner})


async def api_diff(request: Request) -> Response:
    return _json(views.diff_report(_state(request).ctx, *_pair(request))[1])


async def events_page(request: Request) -> Response:
    return render(request, "events.html", {"doc": views.events_doc(_state(request).ctx)})


async def api_events(request: Request) -> Response:
    return _json(views.events_doc(_state(request).ctx))


# --- the watch list ----------------------------------------------------------------------


async def watch_page(request: Request) -> Response:
    return render(request, "watches.html", {"doc": views.watches_doc(_state(request).ctx)})


async def watch_submit(request: Request) -> Response:
    form = await _form(request)
    st = _state(request)
    try:
        if form.get("action") == "add":
            views.add_watch(st.ctx, form.get("url", ""), form.get("every"), st.settings.policy)
        else:
            views.change_watch(st.ctx, form.get("url", ""), form.get("action", ""))
    except (UsageError, CaptureError) as exc:
        doc = views.watches_doc(st.ctx)
        return render(request, "watches.html", {"doc": doc, "error": str(exc)}, status=400)
    return RedirectResponse("/watch", status_code=303)


async def api_watches(request: Request) -> Response:
    return _json(views.watches_doc(_state(request).ctx))


async def api_watch_change(request: Request) -> Response:
    body = await _json_body(request)
    st = _state(request)
    action = str(body.get("action") or "add")
    try:
        if action == "add":
            views.add_watch(
                st.ctx, str(body.get("url") or ""), body.get("every"), st.settings.policy
            )
        else:
            views.change_watch(st.ctx, str(body.get("url") or ""), action)
    except CaptureError as exc:
        return _json({"error": str(exc)}, 422)
    return _json(views.watches_doc(st.ctx))


async def feed(request: Request) -> Response:
    path = views.feed_path(_state(request).ctx, request.path_params["name"])
    return FileResponse(path, media_type="application/atom+xml")


# --- capture now -------------------------------------------------------------------------


def _job_doc(job: Job) -> dict[str, Any]:
    links = {"page": f"/jobs/{job.id}", "api": f"/api/jobs/{job.id}"}
    if job.capture_id:
        links["capture"] = f"/captures/{job.capture_id}"
    doc = {"schema": schema_id("web-job.schema.json"), **job.to_json(), "links": links}
    validate(doc, "web-job.schema.json", what="API response")
    return doc


def _submit(request: Request, url: str) -> Job:
    queue = _state(request).captures
    if not queue.enabled:
        raise Forbidden("this app was started without a signing key: it cannot capture")
    return queue.submit(url)


async def capture_form(request: Request) -> Response:
    enabled = _state(request).captures.enabled
    return render(request, "capture_new.html", {"enabled": enabled, "error": None, "url": ""})


async def capture_submit(request: Request) -> Response:
    form = await _form(request)
    url = form.get("url", "")
    try:
        job = _submit(request, url)
    except (UsageError, CaptureError) as exc:
        ctx = {"enabled": True, "error": str(exc), "url": url}
        status = 400 if isinstance(exc, UsageError) else 422
        return render(request, "capture_new.html", ctx, status=status)
    return RedirectResponse(f"/jobs/{job.id}", status_code=303)


async def _json_body(request: Request) -> dict[str, Any]:
    """The JSON object a POST to the API carries (its CSRF header checked when a session
    cookie authenticates it)."""
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        raise views.BadRequest('send JSON: Content-Type: application/json, {"url": "https://..."}')
    if not _csrf_ok(request, request.headers.get("x-csrf-token")):
        raise Forbidden("a cookie-authenticated POST needs the X-CSRF-Token header")
    try:
        body = json.loads(await request.body())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise views.BadRequest(f"the body is not JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise views.BadRequest("the body must be a JSON object")
    return body


async def api_capture_submit(request: Request) -> Response:
    body = await _json_body(request)
    if not isinstance(body.get("url"), str):
        raise views.BadRequest('the body must be a JSON object with "url": a string')
    job = _submit(request, body["url"])
    return _json(_job_doc(job), 202)


def _job(request: Request) -> Job:
    job = _state(request).captures.get(request.path_params["jid"])
    if job is None:
        raise views.NotFound(f"no capture job {request.path_params['jid']}")
    return job


async def job_page(request: Request) -> Response:
    return render(request, "job.html", {"doc": _job_doc(_job(request))})


async def api_job(request: Request) -> Response:
    return _json(_job_doc(_job(request)))


# --- login ---------------------------------------------------------------------------------


def _safe_next(value: str) -> str:
    return value if value.startswith("/") and not value.startswith("//") else "/"


async def login_page(request: Request) -> Response:
    nxt = _safe_next(request.query_params.get("next", "/"))
    return Response(render_login(next_path=nxt, error=None), media_type="text/html")


async def login_submit(request: Request) -> Response:
    form = await request.form()
    token = form.get("token")
    nxt = _safe_next(str(form.get("next") or "/"))
    st = _state(request)
    if st.settings.token is None:
        return RedirectResponse(nxt, status_code=303)
    if not isinstance(token, str) or not st.settings.token_ok(token):
        body = render_login(next_path=nxt, error="That token is not right.")
        return Response(body, status_code=401, media_type="text/html")
    response = RedirectResponse(nxt, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        new_session(st.settings),
        max_age=SESSION_S,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


async def logout(request: Request) -> Response:
    await _form(request)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


# --- reports --------------------------------------------------------------------------------


async def report_route(request: Request) -> Response:
    from .reports import report_response

    return await report_response(request, _state(request))


# --- the app -------------------------------------------------------------------------------

ROUTES = [
    Route("/", archive_page),
    Route("/captures/{cid}.wacz", download, methods=["GET", "HEAD"]),
    Route("/captures/{cid}/screenshot.png", screenshot),
    Route("/captures/{cid}/verify", verify_again, methods=["POST"]),
    Route("/captures/{cid}/report", report_route, methods=["GET", "POST"]),
    Route("/captures/{cid}", capture_page),
    Route("/urls/{url:path}/timeline", timeline_page),
    Route("/diff/report", report_route, methods=["GET", "POST"]),
    Route("/diff", diff_page),
    Route("/events", events_page),
    Route("/watch", watch_page),
    Route("/watch", watch_submit, methods=["POST"]),
    Route("/feeds/{name}", feed),
    Route("/capture", capture_form),
    Route("/capture", capture_submit, methods=["POST"]),
    Route("/jobs/{jid}", job_page),
    Route("/login", login_page),
    Route("/login", login_submit, methods=["POST"]),
    Route("/logout", logout, methods=["POST"]),
    Route("/api/captures", api_captures),
    Route("/api/captures", api_capture_submit, methods=["POST"]),
    Route("/api/captures/{cid}/verify", api_verify, methods=["GET", "POST"]),
    Route("/api/captures/{cid}", api_capture),
    Route("/api/diff", api_diff),
    Route("/api/urls/{url:path}/timeline", api_timeline),
    Route("/api/events", api_events),
    Route("/api/watches", api_watches),
    Route("/api/watches", api_watch_change, methods=["POST"]),
    Route("/api/jobs/{jid}", api_job),
    Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
]


def _handlers() -> dict[Any, Any]:
    async def not_found(request: Request, exc: Exception) -> Response:
        return _error(request, 404, str(exc))

    async def bad(request: Request, exc: Exception) -> Response:
        return _error(request, 400, str(exc))

    async def forbidden(request: Request, exc: Exception) -> Response:
        return _error(request, 403, str(exc))

    async def busy(request: Request, exc: Exception) -> Response:
        return _error(request, 429, str(exc))

    async def too_large(request: Request, exc: Exception) -> Response:
        return _error(request, 413, "request body too large")

    async def failed(request: Request, exc: Exception) -> Response:
        return _error(request, 422 if isinstance(exc, CaptureError) else 500, str(exc))

    async def http(request: Request, exc: Exception) -> Response:
        code = getattr(exc, "status_code", 500)
        text = {404: "no such page", 405: "method not allowed"}.get(code, str(exc))
        return _error(request, code, text)

    from starlette.exceptions import HTTPException

    return {
        views.NotFound: not_found,
        views.BadRequest: bad,
        UsageError: bad,
        Forbidden: forbidden,
        Busy: busy,
        BodyTooLarge: too_large,
        ArchiverError: failed,
        HTTPException: http,
    }


def create_app(settings: AppSettings) -> Any:
    """The app over ``settings.archive``, wrapped in its security middleware."""
    state = State(settings)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        yield
        state.captures.stop()
        state.verifier.close()

    app = Starlette(routes=ROUTES, exception_handlers=_handlers(), lifespan=lifespan)
    app.state.archiver = state
    return Guard(app, settings)
