"""Pair deleted with inserted sentences that are edits of each other.

Similarity is the Dice coefficient of the two sentences' sets of word and number keys:
``2 * |A & B| / (|A| + |B|)``. Pairs at or above ``THRESHOLD`` become "changed"
sentences, best pairs first (ties broken by position), each sentence in one pair at most.

Candidates come from prefix filtering (as in set-similarity joins): with keys ordered
rarest first, two sets whose Dice reaches the threshold must share a key within the
first ``|A| - ceil(t * |A| / (2 - t)) + 1`` keys of each. This finds every qualifying
pair while skipping most pairs of unrelated sentences; it has no cut-off.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from fractions import Fraction

THRESHOLD = 0.5
_T = Fraction(1, 2)


def _prefix_len(size: int) -> int:
    need = math.ceil(_T * size / (2 - _T))  # least overlap any qualifying partner shares
    return max(size - need + 1, 0)


def pair_similar(
    old: Sequence[Sequence[str]], new: Sequence[Sequence[str]]
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
        for key in ordered(s)[: _prefix_len(len(s))]:
            index[key].append(j)
    scored: list[tuple[Fraction, int, int]] = []
    for i, s in enumerate(sets_a):
        seen: set[int] = set()
        for key in ordered(s)[: _prefix_len(len(s))]:
            seen.update(index.get(key, ()))
        for j in sorted(seen):
            total = len(s) + len(sets_b[j])
            score = Fraction(2 * len(s & sets_b[j]), total) if total else Fraction(0)
            if score >= _T:
                scored.append((-score, i, j))
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
