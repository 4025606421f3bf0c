"""Settings that come from the environment, in one place.

* ``ARCHIVER_ARCHIVE``: the archive folder (default ``./archive``).
* ``ARCHIVER_TSA``: the default TSA list (URLs separated by spaces or commas),
  used when no ``--tsa`` is given. Without it, :data:`DEFAULT_TSA_URLS`.
* ``ARCHIVER_KEY`` / ``ARCHIVER_KEY_PASSPHRASE``: see ``signing.py``.
* ``ARCHIVER_BROWSER``: see ``browser.py``.
* ``ARCHIVER_TRUSTED_KEYS``: the trusted-keys file ``archiver verify`` reads when
  no ``--trusted-keys`` is given (default ``$XDG_CONFIG_HOME/archiver/trusted-keys``,
  used only when it exists).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

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
    """``--tsa`` replaces the default list; otherwise ARCHIVER_TSA, then the built-in list."""
    if option:
        return option
    env = os.environ if env is None else env
    configured = env.get("ARCHIVER_TSA")
    if configured is not None:
        return tuple(u for u in re.split(r"[\s,]+", configured) if u)
    return DEFAULT_TSA_URLS


def trusted_keys_file(option: str | None, env: Mapping[str, str] | None = None) -> Path | None:
    """``--trusted-keys``, else ARCHIVER_TRUSTED_KEYS, else the default file if it exists."""
    if option:
        return Path(option)
    env = os.environ if env is None else env
    if env.get("ARCHIVER_TRUSTED_KEYS"):
        return Path(env["ARCHIVER_TRUSTED_KEYS"])
    base = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    default = Path(base) / "archiver" / "trusted-keys"
    return default if default.is_file() else None
