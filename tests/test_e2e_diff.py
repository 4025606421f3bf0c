"""Issue #4 end to end: silent edits of a live article, captured by real Chromium.

The fixture server serves the SAME article URL as one variant after another (a
publisher's silent edit, ``fixtures.site.EDITS``). The module captures the original and
every variant once, with the real ``archiver capture`` command, into one archive; the
tests then run ``archiver diff`` / ``archiver history`` as a user would and check that
each edit is reported as exactly that edit, tied to the signed package it came from.

Only 127.0.0.1; the HTML report is opened in the same Chromium the tool uses.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys
import zipfile
import zlib
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from playwright.sync_api import sync_playwright
from warcio.archiveiterator import ArchiveIterator

from archiver.capture.chromium import launch_args
from fixtures.server import FixtureServer
from fixtures.site import EDITS, PARAGRAPHS, article

# slow: the module captures the article once per edit variant (about 30 s) before any test
pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
ARCHIVER = Path(sys.executable).with_name("archiver")

# Capture order: noise right after the original (an "unchanged" step), the consent wall
# between two edits (history must skip it as a base), the rest in EDITS order.
ORDER: tuple[str, ...] = (
    "original",
    "noise-only",
    "number-changed",
    "consent-wall",
    "sentence-removed",
    "sentence-added",
    "word-changed",
    "paragraph-moved",
    "headline-reworded",
    "correction-appended",
    "byline-changed",
)
ARTICLE_EDITS = tuple(k for k, e in EDITS.items() if e.field != "page")

# What each edit must be reported as: (body change kind, unit) or ("metadata", field).
EXPECTED: dict[str, tuple[str, str]] = {
    "number-changed": ("change", "sentence"),
    "sentence-removed": ("delete", "sentence"),
    "sentence-added": ("insert", "sentence"),
    "word-changed": ("change", "sentence"),
    "paragraph-moved": ("move", "paragraph"),
    "headline-reworded": ("metadata", "title"),
    "correction-appended": ("insert", "paragraph"),
    "byline-changed": ("metadata", "byline"),
}
ZERO_COUNTS = {
    "sentences_inserted": 0,
    "sentences_deleted": 0,
    "sentences_changed": 0,
    "sentences_moved": 0,
    "paragraphs_inserted": 0,
    "paragraphs_deleted": 0,
    "paragraphs_moved": 0,
    "numbers_changed": 0,
    "metadata_changed": 0,
}


@dataclass(frozen=True)
class Site:
    """The module's archive: one capture per variant of the live article URL."""

    url: str
    archive: Path
    env: dict[str, str]
    ids: dict[str, str]
    paths: dict[str, Path]
    started: dict[str, str]


def run(site: Site, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(ARCHIVER), *args],
        capture_output=True,
        text=True,
        env=site.env,
        timeout=300,
        check=False,
    )


def _env(config: Path, browser: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("ARCHIVER_ARCHIVE", "ARCHIVER_KEY", "ARCHIVER_KEY_PASSPHRASE")
    }
    env.update(XDG_CONFIG_HOME=str(config), ARCHIVER_BROWSER=str(browser), NO_COLOR="1")
    return env


@pytest.fixture(scope="module")
def site(
    fixture_server: FixtureServer, browser_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Site:
    base = tmp_path_factory.mktemp("e2e-diff")
    env = _env(base / "config", browser_path)
    archive = base / "archive"
    gen = subprocess.run(
        [str(ARCHIVER), "key", "generate"], capture_output=True, text=True, env=env, check=False
    )
    assert gen.returncode == 0, gen.stderr
    ids: dict[str, str] = {}
    paths: dict[str, Path] = {}
    started: dict[str, str] = {}
    url = fixture_server.article_url
    for variant in ORDER:
        with fixture_server.variant(variant):
            proc = subprocess.run(
                [
                    str(ARCHIVER),
                    "capture",
                    url,
                    "--archive",
                    str(archive),
                    "--no-timestamp",
                    "--json",
                ],
                capture_output=True,
                text=True,
                env=env,
                timeout=300,
                check=False,
            )
        assert proc.returncode == 0, f"capture of {variant} failed: {proc.stderr}"
        result = json.loads(proc.stdout)
        ids[variant] = result["id"]
        paths[variant] = Path(result["path"])
        started[variant] = result["started"]
    return Site(url, archive, env, ids, paths, started)


def validate(doc: dict[str, Any], schema_name: str) -> None:
    schema = json.loads((ROOT / "schemas" / schema_name).read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    cls(schema).validate(doc)


def diff_json(site: Site, a: str, b: str, *extra: str) -> dict[str, Any]:
    proc = run(site, "diff", a, b, "--archive", str(site.archive), "--json", *extra)
    assert proc.returncode == 0, proc.stderr
    report: dict[str, Any] = json.loads(proc.stdout)
    validate(report, "diff.schema.json")
    return report


def diff_variant(site: Site, variant: str, *extra: str) -> dict[str, Any]:
    """The JSON diff of the original capture against the capture of ``variant``."""
    return diff_json(site, site.ids["original"], site.ids[variant], *extra)


def diff_text(site: Site, a: str, b: str, *extra: str) -> str:
    proc = run(site, "diff", a, b, "--archive", str(site.archive), *extra)
    assert proc.returncode == 0, proc.stderr
    assert "\x1b[" not in proc.stdout, "colour codes when stdout is not a terminal"
    return proc.stdout


def text_document(package: Path) -> dict[str, Any]:
    """The urn:text: record of a package, read with zipfile + warcio (not archiver)."""
    with zipfile.ZipFile(package) as wacz, wacz.open("archive/data.warc.gz") as raw:
        for record in ArchiveIterator(raw):
            uri = record.rec_headers.get_header("WARC-Target-URI") or ""
            if uri.startswith("urn:text:"):
                doc: dict[str, Any] = json.loads(record.content_stream().read())
                return doc
    raise LookupError(f"{package} has no urn:text: record")


def joined(segments: list[dict[str, str]], *ops: str) -> str:
    return "".join(s["text"] for s in segments if s["op"] in ops)


# --- each kind of edit --------------------------------------------------------------


@pytest.mark.parametrize("kind", ARTICLE_EDITS)
def test_each_edit_is_reported_as_exactly_that_kind(site: Site, kind: str) -> None:
    edit = EDITS[kind]
    report = diff_variant(site, kind)
    what, detail = EXPECTED[kind]
    assert report["status"] == "changed"
    assert report["a"]["extraction"] == {"ok": True, "reason": None}
    assert report["b"]["extraction"] == {"ok": True, "reason": None}
    counts = report["counts"]

    if what == "metadata":
        assert report["changes"] == [], "a metadata edit must not show up as a body change"
        [meta] = report["metadata_changes"]
        assert meta["field"] == detail
        assert edit.old in meta["old"] and edit.new not in meta["old"]
        assert meta["new"] == meta["old"].replace(edit.old, edit.new)
        assert counts == {**ZERO_COUNTS, "metadata_changed": 1}
        assert report["number_changes"] == []
        return

    assert report["metadata_changes"] == [], "a body edit must not change the metadata"
    [change] = report["changes"]
    assert (change["kind"], change["unit"]) == (what, detail)
    assert change["sentences"] == 1
    if kind == "number-changed":
        number = {"old": "75,000", "new": "7,500"}
        assert change["numbers"] == [number]
        assert report["number_changes"] == [number]
    else:
        assert change["numbers"] == []
        assert report["number_changes"] == []

    if what == "change":
        assert edit.old in change["old"]
        assert change["new"] == change["old"].replace(edit.old, edit.new)
        assert joined(change["segments"], "delete").strip() == edit.old
        assert joined(change["segments"], "insert").strip() == edit.new
        assert joined(change["segments"], "equal", "delete") == change["old"]
        assert joined(change["segments"], "equal", "insert") == change["new"]
        assert change["a"] == change["b"] == {"paragraph": 3, "sentence": change["a"]["sentence"]}
        word = "numbers_changed" if kind == "number-changed" else None
        assert counts == {**ZERO_COUNTS, "sentences_changed": 1, **({word: 1} if word else {})}
    elif what == "delete":
        assert change["old"] == edit.old and change["new"] is None and change["b"] is None
        assert change["a"]["paragraph"] == 3
        assert counts == {**ZERO_COUNTS, "sentences_deleted": 1}
    elif what == "insert" and detail == "sentence":
        assert change["new"] == edit.new and change["old"] is None and change["a"] is None
        assert change["b"]["paragraph"] == 3
        assert counts == {**ZERO_COUNTS, "sentences_inserted": 1}
    elif what == "insert":
        assert change["new"] == edit.new and change["old"] is None and change["a"] is None
        assert change["b"] == {"paragraph": len(PARAGRAPHS), "sentence": None}
        assert counts == {**ZERO_COUNTS, "paragraphs_inserted": 1}
    else:  # one move, not a delete plus an insert
        assert change["old"] == change["new"] == edit.old
        assert change["a"] == {"paragraph": PARAGRAPHS.index(edit.old), "sentence": None}
        moved_to = article(kind).paragraphs.index(edit.old)
        assert change["b"] == {"paragraph": moved_to, "sentence": None}
        assert counts == {**ZERO_COUNTS, "paragraphs_moved": 1}


def test_number_change_is_called_out_in_the_terminal_report(site: Site) -> None:
    text = diff_text(site, site.ids["original"], site.ids["number-changed"])
    assert "Numbers changed" in text
    assert "75,000 -> 7,500" in text
    assert "[-75,000-]{+7,500+}" in text
    assert "1 sentence changed, 1 number changed" in text


def test_metadata_edits_are_reported_apart_from_the_body(site: Site) -> None:
    text = diff_text(site, site.ids["original"], site.ids["headline-reworded"])
    assert "Metadata" in text and "headline:" in text
    assert "Article text" not in text
    byline = diff_text(site, site.ids["original"], site.ids["byline-changed"])
    assert "byline:" in byline and EDITS["byline-changed"].new in byline


# --- noise and failed extraction ----------------------------------------------------


def test_noise_only_version_is_no_change_although_the_pages_differ(site: Site) -> None:
    before = text_document(site.paths["original"])
    after = text_document(site.paths["noise-only"])
    assert before["page_text"] != after["page_text"], "the noise variant must differ as a page"
    report = diff_variant(site, "noise-only")
    assert report["status"] == "unchanged"
    assert report["summary"] == "no change in the article"
    assert report["changes"] == report["metadata_changes"] == report["number_changes"] == []
    assert report["counts"] == ZERO_COUNTS
    text = diff_text(site, site.ids["original"], site.ids["noise-only"])
    assert "no change in the article" in text


@pytest.mark.parametrize("wall_side", ["b", "a"])
def test_consent_wall_is_extraction_failed_not_a_deletion(site: Site, wall_side: str) -> None:
    pair = (site.ids["original"], site.ids["consent-wall"])
    a, b = pair if wall_side == "b" else pair[::-1]
    report = diff_json(site, a, b)
    assert report["status"] == "extraction_failed"
    wall = report[wall_side]["extraction"]
    other = report["a" if wall_side == "b" else "b"]["extraction"]
    assert wall["ok"] is False and wall["reason"]
    assert other == {"ok": True, "reason": None}
    assert report["changes"] == report["metadata_changes"] == report["number_changes"] == []
    assert report["counts"] == ZERO_COUNTS
    assert "extraction failed" in report["summary"]
    assert wall["reason"] in report["summary"]
    assert site.ids["consent-wall"] in report["summary"]

    text = diff_text(site, a, b)
    assert "extraction failed" in text and wall["reason"] in text
    for word in ("deleted", "inserted", "[-", "{+"):
        assert word not in text, f"a failed extraction must not read as text {word}"


# --- determinism, evidence, schemas --------------------------------------------------


def test_same_pair_diffed_twice_gives_byte_identical_json(site: Site) -> None:
    args = ("diff", site.ids["original"], site.ids["paragraph-moved"], "--json")
    first = run(site, *args, "--archive", str(site.archive))
    second = run(site, *args, "--archive", str(site.archive))
    assert first.returncode == second.returncode == 0, first.stderr + second.stderr
    assert first.stdout.encode() == second.stdout.encode()


def test_diff_by_id_and_by_wacz_path_give_the_same_changes(site: Site, tmp_path: Path) -> None:
    # The packages a journalist was emailed: copies outside the archive.
    copies = []
    for variant in ("original", "number-changed"):
        copies.append(tmp_path / site.paths[variant].name)
        shutil.copyfile(site.paths[variant], copies[-1])
    by_id = diff_variant(site, "number-changed")
    by_path = diff_json(site, str(copies[0]), str(copies[1]))
    body = ("status", "summary", "counts", "changes", "metadata_changes", "number_changes")
    assert {k: by_path[k] for k in body} == {k: by_id[k] for k in body}
    for side in ("a", "b"):
        ev_id, ev_path = by_id[side]["evidence"], by_path[side]["evidence"]
        for key in ("id", "captured_at", "package_sha256", "manifest_sha256", "key_fingerprint"):
            assert ev_path[key] == ev_id[key], key


def test_each_side_carries_its_evidence(site: Site) -> None:
    shown = run(site, "key", "show")
    assert shown.returncode == 0, shown.stderr
    fingerprints = [ln.split()[1] for ln in shown.stdout.splitlines() if ln.startswith("finger")]
    assert len(fingerprints) == 1 and len(fingerprints[0]) == 64
    report = diff_variant(site, "number-changed")
    for side, variant in (("a", "original"), ("b", "number-changed")):
        ev = report[side]["evidence"]
        package = site.paths[variant]
        assert ev["id"] == site.ids[variant]
        assert ev["url"] == site.url
        assert ev["captured_at"] == site.started[variant]
        assert ev["package_sha256"] == hashlib.sha256(package.read_bytes()).hexdigest()
        with zipfile.ZipFile(package) as wacz:
            manifest = wacz.read("provenance/manifest.json")
        assert ev["manifest_sha256"] == hashlib.sha256(manifest).hexdigest()
        assert ev["signature"].startswith("valid"), ev["signature"]
        assert ev["key_fingerprint"] == fingerprints[0]
        assert ev["tsa_time"] is None, "captured with --no-timestamp: no trusted time to claim"
        extractor = report[side]["extractor"]
        assert extractor["name"] and extractor["version"] and "settings" in extractor
    assert report["settings"]["algorithm"] and report["settings"]["ignore"] == []

    text = diff_text(site, site.ids["original"], site.ids["number-changed"])
    for variant in ("original", "number-changed"):
        assert site.ids[variant] in text
        assert hashlib.sha256(site.paths[variant].read_bytes()).hexdigest() in text
    assert fingerprints[0] in text


def resigned_copy(package: Path, dest: Path) -> Path:
    """A copy whose zip is sound but whose signature has one bit flipped."""
    with zipfile.ZipFile(package) as zin, zipfile.ZipFile(dest, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == "provenance/manifest.json.sig":
                data = data[:-1] + bytes([data[-1] ^ 0x01])
            zout.writestr(info, data, compress_type=info.compress_type)
    return dest


def test_a_tampered_side_is_not_reported_as_validly_signed(site: Site, tmp_path: Path) -> None:
    tampered = resigned_copy(site.paths["original"], tmp_path / "tampered.wacz")
    args = ("diff", str(tampered), site.ids["number-changed"], "--archive", str(site.archive))
    proc = run(site, *args, "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    validate(report, "diff.schema.json")
    status = report["a"]["evidence"]["signature"]
    assert not status.startswith("valid"), status
    assert report["b"]["evidence"]["signature"].startswith("valid")
    assert report["number_changes"] == [{"old": "75,000", "new": "7,500"}]
    text = run(site, *args)
    assert text.returncode == 0, text.stderr
    assert f"signature: {status}" in text.stdout


def damaged_copy(package: Path, dest: Path) -> Path:
    """A copy with one byte flipped inside the STORED WARC: the zip CRC no longer holds."""
    data = bytearray(package.read_bytes())
    with zipfile.ZipFile(package) as wacz:
        info = wacz.getinfo("archive/data.warc.gz")
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    data[start + info.compress_size // 2] ^= 0x01
    dest.write_bytes(bytes(data))
    return dest


# --- the archive: --url and history --------------------------------------------------


def test_diff_url_takes_the_latest_two_captures(site: Site) -> None:
    latest = run(site, "diff", "--url", site.url, "--archive", str(site.archive), "--json")
    assert latest.returncode == 0, latest.stderr
    report = json.loads(latest.stdout)
    validate(report, "diff.schema.json")
    assert report["a"]["evidence"]["id"] == site.ids[ORDER[-2]]
    assert report["b"]["evidence"]["id"] == site.ids[ORDER[-1]]
    explicit = run(
        site,
        "diff",
        site.ids[ORDER[-2]],
        site.ids[ORDER[-1]],
        "--archive",
        str(site.archive),
        "--json",
    )
    assert explicit.returncode == 0, explicit.stderr
    assert latest.stdout == explicit.stdout


def test_history_lists_every_capture_in_order_with_what_changed(site: Site) -> None:
    proc = run(site, "history", "--url", site.url, "--archive", str(site.archive), "--json")
    assert proc.returncode == 0, proc.stderr
    history = json.loads(proc.stdout)
    validate(history, "history.schema.json")
    assert history["url"] == site.url
    steps = history["steps"]
    assert [s["evidence"]["id"] for s in steps] == [site.ids[v] for v in ORDER]
    times = [s["evidence"]["captured_at"] for s in steps]
    assert times == sorted(times) and len(set(times)) == len(times)
    by_variant = dict(zip(ORDER, steps, strict=True))

    assert by_variant["original"]["status"] == "first"
    assert by_variant["original"]["compared_to"] is None
    noise = by_variant["noise-only"]
    assert (noise["status"], noise["compared_to"]) == ("unchanged", site.ids["original"])
    number = by_variant["number-changed"]
    assert (number["status"], number["compared_to"]) == ("changed", site.ids["noise-only"])
    assert number["number_changes"] == [{"old": "75,000", "new": "7,500"}]
    wall = by_variant["consent-wall"]
    assert wall["status"] == "extraction_failed" and wall["changes"] == []
    assert "extraction failed" in wall["summary"]
    # The step after the wall is compared with the last readable capture, not the wall.
    assert by_variant["sentence-removed"]["compared_to"] == site.ids["number-changed"]

    # Each later step says exactly what `archiver diff previous this` says.
    previous = "original"
    for variant in ORDER[1:]:
        step = by_variant[variant]
        if step["status"] == "extraction_failed":
            continue
        pair = diff_json(site, site.ids[previous], site.ids[variant])
        assert step["compared_to"] == site.ids[previous]
        for key in ("status", "summary", "counts", "metadata_changes", "changes"):
            assert step[key] == pair[key], (variant, key)
        previous = variant

    text = run(site, "history", "--url", site.url, "--archive", str(site.archive))
    assert text.returncode == 0, text.stderr
    positions = [text.stdout.index(site.ids[v]) for v in ORDER]
    assert positions == sorted(positions)
    assert "75,000 -> 7,500" in text.stdout


# --- --ignore ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("variant", "pattern"),
    [
        ("number-changed", r"an estimated [\d,]+ Ukrainian troops"),
        ("correction-appended", r"Correction, \w+ \d+, \d{4}: .*"),
    ],
)
def test_ignore_removes_a_planted_difference(site: Site, variant: str, pattern: str) -> None:
    assert diff_variant(site, variant)["status"] == "changed"
    report = diff_variant(site, variant, "--ignore", pattern)
    assert report["status"] == "unchanged", report["changes"]
    assert report["changes"] == report["number_changes"] == []
    assert report["settings"]["ignore"] == [pattern]
    # A pattern that matches nothing hides nothing.
    control = diff_variant(site, variant, "--ignore", r"Updated \d+ minutes ago")
    assert control["status"] == "changed" and len(control["changes"]) == 1
    text = diff_text(site, site.ids["original"], site.ids[variant], "--ignore", pattern)
    assert f"/{pattern}/" in text and "no change in the article" in text


# --- the HTML report in a real browser -----------------------------------------------


class _Links(HTMLParser):
    """Every src/href value, and whether a <script> or <link> element appears."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.urls += [v or "" for k, v in attrs if k in ("src", "href", "srcset", "action")]


def decode_png(data: bytes) -> tuple[int, int]:
    """Check the PNG chunk CRCs and inflate the image data; return (width, height)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        length, ctype = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert zlib.crc32(ctype + body) == crc, f"bad CRC in {ctype!r}"
        if ctype == b"IHDR":
            header = body
        elif ctype == b"IDAT":
            idat += body
        elif ctype == b"IEND":
            break
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[colour]
    assert interlace == 0
    raw = zlib.decompress(idat)
    assert len(raw) == height * (1 + (width * channels * depth + 7) // 8)
    return width, height


def _render(site: Site, variant: str, out: Path) -> str:
    proc = run(
        site,
        "diff",
        site.ids["original"],
        site.ids[variant],
        "--archive",
        str(site.archive),
        "--html",
        str(out),
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    return out.read_text(encoding="utf-8")


def test_html_report_shows_the_changes_in_chromium(
    site: Site, browser_path: Path, tmp_path: Path
) -> None:
    report_file = tmp_path / "number.html"
    source = _render(site, "number-changed", report_file)
    wall_file = tmp_path / "wall.html"
    _render(site, "consent-wall", wall_file)
    reason = diff_variant(site, "consent-wall")["b"]["extraction"]["reason"]

    links = _Links()
    links.feed(source)
    external = [u for u in links.urls if u.startswith(("http:", "https:", "//"))]
    assert external == [], "the report must be self-contained"
    assert "script" not in links.tags and "link" not in links.tags

    requested: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(browser_path), args=launch_args())
        try:
            page = browser.new_page()
            page.on("request", lambda r: requested.append(r.url))
            page.goto(report_file.as_uri())
            shown = page.inner_text("body")
            for needle in ("75,000", "7,500", site.ids["original"], site.ids["number-changed"]):
                assert needle in shown, needle
            assert "[-75,000-]" in shown and "{+7,500+}" in shown, "marks that print in B/W"
            for media in ("screen", "print"):
                page.emulate_media(media=media)
                deleted = page.eval_on_selector_all(
                    "del",
                    "els => els.map(e => [e.innerText, getComputedStyle(e).textDecorationLine])",
                )
                inserted = page.eval_on_selector_all(
                    "ins",
                    "els => els.map(e => [e.innerText, getComputedStyle(e).textDecorationLine])",
                )
                assert any("75,000" in t and "line-through" in d for t, d in deleted), deleted
                assert any("7,500" in t and "underline" in d for t, d in inserted), inserted
                assert all("line-through" in d for _, d in deleted), (media, deleted)
                assert all("underline" in d for _, d in inserted), (media, inserted)
            page.emulate_media(media="screen")
            shot = tmp_path / "report.png"
            page.screenshot(path=str(shot), full_page=True)
            width, height = decode_png(shot.read_bytes())
            assert width > 0 and height > 0

            page.goto(wall_file.as_uri())
            wall = page.inner_text("body")
            assert "extraction failed" in wall and reason in wall
            assert site.ids["consent-wall"] in wall
            marked = page.eval_on_selector_all(
                "del, ins", "els => els.filter(e => !e.closest('.note')).length"
            )
            assert marked == 0, "a failed extraction must not be drawn as deleted text"
        finally:
            browser.close()
    assert all(u.startswith(("file:", "data:")) for u in requested), requested


# --- bad input -----------------------------------------------------------------------


def _one_capture_archive(site: Site, root: Path) -> Path:
    archive = root / "single"
    (archive / "captures").mkdir(parents=True)
    shutil.copyfile(site.paths["original"], archive / "captures" / site.paths["original"].name)
    rebuilt = run(site, "index", "rebuild", "--archive", str(archive))
    assert rebuilt.returncode == 0, rebuilt.stderr
    return archive


@pytest.mark.parametrize(
    ("case", "code", "words"),
    [
        ("one capture given", 2, "two captures"),
        ("only one capture of the url", 1, "only one capture"),
        ("unknown id", 2, "20991231T000000Z-deadbeef"),
        ("not a package", 2, "notes.wacz"),
        ("text file", 2, "notes.txt"),
        ("damaged package", 2, "damaged.wacz"),
        ("bad ignore regex", 2, "--ignore"),
        ("history of an unknown url", 1, "no capture"),
    ],
)
def test_bad_input_gives_one_clear_line(
    site: Site, tmp_path: Path, case: str, code: int, words: str
) -> None:
    archive = ["--archive", str(site.archive)]
    original = site.ids["original"]
    if case == "one capture given":
        args = ["diff", original, *archive]
    elif case == "only one capture of the url":
        single = _one_capture_archive(site, tmp_path)
        args = ["diff", "--url", site.url, "--archive", str(single)]
    elif case == "unknown id":
        args = ["diff", "20991231T000000Z-deadbeef", original, *archive]
    elif case in ("not a package", "text file"):
        junk = tmp_path / ("notes.wacz" if case == "not a package" else "notes.txt")
        junk.write_text("meeting notes, not a capture\n", encoding="utf-8")
        args = ["diff", original, str(junk), *archive]
    elif case == "damaged package":
        junk = damaged_copy(site.paths["original"], tmp_path / "damaged.wacz")
        args = ["diff", str(junk), site.ids["number-changed"], *archive]
    elif case == "bad ignore regex":
        args = ["diff", original, site.ids["number-changed"], "--ignore", "(unclosed", *archive]
    else:
        args = ["history", "--url", site.url + "?nope", *archive]
    proc = run(site, *args)
    assert proc.returncode == code, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert words in lines[0], lines[0]
    assert proc.stdout == ""
