"""The zip must have one reading: members back to back from byte 0, then the directory.

A zip can be read two ways: from its central directory at the end (Python, most
replay tools) or from the local headers at the front (streaming unzippers). A forger
can make those two readings differ: data prepended or appended, a zip comment, gaps
or overlapping entries, a local header whose name, method, flags or sizes differ from
the central directory's, a name cut short at a NUL byte. ``structure_problems`` reads
only the headers (a few dozen bytes per member) and names every such quirk, so a
package that passes has exactly one interpretation: the one verify hashed.

``read_directory`` runs first, before ``zipfile`` sees the file: ``zipfile`` reads the
whole central directory into memory at the size the end record claims, and makes one
object per entry. So the end records (plain and ZIP64) are read here the way
``zipfile`` reads them, and a claim past sane bounds (a directory over 64 MiB or
larger than the file, more than 100,000 entries, a name, extra field or comment over
1 KiB) refuses the package unread: memory stays bounded by the work, not by what the
file claims. The same walk names what the headers could hide outside every hash: an
extra field other than a ZIP64 one holding exactly the sizes it stands for, and a
per-file comment (local headers are checked the same way by ``structure_problems``).
"""

from __future__ import annotations

import struct
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

WHOLE = "(zip structure)"
_EOCD = b"PK\x05\x06"
_EOCD64 = b"PK\x06\x06"
_LOCATOR = b"PK\x06\x07"
_LOCAL = b"PK\x03\x04"
_DESCRIPTOR = b"PK\x07\x08"
_CENTRAL = b"PK\x01\x02"
_MAX32 = 0xFFFFFFFF
MAX_DIRECTORY = 64 << 20  # bytes of central directory
MAX_ENTRIES = 100_000
MAX_FIELD = 1024  # bytes of one entry's name, extra field or comment
_ZIP64 = 0x0001
_ONE_PART = "the end record's disk numbers or per-disk entry count are not a one-part zip's"


@dataclass(frozen=True)
class Directory:
    """What the central directory holds, read before ``zipfile`` reads it."""

    refused: str | None = None  # a claim past the bounds: read nothing else
    problems: list[tuple[str, str]] = field(default_factory=list)


def _size(n: int) -> str:
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift:
            return f"{n} bytes ({n / (1 << shift):.1f} {unit})"
    return f"{n} bytes"


def _end_records(fh: BinaryIO, size: int) -> tuple[int, int, int] | None:
    """(where the directory ends, its claimed size, its claimed entry count), found the
    way ``zipfile._EndRecData`` finds them; None when ``zipfile`` will say "not a zip"."""
    if size < 22:
        return None
    fh.seek(size - 22)
    data = fh.read(22)
    at = size - 22
    if data[:4] != _EOCD or data[20:22] != b"\0\0":
        low = max(size - (1 << 16) - 22, 0)
        fh.seek(low)
        tail = fh.read()
        found = tail.rfind(_EOCD)
        if found < 0 or len(tail) - found < 22:
            return None
        at, data = low + found, tail[found : found + 22]
    count, cd_size = struct.unpack("<HI", data[10:16])
    if at < 20:
        return at, cd_size, count
    fh.seek(at - 20)
    locator = fh.read(20)
    if locator[:4] != _LOCATOR:
        return at, cd_size, count
    disk, _offset, disks = struct.unpack("<IQI", locator[4:20])
    if disk != 0 or disks > 1:
        return None  # zipfile refuses a multi-disk zip
    if at < 76:
        return at, cd_size, count
    fh.seek(at - 76)
    record = fh.read(56)
    if record[:4] != _EOCD64:
        return at, cd_size, count
    count, cd_size = struct.unpack("<QQ", record[32:48])
    return at - 76, cd_size, count


def read_directory(path: Path) -> Directory:
    """Bounds and hidden-data problems of the central directory, before ``zipfile``.

    Raises OSError when the file cannot be read; a file with no end record (not a zip)
    gives an empty ``Directory``, so ``zipfile`` names the problem as it always has.
    """
    with open(path, "rb") as fh:
        size = fh.seek(0, 2)
        end = _end_records(fh, size)
        if end is None:
            return Directory()
        dir_end, cd_size, count = end
        if cd_size > MAX_DIRECTORY:
            return Directory(
                f"the zip's end record claims a central directory of {_size(cd_size)}; "
                f"more than {MAX_DIRECTORY >> 20} MiB is refused unread"
            )
        if cd_size > dir_end:
            return Directory(
                f"the zip's end record claims a central directory of {_size(cd_size)}, "
                f"larger than the {dir_end} bytes before it"
            )
        if count > MAX_ENTRIES:
            return Directory(
                f"the zip's end record claims {count} entries; more than {MAX_ENTRIES} "
                "is refused unread"
            )
        fh.seek(dir_end - cd_size)
        return _walk(fh, cd_size)


def _walk(fh: BinaryIO, cd_size: int) -> Directory:
    """Each central entry's field lengths against the bounds, then its extras and comment."""
    problems: list[tuple[str, str]] = []
    total = 0
    number = 0
    while total < cd_size:
        head = fh.read(46)
        if len(head) < 46 or head[:4] != _CENTRAL:
            break  # zipfile names the damaged directory
        number += 1
        if number > MAX_ENTRIES:
            return Directory(f"the zip directory holds more than {MAX_ENTRIES} entries; refused")
        flags = struct.unpack("<H", head[8:10])[0]
        csize, usize, nlen, xlen, clen, disk = struct.unpack("<IIHHHH", head[20:36])
        (offset,) = struct.unpack("<I", head[42:46])
        for what, length in (("a name", nlen), ("an extra field", xlen), ("a comment", clen)):
            if length > MAX_FIELD:
                return Directory(
                    f"entry {number} of the zip directory has {what} of {length} bytes; "
                    f"more than {MAX_FIELD} is refused"
                )
        if total + 46 + nlen + xlen + clen > cd_size:  # zipfile reads it short, others not
            problems.append((WHOLE, f"entry {number} of the zip directory runs past its end"))
            break
        name = _decode(fh.read(nlen), flags)
        extra = fh.read(xlen)
        if clen:
            problems.append(
                (name, f"carries a zip comment of {clen} bytes (unsigned text outside every hash)")
            )
            fh.seek(clen, 1)
        if disk:
            problems.append(
                (name, f"its directory entry puts it on disk {disk} of a multi-part zip")
            )
        maxed = [usize, csize, offset].count(_MAX32) * 8 + (4 if disk == 0xFFFF else 0)
        problems += [(name, p) for p in extra_problems(extra, maxed, "directory")]
        total += 46 + nlen + xlen + clen
    return Directory(None, problems)


def extra_problems(extra: bytes, zip64_bytes: int, header: str) -> list[str]:
    """What an extra field holds beyond a ZIP64 field of exactly ``zip64_bytes`` bytes.

    Our writer (``zipfile``) writes nothing else there; anything more is data outside
    every hash, or (Info-ZIP's Unicode path field) a second name for the entry.
    """
    problems: list[str] = []
    pos = 0
    zip64_seen = False
    while pos < len(extra):
        if pos + 4 > len(extra):
            problems.append(f"its {header} header's extra field ends in a broken entry")
            break
        tag, length = struct.unpack("<HH", extra[pos : pos + 4])
        if pos + 4 + length > len(extra):
            problems.append(f"its {header} header's extra field 0x{tag:04x} runs past its end")
            break
        if tag != _ZIP64:
            problems.append(
                f"its {header} header carries a zip extra field 0x{tag:04x} of {length} bytes "
                "that archiver never writes (unsigned data outside every hash)"
            )
        elif zip64_seen:
            problems.append(f"its {header} header carries a second ZIP64 field (hidden data)")
        elif length != zip64_bytes:
            problems.append(
                f"its {header} header's ZIP64 field holds {length} bytes where the header "
                f"needs {zip64_bytes} (unsigned data outside every hash)"
            )
        zip64_seen = zip64_seen or tag == _ZIP64
        pos += 4 + length
    return problems


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
    disk, cd_disk, here, count, cd_size = struct.unpack("<HHHHI", eocd[4:16])
    problems: list[str] = []
    if disk or cd_disk or here != count:
        problems.append(_ONE_PART)
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
        disk, cd_disk, here, count, cd_size = struct.unpack("<IIQQQ", head[16:48])
        disks = struct.unpack("<I", locator[16:20])[0]
        if (disk or cd_disk or here != count or disks != 1) and not problems:
            problems.append(_ONE_PART)
        end = eocd64_at
    return problems, end, cd_size, count


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
        ends_ok = not tail or tail == [_ONE_PART]
        if ends_ok and count != len(infos):
            problems.append(
                (WHOLE, f"the end record counts {count} entries, the directory has {len(infos)}")
            )
        if ends_ok and start_dir + cd_size != dir_end:
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
    for what, length in (("a name", nlen), ("an extra field", xlen)):
        if length > MAX_FIELD:
            problems.append((name, f"its local header has {what} of {length} bytes"))
    local64 = [usize, csize].count(_MAX32) * 8
    problems += [(name, p) for p in extra_problems(extra, local64, "local")]
    if _decode(raw_name, flags) != info.orig_filename:
        problems.append(
            (name, f"the local header names it {_decode(raw_name, flags)!r} (two names)")
        )
    if flags != info.flag_bits or method != info.compress_type:
        problems.append((name, "the local header's flags or compression differ from the directory"))
    end: int = info.header_offset + 30 + nlen + xlen + info.compress_size
    if flags & 0x08:
        descriptor = _descriptor_length(fh, end, info)
        if not descriptor:
            problems.append((name, "its flags promise a data descriptor after its data; none is"))
        return end + descriptor
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
