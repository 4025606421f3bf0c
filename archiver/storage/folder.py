"""A store in a folder (local or a shared mount): temp file, fsync, rename."""

from __future__ import annotations

import builtins
import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from .base import (
    TEMP_PREFIX,
    StoredObject,
    StoreError,
    check_key,
    check_stored,
    hash_stream,
    is_leftover,
    sha256_file,
    temp_name,
)


class FolderStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root).absolute()
        self.url = str(self.root)
        try:
            (self.root / TEMP_PREFIX).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create store folder {self.root}: {exc}") from exc

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def put(self, key: str, source: Path, *, owner: str = "") -> StoredObject:
        dest = self._path(key)
        wrote = sha256_file(source)
        tmp = self.root / TEMP_PREFIX / f"{temp_name(owner)}.part"
        try:
            with source.open("rb") as src, tmp.open("wb") as out:
                shutil.copyfileobj(src, out, 1024 * 1024)
                out.flush()
                os.fsync(out.fileno())
            check_stored(key, wrote, sha256_file(tmp), self.url)
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, dest)
        except OSError as exc:
            raise StoreError(f"cannot store {key} in {self.url}: {exc}") from exc
        finally:
            tmp.unlink(missing_ok=True)
        found = self.stat(key)
        check_stored(key, wrote, (found.size, found.sha256) if found else (0, ""), self.url)
        return StoredObject(key, *wrote)

    def open(self, key: str) -> BinaryIO:
        try:
            return self._path(key).open("rb")
        except FileNotFoundError as exc:
            raise StoreError(f"{self.url}: no object {key}") from exc

    def get(self, key: str, dest: Path) -> StoredObject:
        with self.open(key) as src, dest.open("wb") as out:
            size, sha = hash_stream(src, out)
        return StoredObject(key, size, sha)

    def list(self, prefix: str = "") -> Iterator[str]:
        keys = []
        for path in self.root.rglob("*"):
            key = path.relative_to(self.root).as_posix()
            if path.is_file() and key.startswith(prefix) and not key.startswith(TEMP_PREFIX):
                keys.append(key)
        return iter(sorted(keys))

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def stat(self, key: str) -> StoredObject | None:
        path = self._path(key)
        if not path.is_file():
            return None
        return StoredObject(key, *sha256_file(path))

    def tidy(
        self, older_than_s: float, dead: Callable[[str], bool] | None = None
    ) -> builtins.list[str]:
        removed = []
        for path in (self.root / TEMP_PREFIX).glob("*.part"):
            try:
                age = time.time() - path.stat().st_mtime
            except FileNotFoundError:
                continue
            if is_leftover(path.name.removesuffix(".part"), age, older_than_s, dead):
                path.unlink(missing_ok=True)
                removed.append(TEMP_PREFIX + path.name)
        return removed
