"""A forger's attempts on a real package (WarcRecorder, proof.seal with two local openssl
TSAs, package.write_wacz: tests/packages.py): each changes what the package shows, or how
a reader could read it, and ``verify_package`` must fail (exit 1) naming the file or
record, or say the input is unreadable (exit 2). Never exit 0, never a traceback.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
import struct
import zipfile
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from packages import CLAIMED_START, Built, Forge
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
    end_record,
    gzip_members,
    members,
    raw_entries,
    record_header,
    resign_token,
    rewrite,
    run_archiver,
    write_raw,
    zip64_end_records,
)
from verify_mutations import agree, set_content

from archiver.proof import signing
from archiver.schema import validate
from archiver.verify.run import VerifyReport, render_text, verify_package


@pytest.fixture
def built(clean_package: Forge) -> Forge:
    """The session's clean package and a forger's tools (conftest.py): read it, tamper only
    with ``pkg``."""
    return clean_package


@pytest.fixture
def pkg(built: Built, tmp_path: Path) -> Path:
    dest = tmp_path / "copy.wacz"
    shutil.copyfile(built.path, dest)
    return dest


def verify(built: Built, path: Path) -> VerifyReport:
    return verify_package(path, trust_keys=[built.pub], tsa_roots=built.roots)


def all_problems(report: VerifyReport) -> list[str]:
    return [p.line() for c in report.checks for p in c.problems]


def assert_fails_naming(report: VerifyReport, *names: str) -> None:
    text = render_text(report)
    assert report.exit_code == 1, text
    lines = all_problems(report)
    for name in names:
        assert any(name in line for line in lines), (name, lines)


def write_zip(path: Path, entries: list[tuple[str, bytes, int]], comment: bytes = b"") -> None:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data, method in entries:
            info = zipfile.ZipInfo(name, date_time=(2026, 11, 27, 9, 18, 7))
            zf.writestr(info, data, compress_type=method)
        zf.comment = comment


def entries_of(path: Path) -> list[tuple[str, bytes, int]]:
    with zipfile.ZipFile(path) as zf:
        return [(i.filename, zf.read(i), i.compress_type) for i in zf.infolist()]


# -- the clean package is the baseline --------------------------------------------------


def test_clean_package_passes(built: Built) -> None:
    report = verify(built, built.path)
    assert report.exit_code == 0, render_text(report)


# -- zip container ------------------------------------------------------------------------


@pytest.mark.parametrize("first", [True, False])
def test_duplicate_warc_member_with_other_content(built: Built, pkg: Path, first: bool) -> None:
    """A replay tool may read either copy: verify must refuse the ambiguity itself."""
    entries = entries_of(pkg)
    real = next(e for e in entries if e[0] == WARC)
    fake = (WARC, real[1].replace(b"\x00", b"\x01", 1), zipfile.ZIP_STORED)
    entries.insert(0 if first else len(entries), fake)
    write_zip(pkg, entries)
    assert_fails_naming(verify(built, pkg), f"{WARC}: appears 2 times")


def test_data_prepended_to_the_zip(built: Built, pkg: Path) -> None:
    pkg.write_bytes(b"MZ" + b"\x00" * 510 + pkg.read_bytes())
    assert_fails_naming(verify(built, pkg), "prepended")


def test_data_appended_after_the_zip(built: Built, pkg: Path) -> None:
    pkg.write_bytes(pkg.read_bytes() + b"<script>alert(1)</script>")
    assert_fails_naming(verify(built, pkg), "follow the end of the zip")


def test_zip_comment(built: Built, pkg: Path) -> None:
    write_zip(pkg, entries_of(pkg), comment=b"verified by the newsroom")
    assert_fails_naming(verify(built, pkg), "follow the end of the zip")


def test_a_whole_second_zip_appended(built: Built, pkg: Path, tmp_path: Path) -> None:
    """Two packages glued: Python reads the last directory, a streaming reader the first."""
    other = tmp_path / "other.wacz"
    shutil.copyfile(built.path, other)
    rewrite(other, {PAGES: lambda d: d.replace(b"Kursk", b"Kyiv")})
    pkg.write_bytes(other.read_bytes() + pkg.read_bytes())
    assert_fails_naming(verify(built, pkg), "prepended")


def test_hidden_bytes_between_members(built: Built, pkg: Path) -> None:
    data = pkg.read_bytes()
    with zipfile.ZipFile(pkg) as zf:
        second = sorted(i.header_offset for i in zf.infolist())[1]
    junk = b"PK\x03\x04hidden"
    data = data[:second] + junk + data[second:]
    pkg.write_bytes(_shift_directory(data, second, len(junk)))
    assert_fails_naming(verify(built, pkg), "hidden data")


def _shift_directory(data: bytes, after: int, by: int) -> bytes:
    """Fix local header offsets in the central directory after inserting ``by`` bytes."""
    eocd = data.rindex(b"PK\x05\x06")
    count, _, cd_offset = struct.unpack("<HII", data[eocd + 10 : eocd + 20])
    out = bytearray(data)
    pos = cd_offset + by
    for _ in range(count):
        nlen, xlen, clen = struct.unpack("<HHH", out[pos + 28 : pos + 34])
        (offset,) = struct.unpack("<I", out[pos + 42 : pos + 46])
        if offset >= after:
            out[pos + 42 : pos + 46] = struct.pack("<I", offset + by)
        pos += 46 + nlen + xlen + clen
    out[eocd + 16 : eocd + 20] = struct.pack("<I", cd_offset + by)
    return bytes(out)


def _central_entries(data: bytes) -> list[tuple[int, str, int]]:
    """(position in file, name, local header offset) of each central directory entry."""
    eocd = data.rindex(b"PK\x05\x06")
    count, _, cd_offset = struct.unpack("<HII", data[eocd + 10 : eocd + 20])
    out = []
    pos = cd_offset
    for _ in range(count):
        nlen, xlen, clen = struct.unpack("<HHH", data[pos + 28 : pos + 34])
        (offset,) = struct.unpack("<I", data[pos + 42 : pos + 46])
        out.append((pos, data[pos + 46 : pos + 46 + nlen].decode(), offset))
        pos += 46 + nlen + xlen + clen
    return out


def test_two_directory_entries_pointing_at_one_local_header(built: Built, pkg: Path) -> None:
    """Overlapping entries: pages.jsonl's directory entry points at the CDXJ's bytes."""
    data = bytearray(pkg.read_bytes())
    entries = {name: (pos, off) for pos, name, off in _central_entries(bytes(data))}
    pos, _ = entries[PAGES]
    data[pos + 42 : pos + 46] = struct.pack("<I", entries[CDXJ][1])
    pkg.write_bytes(bytes(data))
    report = verify(built, pkg)
    assert report.exit_code in (1, 2), render_text(report)
    if report.exit_code == 1:
        assert_fails_naming(report, PAGES)


def test_end_record_counting_fewer_entries_than_the_directory(built: Built, pkg: Path) -> None:
    """A reader going by the count would stop before the last entries."""
    data = bytearray(pkg.read_bytes())
    eocd = len(data) - 22
    (count,) = struct.unpack("<H", data[eocd + 10 : eocd + 12])
    data[eocd + 8 : eocd + 12] = struct.pack("<HH", count - 1, count - 1)
    pkg.write_bytes(bytes(data))
    report = verify(built, pkg)
    assert report.exit_code in (1, 2), render_text(report)
    if report.exit_code == 1:
        assert_fails_naming(report, "the end record counts")


def test_local_header_names_another_file(built: Built, pkg: Path) -> None:
    """A streaming unzipper reads local names: make the WARC's local name differ."""
    data = bytearray(pkg.read_bytes())
    off = next(o for _, n, o in _central_entries(bytes(data)) if n == WARC)
    name_at = off + 30
    assert data[name_at : name_at + len(WARC)] == WARC.encode()
    data[name_at : name_at + 1] = b"A"  # Archive/data.warc.gz
    pkg.write_bytes(bytes(data))
    assert_fails_naming(verify(built, pkg), "two names")


def test_local_header_says_deflated_while_directory_says_stored(built: Built, pkg: Path) -> None:
    data = bytearray(pkg.read_bytes())
    off = next(o for _, n, o in _central_entries(bytes(data)) if n == WARC)
    data[off + 8 : off + 10] = struct.pack("<H", zipfile.ZIP_DEFLATED)
    pkg.write_bytes(bytes(data))
    assert_fails_naming(verify(built, pkg), WARC)


def test_name_cut_at_a_nul_byte(built: Built, pkg: Path) -> None:
    """``archive/data.warc.gz\\0.exe``: Python shows the name cut at the NUL."""
    entries = [(n + "Zx" if n == PAGES else n, d, m) for n, d, m in entries_of(pkg)]
    write_zip(pkg, entries)
    data = pkg.read_bytes().replace(PAGES.encode() + b"Zx", PAGES.encode() + b"\0x")
    pkg.write_bytes(data)
    with zipfile.ZipFile(pkg) as zf:
        assert PAGES in zf.namelist()  # what Python-based readers see
    report = verify(built, pkg)
    assert_fails_naming(report, PAGES)


@pytest.mark.parametrize(
    "name", ["../archive/data.warc.gz", "/archive/data.warc.gz", "Archive/data.warc.gz"]
)
def test_path_and_case_variants_of_the_warc(built: Built, pkg: Path, name: str) -> None:
    entries = entries_of(pkg)
    warc = next(d for n, d, _ in entries if n == WARC)
    fake = warc[:-10] + b"\x00" * 10
    entries.append((name, fake, zipfile.ZIP_STORED))
    write_zip(pkg, entries)
    assert_fails_naming(verify(built, pkg), "not part of a capture package")


def test_directory_entry(built: Built, pkg: Path) -> None:
    rewrite(pkg, {}, add={"archive/": b""})
    assert_fails_naming(verify(built, pkg), "archive/:")


def test_encryption_flag_on_a_member_is_named_not_a_crash(built: Built, pkg: Path) -> None:
    for target in (PAGES, MANIFEST, CDXJ):
        data = bytearray(built.path.read_bytes())
        for pos, name, off in _central_entries(bytes(data)):
            if name == target:
                for at in (pos + 8, off + 6):
                    (flags,) = struct.unpack("<H", data[at : at + 2])
                    data[at : at + 2] = struct.pack("<H", flags | 1)
        pkg.write_bytes(bytes(data))
        report = verify(built, pkg)
        assert_fails_naming(report, f"{target}: is encrypted")


def test_warc_deflated_in_the_zip(built: Built, pkg: Path) -> None:
    entries = [(n, d, zipfile.ZIP_DEFLATED if n == WARC else m) for n, d, m in entries_of(pkg)]
    write_zip(pkg, entries)
    assert_fails_naming(verify(built, pkg), f"{WARC}: must be STORED")


def test_zero_byte_package_is_unreadable(built: Built, pkg: Path) -> None:
    pkg.write_bytes(b"")
    report = verify(built, pkg)
    assert report.exit_code == 2 and report.error


def test_empty_zip_names_every_missing_file(built: Built, pkg: Path) -> None:
    write_zip(pkg, [])
    assert_fails_naming(verify(built, pkg), f"{WARC}: is missing", f"{MANIFEST}: is missing")


# -- WARC, index, pages ------------------------------------------------------------------


def _record_bytes(warc: bytes, index: int) -> bytes:
    return gzip.decompress(gzip_members(warc)[index])


def test_record_appended_after_the_last_one(built: Built, pkg: Path) -> None:
    def append(warc: bytes) -> bytes:
        rec = _record_bytes(warc, 1).replace(b"0000-4000-8000-000000000002", b"0000-4000-8000-999")
        rec = rec.replace(b"75,000", b"7,500 ")
        return warc + gzip.compress(rec, mtime=0)

    rewrite(pkg, {WARC: append})
    assert_fails_naming(
        verify(built, pkg),
        f"{WARC}: sha256 does not match the signed manifest",
        "is not in the signed manifest (record added?)",
    )


def test_second_warc_file(built: Built, pkg: Path) -> None:
    warc = members(pkg)[WARC]
    rewrite(pkg, {}, add={"archive/data2.warc.gz": warc})
    assert_fails_naming(verify(built, pkg), "archive/data2.warc.gz: is not listed in the signed")


def test_content_length_grown_to_swallow_the_next_record(built: Built, pkg: Path) -> None:
    """Records joined into one gzip member, the first's Content-Length covering both."""

    def swallow(warc: bytes) -> bytes:
        parts = gzip_members(warc)
        first, second = _record_bytes(warc, 1), _record_bytes(warc, 2)
        length = int(record_header(first)["Content-Length"])
        grown = first.replace(
            f"Content-Length: {length}\r\n".encode(),
            f"Content-Length: {length + 4 + len(second)}\r\n".encode(),
            1,
        )
        joined = gzip.compress(grown[:-4] + b"\r\n\r\n" + second, mtime=0)
        return b"".join([parts[0], joined, *parts[3:]])

    rewrite(pkg, {WARC: swallow})
    report = verify(built, pkg)
    assert_fails_naming(report, f"{WARC}: sha256 does not match", "record ")


def _cdxj_lines(pkg: Path) -> list[bytes]:
    return members(pkg)[CDXJ].splitlines(keepends=True)


def test_cdxj_line_for_a_real_record_but_another_url(built: Built, pkg: Path) -> None:
    line = _cdxj_lines(pkg)[0]
    _, ts, doc = line.split(b" ", 2)
    entry = json.loads(doc)
    entry["url"] = "http://127.0.0.1:8000/other.html"
    forged = b"%s %s %s\n" % (b"1,0,0,127)/other.html", ts, json.dumps(entry).encode())
    rewrite(pkg, {CDXJ: lambda d: d + forged})
    n = len(_cdxj_lines(pkg))
    assert_fails_naming(verify(built, pkg), f"{CDXJ} line {n}: says url", f"{CDXJ}: sha256")


def test_cdxj_offset_inside_another_record(built: Built, pkg: Path) -> None:
    doc = _cdxj_lines(pkg)[0].split(b" ", 2)[2]
    entry = json.loads(doc)
    entry["offset"] = int(entry["offset"]) + 7
    rewrite(pkg, {CDXJ: lambda d: d.replace(doc.rstrip(b"\n"), json.dumps(entry).encode())})
    assert_fails_naming(verify(built, pkg), f"{CDXJ} line 1: points at offset", f"{CDXJ}: sha256")


def test_pages_jsonl_pointing_to_another_url(built: Built, pkg: Path) -> None:
    rewrite(pkg, {PAGES: lambda d: d.replace(b"article.html", b"other.html")})
    assert_fails_naming(verify(built, pkg), f"{PAGES}: sha256 does not match the signed manifest")


# -- manifest and signature ----------------------------------------------------------------


def _manifest(pkg: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(members(pkg)[MANIFEST])
    return doc


def _resign(pkg: Path, manifest: bytes, key: Ed25519PrivateKey) -> None:
    rewrite(
        pkg,
        {
            MANIFEST: lambda _: manifest,
            SIG: lambda _: signing.sign(key, manifest),
            PUB: lambda _: signing.public_pem(key),
            TSR0: lambda _: None,
            TSR1: lambda _: None,
        },
    )


def test_manifest_with_an_extra_record_not_resigned(built: Built, pkg: Path) -> None:
    doc = _manifest(pkg)
    extra = dict(doc["records"][1], id="<urn:uuid:forged>")
    doc["records"].append(extra)
    rewrite(pkg, {MANIFEST: lambda _: rfc8785.dumps(doc)})
    report = verify(built, pkg)
    assert_fails_naming(report, f"{SIG}: does not verify")
    assert report.check("timestamp-0").status == "passed"  # tokens cover the signature only


@pytest.mark.parametrize("how", ["duplicate-record", "duplicate-file", "extra-file"])
def test_manifest_edited_and_resigned_by_the_real_key(built: Built, pkg: Path, how: str) -> None:
    """Even the key holder cannot make an ambiguous manifest pass."""
    doc = _manifest(pkg)
    if how == "duplicate-record":
        doc["records"].append(dict(doc["records"][1], payload_digest="sha256:" + "0" * 64))
    elif how == "duplicate-file":
        doc["files"].append(dict(doc["files"][0], sha256="0" * 64))
    else:
        doc["files"].append({"path": "archive/extra.warc.gz", "sha256": "0" * 64, "bytes": 1})
    _resign(pkg, rfc8785.dumps(doc), built.key)
    report = verify(built, pkg)
    assert report.exit_code == 1, render_text(report)
    assert report.check("files").status == "failed"


@pytest.mark.parametrize("form", ["indented", "unicode-escape", "bom", "duplicate-key"])
def test_manifest_with_the_same_meaning_in_other_bytes(built: Built, pkg: Path, form: str) -> None:
    raw = members(pkg)[MANIFEST]
    doc = json.loads(raw)
    if form == "indented":
        new = json.dumps(doc, indent=1, sort_keys=True).encode()
    elif form == "unicode-escape":
        new = raw.replace(b'"capture"', b'"\\u0063apture"')
    elif form == "bom":
        new = b"\xef\xbb\xbf" + raw
    else:
        url = json.dumps(doc["capture"]["final_url"]).encode()
        new = raw.replace(b'"final_url":', b'"final_url":"http://evil.test/","final_url":', 1)
        assert url in new
    _resign(pkg, new, built.key)  # by the real key: the bytes are still refused
    report = verify(built, pkg)
    assert_fails_naming(report, MANIFEST)
    assert report.check("files").status == "failed"


def test_signature_by_another_key_while_manifest_names_the_packed_key(
    built: Built, broken_package: Callable[[str], Path]
) -> None:
    assert_fails_naming(verify(built, broken_package("wrong-key")), f"{SIG}: does not verify")


def test_signer_key_swapped_with_the_manifest_naming_the_old_key(built: Built, pkg: Path) -> None:
    thief = Ed25519PrivateKey.generate()
    manifest = members(pkg)[MANIFEST]
    rewrite(
        pkg,
        {SIG: lambda _: signing.sign(thief, manifest), PUB: lambda _: signing.public_pem(thief)},
    )
    report = verify_package(pkg)  # no anchors at all: still an integrity failure
    assert_fails_naming(report, f"{MANIFEST}: names a different signer key")


# -- datapackage ------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["missing", "extra", "size", "duplicate"])
def test_datapackage_resources_wrong(built: Built, pkg: Path, how: str) -> None:
    def edit(data: bytes) -> bytes:
        doc = json.loads(data)
        res = doc["resources"]
        if how == "missing":
            res[:] = [r for r in res if r["path"] != PAGES]
        elif how == "extra":
            res.append({"name": "x", "path": "archive/x.warc.gz", "hash": "sha256:00", "bytes": 1})
        elif how == "size":
            next(r for r in res if r["path"] == PAGES)["bytes"] += 1
        else:
            first = next(r for r in res if r["path"] == PAGES)
            res.insert(0, dict(first, hash="sha256:" + "0" * 64))
        return json.dumps(doc).encode()

    rewrite(pkg, {"datapackage.json": edit}, fix_datapackage=False)
    dp = members(pkg)["datapackage.json"]
    fixed = json.dumps(
        {"path": "datapackage.json", "hash": "sha256:" + hashlib.sha256(dp).hexdigest()}
    ).encode()
    rewrite(pkg, {"datapackage-digest.json": lambda _: fixed}, fix_datapackage=False)
    report = verify(built, pkg)
    names = {"missing": PAGES, "extra": "archive/x.warc.gz", "size": PAGES, "duplicate": PAGES}
    assert_fails_naming(report, names[how])


# -- timestamp tokens ---------------------------------------------------------------------


def _gen_time(tst: bytes) -> bytes:
    at = tst.index(b"\x18")  # the first GeneralizedTime in a TSTInfo is genTime
    while not tst[at + 2 : at + 16].isdigit():
        at = tst.index(b"\x18", at + 1)
    return tst[at + 2 : at + 16]


def test_valid_token_of_another_package(
    built: Forge, broken_package: Callable[[str], Path]
) -> None:
    report = verify(built, broken_package("token-for-other-data"))
    assert_fails_naming(report, f"{TSR0}: token is for other data")


def test_token_copied_from_a_capture_with_the_same_signature_is_genuine(
    built: Forge, pkg: Path
) -> None:
    """Same manifest bytes, same key: Ed25519 gives the same signature, so another
    capture's token covers exactly these bytes. Nothing is forged: it must verify.
    (The token moves: left under both names it would be one token counted twice,
    which test_verify_tokens shows fails.)"""
    sig = members(pkg)[SIG]
    token = members(pkg)[TSR1]
    rewrite(pkg, {TSR0: lambda _: token, TSR1: lambda _: None})
    assert members(pkg)[SIG] == sig
    assert verify(built, pkg).exit_code == 0


def test_token_response_granted_without_a_token(built: Forge, pkg: Path) -> None:
    rewrite(pkg, {TSR0: lambda _: bytes.fromhex("3005300302010000")[:7]})
    report = verify(built, pkg)
    assert_fails_naming(report, TSR0)
    assert report.check("timestamp-0").status == "failed"


def test_token_backdated_before_the_capture_by_the_tsa_key(
    built: Forge, pkg: Path, tmp_path: Path
) -> None:
    """A TSA (or its stolen key) says the signature existed a day before the capture
    it covers began: the claimed capture time is false."""
    claimed = datetime.strptime(CLAIMED_START, "%Y-%m-%dT%H:%M:%SZ")
    day_before = (claimed - timedelta(days=1)).strftime("%Y%m%d%H%M%S").encode()

    def backdate(tst: bytes) -> bytes:
        return tst.replace(_gen_time(tst), day_before, 1)

    tsr = members(pkg)[TSR0]
    forged = resign_token(tsr, tmp_path / "f", built.tsa_cert, built.tsa_key, edit=backdate)
    rewrite(pkg, {TSR0: lambda _: forged})
    report = verify(built, pkg)
    assert report.timestamps[0].chain == "valid"  # a genuine TSA signature
    assert_fails_naming(report, f"{TSR0}: ")
    assert "BEFORE the claimed capture start" in " ".join(all_problems(report))


def test_token_carrying_an_extra_unrelated_certificate_still_names_its_real_tsa(
    built: Forge, pkg: Path, tmp_path: Path
) -> None:
    tsr = members(pkg)[TSR0]
    forged = resign_token(
        tsr, tmp_path / "f", built.tsa_cert, built.tsa_key, extra_certs=built.stranger.cert_path
    )
    rewrite(pkg, {TSR0: lambda _: forged})
    report = verify(built, pkg)
    assert report.exit_code == 0, render_text(report)
    assert report.timestamps[0].tsa == report.timestamps[1].tsa
    assert report.timestamps[0].chain == "valid"


def test_token_by_a_forger_tsa_carrying_the_real_tsa_certificate(
    built: Forge, pkg: Path, tmp_path: Path
) -> None:
    """Signed by the forger's TSA key, with the real TSA's certificate packed first."""
    tsr = members(pkg)[TSR0]
    stranger = built.stranger
    forged = resign_token(
        tsr, tmp_path / "f", stranger.cert_path, stranger.key_path, extra_certs=built.tsa_cert
    )
    rewrite(pkg, {TSR0: lambda _: forged, TSR1: lambda _: None})
    report = verify(built, pkg)
    assert report.exit_code == 1, render_text(report)
    assert report.timestamps[0].chain == "invalid"
    assert report.check("tsa-trust").status == "failed"


def test_token_copied_under_a_second_number_with_leading_zero(built: Forge, pkg: Path) -> None:
    token = members(pkg)[TSR0]
    rewrite(pkg, {}, add={"provenance/manifest.json.sig.00.tsr": token})
    assert_fails_naming(verify(built, pkg), "provenance/manifest.json.sig.00.tsr")


# -- zip64 -------------------------------------------------------------------------------------


def _write_zip64(path: Path, entries: list[tuple[str, bytes, int]]) -> None:
    with zipfile.ZipFile(path, "w", allowZip64=True) as zf:
        for name, data, method in entries:
            info = zipfile.ZipInfo(name, date_time=(2026, 11, 27, 9, 18, 7))
            info.compress_type = method
            with zf.open(info, "w", force_zip64=True) as out:
                out.write(data)


def test_zip64_headers_on_every_member_are_not_a_false_alarm(built: Built, pkg: Path) -> None:
    """Multi-GB packages carry zip64 fields: the same bytes so written must verify."""
    _write_zip64(pkg, entries_of(built.path))
    data = pkg.read_bytes()
    assert data[18:26] == b"\xff" * 8  # the first local header defers its sizes to zip64
    report = verify(built, pkg)
    assert report.exit_code == 0, render_text(report)


def test_zip64_local_size_differing_from_the_directory(built: Built, pkg: Path) -> None:
    _write_zip64(pkg, entries_of(built.path))
    data = bytearray(pkg.read_bytes())
    off = next(o for _, n, o in _central_entries(bytes(data)) if n == PAGES)
    (nlen,) = struct.unpack("<H", data[off + 26 : off + 28])
    extra_at = off + 30 + nlen
    assert struct.unpack("<HH", data[extra_at : extra_at + 4])[0] == 1
    (usize,) = struct.unpack("<Q", data[extra_at + 4 : extra_at + 12])
    data[extra_at + 4 : extra_at + 12] = struct.pack("<Q", usize + 1)
    pkg.write_bytes(bytes(data))
    assert_fails_naming(verify(built, pkg), f"{PAGES}: the local header's size")


# -- bounds: what the zip claims about itself is not what verify allocates ------------------


def _sparse(path: Path, size: int, end: bytes) -> Path:
    """A ``size``-byte file of holes ending in ``end`` (no disk used but the last block)."""
    with open(path, "wb") as fh:
        fh.truncate(size)
        fh.seek(size - len(end))
        fh.write(end)
    return path


def _assert_refused_by_the_cli(path: Path, reason: str) -> None:
    """Exit 1 with one reason, text and JSON, under a 1 GiB address-space limit."""
    text = run_archiver(["verify", str(path)])
    assert text.returncode == 1, (text.stdout, text.stderr)
    assert text.stderr == "" and "MemoryError" not in text.stdout
    lines = text.stdout.splitlines()
    assert [line for line in lines if "(zip structure):" in line and reason in line], lines
    assert text.stdout.rstrip().endswith("Result: FAILED (exit 1)")
    js = run_archiver(["verify", str(path), "--json"])
    assert js.returncode == 1 and js.stderr == "", js.stderr
    doc = json.loads(js.stdout)
    validate(doc, "verify.schema.json")
    assert doc["exit_code"] == 1 and doc["integrity"] == "failed" and doc["error"] is None
    layout = next(c for c in doc["checks"] if c["id"] == "layout")
    assert [p["message"] for p in layout["problems"]] == [next(iter(layout["problems"]))["message"]]
    assert reason in layout["problems"][0]["message"]
    assert {c["status"] for c in doc["checks"] if c["id"] != "layout"} == {"not checked"}


GIB = 1 << 30


@pytest.mark.parametrize("claim", ["4 GiB directory", "4 GiB zip64 directory", "10^9 entries"])
def test_end_record_claiming_more_than_the_bounds_is_refused_unread(
    tmp_path: Path, claim: str
) -> None:
    """A 5 GiB sparse file whose end record claims a 4 GiB directory made verify read it all
    (4.1 GB, 24 s; MemoryError and exit 3 under a memory limit, no JSON)."""
    size = 5 * GIB
    if claim == "4 GiB directory":
        end = end_record(entries=3, cd_size=0xFFFFFFF0, cd_offset=GIB)
        reason = "claims a central directory of 4294967280 bytes (4.0 GiB)"
    else:
        entries, cd_size = (3, 4 * GIB) if "zip64" in claim else (10**9, 46)
        end = zip64_end_records(entries=entries, cd_size=cd_size, at=size - 98)
        reason = (
            "claims a central directory of 4294967296 bytes"
            if "zip64" in claim
            else "claims 1000000000 entries"
        )
    path = _sparse(tmp_path / "sparse.wacz", size, end)
    _assert_refused_by_the_cli(path, reason)


def test_directory_holding_more_entries_than_the_bound_is_refused(tmp_path: Path) -> None:
    """The end record may undercount: the walk itself stops at 100,000 entries."""
    one = RawEntry(name=b"x", data=b"", method=0, crc=0, size=0)
    write_raw(tmp_path / "one.wacz", [one])
    data = (tmp_path / "one.wacz").read_bytes()
    eocd = data.rindex(b"PK\x05\x06")
    (cd_offset,) = struct.unpack("<I", data[eocd + 16 : eocd + 20])
    entry = data[cd_offset:eocd]
    directory = entry * 100_001
    path = tmp_path / "many.wacz"
    path.write_bytes(
        data[:cd_offset]
        + directory
        + end_record(entries=0xFFFF, cd_size=len(directory), cd_offset=cd_offset)
    )
    _assert_refused_by_the_cli(path, "the zip directory holds more than 100000 entries")


@pytest.mark.parametrize("field", ["name", "extra field", "comment"])
def test_directory_entry_with_an_oversized_field_is_refused(
    built: Built, pkg: Path, field: str
) -> None:
    entries = raw_entries(pkg)
    big = b"\x99\x99" + struct.pack("<H", 2000) + b"\0" * 2000
    if field == "name":
        entries.append(RawEntry(name=b"pages/" + b"a" * 2000, data=b"", method=0, crc=0, size=0))
    elif field == "extra field":
        entries[0].central_extra = big
    else:
        entries[0].comment = b"c" * 2000
    write_raw(pkg, entries)
    report = verify(built, pkg)
    assert report.exit_code == 1
    assert all_problems(report) == [
        f"(zip structure): entry {len(entries) if field == 'name' else 1} of the zip directory "
        f"has {'an' if field == 'extra field' else 'a'} {field} of "
        f"{2006 if field == 'name' else 2004 if field == 'extra field' else 2000}"
        f" bytes; more than 1024 is refused"
    ]


@pytest.mark.slow  # builds and inflates 200 MiB: ~6 s
def test_manifest_inflating_to_200_mib_is_refused_before_it_is_read(
    built: Built, pkg: Path
) -> None:
    """A 200 KiB package whose manifest inflates to 200 MiB of JSON took ~600 MiB to
    read and parse (the limit was 256 MiB): now refused by its size, read or not."""
    entries = raw_entries(pkg)
    set_content(_entry(entries, MANIFEST), b'{"a": "' + b"x" * (200 << 20) + b'"}', level=9)
    agree(entries)
    write_raw(pkg, entries)
    run = run_archiver(["verify", str(pkg), "--json"], memory=512 << 20)
    assert run.returncode == 1 and run.stderr == "", run.stderr
    lines = [f"{p['where']}: {p['message']}" for c in json.loads(run.stdout)["checks"]
             for p in c["problems"]]  # fmt: skip
    assert f"{MANIFEST}: is larger than 67108864 bytes" in lines, lines


@pytest.mark.slow  # a thousand tokens of 1 MiB inflated: ~6 s
def test_a_thousand_tokens_inflating_to_1_mib_each_are_not_all_read(
    built: Built, pkg: Path
) -> None:
    """Tokens are read whole: 1,000 of them, 1 KiB each in the zip and 1 MiB inflated,
    made verify hold 1 GiB. At most 100 tokens of 256 KiB are read now; more fail."""
    entries = raw_entries(pkg)
    bomb = RawEntry(name=b"", data=b"", method=8, crc=0, size=0)
    set_content(bomb, bytes(1 << 20), level=9)
    for n in range(2, 1002):
        name = f"provenance/manifest.json.sig.{n}.tsr".encode()
        entries.append(RawEntry(name, bomb.data, 8, bomb.crc, bomb.size))
    write_raw(pkg, entries)
    run = run_archiver(["verify", str(pkg), "--json"])
    assert run.returncode == 1 and run.stderr == "", run.stderr
    doc = json.loads(run.stdout)
    layout = [f"{p['where']}: {p['message']}" for p in doc["checks"][0]["problems"]]
    assert "1002 timestamp tokens: more than 100 are refused; only the first 100 were checked" in (
        layout
    ), layout[-5:]
    assert len(doc["timestamps"]) == 100


# -- unsigned data hidden in the zip headers ---------------------------------------------

EXTENDED_TIME = struct.pack("<HHBI", 0x5455, 5, 1, 1795771087)  # Info-ZIP mtime field


def _entry(entries: list[RawEntry], name: str) -> RawEntry:
    return next(e for e in entries if e.name == name.encode())


def test_the_raw_zip_writer_rewrites_the_clean_package_into_a_passing_one(
    built: Built, pkg: Path
) -> None:
    """Baseline for the tests below: write_raw(raw_entries(p)) is a faithful copy."""
    write_raw(pkg, raw_entries(pkg))
    report = verify(built, pkg)
    assert report.exit_code == 0, render_text(report)


def test_member_times_changed_in_both_headers_still_pass(built: Built, pkg: Path) -> None:
    """Zip times are the writer's clock, claimed nowhere else: no false alarm."""
    entries = raw_entries(pkg)
    for e in entries:
        e.time, e.date = 0x4A6F, 0x5C21
    write_raw(pkg, entries)
    report = verify(built, pkg)
    assert report.exit_code == 0, render_text(report)


@pytest.mark.parametrize("header", ["directory", "local", "both"])
def test_extra_field_archiver_never_writes_is_named(built: Built, pkg: Path, header: str) -> None:
    entries = raw_entries(pkg)
    page = _entry(entries, PAGES)
    if header != "local":
        page.central_extra = EXTENDED_TIME
    if header != "directory":
        page.local_extra = EXTENDED_TIME
    write_raw(pkg, entries)
    names = [f"{PAGES}: its {h} header carries a zip extra field 0x5455 of 5 bytes" for h in
             (["directory", "local"] if header == "both" else [header])]  # fmt: skip
    assert_fails_naming(verify(built, pkg), *names)


def test_sixty_kib_hidden_in_a_local_extra_field_is_named(built: Built, pkg: Path) -> None:
    """The local header's extra field is read past by every reader and hashed by none."""
    entries = raw_entries(pkg)
    _entry(entries, WARC).local_extra = struct.pack("<HH", 0xCAFE, 60000) + b"secret" * 10000
    write_raw(pkg, entries)
    assert_fails_naming(
        verify(built, pkg),
        f"{WARC}: its local header has an extra field of 60004 bytes",
        f"{WARC}: its local header carries a zip extra field 0xcafe of 60000 bytes",
    )


def test_per_file_comment_is_named(built: Built, pkg: Path) -> None:
    entries = raw_entries(pkg)
    _entry(entries, MANIFEST).comment = b"signed by the mayor's office"
    write_raw(pkg, entries)
    assert_fails_naming(verify(built, pkg), f"{MANIFEST}: carries a zip comment of 28 bytes")


@pytest.mark.parametrize("extra_bytes", [0, 8])
def test_zip64_field_holding_more_than_its_sizes_is_named(
    built: Built, pkg: Path, extra_bytes: int
) -> None:
    """A ZIP64 field standing for both maxed local sizes holds 16 bytes; 8 more are hidden."""
    entries = raw_entries(pkg)
    page = _entry(entries, PAGES)
    page.local_sizes = (0xFFFFFFFF, 0xFFFFFFFF)
    hidden = b"SECRET!!"[:extra_bytes]
    page.local_extra = struct.pack("<HHQQ", 1, 16 + extra_bytes, page.size, len(page.data))
    page.local_extra += hidden
    write_raw(pkg, entries)
    report = verify(built, pkg)
    if not extra_bytes:
        assert report.exit_code == 0, render_text(report)
    else:
        assert_fails_naming(report, f"{PAGES}: its local header's ZIP64 field holds 24 bytes")


def test_crc_of_the_stored_warc_changed_in_both_headers_is_named(built: Built, pkg: Path) -> None:
    """Every other unzipper calls this WARC damaged: verify must not call it intact."""
    entries = raw_entries(pkg)
    _entry(entries, WARC).crc ^= 1
    write_raw(pkg, entries)
    assert_fails_naming(verify(built, pkg), f"{WARC}: its CRC-32 does not match the zip header")


def test_data_descriptor_flag_without_a_descriptor_is_named(built: Built, pkg: Path) -> None:
    """A streaming unzipper looks for a descriptor after the data and finds the next file."""
    entries = raw_entries(pkg)
    _entry(entries, PAGES).flags |= 0x08
    write_raw(pkg, entries)
    assert_fails_naming(verify(built, pkg), f"{PAGES}: its flags promise a data descriptor")


def test_end_record_counting_entries_on_this_disk_differently_is_named(
    built: Built, pkg: Path
) -> None:
    data = bytearray(pkg.read_bytes())
    eocd = data.rindex(b"PK\x05\x06")
    (here,) = struct.unpack("<H", data[eocd + 8 : eocd + 10])
    data[eocd + 8 : eocd + 10] = struct.pack("<H", here - 1)
    pkg.write_bytes(bytes(data))
    assert_fails_naming(verify(built, pkg), "(zip structure): the end record's disk numbers")


def test_last_directory_entry_whose_name_runs_past_the_directory_is_named(
    built: Built, pkg: Path
) -> None:
    """zipfile reads the name short at the directory's end; a reader that trusts the
    length reads the end record as part of the name: two readings (found by the fuzz)."""
    data = bytearray(pkg.read_bytes())
    pos = _central_entries(bytes(data))[-1][0]
    data[pos + 29] ^= 0x01  # the name length's high byte: 256 bytes more
    pkg.write_bytes(bytes(data))
    assert_fails_naming(verify(built, pkg), "of the zip directory runs past its end")


def test_signer_key_with_other_line_ends_is_named(built: Built, pkg: Path) -> None:
    """The same key in other bytes: unsigned bytes changed, though the key is the signer's."""
    rewrite(pkg, {PUB: lambda d: d.replace(b"\n", b"\r\n")})
    report = verify(built, pkg)
    assert report.signer_fingerprint == signing.fingerprint(built.key)
    assert_fails_naming(report, f"{PUB}: holds the signer's key, but not byte for byte")


def test_datapackage_digest_carrying_another_key_is_named(built: Built, pkg: Path) -> None:
    def note(data: bytes) -> bytes:
        return json.dumps({**json.loads(data), "note": "verified by the newsroom"}).encode()

    rewrite(pkg, {"datapackage-digest.json": note}, fix_datapackage=False)
    assert_fails_naming(verify(built, pkg), "datapackage-digest.json: must hold exactly the path")


# -- unsigned claims: datapackage.json against the signed manifest and pages.jsonl ---------

DP = "datapackage.json"
OTHER_URL = "http://127.0.0.1:8000/other.html"


def _edit_datapackage(pkg: Path, edit: Callable[[dict[str, Any]], None], indent: int = 2) -> None:
    """Edit datapackage.json and recompute its digest, as a careful forger would
    (``indent`` 0: all on one line)."""

    doc = json.loads(members(pkg)[DP])
    edit(doc)
    data = json.dumps(doc, indent=indent or None).encode()
    digest = {"path": DP, "hash": "sha256:" + hashlib.sha256(data).hexdigest()}
    new = {DP: data, "datapackage-digest.json": json.dumps(digest).encode()}
    rewrite(pkg, {name: lambda _, d=d: d for name, d in new.items()}, fix_datapackage=False)


SIGNED_PAGES = f"the signed {PAGES} says"


@pytest.mark.parametrize(
    ("field", "value", "named"),
    [
        ("title", "Kursk: 7,500 evacuated",
         [f"title says 'Kursk: 7,500 evacuated' but {SIGNED_PAGES} 'Kursk'"]),
        ("mainPageURL", OTHER_URL,
         [f"mainPageURL says '{OTHER_URL}' but {SIGNED_PAGES} 'http://127.0.0.1:8000/article.html'",
          f"mainPageURL says '{OTHER_URL}' but the signed manifest (final_url) says"]),
        ("mainPageDate", "2026-11-26T09:18:07Z",
         [f"mainPageDate says '2026-11-26T09:18:07Z' but {SIGNED_PAGES} '{CLAIMED_START}'",
          "mainPageDate says '2026-11-26T09:18:07Z' but the signed manifest (started) says"]),
        ("software", "archiver 9.9",
         ["software says 'archiver 9.9' but the signed manifest says 'archiver tests'"]),
        ("created", "2026-11-27T09:18:00Z",
         ["created '2026-11-27T09:18:00Z' is before the capture ended"]),
        ("created", "yesterday", ["created 'yesterday' is not an ISO 8601 time"]),
        ("modified", "2026-11-27T09:18:01Z", ["modified '2026-11-27T09:18:01Z' is before created"]),
        ("description", "Verified by the newsroom",
         ["holds 'description', which archiver never writes"]),
        ("wacz_version", "1.2.0", ["wacz_version is '1.2.0', not '1.1.1'"]),
    ],
)  # fmt: skip
def test_datapackage_claim_differing_from_the_signed_one_is_named(
    built: Built, pkg: Path, field: str, value: str, named: list[str]
) -> None:
    """datapackage.json is unsigned, yet replay tools show its title, URL and date."""
    _edit_datapackage(pkg, lambda doc: doc.__setitem__(field, value))
    report = verify(built, pkg)
    assert_fails_naming(report, *(f"{DP}: {part}" for part in named))
    lines = [p.line() for p in report.check("claims").problems]
    assert len(lines) == len(named), lines
    assert [c.id for c in report.checks if c.status == "failed"] == ["claims"]


@pytest.mark.parametrize(
    "edit",
    ["modified later", "created later", "same instant, other spelling", "one line"],
)
def test_unsigned_datapackage_changes_that_contradict_nothing_still_pass(
    built: Built, pkg: Path, edit: str
) -> None:
    """`archiver timestamp` adds 'modified' and rewrites the datapackage: no false alarm."""
    later = "2026-11-28T10:00:00Z"  # after the signed capture end, 2026-11-27T09:18:09Z
    edits: dict[str, Callable[[dict[str, Any]], None]] = {
        "modified later": lambda doc: doc.__setitem__("modified", later),
        "created later": lambda doc: doc.__setitem__("created", later),
        "same instant, other spelling": lambda doc: doc.__setitem__(
            "mainPageDate", CLAIMED_START.replace("Z", "+00:00")
        ),
        "one line": lambda doc: None,
    }
    _edit_datapackage(pkg, edits[edit], indent=0 if edit == "one line" else 2)
    report = verify(built, pkg)
    assert report.exit_code == 0, render_text(report)
    assert report.check("claims").status == "passed"
