"""The evidence report, from the capture and diff pages (filled in with archiver.report)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response


async def report_response(request: Request, state: Any) -> Response:
    return JSONResponse({"error": "the evidence report is not available yet"}, status_code=501)
