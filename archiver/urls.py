"""Which URLs archiver can capture, in the one form the archive stores them."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit, urlunsplit

from .errors import UsageError


def validate_url(url: str) -> str:
    """Return ``url`` if a browser can load it over HTTP(S); UsageError otherwise."""
    text = url.strip()
    if not text:
        raise UsageError("empty URL: give an http:// or https:// address")
    if any(ch.isspace() for ch in text):
        raise UsageError(f"malformed URL {url!r}: it contains spaces")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise UsageError(f"malformed URL {url!r}: {exc}") from None
    scheme = parts.scheme.lower()
    if not scheme:
        raise UsageError(f"malformed URL {url!r}: no scheme; did you mean http://{text} ?")
    if scheme not in ("http", "https"):
        raise UsageError(
            f"unsupported URL scheme '{scheme}:' in {url!r}: archiver captures http and https pages"
        )
    host = parts.hostname
    if not host:
        raise UsageError(f"malformed URL {url!r}: no host name")
    if not _valid_host(host):
        raise UsageError(f"malformed URL {url!r}: {host!r} is not a valid host name")
    if port == 0:
        raise UsageError(f"malformed URL {url!r}: port 0 is not a valid port")
    path = parts.path or "/"
    # The fragment never reaches the server: the capture is of the document itself.
    return urlunsplit((scheme, parts.netloc, path, parts.query, ""))


def _valid_host(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:
        return False
    labels = ascii_host.rstrip(".").split(".")
    return all(
        0 < len(label) <= 63
        and all(c.isalnum() or c in "-_" for c in label)
        and not label.startswith("-")
        and not label.endswith("-")
        for label in labels
    )


def lookup_form(url: str) -> str:
    """The form to look ``url`` up in the index: as captured when valid, else as given."""
    try:
        return validate_url(url)
    except UsageError:
        return url.strip()
