"""Replay on an origin of its own: ReplayWeb.page, self-hosted, over one package at a time.

The app's capture page frames ``/embed/<id>/<capability>`` from this second origin (the
same host, another port). A replayed page is a whole web page with its own scripts;
here it shares neither the app's origin (it cannot read the app's pages or API, nor
script the page that frames it) nor its session (this origin never looks at cookies:
each capture is reached by a capability, an HMAC of its id that only the app hands out,
so a replayed page cannot open any other capture either). The frame is sandboxed
without popups or top navigation. ReplayWeb.page's service worker is scoped to
``/replay/``; ``ui.js`` and ``sw.js`` come from a local folder, never a CDN.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route

from ..archive.index import Archive
from ..errors import ArchiveError
from .settings import AppSettings
from .views import NotFound, capture_id

VIEWER_FILES = ("ui.js", "sw.js")
_JS = "application/javascript"

EMBED = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Replay</title>
<meta name="referrer" content="no-referrer">
<script src="/replay/ui.js"></script>
<style>html,body{{margin:0;height:100%}}replay-web-page{{display:block;height:100%}}</style>
</head><body data-source="{source}" data-url="{url}">
<script src="/embed.js"></script>
</body></html>
"""

# The viewer is added once its service worker is active (ui.js then reuses the
# registration): a worker slow to start would otherwise let the viewer's first frame
# reach this server instead, and the viewer gives up after a few reloads.
EMBED_JS = """"use strict";
const WORKER = "/replay/sw.js?serveIndex=1";
async function workerActive() {
  const registration = await navigator.serviceWorker.register(WORKER, { scope: "/replay/" });
  const worker = registration.installing || registration.waiting || registration.active;
  if (worker.state === "activated") return;
  await new Promise((done) => {
    worker.addEventListener("statechange", () => worker.state === "activated" && done());
  });
}
function addViewer() {
  const viewer = document.createElement("replay-web-page");
  viewer.setAttribute("source", document.body.dataset.source);
  viewer.setAttribute("replayBase", "/replay/");
  viewer.setAttribute("url", document.body.dataset.url);
  viewer.setAttribute("embed", "replayonly");
  document.body.appendChild(viewer);
}
workerActive().then(addViewer, (error) => {
  document.body.textContent = "replay cannot start (service worker failed): " + error;
});
"""


def find_viewer(folder: Path | None) -> Path | None:
    """``folder`` when it holds ReplayWeb.page's ``ui.js`` and ``sw.js``, else None."""
    if folder is None:
        return None
    return folder if all((folder / name).is_file() for name in VIEWER_FILES) else None


def _attr(value: str) -> str:
    return (
        value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;")
    )


def create_replay_app(settings: AppSettings) -> Any:
    """The replay origin's app (serves nothing but the viewer and capability URLs)."""
    viewer = find_viewer(settings.replayweb)
    archive = Archive(settings.archive)

    def entry_for(request: Request) -> tuple[str, Path, str]:
        cid = capture_id(request.path_params["cid"])
        if not settings.signed_ok("replay", cid, request.path_params["cap"]):
            raise NotFound("no such replay")
        try:
            entry = archive.get(cid)
        except ArchiveError as exc:
            raise NotFound(str(exc)) from exc
        path = archive.package_path(entry.id)
        if path.resolve().parent != archive.captures.resolve() or not path.is_file():
            raise NotFound("no such package")
        return cid, path, entry.final_url

    async def embed(request: Request) -> Response:
        cid, _path, url = entry_for(request)
        if viewer is None:
            return PlainTextResponse("ReplayWeb.page is not installed: run make install", 503)
        source = f"/package/{cid}/{request.path_params['cap']}.wacz"
        page = EMBED.format(source=_attr(source), url=_attr(url))
        return HTMLResponse(page, headers=_headers())

    async def embed_js(_request: Request) -> Response:
        return Response(EMBED_JS, media_type=_JS, headers=_headers())

    async def viewer_file(request: Request) -> Response:
        name = request.path_params["name"]
        if viewer is None or name not in VIEWER_FILES:
            return PlainTextResponse("not found", 404)
        return FileResponse(viewer / name, media_type=_JS, headers={"Cache-Control": "no-cache"})

    async def package(request: Request) -> Response:
        _cid, path, _url = entry_for(request)
        return FileResponse(
            path,
            media_type="application/wacz+zip",
            headers={"Cache-Control": "private, no-store", **_headers()},
        )

    async def not_found(_request: Request, exc: Exception) -> Response:
        return PlainTextResponse(json.dumps({"error": str(exc)}), 404)

    routes = [
        Route("/embed/{cid}/{cap}", embed),
        Route("/embed.js", embed_js),
        Route("/replay/{name}", viewer_file),
        Route("/package/{cid}/{cap}.wacz", package, methods=["GET", "HEAD"]),
    ]
    return Starlette(routes=routes, exception_handlers={NotFound: not_found})


def _headers() -> dict[str, str]:
    return {"Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff"}
