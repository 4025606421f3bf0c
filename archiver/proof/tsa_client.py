"""Ask an RFC 3161 TSA for a timestamp token: the proof stage's only network edge.

``timeout`` is a deadline for the whole exchange (name lookup, connect, TLS, sending
the query, the status line, headers and body), not for each read: a TSA that trickles
its answer a byte at a time is cut off when the deadline passes, and an answer larger
than ``MAX_RESPONSE`` is refused. The exchange runs in a worker thread that the caller
waits for until the deadline; then its socket is shut so it ends too. Proxies named by
``http_proxy``/``https_proxy`` (and ``no_proxy``) are used as urllib would.

The answer is checked with the pure ``tokens.check_token`` before it is returned.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import socket
import ssl
import threading
import time
import urllib.request
from urllib.parse import SplitResult, unquote, urlsplit

from rfc3161_client import HashAlgorithm, TimestampRequestBuilder

from ..config import validate_tsa_url
from ..errors import TimestampError, UsageError
from .tokens import check_token

CONTENT_TYPE_QUERY = "application/timestamp-query"
MAX_RESPONSE = 1 << 20  # a TimeStampResp is a few KB; refuse to read more than 1 MiB
_CHUNK = 64 << 10


def build_query(data: bytes) -> tuple[bytes, int]:
    """A DER TimeStampReq over SHA-256(data), with a nonce and certReq; returns (der, nonce)."""
    req = TimestampRequestBuilder(
        data=data, hash_algorithm=HashAlgorithm.SHA256, nonce=True, cert_req=True
    ).build()
    nonce = req.nonce
    if nonce is None:
        raise TimestampError("could not build a timestamp request with a nonce")
    return bytes(req.as_bytes()), nonce


def post_query(tsa_url: str, query: bytes, *, timeout: float) -> bytes:
    """POST a TimeStampReq to ``tsa_url``; return the raw answer. Raises TimestampError.

    ``timeout`` bounds the whole exchange (see the module docstring).
    """
    try:
        validate_tsa_url(tsa_url)
    except UsageError as err:
        raise TimestampError(f"TSA {tsa_url}: not an http(s) URL ({err})") from None
    exchange = _Exchange(tsa_url, query, timeout)
    worker = threading.Thread(target=exchange.run, name=f"tsa {tsa_url}", daemon=True)
    worker.start()
    worker.join(max(0.0, exchange.deadline - time.monotonic()))
    if worker.is_alive():
        exchange.abort()
        raise TimestampError(exchange.late())
    return exchange.answer()


def request_token(tsa_url: str, data: bytes, *, timeout: float) -> bytes:
    """Ask ``tsa_url`` to timestamp SHA-256(data); return the TimeStampResp DER.

    The answer is checked with ``check_token`` (no roots) before it is returned:
    TimestampError names the TSA and why when it is rejected, for other data,
    for another nonce, not a timestamp response, or signed by an unsuitable cert.
    """
    query, nonce = build_query(data)
    tsr = post_query(tsa_url, query, timeout=timeout)
    result = check_token(tsr, data, roots=(), nonce=nonce)
    if result.problems:
        raise TimestampError(f"TSA {tsa_url}: {result.problems[0]}")
    return tsr


class _Exchange:
    """One POST to a TSA against a monotonic deadline; ``run`` is the worker's body."""

    def __init__(self, url: str, query: bytes, timeout: float) -> None:
        self.url = url
        self.query = query
        self.timeout = timeout
        self.deadline = time.monotonic() + timeout
        self.phase = "connecting"
        self.received = 0
        self.body: bytes | None = None
        self.error: str | None = None
        self._lock = threading.Lock()
        self._conn: http.client.HTTPConnection | None = None
        self._aborted = False

    # -- the caller's side -------------------------------------------------------------

    def answer(self) -> bytes:
        if self.error is not None:
            raise TimestampError(self.error)
        if self.body is None:  # the worker ended without a verdict: never expected
            raise TimestampError(f"TSA {self.url} gave no answer")
        return self.body

    def late(self) -> str:
        base = f"TSA {self.url} did not answer within {self.timeout:g} s"
        if self.phase == "connecting":
            return base + " (no connection)"
        if self.phase == "body":
            return base + f" (its answer was still arriving: {self.received} bytes so far)"
        return base

    def abort(self) -> None:
        """Shut the socket so a worker blocked in a read or write ends now."""
        with self._lock:
            self._aborted = True
            conn = self._conn
        sock = conn.sock if conn is not None else None
        if sock is not None:
            # socket.socket's own shutdown, also for TLS: it wakes a blocked read
            with contextlib.suppress(OSError):
                socket.socket.shutdown(sock, socket.SHUT_RDWR)

    # -- the worker's side -------------------------------------------------------------

    def _remaining(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        return left

    def run(self) -> None:
        try:
            self.body = self._exchange()
        except TimestampError as err:
            self.error = str(err)
        except TimeoutError:
            self.error = self.late()
        except http.client.HTTPException as err:
            why = str(err) or type(err).__name__
            self.error = f"TSA {self.url} gave no valid HTTP answer: {why}"
        except OSError as err:
            self.error = f"TSA {self.url} is unreachable: {err}"
        finally:
            with self._lock:
                conn, self._conn = self._conn, None
            if conn is not None:
                conn.close()

    def _exchange(self) -> bytes:
        target = urlsplit(self.url)
        conn, path, headers = _connection(target, self._remaining())
        with self._lock:
            if self._aborted:
                raise TimeoutError
            self._conn = conn
        conn.connect()
        self.phase = "sending"
        _set_timeout(conn, self._remaining())
        conn.request("POST", path, body=self.query, headers=headers)
        self.phase = "headers"
        _set_timeout(conn, self._remaining())
        response = conn.getresponse()
        if not 200 <= response.status < 300:
            raise TimestampError(self._http_error(response))
        declared = response.getheader("Content-Length", "")
        if declared.strip().isdigit() and int(declared) > MAX_RESPONSE:
            raise TimestampError(self._too_much())
        self.phase = "body"
        parts: list[bytes] = []
        while True:
            _set_timeout(conn, self._remaining())
            chunk = response.read1(_CHUNK)
            if not chunk:
                break
            self.received += len(chunk)
            if self.received > MAX_RESPONSE:
                raise TimestampError(self._too_much())
            parts.append(chunk)
        return b"".join(parts)

    def _http_error(self, response: http.client.HTTPResponse) -> str:
        text = f"TSA {self.url} answered HTTP {response.status} {response.reason}".rstrip()
        location = response.getheader("Location")
        if 300 <= response.status < 400 and location:
            text += f" (it redirects to {location}: give that URL)"
        return text

    def _too_much(self) -> str:
        return f"TSA {self.url} sent more than 1 MiB: not a timestamp response"


def _set_timeout(conn: http.client.HTTPConnection, seconds: float) -> None:
    if conn.sock is not None:
        conn.sock.settimeout(seconds)


def _connection(
    target: SplitResult, timeout: float
) -> tuple[http.client.HTTPConnection, str, dict[str, str]]:
    """(an unconnected connection, the request target, headers), through a proxy if set."""
    https = target.scheme.lower() == "https"
    host = target.hostname or ""
    port = target.port or (443 if https else 80)
    path = target.path or "/"
    if target.query:
        path += "?" + target.query
    headers = {"Content-Type": CONTENT_TYPE_QUERY, "Accept": "application/timestamp-reply"}
    proxy = urllib.request.getproxies().get("https" if https else "http")
    if proxy and not urllib.request.proxy_bypass(host):
        via = urlsplit(proxy if "://" in proxy else "http://" + proxy)
        auth = _proxy_auth(via)
        proxy_host, proxy_port = via.hostname or "", via.port or 8080
        if https:  # a CONNECT tunnel: TLS end to end with the TSA
            conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                proxy_host, proxy_port, timeout=timeout, context=ssl.create_default_context()
            )
            conn.set_tunnel(host, port, headers=auth)
            return conn, path, headers
        conn = http.client.HTTPConnection(proxy_host, proxy_port, timeout=timeout)
        return conn, f"http://{host}:{port}{path}", {**headers, **auth}
    if https:
        context = ssl.create_default_context()
        return (
            http.client.HTTPSConnection(host, port, timeout=timeout, context=context),
            path,
            headers,
        )
    return http.client.HTTPConnection(host, port, timeout=timeout), path, headers


def _proxy_auth(proxy: SplitResult) -> dict[str, str]:
    if proxy.username is None:
        return {}
    pair = f"{unquote(proxy.username)}:{unquote(proxy.password or '')}".encode()
    return {"Proxy-Authorization": "Basic " + base64.b64encode(pair).decode("ascii")}
