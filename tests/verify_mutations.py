"""Structured mutations of a real package, each with what ``archiver verify`` must say.

``Mutations(clean)`` takes a clean signed package apart once (its members as they lie
in the zip, where every header field and every member's data sit) and makes cases:
byte flips in each member's data (raw, or in its content with datapackage.json made to
agree again, as a careful forger would) and in each field of each zip header,
truncation, appended and prepended bytes, members removed, duplicated, swapped,
renamed, reordered or recompressed, datapackage.json edits with its digest recomputed,
and zip metadata (extra fields, comments, times, flags).

The oracle: each case says ``fail`` (exit 1 or 2: a signed byte or a cross-checked
claim changed, or the zip no longer has one reading), ``pass`` (exit 0: an unsigned
change that contradicts nothing, e.g. datapackage.json's ``modified`` set later) or
``either`` (unsigned bytes verify may accept or refuse: a zip time in one header, a
resource's ``name``, ``created`` moved, a token's unsigned envelope). tests/
test_verify_fuzz.py runs a sample; bench/fuzz_verify.py runs as many as asked.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import struct
import zlib
from collections.abc import Callable
from copy import deepcopy
from dataclasses import dataclass
from pathlib import Path

from tamper import (
    CDXJ,
    MANIFEST,
    PAGES,
    PUB,
    SIG,
    TSR0,
    TSR1,
    WARC,
    RawEntry,
    raw_entries,
    write_raw,
)

FAIL, PASS, EITHER = "fail", "pass", "either"
DP = "datapackage.json"
DIGEST = "datapackage-digest.json"
TOKENS = (TSR0, TSR1)
MASKS = (0x01, 0x02, 0x10, 0x80, 0xFF)
Edit = Callable[[dict[str, object]], None]

# (offset, size, field name, what a flip of it in ONE header must give)
LOCAL_FIELDS = [
    (0, 4, "signature", FAIL),
    (4, 2, "version needed", EITHER),  # zipfile reads it from the directory only
    (6, 2, "flags", FAIL),  # compared with the directory's
    (8, 2, "method", FAIL),
    (10, 2, "time", EITHER),
    (12, 2, "date", EITHER),
    (14, 4, "crc", FAIL),
    (18, 4, "compressed size", FAIL),
    (22, 4, "size", FAIL),
    (26, 2, "name length", FAIL),
    (28, 2, "extra length", FAIL),
]
CENTRAL_FIELDS = [
    (0, 4, "signature", FAIL),
    (4, 2, "version made by", EITHER),
    (6, 2, "version needed", EITHER),  # over 6.3 zipfile refuses it: exit 2
    (8, 2, "flags", FAIL),
    (10, 2, "method", FAIL),
    (12, 2, "time", EITHER),
    (14, 2, "date", EITHER),
    (16, 4, "crc", FAIL),
    (20, 4, "compressed size", FAIL),
    (24, 4, "size", FAIL),
    (28, 2, "name length", FAIL),
    (30, 2, "extra length", FAIL),
    (32, 2, "comment length", FAIL),
    (34, 2, "disk", FAIL),
    (36, 2, "internal attributes", EITHER),
    (38, 4, "external attributes", EITHER),
    (42, 4, "local header offset", FAIL),
]
END_FIELDS = [
    (0, 4, "signature", FAIL),
    (4, 2, "disk", FAIL),
    (6, 2, "directory disk", FAIL),
    (8, 2, "entries on this disk", FAIL),
    (10, 2, "entries", FAIL),
    (12, 4, "directory size", FAIL),
    (16, 4, "directory offset", FAIL),
    (20, 2, "comment length", FAIL),
]


@dataclass(frozen=True)
class Case:
    name: str
    expect: str  # FAIL, PASS or EITHER
    make: Callable[[Path], None]  # writes the mutated package at the path


@dataclass(frozen=True)
class Region:
    start: int
    end: int
    label: str
    expect: str  # what a byte flip anywhere in it must give


def content(e: RawEntry) -> bytes:
    return zlib.decompress(e.data, -15) if e.method == 8 else e.data


def deflate(data: bytes, level: int = 6) -> bytes:
    packer = zlib.compressobj(level, zlib.DEFLATED, -15)
    return packer.compress(data) + packer.flush()


def set_content(e: RawEntry, data: bytes, level: int = 6) -> None:
    e.data = deflate(data, level) if e.method == 8 else data
    e.crc = zlib.crc32(data)
    e.size = len(data)


def find(entries: list[RawEntry], name: str) -> RawEntry:
    return next(e for e in entries if e.name == name.encode())


def agree(entries: list[RawEntry], edit: Callable[[dict[str, object]], None] | None = None) -> None:
    """Make datapackage.json list every member's hash and size again (and apply ``edit``),
    then its digest, written the way package.write_wacz writes them."""
    dp = find(entries, DP)
    doc = json.loads(content(dp))
    by_name = {e.name.decode(): content(e) for e in entries}
    for res in doc["resources"]:
        data = by_name.get(res["path"])
        if data is not None:
            res["hash"] = "sha256:" + hashlib.sha256(data).hexdigest()
            res["bytes"] = len(data)
    if edit is not None:
        edit(doc)
    new = json.dumps(doc, indent=2).encode("utf-8")
    set_content(dp, new)
    digest = {"path": DP, "hash": "sha256:" + hashlib.sha256(new).hexdigest()}
    set_content(find(entries, DIGEST), json.dumps(digest, indent=2).encode("utf-8"))


class Mutations:
    """The cases for one clean package."""

    def __init__(self, clean: Path) -> None:
        self.data = clean.read_bytes()
        self.entries = raw_entries(clean)
        self.names = [e.name.decode() for e in self.entries]
        self.regions = self._regions()

    # -- where every byte is, and what flipping it must give --------------------------

    def _regions(self) -> list[Region]:
        out: list[Region] = []
        pos = 0
        for e in self.entries:  # write_wacz writes members back to back from byte 0
            name = e.name.decode()
            nlen, xlen = struct.unpack("<HH", self.data[pos + 26 : pos + 30])
            out += [
                Region(pos + at, pos + at + size, f"{name} local {field}", expect)
                for at, size, field, expect in LOCAL_FIELDS
            ]
            out.append(Region(pos + 30, pos + 30 + nlen, f"{name} local name", FAIL))
            if xlen:
                out.append(Region(pos + 30 + nlen, pos + 30 + nlen + xlen, f"{name} extra", FAIL))
            start = pos + 30 + nlen + xlen
            out.append(Region(start, start + len(e.data), f"{name} data", FAIL))
            pos = start + len(e.data)
        end = len(self.data) - 22
        for name in self.names:
            nlen, xlen, clen = struct.unpack("<HHH", self.data[pos + 28 : pos + 34])
            out += [
                Region(pos + at, pos + at + size, f"{name} directory {field}", expect)
                for at, size, field, expect in CENTRAL_FIELDS
            ]
            out.append(Region(pos + 46, pos + 46 + nlen, f"{name} directory name", FAIL))
            pos += 46 + nlen + xlen + clen
        assert pos == end, "the clean package has more than members and one directory"
        out += [
            Region(end + at, end + at + size, f"end record {field}", expect)
            for at, size, field, expect in END_FIELDS
        ]
        return out

    def region(self, offset: int) -> Region:
        return next(r for r in self.regions if r.start <= offset < r.end)

    def _token_signed_spans(self, name: str) -> list[tuple[int, int]]:
        """Where a token's TSA-signed parts lie: TSTInfo, certificates, signed attributes
        and the signature value (a flip there must fail; elsewhere it may pass)."""
        from asn1crypto import tsp

        data = content(find(self.entries, name))
        signed = tsp.TimeStampResp.load(data)["time_stamp_token"]["content"]
        signer = signed["signer_infos"][0]
        parts = [
            signed["encap_content_info"]["content"].contents,
            signed["certificates"].contents,
            signer["signed_attrs"].contents,
            signer["signature"].contents,
        ]
        spans = []
        for part in parts:
            at = data.find(part)
            assert at >= 0
            spans.append((at, at + len(part)))
        return spans

    def _datapackage_free_spans(self) -> list[tuple[int, int]]:
        """Where datapackage.json may change unnoticed: resource names, ``created``."""
        text = content(find(self.entries, DP))
        return [m.span(1) for m in re.finditer(rb'"(?:name|created)": "([^"]*)"', text)]

    # -- case makers --------------------------------------------------------------------

    def _raw(self, name: str, expect: str, edit: Callable[[bytearray], None]) -> Case:
        def make(path: Path) -> None:
            data = bytearray(self.data)
            edit(data)
            path.write_bytes(bytes(data))

        return Case(name, expect, make)

    def _entries(
        self,
        name: str,
        expect: str,
        edit: Callable[[list[RawEntry]], list[RawEntry] | None],
        comment: bytes = b"",
    ) -> Case:
        def make(path: Path) -> None:
            entries = deepcopy(self.entries)
            entries = edit(entries) or entries
            write_raw(path, entries, comment=comment)

        return Case(name, expect, make)

    def flip(self, offset: int, mask: int) -> Case:
        """One byte of the file flipped, nothing made to agree again."""
        region = self.region(offset)
        expect = region.expect
        if region.label.endswith(" data"):
            member = find(self.entries, region.label.removesuffix(" data"))
            raw = bytearray(member.data)
            raw[offset - region.start] ^= mask
            if member.method == 8 and _inflates_to(bytes(raw), content(member)):
                expect = EITHER  # deflate slack: the padding bits of a stream's last byte

        def edit(data: bytearray) -> None:
            data[offset] ^= mask

        return self._raw(f"flip {region.label} @{offset} ^{mask:#04x}", expect, edit)

    def flip_content(self, member: str, at: int, mask: int) -> Case:
        """One byte of a member's content flipped, datapackage.json made to agree."""
        expect = FAIL
        if member in TOKENS:
            spans = self._token_signed_spans(member)
            expect = FAIL if any(a <= at < b for a, b in spans) else EITHER
        elif member == DP:
            spans = self._datapackage_free_spans()
            expect = EITHER if any(a <= at < b for a, b in spans) else FAIL

        def edit(entries: list[RawEntry]) -> None:
            e = find(entries, member)
            data = bytearray(content(e))
            data[at] ^= mask
            set_content(e, bytes(data))
            if member == DP:
                doc = bytes(data)
                digest = {"path": DP, "hash": "sha256:" + hashlib.sha256(doc).hexdigest()}
                set_content(find(entries, DIGEST), json.dumps(digest, indent=2).encode())
            elif member != DIGEST:
                agree(entries)

        return self._entries(f"content of {member} @{at} ^{mask:#04x}, agreed", expect, edit)

    def structured(self, rng: random.Random) -> list[Case]:
        """Every kind of mutation, at deterministic places chosen by ``rng``."""
        cases: list[Case] = [self._entries("clean, rewritten byte by byte", PASS, lambda e: None)]
        for r in self.regions:  # one flip in every header field
            if not r.label.endswith(" data"):
                cases.append(self.flip(rng.randrange(r.start, r.end), rng.choice(MASKS)))
        for e in self.entries:
            name = e.name.decode()
            data_region = next(r for r in self.regions if r.label == f"{name} data")
            size = len(content(e))
            for fraction in (0.0, 0.5, 1.0):
                at = min(int(fraction * size), size - 1)
                cases.append(self.flip_content(name, at, rng.choice(MASKS)))
                raw = data_region.start + min(int(fraction * len(e.data)), len(e.data) - 1)
                cases.append(self.flip(raw, rng.choice(MASKS)))
            cases.append(self.flip_content(name, rng.randrange(size), rng.choice(MASKS)))
        cases += self._whole_file(rng)
        cases += self._members(rng)
        cases += self._metadata()
        cases += self._datapackage()
        return cases

    def random(self, rng: random.Random) -> Case:
        """One random case: a flip anywhere, or a content flip in a random member."""
        if rng.random() < 0.5:
            return self.flip(rng.randrange(len(self.data)), rng.choice(MASKS))
        e = rng.choice(self.entries)
        return self.flip_content(e.name.decode(), rng.randrange(len(content(e))), rng.choice(MASKS))

    def _whole_file(self, rng: random.Random) -> list[Case]:
        n = len(self.data)
        cases = []
        for cut in sorted({0, 1, 21, 22, n - 23, n - 22, n - 1, *rng.sample(range(n), 5)}):

            def truncate(data: bytearray, cut: int = cut) -> None:
                del data[cut:]

            cases.append(self._raw(f"truncated to {cut} bytes", FAIL, truncate))
        for tail in (b"\0", b"PK\x05\x06" + b"\0" * 18, self.data[-22:], b"x" * 4096):

            def append(data: bytearray, tail: bytes = tail) -> None:
                data.extend(tail)

            cases.append(self._raw(f"{len(tail)} bytes appended", FAIL, append))

        def prepend(data: bytearray) -> None:
            data[0:0] = b"MZ" + bytes(510)

        cases.append(self._raw("512 bytes prepended", FAIL, prepend))
        cases.append(self._entries("archive comment", FAIL, lambda e: None, comment=b"verified"))
        return cases

    def _members(self, rng: random.Random) -> list[Case]:
        cases = []
        for i, name in enumerate(self.names):
            for fix in (False, True):
                expect = EITHER if fix and name in TOKENS else FAIL

                def remove(entries: list[RawEntry], i: int = i, fix: bool = fix) -> None:
                    gone = entries.pop(i).name.decode()
                    if fix and gone not in (DP, DIGEST):
                        agree(entries, lambda doc: _drop_resource(doc, gone))

                label = f"{name} removed{', agreed' if fix else ''}"
                cases.append(self._entries(label, expect, remove))
            for first in (False, True):

                def dup(entries: list[RawEntry], i: int = i, first: bool = first) -> None:
                    entries.insert(0 if first else len(entries), deepcopy(entries[i]))

                label = f"{name} duplicated {'first' if first else 'last'}"
                cases.append(self._entries(label, FAIL, dup))
        pairs = [(a, b) for a in range(len(self.names)) for b in range(a + 1, len(self.names))]
        for a, b in [*rng.sample(pairs, 12), (self.names.index(TSR0), self.names.index(TSR1))]:
            both_tokens = {self.names[a], self.names[b]} == set(TOKENS)

            def swap(entries: list[RawEntry], a: int = a, b: int = b) -> None:
                entries[a].name, entries[b].name = entries[b].name, entries[a].name
                if not {self.names[a], self.names[b]} & {DP, DIGEST}:
                    agree(entries)

            def move(entries: list[RawEntry], a: int = a, b: int = b) -> None:
                entries[a], entries[b] = entries[b], entries[a]

            pair = f"{self.names[a]} and {self.names[b]}"
            expect = EITHER if both_tokens else FAIL
            cases.append(self._entries(f"contents of {pair} swapped", expect, swap))
            cases.append(self._entries(f"places of {pair} swapped", PASS, move))
        renames = [
            (WARC, "archive/Data.warc.gz"),
            (CDXJ, "indexes/index.cdx"),
            (TSR1, "provenance/manifest.json.sig.01.tsr"),
            (PAGES, "pages\\pages.jsonl"),
        ]
        for name, new in renames:

            def rename(entries: list[RawEntry], name: str = name, new: str = new) -> None:
                find(entries, name).name = new.encode()
                agree(entries, lambda doc: _rename_resource(doc, name, new))

            cases.append(self._entries(f"{name} renamed {new}, agreed", FAIL, rename))
        for name in (CDXJ, MANIFEST, DP):

            def recompress(entries: list[RawEntry], name: str = name) -> None:
                e = find(entries, name)
                set_content(e, content(e), level=1)

            cases.append(self._entries(f"{name} deflated at level 1", PASS, recompress))

        def store(entries: list[RawEntry]) -> None:
            e = find(entries, PAGES)
            data = content(e)
            e.method, e.data = 0, data

        def deflate_warc(entries: list[RawEntry]) -> None:
            e = find(entries, WARC)
            e.method, e.data = 8, deflate(e.data)

        cases.append(self._entries(f"{PAGES} stored, not deflated", EITHER, store))
        cases.append(self._entries(f"{WARC} deflated in the zip", FAIL, deflate_warc))
        return cases

    def _metadata(self) -> list[Case]:
        cases = []
        extended_time = struct.pack("<HHBI", 0x5455, 5, 1, 1795771087)
        for name in (WARC, MANIFEST, SIG, PUB, TSR0, DP):
            for where in ("local_extra", "central_extra"):

                def extra(entries: list[RawEntry], name: str = name, where: str = where) -> None:
                    setattr(find(entries, name), where, extended_time)

                cases.append(self._entries(f"{name} {where} field 0x5455", FAIL, extra))

            def comment(entries: list[RawEntry], name: str = name) -> None:
                find(entries, name).comment = b"checked by the desk"

            def times(entries: list[RawEntry], name: str = name) -> None:
                e = find(entries, name)
                e.time, e.date = e.time ^ 0x0421, e.date ^ 0x0021

            def attrs(entries: list[RawEntry], name: str = name) -> None:
                find(entries, name).external_attr = 0o100600 << 16

            cases.append(self._entries(f"{name} per-file comment", FAIL, comment))
            cases.append(self._entries(f"{name} time changed in both headers", PASS, times))
            cases.append(self._entries(f"{name} external attributes changed", EITHER, attrs))
            for flag, expect in (
                (0x0001, FAIL),
                (0x0008, FAIL),
                (0x0800, EITHER),
                (0x0002, EITHER),
            ):

                def flags(entries: list[RawEntry], name: str = name, flag: int = flag) -> None:
                    find(entries, name).flags |= flag

                label = f"{name} flag {flag:#06x} in both headers"
                cases.append(self._entries(label, expect, flags))

        def descriptor(entries: list[RawEntry]) -> None:
            e = find(entries, CDXJ)
            e.flags |= 0x08
            e.after = struct.pack("<4sIII", b"PK\x07\x08", e.crc, len(e.data), e.size)

        cases.append(self._entries(f"{CDXJ} with a data descriptor", EITHER, descriptor))
        return cases

    def _datapackage(self) -> list[Case]:
        edits: list[tuple[str, str, Edit]] = [
            ("title", FAIL, _set("title", "Kursk: 7,500 evacuated")),
            ("mainPageURL", FAIL, _set("mainPageURL", "http://example.org/")),
            ("mainPageDate", FAIL, _set("mainPageDate", "2026-11-26T09:18:07Z")),
            ("software", FAIL, _set("software", "archiver 9.9")),
            ("created too early", FAIL, _set("created", "2026-11-27T09:18:00Z")),
            ("created not a time", FAIL, _set("created", "yesterday")),
            ("modified too early", FAIL, _set("modified", "2026-11-27T09:18:10Z")),
            ("description added", FAIL, _set("description", "Verified")),
            ("profile", FAIL, _set("profile", "wacz-package")),
            ("wacz_version", FAIL, _set("wacz_version", "1.2.0")),
            ("title removed", FAIL, lambda d: d.pop("title")),
            ("a resource hash", FAIL, lambda d: _resource(d, 0).__setitem__("hash", "sha256:0")),
            ("a resource note", FAIL, lambda d: _resource(d, 0).__setitem__("note", "ok")),
            ("modified later", PASS, _set("modified", "2026-11-28T10:00:00Z")),
            ("created later", PASS, _set("created", "2026-11-28T10:00:00Z")),
            ("a resource renamed", PASS, lambda d: _resource(d, 0).__setitem__("name", "x")),
            ("resources reordered", PASS, lambda d: _resource_list(d).reverse()),
        ]  # fmt: skip
        cases = []
        for what, expect, edit in edits:

            def agreed(entries: list[RawEntry], edit: Edit = edit) -> None:
                agree(entries, edit)

            def unagreed(entries: list[RawEntry], edit: Edit = edit) -> None:
                e = find(entries, DP)
                doc = json.loads(content(e))
                edit(doc)
                set_content(e, json.dumps(doc, indent=2).encode())

            cases.append(self._entries(f"{DP} {what}, digest recomputed", expect, agreed))
            cases.append(self._entries(f"{DP} {what}, digest not recomputed", FAIL, unagreed))
        return cases


def _set(key: str, value: object) -> Edit:
    return lambda doc: doc.__setitem__(key, value)


def _resource_list(doc: dict[str, object]) -> list[dict[str, object]]:
    resources = doc["resources"]
    assert isinstance(resources, list)
    return resources


def _resource(doc: dict[str, object], n: int) -> dict[str, object]:
    resource: dict[str, object] = _resource_list(doc)[n]
    return resource


def _drop_resource(doc: dict[str, object], path: str) -> None:
    doc["resources"] = [r for r in _resource_list(doc) if r["path"] != path]


def _rename_resource(doc: dict[str, object], path: str, new: str) -> None:
    for r in _resource_list(doc):
        if r["path"] == path:
            r["path"] = new


def _inflates_to(raw: bytes, data: bytes) -> bool:
    """Does this raw deflate stream give exactly ``data``, ending exactly at its end?"""
    inflater = zlib.decompressobj(-15)
    try:
        out = inflater.decompress(raw)
    except zlib.error:
        return False
    return out == data and inflater.eof and not inflater.unused_data
