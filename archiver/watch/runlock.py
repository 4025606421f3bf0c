"""One ``watch run`` per archive at a time: an flock on ``<archive>/.watch-run.lock``."""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from ..errors import ArchiveError

LOCK = ".watch-run.lock"


@contextlib.contextmanager
def run_lock(root: Path) -> Iterator[None]:
    """One ``watch run`` per archive at a time (released by the kernel if it dies)."""
    path = Path(root) / LOCK
    fh: IO[bytes] = path.open("a+b")
    try:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ArchiveError(
                f"another 'archiver watch run' is running on archive {root}"
            ) from None
        yield
    finally:
        fh.close()
