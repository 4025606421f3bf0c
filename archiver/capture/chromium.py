"""Find the Chromium to drive and read its version; no Playwright needed.

Order: ``ARCHIVER_BROWSER``, then Playwright's managed Chromium (only if its executable
is on disk), then ``chromium`` / ``chromium-browser`` / ``google-chrome`` /
``google-chrome-stable`` on ``PATH``. Also the launch flags every capture uses.
"""

from __future__ import annotations

import functools
import glob
import importlib.util
import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

from .. import config
from ..errors import BrowserError

DEFAULT_VIEWPORT = (1280, 800)  # CSS pixels of the page's window, unless the user chooses
BROWSER_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
NO_BROWSER = (
    "no Chromium or Chrome found: install it with 'apt-get install chromium', "
    "or set ARCHIVER_BROWSER=/path/to/chrome"
)
# Flags for a quiet, reproducible browser; --no-sandbox is added only when running as root.
# Site isolation is off so that cross-site iframes stay in the page's renderer, where the
# page's CDP session sees their requests.
BROWSER_ARGS = (
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-site-isolation-trials",
    "--disable-features=IsolateOrigins,site-per-process",
)


def launch_args() -> list[str]:
    """BROWSER_ARGS, with --no-sandbox first when running as root (Chromium refuses otherwise)."""
    args = list(BROWSER_ARGS)
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.insert(0, "--no-sandbox")
    return args


def _is_executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def _playwright_package() -> Path | None:
    """Where the playwright package is installed, found without importing it."""
    spec = importlib.util.find_spec("playwright")
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent


def _managed_chromium(search: config.BrowserSearch) -> Path | None:
    """Playwright's own Chromium download, if it is really on disk."""
    root_setting = search.playwright_root
    if root_setting == "0":
        package = _playwright_package()
        if package is None:
            return None
        root = package / "driver" / "package" / ".local-browsers"
    elif root_setting:
        root = Path(root_setting)
    else:
        root = search.cache_home / "ms-playwright"
    patterns = ("chromium-*/chrome-linux*/chrome", "chromium-*/chrome-linux*/chromium")
    found = [Path(p) for pattern in patterns for p in glob.glob(str(root / pattern))]

    def revision(p: Path) -> int:
        digits = p.parts[-3].rpartition("-")[2]
        return int(digits) if digits.isdigit() else -1

    for candidate in sorted(found, key=revision, reverse=True):
        if _is_executable(candidate):
            return candidate
    return None


def find_browser(env: Mapping[str, str] | None = None) -> Path:
    """The Chromium to drive: ARCHIVER_BROWSER, Playwright's managed Chromium, then PATH."""
    search = config.browser_search(env)
    configured = search.configured
    if configured:
        path = Path(configured).expanduser()
        if not path.exists():
            raise BrowserError(f"ARCHIVER_BROWSER={configured} does not exist")
        if not _is_executable(path):
            raise BrowserError(f"ARCHIVER_BROWSER={configured} is not an executable file")
        return path
    managed = _managed_chromium(search)
    if managed is not None:
        return managed
    for name in BROWSER_NAMES:
        found = shutil.which(name, path=search.path)
        if found:
            return Path(found)
    raise BrowserError(NO_BROWSER)


@functools.lru_cache(maxsize=8)
def browser_version(path: Path) -> str:
    """Product name and version, e.g. "Chromium 156.0.8078.108", from ``--version``."""
    try:
        proc = subprocess.run(
            [str(path), "--version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        raise BrowserError(f"cannot run the browser {path}: {err}") from err
    match = re.search(r"([A-Za-z][\w ]*?\s\d+(?:\.\d+)+)", proc.stdout)
    if proc.returncode != 0 or match is None:
        detail = (proc.stderr or proc.stdout).strip().splitlines()
        reason = detail[-1] if detail else f"exit status {proc.returncode}"
        raise BrowserError(f"cannot read the version of the browser {path}: {reason}")
    return match.group(1).strip()
