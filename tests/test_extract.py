"""Article extraction on the fixture news page, as Chromium rendered it: the reader's
article (headline, byline, dates, every paragraph, the paragraph a script inserted)
and nothing of the site around it; non-HTML and article-less pages say why.

Tests of the rendered page are marked ``browser``; those on HTML as served or written
here need no browser."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from playwright.sync_api import sync_playwright

from archiver.capture.chromium import launch_args
from archiver.errors import SchemaError
from archiver.extract import MAX_ELEMENTS, SETTINGS, extract
from archiver.schema import load_schema, validate
from fixtures import site
from fixtures.server import FixtureServer


def served(url: str) -> tuple[bytes, str]:
    """Body and Content-Type of ``url`` as the server sends it."""
    with urllib.request.urlopen(url, timeout=30) as resp:
        return resp.read(), resp.headers["Content-Type"]


@pytest.fixture(scope="module")
def rendered(fixture_server: FixtureServer, browser_path: Path) -> Iterator[dict[str, str]]:
    """The DOM of the original article and of the noise-only variant after scripts ran."""
    doms = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(browser_path), args=launch_args())
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            for name, url in (
                ("original", fixture_server.article_url),
                ("noise-only", fixture_server.variant_url("noise-only")),
            ):
                page.goto(url, wait_until="load")
                page.wait_for_selector("#editor-note p")  # the fetch() paragraph is in
                doms[name] = page.content()
        finally:
            browser.close()
    yield doms


@pytest.fixture(scope="module")
def doc(rendered: dict[str, str], fixture_server: FixtureServer) -> dict[str, Any]:
    return extract(rendered["original"], fixture_server.article_url)


def paragraphs(document: dict[str, Any]) -> list[str]:
    text: str = document["article"]["text"]
    return text.split("\n\n")


@pytest.mark.browser
def test_metadata_of_the_rendered_article(doc: dict[str, Any]) -> None:
    article = doc["article"]
    assert article["title"] == site.HEADLINE
    assert article["byline"] == site.AUTHOR
    assert article["published"] == "2025-04-28T09:30:00+00:00"
    assert article["modified"] == "2025-04-28T14:05:00+00:00"
    assert article["site_name"] == site.SITE_NAME
    assert doc["reason"] is None


@pytest.mark.browser
def test_every_paragraph_and_the_script_inserted_one(doc: dict[str, Any]) -> None:
    paras = paragraphs(doc)
    for para in site.PARAGRAPHS:  # typographic quotes and all, each its own paragraph
        assert para in paras
    assert paras.index(site.PARAGRAPHS[0]) < paras.index(site.PARAGRAPHS[-1])
    assert site.EDITOR_NOTE in paras
    assert doc["article"]["text"] == site.article("original").text()


@pytest.mark.browser
def test_no_site_furniture_in_the_article(doc: dict[str, Any]) -> None:
    text = doc["article"]["text"]
    for furniture in (
        site.SIDEBAR_TITLE,
        site.RELATED_LINK,
        site.SCROLL_TOP,
        site.AD_TEXT,
        "Advertisement",
        "Most read",
        "More from World",
        "Updated 3 hours ago",
        "All rights reserved",
        "Politics",
    ):
        assert furniture not in text


@pytest.mark.browser
def test_page_text_holds_the_visible_page_not_scripts(doc: dict[str, Any]) -> None:
    lines = doc["page_text"].split("\n")
    for visible in (site.HEADLINE, site.SIDEBAR_TITLE, site.RELATED_LINK, site.SCROLL_TOP):
        assert visible in lines
    assert site.PARAGRAPHS[3] in lines and site.EDITOR_NOTE in lines
    assert "IntersectionObserver" not in doc["page_text"]  # no script source
    assert "NewsArticle" not in doc["page_text"]  # no JSON-LD
    assert site.AD_TEXT not in doc["page_text"]  # the ad lives in its own iframe document


@pytest.mark.browser
def test_noise_does_not_change_the_article(
    rendered: dict[str, str], doc: dict[str, Any], fixture_server: FixtureServer
) -> None:
    noisy = extract(rendered["noise-only"], fixture_server.article_url)
    assert noisy["article"] == doc["article"]
    assert noisy["page_text"] != doc["page_text"]


@pytest.mark.parametrize("variant", [v for v in site.EDITS if site.EDITS[v].field != "page"])
def test_each_edit_shows_in_the_extracted_article(
    fixture_server: FixtureServer, variant: str
) -> None:
    html, _ = served(fixture_server.variant_url(variant))
    article = extract(html.decode("utf-8"), fixture_server.article_url)["article"]
    expected = site.article(variant)
    assert article["title"] == expected.headline
    assert article["byline"] == expected.author
    assert article["text"] == expected.text(rendered=False)  # no script ran here


def test_pdf_is_not_an_article(fixture_server: FixtureServer) -> None:
    body, content_type = served(fixture_server.url("/doc.pdf"))
    result = extract(body.decode("latin-1"), fixture_server.url("/doc.pdf"), mime_type=content_type)
    assert result["article"] is None
    assert result["reason"] == "not an article: application/pdf"
    assert result["page_text"] == ""


def test_consent_wall_gives_no_article_and_says_why(fixture_server: FixtureServer) -> None:
    url = fixture_server.variant_url("consent-wall")
    html, content_type = served(url)
    result = extract(html.decode("utf-8"), url, mime_type=content_type)
    assert result["article"] is None
    assert result["reason"].startswith("no article found")
    assert "Before you continue" in result["page_text"]


def test_empty_page_gives_no_article() -> None:
    for html in ("", "<html><body></body></html>"):
        result = extract(html, "http://127.0.0.1/empty")
        assert result["article"] is None
        assert result["reason"].startswith("no article found")


@pytest.mark.browser
def test_same_input_same_output(rendered: dict[str, str], fixture_server: FixtureServer) -> None:
    first = extract(rendered["original"], fixture_server.article_url)
    second = extract(rendered["original"], fixture_server.article_url)
    assert json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)


@pytest.mark.browser
def test_document_names_its_schema_and_extractor(doc: dict[str, Any]) -> None:
    assert doc["schema"] == "https://archiver.dev/schemas/text.schema.json"
    assert load_schema("text.schema.json")["$id"] == doc["schema"]
    jsonschema.Draft202012Validator.check_schema(load_schema("text.schema.json"))
    assert doc["extractor"] == {
        "name": "trafilatura",
        "version": version("trafilatura"),
        "settings": {**SETTINGS, "max_elements": MAX_ELEMENTS},
    }
    # the clock-dependent htmldate ceiling is pinned, so output never depends on today
    assert SETTINGS["date_extraction_params"]["max_date"] == "2100-12-31"


@pytest.mark.browser
def test_schema_rejects_an_article_less_document_without_reason(doc: dict[str, Any]) -> None:
    broken = {**doc, "article": None, "reason": None}
    with pytest.raises(SchemaError, match="reason"):
        validate(broken, "text.schema.json")
    with pytest.raises(SchemaError):
        validate({**doc, "reason": "no article found"}, "text.schema.json")


def test_subheadings_and_lists_are_paragraphs_headline_is_not() -> None:
    para = (
        "Paragraph {} of the report says something substantial about the harbour works and "
        "their cost to the town, which rose again this year."
    )
    body = "".join(f"<p>{para.format(i)}</p>" for i in range(4))
    html = (
        "<html><head><title>Harbour works overrun | Town Post</title></head><body>"
        f"<nav>Home News</nav><article><h1>Harbour works overrun</h1>{body}"
        "<h2>What the council said</h2><p>The council said<br>it would publish the accounts."
        f"</p><ul><li>first point</li><li>second point</li></ul>{body}</article>"
        "<footer>Contact us</footer></body></html>"
    )
    result = extract(html, "http://127.0.0.1/harbour")
    paras = paragraphs(result)
    assert result["article"]["title"] == "Harbour works overrun"
    assert paras[0] == para.format(0)  # the headline is metadata, not body
    assert paras[4:7] == [
        "What the council said",
        "The council said it would publish the accounts.",
        "first point\nsecond point",
    ]
    assert "Contact us" not in result["article"]["text"]


@pytest.mark.browser
def test_same_output_in_fresh_processes(rendered: dict[str, str], tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    page.write_text(rendered["original"], "utf-8")
    script = (
        "import json, sys; from archiver.extract import extract; "
        "print(json.dumps(extract(open(sys.argv[1], encoding='utf-8').read(), 'http://a/'), "
        "sort_keys=True))"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", script, str(page)],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2")
    }
    assert len(outputs) == 1
    assert json.loads(outputs.pop())["article"]["title"] == site.HEADLINE


BODY = "".join(
    f"<p>Paragraph {i}: the council met again and voted on item {i}.</p>" for i in range(12)
)


def _title_of(head: str, body: str) -> Any:
    html = f"<html><head>{head}</head><body>{body}<article>{BODY}</article></body></html>"
    article = extract(html, "http://127.0.0.1/a")["article"]
    assert article is not None
    return article["title"]


def test_title_is_the_documents_not_a_section_heading() -> None:
    # webmd-like: the only <h1> is the section's name; the <title> names the article.
    head = "<title>Babies Who Eat Peanuts Early May Avoid Allergy</title>"
    assert _title_of(head, "<h1>Allergies Health Center</h1>") == (
        "Babies Who Eat Peanuts Early May Avoid Allergy"
    )


def test_title_is_the_heading_the_title_element_wraps() -> None:
    head = "<title>Council votes on the budget | The Daily Example</title>"
    body = "<h1>Council votes on the budget</h1>"
    assert _title_of(head, body) == "Council votes on the budget"


def test_title_from_meta_with_space_separated_properties() -> None:
    head = (
        "<title>Title Element</title>"
        '<meta property="og:title twitter:title" content="A title">'
        '<meta property="x:title dc:title" content="Preferred title">'
    )
    assert _title_of(head, "<h1>Test document title</h1>") == "Preferred title"


def test_json_ld_wrapped_in_cdata_gives_headline_and_date() -> None:
    ld = (
        '<script type="application/ld+json">\n<![CDATA[\n[{"@type": "NewsArticle",'
        ' "headline": "The Deck of Cards", "datePublished": "2026-01-02T03:04:05+00:00"}]\n]]>'
        "\n</script>"
    )
    head = '<meta property="og:title" content="A social title">' + ld
    html = f"<html><head>{head}</head><body><article>{BODY}</article></body></html>"
    article = extract(html, "http://127.0.0.1/a")["article"]
    assert article["title"] == "The Deck of Cards"
    assert article["published"] == "2026-01-02T03:04:05+00:00"


def test_huge_page_is_searched_only_in_its_first_elements() -> None:
    # A 5 MB DOM kept trafilatura busy for minutes; past MAX_ELEMENTS it sees only the top.
    filler = "<div><p>Cell text with a <b>bold</b> word.</p></div>" * (MAX_ELEMENTS // 2)
    html = (
        "<html><head><title>Council votes on the budget</title></head><body>"
        f"<article>{BODY}</article>{filler}<p>Tail paragraph past the cut.</p></body></html>"
    )
    doc = extract(html, "http://127.0.0.1/big")
    article = doc["article"]
    assert article["title"] == "Council votes on the budget"
    assert article["text"].startswith("Paragraph 0: the council met again")
    assert "Tail paragraph past the cut." not in article["text"]
    assert doc["page_text"].endswith("Tail paragraph past the cut.")  # page_text is whole
    assert doc["extractor"]["settings"]["max_elements"] == MAX_ELEMENTS


@pytest.mark.parametrize(
    ("name", "headline", "doc_title", "want"),
    [
        # Wikipedia: the headline is the Wikidata description, the name is the title
        ("New Zealand", "country in Oceania", "New Zealand - Wikipedia", "New Zealand"),
        # aktualne.cz: the name is the site's, the headline is the article's
        (
            "Aktuálně.cz",
            "West Ham hrozí gigantům",
            "West Ham hrozí gigantům | Aktuálně.cz",
            "West Ham hrozí gigantům",
        ),
    ],
)
def test_json_ld_name_or_headline_whichever_the_title_element_shows(
    name: str, headline: str, doc_title: str, want: str
) -> None:
    ld = json.dumps({"@type": "Article", "name": name, "headline": headline})
    head = f'<title>{doc_title}</title><script type="application/ld+json">{ld}</script>'
    assert _title_of(head, "") == want
