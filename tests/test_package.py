"""package.py writes WACZ 1.1.1 files that py-wacz validates and pywb replays."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from replay import PywbReplay, make_package

from archiver.errors import PackageError
from archiver.package import WaczReader, build_cdxj, build_pages, rewrite_wacz, write_wacz

BIN = Path(sys.executable).parent


def wacz_validate(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "wacz"), "validate", "-f", str(path)], capture_output=True, text=True
    )


def test_package_passes_wacz_validate_and_its_warc_passes_warcio_check(tmp_path: Path) -> None:
    pkg = make_package(tmp_path, tmp_path / "c.wacz", tokens=2)
    result = wacz_validate(pkg.path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Validation succeeded" in result.stdout
    warc = tmp_path / "extracted.warc.gz"
    with zipfile.ZipFile(pkg.path) as zf:
        warc.write_bytes(zf.read("archive/data.warc.gz"))
    check = subprocess.run([str(BIN / "warcio"), "check", str(warc)], capture_output=True)
    assert check.returncode == 0, check.stdout


def test_zip_layout_and_datapackage_describe_every_member(tmp_path: Path) -> None:
    pkg = make_package(tmp_path, tmp_path / "c.wacz", tokens=1)
    assert pkg.sha256 == hashlib.sha256(pkg.path.read_bytes()).hexdigest()
    with zipfile.ZipFile(pkg.path) as zf:
        infos = {i.filename: i for i in zf.infolist()}
        assert infos["archive/data.warc.gz"].compress_type == zipfile.ZIP_STORED
        assert all(
            i.compress_type == zipfile.ZIP_DEFLATED
            for name, i in infos.items()
            if name != "archive/data.warc.gz"
        )
        raw_dp = zf.read("datapackage.json")
        dp = json.loads(raw_dp)
        digest = json.loads(zf.read("datapackage-digest.json"))
        listed = {r["path"]: r for r in dp["resources"]}
        assert set(listed) == set(infos) - {"datapackage.json", "datapackage-digest.json"}
        for path, res in listed.items():
            data = zf.read(path)
            assert res["hash"] == "sha256:" + hashlib.sha256(data).hexdigest()
            assert res["bytes"] == len(data)
            assert data == pkg.members[path]
    assert dp["profile"] == "data-package" and dp["wacz_version"] == "1.1.1"
    assert dp["mainPageURL"] == pkg.url and dp["title"] == "A synthetic article"
    assert dp["mainPageDate"] == "2026-11-27T09:18:07Z" and dp["created"] == dp["mainPageDate"]
    assert digest == {
        "path": "datapackage.json",
        "hash": "sha256:" + hashlib.sha256(raw_dp).hexdigest(),
    }


def test_cdxj_lists_replayable_records_sorted_with_offsets(tmp_path: Path) -> None:
    pkg = make_package(tmp_path, tmp_path / "c.wacz")
    lines = build_cdxj(pkg.records).decode().splitlines()
    assert lines == sorted(lines)
    entries = [json.loads(line.split(" ", 2)[2]) for line in lines]
    urls = {e["url"] for e in entries}
    assert pkg.url in urls and f"urn:text:{pkg.url}" in urls and f"urn:provenance:{pkg.url}" in urls
    assert len(entries) == 6  # 2 responses, 3 resources, 1 metadata; no request, no warcinfo
    by_url = {e["url"]: (line, e) for line, e in zip(lines, entries, strict=True)}
    line, page = by_url[pkg.url]
    assert line.startswith("1,0,0,127:8000)/article.html 20261127091807 {")
    assert page["mime"] == "text/html" and page["status"] == "200"
    assert page["filename"] == "data.warc.gz"
    record = next(r for r in pkg.records if r.type == "response" and r.target_uri == pkg.url)
    assert page["offset"] == str(record.offset) and page["length"] == str(record.length)
    assert page["digest"] == record.payload_digest


def test_pages_jsonl_has_the_header_then_the_page() -> None:
    data = build_pages(page_id="p1", url="http://x/", ts="2026-11-27T09:18:07Z", title="T")
    header, page = (json.loads(line) for line in data.decode().splitlines())
    assert header == {"format": "json-pages-1.0", "id": "pages", "title": "All Pages"}
    assert page == {"id": "p1", "url": "http://x/", "ts": "2026-11-27T09:18:07Z", "title": "T"}


def test_rewrite_keeps_member_bytes_and_adds_a_token(tmp_path: Path) -> None:
    pkg = make_package(tmp_path, tmp_path / "c.wacz", tokens=1)
    before = {}
    with zipfile.ZipFile(pkg.path) as zf:
        before = {n: zf.read(n) for n in zf.namelist()}
    new_sha = rewrite_wacz(pkg.path, [("provenance/manifest.json.sig.1.tsr", b"second token")])
    assert new_sha == hashlib.sha256(pkg.path.read_bytes()).hexdigest() != pkg.sha256
    with zipfile.ZipFile(pkg.path) as zf:
        after = {n: zf.read(n) for n in zf.namelist()}
        assert zf.getinfo("archive/data.warc.gz").compress_type == zipfile.ZIP_STORED
    for name, data in before.items():
        if not name.startswith("datapackage"):
            assert after[name] == data, name
    assert after["provenance/manifest.json.sig.1.tsr"] == b"second token"
    dp = json.loads(after["datapackage.json"])
    assert "provenance/manifest.json.sig.1.tsr" in {r["path"] for r in dp["resources"]}
    assert dp["mainPageURL"] == pkg.url
    assert wacz_validate(pkg.path).returncode == 0
    with pytest.raises(PackageError, match=r"already has provenance/manifest\.json\.sig"):
        rewrite_wacz(pkg.path, [("provenance/manifest.json.sig", b"forged")])


def test_failed_write_leaves_no_file_under_the_final_name(tmp_path: Path) -> None:
    dest = tmp_path / "out" / "c.wacz"
    dest.parent.mkdir()
    with pytest.raises(FileNotFoundError):
        write_wacz(
            dest,
            [("pages/pages.jsonl", b"{}"), ("archive/data.warc.gz", tmp_path / "missing")],
            title="t",
            main_page_url="http://x/",
            main_page_date="2026-11-27T09:18:07Z",
            software="t",
        )
    assert list(dest.parent.iterdir()) == []


def test_member_names_must_be_one_folder_deep(tmp_path: Path) -> None:
    with pytest.raises(PackageError, match="must be 'folder/file'"):
        write_wacz(
            tmp_path / "c.wacz",
            [("provenance/deep/x.json", b"{}")],
            title="t",
            main_page_url="http://x/",
            main_page_date="d",
            software="t",
        )


def test_reader_reads_members_and_bounds_them(tmp_path: Path) -> None:
    pkg = make_package(tmp_path, tmp_path / "c.wacz")
    with WaczReader(pkg.path) as reader:
        assert reader.names()[0] == "archive/data.warc.gz"
        assert reader.read("pages/pages.jsonl") == pkg.members["pages/pages.jsonl"]
        with reader.open("archive/data.warc.gz") as fh:
            assert fh.read() == pkg.members["archive/data.warc.gz"]
        with pytest.raises(
            PackageError, match=r"indexes/index\.cdxj in .* is larger than 10 bytes"
        ):
            reader.read("indexes/index.cdxj", limit=10)
        with pytest.raises(PackageError, match=r"c.wacz has no provenance/nothing"):
            reader.read("provenance/nothing")


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda data: b"this is plain text, not a zip" * 10, "not a WACZ package: not a zip"),
        (lambda data: data[: len(data) // 2], "not a WACZ package: not a zip file, or truncated"),
        (lambda data: b"", "not a WACZ package"),
    ],
    ids=["not-a-zip", "truncated", "empty"],
)
def test_unreadable_packages_give_one_line_errors(
    tmp_path: Path, damage: object, message: str
) -> None:
    pkg = make_package(tmp_path, tmp_path / "c.wacz")
    bad = tmp_path / "bad.wacz"
    bad.write_bytes(damage(pkg.path.read_bytes()))  # type: ignore[operator]
    with pytest.raises(PackageError, match=message) as err:
        WaczReader(bad)
    assert "\n" not in str(err.value) and str(bad) in str(err.value)
    assert err.value.exit_code == 2


def test_flipped_byte_in_a_member_is_reported_when_read(tmp_path: Path) -> None:
    pkg = make_package(tmp_path, tmp_path / "c.wacz")
    data = bytearray(pkg.path.read_bytes())
    with zipfile.ZipFile(pkg.path) as zf:
        info = zf.getinfo("archive/data.warc.gz")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    data[start + 100] ^= 0xFF
    bad = tmp_path / "flipped.wacz"
    bad.write_bytes(bytes(data))
    with WaczReader(bad) as reader, pytest.raises(PackageError, match=r"archive/data\.warc\.gz in"):
        reader.read("archive/data.warc.gz")


def test_missing_file_and_folder_are_package_errors(tmp_path: Path) -> None:
    with pytest.raises(PackageError, match="does not exist"):
        WaczReader(tmp_path / "nope.wacz")
    with pytest.raises(PackageError, match="is a folder"):
        WaczReader(tmp_path)


def test_pywb_replays_the_page_and_its_image(tmp_path: Path) -> None:
    pkg = make_package(tmp_path, tmp_path / "c.wacz")
    with PywbReplay(pkg.path, tmp_path / "pywb") as replay:
        status, headers, body = replay.fetch(pkg.url)
        assert status == 200 and body == pkg.html
        assert headers["Content-Type"] == "text/html; charset=utf-8"
        status, headers, body = replay.fetch(pkg.url.rsplit("/", 1)[0] + "/pixel.png")
        assert status == 200 and body == pkg.png
        assert headers["Content-Type"] == "image/png"
        status, _, page = replay.fetch(pkg.url, mode="mp_")
        assert status == 200 and b"<p>Hi</p>" in page
        status, _, _ = replay.fetch("http://127.0.0.1:8000/never-captured.html")
        assert status == 404


def test_cdxj_is_identical_to_what_cdxj_indexer_writes(tmp_path: Path) -> None:
    """ReplayWeb.page and pywb read indexes made by cdxj-indexer: ours must be the same."""
    pkg = make_package(tmp_path, tmp_path / "c.wacz")
    warc = tmp_path / "data.warc.gz"
    warc.write_bytes(pkg.members["archive/data.warc.gz"])
    theirs = subprocess.run(
        [str(BIN / "cdxj-indexer"), "--sort", warc.name],
        cwd=tmp_path,
        capture_output=True,
        check=True,
    ).stdout
    assert pkg.members["indexes/index.cdxj"] == theirs
