"""Stored packages as local files for the readers (verify, diff, report), streamed, then
removed.

A ref that names a ``.wacz`` file on this machine is read in place, so a capture in the
store can be compared with one kept locally (``diff --storage S job-… local.wacz``).
"""

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


def is_local(ref: str) -> bool:
    """Whether ``ref`` is a package file on this machine rather than a store key."""
    return ref.endswith(".wacz") and Path(ref).is_file()


def object_name(store: Store, ref: str) -> str:
    """How reports name ``ref``'s object: the store's URL and the key (a local file: its
    path)."""
    if is_local(ref):
        return str(Path(ref).resolve())
    return f"{store.url.rstrip('/')}/{package_key(ref)}"


@contextlib.contextmanager
def fetched(store: Store, ref: str) -> Iterator[Path]:
    """``ref``'s object in a temporary file (streamed: memory stays flat), removed after;
    a local package file as it is."""
    if is_local(ref):
        yield Path(ref)
        return
    with tempfile.TemporaryDirectory(prefix="archiver-fetch-") as tmp:
        path = Path(tmp) / Path(package_key(ref)).name
        store.get(package_key(ref), path)
        yield path


@contextlib.contextmanager
def fetched_all(store: Store, refs: Sequence[str]) -> Iterator[list[Path]]:
    """Each of ``refs`` as ``fetched`` does (in order; all removed after)."""
    with contextlib.ExitStack() as stack:
        yield [stack.enter_context(fetched(store, ref)) for ref in refs]
