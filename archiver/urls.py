"""Which URLs archiver can capture, in the one form the archive stores them."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
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


_TRAILING_COMMENT = re.compile(r"\s+#.*$")  # "URL  # note": a URL has no whitespace


@dataclass
class UrlList:
    """The URLs of a list file in order, and one ``SOURCE:LINE: reason`` per bad line."""

    urls: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def parse_url_list(data: bytes, source: str) -> UrlList:
    """One URL per line; blank lines and ``#`` comments (whole-line or trailing) skipped.

    A line that is not a capturable URL (or not UTF-8) is reported as
    ``source:line: reason`` and left out; the other lines still count.
    """
    found = UrlList()
    for number, raw in enumerate(data.splitlines(), start=1):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            found.problems.append(f"{source}:{number}: not UTF-8 text")
            continue
        text = _TRAILING_COMMENT.sub("", line.removeprefix("\ufeff")).strip()
        if not text or text.startswith("#"):
            continue
        try:
            validate_url(text)
        except UsageError as err:
            found.problems.append(f"{source}:{number}: {err}")
            continue
        found.urls.append(text)
    return found
