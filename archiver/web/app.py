"""The ASGI app: routes that parse, call ``views`` (the library) and render.

Every HTML page has a JSON twin under ``/api`` that returns the very document the page
renders. Errors people can act on become 4xx pages (or one JSON line) with the message.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    RedirectResponse,
    Response,
)
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ..archive.facts import read_screenshot
from ..errors import ArchiverError, CaptureError, PackageError, UsageError
from . import views
from .capturejobs import api_capture_submit, api_job, capture_form, capture_submit, job_page
from .common import (
    Forbidden,
    State,
    app_state,
    csrf_ok,
    error_response,
    int_param,
    json_response,
    read_form,
    read_json_body,
)
from .jobs import Busy
from .login import login_page, login_submit, logout
from .pageform import json_options, page_kwargs
from .pages import render
from .security import BodyTooLarge, Guard
from .settings import AppSettings

HERE = Path(__file__).resolve().parent


# --- the archive ----------------------------------------------------------------------


def _captures_doc(request: Request) -> dict[str, Any]:
    st = app_state(request)
    size = st.settings.page_size
    return views.captures_page(
        st.ctx,
        query=request.query_params.get("q", "")[:500],
        offset=int_param(request, "offset", 0, 0, 10**9),
        limit=int_param(request, "limit", size, 1, 200),
        store=st.store_sync.status() if st.store_sync is not None else None,
    )


async def archive_page(request: Request) -> Response:
    return render(request, "archive.html", {"doc": _captures_doc(request)})


async def api_captures(request: Request) -> Response:
    return json_response(_captures_doc(request))


# --- one capture ----------------------------------------------------------------------


def _replay_src(request: Request, cid: str) -> str | None:
    st = app_state(request)
    if st.settings.replay_port is None:
        return None
    host = request.url.hostname or "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    cap = st.settings.sign("replay", cid)
    return f"{request.url.scheme}://{host}:{st.settings.replay_port}/embed/{cid}/{cap}"


async def capture_page(request: Request) -> Response:
    cid = request.path_params["cid"]
    doc = views.capture_page(app_state(request).ctx, cid)
    return render(request, "capture.html", {"doc": doc, "replay_src": _replay_src(request, cid)})


async def api_capture(request: Request) -> Response:
    return json_response(views.capture_page(app_state(request).ctx, request.path_params["cid"]))


async def api_verify(request: Request) -> Response:
    rerun = request.method == "POST"
    if rerun and not csrf_ok(request, request.headers.get("x-csrf-token")):
        raise Forbidden("a cookie-authenticated POST needs the X-CSRF-Token header")
    doc = views.verify_doc(app_state(request).ctx, request.path_params["cid"], rerun=rerun)
    return json_response(doc, 202 if doc["state"] == "queued" else 200)


async def verify_again(request: Request) -> Response:
    await read_form(request)
    cid = request.path_params["cid"]
    views.verify_doc(app_state(request).ctx, cid, rerun=True)
    return RedirectResponse(f"/captures/{cid}#verify", status_code=303)


async def download(request: Request) -> Response:
    st = app_state(request)
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
    st = app_state(request)
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
    doc = views.timeline(app_state(request).ctx, request.path_params["url"])
    return render(request, "timeline.html", {"doc": doc})


async def api_timeline(request: Request) -> Response:
    return json_response(views.timeline(app_state(request).ctx, request.path_params["url"]))


def _pair(request: Request) -> tuple[str, str]:
    return request.query_params.get("a", ""), request.query_params.get("b", "")


async def diff_page(request: Request) -> Response:
    from ..diff import render_html

    report, doc = views.diff_report(app_state(request).ctx, *_pair(request))
    body = render_html(report)
    start, end = body.find("<body>"), body.rfind("</body>")
    inner = body[start + len("<body>") : end] if start >= 0 and end > start else body
    return render(request, "diff.html", {"doc": doc, "diff_html": inner})


async def api_diff(request: Request) -> Response:
    return json_response(views.diff_report(app_state(request).ctx, *_pair(request))[1])


async def events_page(request: Request) -> Response:
    return render(request, "events.html", {"doc": views.events_doc(app_state(request).ctx)})


async def api_events(request: Request) -> Response:
    return json_response(views.events_doc(app_state(request).ctx))


# --- the watch list ----------------------------------------------------------------------


async def watch_page(request: Request) -> Response:
    return render(request, "watches.html", {"doc": views.watches_doc(app_state(request).ctx)})


async def watch_submit(request: Request) -> Response:
    form = await read_form(request)
    st = app_state(request)
    try:
        if form.get("action") == "add":
            options = page_kwargs(form, strict=False)
            await run_in_threadpool(
                views.add_watch,
                st.ctx,
                form.get("url", ""),
                form.get("every"),
                st.settings.policy,
                options,
            )
        else:
            views.change_watch(st.ctx, form.get("url", ""), form.get("action", ""))
    except (UsageError, CaptureError) as exc:
        doc = views.watches_doc(st.ctx)
        ctx = {"doc": doc, "error": str(exc), "opts": form}
        return render(request, "watches.html", ctx, status=400)
    return RedirectResponse("/watch", status_code=303)


async def api_watches(request: Request) -> Response:
    return json_response(views.watches_doc(app_state(request).ctx))


async def api_watch_change(request: Request) -> Response:
    body = await read_json_body(request)
    st = app_state(request)
    action = str(body.get("action") or "add")
    try:
        if action == "add":
            await run_in_threadpool(
                views.add_watch,
                st.ctx,
                str(body.get("url") or ""),
                _every(body.get("every")),
                st.settings.policy,
                json_options(body),
            )
        else:
            views.change_watch(st.ctx, str(body.get("url") or ""), action)
    except CaptureError as exc:
        return json_response({"error": str(exc)}, 422)
    return json_response(views.watches_doc(st.ctx))


def _every(value: object) -> str | None:
    """A JSON body's "every": a duration like "1h" (a number counts as seconds)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value:g}s"
    raise views.BadRequest('"every" must be a duration such as "1h"')


async def feed(request: Request) -> Response:
    path = views.feed_path(app_state(request).ctx, request.path_params["name"])
    return FileResponse(path, media_type="application/atom+xml")


# --- reports --------------------------------------------------------------------------------


async def report_route(request: Request) -> Response:
    from .reports import report_response

    return await report_response(request, app_state(request))


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
        return error_response(request, 404, str(exc))

    async def bad(request: Request, exc: Exception) -> Response:
        return error_response(request, 400, str(exc))

    async def forbidden(request: Request, exc: Exception) -> Response:
        return error_response(request, 403, str(exc))

    async def busy(request: Request, exc: Exception) -> Response:
        return error_response(request, 429, str(exc))

    async def too_large(request: Request, exc: Exception) -> Response:
        return error_response(request, 413, "request body too large")

    async def failed(request: Request, exc: Exception) -> Response:
        return error_response(request, 422 if isinstance(exc, CaptureError) else 500, str(exc))

    async def http(request: Request, exc: Exception) -> Response:
        code = getattr(exc, "status_code", 500)
        text = {404: "no such page", 405: "method not allowed"}.get(code, str(exc))
        return error_response(request, code, text)

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
        if state.store_sync is not None:
            state.store_sync.start()
        yield
        if state.store_sync is not None:
            state.store_sync.stop()
        state.captures.stop()
        state.verifier.close()

    app = Starlette(routes=ROUTES, exception_handlers=_handlers(), lifespan=lifespan)
    app.state.archiver = state
    return Guard(app, settings)
