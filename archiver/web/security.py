"""The app's gatekeeping, as one ASGI middleware: token, session, CSRF, host and body size.

* With a token set, every request needs it: ``Authorization: Bearer <token>`` (the API),
  or the session cookie that ``POST /login`` sets after checking the token (the UI). A
  request without either gets 401 (the login page for a browser, one JSON line for the
  API). Without a token the app answers only on a loopback bind, and only to requests
  whose Host is a loopback name (a DNS-rebinding page cannot reach it).
* Every state-changing request (POST) is refused when it comes from another site
  (``Origin`` / ``Sec-Fetch-Site``), and a form or cookie-authenticated POST must carry
  the CSRF token: an HMAC of the ``archiver_csrf`` cookie, put in every form.
* Request bodies are limited to ``MAX_BODY`` bytes (413 beyond).
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Awaitable, Callable, MutableMapping
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import urlsplit

from .settings import MAX_BODY, AppSettings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

SESSION_COOKIE = "archiver_session"
CSRF_COOKIE = "archiver_csrf"
SESSION_S = 12 * 3600
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]", "::1")
OPEN_PATHS = ("/login", "/static/")  # reachable without the token (the login page and its CSS)


def headers_of(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}


def cookies_of(headers: dict[str, str]) -> dict[str, str]:
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(headers.get("cookie", ""))
    except Exception:
        return {}
    return {k: m.value for k, m in jar.items()}


def new_session(settings: AppSettings) -> str:
    expires = str(int(time.time()) + SESSION_S)
    nonce = secrets.token_hex(12)
    return f"{expires}.{nonce}.{settings.sign('session', expires + '.' + nonce)}"


def session_ok(settings: AppSettings, value: str) -> bool:
    parts = value.split(".")
    if len(parts) != 3 or not parts[0].isdigit():
        return False
    expires, nonce, mac = parts
    if int(expires) < time.time():
        return False
    return settings.signed_ok("session", f"{expires}.{nonce}", mac)


def csrf_token(settings: AppSettings, cookie_value: str) -> str:
    return settings.sign("csrf", cookie_value)


def cross_site(headers: dict[str, str], host: str) -> bool:
    """Does this request come from a page of another site (or origin)?"""
    fetch_site = headers.get("sec-fetch-site")
    if fetch_site in ("cross-site", "same-site"):
        return True
    origin = headers.get("origin")
    if origin and origin != "null":
        return urlsplit(origin).netloc.lower() != host.lower()
    return origin == "null"


class Guard:
    """The middleware; ``loopback_only`` when no token is set."""

    def __init__(self, app: ASGIApp, settings: AppSettings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = headers_of(scope)
        path: str = scope["path"]
        host = headers.get("host", "")
        is_api = path.startswith("/api/")
        if self.settings.token is None and not _loopback_host(host):
            await _deny(send, 403, "this app answers only to 127.0.0.1 or localhost", is_api)
            return
        length = headers.get("content-length", "0")
        if not length.isdigit() or int(length) > MAX_BODY:
            await _deny(send, 413, f"request body over {MAX_BODY} bytes", is_api)
            return
        cookies = cookies_of(headers)
        scope.setdefault("state", {})
        bearer = headers.get("authorization", "")
        by_bearer = bearer.startswith("Bearer ") and self.settings.token is not None
        if by_bearer and not self.settings.token_ok(bearer.removeprefix("Bearer ").strip()):
            await _deny(send, 401, "wrong token", is_api)
            return
        by_session = session_ok(self.settings, cookies.get(SESSION_COOKIE, ""))
        authed = self.settings.token is None or by_bearer or by_session
        if not authed and not path.startswith(OPEN_PATHS):
            if is_api or scope["method"] not in ("GET", "HEAD"):
                await _deny(send, 401, "a token is required: Authorization: Bearer TOKEN", True)
            else:
                await _login_page(send, path, scope.get("query_string", b"").decode("latin-1"))
            return
        if scope["method"] not in ("GET", "HEAD", "OPTIONS"):
            if cross_site(headers, host):
                await _deny(send, 403, "cross-site request refused", is_api)
                return
            # Forms always carry the CSRF token; the JSON API needs it only when the
            # session cookie (not a bearer token, not nothing) is what authenticates it.
            by_cookie = by_session and not by_bearer and self.settings.token is not None
            scope["state"]["needs_csrf"] = (not is_api and path != "/login") or by_cookie
        csrf_cookie = cookies.get(CSRF_COOKIE) or ""
        fresh = not csrf_cookie
        if fresh:
            csrf_cookie = secrets.token_hex(16)
        scope["state"]["csrf"] = csrf_token(self.settings, csrf_cookie)
        scope["state"]["csrf_cookie_fresh"] = fresh
        scope["state"]["receive_limit"] = MAX_BODY

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start" and fresh:
                cookie = f"{CSRF_COOKIE}={csrf_cookie}; Path=/; HttpOnly; SameSite=Strict"
                message.setdefault("headers", []).append((b"set-cookie", cookie.encode()))
            await send(message)

        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send_with_cookie(message)

        try:
            await self.app(scope, _limited(receive), tracked)
        except BodyTooLarge:
            if not started:
                await _deny(send, 413, f"request body over {MAX_BODY} bytes", is_api)


def _loopback_host(host: str) -> bool:
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    return name.lower() in LOOPBACK_NAMES


def _limited(receive: Receive) -> Receive:
    """A body that grows past MAX_BODY (chunked, no Content-Length) is cut off."""
    seen = 0

    async def inner() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > MAX_BODY:
                raise BodyTooLarge()
        return message

    return inner


class BodyTooLarge(Exception):
    """A request body past MAX_BODY."""


async def _deny(send: Send, status: int, message: str, as_json: bool) -> None:
    if as_json:
        body = json.dumps({"error": message}).encode()
        kind = b"application/json"
    else:
        body = f"<!doctype html><title>{status}</title><p>{message}</p>".encode()
        kind = b"text/html; charset=utf-8"
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", kind), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _login_page(send: Send, path: str, query: str) -> None:
    from .pages import render_login

    body = render_login(next_path=path + (f"?{query}" if query else ""), error=None).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 401,
            "headers": [
                (b"content-type", b"text/html; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                (b"www-authenticate", b'Bearer realm="archiver"'),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
