"""The article's metadata from a page's own markup: its title (JSON-LD, meta tags,
``<title>``) and its published and modified dates (JSON-LD, meta tags, ``itemprop``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

_SPACE = re.compile(r"\s+")
# JSON-LD some sites wrap as XHTML character data, optionally behind a JS comment
_CDATA = re.compile(r"^\s*(?://|/\*)?\s*<!\[CDATA\[(?:\s*\*/)?|(?://|/\*)?\s*\]\]>(?:\s*\*/)?\s*$")


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
    doc_title = clean_text(element.text_content()) if element is not None else None
    for obj in _json_ld(tree):
        names = [v for v in (clean_text(obj.get("name")), clean_text(obj.get("headline"))) if v]
        if names:
            # both, and different: some sites put a description in one (Wikipedia's
            # headline) or their own name (aktualne's name): take the one nearer <title>
            return max(names, key=lambda n: _likeness(n, doc_title or ""))
    metas: dict[str, str] = {}
    for meta in tree.iter("meta"):
        content = clean_text(meta.get("content"))
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
        heading = clean_text(h1.text_content())
        if heading and len(heading) >= 10 and heading != doc_title and heading in doc_title:
            return heading
    return doc_title


def _likeness(candidate: str, title: str) -> float:
    """How much of ``title`` ``candidate`` covers, 0..1, by characters of shared words."""
    words = re.findall(r"\w+", title.casefold())
    have = set(re.findall(r"\w+", candidate.casefold()))
    total = sum(len(w) for w in words)
    return sum(len(w) for w in words if w in have) / total if total else 0.0


def clean_text(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    text = _SPACE.sub(" ", value).strip()
    return text or None


def iso_date(value: str) -> str | None:
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


def page_dates(tree: Any) -> tuple[str | None, str | None]:
    """Published and modified dates from JSON-LD, then meta tags, then itemprop."""
    found: dict[str, str | None] = {"published": None, "modified": None}
    for obj in _json_ld(tree):
        for key, prop in (("published", "datePublished"), ("modified", "dateModified")):
            if found[key] is None and isinstance(obj.get(prop), str):
                found[key] = iso_date(obj[prop])
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
                found[key] = iso_date(metas[name])
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
