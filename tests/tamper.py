"""Tamper helpers shared by the verification tests: what a careful forger would do.

Each rewrites a real package's bytes: change a zip member (optionally making the
unsigned datapackage.json and its digest agree again), edit one WARC record inside
the stored data.warc.gz (recompressing only that gzip member), flip a byte. For the zip
headers themselves, ``raw_entries`` and ``write_raw`` take a package apart and write it
back byte by byte (extra fields, comments, flags, times and sizes as given), and
``run_archiver`` runs the real command line in a fresh process under a memory limit.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import resource
import struct
import subprocess
import sys
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

# The package layout, named once for the tests (spelled out, not taken from archiver).
WARC = "archive/data.warc.gz"
CDXJ = "indexes/index.cdxj"
PAGES = "pages/pages.jsonl"
MANIFEST = "provenance/manifest.json"
SIG = "provenance/manifest.json.sig"
PUB = "provenance/signer.pub.pem"
TSR0 = "provenance/manifest.json.sig.0.tsr"
TSR1 = "provenance/manifest.json.sig.1.tsr"
UNSIGNED = ("datapackage.json", "datapackage-digest.json")

Transform = Callable[[bytes], bytes | None]


def members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {info.filename: zf.read(info) for info in zf.infolist()}


def rewrite(
    path: Path,
    changes: dict[str, Transform],
    *,
    add: dict[str, bytes] | None = None,
    fix_datapackage: bool = True,
) -> None:
    """Rewrite zip members in place (a change returning None drops the member), then
    make the unsigned datapackage.json and its digest agree, as a careful tamperer would."""
    with zipfile.ZipFile(path) as zf:
        old = [(info, zf.read(info)) for info in zf.infolist()]
    out: list[tuple[zipfile.ZipInfo, bytes]] = []
    for info, data in old:
        change = changes.get(info.filename)
        new = change(data) if change else data
        if new is not None:
            out.append((info, new))
    for name, data in (add or {}).items():
        out.append((zipfile.ZipInfo(name, date_time=(2026, 11, 27, 9, 18, 7)), data))
    if fix_datapackage:
        by_name = {info.filename: data for info, data in out}
        doc = json.loads(by_name["datapackage.json"])
        doc["resources"] = [
            {
                "name": name.rsplit("/", 1)[-1],
                "path": name,
                "hash": "sha256:" + hashlib.sha256(data).hexdigest(),
                "bytes": len(data),
            }
            for name, data in by_name.items()
            if name not in UNSIGNED
        ]
        dp = json.dumps(doc, indent=2).encode()
        digest = {"path": "datapackage.json", "hash": "sha256:" + hashlib.sha256(dp).hexdigest()}
        fixed = {"datapackage.json": dp, "datapackage-digest.json": json.dumps(digest).encode()}
        out = [(info, fixed.get(info.filename, data)) for info, data in out]
    with zipfile.ZipFile(path, "w") as zf:
        for info, data in out:
            zf.writestr(info, data, compress_type=info.compress_type)


def gzip_members(data: bytes) -> list[bytes]:
    """The raw (still compressed) gzip members of a WARC.gz, one record each."""
    out: list[bytes] = []
    while data:
        inflater = zlib.decompressobj(31)
        inflater.decompress(data)
        used = len(data) - len(inflater.unused_data)
        out.append(data[:used])
        data = data[used:]
    return out


def record_header(record: bytes) -> dict[str, str]:
    head = record.split(b"\r\n\r\n", 1)[0].decode("utf-8")
    fields = {}
    for line in head.split("\r\n")[1:]:
        name, _, value = line.partition(":")
        fields[name.strip()] = value.strip()
    return fields


def find_record(warc: bytes, wanted: Callable[[dict[str, str]], bool]) -> int:
    for n, member in enumerate(gzip_members(warc)):
        if wanted(record_header(gzip.decompress(member))):
            return n
    raise LookupError("no such record in the capture")


def main_response(url: str) -> Callable[[dict[str, str]], bool]:
    return lambda h: h.get("WARC-Type") == "response" and h.get("WARC-Target-URI") == url


def record_id_at(warc: bytes, index: int) -> str:
    return record_header(gzip.decompress(gzip_members(warc)[index]))["WARC-Record-ID"]


def edit_record(index: int, edit: Callable[[bytes], bytes]) -> Transform:
    """Decompress one record's gzip member, edit it, recompress only that member."""

    def change(data: bytes) -> bytes:
        raw = gzip_members(data)
        raw[index] = gzip.compress(edit(gzip.decompress(raw[index])), mtime=0)
        return b"".join(raw)

    return change


def flip_byte_in_body(word: bytes) -> Callable[[bytes], bytes]:
    """Change one byte of ``word``'s first occurrence after the WARC and HTTP headers."""

    def edit(record: bytes) -> bytes:
        warc_head, _, block = record.partition(b"\r\n\r\n")
        http_head, _, body = block.partition(b"\r\n\r\n")
        pos = body.index(word) + len(word) - 1
        body = body[:pos] + bytes([body[pos] ^ 0x01]) + body[pos + 1 :]
        return warc_head + b"\r\n\r\n" + http_head + b"\r\n\r\n" + body

    return edit


def flip(pos: int) -> Transform:
    def change(data: bytes) -> bytes:
        b = bytearray(data)
        b[pos % len(b)] ^= 0x01
        return bytes(b)

    return change


def _der(tag: int, body: bytes) -> bytes:
    n = len(body)
    size = (
        bytes([n])
        if n < 0x80
        else bytes([0x80 | ((n.bit_length() + 7) // 8)])
        + n.to_bytes((n.bit_length() + 7) // 8, "big")
    )
    return bytes([tag]) + size + body


def resign_token(
    tsr: bytes,
    work: Path,
    cert: Path,
    key: Path,
    *,
    edit: Callable[[bytes], bytes] = lambda tst: tst,
    extra_certs: Path | None = None,
) -> bytes:
    """A TimeStampResp whose TSTInfo (taken from ``tsr``, then ``edit``-ed) is signed
    again by ``cert``/``key`` with openssl cms, optionally carrying more certificates."""
    work.mkdir(parents=True, exist_ok=True)
    src, token, tst, signed = (work / n for n in ("in.tsr", "in.token", "tst", "out.p7"))
    src.write_bytes(tsr)
    run = partial(subprocess.run, check=True, capture_output=True)
    run(["openssl", "ts", "-reply", "-in", src, "-token_out", "-out", token])
    run(["openssl", "cms", "-verify", "-noverify", "-inform", "DER", "-in", token, "-out", tst])
    tst.write_bytes(edit(tst.read_bytes()))
    args = ["openssl", "cms", "-sign", "-binary", "-nodetach", "-nosmimecap"]
    args += ["-econtent_type", "1.2.840.113549.1.9.16.1.4", "-md", "sha256"]
    args += ["-signer", cert, "-inkey", key, "-in", tst, "-outform", "DER", "-out", signed]
    if extra_certs is not None:
        args += ["-certfile", extra_certs]
    run([str(a) for a in args])
    granted = _der(0x30, b"\x02\x01\x00")
    return _der(0x30, granted + signed.read_bytes())


def resign_with_another_key(
    path: Path, edit: Callable[[dict[str, Any]], None], thief: Ed25519PrivateKey
) -> None:
    """The strongest forgery without the signer's key: edit the manifest, sign it with
    another key, pack that key as the signer's, drop the tokens (they would not match)."""
    from archiver.proof import signing

    with zipfile.ZipFile(path) as zf:
        doc = json.loads(zf.read(MANIFEST))
        tokens = [n for n in zf.namelist() if n.startswith(SIG + ".")]
    edit(doc)
    pem = signing.public_pem(thief)
    doc["signer"]["public_key_pem"] = pem.decode()
    doc["signer"]["fingerprint"] = signing.fingerprint(thief)
    manifest = rfc8785.dumps(doc)
    changes: dict[str, Transform] = {
        MANIFEST: lambda _: manifest,
        SIG: lambda _: signing.sign(thief, manifest),
        PUB: lambda _: pem,
    }
    changes.update({name: lambda _: None for name in tokens})
    rewrite(path, changes)


# -- zip headers, byte by byte ------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[1]
_LOCAL = struct.Struct("<4sHHHHHIIIHH")
_CENTRAL = struct.Struct("<4sHHHHHHIIIHHHHHII")
_END = struct.Struct("<4sHHHHIIH")


@dataclass
class RawEntry:
    """One zip member as it lies in the file: ``data`` as stored (compressed or not)."""

    name: bytes
    data: bytes
    method: int
    crc: int
    size: int  # uncompressed
    flags: int = 0
    time: int = 0
    date: int = 0
    local_extra: bytes = b""
    central_extra: bytes = b""
    comment: bytes = b""
    external_attr: int = 0o644 << 16
    local_sizes: tuple[int, int] | None = None  # (compressed, uncompressed) if not the real
    after: bytes = b""  # written after the data (a data descriptor, hidden bytes)


def raw_entries(path: Path) -> list[RawEntry]:
    """The members of a zip as they lie in it (the local header's time and extra field)."""
    out: list[RawEntry] = []
    with zipfile.ZipFile(path) as zf, open(path, "rb") as fh:
        for info in zf.infolist():
            fh.seek(info.header_offset)
            head = _LOCAL.unpack(fh.read(30))
            fh.seek(head[9], 1)
            local_extra = fh.read(head[10])
            raw_name = info.orig_filename.encode("utf-8" if info.flag_bits & 0x800 else "cp437")
            out.append(
                RawEntry(
                    name=raw_name,
                    data=fh.read(info.compress_size),
                    method=info.compress_type,
                    crc=info.CRC,
                    size=info.file_size,
                    flags=info.flag_bits,
                    time=head[4],
                    date=head[5],
                    local_extra=local_extra,
                    central_extra=info.extra,
                    comment=info.comment,
                    external_attr=info.external_attr,
                )
            )
    return out


def write_raw(path: Path, entries: list[RawEntry], *, comment: bytes = b"") -> None:
    """A zip of exactly these entries: local headers back to back, then the directory."""
    body = bytearray()
    central = bytearray()
    for e in entries:
        offset = len(body)
        csize, usize = e.local_sizes or (len(e.data), e.size)
        body += _LOCAL.pack(
            b"PK\x03\x04", 20, e.flags, e.method, e.time, e.date, e.crc, csize, usize,
            len(e.name), len(e.local_extra),
        )  # fmt: skip
        body += e.name + e.local_extra + e.data + e.after
        central += _CENTRAL.pack(
            b"PK\x01\x02", 0x0314, 20, e.flags, e.method, e.time, e.date, e.crc, len(e.data),
            e.size, len(e.name), len(e.central_extra), len(e.comment), 0, 0, e.external_attr,
            offset,
        )  # fmt: skip
        central += e.name + e.central_extra + e.comment
    n = len(entries)
    end = _END.pack(b"PK\x05\x06", 0, 0, n, n, len(central), len(body), len(comment))
    path.write_bytes(bytes(body + central + end + comment))


def end_record(*, entries: int, cd_size: int, cd_offset: int, here: int | None = None) -> bytes:
    """A plain end-of-central-directory record (no comment)."""
    here = entries if here is None else here
    return _END.pack(b"PK\x05\x06", 0, 0, here, entries, cd_size, cd_offset, 0)


def zip64_end_records(*, entries: int, cd_size: int, at: int) -> bytes:
    """ZIP64 end record at offset ``at``, its locator, then a plain end record deferring."""
    record = struct.pack(
        "<4sQHHIIQQQQ", b"PK\x06\x06", 44, 45, 45, 0, 0, entries, entries, cd_size, 0
    )
    locator = struct.pack("<4sIQI", b"PK\x06\x07", 0, at, 1)
    return record + locator + end_record(entries=0xFFFF, cd_size=0xFFFFFFFF, cd_offset=0xFFFFFFFF)


def run_archiver(
    args: list[str], *, memory: int = 1 << 30, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """``archiver ARGS`` in a fresh interpreter whose address space is limited to
    ``memory`` bytes, with no trusted-keys file of the user's in the way."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    env = {k: v for k, v in os.environ.items() if not k.startswith("ARCHIVER_")}
    env["XDG_CONFIG_HOME"] = str(ROOT / "tests" / "no-such-config")
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "archiver.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=ROOT,
        preexec_fn=limit,
    )
