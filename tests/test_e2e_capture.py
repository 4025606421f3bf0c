"""End to end: ``archiver capture`` with real Chromium against the fixture site.

Every assertion reads what a user gets (exit codes, stdout/stderr lines, the ``.wacz``
file, the index as the CLI shows it), and the package is opened with independent
readers: ``zipfile``, a gzip-member walker written here, warcio, ``warcio check``,
``wacz validate`` and pywb. The fixture article is captured once per module.

Tests that capture are marked ``browser``; the refusals before any browser starts (a URL
that can never work, an unusable archive folder, a missing or failing browser) are not.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest
from replay import PywbReplay
from warcio.archiveiterator import ArchiveIterator

from archiver.capture.chromium import launch_args
from fixtures import media, pages, site
from fixtures.server import PDF_TEXT, FixtureServer

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SCRIPT = BIN / "archiver"
ARCHIVER = (
    [str(SCRIPT)]
    if SCRIPT.exists()
    else [sys.executable, "-c", "from archiver.cli import main; main()"]
)
WARC_MEMBER = "archive/data.warc.gz"
VIEWPORT_WIDTH = 1280
NOBODY = 65534


# --- running the command line ---------------------------------------------------------
@dataclass
class Run:
    code: int
    out: str
    err: str

    @property
    def err_lines(self) -> list[str]:
        return [line for line in self.err.splitlines() if line.strip()]

    @property
    def out_lines(self) -> list[str]:
        return [line for line in self.out.splitlines() if line.strip()]


def cli_env(config_home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARCHIVER_")}
    env["XDG_CONFIG_HOME"] = str(config_home)
    env.pop("ARCHIVER_KEY", None)
    env.update(extra)
    return env


def run_cli(
    args: list[str], env: dict[str, str], *, cwd: Path | None = None, timeout: float = 180
) -> Run:
    proc = subprocess.run(
        [*ARCHIVER, *args],
        env=env,
        cwd=cwd or Path(tempfile.gettempdir()),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# --- an independent WARC reader: one gzip member per record ----------------------------
@dataclass
class Rec:
    offset: int
    length: int
    version: str
    headers: dict[str, str]
    block: bytes
    http_status: int | None = None
    http_headers: list[tuple[str, str]] = field(default_factory=list)
    payload: bytes = b""

    def h(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def http_header(self, name: str) -> list[str]:
        return [v for k, v in self.http_headers if k.lower() == name.lower()]


def gunzip_member(data: bytes) -> tuple[bytes, int]:
    """Inflate the gzip member at the start of ``data``: (bytes, compressed length)."""
    inflater = zlib.decompressobj(wbits=31)
    out = inflater.decompress(data)
    if not inflater.eof:
        raise ValueError("truncated gzip member")
    return out, len(data) - len(inflater.unused_data)


def parse_record(raw: bytes, offset: int, length: int) -> Rec:
    head, sep, rest = raw.partition(b"\r\n\r\n")
    assert sep, f"record at {offset}: no end of WARC headers"
    lines = head.decode("utf-8").split("\r\n")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    size = int(headers["content-length"])
    block = rest[:size]
    assert len(block) == size and rest[size:] == b"\r\n\r\n", f"record at {offset}: bad block"
    rec = Rec(offset, length, lines[0], headers, block, payload=block)
    if headers.get("content-type", "").startswith("application/http"):
        http_head, _, payload = block.partition(b"\r\n\r\n")
        http_lines = http_head.decode("iso-8859-1").split("\r\n")
        if headers["warc-type"] == "response":
            rec.http_status = int(http_lines[0].split()[1])
        for line in http_lines[1:]:
            name, _, value = line.partition(":")
            rec.http_headers.append((name.strip(), value.strip()))
        rec.payload = payload
    return rec


def walk_warc(data: bytes) -> list[Rec]:
    records = []
    pos = 0
    view = memoryview(data)
    while pos < len(data):
        raw, used = gunzip_member(bytes(view[pos:]))
        records.append(parse_record(raw, pos, used))
        pos += used
    return records


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR, checking the signature and the chunk CRC."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG signature"
    length = int.from_bytes(data[8:12], "big")
    kind, body = data[12:16], data[16 : 16 + length]
    crc = int.from_bytes(data[16 + length : 20 + length], "big")
    assert kind == b"IHDR" and length == 13, "first chunk is not IHDR"
    assert zlib.crc32(kind + body) == crc, "IHDR CRC mismatch"
    return int.from_bytes(body[0:4], "big"), int.from_bytes(body[4:8], "big")


def sha256_label(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


# --- the package of one capture ---------------------------------------------------------
@dataclass
class Package:
    path: Path
    result: dict[str, Any]
    run: Run
    members: dict[str, bytes]
    infos: dict[str, zipfile.ZipInfo]
    records: list[Rec]

    def of_type(self, warc_type: str) -> list[Rec]:
        return [r for r in self.records if r.h("WARC-Type") == warc_type]

    def one(self, warc_type: str, uri: str) -> Rec:
        found = [r for r in self.of_type(warc_type) if r.h("WARC-Target-URI") == uri]
        assert len(found) == 1, f"{len(found)} {warc_type} records for {uri}"
        return found[0]

    def resource(self, kind: str) -> Rec:
        return self.one("resource", f"urn:{kind}:{self.result['final_url']}")

    def json_resource(self, kind: str) -> dict[str, Any]:
        doc: dict[str, Any] = json.loads(self.resource(kind).payload)
        return doc


def open_package(path: Path, result: dict[str, Any], run: Run) -> Package:
    with zipfile.ZipFile(path) as zf:
        infos = {i.filename: i for i in zf.infolist()}
        members = {name: zf.read(name) for name in infos}
    return Package(path, result, run, members, infos, walk_warc(members[WARC_MEMBER]))


def capture_json(
    urls: list[str], archive: Path, env: dict[str, str], *extra: str
) -> tuple[Run, list[dict[str, Any]]]:
    run = run_cli(
        ["capture", *urls, "--archive", str(archive), "--no-timestamp", "--json", *extra], env
    )
    assert run.code == 0, f"capture failed ({run.code}): {run.err}"
    return run, [json.loads(line) for line in run.out_lines]


@pytest.fixture(scope="module")
def config_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A throwaway XDG config home holding a signing key made by ``key generate``."""
    home = tmp_path_factory.mktemp("xdg")
    made = run_cli(["key", "generate"], cli_env(home))
    assert made.code == 0, made.err
    return home


@pytest.fixture(scope="module")
def env(config_home: Path) -> dict[str, str]:
    return cli_env(config_home)


@pytest.fixture(scope="module")
def archive_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("e2e") / "archive"


@pytest.fixture(scope="module")
def article(fixture_server: FixtureServer, archive_dir: Path, env: dict[str, str]) -> Package:
    """The fixture article, captured once for the whole module."""
    assert fixture_server.variant_name == "original"
    run, results = capture_json([fixture_server.article_url], archive_dir, env)
    assert len(results) == 1
    return open_package(Path(results[0]["path"]), results[0], run)


@pytest.fixture(scope="module")
def media_captures(
    fixture_server: FixtureServer, archive_dir: Path, env: dict[str, str]
) -> tuple[Run, dict[str, Package]]:
    """/doc.pdf and /image.png captured by one command (two JSON lines)."""
    urls = [fixture_server.url("/doc.pdf"), fixture_server.url("/image.png")]
    run, results = capture_json(urls, archive_dir, env)
    return run, {urlsplit(r["url"]).path: open_package(Path(r["path"]), r, run) for r in results}


def path_of(url: str | None) -> str:
    parts = urlsplit(url or "")
    return parts.path + (f"?{parts.query}" if parts.query else "")


# --- the article package ------------------------------------------------------------------
LEAD_IMAGES = ("/img/lead-400.png", "/img/lead-800.png", "/img/lead-1600.png")
EXPECTED = {
    site.ARTICLE_PATH: 200,
    "/static/site.css": 200,
    "/static/theme.css": 301,
    "/static/theme-v2.css": 200,
    "/static/app.js": 200,
    site.NOTE_PATH: 200,
    "/img/logo.png": 200,
    "/img/more-1.png": 200,  # loading="lazy", far below the fold
    "/img/more-2.png": 200,  # IntersectionObserver data-src, far below the fold
    "/track/pixel.gif?page=kursk-honour": 404,
    "/ads/slot.html?campaign=meridian-air": 200,
    "/ads/banner.png": 200,  # inside the ad iframe
}


@pytest.mark.browser
def test_every_resource_has_a_response_and_a_request(article: Package) -> None:
    responses = {path_of(r.h("WARC-Target-URI")): r for r in article.of_type("response")}
    requests = {path_of(r.h("WARC-Target-URI")) for r in article.of_type("request")}
    for path, status in EXPECTED.items():
        assert path in responses, f"no response record for {path}"
        assert path in requests, f"no request record for {path}"
        assert responses[path].http_status == status, path
    lead = [p for p in LEAD_IMAGES if p in responses]
    assert lead, "the srcset lead image was not recorded"
    for path in lead:
        assert responses[path].payload == pages.images()[path]
    for path in ("/img/logo.png", "/img/more-1.png", "/img/more-2.png", "/ads/banner.png"):
        assert responses[path].payload == pages.images()[path], path
    assert responses["/static/site.css"].payload == pages.SITE_CSS.encode()
    assert responses["/static/theme-v2.css"].payload == pages.THEME_CSS.encode()
    assert responses["/static/app.js"].payload == pages.APP_JS.encode()
    assert responses[site.NOTE_PATH].payload == pages.editor_note_json().encode()
    assert site.AD_TEXT in responses["/ads/slot.html?campaign=meridian-air"].payload.decode()


@pytest.mark.browser
def test_redirect_hop_keeps_its_location(article: Package) -> None:
    hop = article.one(
        "response", article.result["final_url"].replace(site.ARTICLE_PATH, "/static/theme.css")
    )
    assert hop.http_status == 301
    locations = hop.http_header("Location")
    assert len(locations) == 1 and locations[0].endswith("/static/theme-v2.css")


@pytest.mark.browser
def test_responses_and_requests_point_at_each_other(article: Package) -> None:
    by_id = {r.h("WARC-Record-ID"): r for r in article.records}
    responses = article.of_type("response")
    assert len(responses) == len(article.of_type("request"))
    for resp in responses:
        req = by_id.get(resp.h("WARC-Concurrent-To"))
        assert req is not None and req.h("WARC-Type") == "request", resp.h("WARC-Target-URI")
        assert req.h("WARC-Target-URI") == resp.h("WARC-Target-URI")
        assert req.h("WARC-Concurrent-To") == resp.h("WARC-Record-ID")


@pytest.mark.browser
def test_records_are_warc_1_1_with_one_page_id_and_right_sha256_digests(article: Package) -> None:
    page_ids = {r.h("WARC-Page-ID") for r in article.records}
    assert len(page_ids) == 1 and None not in page_ids
    for rec in article.records:
        where = f"{rec.h('WARC-Type')} {rec.h('WARC-Target-URI')}"
        assert rec.version == "WARC/1.1", where
        assert rec.h("WARC-Block-Digest") == sha256_label(rec.block), where
        if rec.h("WARC-Type") != "warcinfo":
            assert rec.h("WARC-Payload-Digest") == sha256_label(rec.payload), where


@pytest.mark.browser
def test_warcio_reads_the_same_records(article: Package) -> None:
    seen = []
    with zipfile.ZipFile(article.path) as zf, zf.open(WARC_MEMBER) as fh:
        it = ArchiveIterator(fh)
        for record in it:
            record.content_stream().read()
            seen.append((it.get_record_offset(), record.rec_headers.get_header("WARC-Record-ID")))
    assert seen == [(r.offset, r.h("WARC-Record-ID")) for r in article.records]


@pytest.mark.browser
def test_warcio_check_passes(article: Package, tmp_path: Path) -> None:
    warc = tmp_path / "data.warc.gz"
    warc.write_bytes(article.members[WARC_MEMBER])
    check = subprocess.run(
        [str(BIN / "warcio"), "check", "-v", str(warc)], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.count("digest pass") >= len(article.records) - 1
    assert "fail" not in check.stdout and "not present" not in check.stdout


@pytest.mark.browser
def test_warc_is_stored_in_the_zip(article: Package) -> None:
    assert article.infos[WARC_MEMBER].compress_type == zipfile.ZIP_STORED
    data = article.path.read_bytes()
    start = article.infos[WARC_MEMBER].header_offset
    # the bytes of the member sit in the zip as-is, so a reader can seek into them
    assert article.members[WARC_MEMBER][:4096] in data[start : start + 4096 + 1024]


@pytest.mark.browser
def test_every_cdxj_line_points_at_the_record_it_names(article: Package) -> None:
    warc = article.members[WARC_MEMBER]
    lines = article.members["indexes/index.cdxj"].decode().splitlines()
    assert lines == sorted(lines)
    indexed = set()
    for line in lines:
        _key, _ts, raw = line.split(" ", 2)
        entry = json.loads(raw)
        offset, length = int(entry["offset"]), int(entry["length"])
        assert entry["filename"] == "data.warc.gz"
        record_bytes, used = gunzip_member(warc[offset : offset + length])
        assert used == length, f"{entry['url']}: length is not one whole gzip member"
        rec = parse_record(record_bytes, offset, length)
        assert rec.h("WARC-Target-URI") == entry["url"]
        assert rec.h("WARC-Payload-Digest") == entry["digest"]
        indexed.add(entry["url"])
    for rec in article.of_type("response") + article.of_type("resource"):
        assert rec.h("WARC-Target-URI") in indexed, f"{rec.h('WARC-Target-URI')} not in CDXJ"


def scroll_height(browser_path: Path, url: str) -> int:
    """The document's scroll height in our own Chromium at the capture's viewport."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(browser_path), args=launch_args())
        try:
            page = browser.new_page(viewport={"width": VIEWPORT_WIDTH, "height": 800})
            page.goto(url, wait_until="networkidle")
            height: int = page.evaluate("document.documentElement.scrollHeight")
            return height
        finally:
            browser.close()


@pytest.mark.browser
def test_screenshot_is_a_full_page_png(article: Package, browser_path: Path) -> None:
    shot = article.resource("screenshot")
    assert shot.h("Content-Type") == "image/png"
    width, height = png_size(shot.payload)
    assert width == VIEWPORT_WIDTH
    assert height > 2000, f"{height} px is not the full page (the fixture is > 2000 px tall)"
    document = scroll_height(browser_path, article.result["final_url"])
    assert height >= document, f"screenshot {height} px < document scroll height {document} px"


@pytest.mark.browser
def test_dom_record_holds_the_script_inserted_paragraph(article: Package) -> None:
    dom = article.resource("dom").payload.decode("utf-8")
    served = article.one("response", article.result["final_url"]).payload.decode("utf-8")
    assert site.EDITOR_NOTE in dom
    assert site.EDITOR_NOTE not in served  # only the script put it there


@pytest.mark.browser
def test_text_record_has_the_article_and_nothing_else(article: Package) -> None:
    doc = article.json_resource("text")
    schema = json.loads((ROOT / "schemas" / "text.schema.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(doc)
    art = doc["article"]
    assert art is not None and doc["reason"] is None
    assert art["title"] == site.HEADLINE
    text = art["text"]
    positions = [text.find(p) for p in site.PARAGRAPHS]
    assert -1 not in positions, "a body paragraph is missing"
    assert positions == sorted(positions), "body paragraphs out of order"
    for furniture in (site.SIDEBAR_TITLE, site.RELATED_LINK, site.AD_TEXT, site.SCROLL_TOP):
        assert furniture not in text, furniture


@pytest.mark.browser
def test_pageinfo_and_provenance_records(article: Package) -> None:
    final = article.result["final_url"]
    info = article.json_resource("pageinfo")
    loaded = {path_of(r["url"]) for r in info["resources"]}
    assert set(EXPECTED) <= loaded
    prov_rec = article.one("metadata", f"urn:provenance:{final}")
    assert prov_rec.h("Content-Type") == "application/json"
    main = article.one("response", final)
    assert prov_rec.h("WARC-Refers-To") == main.h("WARC-Record-ID")
    prov = json.loads(prov_rec.payload)
    assert prov["requested_url"] == article.result["url"]
    assert prov["final_url"] == final
    assert prov["status"] == 200
    assert prov["server_ip"] == "127.0.0.1"


@pytest.mark.browser
def test_gzip_responses_are_stored_decoded_with_headers_that_say_so(article: Package) -> None:
    decoded = [
        r for r in article.of_type("response") if r.http_header("X-Archiver-Orig-Content-Encoding")
    ]
    paths = {path_of(r.h("WARC-Target-URI")) for r in decoded}
    # the fixture server gzips every text response the browser accepts gzip for
    assert {site.ARTICLE_PATH, "/static/site.css", "/static/app.js", site.NOTE_PATH} <= paths
    for rec in decoded:
        where = rec.h("WARC-Target-URI")
        assert rec.http_header("X-Archiver-Orig-Content-Encoding") == ["gzip"], where
        assert rec.http_header("Content-Encoding") == [], where
        assert rec.http_header("Content-Length") == [str(len(rec.payload))], where
        assert not rec.payload.startswith(b"\x1f\x8b"), where
    request = article.one("request", article.result["final_url"])
    assert "gzip" in ",".join(request.http_header("Accept-Encoding"))


@pytest.mark.browser
def test_requests_carry_the_browser_user_agent_named_in_warcinfo(article: Package) -> None:
    (info,) = article.of_type("warcinfo")
    fields = dict(
        line.split(": ", 1) for line in info.block.decode("utf-8").splitlines() if ": " in line
    )
    agent = fields["http-header-user-agent"]
    assert "Chrome" in agent and "browser" in fields
    for req in article.of_type("request"):
        assert req.http_header("User-Agent") == [agent], req.h("WARC-Target-URI")


@pytest.mark.browser
def test_pages_jsonl(article: Package) -> None:
    header, page, *rest = article.members["pages/pages.jsonl"].decode().splitlines()
    assert rest == []
    assert json.loads(header)["format"] == "json-pages-1.0"
    entry = json.loads(page)
    assert entry["url"] == article.result["final_url"]
    assert entry["title"] == site.HEADLINE
    assert entry["ts"].startswith(article.result["started"][:10])
    assert entry["id"]


@pytest.mark.browser
def test_datapackage_lists_every_member_with_its_hash_and_size(article: Package) -> None:
    dp_bytes = article.members["datapackage.json"]
    dp = json.loads(dp_bytes)
    listed = {r["path"]: (r["hash"], r["bytes"]) for r in dp["resources"]}
    others = set(article.members) - {"datapackage.json", "datapackage-digest.json"}
    assert set(listed) == others
    for name in others:
        data = article.members[name]
        assert listed[name] == (sha256_label(data), len(data)), name
    digest = json.loads(article.members["datapackage-digest.json"])
    assert digest["path"] == "datapackage.json"
    assert digest["hash"] == sha256_label(dp_bytes)
    assert dp["mainPageURL"] == article.result["final_url"]


@pytest.mark.browser
def test_wacz_validate_passes(article: Package) -> None:
    check = subprocess.run(
        [str(BIN / "wacz"), "validate", "-f", str(article.path)], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert "succeeded" in check.stdout + check.stderr


@pytest.mark.browser
def test_package_sha256_is_the_file_hash(article: Package) -> None:
    assert article.result["package_sha256"] == hashlib.sha256(article.path.read_bytes()).hexdigest()
    assert article.path.parent.name == "captures"
    assert article.path.name == f"{article.result['id']}.wacz"


# --- stdout and stderr ----------------------------------------------------------------------
@pytest.mark.browser
def test_json_prints_only_json_on_stdout(article: Package) -> None:
    assert len(article.run.out_lines) == 1
    doc = json.loads(article.run.out_lines[0])
    assert doc["ok"] is True and doc["status"] == 200
    for line in article.run.err_lines:
        assert line.startswith("archiver: "), line


@pytest.mark.browser
def test_two_urls_give_two_json_lines(media_captures: tuple[Run, dict[str, Package]]) -> None:
    run, _ = media_captures
    assert len(run.out_lines) == 2  # in completion order: two workers by default
    assert sorted(urlsplit(json.loads(x)["url"]).path for x in run.out_lines) == [
        "/doc.pdf",
        "/image.png",
    ]
    for line in run.err_lines:
        assert line.startswith("archiver: ") and not line.startswith("{"), line


@pytest.mark.browser
def test_one_bad_url_among_several_gives_an_error_line_and_exit_1(
    fixture_server: FixtureServer, tmp_archive: Path, env: dict[str, str]
) -> None:
    good, bad = fixture_server.url("/image.png"), f"http://127.0.0.1:{free_port()}/"
    run = capture_fails(good, tmp_archive, env, bad)
    assert run.code == 1, run.err
    assert "Traceback" not in run.err
    docs = [json.loads(line) for line in run.out_lines]
    by_url = {d["url"]: d for d in docs}  # in completion order: two workers by default
    assert len(docs) == 2 and by_url[good]["ok"] and not by_url[bad]["ok"]
    assert "refused" in by_url[bad]["error"]
    assert [p.stem for p in (tmp_archive / "captures").glob("*.wacz")] == [by_url[good]["id"]]


@pytest.mark.browser
def test_main_document_redirect_is_recorded_hop_by_hop(
    fixture_server: FixtureServer, tmp_archive: Path, env: dict[str, str]
) -> None:
    moved = fixture_server.url("/moved")
    run, (result,) = capture_json([moved], tmp_archive, env)
    assert result["url"] == moved and result["final_url"] == fixture_server.article_url
    pkg = open_package(Path(result["path"]), result, run)
    hop = pkg.one("response", moved)
    assert hop.http_status == 301
    assert [urlsplit(x).path for x in hop.http_header("Location")] == [site.ARTICLE_PATH]
    assert pkg.one("response", fixture_server.article_url).http_status == 200
    prov = json.loads(pkg.one("metadata", f"urn:provenance:{result['final_url']}").payload)
    assert (prov["requested_url"], prov["final_url"]) == (moved, fixture_server.article_url)
    assert prov["status"] == 200
    shown = run_cli(["show", result["id"], "--archive", str(tmp_archive), "--json"], env)
    entry = json.loads(shown.out)
    assert (entry["url"], entry["final_url"], entry["status"]) == (
        moved,
        fixture_server.article_url,
        200,
    )


# --- the index -------------------------------------------------------------------------------
def list_json(archive: Path, env: dict[str, str]) -> list[dict[str, Any]]:
    run = run_cli(["list", "--archive", str(archive), "--json"], env)
    assert run.code == 0, run.err
    return [json.loads(line) for line in run.out_lines]


@pytest.mark.browser
def test_list_and_show_agree_with_the_package(
    article: Package, archive_dir: Path, env: dict[str, str]
) -> None:
    entries = {e["id"]: e for e in list_json(archive_dir, env)}
    entry = entries[article.result["id"]]
    shown = run_cli(["show", article.result["id"], "--archive", str(archive_dir), "--json"], env)
    assert shown.code == 0, shown.err
    assert json.loads(shown.out) == entry
    assert entry["package_sha256"] == hashlib.sha256(article.path.read_bytes()).hexdigest()
    assert entry["title"] == json.loads(article.members["datapackage.json"])["title"]
    assert entry["title"] == site.HEADLINE
    assert entry["status"] == 200
    prov = json.loads(
        article.one("metadata", f"urn:provenance:{article.result['final_url']}").payload
    )
    assert entry["final_url"] == prov["final_url"]
    assert entry["url"] == prov["requested_url"]


@pytest.mark.browser
def test_index_rebuild_gives_the_same_list(
    article: Package,
    media_captures: tuple[Run, dict[str, Package]],
    archive_dir: Path,
    env: dict[str, str],
    tmp_path: Path,
) -> None:
    before = list_json(archive_dir, env)
    assert len(before) >= 3
    copy = tmp_path / "copy"
    shutil.copytree(archive_dir / "captures", copy / "captures")  # the packages, no index
    rebuilt = run_cli(["index", "rebuild", "--archive", str(copy)], env)
    assert rebuilt.code == 0, rebuilt.err
    assert list_json(copy, env) == before


@pytest.mark.browser
def test_two_captures_at_once_into_one_archive(
    fixture_server: FixtureServer, tmp_archive: Path, env: dict[str, str]
) -> None:
    urls = [fixture_server.url("/"), fixture_server.url("/image.png")]
    procs = [
        subprocess.Popen(
            [*ARCHIVER, "capture", url, "--archive", str(tmp_archive), "--no-timestamp", "--json"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for url in urls
    ]
    outputs = [p.communicate(timeout=180) for p in procs]
    for proc, (_out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
    ids = {json.loads(out)["id"] for out, _ in outputs}
    assert len(ids) == 2
    assert {e["id"] for e in list_json(tmp_archive, env)} == ids
    assert {p.stem for p in (tmp_archive / "captures").glob("*.wacz")} == ids


# --- error pages and non-HTML documents ---------------------------------------------------
@pytest.mark.browser
@pytest.mark.parametrize("code", [404, 500])
def test_error_status_page_is_captured_with_a_warning(
    code: int, fixture_server: FixtureServer, tmp_archive: Path, env: dict[str, str]
) -> None:
    run = run_cli(
        [
            "capture",
            fixture_server.url(f"/status/{code}"),
            "--archive",
            str(tmp_archive),
            "--no-timestamp",
            "--json",
        ],
        env,
    )
    assert run.code == 0, run.err
    assert any("warning" in line and f"HTTP {code}" in line for line in run.err_lines), run.err
    result = json.loads(run.out)
    assert result["status"] == code
    pkg = open_package(Path(result["path"]), result, run)
    assert pkg.one("response", result["final_url"]).http_status == code
    shown = run_cli(["show", result["id"], "--archive", str(tmp_archive), "--json"], env)
    assert json.loads(shown.out)["status"] == code


@pytest.mark.browser
@pytest.mark.parametrize(
    ("path", "served"),
    [("/doc.pdf", media.pdf(PDF_TEXT)), ("/image.png", pages.images()["/image.png"])],
)
def test_non_html_document_is_captured_as_its_response(
    path: str, served: bytes, media_captures: tuple[Run, dict[str, Package]]
) -> None:
    pkg = media_captures[1][path]
    main = pkg.one("response", pkg.result["final_url"])
    assert main.http_status == 200
    assert main.payload == served
    doc = pkg.json_resource("text")
    assert doc["article"] is None
    assert "not an article" in doc["reason"]


# --- bad input: one line, the right exit code, nothing left behind ----------------------
def assert_clean_failure(run: Run, code: int, archive: Path, *needles: str) -> None:
    assert run.code == code, f"exit {run.code}, stderr: {run.err}"
    assert "Traceback" not in run.err
    assert len(run.err_lines) == 1, f"expected one line on stderr, got: {run.err!r}"
    line = run.err_lines[0]
    for needle in needles:
        assert needle in line, f"{needle!r} not in {line!r}"
    assert run.out == ""
    if archive.is_dir():
        leftovers = [p for p in archive.rglob("*") if p.name.endswith((".wacz", ".tmp"))]
        assert leftovers == [], leftovers
        names = {p.name for p in archive.iterdir()}
        assert names <= {"captures", "index.sqlite3", "index.sqlite3-wal", "index.sqlite3-shm"}
        if (archive / "captures").is_dir():
            assert list((archive / "captures").iterdir()) == []


@pytest.mark.parametrize(
    ("url", "needle"),
    [
        ("http://exa mple.com", "malformed"),
        ("http://", "malformed"),
        ("file:///etc/passwd", "file:"),
        ("javascript:alert(1)", "javascript:"),
        ("data:text/html,hello", "data:"),
    ],
)
def test_url_that_can_never_work_exits_2(
    url: str, needle: str, tmp_archive: Path, env: dict[str, str]
) -> None:
    run = run_cli(["capture", url, "--archive", str(tmp_archive), "--no-timestamp", "--json"], env)
    assert_clean_failure(run, 2, tmp_archive, needle)


def capture_fails(
    url: str, archive: Path, env: dict[str, str], *extra: str, timeout: float = 120
) -> Run:
    return run_cli(
        ["capture", url, "--archive", str(archive), "--no-timestamp", "--json", *extra],
        env,
        timeout=timeout,
    )


@pytest.mark.browser
def test_host_that_does_not_resolve(tmp_archive: Path, env: dict[str, str]) -> None:
    run = capture_fails("http://does-not-exist.invalid/", tmp_archive, env)
    assert_clean_failure(run, 1, tmp_archive, "does-not-exist.invalid", "resolve")


@pytest.mark.browser
def test_connection_refused(tmp_archive: Path, env: dict[str, str]) -> None:
    url = f"http://127.0.0.1:{free_port()}/"
    run = capture_fails(url, tmp_archive, env)
    assert_clean_failure(run, 1, tmp_archive, url, "refused")


@pytest.mark.browser
def test_server_that_never_answers(
    fixture_server: FixtureServer, tmp_archive: Path, env: dict[str, str]
) -> None:
    url = fixture_server.url("/hang")
    run = capture_fails(url, tmp_archive, env, "--timeout", "3", timeout=60)
    assert_clean_failure(run, 1, tmp_archive, url, "3 s")


@pytest.mark.browser
def test_redirect_loop(
    fixture_server: FixtureServer, tmp_archive: Path, env: dict[str, str]
) -> None:
    run = capture_fails(fixture_server.url("/loop/0"), tmp_archive, env)
    assert_clean_failure(run, 1, tmp_archive, "redirect loop", "/loop/")


def test_archive_path_is_a_file(
    fixture_server: FixtureServer, tmp_path: Path, env: dict[str, str]
) -> None:
    target = tmp_path / "not-a-folder"
    target.write_text("x")
    run = capture_fails(fixture_server.article_url, target, env)
    assert_clean_failure(run, 1, target, str(target))
    assert target.read_text() == "x"


def run_as_nobody(args: list[str], env: dict[str, str], workdir: Path) -> Run:
    """Run the CLI in a forked child that dropped root (os.setuid) before ``main``.

    The interpreter lives under /root, which nobody may read: so the child does not
    exec, it calls ``archiver.cli.main`` with everything it needs already imported.
    """
    for module in ("archiver.archive.index", "archiver.capture.run", "archiver.proof.signing"):
        importlib.import_module(module)  # before the fork: the child cannot read them
    from archiver.cli import main

    out_path, err_path = workdir / "out", workdir / "err"
    pid = os.fork()
    if pid == 0:  # child
        code = 99
        try:
            with out_path.open("wb") as out, err_path.open("wb") as err:
                os.dup2(out.fileno(), 1)
                os.dup2(err.fileno(), 2)
            # pytest swapped sys.stdout/err for its own capture: point them at fds 1 and 2
            sys.stdout = open(1, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
            sys.stderr = open(2, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            os.environ.clear()
            os.environ.update(env)
            try:
                main(args)
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return Run(os.waitstatus_to_exitcode(status), out_path.read_text(), err_path.read_text())


def test_archive_folder_not_writable(fixture_server: FixtureServer, env: dict[str, str]) -> None:
    base = Path(tempfile.mkdtemp(prefix="archiver-e2e-"))
    try:
        base.chmod(0o755)
        archive = base / "archive"
        archive.mkdir(mode=0o555)
        archive.chmod(0o555)
        args = [
            "capture",
            fixture_server.article_url,
            "--archive",
            str(archive),
            "--no-timestamp",
            "--json",
        ]
        if os.geteuid() == 0:
            run = run_as_nobody(args, {**env, "XDG_CONFIG_HOME": str(base / "cfg")}, base)
        else:
            run = run_cli(args, env)
        assert_clean_failure(run, 1, archive, str(archive))
        assert list(archive.iterdir()) == []
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_browser_that_fails_to_start(
    fixture_server: FixtureServer, tmp_archive: Path, config_home: Path
) -> None:
    env = cli_env(config_home, ARCHIVER_BROWSER="/bin/false")
    run = capture_fails(fixture_server.article_url, tmp_archive, env)
    assert_clean_failure(run, 1, tmp_archive, "/bin/false")
    assert "browser" in run.err.lower()


def test_missing_browser(
    fixture_server: FixtureServer, tmp_archive: Path, config_home: Path
) -> None:
    env = cli_env(config_home, ARCHIVER_BROWSER="/nonexistent")
    run = capture_fails(fixture_server.article_url, tmp_archive, env)
    assert_clean_failure(run, 1, tmp_archive, "ARCHIVER_BROWSER", "/nonexistent")


# --- replay ---------------------------------------------------------------------------------------
@pytest.mark.browser
def test_pywb_replays_the_article_and_its_images(article: Package, tmp_path: Path) -> None:
    final = article.result["final_url"]
    base = final.replace(site.ARTICLE_PATH, "")
    main = article.one("response", final)
    images = [
        p
        for p in ("/img/logo.png", "/img/more-1.png", "/img/more-2.png", *LEAD_IMAGES)
        if any(path_of(r.h("WARC-Target-URI")) == p for r in article.of_type("response"))
    ]
    with PywbReplay(article.path, tmp_path) as replay:
        status, _headers, body = replay.fetch(final)
        assert status == 200
        assert body == main.payload
        for path in images:
            status, _headers, body = replay.fetch(base + path)
            assert status == 200, path
            assert body == pages.images()[path], path
