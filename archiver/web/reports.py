"""The evidence report from the capture and diff pages: the same as ``archiver report``."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from pathlib import Path
from typing import Any

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import FileResponse, Response

from ..report import collect, write_report
from .views import BadRequest, capture_id


async def report_response(request: Request, state: Any) -> Response:
    """Build the report of one capture (``/captures/{id}/report``) or of two
    (``/diff/report?a=&b=``) as PDF (``format=pdf``, the default) or HTML."""
    fmt = request.query_params.get("format", "pdf")
    if fmt not in ("pdf", "html"):
        raise BadRequest("format must be pdf or html")
    if "cid" in request.path_params:
        refs = [capture_id(request.path_params["cid"])]
    else:
        refs = [capture_id(request.query_params.get(k, "")) for k in ("a", "b")]
    for ref in refs:
        state.ctx.entry(ref)  # 404 for an id the archive does not have
    archive = state.ctx.archive
    folder = Path(tempfile.mkdtemp(prefix="archiver-report-"))
    name = f"{'-vs-'.join(refs)}-report.{fmt}"
    dest = folder / name

    def build() -> str:
        data = collect(archive, refs, trusted_keys_file=state.settings.trusted_keys_file)
        return write_report(data, dest, pdf=fmt == "pdf", archive=archive)

    try:
        digest = await asyncio.to_thread(build)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return FileResponse(
        dest,
        media_type="application/pdf" if fmt == "pdf" else "text/html; charset=utf-8",
        filename=name,
        headers={"X-Report-SHA256": digest, "Cache-Control": "no-store"},
        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True),
    )
