"""The login page, its form (a session cookie for the right token) and logout."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from .common import app_state, read_form
from .pages import render_login
from .security import SESSION_COOKIE, SESSION_S, new_session


def _safe_next(value: str) -> str:
    return value if value.startswith("/") and not value.startswith("//") else "/"


async def login_page(request: Request) -> Response:
    nxt = _safe_next(request.query_params.get("next", "/"))
    return Response(render_login(next_path=nxt, error=None), media_type="text/html")


async def login_submit(request: Request) -> Response:
    form = await request.form()
    token = form.get("token")
    nxt = _safe_next(str(form.get("next") or "/"))
    st = app_state(request)
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
    await read_form(request)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response
