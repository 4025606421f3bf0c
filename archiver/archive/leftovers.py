"""What killed processes left in an archive folder: a capture's work folder
(``.<id>.<writer>.*/``) and temporary packages (``captures/.<name>.wacz.<writer>.*.tmp``).
``Archive.tidy`` removes them once their writer is gone, or recovers a complete package;
a running process's files are never touched.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import PackageError
from ..writers import WRITER_TAG, temp_package_name, writer_alive
from .entry import IndexEntry
from .scan import scan_package

# A leftover whose writer cannot be checked (another host's, or from a version that did
# not name its writer) is removed only when it has not changed for this long.
UNKNOWN_WRITER_STALE_S = 24 * 3600.0
_WORK_FOLDER = re.compile(
    rf"\.[0-9]{{8}}T[0-9]{{6}}Z-[0-9a-f]{{8}}(?:\.(?P<tag>{WRITER_TAG})\.|-)[a-z0-9_]+"
)


@dataclass
class Tidied:
    """What ``Archive.tidy`` did: leftovers removed, complete packages recovered."""

    removed: list[Path] = field(default_factory=list)
    recovered: list[tuple[IndexEntry, Path]] = field(default_factory=list)


def clear_temp_packages(captures: Path, taken: Callable[[str], bool]) -> Tidied:
    """Recover or remove the temporary packages in ``captures`` whose writer is gone
    (see ``Archive.tidy``); ``taken``: is a capture id already indexed?"""
    tidied = Tidied()
    mine: set[str] = set()  # two temporary packages of one capture: keep one
    for path in _dot_entries(captures):
        parsed = temp_package_name(path.name)
        if parsed is None or not path.is_file() or not _gone(path, parsed[1]):
            continue
        placed = _recover(path, captures / parsed[0], lambda i: taken(i) or i in mine)
        if placed is not None:
            tidied.recovered.append(placed)
            mine.add(placed[0].id)
        else:
            with contextlib.suppress(OSError):
                path.unlink(missing_ok=True)
            tidied.removed.append(path)
    return tidied


def remove_dead_work_folders(root: Path) -> list[Path]:
    """Remove the capture work folders in ``root`` whose process is gone."""
    removed = []
    for path in _dot_entries(root):
        found = _WORK_FOLDER.fullmatch(path.name)
        if found and path.is_dir() and not path.is_symlink() and _gone(path, found["tag"]):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def _dot_entries(folder: Path) -> list[Path]:
    try:
        return sorted(p for p in folder.iterdir() if p.name.startswith("."))
    except OSError:
        return []


def _gone(path: Path, tag: str | None) -> bool:
    """Has the process that wrote ``path`` (named by ``tag``) ended?"""
    alive = writer_alive(tag) if tag else None
    if alive is not None:
        return not alive
    try:
        return time.time() - path.lstat().st_mtime > UNKNOWN_WRITER_STALE_S
    except OSError:
        return False


def _recover(tmp: Path, dest: Path, taken: Callable[[str], bool]) -> tuple[IndexEntry, Path] | None:
    """Move a complete temporary package into place as ``dest`` (never over a file);
    its index entry and new path, or None when it is not one to keep."""
    from ..verify import verify_package

    if dest.name.startswith("."):
        return None
    try:
        entry = scan_package(tmp)
    except PackageError:
        return None
    if taken(entry.id) or dest.exists() or verify_package(tmp).integrity != "passed":
        return None
    try:
        with tmp.open("rb") as fh:
            os.fsync(fh.fileno())  # its writer may have died before its own fsync
        try:
            os.link(tmp, dest)  # fails if the name was taken meanwhile: never clobber
        except FileExistsError:
            return None
        except OSError:  # a file system without hard links
            if dest.exists():
                return None
            os.replace(tmp, dest)
    except OSError:
        return None
    with contextlib.suppress(OSError):
        tmp.unlink(missing_ok=True)
    return entry, dest
