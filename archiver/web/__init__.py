"""The web app over an archive: ``archiver serve``.

A Starlette (ASGI) app with Jinja2 templates, served by uvicorn. Like ``cli.py`` it only
parses, calls the library and renders: every HTML page has a JSON twin under ``/api``
built by the same function (``views``), checked against its schema in ``schemas/``.
Replay runs on a second origin of its own (``replay``), so replayed pages never share
the app's origin or its session.
"""

from .app import create_app
from .replay import create_replay_app
from .settings import AppSettings

__all__ = ["AppSettings", "create_app", "create_replay_app"]
