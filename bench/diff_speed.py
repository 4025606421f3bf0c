"""Speed and peak memory of archiver.diff on synthetic articles, against difflib.

Usage: python bench/diff_speed.py [--sizes 10,30,100,300,1000] [--edit-rate 0.01] [--seed 1]
                                 [--tiny-vocabulary N]

For each size (KB of article text) a seeded random article is built (paragraphs of 3-7
sentences with words and numbers), then 1% of its sentences are edited (a word or a
number changed, a sentence deleted or inserted, in equal shares). Reported per size:
seconds for diff_documents (best of 3), peak Python memory (tracemalloc, separate run),
seconds for difflib.SequenceMatcher(None, words_a, words_b).get_opcodes() on the same
texts' word lists, and the growth ratio of time per size step.

``--tiny-vocabulary N`` measures the worst case instead: both sides are articles written
in the same N words and B is a complete rewrite of A (no sentence in common, no unique
word to anchor on), where an exact alignment would be quadratic.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import tracemalloc
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from archiver.diff import diff_documents

WORDS = [
    "the",
    "council",
    "city",
    "mayor",
    "budget",
    "report",
    "said",
    "would",
    "could",
    "vote",
    "plan",
    "residents",
    "police",
    "school",
    "road",
    "water",
    "tax",
    "year",
    "month",
    "week",
    "people",
    "official",
    "statement",
    "court",
    "judge",
    "case",
    "company",
    "market",
    "price",
    "rate",
    "growth",
    "health",
    "hospital",
    "patients",
    "doctors",
    "data",
    "study",
    "new",
    "old",
    "first",
    "last",
    "public",
    "private",
    "local",
    "national",
    "government",
    "minister",
    "party",
    "election",
]


def sentence(rng: random.Random, vocab: list[str] = WORDS) -> str:
    words = [rng.choice(vocab) for _ in range(rng.randint(8, 22))]
    if vocab is WORDS and rng.random() < 0.4:
        words.insert(rng.randrange(len(words)), f"{rng.randint(1, 999)},{rng.randint(0, 999):03d}")
    if vocab is WORDS and rng.random() < 0.2:
        words.insert(rng.randrange(len(words)), f"{rng.randint(1, 99)}.{rng.randint(0, 9)}%")
    words[0] = words[0].capitalize()
    return " ".join(words) + "."


def article(size_kb: int, rng: random.Random, vocab: list[str] = WORDS) -> list[list[str]]:
    paras: list[list[str]] = []
    total = 0
    while total < size_kb * 1000:
        para = [sentence(rng, vocab) for _ in range(rng.randint(3, 7))]
        total += sum(len(s) + 1 for s in para) + 2
        paras.append(para)
    return paras


def edit(paras: list[list[str]], rate: float, rng: random.Random) -> list[list[str]]:
    out = [list(p) for p in paras]
    slots = [(p, s) for p, para in enumerate(out) for s in range(len(para))]
    chosen = sorted(rng.sample(slots, max(1, int(len(slots) * rate))), reverse=True)
    for n, (p, s) in enumerate(chosen):
        kind = n % 4
        words = out[p][s].split(" ")
        if kind == 0:
            words[rng.randrange(len(words))] = rng.choice(WORDS)
            out[p][s] = " ".join(words)
        elif kind == 1:
            out[p][s] = " ".join([*words[:2], f"{rng.randint(1, 99)},500", *words[2:]])
        elif kind == 2:
            del out[p][s]
        else:
            out[p].insert(s, sentence(rng))
    return [p for p in out if p]


def as_doc(paras: list[list[str]]) -> dict[str, Any]:
    text = "\n\n".join(" ".join(p) for p in paras)
    return {
        "article": {"title": "t", "byline": None, "published": None, "modified": None,
                    "site_name": None, "text": text},
        "reason": None,
        "page_text": text,
        "extractor": {"name": "synthetic", "version": "0", "settings": {}},
    }  # fmt: skip


def best_of(n: int, fn: Any) -> float:
    best = float("inf")
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10,30,100,300,1000", help="article sizes in KB")
    ap.add_argument("--edit-rate", type=float, default=0.01)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--skip-difflib", action="store_true")
    ap.add_argument("--tiny-vocabulary", type=int, default=0, metavar="N")
    args = ap.parse_args()
    print(f"{'size KB':>8} {'sentences':>9} {'changes':>7} {'diff s':>8} {'peak MB':>8} "
          f"{'difflib s':>9} {'growth':>7}")  # fmt: skip
    prev: tuple[float, float] | None = None
    for size in (int(s) for s in args.sizes.split(",")):
        rng = random.Random(args.seed * 1000003 + size)
        if args.tiny_vocabulary:
            vocab = WORDS[: args.tiny_vocabulary]
            paras, new = article(size, rng, vocab), article(size, rng, vocab)
        else:
            paras = article(size, rng)
            new = edit(paras, args.edit_rate, rng)
        a, b = as_doc(paras), as_doc(new)
        report = diff_documents(a, b)
        secs = best_of(3, lambda a=a, b=b: diff_documents(a, b))
        tracemalloc.start()
        diff_documents(a, b)
        peak = tracemalloc.get_traced_memory()[1] / 1e6
        tracemalloc.stop()
        dl = float("nan")
        if not args.skip_difflib:
            wa = a["article"]["text"].split()
            wb = b["article"]["text"].split()
            dl = best_of(1, lambda wa=wa, wb=wb: SequenceMatcher(None, wa, wb).get_opcodes())
        growth = ""
        if prev is not None:
            growth = f"{(secs / prev[0]) / (size / prev[1]):.2f}"
        prev = (secs, float(size))
        n_sent = sum(len(p) for p in paras)
        print(f"{size:>8} {n_sent:>9} {len(report.changes):>7} {secs:>8.3f} {peak:>8.1f} "
              f"{dl:>9.3f} {growth:>7}")  # fmt: skip
    print("growth = (time ratio) / (size ratio) between consecutive sizes; 1.0 is linear")


if __name__ == "__main__":
    main()
