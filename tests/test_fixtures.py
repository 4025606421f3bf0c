"""The fixture site serves every route the capture, diff and benchmark tests rely on,
and each edited version of the article differs from the original by exactly its
declared edit."""

from __future__ import annotations

import gzip
import http.client
import re
import socket
import struct
import subprocess
import sys
import urllib.parse
import urllib.request
import zlib
from pathlib import Path

import lxml.html
import pytest

from fixtures import site
from fixtures.server import MIB, FixtureServer


def get(
    server: FixtureServer, path: str, *, method: str = "GET", gzip_ok: bool = False
) -> tuple[int, dict[str, str], bytes]:
    """One request without following redirects: status, headers (lower-case), raw body."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        headers = {"Accept-Encoding": "gzip, deflate"} if gzip_ok else {}
        conn.request(method, path, headers=headers)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def text_of(server: FixtureServer, path: str) -> str:
    status, _, body = get(server, path)
    assert status == 200, path
    return body.decode("utf-8")


def variant_path(server: FixtureServer, variant: str) -> str:
    return urllib.parse.urlsplit(server.variant_url(variant)).path


def story(html: str) -> tuple[str, str, list[str]]:
    """Headline, author and body paragraphs as a reader sees them in the served HTML."""
    doc = lxml.html.document_fromstring(html)
    headline = doc.xpath("string(//h1)").strip()
    author = doc.xpath("string(//a[@rel='author'])").strip()
    paras = [p.text_content().strip() for p in doc.xpath("//div[@class='article-body']//p")]
    return headline, author, paras


ROUTES = [
    ("/", 200, "text/html"),
    (site.ARTICLE_PATH, 200, "text/html"),
    ("/static/site.css", 200, "text/css"),
    ("/static/theme-v2.css", 200, "text/css"),
    ("/static/app.js", 200, "application/javascript"),
    (site.NOTE_PATH, 200, "application/json"),
    ("/img/lead-800.png", 200, "image/png"),
    ("/ads/slot.html?campaign=harbour-bank", 200, "text/html"),
    ("/ads/banner.png", 200, "image/png"),
    ("/track/pixel.gif?page=kursk-honour", 404, "text/html"),
    ("/status/404", 404, "text/html"),
    ("/status/500", 500, "text/html"),
    ("/doc.pdf", 200, "application/pdf"),
    ("/image.png", 200, "image/png"),
    ("/heavy/300mb.html?parts=10", 200, "text/html"),
    ("/no/such/page", 404, "text/html"),
]


@pytest.mark.parametrize(("path", "status", "mime"), ROUTES)
def test_route_answers_with_status_and_type(
    fixture_server: FixtureServer, path: str, status: int, mime: str
) -> None:
    got, headers, body = get(fixture_server, path)
    assert got == status
    assert headers["content-type"].startswith(mime)
    assert int(headers["content-length"]) == len(body) > 0


def test_every_resource_the_article_references_is_served(fixture_server: FixtureServer) -> None:
    doc = lxml.html.document_fromstring(text_of(fixture_server, site.ARTICLE_PATH))
    refs = set(doc.xpath("//link[@rel='stylesheet']/@href | //script/@src | //iframe/@src"))
    refs |= set(doc.xpath("//img/@src | //img/@data-src | //*[@data-src]/@data-src"))
    for srcset in doc.xpath("//img/@srcset"):
        refs |= {part.split()[0] for part in srcset.split(",")}
    refs = {r for r in refs if not r.startswith("data:")}
    statuses = {ref: get(fixture_server, ref)[0] for ref in refs}
    assert statuses.pop("/track/pixel.gif?page=kursk-honour") == 404
    assert statuses.pop("/static/theme.css") == 301
    assert set(statuses.values()) == {200}, statuses
    assert {"/img/lead-400.png", "/img/lead-1600.png", "/img/more-2.png"} <= set(statuses)
    assert doc.xpath("//img[@loading='lazy']"), "a natively lazy image"


def test_text_is_gzipped_only_when_accepted(fixture_server: FixtureServer) -> None:
    for path in (site.ARTICLE_PATH, "/static/site.css", "/static/app.js", site.NOTE_PATH):
        _, plain_headers, plain = get(fixture_server, path)
        _, headers, packed = get(fixture_server, path, gzip_ok=True)
        assert "content-encoding" not in plain_headers
        assert headers["content-encoding"] == "gzip"
        assert headers["vary"] == "Accept-Encoding"
        if path != site.ARTICLE_PATH:  # the article's noise counter is per request
            assert gzip.decompress(packed) == plain
    _, headers, _ = get(fixture_server, "/image.png", gzip_ok=True)
    assert "content-encoding" not in headers


def test_redirects(fixture_server: FixtureServer) -> None:
    status, headers, _ = get(fixture_server, "/moved")
    assert (status, headers["location"]) == (301, site.ARTICLE_PATH)
    status, headers, _ = get(fixture_server, "/static/theme.css")
    assert (status, headers["location"]) == (301, "/static/theme-v2.css")
    hops = []
    path = "/loop/0"
    for _ in range(4):
        status, headers, _ = get(fixture_server, path)
        assert status == 302
        path = headers["location"]
        hops.append(path)
    assert hops == ["/loop/1", "/loop/0", "/loop/1", "/loop/0"]


def test_hang_never_answers_and_server_survives(fixture_server: FixtureServer) -> None:
    with socket.create_connection(("127.0.0.1", fixture_server.port)) as sock:
        sock.sendall(b"GET /hang HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        sock.settimeout(1.0)
        with pytest.raises(TimeoutError):
            sock.recv(1)
    assert get(fixture_server, "/")[0] == 200


def test_big_streams_exact_size(fixture_server: FixtureServer) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", fixture_server.port, timeout=30)
    conn.request("GET", "/big/3mb.bin")
    resp = conn.getresponse()
    assert int(resp.getheader("Content-Length") or 0) == 3 * MIB
    total = 0
    while chunk := resp.read(256 * 1024):
        total += len(chunk)
    conn.close()
    assert total == 3 * MIB


def test_heavy_page_loads_the_requested_megabytes(fixture_server: FixtureServer) -> None:
    html = text_of(fixture_server, "/heavy/300mb.html?parts=6")
    urls = re.findall(r'"(/big/\d+mb\.bin\?part=\d+)"', html)
    assert len(urls) == 6
    sizes = [int(get(fixture_server, u, method="HEAD")[1]["content-length"]) for u in urls]
    assert sum(sizes) == 300 * MIB


def test_pdf_is_well_formed(fixture_server: FixtureServer) -> None:
    _, _, pdf = get(fixture_server, "/doc.pdf")
    assert pdf.startswith(b"%PDF-1.4") and pdf.rstrip().endswith(b"%%EOF")
    startxref = int(pdf.rsplit(b"startxref", 1)[1].split()[0])
    table = pdf[startxref:].split(b"trailer")[0].splitlines()[2:]
    offsets = [int(line.split()[0]) for line in table[1:]]
    for number, offset in enumerate(offsets, start=1):
        assert pdf[offset:].startswith(b"%d 0 obj" % number)


def test_png_is_well_formed(fixture_server: FixtureServer) -> None:
    _, _, png = get(fixture_server, "/img/lead-400.png")
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, {}
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        kind, data = png[pos + 4 : pos + 8], png[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", png[pos + 8 + length : pos + 12 + length])
        assert zlib.crc32(kind + data) == crc
        chunks[kind] = data
        pos += 12 + length
    width, height = struct.unpack(">II", chunks[b"IHDR"][:8])
    assert (width, height) == (400, 225)
    assert len(zlib.decompress(chunks[b"IDAT"])) == height * (1 + 3 * width)


def test_corpus_directory_is_served(tmp_path: Path) -> None:
    (tmp_path / "page-1").mkdir()
    (tmp_path / "page-1" / "source.html").write_text("<p>corpus page</p>", "utf-8")
    (tmp_path / "secret.txt").write_text("outside", "utf-8")
    with FixtureServer(corpus_dir=tmp_path) as server:
        status, headers, body = get(server, "/corpus/page-1/source.html")
        assert (status, body) == (200, b"<p>corpus page</p>")
        assert headers["content-type"].startswith("text/html")
        assert get(server, "/corpus/page-1/missing.html")[0] == 404
        assert get(server, "/corpus/page-1/../../etc/passwd")[0] == 404
        assert get(server, "/corpus/%2e%2e/secret.txt")[0] == 404


def test_original_article_carries_the_seed_text(fixture_server: FixtureServer) -> None:
    html = text_of(fixture_server, site.ARTICLE_PATH)
    headline, author, paras = story(html)
    assert headline == site.HEADLINE
    assert author == site.AUTHOR
    assert paras == list(site.PARAGRAPHS)
    assert site.EDITOR_NOTE not in html  # only the script adds it
    assert "<blockquote><p>A monument honoring" in html
    for needle in (site.CAPTION, site.SIDEBAR_TITLE, site.SCROLL_TOP, "application/ld+json"):
        assert needle in html
    assert "Russia – North Korea 2024 Trade &amp; Security Developments" in html
    assert '<time class="published" datetime="2025-04-28T09:30:00+00:00">' in html


BODY_REPLACEMENTS = ("number-changed", "word-changed")


@pytest.mark.parametrize("variant", [v for v in site.EDITS if site.EDITS[v].field != "page"])
def test_variant_differs_by_exactly_its_edit(fixture_server: FixtureServer, variant: str) -> None:
    edit = site.EDITS[variant]
    headline, author, paras = story(text_of(fixture_server, site.ARTICLE_PATH))
    v_headline, v_author, v_paras = story(
        text_of(
            fixture_server,
            fixture_server.variant_url(variant).removeprefix(fixture_server.base_url),
        )
    )
    base_text, new_text = "\n".join(paras), "\n".join(v_paras)
    if edit.field == "headline":
        assert (v_headline, v_author, v_paras) == (edit.new, author, paras)
        assert headline == edit.old
    elif edit.field == "byline":
        assert (v_headline, v_author, v_paras) == (headline, edit.new, paras)
        assert author == edit.old
    else:
        assert (v_headline, v_author) == (headline, author)
        if variant in BODY_REPLACEMENTS:
            assert base_text.count(edit.old) == 1
            assert new_text == base_text.replace(edit.old, edit.new)
        elif variant == "sentence-removed":
            assert edit.old in base_text and edit.old not in new_text
            assert new_text == base_text.replace(edit.old + " ", "")
        elif variant == "sentence-added":
            assert edit.new not in base_text
            assert new_text == base_text.replace(edit.after or "", f"{edit.after} {edit.new}")
        elif variant == "correction-appended":
            assert v_paras == [*paras, edit.new]
        elif variant == "paragraph-moved":
            assert sorted(v_paras) == sorted(paras) and v_paras != paras
            assert v_paras == [p for p in paras if p != edit.old] + [edit.old]
        else:
            pytest.fail(f"no check written for variant {variant}")


def test_set_variant_edits_the_same_url_silently(fixture_server: FixtureServer) -> None:
    url_path = site.ARTICLE_PATH
    with fixture_server.variant("number-changed"):
        assert "7,500 Ukrainian troops" in text_of(fixture_server, url_path)
        assert fixture_server.variant_name == "number-changed"
    assert "75,000 Ukrainian troops" in text_of(fixture_server, url_path)
    with pytest.raises(KeyError, match="unknown variant"):
        fixture_server.set_variant("no-such-edit")


def test_noise_changes_per_request_but_not_the_article(fixture_server: FixtureServer) -> None:
    path = variant_path(fixture_server, "noise-only")
    first, second = text_of(fixture_server, path), text_of(fixture_server, path)
    assert first != second
    assert story(first) == story(second) == story(text_of(fixture_server, site.ARTICLE_PATH))
    for html in (first, second):
        assert re.search(r"Updated \d+ minutes ago", html)
        assert re.search(r"[\d,]+ views", html)
    ads = {re.search(r"campaign=([a-z-]+)", h).group(1) for h in (first, second)}  # type: ignore[union-attr]
    assert len(ads) == 2


def test_consent_wall_has_no_article(fixture_server: FixtureServer) -> None:
    html = text_of(
        fixture_server, urllib.parse.urlsplit(fixture_server.variant_url("consent-wall")).path
    )
    _, author, paras = story(html)
    assert (author, paras) == ("", [])
    assert "Before you continue" in html
    assert site.PARAGRAPHS[0] not in html


def test_module_runs_in_the_foreground_and_prints_the_article_url() -> None:
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "fixtures.server", "--variant", "headline-reworded"],
        cwd=root,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:") and url.endswith(site.ARTICLE_PATH)
        with urllib.request.urlopen(url, timeout=30) as resp:
            assert site.NEW_HEADLINE in resp.read().decode("utf-8")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
