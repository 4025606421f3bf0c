"""The zip must have one reading: members back to back from byte 0, then the directory.

A zip can be read two ways: from its central directory at the end (Python, most
replay tools) or from the local headers at the front (streaming unzippers). A forger
can make those two readings differ: data prepended or appended, a zip comment, gaps
or overlapping entries, a local header whose name, method, flags or sizes differ from
the central directory's, a name cut short at a NUL byte. ``structure_problems`` reads
only the headers (a few dozen bytes per member) and names every such quirk, so a
package that passes has exactly one interpretation: the one verify hashed.
"""

from __future__ import annotations

import struct
import zipfile
from pathlib import Path
from typing import BinaryIO

WHOLE = "(zip structure)"
_EOCD = b"PK\x05\x06"
_EOCD64 = b"PK\x06\x06"
_LOCATOR = b"PK\x06\x07"
_LOCAL = b"PK\x03\x04"
_DESCRIPTOR = b"PK\x07\x08"
_MAX32 = 0xFFFFFFFF


def _decode(raw: bytes, flags: int) -> str:
    return raw.decode("utf-8" if flags & 0x800 else "cp437", "replace")


def _zip64_sizes(extra: bytes, csize: int, usize: int) -> tuple[int, int]:
    """Sizes from a local header's zip64 extra field where the 32-bit ones are maxed."""
    pos = 0
    while pos + 4 <= len(extra):
        tag, length = struct.unpack("<HH", extra[pos : pos + 4])
        body = extra[pos + 4 : pos + 4 + length]
        if tag == 0x0001:
            values = [v for (v,) in struct.iter_unpack("<Q", body[: len(body) // 8 * 8])]
            if usize == _MAX32 and values:
                usize = values.pop(0)
            if csize == _MAX32 and values:
                csize = values.pop(0)
            break
        pos += 4 + length
    return csize, usize


def _tail(fh: BinaryIO, size: int) -> tuple[list[str], int, int, int]:
    """Problems at the end of the file, where the directory region ends, its size."""
    if size < 22:
        return ["the file is too short to be a zip"], size, 0, 0
    fh.seek(size - 22)
    eocd = fh.read(22)
    if eocd[:4] != _EOCD or struct.unpack("<H", eocd[20:22])[0] != 0:
        fh.seek(max(0, size - 22 - 65535))
        tail = fh.read()
        at = tail.rfind(_EOCD)
        extra = len(tail) - at - 22 if at >= 0 else size
        problem = f"{extra} bytes follow the end of the zip (a zip comment or appended data)"
        return [problem], size - extra - 22, 0, 0
    count, cd_size = struct.unpack("<HI", eocd[10:16])
    end = size - 22
    locator = b""
    if size >= 42:
        fh.seek(size - 42)
        locator = fh.read(20)
    if locator[:4] == _LOCATOR:
        (eocd64_at,) = struct.unpack("<Q", locator[8:16])
        fh.seek(eocd64_at)
        head = fh.read(48)
        if (
            len(head) < 48
            or head[:4] != _EOCD64
            or eocd64_at + 12 + struct.unpack("<Q", head[4:12])[0] != size - 42
        ):
            return ["the zip64 end-of-directory records are not where they should be"], end, 0, 0
        count, cd_size = struct.unpack("<QQ", head[32:48])
        end = eocd64_at
    return [], end, cd_size, count


def structure_problems(path: Path, zf: zipfile.ZipFile) -> list[tuple[str, str]]:
    """(member or WHOLE, problem) for every byte of the zip not read the one canonical way."""
    problems: list[tuple[str, str]] = []
    infos = zf.infolist()
    start_dir: int = getattr(zf, "start_dir", 0)
    with open(path, "rb") as fh:
        size = fh.seek(0, 2)
        tail, dir_end, cd_size, count = _tail(fh, size)
        problems += [(WHOLE, p) for p in tail]
        pos = 0
        for info in sorted(infos, key=lambda i: i.header_offset):
            name = info.filename
            if info.orig_filename != name:
                problems.append((name, f"its stored name {info.orig_filename!r} is cut or altered"))
            if info.header_offset < pos:
                problems.append((name, "overlaps the zip entry before it"))
            elif info.header_offset > pos:
                gap = info.header_offset - pos
                what = "of data prepended to the zip" if pos == 0 else "of hidden data"
                problems.append((name, f"{gap} bytes {what} lie before this entry"))
            pos = max(pos, _local(fh, info, problems))
        if pos < start_dir:
            problems.append((WHOLE, f"{start_dir - pos} bytes hidden before the zip directory"))
        elif pos > start_dir:
            problems.append((WHOLE, "the last entry overlaps the zip directory"))
        if not tail and count != len(infos):
            problems.append(
                (WHOLE, f"the end record counts {count} entries, the directory has {len(infos)}")
            )
        if not tail and start_dir + cd_size != dir_end:
            problems.append((WHOLE, "the zip directory does not end where its end record begins"))
    return problems


def _local(fh: BinaryIO, info: zipfile.ZipInfo, problems: list[tuple[str, str]]) -> int:
    """Compare the local header with the central one; return where the entry ends."""
    name = info.filename
    fh.seek(info.header_offset)
    head = fh.read(30)
    if len(head) < 30 or head[:4] != _LOCAL:
        problems.append((name, "its local header is missing or damaged"))
        return info.header_offset
    flags, method, _t, _d, crc, csize, usize, nlen, xlen = struct.unpack("<HHHHIIIHH", head[6:30])
    raw_name = fh.read(nlen)
    extra = fh.read(xlen)
    if _decode(raw_name, flags) != info.orig_filename:
        problems.append(
            (name, f"the local header names it {_decode(raw_name, flags)!r} (two names)")
        )
    if flags != info.flag_bits or method != info.compress_type:
        problems.append((name, "the local header's flags or compression differ from the directory"))
    end: int = info.header_offset + 30 + nlen + xlen + info.compress_size
    if flags & 0x08:
        return end + _descriptor_length(fh, end, info)
    csize, usize = _zip64_sizes(extra, csize, usize)
    if (crc, csize, usize) != (info.CRC, info.compress_size, info.file_size):
        problems.append((name, "the local header's size or CRC differ from the directory"))
    return end


def _descriptor_length(fh: BinaryIO, at: int, info: zipfile.ZipInfo) -> int:
    """Length of the data descriptor after a member's data (signature optional, 32/64-bit)."""
    fh.seek(at)
    data = fh.read(24)
    sig = 4 if data[:4] == _DESCRIPTOR else 0
    body = data[sig:]
    if len(body) >= 12 and struct.unpack("<III", body[:12]) == (
        info.CRC,
        info.compress_size,
        info.file_size,
    ):
        return sig + 12
    if len(body) >= 20 and struct.unpack("<IQQ", body[:20]) == (
        info.CRC,
        info.compress_size,
        info.file_size,
    ):
        return sig + 20
    return 0
