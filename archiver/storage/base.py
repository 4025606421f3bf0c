"""The store interface and what every backend shares."""

from __future__ import annotations

import builtins
import hashlib
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from ..errors import ArchiverError

CHUNK = 1024 * 1024
# Keys under this prefix are uploads in progress; list() never shows them.
TEMP_PREFIX = ".incoming/"


class StoreError(ArchiverError):
    """A store cannot be reached, or an object in it is missing or not what was written."""

    exit_code = 1


class StoreSpecError(StoreError):
    """A STORE that names no store we know how to open (bad usage, exit 2)."""

    exit_code = 2


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    sha256: str


class Store(Protocol):
    """A flat namespace of keys like ``captures/<job id>.wacz``."""

    url: str

    def put(self, key: str, source: Path, *, owner: str = "") -> StoredObject:
        """Publish ``source`` under ``key`` (replacing it), checked after the upload.

        ``owner`` names the writer in the temporary name, so ``tidy`` can tell the
        leftovers of a dead writer from a live writer's upload in progress."""

    def open(self, key: str) -> BinaryIO:
        """A streaming reader of the object ``key`` (StoreError if it is missing)."""

    def get(self, key: str, dest: Path) -> StoredObject:
        """Copy ``key`` to ``dest`` (streamed), returning the size and sha256 it had."""

    def list(self, prefix: str = "") -> Iterator[str]:
        """Every published key under ``prefix``, sorted."""

    def delete(self, key: str) -> None: ...

    def stat(self, key: str) -> StoredObject | None:
        """Size and sha256 of ``key`` (read through), or None when there is no such key."""

    def tidy(
        self, older_than_s: float, dead: Callable[[str], bool] | None = None
    ) -> builtins.list[str]:
        """Remove uploads left by dead writers: older than ``older_than_s``, or whose
        owner ``dead`` says is dead; returns the keys removed."""


def hash_stream(stream: BinaryIO, sink: BinaryIO | None = None) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    while chunk := stream.read(CHUNK):
        digest.update(chunk)
        size += len(chunk)
        if sink is not None:
            sink.write(chunk)
    return size, digest.hexdigest()


def sha256_file(path: Path) -> tuple[int, str]:
    with path.open("rb") as f:
        return hash_stream(f)


def check_key(key: str) -> str:
    parts = key.split("/")
    if not key or key.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise StoreError(f"bad store key {key!r}")
    return key


def check_stored(key: str, wrote: tuple[int, str], found: tuple[int, str], url: str) -> None:
    if found != wrote:
        raise StoreError(
            f"{url}: object {key} after upload has {found[0]} bytes, sha256 {found[1]}; "
            f"wrote {wrote[0]} bytes, sha256 {wrote[1]}"
        )


def temp_name(owner: str) -> str:
    """A temporary upload's name under TEMP_PREFIX: ``<owner>--<uuid>`` or ``<uuid>``."""
    tag = uuid.uuid4().hex
    return f"{owner}--{tag}" if owner else tag


def is_leftover(
    name: str, age_s: float, older_than_s: float, dead: Callable[[str], bool] | None
) -> bool:
    owner, sep, _tag = name.partition("--")
    return age_s > older_than_s or bool(sep and dead is not None and dead(owner))
