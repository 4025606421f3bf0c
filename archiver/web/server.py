"""Run the app with uvicorn: the app's port and the replay origin's port, one process.

``check_bind`` is the rule for where the app may listen: loopback by default; any other
address only with a token, since everyone who can reach the port could otherwise read
the archive and make captures.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import threading
from dataclasses import dataclass
from typing import Any

from ..errors import UsageError
from .app import create_app
from .replay import create_replay_app, find_viewer
from .security import ASGIApp, Receive, Scope, Send
from .settings import AppSettings


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token: str | None) -> None:
    """UsageError when ``host`` is not loopback and no token protects the app."""
    if not is_loopback(host) and not token:
        raise UsageError(
            f"refusing to listen on {host} without a token: anyone who reaches it could read "
            "the archive and capture through it; give --token TOKEN (or ARCHIVER_TOKEN), "
            "or listen on 127.0.0.1"
        )


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as exc:
        sock.close()
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    sock.listen(128)
    sock.setblocking(False)
    return sock


class _ByPort:
    """Hands each connection to the app or the replay app by the port it came in on."""

    def __init__(self, app: ASGIApp, replay: ASGIApp | None, replay_port: int | None) -> None:
        self.app, self.replay, self.replay_port = app, replay, replay_port

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        server = scope.get("server") or (None, None)
        if self.replay is not None and scope["type"] == "http" and server[1] == self.replay_port:
            await self.replay(scope, receive, send)
        else:
            await self.app(scope, receive, send)


@dataclass
class Listening:
    url: str
    replay_url: str | None


class AppServer:
    """The app (and its replay origin) listening on ``host``; ``run`` blocks, ``start``
    runs it in a thread (tests, the bench) until ``stop``."""

    def __init__(self, settings: AppSettings, *, host: str, port: int, replay_port: int | None):
        import uvicorn

        check_bind(host, settings.token)
        self.sockets = [_bind(host, port)]
        if replay_port is not None and find_viewer(settings.replayweb) is not None:
            self.sockets.append(_bind(host, replay_port))
            settings.replay_port = int(self.sockets[1].getsockname()[1])
        else:
            settings.replay_port = None
        self.settings = settings
        self.app = create_app(settings)
        replay = create_replay_app(settings) if settings.replay_port is not None else None
        shown = f"[{host}]" if ":" in host else host
        port_now = int(self.sockets[0].getsockname()[1])
        self.listening = Listening(
            f"http://{shown}:{port_now}/",
            f"http://{shown}:{settings.replay_port}/" if settings.replay_port else None,
        )
        config = uvicorn.Config(
            _ByPort(self.app, replay, settings.replay_port),
            log_level="warning",
            access_log=False,
            lifespan="on",
            limit_concurrency=200,
            timeout_keep_alive=5,
            server_header=False,
        )
        self.server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    @property
    def state(self) -> Any:
        return self.app.app.state.archiver

    def run(self) -> None:
        asyncio.run(self.server.serve(sockets=self.sockets))

    def start(self) -> Listening:
        self._thread = threading.Thread(target=self.run, name="archiver-serve", daemon=True)
        self._thread.start()
        while not self.server.started:
            if not self._thread.is_alive():
                raise RuntimeError("the app server stopped while starting")
            threading.Event().wait(0.02)
        return self.listening

    def stop(self) -> None:
        self.server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        for sock in self.sockets:
            sock.close()
