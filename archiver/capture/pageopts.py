"""Capture options that change what a page shows: parsed, checked, and recorded safely.

``PageSetup`` holds what the user chose (cookies, profile, headers, user agent, device,
viewport, waits, a script, consent dismissal, blocked hosts). The parsers here turn the
command line's strings and files into it, each bad input a one-line ``UsageError``.
``PageSetup.record()`` is what warcinfo and provenance say about it: secrets (cookie
values, header values) only as names and sha256 hashes. ``redact_headers`` applies the
same rule to the request records of the WARC. No Playwright here (context.py applies it).
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..errors import UsageError

# Request headers whose values are credentials whatever the user passed.
SECRET_REQUEST_HEADERS = frozenset({"cookie", "authorization", "proxy-authorization"})
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
MAX_VIEWPORT = 10000


def sha256_text(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def redacted(value: str) -> str:
    """What a stored record says instead of a secret value."""
    return f"[redacted by archiver; sha256={sha256_text(value)}]"


@dataclass(frozen=True)
class PageSetup:
    """Everything about a capture that changes what the page shows (default: nothing)."""

    cookies: tuple[dict[str, Any], ...] = ()
    cookies_file: str | None = None
    cookies_file_sha256: str | None = None
    profile: Path | None = None
    headers: tuple[tuple[str, str], ...] = ()
    user_agent: str | None = None
    device: str | None = None
    viewport: tuple[int, int] | None = None
    wait_for: str | None = None
    delay: float = 0.0
    javascript: str | None = None  # the script's source
    javascript_file: str | None = None
    dismiss_consent: bool = False
    block: tuple[str, ...] = ()

    @property
    def is_default(self) -> bool:
        return self == PageSetup()

    def secret_header_names(self) -> frozenset[str]:
        """Lower-case names of request headers whose values must not be stored."""
        return SECRET_REQUEST_HEADERS | {name.lower() for name, _ in self.headers}

    def cookie_names(self) -> frozenset[str]:
        return frozenset(str(c["name"]) for c in self.cookies)

    def to_message(self) -> dict[str, Any]:
        """The setup as JSON values for a worker, secrets included (see pagemessage.py);
        a UsageError when it holds a profile."""
        from .pagemessage import to_message

        return to_message(self)

    @classmethod
    def from_message(cls, doc: object) -> PageSetup:
        """The setup a ``to_message`` document describes (a UsageError when malformed)."""
        from .pagemessage import from_message

        return from_message(doc)

    def blocks(self, url: str) -> bool:
        return any(block_matches(pattern, url) for pattern in self.block)

    def record(self) -> dict[str, Any]:
        """The options as evidence: everything but secret values, which are hashed."""
        out: dict[str, Any] = {}
        if self.cookies:
            out["cookies"] = {
                "file": self.cookies_file,
                "file_sha256": self.cookies_file_sha256,
                "cookies": [
                    {
                        "name": c["name"],
                        "domain": c.get("domain", ""),
                        "path": c.get("path", "/"),
                        "value_sha256": sha256_text(str(c["value"])),
                    }
                    for c in self.cookies
                ],
            }
        if self.profile is not None:
            out["profile"] = str(self.profile)
        if self.headers:
            out["headers"] = [
                {"name": name, "value_sha256": sha256_text(value)} for name, value in self.headers
            ]
        if self.user_agent is not None:
            out["user_agent"] = self.user_agent
        if self.device is not None:
            out["device"] = self.device
        if self.viewport is not None:
            out["viewport"] = f"{self.viewport[0]}x{self.viewport[1]}"
        if self.wait_for is not None:
            out["wait_for"] = self.wait_for
        if self.delay:
            out["delay_s"] = self.delay
        if self.javascript is not None:
            out["javascript"] = {
                "file": self.javascript_file,
                "sha256": sha256_text(self.javascript),
            }
        if self.dismiss_consent:
            out["dismiss_consent"] = True
        if self.block:
            out["block"] = list(self.block)
        return out


def block_matches(pattern: str, url: str) -> bool:
    """A pattern with '*' or '/' is a glob over the whole URL; otherwise a host name that
    matches itself and its subdomains (``ads.example`` blocks ``x.ads.example``)."""
    if "*" in pattern or "/" in pattern:
        return fnmatch.fnmatchcase(url, pattern)
    host = (urlsplit(url).hostname or "").lower()
    pat = pattern.lower().strip(".")
    return host == pat or host.endswith("." + pat)


def redact_headers(
    headers: list[tuple[str, str]], secret_names: frozenset[str]
) -> tuple[list[tuple[str, str]], list[str]]:
    """``headers`` with secret values replaced by their hash; the names redacted."""
    out: list[tuple[str, str]] = []
    names: list[str] = []
    for name, value in headers:
        if name.lower() in secret_names:
            out.append((name, redacted(value)))
            names.append(name)
        else:
            out.append((name, value))
    return out, names


def redact_set_cookie(
    headers: list[tuple[str, str]], cookie_names: frozenset[str]
) -> tuple[list[tuple[str, str]], list[str]]:
    """Response headers with the values of Set-Cookie lines for the user's cookies hashed
    (a server that refreshes a session cookie would otherwise echo the secret)."""
    out: list[tuple[str, str]] = []
    names: list[str] = []
    for name, value in headers:
        if name.lower() == "set-cookie":
            lines = []
            for line in value.split("\n"):
                cname, eq, rest = line.partition("=")
                if eq and cname.strip() in cookie_names:
                    cvalue, semi, attrs = rest.partition(";")
                    line = f"{cname}={redacted(cvalue)}{semi}{attrs}"
                    names.append(f"Set-Cookie {cname.strip()}")
                lines.append(line)
            value = "\n".join(lines)
        out.append((name, value))
    return out, names


# --- parsing what the user typed ---------------------------------------------------------------


def parse_header(text: str) -> tuple[str, str]:
    name, colon, value = text.partition(":")
    name, value = name.strip(), value.strip()
    if not colon or not _TOKEN.match(name):
        raise UsageError(f"bad header {text!r}: expected 'Name: value'")
    if "\r" in value or "\n" in value:
        raise UsageError(f"bad header {name}: its value holds a line break")
    return name, value


def parse_viewport(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"\s*(\d{1,5})\s*[xX×]\s*(\d{1,5})\s*", text)
    if match is None:
        raise UsageError(f"bad viewport {text!r}: expected WIDTHxHEIGHT, e.g. 1280x800")
    width, height = int(match.group(1)), int(match.group(2))
    if not (1 <= width <= MAX_VIEWPORT and 1 <= height <= MAX_VIEWPORT):
        raise UsageError(f"bad viewport {text!r}: each side from 1 to {MAX_VIEWPORT} px")
    return width, height


def check_profile(path: str) -> Path:
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise UsageError(f"no profile folder at {path} (make one: archiver profile create DIR)")
    return folder.resolve()


def read_javascript(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        reason = err.strerror if isinstance(err, OSError) else "not UTF-8 text"
        raise UsageError(f"cannot read the script {path}: {reason or err}") from None


def read_cookies(path: str) -> tuple[tuple[dict[str, Any], ...], str]:
    """Cookies from a Netscape cookies.txt or a JSON export (Playwright storage state, or a
    list of cookie objects); with the file's sha256. A bad line is a UsageError naming it."""
    try:
        data = Path(path).read_bytes()
    except OSError as err:
        raise UsageError(f"cannot read the cookies file {path}: {err.strerror or err}") from None
    digest = hashlib.sha256(data).hexdigest()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UsageError(f"cookies file {path}: not UTF-8 text") from None
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        cookies = _json_cookies(text, path)
    else:
        cookies = _netscape_cookies(text, path)
    if not cookies:
        raise UsageError(f"cookies file {path}: no cookies in it")
    return tuple(cookies), digest


def _netscape_cookies(text: str, path: str) -> list[dict[str, Any]]:
    cookies: list[dict[str, Any]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip("\r")
        http_only = line.startswith("#HttpOnly_")
        if http_only:
            line = line.removeprefix("#HttpOnly_")
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        where = f"cookies file {path} line {number}"
        if len(fields) != 7:
            raise UsageError(
                f"{where}: expected 7 tab-separated fields (domain, subdomains, path, "
                f"secure, expiry, name, value), found {len(fields)}"
            )
        domain, _subdomains, cpath, secure, expires, name, value = fields
        if not domain or not name:
            raise UsageError(f"{where}: no domain or no name")
        if secure.upper() not in {"TRUE", "FALSE"}:
            raise UsageError(f"{where}: the secure field is {secure!r}, not TRUE or FALSE")
        try:
            expiry = float(expires)
        except ValueError:
            raise UsageError(f"{where}: the expiry {expires!r} is not a number") from None
        cookies.append(
            {
                "name": name,
                "value": value,
                "domain": domain,
                "path": cpath or "/",
                "expires": expiry if expiry > 0 else -1,
                "httpOnly": http_only,
                "secure": secure.upper() == "TRUE",
            }
        )
    return cookies


_SAME_SITE = {"strict": "Strict", "lax": "Lax", "none": "None", "no_restriction": "None"}


def _json_cookies(text: str, path: str) -> list[dict[str, Any]]:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as err:
        raise UsageError(f"cookies file {path} line {err.lineno}: {err.msg}") from None
    items = doc.get("cookies") if isinstance(doc, dict) else doc
    if not isinstance(items, list):
        raise UsageError(f"cookies file {path}: expected a list of cookies or {{'cookies': [...]}}")
    lines = text.splitlines()
    cookies: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        line = _line_of_entry(lines, index)
        where = f"cookies file {path} line {line}" if line else f"cookies file {path}"
        if not isinstance(item, dict):
            raise UsageError(f"{where}: cookie {index + 1} is not an object")
        name, value = item.get("name"), item.get("value")
        domain = item.get("domain") or item.get("host")
        if not isinstance(name, str) or not name or not isinstance(value, str):
            raise UsageError(f"{where}: cookie {index + 1} has no name or no string value")
        if not isinstance(domain, str) or not domain:
            raise UsageError(f"{where}: cookie {name} has no domain")
        expires = item.get("expires", item.get("expirationDate", -1))
        cookie: dict[str, Any] = {
            "name": name,
            "value": value,
            "domain": domain,
            "path": str(item.get("path") or "/"),
            "expires": float(expires) if isinstance(expires, int | float) and expires > 0 else -1,
            "httpOnly": bool(item.get("httpOnly", False)),
            "secure": bool(item.get("secure", False)),
        }
        same_site = _SAME_SITE.get(str(item.get("sameSite", "")).lower())
        if same_site is not None:
            cookie["sameSite"] = same_site
        cookies.append(cookie)
    return cookies


def _line_of_entry(lines: list[str], index: int) -> int | None:
    """The line of the ``index``-th '"name"' key: good enough to point at a bad cookie."""
    seen = 0
    for number, line in enumerate(lines, start=1):
        if '"name"' in line:
            if seen == index:
                return number
            seen += 1
    return None


def page_setup(
    *,
    cookies: str | None = None,
    profile: str | None = None,
    headers: tuple[str, ...] = (),
    user_agent: str | None = None,
    device: str | None = None,
    viewport: str | None = None,
    wait_for: str | None = None,
    delay: float = 0.0,
    javascript: str | None = None,
    dismiss_consent: bool = False,
    block: tuple[str, ...] = (),
) -> PageSetup:
    """The PageSetup for what the user typed: every file read and every value checked now,
    before any capture starts (each bad input one UsageError line)."""
    jar, jar_sha = read_cookies(cookies) if cookies is not None else ((), None)
    if device is not None:
        from .context import check_device  # starts Playwright's driver: only when asked

        check_device(device)
    if delay < 0:
        raise UsageError(f"bad delay {delay:g}: seconds, 0 or more")
    if user_agent is not None and (
        not user_agent.strip() or any(ord(ch) < 32 or ord(ch) == 127 for ch in user_agent)
    ):
        raise UsageError(
            "bad --user-agent: it must be non-empty, on one line, without control characters"
        )
    if wait_for is not None and not wait_for.strip():
        raise UsageError("--wait-for needs a CSS selector")
    for pattern in block:
        if not pattern.strip():
            raise UsageError("--block needs a host name or a URL pattern")
    return PageSetup(
        cookies=jar,
        cookies_file=Path(cookies).name if cookies is not None else None,
        cookies_file_sha256=jar_sha,
        profile=check_profile(profile) if profile is not None else None,
        headers=tuple(parse_header(h) for h in headers),
        user_agent=user_agent,
        device=device,
        viewport=parse_viewport(viewport) if viewport is not None else None,
        wait_for=wait_for,
        delay=delay,
        javascript=read_javascript(javascript) if javascript is not None else None,
        javascript_file=Path(javascript).name if javascript is not None else None,
        dismiss_consent=dismiss_consent,
        block=tuple(p.strip() for p in block),
    )
