"""Zip-level checks of a package: layout, streamed member hashes, bounded small reads.

``hash_members`` reads every member in fixed-size chunks (inflating with bounded output,
checking the CRC-32 and that a deflate stream ends exactly where the member does):
memory stays flat however large a member is or inflates to.
``raw_stored_stream`` gives the bytes of a STORED member straight from the file, so a
second reader (the WARC scanner) can work on them in another thread; the caller checks
their CRC-32 itself (``zlib.crc32`` on the same chunks, no second read).
"""

from __future__ import annotations

import hashlib
import io
import struct
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, BinaryIO

from ..layout import (
    CONTENT,
    DATAPACKAGE,
    DATAPACKAGE_DIGEST,
    SIGNED,
    WARC,
    is_token,
    token_number,
)
from ..package import BAD_ZIP

CHUNK = 1 << 18  # 256 KiB: inflating and hashing stay in the L2 cache
REQUIRED = (*CONTENT, *SIGNED, DATAPACKAGE, DATAPACKAGE_DIGEST)
CONTENT_PREFIXES = ("archive/", "indexes/", "pages/")
ENCRYPTED = "is encrypted, so it cannot be checked"
CRC_MISMATCH = "its CRC-32 does not match the zip header (damaged, or the header was edited)"


class MemberError(Exception):
    """A member cannot be read (damaged data, bad CRC, too large)."""


@dataclass(frozen=True)
class MemberHash:
    name: str
    sha256: str | None  # hex; None when the member could not be read
    size: int
    error: str | None = None


def layout_problems(infos: list[zipfile.ZipInfo]) -> list[tuple[str, str]]:
    """(member, problem) for duplicates, unexpected files, missing files, bad storage."""
    problems: list[tuple[str, str]] = []
    counts = Counter(i.filename for i in infos)
    for name, n in sorted(counts.items()):
        if n > 1:
            problems.append(
                (name, f"appears {n} times in the zip (which copy counts is ambiguous)")
            )
    for info in infos:
        name = info.filename
        if info.flag_bits & 0x1:
            problems.append((name, "is encrypted"))
        if name not in REQUIRED and not is_token(name):
            problems.append((name, "is not part of a capture package (file added to the zip?)"))
    for name in REQUIRED:
        if name not in counts:
            problems.append((name, "is missing"))
    warc = next((i for i in infos if i.filename == WARC), None)
    if warc is not None and warc.compress_type != zipfile.ZIP_STORED:
        problems.append((WARC, "must be STORED in the zip, not compressed again (WACZ rule)"))
    return problems


def token_names(names: list[str]) -> list[str]:
    """The timestamp token members, in token number order."""
    found = [(n, name) for name in names if (n := token_number(name)) is not None]
    return [name for _, name in sorted(found)]


def hash_members(path: Path, infos: list[zipfile.ZipInfo]) -> list[MemberHash]:
    """sha256 and size of every member's content, streamed; errors named, never raised."""
    with zipfile.ZipFile(path) as zf:
        return [_hash_member(path, zf, info) for info in infos]


def _hash_member(path: Path, zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> MemberHash:
    """STORED and DEFLATED members are read raw and inflated here, so the deflate stream
    must end exactly where the member does (a streaming unzipper reads no other way) and
    the CRC-32 is checked on the same chunks; other methods go through ``zipfile``."""
    if info.flag_bits & 0x1:
        return MemberHash(info.filename, None, 0, ENCRYPTED)
    digest = hashlib.sha256()
    size = 0
    crc = 0
    own = info.compress_type in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
    try:
        with raw_stored_stream(path, info) if own else zf.open(info) as fh:
            chunks = _inflate(fh) if info.compress_type == zipfile.ZIP_DEFLATED else _read(fh)
            for chunk in chunks:
                digest.update(chunk)
                crc = zlib.crc32(chunk, crc)
                size += len(chunk)
    except (MemberError, *BAD_ZIP) as err:
        return MemberHash(info.filename, None, size, f"cannot be read: {err}")
    if own and crc != info.CRC and size == info.file_size:
        return MemberHash(info.filename, None, size, CRC_MISMATCH)
    return MemberHash(info.filename, digest.hexdigest(), size)


def _read(fh: IO[bytes]) -> Iterator[bytes]:
    while chunk := fh.read(CHUNK):
        yield chunk


def _inflate(fh: IO[bytes]) -> Iterator[bytes]:
    """The content of a raw deflate stream, at most CHUNK bytes at a time (a small member
    may inflate to gigabytes); MemberError unless the stream ends exactly at its end."""
    inflater = zlib.decompressobj(-15)
    while raw := fh.read(CHUNK):
        if inflater.eof:
            raise MemberError("holds bytes after its deflate stream ends")
        while True:
            out = inflater.decompress(raw, CHUNK)
            if out:
                yield out
            raw = inflater.unconsumed_tail
            if not raw and len(out) < CHUNK:
                break
        if inflater.unused_data:
            raise MemberError("holds bytes after its deflate stream ends")
    if not inflater.eof:
        raise MemberError("its deflate stream does not end where the member ends")


def read_small(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    """A whole small member, refusing more than ``limit`` bytes (declared or inflated)."""
    if info.file_size > limit:
        raise MemberError(f"is larger than {limit} bytes")
    if info.flag_bits & 0x1:
        raise MemberError(ENCRYPTED)
    try:
        with zf.open(info) as fh:
            data = fh.read(limit + 1)
    except BAD_ZIP as err:
        raise MemberError(f"cannot be read: {err}") from err
    if len(data) > limit:
        raise MemberError(f"is larger than {limit} bytes")
    return data


class _Window(io.RawIOBase):
    """A read-only view of ``length`` bytes of an open file from its current position."""

    def __init__(self, fh: BinaryIO, length: int) -> None:
        super().__init__()
        self._fh = fh
        self._left = length

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        n = min(len(buffer), self._left)
        if n <= 0:
            return 0
        data = self._fh.read(n)
        buffer[: len(data)] = data
        self._left -= len(data)
        return len(data)

    def read(self, size: int = -1) -> bytes:
        n = self._left if size < 0 else min(size, self._left)
        data = self._fh.read(n)
        self._left -= len(data)
        return data

    def close(self) -> None:
        self._fh.close()
        super().close()


def raw_stored_stream(path: Path, info: zipfile.ZipInfo) -> BinaryIO:
    """The bytes of member ``info`` as stored (compressed or not), read from the file."""
    fh = open(path, "rb")  # noqa: SIM115 - closed by the returned stream
    try:
        fh.seek(info.header_offset)
        local = fh.read(30)
        if len(local) != 30 or local[:4] != b"PK\x03\x04":
            raise MemberError("local header is damaged")
        name_len, extra_len = struct.unpack("<HH", local[26:30])
        fh.seek(info.header_offset + 30 + name_len + extra_len)
    except BaseException:
        fh.close()
        raise
    return _Window(fh, info.compress_size)  # type: ignore[return-value]
