"""Jinja2 templates and the headers every page carries (CSP, no framing, no sniffing)."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from .. import __version__

TEMPLATES = Path(__file__).resolve().parent / "templates"


def _when(value: Any) -> str:
    """``2026-11-27T09:18:07.123456Z`` -> ``2026-11-27 09:18:07 UTC``."""
    if not value:
        return "—"
    text = str(value)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text
    return parsed.strftime("%Y-%m-%d %H:%M:%S UTC")


def _short(value: Any, n: int = 16) -> str:
    text = str(value or "")
    return text if len(text) <= n else text[:n] + "…"


@cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = _when
    env.filters["short"] = _short
    env.filters["urlpart"] = lambda v: quote(str(v), safe="")
    env.globals["version"] = __version__
    return env


def security_headers(frame_origin: str | None = None) -> dict[str, str]:
    frames = f"'self' {frame_origin}" if frame_origin else "'self'"
    csp = (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        f"frame-src {frames}; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
        "object-src 'none'"
    )
    return {
        "Content-Security-Policy": csp,
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "Cache-Control": "no-store",
    }


def render(
    request: Request, name: str, context: dict[str, Any], *, status: int = 200
) -> HTMLResponse:
    state = request.scope.get("state", {})
    replay = context.get("replay_src")
    frame_origin = "/".join(str(replay).split("/")[:3]) if replay else None
    settings = request.app.state.archiver.settings
    html = (
        environment()
        .get_template(name)
        .render(
            request=request,
            csrf=state.get("csrf", ""),
            token_mode=settings.token is not None,
            **context,
        )
    )
    return HTMLResponse(html, status_code=status, headers=security_headers(frame_origin))


def render_login(*, next_path: str, error: str | None) -> str:
    return environment().get_template("login.html").render(next=next_path, error=error)
