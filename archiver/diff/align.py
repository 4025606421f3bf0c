"""Exact, deterministic alignment of two sequences of matching keys.

Patience-style: common prefix and suffix are matched first; then keys that occur exactly
once on each side become anchors, and the longest increasing subsequence of those
anchors (in order on both sides) is kept; the gaps between anchors are aligned the same
way, recursively. A gap with no unique common key is aligned by Myers' O(ND) shortest
edit script on the keys common to both sides of that gap (an exact LCS, never cut
short), when the gap's size (length on one side times length on the other) is at most
``MAX_EXACT``. A larger gap with no unique key (a rewrite in a tiny vocabulary, where
Myers is quadratic) is first cut into k blocks of equal share on both sides, block t
aligned with block t, so the work per gap is bounded by its size, not by its edit
distance. No time limits: the same input always gives the same pairs.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections import Counter
from collections.abc import Hashable, Sequence

MAX_EXACT = 10_000
"""Largest gap (len_a * len_b) without a unique common key that is aligned exactly."""


def align(a: Sequence[Hashable], b: Sequence[Hashable]) -> list[tuple[int, int]]:
    """Return matched index pairs ``(i, j)`` with ``a[i] == b[j]``, increasing on both sides."""
    pairs: list[tuple[int, int]] = []
    work = [(0, len(a), 0, len(b))]
    while work:
        alo, ahi, blo, bhi = work.pop()
        while alo < ahi and blo < bhi and a[alo] == b[blo]:
            pairs.append((alo, blo))
            alo += 1
            blo += 1
        while alo < ahi and blo < bhi and a[ahi - 1] == b[bhi - 1]:
            ahi -= 1
            bhi -= 1
            pairs.append((ahi, bhi))
        if alo >= ahi or blo >= bhi:
            continue
        anchors = _unique_anchors(a, b, alo, ahi, blo, bhi)
        if not anchors:
            size = (ahi - alo) * (bhi - blo)
            if size <= MAX_EXACT:
                pairs.extend(_myers(a, b, alo, ahi, blo, bhi))
                continue
            # Bounded work: cut both sides into k blocks of the same share and align block
            # t of one with block t of the other (each one gets anchors or Myers again).
            k = math.isqrt(-(-size // MAX_EXACT) - 1) + 1  # ceil(sqrt(size / MAX_EXACT))
            cuts_a = [alo + (ahi - alo) * t // k for t in range(k + 1)]
            cuts_b = [blo + (bhi - blo) * t // k for t in range(k + 1)]
            for t in range(k):
                work.append((cuts_a[t], cuts_a[t + 1], cuts_b[t], cuts_b[t + 1]))
            continue
        prev_a, prev_b = alo, blo
        for i, j in anchors:
            pairs.append((i, j))
            work.append((prev_a, i, prev_b, j))
            prev_a, prev_b = i + 1, j + 1
        work.append((prev_a, ahi, prev_b, bhi))
    pairs.sort()
    return pairs


def _unique_anchors(
    a: Sequence[Hashable], b: Sequence[Hashable], alo: int, ahi: int, blo: int, bhi: int
) -> list[tuple[int, int]]:
    """Keys unique on both sides of the range, reduced to their longest common order."""
    count_a = Counter(a[alo:ahi])
    count_b = Counter(b[blo:bhi])
    where_b = {b[j]: j for j in range(blo, bhi) if count_b[b[j]] == 1}
    cand = [(i, where_b[a[i]]) for i in range(alo, ahi) if count_a[a[i]] == 1 and a[i] in where_b]
    return _longest_increasing(cand)


def _longest_increasing(cand: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Longest subsequence of ``cand`` (sorted by i) whose j also increases (patience sort)."""
    tails: list[int] = []  # tails[k] = smallest j ending an increasing run of length k+1
    tail_idx: list[int] = []
    back: list[int] = [-1] * len(cand)
    for n, (_, j) in enumerate(cand):
        k = bisect_left(tails, j)
        if k == len(tails):
            tails.append(j)
            tail_idx.append(n)
        else:
            tails[k] = j
            tail_idx[k] = n
        back[n] = tail_idx[k - 1] if k > 0 else -1
    out: list[tuple[int, int]] = []
    n = tail_idx[-1] if tail_idx else -1
    while n >= 0:
        out.append(cand[n])
        n = back[n]
    out.reverse()
    return out


def _myers(
    a: Sequence[Hashable], b: Sequence[Hashable], alo: int, ahi: int, blo: int, bhi: int
) -> list[tuple[int, int]]:
    """Exact LCS of a gap by Myers' greedy algorithm, on the keys both sides share."""
    common = set(a[alo:ahi]) & set(b[blo:bhi])
    if not common:
        return []
    xs = [i for i in range(alo, ahi) if a[i] in common]
    ys = [j for j in range(blo, bhi) if b[j] in common]
    n, m = len(xs), len(ys)
    offset = n + m + 1
    v = [0] * (2 * offset + 1)
    trace: list[list[int]] = []
    found = False
    for d in range(n + m + 1):
        trace.append(v[offset - d : offset + d + 1] if d else [0])
        for k in range(-d, d + 1, 2):
            if k == -d or (k != d and v[offset + k - 1] < v[offset + k + 1]):
                x = v[offset + k + 1]
            else:
                x = v[offset + k - 1] + 1
            y = x - k
            while x < n and y < m and a[xs[x]] == b[ys[y]]:
                x += 1
                y += 1
            v[offset + k] = x
            if x >= n and y >= m:
                found = True
                break
        if found:
            break
    # Walk back through the saved frontiers to recover the matched diagonals.
    pairs: list[tuple[int, int]] = []
    x, y = n, m
    for d in range(len(trace) - 1, 0, -1):
        prev = trace[d]  # frontier after step d-1, diagonal k stored at index k+d
        k = x - y

        def at(kk: int, prev: list[int] = prev, d: int = d) -> int:
            return prev[kk + d]

        prev_k = k + 1 if k == -d or (k != d and at(k - 1) < at(k + 1)) else k - 1
        prev_x = at(prev_k)
        prev_y = prev_x - prev_k
        while x > prev_x and y > prev_y:
            x -= 1
            y -= 1
            pairs.append((xs[x], ys[y]))
        x, y = prev_x, prev_y
    while x > 0 and y > 0:
        x -= 1
        y -= 1
        pairs.append((xs[x], ys[y]))
    pairs.reverse()
    return pairs
