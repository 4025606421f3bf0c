"""Stored packages as local files for the readers (verify, diff, report), streamed, then
removed."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from .base import Store


def package_key(ref: str) -> str:
    """A job id (``job-…``) names ``captures/<job id>.wacz``; anything else is a key."""
    if "/" not in ref and not ref.endswith(".wacz"):
        return f"captures/{ref}.wacz"
    return ref


def object_name(store: Store, ref: str) -> str:
    """How reports name ``ref``'s object: the store's URL and the key."""
    return f"{store.url.rstrip('/')}/{package_key(ref)}"


@contextlib.contextmanager
def fetched(store: Store, ref: str) -> Iterator[Path]:
    """``ref``'s object in a temporary file (streamed: memory stays flat), removed after."""
    with tempfile.TemporaryDirectory(prefix="archiver-fetch-") as tmp:
        path = Path(tmp) / Path(package_key(ref)).name
        store.get(package_key(ref), path)
        yield path


@contextlib.contextmanager
def fetched_all(store: Store, refs: Sequence[str]) -> Iterator[list[Path]]:
    """Each of ``refs`` as ``fetched`` does (in order; all removed after)."""
    with contextlib.ExitStack() as stack:
        yield [stack.enter_context(fetched(store, ref)) for ref in refs]
