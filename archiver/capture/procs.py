"""How much memory a process tree holds, read from Linux's /proc (no Playwright needed).

A batch keeps one Chromium per worker for many captures; it restarts the browser when
its tree (the browser process, zygotes, renderers, GPU and utility processes) holds
more than a bound. Where /proc does not exist the figures are 0: no memory-based
recycling, the capture-count bound still applies.
"""

from __future__ import annotations

import os
from pathlib import Path

PROC = Path("/proc")


def process_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants that are still alive (empty if ``pid`` is gone)."""
    if not (PROC / str(pid)).exists():
        return []
    pids: list[int] = []
    todo = [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        try:
            tasks = os.listdir(PROC / str(current) / "task")
        except OSError:
            continue
        for task in tasks:
            try:
                children = (PROC / str(current) / "task" / task / "children").read_text()
            except OSError:
                continue
            todo.extend(int(child) for child in children.split())
    return pids


def rss_bytes(pid: int) -> int:
    """Resident memory of one process in bytes (0 if it is gone or /proc is missing)."""
    try:
        with (PROC / str(pid) / "status").open() as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def tree_rss_bytes(pid: int) -> int:
    """Resident memory of ``pid`` and its descendants, summed (shared pages count twice)."""
    return sum(rss_bytes(p) for p in process_tree(pid))
