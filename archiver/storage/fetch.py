"""A stored package as a local file for the readers (verify), streamed, then removed."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .base import Store


def package_key(ref: str) -> str:
    """A job id (``job-…``) names ``captures/<job id>.wacz``; anything else is a key."""
    if "/" not in ref and not ref.endswith(".wacz"):
        return f"captures/{ref}.wacz"
    return ref


@contextlib.contextmanager
def fetched(store: Store, ref: str) -> Iterator[Path]:
    """``ref``'s object in a temporary file (streamed: memory stays flat), removed after."""
    with tempfile.TemporaryDirectory(prefix="archiver-fetch-") as tmp:
        path = Path(tmp) / Path(package_key(ref)).name
        store.get(package_key(ref), path)
        yield path
