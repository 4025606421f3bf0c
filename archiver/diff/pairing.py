"""Pair deleted with inserted sentences that are edits of each other.

Similarity is the Dice coefficient of the two sentences' sets of word and number keys:
``2 * |A & B| / (|A| + |B|)``. Pairs at or above ``THRESHOLD`` become "changed"
sentences, best pairs first (ties broken by position), each sentence in one pair at most.

Candidates come from prefix filtering (as in set-similarity joins): with keys ordered
rarest first, two sets whose Dice reaches the threshold must share a key within the
first ``|A| - ceil(t * |A| / (2 - t)) + 1`` keys of each. This finds every qualifying
pair while skipping most pairs of unrelated sentences. Work is bounded, deterministically:
for each sentence and prefix key, only the ``CANDIDATES_PER_KEY`` partners nearest to
the place the sentence would have on the other side are scored. That bound bites only on
keys shared by more sentences than that (a rewrite in a tiny vocabulary); rarer keys are
read in full.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections import Counter, defaultdict
from collections.abc import Sequence
from fractions import Fraction

THRESHOLD = 0.5
_T = Fraction(1, 2)


def _prefix_len(size: int, t: Fraction) -> int:
    need = math.ceil(t * size / (2 - t))  # least overlap any qualifying partner shares
    return max(size - need + 1, 0)


CANDIDATES_PER_KEY = 32
"""Postings read per key and sentence: a bound on work where every sentence shares keys."""


def _nearest(postings: list[int], expect: int) -> list[int]:
    """The ``CANDIDATES_PER_KEY`` postings nearest to position ``expect`` (all if fewer)."""
    if len(postings) <= CANDIDATES_PER_KEY:
        return postings
    k = bisect_left(postings, expect)
    lo = max(0, min(k - CANDIDATES_PER_KEY // 2, len(postings) - CANDIDATES_PER_KEY))
    return postings[lo : lo + CANDIDATES_PER_KEY]


def pair_similar(
    old: Sequence[Sequence[str]], new: Sequence[Sequence[str]], *, threshold: Fraction = _T
) -> list[tuple[int, int]]:
    """Return ``(i, j)`` pairs of similar sentences, given each sentence's word keys."""
    sets_a = [frozenset(keys) for keys in old]
    sets_b = [frozenset(keys) for keys in new]
    freq: Counter[str] = Counter()
    for s in (*sets_a, *sets_b):
        freq.update(s)

    def ordered(s: frozenset[str]) -> list[str]:
        return sorted(s, key=lambda k: (freq[k], k))

    index: dict[str, list[int]] = defaultdict(list)
    for j, s in enumerate(sets_b):
        for key in ordered(s)[: _prefix_len(len(s), threshold)]:
            index[key].append(j)
    # Scores as floats: 2*inter/total of word counts far below 2**20 is correctly rounded,
    # so equal ratios give equal floats and different ones keep their order (exact ties).
    scored: list[tuple[float, int, int]] = []
    num, den = threshold.numerator, threshold.denominator
    for i, s in enumerate(sets_a):
        expect = i * len(sets_b) // max(len(sets_a), 1)  # where i's partner sits if in place
        seen: set[int] = set()
        for key in ordered(s)[: _prefix_len(len(s), threshold)]:
            seen.update(_nearest(index.get(key, []), expect))
        for j in sorted(seen):
            inter = len(s & sets_b[j])
            total = len(s) + len(sets_b[j])
            if total and 2 * inter * den >= num * total:
                scored.append((-2 * inter / total, i, j))
    scored.sort()
    used_a: set[int] = set()
    used_b: set[int] = set()
    pairs = []
    for _, i, j in scored:
        if i not in used_a and j not in used_b:
            used_a.add(i)
            used_b.add(j)
            pairs.append((i, j))
    return sorted(pairs)


EXTENSION_CANDIDATES = 8
"""Partners checked per deleted sentence by ``pair_extended`` (a bound on work, not time)."""


def is_extension(short: Sequence[str], long: Sequence[str], min_keys: int = 2) -> bool:
    """Whether ``long`` is ``short`` with one run of words added (at its start, end or inside).

    ``short`` must hold ``min_keys`` keys at least.
    """
    if len(short) < max(min_keys, 1) or len(short) >= len(long):
        return False
    head = 0
    while head < len(short) and short[head] == long[head]:
        head += 1
    tail = 0
    while tail < len(short) - head and short[-1 - tail] == long[-1 - tail]:
        tail += 1
    return head + tail == len(short)


def pair_extended(
    old: Sequence[Sequence[str]], new: Sequence[Sequence[str]], *, min_keys: int = 2
) -> list[tuple[int, int]]:
    """Pair sentences where one is the other with a run of words added or removed.

    This catches what Dice misses when the added run is long against a short sentence
    ("We will:" -> "We will: officials declined to comment ..."), typically where a
    sentence was added to one the splitter cannot break from (no end punctuation). The
    shorter sentence holds ``min_keys`` word keys at least.
    Deterministic: deleted sentences in order, each takes the first free inserted one
    sharing its first or last key that qualifies, among the first ``EXTENSION_CANDIDATES``
    inserted sentences that start or end with each of those keys.
    """
    by_edge: dict[str, list[int]] = defaultdict(list)
    for j, keys in enumerate(new):
        if keys:
            by_edge[keys[0]].append(j)
            if keys[-1] != keys[0]:
                by_edge[keys[-1]].append(j)
    used: set[int] = set()
    pairs = []
    for i, keys in enumerate(old):
        if not keys:
            continue
        first = by_edge.get(keys[0], [])[:EXTENSION_CANDIDATES]
        last = by_edge.get(keys[-1], [])[:EXTENSION_CANDIDATES]
        for j in sorted({*first, *last} - used):
            other = new[j]
            if is_extension(keys, other, min_keys) or is_extension(other, keys, min_keys):
                used.add(j)
                pairs.append((i, j))
                break
    return pairs
