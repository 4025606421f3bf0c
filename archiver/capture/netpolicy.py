"""Which addresses a capture may reach: the network policy of captures requested by others.

A capture asked for through ``archiver serve`` runs on the archivist's machine with its
network position: without a policy, anyone who can submit a URL could make the browser
read the loopback interface, the office LAN or a cloud metadata service and file the
answer in a signed package. ``NetworkPolicy.public_only()`` refuses every address that
is not globally routable (loopback, private, link-local, carrier-grade NAT, multicast,
reserved, documentation ranges) and the cloud metadata endpoints.

The policy is applied three times (see ``browser.load_page``): to the URL typed, before
the browser starts; to every request the browser makes, redirects and subresources
included, on the address its host name resolves to, before the request leaves (a name
that resolves to any refused address is refused); and to the server address the browser
actually connected to, as recorded for each response (a name that resolved differently
for the browser, DNS rebinding, fails the capture). The capture's provenance names the
policy that applied.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ..errors import CaptureError
from .netlog import CdpError, CdpSession

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str], Sequence[str]]

# Cloud metadata services: named so the refusal says what it protected.
METADATA_ADDRESSES = frozenset(
    {
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean, ...
        "169.254.170.2",  # AWS ECS task metadata
        "100.100.100.200",  # Alibaba Cloud
        "fd00:ec2::254",  # AWS IPv6
    }
)
METADATA_NAMES = frozenset({"metadata.google.internal", "metadata", "instance-data"})
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_SCHEMES = ("http", "https", "ws", "wss")


def system_resolver(host: str) -> list[str]:
    """Every address ``host`` resolves to (A and AAAA), as the system resolver says."""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise LookupError(f"{host} does not resolve ({exc})") from None
    return sorted({str(info[4][0]).split("%", 1)[0] for info in infos})


def _ipv4_shorthand(host: str) -> str | None:
    """The dotted quad a numeric host name means to a browser (``2130706433``, ``0x7f.1``,
    ``127.1``), or None when it is not one of those shorthands."""
    parts = host.split(".")
    if not host or len(parts) > 4 or not all(p and p[0].isdigit() for p in parts):
        return None
    if len(parts) == 4 and all(p.isdigit() and not (len(p) > 1 and p[0] == "0") for p in parts):
        return None  # an ordinary dotted quad: ipaddress handles it
    try:
        return socket.inet_ntoa(socket.inet_aton(host))
    except OSError:
        return None


def classify(address: str) -> str | None:
    """Why ``address`` is refused ("loopback", "private", ...), or None when public."""
    try:
        ip: Address = ipaddress.ip_address(address.strip("[]").split("%", 1)[0])
    except ValueError:
        return "not an IP address"
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or (
            ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF) if ip in _NAT64 else None
        )
        if embedded is not None:
            return classify(str(embedded))
    if str(ip) in METADATA_ADDRESSES:
        return "cloud metadata"
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_multicast:
        return "multicast"
    if ip.is_private:
        return "private"
    if not ip.is_global:
        return "not publicly routable"
    return None


@dataclass(frozen=True)
class NetworkPolicy:
    """A policy for the addresses a capture may reach (stateless: one may serve many).

    ``allow_private`` turns the checks off (``serve --allow-private``); ``resolver`` is how
    host names are resolved (the system's, or a fixed map in tests).
    """

    allow_private: bool = False
    resolver: Resolver = system_resolver

    @classmethod
    def public_only(cls, resolver: Resolver | None = None) -> NetworkPolicy:
        return cls(allow_private=False, resolver=resolver or system_resolver)

    @property
    def name(self) -> str:
        if self.allow_private:
            return "any address (--allow-private)"
        return (
            "public addresses only: loopback, private, link-local, shared, reserved and "
            "cloud metadata addresses refused on every request, redirects included"
        )

    def as_dict(self) -> dict[str, object]:
        """What the capture's options and provenance record."""
        return {"name": "allow-private" if self.allow_private else "public-only", "rule": self.name}

    def host_refusal(self, host: str) -> str | None:
        """Why ``host`` (a name or an address) may not be reached; None when it may."""
        if self.allow_private:
            return None
        return self._check_host(host.strip("[]").lower().rstrip("."))

    def _check_host(self, host: str) -> str | None:
        if host in METADATA_NAMES:
            return f"{host} is a cloud metadata service"
        if host == "localhost" or host.endswith(".localhost"):
            return f"{host} is loopback"
        numeric = _ipv4_shorthand(host)
        if numeric is not None:  # 2130706433, 0x7f.1, 127.1: browsers read these as IPv4
            why = classify(numeric)
            return f"{host} is {numeric}, which is {why}" if why else None
        try:
            ipaddress.ip_address(host.split("%", 1)[0])
            addresses: Sequence[str] = [host]
        except ValueError:
            try:
                addresses = self.resolver(host)
            except LookupError as exc:
                return str(exc)
            if not addresses:
                return f"{host} does not resolve"
        for address in addresses:
            why = classify(address)
            if why is not None:
                if address == host:
                    return f"{address} is {why}"
                return f"{host} resolves to {address}, which is {why}"
        return None

    def url_refusal(self, url: str) -> str | None:
        """Why the browser may not request ``url``; None when it may (or is not HTTP)."""
        if self.allow_private:
            return None
        try:
            parts = urlsplit(url)
            host = parts.hostname
        except ValueError:
            return f"{url} is not a valid URL"
        if parts.scheme.lower() not in _SCHEMES:
            return None
        if not host:
            return f"{url} has no host"
        return self.host_refusal(host)

    def check_url(self, url: str) -> None:
        """CaptureError when ``url`` itself may not be captured under this policy."""
        reason = self.url_refusal(url)
        if reason is not None:
            raise CaptureError(f"refused to capture {url}: {reason} (network policy: public only)")

    def check_connected(self, connections: Sequence[tuple[str, str | None]]) -> None:
        """CaptureError if the browser reached a refused address after all (a name that
        resolved differently for the browser than for the check: DNS rebinding)."""
        if self.allow_private:
            return
        for url, address in connections:
            if address and (why := classify(address)) is not None:
                raise CaptureError(
                    f"refused the capture: the browser reached {address} ({why}) for {url}, "
                    "although its name resolved to a public address when checked "
                    "(network policy: public only)"
                )


class RequestGuard:
    """Applies a policy to every request one page makes, before it leaves the browser.

    It pauses each request at CDP ``Fetch``'s request stage on a browser-wide session of
    its own, so pop-up windows, frames and dedicated workers are paused too, and a
    redirect's next hop is paused as a new request; it resolves the host and fails the
    request (``BlockedByClient``) when the policy refuses it. ``refused`` has one line per
    refused request; ``document_refusal`` the first refused document of the main frame
    (the page itself, or a redirect it took).
    """

    def __init__(self, session: CdpSession, policy: NetworkPolicy, main_frame: str) -> None:
        self.session = session
        self.policy = policy
        self.main_frame = main_frame
        self.refused: list[str] = []
        self.document_refusal: str | None = None
        self._hosts: dict[str, str | None] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self.session.on("Fetch.requestPaused", self._on_paused)
        await self.session.send(
            "Fetch.enable", {"patterns": [{"urlPattern": "*", "requestStage": "Request"}]}
        )

    def _on_paused(self, ev: dict[str, Any]) -> None:
        task = asyncio.ensure_future(self._paused(ev))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def refusal(self, url: str) -> str | None:
        """Why ``url`` may not be requested (resolved once per host), or None."""
        try:
            return await self._refusal(url)
        except Exception as exc:  # a resolver bug must not let the request through
            return f"cannot check ({type(exc).__name__}: {exc})"

    def note(self, url: str, reason: str, *, main_document: bool) -> None:
        """Record one refused request (``main_document``: the page itself or a redirect
        it took)."""
        line = f"network policy refused {url}: {reason}"
        if line not in self.refused:
            self.refused.append(line)
        if main_document and not self.document_refusal:
            self.document_refusal = f"{url}: {reason}"

    async def _refusal(self, url: str) -> str | None:
        try:
            host = (urlsplit(url).hostname or "").lower()
        except ValueError:
            host = url
        if host not in self._hosts:
            self._hosts[host] = await asyncio.to_thread(self.policy.url_refusal, url)
        return self._hosts[host]

    async def _paused(self, ev: dict[str, Any]) -> None:
        request_id = ev["requestId"]
        url = str(ev.get("request", {}).get("url", ""))
        reason = await self.refusal(url)
        if reason is None:
            with contextlib.suppress(CdpError):
                await self.session.send("Fetch.continueRequest", {"requestId": request_id})
            return
        is_document = ev.get("resourceType") == "Document"
        self.note(url, reason, main_document=is_document and ev.get("frameId") == self.main_frame)
        with contextlib.suppress(CdpError):
            await self.session.send(
                "Fetch.failRequest", {"requestId": request_id, "errorReason": "BlockedByClient"}
            )

    def capture_error(self, requested: str) -> CaptureError | None:
        """The error to raise when the page could not load because the policy refused it."""
        if self.document_refusal is None:
            return None
        return CaptureError(
            f"refused to capture {requested}: {self.document_refusal} (network policy: public only)"
        )
