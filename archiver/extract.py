"""Article text and metadata from a page's rendered HTML: the ``urn:text:`` document.

trafilatura finds the article (title, byline, site name, body paragraphs); the dates
come from the page's own machine-readable markup (JSON-LD, ``article:*`` meta,
``itemprop``), falling back to trafilatura's date. ``page_text`` is every visible
text block of the page, article or not. The same input always gives the same output:
every option passed to trafilatura, including the date ceiling htmldate would
otherwise take from today's clock, is fixed and recorded in ``extractor.settings``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from copy import deepcopy as copy_tree
from importlib.metadata import version
from typing import Any

import lxml.html
import trafilatura
from lxml import etree

from .extract_meta import clean_text, iso_date, page_dates, page_title
from .schema import schema_id, validate

SCHEMA = "text.schema.json"
MIN_ARTICLE_CHARS = 250
"""Shorter extractions are not an article (trafilatura's own MIN_EXTRACTED_SIZE)."""
HTML_TYPES = ("text/html", "application/xhtml+xml")
MAX_ELEMENTS = 15_000
"""Only the first this many elements of a page are searched for the article."""

SETTINGS: dict[str, Any] = {
    "fast": False,
    "favor_precision": False,
    "favor_recall": False,
    "include_comments": False,
    "include_tables": True,
    "include_images": False,
    "include_formatting": False,
    "include_links": False,
    "deduplicate": False,
    "with_metadata": True,
    "date_extraction_params": {
        "original_date": True,
        "extensive_search": False,
        "max_date": "2100-12-31",
    },
}
"""The exact keyword arguments given to ``trafilatura.bare_extraction``."""

SKIP_TAGS = frozenset({"script", "style", "noscript", "template", "iframe", "svg", "head"})
BLOCK_TAGS = frozenset(
    {
        "address",
        "article",
        "aside",
        "blockquote",
        "body",
        "br",
        "caption",
        "dd",
        "details",
        "dialog",
        "div",
        "dl",
        "dt",
        "fieldset",
        "figcaption",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "li",
        "main",
        "nav",
        "ol",
        "option",
        "p",
        "pre",
        "section",
        "summary",
        "table",
        "tbody",
        "td",
        "tfoot",
        "th",
        "thead",
        "tr",
        "ul",
    }
)
_SPACE = re.compile(r"\s+")


def extract(html: str, url: str, *, mime_type: str = "text/html") -> dict[str, Any]:
    """Return the ``urn:text:`` document for ``html`` served from ``url``.

    ``article`` is None, with a ``reason``, when the input is not HTML or holds no
    article. Raises SchemaError only if this module builds an invalid document.
    """
    base_type = mime_type.split(";", 1)[0].strip().lower()
    article: dict[str, Any] | None = None
    if base_type not in HTML_TYPES:
        reason: str | None = f"not an article: {base_type or 'unknown type'}"
        page_text = _normalise_lines(html) if base_type == "text/plain" else ""
    else:
        tree = _parse(html)
        page_text = visible_text(tree) if tree is not None else ""
        article, reason = _article(html, url, tree)
    doc = {
        "schema": schema_id(SCHEMA),
        "url": url,
        "article": article,
        "reason": reason,
        "page_text": page_text,
        "extractor": {
            "name": "trafilatura",
            "version": version("trafilatura"),
            "settings": json.loads(json.dumps({**SETTINGS, "max_elements": MAX_ELEMENTS})),
        },
    }
    validate(doc, SCHEMA, what=f"text document for {url}")
    return doc


_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)


def decode_html(data: bytes, content_type: str = "") -> str:
    """HTML bytes as served, as text: BOM, then Content-Type charset, then meta charset.

    Unknown or missing charsets fall back to UTF-8; undecodable bytes become U+FFFD.
    """
    for bom, codec in (
        (b"\xef\xbb\xbf", "utf-8"),
        (b"\xff\xfe", "utf-16-le"),
        (b"\xfe\xff", "utf-16-be"),
    ):
        if data.startswith(bom):
            return data[len(bom) :].decode(codec, errors="replace")
    found = re.search(r"charset\s*=\s*[\"']?([A-Za-z0-9_.:-]+)", content_type, re.I)
    meta = _META_CHARSET.search(data[:4096])
    candidates = [found.group(1) if found else None, meta.group(1).decode() if meta else None]
    for charset in candidates:
        if charset:
            try:
                return data.decode(charset, errors="replace")
            except LookupError:
                continue
    return data.decode("utf-8", errors="replace")


def _parse(html: str) -> Any:
    if not html.strip():
        return None
    try:
        return lxml.html.document_fromstring(html)
    except (etree.ParserError, ValueError):
        return None


def _article(html: str, url: str, tree: Any) -> tuple[dict[str, Any] | None, str | None]:
    if tree is None:
        return None, "no article found: the page is empty"
    found: Any = trafilatura.bare_extraction(_bounded(html, tree), url=url, **SETTINGS)
    if found is None or getattr(found, "body", None) is None:
        return None, "no article found: trafilatura found no main text in the page"
    found_title = clean_text(found.title)
    title = page_title(tree) or found_title
    blocks = list(_blocks(found.body))
    if blocks and blocks[0] in (title, found_title):
        blocks = blocks[1:]  # the headline is metadata: keep it out of the body text
    text = "\n\n".join(blocks)
    if len(text) < MIN_ARTICLE_CHARS:
        return None, (
            f"no article found: the main text is only {len(text)} characters "
            f"(an article needs at least {MIN_ARTICLE_CHARS})"
        )
    published, modified = page_dates(tree)
    if published is None and found.date:
        published = iso_date(str(found.date))
    return {
        "title": title,
        "byline": clean_text(found.author),
        "published": published,
        "modified": modified,
        "site_name": clean_text(found.sitename),
        "text": text,
    }, None


def _bounded(html: str, tree: Any) -> str:
    """``html`` cut after its first MAX_ELEMENTS elements (document order), if longer.

    trafilatura's time grows faster than the page: a 1 MB DOM of 40,000 elements takes
    12 s, 5 MB minutes. An article starts near the top, so the cut keeps it; the cut is
    by count, so the same page always gives the same text.
    """
    elements = [el for el in tree.iter() if isinstance(el.tag, str)]
    if len(elements) <= MAX_ELEMENTS:
        return html
    copy = copy_tree(tree)
    node = [el for el in copy.iter() if isinstance(el.tag, str)][MAX_ELEMENTS]
    cut = node
    while node.getparent() is not None:
        parent = node.getparent()
        for sibling in list(node.itersiblings()):
            parent.remove(sibling)
        node = parent
    cut_parent = cut.getparent()
    if cut_parent is not None:
        cut_parent.remove(cut)
    return str(lxml.html.tostring(copy, encoding="unicode"))


def _blocks(element: Any) -> Iterator[str]:
    """Paragraph texts of trafilatura's body: one per p/head/item/row, quotes unwrapped."""
    for child in element:
        if not isinstance(child.tag, str):
            continue
        if child.tag in ("quote", "div") and any(isinstance(c.tag, str) for c in child):
            yield from _blocks(child)
            continue
        if child.tag == "list":
            items = [clean_text(" ".join(item.itertext())) for item in child.iter("item")]
            text = "\n".join(i for i in items if i)
        elif child.tag == "table":
            rows = []
            for row in child.iter("row"):
                cells = [clean_text(" ".join(cell.itertext())) or "" for cell in row]
                rows.append(" | ".join(cells).strip(" |"))
            text = "\n".join(r for r in rows if r)
        else:
            text = clean_text(" ".join(_texts(child))) or ""
        if text:
            yield text


def _texts(element: Any) -> Iterator[str]:
    # itertext joins "a<lb/>b" as "ab": walk by hand so a line break stays a space.
    if element.text:
        yield element.text
    for child in element:
        if isinstance(child.tag, str):
            yield from _texts(child)
        if child.tail:
            yield child.tail


def visible_text(tree: Any) -> str:
    """Every text block of the page's body, one per line, whitespace collapsed.

    Skips script, style, noscript, template, iframe and svg content and elements
    marked hidden (``hidden``, ``aria-hidden="true"``, inline ``display:none``).
    """
    body = tree.find(".//body")
    if body is None:
        body = tree
    lines: list[str] = []
    current: list[str] = []

    def flush() -> None:
        line = _SPACE.sub(" ", "".join(current)).strip()
        current.clear()
        if line:
            lines.append(line)

    skipped: set[Any] = set()
    walker = etree.iterwalk(body, events=("start", "end"))
    for event, el in walker:
        if event == "start":
            if _hidden(el):
                skipped.add(el)
                walker.skip_subtree()
                continue
            if el.tag in BLOCK_TAGS:
                flush()
            if el.text:
                current.append(el.text)
        else:
            if el not in skipped and el.tag in BLOCK_TAGS:
                flush()
            if el.tail and el is not body:
                current.append(el.tail)
    flush()
    return "\n".join(lines)


def _hidden(el: Any) -> bool:
    if not isinstance(el.tag, str):
        return True  # comments and processing instructions
    if el.tag in SKIP_TAGS or el.get("hidden") is not None:
        return True
    if (el.get("aria-hidden") or "").lower() == "true":
        return True
    style = (el.get("style") or "").replace(" ", "").lower()
    return "display:none" in style or "visibility:hidden" in style


def _normalise_lines(text: str) -> str:
    lines = (_SPACE.sub(" ", line).strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)
