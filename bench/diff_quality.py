"""Recall and precision of archiver.diff on edits planted into real article pages.

Usage: python bench/diff_quality.py CORPUS_DIR [--seed 1] [--limit N]

For each CORPUS_DIR/*/source.html the page is extracted with archiver.extract.extract.
Then, with a seeded random choice per page, one edit of each kind is planted into the
HTML (inside paragraphs that the extraction put in the article): a number changed, a
word changed, a sentence removed, a sentence added, a paragraph moved, the headline
reworded, a correction paragraph appended, the byline changed. Each edited page is
extracted again and diffed against the original. An edit is *found* when the report
holds an item of the planted kind with the planted text; *precision* is the share of
reported items (body and metadata) that are the planted edit. Noise variants plant
boilerplate outside the article (an ad block, a related-links list, an "Updated N
minutes ago" line that differs between the two versions, diffed with --ignore for it):
any reported change there is a false change.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
from collections import Counter
from collections.abc import Callable
from copy import deepcopy
from pathlib import Path
from typing import Any

import lxml.html
from lxml import etree

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from archiver.diff import DiffReport, diff_documents
from archiver.diff_text import clean, norm, paragraphs, sentences
from archiver.extract import extract

URL = "http://127.0.0.1/article"
UPDATED = r"Updated \d+ minutes ago"
ADDED = "Officials declined to comment on the figures on Thursday."
CORRECTION = "Correction: An earlier version of this article misstated a figure."
Doc = Any  # lxml HtmlElement
Item = dict[str, Any]
Matcher = Callable[[Item], bool]


def article_ps(root: Doc, doc: dict[str, Any]) -> list[Doc]:
    """<p> elements whose whole text is one paragraph of the extracted article."""
    paras = {norm(p) for p in paragraphs(doc["article"]["text"])}
    return [p for p in root.iter("p") if norm(clean(p.text_content())) in paras]


def text_slots(ps: list[Doc]) -> list[tuple[Doc, str]]:
    """(element, "text"|"tail") for every text node directly inside the paragraphs."""
    slots = []
    for p in ps:
        if p.text and p.text.strip():
            slots.append((p, "text"))
        for child in p:
            if child.tail and child.tail.strip():
                slots.append((child, "tail"))
    return slots


def plant_number(root: Doc, ps: list[Doc], rng: random.Random) -> Matcher | None:
    cands = []
    for el, attr in text_slots(ps):
        for m in re.finditer(r"(?<![\w.,:/])\d+(?:[.,:/]\d+)*%?(?![\w])", getattr(el, attr)):
            cands.append((el, attr, m))
    if not cands:
        return None
    el, attr, m = rng.choice(cands)
    old = m.group(0).rstrip(".,")
    digits = re.sub(r"\d", lambda d: str((int(d.group(0)) + 3) % 10), old[-1])
    new = old[:-1] + digits if old[-1].isdigit() else old[:-2] + str((int(old[-2]) + 3) % 10) + "%"
    text = getattr(el, attr)
    setattr(el, attr, text[: m.start()] + new + text[m.start() + len(old) :])
    return lambda it: {"old": old, "new": new} in it.get("numbers", [])


def plant_word(root: Doc, ps: list[Doc], rng: random.Random) -> Matcher | None:
    cands = []
    for el, attr in text_slots(ps):
        for m in re.finditer(r"\b[A-Za-z]{5,}\b", getattr(el, attr)):
            cands.append((el, attr, m))
    if not cands:
        return None
    el, attr, m = rng.choice(cands)
    old, new = m.group(0), "reportedly"
    text = getattr(el, attr)
    setattr(el, attr, text[: m.start()] + new + text[m.end() :])

    def match(it: Item) -> bool:
        segs = it.get("segments", [])
        gone = " ".join(s["text"] for s in segs if s["op"] == "delete")
        came = " ".join(s["text"] for s in segs if s["op"] == "insert")
        return it.get("kind") == "change" and old in gone and new in came

    return match


def _plain_multi_sentence(ps: list[Doc]) -> list[Doc]:
    return [p for p in ps if len(p) == 0 and len(sentences(clean(p.text or ""))) >= 2]


def plant_sentence_removed(root: Doc, ps: list[Doc], rng: random.Random) -> Matcher | None:
    cands = _plain_multi_sentence(ps)
    if not cands:
        return None
    p = rng.choice(cands)
    sents = sentences(clean(p.text))
    k = rng.randrange(len(sents))
    gone = sents[k]
    p.text = " ".join(sents[:k] + sents[k + 1 :])
    return lambda it: it.get("kind") == "delete" and norm(it.get("old") or "") == norm(gone)


def plant_sentence_added(root: Doc, ps: list[Doc], rng: random.Random) -> Matcher | None:
    cands = [p for p in ps if len(p) == 0 and p.text and p.text.strip()]
    if not cands:
        return None
    p = rng.choice(cands)
    sents = sentences(clean(p.text))
    k = rng.randint(0, len(sents))
    p.text = " ".join([*sents[:k], ADDED, *sents[k:]])

    def match(it: Item) -> bool:
        if it.get("kind") == "insert":
            return norm(it.get("new") or "") == norm(ADDED)
        came = "".join(s["text"] for s in it.get("segments", []) if s["op"] == "insert")
        return it.get("kind") == "change" and norm(came) == norm(ADDED)

    return match


def plant_paragraph_moved(root: Doc, ps: list[Doc], rng: random.Random) -> Matcher | None:
    cands = []
    for p in ps:
        sibs = [s for s in ps if s.getparent() is p.getparent()]
        if len(sibs) >= 4:
            cands.append((p, sibs))
    if not cands:
        return None
    p, sibs = rng.choice(cands)
    i = sibs.index(p)
    targets = [s for n, s in enumerate(sibs) if abs(n - i) >= 2]
    target = rng.choice(targets)
    text = clean(p.text_content())
    tail = p.tail
    p.getparent().remove(p)
    p.tail = tail
    target.addnext(p)

    def match(it: Item) -> bool:
        new = norm(it.get("new") or "")
        return it.get("kind") == "move" and bool(new) and (new in norm(text) or norm(text) in new)

    return match


def _replace_everywhere(root: Doc, old: str, new: str) -> int:
    """Replace ``old`` in every text node and meta content; return how many places."""
    n = 0
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        if el.tag == "meta" and old in (el.get("content") or ""):
            el.set("content", el.get("content").replace(old, new))
            n += 1
        if el.tag == "script" and el.text and old in el.text:
            el.text = el.text.replace(old, new)
            n += 1
        for attr in ("text", "tail"):
            value = getattr(el, attr)
            if value and old in value:
                setattr(el, attr, value.replace(old, new))
                n += 1
    return n


def _metadata_planter(field: str, make_new: Callable[[str], str]) -> Any:
    def plant(root: Doc, ps: list[Doc], rng: random.Random, doc: dict[str, Any]) -> Matcher | None:
        old = doc["article"].get(field)
        new = make_new(old or "")
        if not old or not _replace_everywhere(root, old, new):
            return None
        # The body may repeat the headline or byline: that copy changes too.
        return lambda it: it.get("field") == field or norm(new) in norm(it.get("new") or "")

    return plant


def plant_correction(root: Doc, ps: list[Doc], rng: random.Random) -> Matcher | None:
    if not ps:
        return None
    last = ps[-1]
    new = lxml.html.fragment_fromstring(f"<p>{CORRECTION}</p>")
    new.tail = last.tail
    last.tail = None
    last.addnext(new)
    return lambda it: it.get("kind") == "insert" and norm(CORRECTION) in norm(it.get("new") or "")


PLANTERS: dict[str, Any] = {
    "number changed": plant_number,
    "word changed": plant_word,
    "sentence removed": plant_sentence_removed,
    "sentence added": plant_sentence_added,
    "paragraph moved": plant_paragraph_moved,
    "correction appended": plant_correction,
    "headline reworded": _metadata_planter("title", lambda t: t + " amid criticism"),
    "byline changed": _metadata_planter("byline", lambda b: "Jordan Example"),
}
NEEDS_DOC = {"headline reworded", "byline changed"}


def noise(root: Doc, minutes: int) -> None:
    body = root.find("body")
    if body is None:
        return
    ad = lxml.html.fragment_fromstring(
        f'<div class="ad-slot"><p>Advertisement</p><p>Updated {minutes} minutes ago</p></div>'
    )
    related = lxml.html.fragment_fromstring(
        '<aside class="related"><h3>Related stories</h3><ul>'
        '<li><a href="/x">Five things to know this week</a></li>'
        '<li><a href="/y">Opinion: what the vote means</a></li></ul></aside>'
    )
    body.insert(0, ad)
    body.append(related)


def items(report: DiffReport) -> list[Item]:
    data = report.to_json()
    return [*data["metadata_changes"], *data["changes"]]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    planted: Counter[str] = Counter()
    found: Counter[str] = Counter()
    reported: Counter[str] = Counter()
    correct: Counter[str] = Counter()
    pages = skipped = noise_pairs = noise_false = 0
    sources = sorted(args.corpus.glob("*/source.html"))
    if args.limit:
        sources = sources[: args.limit]
    for source in sources:
        html = source.read_text("utf-8", errors="replace")
        base = extract(html, URL)
        if base["article"] is None:
            skipped += 1
            continue
        pages += 1
        rng = random.Random(f"{args.seed}:{source.parent.name}")
        tree = lxml.html.document_fromstring(html)
        for kind, planter in PLANTERS.items():
            root = deepcopy(tree)
            ps = article_ps(root, base)
            matcher = planter(root, ps, rng, base) if kind in NEEDS_DOC else planter(root, ps, rng)
            if matcher is None:
                continue
            edited = extract(etree.tostring(root, encoding="unicode", method="html"), URL)
            report = diff_documents(base, edited)
            got = items(report)
            hits = [it for it in got if matcher(it)]
            planted[kind] += 1
            found[kind] += bool(hits)
            reported[kind] += len(got)
            correct[kind] += len(hits)
            if args.verbose and (not hits or len(got) != len(hits)):
                print(f"{source.parent.name}: {kind}: {report.summary}", file=sys.stderr)
        pair = []
        for minutes in (5, 47):
            root = deepcopy(tree)
            noise(root, minutes)
            pair.append(extract(etree.tostring(root, encoding="unicode", method="html"), URL))
        for a, b in ((base, pair[0]), (pair[0], pair[1])):
            noise_pairs += 1
            report = diff_documents(a, b, ignore=[UPDATED])
            if report.status != "unchanged":
                noise_false += 1
                if args.verbose:
                    print(f"{source.parent.name}: noise: {report.summary}", file=sys.stderr)
    print(f"pages with an article: {pages} (skipped, no article: {skipped})")
    print(f"{'edit kind':<22} {'planted':>7} {'found':>6} {'recall':>7} {'precision':>9}")
    for kind in PLANTERS:
        n = planted[kind]
        recall = found[kind] / n if n else float("nan")
        precision = correct[kind] / reported[kind] if reported[kind] else float("nan")
        print(f"{kind:<22} {n:>7} {found[kind]:>6} {recall:>7.1%} {precision:>9.1%}")
    rate = noise_false / noise_pairs if noise_pairs else float("nan")
    print(f"noise-only pairs: {noise_pairs}, reported as changed: {noise_false} ({rate:.1%})")


if __name__ == "__main__":
    main()
