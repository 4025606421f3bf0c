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
from datetime import date, datetime
from importlib.metadata import version
from typing import Any

import lxml.html
import trafilatura
from lxml import etree

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
# JSON-LD some sites wrap as XHTML character data, optionally behind a JS comment
_CDATA = re.compile(r"^\s*(?://|/\*)?\s*<!\[CDATA\[(?:\s*\*/)?|(?://|/\*)?\s*\]\]>(?:\s*\*/)?\s*$")


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
    found_title = _clean(found.title)
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
    published, modified = _dates(tree)
    if published is None and found.date:
        published = _iso(str(found.date))
    return {
        "title": title,
        "byline": _clean(found.author),
        "published": published,
        "modified": modified,
        "site_name": _clean(found.sitename),
        "text": text,
    }, None


TITLE_META = ("dc:title", "dcterm:title", "og:title", "twitter:title", "title")
"""Meta properties naming the article's title, most trusted first."""


def page_title(tree: Any) -> str | None:
    """The title the publisher gave the article, from the page's own markup.

    JSON-LD ``headline`` (or ``name``) of an Article, then meta tags (``TITLE_META``;
    a ``property`` may list several names), then the ``<title>`` element, where a
    first-level heading it contains ("Headline | Site") is taken as the cleaner form.
    None when the page names no title. A lone ``<h1>`` is not preferred over these: on
    many pages it is the site's or the section's name, not the article's.
    """
    element = next((t for t in tree.iter("title") if t.getparent().tag == "head"), None)
    doc_title = _clean(element.text_content()) if element is not None else None
    for obj in _json_ld(tree):
        names = [v for v in (_clean(obj.get("name")), _clean(obj.get("headline"))) if v]
        if names:
            # both, and different: some sites put a description in one (Wikipedia's
            # headline) or their own name (aktualne's name): take the one nearer <title>
            return max(names, key=lambda n: _likeness(n, doc_title or ""))
    metas: dict[str, str] = {}
    for meta in tree.iter("meta"):
        content = _clean(meta.get("content"))
        names = f"{meta.get('property') or ''} {meta.get('name') or ''}".lower().split()
        for name in names:
            if content and name not in metas:
                metas[name] = content
    for name in TITLE_META:
        if name in metas:
            return metas[name]
    if doc_title is None:
        return None
    for h1 in tree.iter("h1"):
        heading = _clean(h1.text_content())
        if heading and len(heading) >= 10 and heading != doc_title and heading in doc_title:
            return heading
    return doc_title


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


def _likeness(candidate: str, title: str) -> float:
    """How much of ``title`` ``candidate`` covers, 0..1, by characters of shared words."""
    words = re.findall(r"\w+", title.casefold())
    have = set(re.findall(r"\w+", candidate.casefold()))
    total = sum(len(w) for w in words)
    return sum(len(w) for w in words if w in have) / total if total else 0.0


def _clean(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    text = _SPACE.sub(" ", value).strip()
    return text or None


def _blocks(element: Any) -> Iterator[str]:
    """Paragraph texts of trafilatura's body: one per p/head/item/row, quotes unwrapped."""
    for child in element:
        if not isinstance(child.tag, str):
            continue
        if child.tag in ("quote", "div") and any(isinstance(c.tag, str) for c in child):
            yield from _blocks(child)
            continue
        if child.tag == "list":
            items = [_clean(" ".join(item.itertext())) for item in child.iter("item")]
            text = "\n".join(i for i in items if i)
        elif child.tag == "table":
            rows = []
            for row in child.iter("row"):
                cells = [_clean(" ".join(cell.itertext())) or "" for cell in row]
                rows.append(" | ".join(cells).strip(" |"))
            text = "\n".join(r for r in rows if r)
        else:
            text = _clean(" ".join(_texts(child))) or ""
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


def _iso(value: str) -> str | None:
    """``value`` as ISO 8601 (a date, or a date-time keeping its offset), else None."""
    value = value.strip()
    try:
        if len(value) == 10:
            return date.fromisoformat(value).isoformat()
        return datetime.fromisoformat(value).isoformat()
    except ValueError:
        return None


DATE_META = {
    "published": (
        "article:published_time",
        "datepublished",
        "og:published_time",
        "pubdate",
        "publish-date",
        "date",
        "dc.date.issued",
    ),
    "modified": ("article:modified_time", "datemodified", "og:updated_time", "last-modified"),
}


def _dates(tree: Any) -> tuple[str | None, str | None]:
    """Published and modified dates from JSON-LD, then meta tags, then itemprop."""
    found: dict[str, str | None] = {"published": None, "modified": None}
    for obj in _json_ld(tree):
        for key, prop in (("published", "datePublished"), ("modified", "dateModified")):
            if found[key] is None and isinstance(obj.get(prop), str):
                found[key] = _iso(obj[prop])
    metas: dict[str, str] = {}
    for meta in tree.iter("meta"):
        name = (meta.get("property") or meta.get("name") or meta.get("itemprop") or "").lower()
        if name and meta.get("content") and name not in metas:
            metas[name] = meta.get("content")
    for el in tree.xpath("//*[@itemprop][@datetime or @content]"):
        name = el.get("itemprop").lower()
        metas.setdefault(name, el.get("datetime") or el.get("content"))
    for key, names in DATE_META.items():
        for name in names:
            if found[key] is None and name in metas:
                found[key] = _iso(metas[name])
    return found["published"], found["modified"]


def _json_ld(tree: Any) -> Iterator[dict[str, Any]]:
    """Every object in the page's JSON-LD blocks that looks like an article."""
    for script in tree.xpath('//script[@type="application/ld+json"]'):
        try:
            data = json.loads(_CDATA.sub("", script.text or ""))
        except ValueError:
            continue
        stack = [data]
        while stack:
            item = stack.pop(0)
            if isinstance(item, list):
                stack.extend(item)
            elif isinstance(item, dict):
                if "@graph" in item:
                    stack.extend(item["@graph"] if isinstance(item["@graph"], list) else [])
                kind = item.get("@type")
                kinds = kind if isinstance(kind, list) else [kind]
                if any(isinstance(k, str) and k.endswith("Article") for k in kinds):
                    yield item
