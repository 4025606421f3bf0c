"""Recall and precision of archiver.diff on edits planted into real article pages.

Usage: python bench/diff_quality.py CORPUS_DIR [--seed 1] [--limit N] [--only NAME]
       [--noise marked|bare] [--verbose]

For each CORPUS_DIR/*/source.html the page is extracted with archiver.extract.extract
(side A). Then, with a seeded random choice per page, one edit of each kind is planted
into the HTML (inside paragraphs that the extraction put in the article): a number
changed, a word changed, a sentence removed, a sentence added, a paragraph moved, the
headline reworded, a correction paragraph appended, the byline changed. Each edited page
is extracted again (side B) and diffed against A.

Scoring measures the diff, not the extractor:

* An edit is *eligible* only where the extractor finds it: the edited paragraph's old
  text is a paragraph of A, its new text a paragraph of B, and B lost the old text (a page
  repeating a paragraph, which the extractor de-duplicates, may keep it). A move: the
  paragraph is in both and the extracted order changed. A headline or byline: A holds the
  old value and B the new one. Edits not eligible are counted apart, with the reason.
* *Recall* is the share of eligible edits for which the report holds an item of the
  planted kind with the planted text.
* *Precision* is the share of reported items (body and metadata) that are the planted
  edit, counted over eligible edits where the extractor changed nothing else ("clean":
  B's paragraphs are A's with exactly the planted edit). Where the extractor also returned
  other paragraphs ("drift"), those reports are counted apart: the diff is right to show
  them, they are not false changes.
* A move: moving P past an adjacent Q is the same reorder as moving Q past P. The
  expected answer is the smallest set of moved paragraphs that explains the reorder:
  the report is right when every item is a paragraph move, removing the moved paragraphs
  from both sides leaves the same sequence, and their number is the least that can do
  that (paragraphs minus the longest common subsequence; paragraphs present on one side
  only are left out of this check).

Noise variants plant boilerplate outside the article (an ad slot, a related-links aside,
an "Updated N minutes ago" line in the page header that differs between the two
versions, diffed with --ignore for it): any reported change is a false change. The
report says separately whether the noise leaked into the extracted article text (an
extractor problem) or not (a diff problem).
"""

from __future__ import annotations

import argparse
import random
import re
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from copy import deepcopy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lxml.html
from lxml import etree

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from archiver.diff import DiffReport, diff_documents
from archiver.diff.text import clean, norm, paragraphs, sentences, tokens
from archiver.extract import extract

URL = "http://127.0.0.1/article"
UPDATED = r"Updated \d+ minutes ago"
ADDED = "Officials declined to comment on the figures on Thursday."
CORRECTION = "Correction: An earlier version of this article misstated a figure."
NOISE_TEXTS = ("Advertisement", "Updated ", "Related stories", "Five things to know", "Opinion:")
Doc = Any  # lxml HtmlElement
Item = dict[str, Any]
Matcher = Callable[[Item], bool]


@dataclass
class Plant:
    """One planted edit: how to recognise it in a report, and what the extractor should see.

    ``old``/``new``: the edited paragraph's text (norm keys) before and after (None for an
    appended paragraph's ``old``); ``moved``: the moved paragraph; ``field``/``value``:
    a metadata field's old and new value.
    """

    match: Matcher
    old: str | None = None
    new: str | None = None
    moved: str | None = None
    field: str | None = None
    value: tuple[str, str] | None = None


def para_key(p: Doc) -> str:
    return norm(clean(p.text_content()))


def article_ps(root: Doc, doc: dict[str, Any]) -> list[Doc]:
    """<p> elements whose whole text is one paragraph of the extracted article."""
    paras = {norm(p) for p in paragraphs(doc["article"]["text"])}
    return [p for p in root.iter("p") if para_key(p) in paras]


def text_slots(ps: list[Doc]) -> list[tuple[Doc, Doc, str]]:
    """(paragraph, element, "text"|"tail") for every text node directly inside them."""
    slots = []
    for p in ps:
        if p.text and p.text.strip():
            slots.append((p, p, "text"))
        for child in p:
            if child.tail and child.tail.strip():
                slots.append((p, child, "tail"))
    return slots


def plant_number(root: Doc, ps: list[Doc], rng: random.Random) -> Plant | None:
    """Change the last digit of a number, a number as the diff's tokeniser reads it."""
    cands = []
    for p, el, attr in text_slots(ps):
        pos = 0
        text = getattr(el, attr)
        # Numbers as the diff reads them (entities such as "&percnt;" unescaped first).
        seen = {t.text for t in tokens(clean(text)) if t.kind == "num"}
        for tok in tokens(text):
            pos += len(tok.lead)
            # A number touching the edge of its text node may run on into the next node
            # ("400<b>%</b>"), where the tokeniser reads more than this node holds.
            inner = pos > 0 and pos + len(tok.text) < len(text)
            # A "number" may hold no decimal digit to change ("½", "²").
            digits = any(c.isdecimal() for c in tok.text)
            if tok.kind == "num" and inner and tok.text in seen and digits:
                cands.append((p, el, attr, pos, tok.text))
            pos += len(tok.text)
    if not cands:
        return None
    p, el, attr, start, old = rng.choice(cands)
    before = para_key(p)
    last = max(k for k, c in enumerate(old) if c.isdecimal())
    digit = old[last]  # any script's digit: its 0-9 are consecutive code points
    new = old[:last] + chr(ord(digit) - int(digit) + (int(digit) + 3) % 10) + old[last + 1 :]
    text = getattr(el, attr)
    setattr(el, attr, text[:start] + new + text[start + len(old) :])
    return Plant(lambda it: {"old": old, "new": new} in it.get("numbers", []), before, para_key(p))


def plant_word(root: Doc, ps: list[Doc], rng: random.Random) -> Plant | None:
    cands = []
    for p, el, attr in text_slots(ps):
        for m in re.finditer(r"\b[A-Za-z]{5,}\b", getattr(el, attr)):
            cands.append((p, el, attr, m))
    if not cands:
        return None
    p, el, attr, m = rng.choice(cands)
    before = para_key(p)
    old = m.group(0)
    new = "Reportedly" if old[0].isupper() else "reportedly"  # as an editor would write it
    text = getattr(el, attr)
    setattr(el, attr, text[: m.start()] + new + text[m.end() :])

    def match(it: Item) -> bool:
        segs = it.get("segments", [])
        gone = " ".join(s["text"] for s in segs if s["op"] == "delete")
        came = " ".join(s["text"] for s in segs if s["op"] == "insert")
        return it.get("kind") == "change" and old in gone and new in came

    return Plant(match, before, para_key(p))


def _plain_multi_sentence(ps: list[Doc]) -> list[Doc]:
    return [p for p in ps if len(p) == 0 and len(sentences(clean(p.text or ""))) >= 2]


def plant_sentence_removed(root: Doc, ps: list[Doc], rng: random.Random) -> Plant | None:
    cands = _plain_multi_sentence(ps)
    if not cands:
        return None
    p = rng.choice(cands)
    before = para_key(p)
    sents = sentences(clean(p.text))
    k = rng.randrange(len(sents))
    gone = sents[k]
    p.text = " ".join(sents[:k] + sents[k + 1 :])

    def match(it: Item) -> bool:
        if it.get("kind") == "delete":
            return norm(it.get("old") or "") == norm(gone)
        lost = "".join(s["text"] for s in it.get("segments", []) if s["op"] == "delete")
        return it.get("kind") == "change" and norm(lost) == norm(gone)

    return Plant(match, before, para_key(p))


def plant_sentence_added(root: Doc, ps: list[Doc], rng: random.Random) -> Plant | None:
    cands = [p for p in ps if len(p) == 0 and p.text and p.text.strip()]
    if not cands:
        return None
    p = rng.choice(cands)
    before = para_key(p)
    sents = sentences(clean(p.text))
    k = rng.randint(0, len(sents))
    p.text = " ".join([*sents[:k], ADDED, *sents[k:]])

    def match(it: Item) -> bool:
        if it.get("kind") == "insert":
            return norm(it.get("new") or "") == norm(ADDED)
        came = "".join(s["text"] for s in it.get("segments", []) if s["op"] == "insert")
        return it.get("kind") == "change" and norm(came) == norm(ADDED)

    return Plant(match, before, para_key(p))


def plant_sentences_merged(root: Doc, ps: list[Doc], rng: random.Random) -> Plant | None:
    """Two adjacent sentences joined by a semicolon: a punctuation-only edit."""
    cands = []
    for p in _plain_multi_sentence(ps):
        sents = sentences(clean(p.text or ""))
        cands += [(p, k) for k in range(len(sents) - 1) if sents[k].endswith(".")]
    if not cands:
        return None
    p, k = rng.choice(cands)
    before = para_key(p)
    sents = sentences(clean(p.text or ""))
    first, second = sents[k], sents[k + 1]
    joined = f"{first[:-1]}; {second[0].lower()}{second[1:]}"
    p.text = " ".join([*sents[:k], joined, *sents[k + 2 :]])

    def match(it: Item) -> bool:
        came = [s["text"] for s in it.get("segments", []) if s["op"] == "insert"]
        return (
            it.get("kind") == "change"
            and norm(it.get("old") or "") == norm(f"{first} {second}")
            and any(";" in c for c in came)
        )

    return Plant(match, before, para_key(p))


def plant_sentence_split(root: Doc, ps: list[Doc], rng: random.Random) -> Plant | None:
    """A sentence split in two at ", and " / ", but ": a punctuation-only edit."""
    cands = []
    for p in [p for p in ps if len(p) == 0 and p.text and p.text.strip()]:
        for sent in sentences(clean(p.text or "")):
            cands += [(p, sent, m) for m in re.finditer(r", (and|but) (?=[a-z])", sent)]
    if not cands:
        return None
    p, sent, m = rng.choice(cands)
    before = para_key(p)
    split = f"{sent[: m.start()]}. {m.group(1).capitalize()} {sent[m.end() :]}"
    sents = sentences(clean(p.text or ""))
    p.text = " ".join(split if x == sent else x for x in sents)

    def match(it: Item) -> bool:
        came = [s["text"] for s in it.get("segments", []) if s["op"] == "insert"]
        return (
            it.get("kind") == "change"
            and norm(it.get("old") or "") == norm(sent)
            and any("." in c for c in came)
        )

    return Plant(match, before, para_key(p))


def plant_paragraph_moved(root: Doc, ps: list[Doc], rng: random.Random) -> Plant | None:
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
    tail = p.tail
    p.getparent().remove(p)
    p.tail = tail
    target.addnext(p)
    # Scored by move_ok (the smallest explanation), not by this matcher.
    return Plant(lambda it: it.get("kind") == "move", moved=para_key(p))


def _loose(old: str) -> re.Pattern[str]:
    """``old`` as pages write it in markup and scripts: any white space run where it has
    one space, and a non-ASCII character or "/" also in its JSON escape (JSON-LD writes
    "I\\u2019m" and "\\/"), as the extractor reads them back."""
    parts: list[str] = []
    for ch in old:
        if ch.isspace():
            if parts and parts[-1] == r"\s+":
                continue
            parts.append(r"\s+")
        elif ord(ch) > 127:
            parts.append(f"(?:{re.escape(ch)}|\\\\u(?i:{ord(ch):04x}))")
        elif ch == "/":
            parts.append(r"\\?/")
        else:
            parts.append(re.escape(ch))
    return re.compile("".join(parts))


def _replace_everywhere(root: Doc, old: str, new: str) -> int:
    """Replace ``old`` in every text node, meta content and script; return how many places."""
    pattern = _loose(old)
    n = 0
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        if el.tag == "meta" and pattern.search(el.get("content") or ""):
            el.set("content", pattern.sub(lambda _: new, el.get("content") or ""))
            n += 1
        # Script text (JSON-LD) is a text node too; each node is replaced once, as ``new``
        # holds ``old`` and a second pass would double the edit.
        for attr in ("text", "tail"):
            value = getattr(el, attr)
            if value and pattern.search(value):
                setattr(el, attr, pattern.sub(lambda _: new, value))
                n += 1
    return n


def _metadata_planter(field: str, make_new: Callable[[str], str]) -> Any:
    def plant(root: Doc, ps: list[Doc], rng: random.Random, doc: dict[str, Any]) -> Plant | None:
        old = doc["article"].get(field)
        new = make_new(old or "")
        if not old or not _replace_everywhere(root, old, new):
            return None
        # The body may repeat the headline or byline: that copy changes too.
        return Plant(
            lambda it: it.get("field") == field or norm(new) in norm(it.get("new") or ""),
            field=field,
            value=(old, new),
        )

    return plant


def plant_correction(root: Doc, ps: list[Doc], rng: random.Random) -> Plant | None:
    if not ps:
        return None
    last = ps[-1]
    new = lxml.html.fragment_fromstring(f"<p>{CORRECTION}</p>")
    new.tail = last.tail
    last.tail = None
    last.addnext(new)
    return Plant(
        lambda it: it.get("kind") == "insert" and norm(CORRECTION) in norm(it.get("new") or ""),
        None,
        norm(CORRECTION),
    )


PLANTERS: dict[str, Any] = {
    "number changed": plant_number,
    "word changed": plant_word,
    "sentence removed": plant_sentence_removed,
    "sentence added": plant_sentence_added,
    "paragraph moved": plant_paragraph_moved,
    "sentences merged": plant_sentences_merged,
    "sentence split": plant_sentence_split,
    "correction appended": plant_correction,
    "headline reworded": _metadata_planter("title", lambda t: t + " amid criticism"),
    "byline changed": _metadata_planter("byline", lambda b: "Jordan Example"),
}
NEEDS_DOC = {"headline reworded", "byline changed"}


# --- what the extractor returned ------------------------------------------------------


def para_keys(doc: dict[str, Any], ignore: str | None = None) -> list[str]:
    out = []
    for p in paragraphs(doc["article"]["text"] if doc["article"] else ""):
        key = norm(re.sub(ignore, " ", p) if ignore else p)
        if key:
            out.append(key)
    return out


def meta(doc: dict[str, Any]) -> dict[str, str]:
    art = doc["article"] or {}
    fields = ("title", "byline", "published", "modified", "site_name")
    return {f: norm(clean(str(art.get(f) or ""))) for f in fields}


def eligibility(plant: Plant, a: dict[str, Any], b: dict[str, Any]) -> tuple[str | None, bool]:
    """(reason the edit is not eligible, or None; whether B is A plus exactly the edit)."""
    if b["article"] is None:
        return "extraction of B failed", False
    pa, pb = para_keys(a), para_keys(b)
    ma, mb = meta(a), meta(b)
    if plant.field and plant.value:
        old, new = (norm(clean(v)) for v in plant.value)
        if ma[plant.field] != old or mb[plant.field] != new:
            return f"extractor does not return the new {plant.field}", False
        expect = [p.replace(old, new) for p in pa]
        others = all(ma[f] == mb[f] for f in ma if f != plant.field)
        return None, others and Counter(expect) == Counter(pb)
    clean_meta = ma == mb
    if plant.moved is not None:
        if plant.moved not in pa or plant.moved not in pb:
            return "moved paragraph not in both extractions", False
        if pa == pb:
            return "extracted paragraph order did not change", False
        return None, clean_meta and Counter(pa) == Counter(pb)
    if plant.old is not None and plant.old not in pa:
        return "old paragraph not in extraction A", False
    if plant.new is not None and plant.new not in pb:
        return "edited paragraph not in extraction B", False
    if plant.old is not None and Counter(pb)[plant.old] >= Counter(pa)[plant.old]:
        return "old paragraph still in extraction B (the page repeats it)", False
    expect_b = Counter(pa)
    if plant.old is not None:
        expect_b[plant.old] -= 1
    if plant.new is not None:
        expect_b[plant.new] += 1
    return None, clean_meta and +expect_b == Counter(pb)


def _lcs(a: Sequence[str], b: Sequence[str]) -> int:
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b):
            cur.append(prev[j] + 1 if x == y else max(prev[j + 1], cur[j]))
        prev = cur
    return prev[-1]


def move_ok(got: list[Item], a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Every item is a paragraph move, and the moved set is a smallest explanation.

    The moved paragraphs are taken at the places the report gives (a page may repeat a
    paragraph); paragraphs found on one side only, or more often on one side than on the
    other (extractor drift), are left out.
    """
    if not got or any(it.get("kind") != "move" or it.get("unit") != "paragraph" for it in got):
        return False
    pa, pb = para_keys(a), para_keys(b)
    both = set(pa) & set(pb)
    moved_a = {it["a"]["paragraph"] for it in got}
    moved_b = {it["b"]["paragraph"] for it in got}
    rest_a = [p for k, p in enumerate(pa) if p in both and k not in moved_a]
    rest_b = [p for k, p in enumerate(pb) if p in both and k not in moved_b]
    common_a = [p for p in pa if p in both]
    common_b = [p for p in pb if p in both]

    def shared(x: list[str], y: list[str]) -> int:
        return sum((Counter(x) & Counter(y)).values())

    # Left in place, the rest keeps its order (with drift: up to paragraphs on one side).
    least = shared(common_a, common_b) - _lcs(common_a, common_b)
    return len(got) == least and _lcs(rest_a, rest_b) == shared(rest_a, rest_b)


# --- noise -----------------------------------------------------------------------------


def noise(root: Doc, minutes: int, style: str = "marked") -> None:
    """Boilerplate outside the article: an ad slot and a dateline above, an aside below.

    ``marked`` puts them where real pages do (a <header> holding the ad label in a <span>
    and the dateline in a <time>); ``bare`` (the first version of this benchmark) puts
    them as two bare <p> in a <div> at the top of <body>, which on pages whose article
    itself sits bare in <body> cannot be told apart from the article.
    """
    body = root.find("body")
    if body is None:
        return
    if style == "bare":
        header = lxml.html.fragment_fromstring(
            f'<div class="ad-slot"><p>Advertisement</p><p>Updated {minutes} minutes ago</p></div>'
        )
    else:
        header = lxml.html.fragment_fromstring(
            '<header class="site-header"><div class="ad-slot" aria-label="advertisement">'
            "<span>Advertisement</span></div>"
            f'<div class="dateline"><time>Updated {minutes} minutes ago</time></div></header>'
        )
    related = lxml.html.fragment_fromstring(
        '<aside class="related"><h3>Related stories</h3><ul>'
        '<li><a href="/x">Five things to know this week</a></li>'
        '<li><a href="/y">Opinion: what the vote means</a></li></ul></aside>'
    )
    body.insert(0, header)
    body.append(related)


def leaked(base: dict[str, Any], noisy: dict[str, Any]) -> bool:
    """Whether the planted noise shows in the extracted article (text or metadata)."""
    if noisy["article"] is None:
        return True
    before = " ".join(para_keys(base))
    after = " ".join(para_keys(noisy))
    planted = [norm(t) for t in NOISE_TEXTS]
    return para_keys(base, UPDATED) != para_keys(noisy, UPDATED) or any(
        t in after and t not in before for t in planted
    )


def items(report: DiffReport) -> list[Item]:
    data = report.to_json()
    return [*data["metadata_changes"], *data["changes"]]


# --- main ------------------------------------------------------------------------------


@dataclass
class Tally:
    planted: int = 0
    eligible: int = 0
    found: int = 0
    clean: int = 0
    reported: int = 0
    correct: int = 0
    drift: int = 0
    drift_found: int = 0


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--only", default="", help="only pages whose folder name contains this")
    ap.add_argument("--noise", choices=("marked", "bare"), default="marked")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    tally = {kind: Tally() for kind in PLANTERS}
    why: Counter[tuple[str, str]] = Counter()
    pages = skipped = noise_pairs = noise_false = noise_leaks = noise_false_leaked = 0
    sources = sorted(args.corpus.glob(f"*{args.only}*/source.html"))
    if args.limit:
        sources = sources[: args.limit]

    def say(msg: str) -> None:
        if args.verbose:
            print(msg, file=sys.stderr)

    for source in sources:
        name = source.parent.name
        html = source.read_text("utf-8", errors="replace")
        base = extract(html, URL)
        if base["article"] is None:
            skipped += 1
            continue
        pages += 1
        rng = random.Random(f"{args.seed}:{name}")
        tree = lxml.html.document_fromstring(html)
        for kind, planter in PLANTERS.items():
            root = deepcopy(tree)
            ps = article_ps(root, base)
            plant = planter(root, ps, rng, base) if kind in NEEDS_DOC else planter(root, ps, rng)
            if plant is None:
                continue
            t = tally[kind]
            t.planted += 1
            edited = extract(etree.tostring(root, encoding="unicode", method="html"), URL)
            reason, is_clean = eligibility(plant, base, edited)
            if reason:
                why[kind, reason] += 1
                say(f"{name}: {kind}: not eligible: {reason}")
                continue
            t.eligible += 1
            report = diff_documents(base, edited)
            got = items(report)
            if plant.moved is not None:
                # Under drift the extractor's own inserts/deletes are left out of the check.
                moves = got if is_clean else [it for it in got if it.get("kind") == "move"]
                hit = move_ok(moves, base, edited)
                hits = (
                    got if hit else [it for it in got if norm(it.get("new") or "") == plant.moved]
                )
            else:
                hits = [it for it in got if plant.match(it)]
                hit = bool(hits)
            t.found += hit
            if is_clean:
                t.clean += 1
                t.reported += len(got)
                t.correct += len(hits)
            else:
                t.drift += 1
                t.drift_found += hit
            if not hit or (is_clean and len(got) != len(hits)):
                state = "clean" if is_clean else "drift"
                say(f"{name}: {kind} ({state}): {'found' if hit else 'MISSED'}: {report.summary}")
        pair = []
        for minutes in (5, 47):
            root = deepcopy(tree)
            noise(root, minutes, args.noise)
            pair.append(extract(etree.tostring(root, encoding="unicode", method="html"), URL))
        for a, b in ((base, pair[0]), (pair[0], pair[1])):
            noise_pairs += 1
            leak = leaked(base, b) or leaked(base, a)
            noise_leaks += leak
            report = diff_documents(a, b, ignore=[UPDATED])
            if report.status != "unchanged":
                noise_false += 1
                noise_false_leaked += leak
                say(f"{name}: noise ({'leaked' if leak else 'NOT leaked'}): {report.summary}")
    print(f"pages with an article: {pages} (skipped, no article: {skipped})")
    head = ("edit kind", "planted", "eligible", "found", "recall", "clean", "precision", "drift")
    print(f"{head[0]:<20} " + " ".join(f"{h:>9}" for h in head[1:]))
    for kind, t in tally.items():
        recall = f"{t.found / t.eligible:.1%}" if t.eligible else "-"
        prec = f"{t.correct / t.reported:.1%}" if t.reported else "-"
        drift = f"{t.drift_found}/{t.drift}"
        cells = (t.planted, t.eligible, t.found, recall, t.clean, prec, drift)
        print(f"{kind:<20} " + " ".join(f"{c:>9}" for c in cells))
    print("recall: found / eligible; precision: over clean pairs (extractor changed nothing")
    print("else); drift: found / eligible pairs where the extractor also changed other text")
    if why:
        print("not eligible (the extractor did not return the planted text):")
        for (kind, reason), n in sorted(why.items()):
            print(f"  {kind}: {reason}: {n}")
    rate = noise_false / noise_pairs if noise_pairs else float("nan")
    print(
        f"noise-only pairs: {noise_pairs}, reported as changed: {noise_false} ({rate:.1%}); "
        f"noise leaked into the extracted article: {noise_leaks} pairs; "
        f"false changes without a leak (diff errors): {noise_false - noise_false_leaked}"
    )


if __name__ == "__main__":
    main()
