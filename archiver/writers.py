"""Which process writes a temporary file or folder: ``writer_tag`` names it after this
process (host, PID, start time), ``writer_alive`` tells whether that process still runs,
``temp_package_name`` reads a temporary package's name, so what a killed process left
can be told from a live writer's file.
"""

from __future__ import annotations

import hashlib
import os
import platform
import re
from pathlib import Path

WRITER_TAG = r"[0-9a-f]{8}\.[0-9]+\.[0-9]+"  # what writer_tag() returns
_TEMP_PACKAGE = re.compile(
    rf"\.(?P<dest>[^/]+?\.wacz)\.(?:(?P<tag>{WRITER_TAG})\.)?[a-z0-9_]+\.tmp"
)


def writer_tag() -> str:
    """``<host>.<pid>.<start>``: names a temporary file or folder after this process.

    ``host`` is a short hash of the host name and PID namespace (a PID means nothing
    elsewhere); ``start`` the process start time in clock ticks (Linux ``/proc``, 0 where
    unknown), so a PID the system has since reused is not taken for the writer.
    """
    pid = os.getpid()
    stat = _proc_stat(pid)
    return f"{_host_hash()}.{pid}.{stat[1] if stat else 0}"


def writer_alive(tag: str) -> bool | None:
    """Is the process that ``writer_tag`` named still running? None when this process
    cannot tell: a tag from another host or PID namespace, or not a tag at all."""
    if os.name != "posix" or not re.fullmatch(WRITER_TAG, tag):
        return None  # (os.kill(pid, 0) ends the process on Windows)
    host, pid_text, start_text = tag.split(".")
    if host != _host_hash():
        return None
    pid = int(pid_text)
    if pid == os.getpid():
        return True
    if not 0 < pid < 1 << 22:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, run by another user
    stat = _proc_stat(pid)
    if stat is None:
        return True
    state, start = stat
    return state != "Z" and (start_text == "0" or int(start_text) == start)


def temp_package_name(name: str) -> tuple[str, str | None] | None:
    """For the name of a temporary package file: (the package name it was written for,
    the writer tag or None when the name has none); None for any other name."""
    found = _TEMP_PACKAGE.fullmatch(name)
    return (found["dest"], found["tag"]) if found else None


def _proc_stat(pid: int) -> tuple[str, int] | None:
    """(state, start time in clock ticks) of a process, from ``/proc`` (None without)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
        fields = stat.rsplit(")", 1)[1].split()
        return fields[0], int(fields[19])
    except (OSError, IndexError, ValueError):
        return None


def _host_hash() -> str:
    try:
        namespace = os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        namespace = 0
    return hashlib.sha256(f"{platform.node()}|{namespace}".encode()).hexdigest()[:8]
