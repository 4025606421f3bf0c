"""Settings that come from the environment, in one place.

* ``ARCHIVER_ARCHIVE``: the archive folder (default ``./archive``).
* ``ARCHIVER_TSA``: the default TSA list (URLs separated by spaces or commas),
  used when no ``--tsa`` is given. Without it, :data:`DEFAULT_TSA_URLS`.
* ``ARCHIVER_KEY``: the signing key file (default
  ``$XDG_CONFIG_HOME/archiver/signing-key.pem``); ``ARCHIVER_KEY_PASSPHRASE`` its
  passphrase.
* ``ARCHIVER_BROWSER``: the browser executable; else Playwright's own Chromium
  (``PLAYWRIGHT_BROWSERS_PATH``, ``XDG_CACHE_HOME``), else ``PATH``.
* ``ARCHIVER_DEBUG``: show a traceback for an internal error.
* ``ARCHIVER_TRUSTED_KEYS``: the trusted-keys file ``archiver verify`` reads when
  no ``--trusted-keys`` is given (default ``$XDG_CONFIG_HOME/archiver/trusted-keys``,
  used only when it exists).
* ``ARCHIVER_TOKEN``: the token ``archiver serve`` requires when no ``--token`` is given.
* ``ARCHIVER_WEBHOOK_SECRET_FILE``: the file holding the secret ``archiver watch run``
  signs webhook POSTs with when no ``--webhook-secret`` is given (a path, so the secret
  itself stays out of the environment and the command line).
* ``ARCHIVER_REPLAYWEB``: the folder with ReplayWeb.page's ``ui.js`` and ``sw.js`` that
  ``archiver serve`` replays with (default: ``archiver/web/vendor/replaywebpage``, where
  ``make install`` puts them).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from .errors import UsageError

KEY_FILENAME = "signing-key.pem"

# Public RFC 3161 services that answer without an account. Each token is checked
# against the system/certifi roots (or --tsa-root) when verified.
DEFAULT_TSA_URLS: tuple[str, ...] = (
    "https://freetsa.org/tsr",
    "http://timestamp.digicert.com",
    "http://timestamp.sectigo.com",
)


def archive_dir(option: str | None, env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    return Path(option or env.get("ARCHIVER_ARCHIVE") or "archive")


def tsa_urls(option: tuple[str, ...], env: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """``--tsa`` replaces the default list; otherwise ARCHIVER_TSA, then the built-in list.

    Each URL is checked first (``validate_tsa_url``): a malformed one is a UsageError
    (exit 2) before any capture starts or any TSA is asked.
    """
    if option:
        return tuple(validate_tsa_url(url, "--tsa") for url in option)
    env = os.environ if env is None else env
    configured = env.get("ARCHIVER_TSA")
    if configured is not None:
        urls = (u for u in re.split(r"[\s,]+", configured) if u)
        return tuple(validate_tsa_url(url, "ARCHIVER_TSA") for url in urls)
    return DEFAULT_TSA_URLS


def validate_tsa_url(url: str, source: str = "--tsa") -> str:
    """``url`` unchanged if it can name an RFC 3161 TSA: http(s), a host, a valid port.

    UsageError otherwise, one line naming the URL and where it came from (``source``).
    """
    why = _tsa_url_problem(url)
    if why:
        raise UsageError(f"{source} {url!r} is not a TSA URL: {why}")
    return url


def _tsa_url_problem(url: str) -> str | None:
    if not url or any(ch.isspace() for ch in url):
        return "give one http:// or https:// address, without spaces"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return str(exc)
    if parts.scheme.lower() not in ("http", "https"):
        return "a TSA is asked over http:// or https://"
    if not parts.hostname:
        return "no host name"
    if port == 0:
        return "port 0 is not a valid port"
    return None


def trusted_keys_file(option: str | None, env: Mapping[str, str] | None = None) -> Path | None:
    """``--trusted-keys``, else ARCHIVER_TRUSTED_KEYS, else the default file if it exists."""
    if option:
        return Path(option)
    env = os.environ if env is None else env
    if env.get("ARCHIVER_TRUSTED_KEYS"):
        return Path(env["ARCHIVER_TRUSTED_KEYS"])
    default = _config_home(env) / "archiver" / "trusted-keys"
    return default if default.is_file() else None


def _config_home(env: Mapping[str, str]) -> Path:
    config = env.get("XDG_CONFIG_HOME")
    return Path(config) if config else Path(env.get("HOME") or Path.home()) / ".config"


def key_path(option: str | None, env: Mapping[str, str] | None = None) -> Path:
    """``--key``, else ``ARCHIVER_KEY``, else the XDG config folder's signing key."""
    env = os.environ if env is None else env
    if option:
        return Path(option).expanduser()
    if env.get("ARCHIVER_KEY"):
        return Path(env["ARCHIVER_KEY"]).expanduser()
    return _config_home(env) / "archiver" / KEY_FILENAME


def key_chosen(option: str | None, env: Mapping[str, str] | None = None) -> bool:
    """Did the user name a key file (``--key`` or ``ARCHIVER_KEY``)? Then it must exist."""
    env = os.environ if env is None else env
    return bool(option or env.get("ARCHIVER_KEY"))


def key_passphrase(env: Mapping[str, str] | None = None) -> bytes | None:
    """``ARCHIVER_KEY_PASSPHRASE`` as bytes, or None when unset."""
    env = os.environ if env is None else env
    value = env.get("ARCHIVER_KEY_PASSPHRASE")
    return value.encode("utf-8") if value is not None else None


@dataclass(frozen=True)
class BrowserSearch:
    """Where to look for a browser, from the environment."""

    configured: str | None  # ARCHIVER_BROWSER
    playwright_root: str  # PLAYWRIGHT_BROWSERS_PATH ("0": inside the package; "": cache)
    cache_home: Path  # XDG_CACHE_HOME, or ~/.cache
    path: str  # PATH


def browser_search(env: Mapping[str, str] | None = None) -> BrowserSearch:
    env = os.environ if env is None else env
    cache = env.get("XDG_CACHE_HOME") or str(Path(env.get("HOME", "~")).expanduser() / ".cache")
    return BrowserSearch(
        configured=env.get("ARCHIVER_BROWSER") or None,
        playwright_root=env.get("PLAYWRIGHT_BROWSERS_PATH", ""),
        cache_home=Path(cache),
        path=env.get("PATH", os.defpath),
    )


def debug(env: Mapping[str, str] | None = None) -> bool:
    """``ARCHIVER_DEBUG`` set: internal errors show their traceback."""
    env = os.environ if env is None else env
    return bool(env.get("ARCHIVER_DEBUG"))


def serve_token(option: str | None, env: Mapping[str, str] | None = None) -> str | None:
    """``--token``, else ``ARCHIVER_TOKEN``; None when neither is set (or empty)."""
    env = os.environ if env is None else env
    return option or env.get("ARCHIVER_TOKEN") or None


def webhook_secret_file(
    option: str | None, env: Mapping[str, str] | None = None
) -> tuple[Path, str] | None:
    """``--webhook-secret``, else ``ARCHIVER_WEBHOOK_SECRET_FILE``: the secret file and
    where it was named (for messages); None when neither is set (or empty)."""
    env = os.environ if env is None else env
    if option:
        return Path(option).expanduser(), "--webhook-secret"
    configured = env.get("ARCHIVER_WEBHOOK_SECRET_FILE")
    if configured:
        return Path(configured).expanduser(), "ARCHIVER_WEBHOOK_SECRET_FILE"
    return None


REPLAYWEB_DEFAULT = Path(__file__).resolve().parent / "web" / "vendor" / "replaywebpage"


def replayweb_dir(option: str | None, env: Mapping[str, str] | None = None) -> Path:
    """``--replayweb``, else ``ARCHIVER_REPLAYWEB``, else the folder ``make install`` fills."""
    env = os.environ if env is None else env
    chosen = option or env.get("ARCHIVER_REPLAYWEB")
    return Path(chosen).expanduser() if chosen else REPLAYWEB_DEFAULT


def has_display(env: Mapping[str, str] | None = None) -> bool:
    """Whether a browser window can be shown here (X11 or Wayland): profile create."""
    env = os.environ if env is None else env
    return bool(env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"))
