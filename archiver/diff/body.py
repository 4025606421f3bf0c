"""The body diff: which sentences of A and B match, moved, changed, or were added or removed.

Paragraphs are aligned first, then sentences within each gap between matched
paragraphs; unmatched sentences are then explained as moves, splits and merges,
changes in place, moved-and-edited sentences, and finally inserts and deletes (see the
``documents`` module for the order). ``collect`` turns the decisions into report items.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Sequence
from fractions import Fraction

from .align import align
from .collect import collect
from .joins import find_joins
from .model import Change, Row
from .pairing import pair_extended, pair_similar
from .text import word_keys
from .units import Unit, flatten, para_groups

MOVE_THRESHOLD = Fraction(2, 3)
MOVE_MIN_WORDS = 4


def diff_body(
    paras_a: Sequence[Sequence[str]], paras_b: Sequence[Sequence[str]]
) -> tuple[tuple[Change, ...], tuple[Row, ...]]:
    ua, ub = flatten(paras_a), flatten(paras_b)
    pairs = _align_two_levels(ua, ub)
    matched_a = {i for i, _ in pairs}
    matched_b = {j for _, j in pairs}
    for i, u in enumerate(ua):
        if i not in matched_a and u.status == "equal":
            u.status = "delete"
    for j, u in enumerate(ub):
        if j not in matched_b and u.status == "equal":
            u.status = "insert"
    _sentence_moves(ua, ub)
    # Regions: unmatched runs between the same two aligned neighbours.
    bounds = [(-1, -1), *pairs, (len(ua), len(ub))]
    region: dict[tuple[str, int], int] = {}
    joins: dict[tuple[str, int], tuple[list[int], list[int]]] = {}
    for r, ((i0, j0), (i1, j1)) in enumerate(itertools.pairwise(bounds)):
        dels = [i for i in range(i0 + 1, i1) if ua[i].status == "delete"]
        ins = [j for j in range(j0 + 1, j1) if ub[j].status == "insert"]
        region.update({("a", i): r for i in dels} | {("b", j): r for j in ins})
        if dels and ins:
            keys_a = [word_keys(ua[i].text) for i in dels]
            keys_b = [word_keys(ub[j].text) for j in ins]
            groups = find_joins(keys_a, keys_b)
            for xs, ys in groups:
                group = ([dels[i] for i in xs], [ins[j] for j in ys])
                for x in group[0]:
                    ua[x].status, ua[x].partner = "change", group[1][0]
                    joins["a", x] = group
                for y in group[1]:
                    ub[y].status, ub[y].partner = "change", group[0][0]
                    joins["b", y] = group
            if groups:
                left_a = [n for n, i in enumerate(dels) if ua[i].status == "delete"]
                left_b = [n for n, j in enumerate(ins) if ub[j].status == "insert"]
                dels, ins = [dels[n] for n in left_a], [ins[n] for n in left_b]
                keys_a, keys_b = [keys_a[n] for n in left_a], [keys_b[n] for n in left_b]
        if dels and ins:
            found = pair_similar(keys_a, keys_b)
            if not found and len(dels) == len(ins) == 1 and max(map(len, keys_a + keys_b)) <= 3:
                found = [(0, 0)]  # a short line replaced in place: Dice is too coarse there
            paired_a = {i for i, _ in found}
            paired_b = {j for _, j in found}
            rest_a = [i for i in range(len(dels)) if i not in paired_a]
            rest_b = [j for j in range(len(ins)) if j not in paired_b]
            if rest_a and rest_b:
                # One line left on each side is in place: a single word may be extended.
                least = 1 if len(rest_a) == len(rest_b) == 1 else 2
                more = pair_extended(
                    [keys_a[i] for i in rest_a], [keys_b[j] for j in rest_b], min_keys=least
                )
                found += [(rest_a[i], rest_b[j]) for i, j in more]
            for i, j in found:
                ua[dels[i]].status = ub[ins[j]].status = "change"
                ua[dels[i]].partner, ub[ins[j]].partner = ins[j], dels[i]
    _moved_changes(ua, ub, region)
    return collect(ua, ub, bounds, joins)


def _moved_changes(ua: list[Unit], ub: list[Unit], region: dict[tuple[str, int], int]) -> None:
    """A sentence deleted here and inserted elsewhere, edited on the way, is one move.

    Left-over deletes and inserts anywhere in the document pair when their word sets are
    similar at ``MOVE_THRESHOLD`` (stricter than in place) and hold ``MOVE_MIN_WORDS``
    word keys at least; such a move carries word-level segments.
    """
    dels = [n for n, u in enumerate(ua) if u.status == "delete"]
    ins = [n for n, u in enumerate(ub) if u.status == "insert"]
    if not dels or not ins:
        return
    keys_a = [word_keys(ua[n].text) for n in dels]
    keys_b = [word_keys(ub[n].text) for n in ins]
    for i, j in pair_similar(keys_a, keys_b, threshold=MOVE_THRESHOLD):
        if min(len(set(keys_a[i])), len(set(keys_b[j]))) < MOVE_MIN_WORDS:
            continue
        x, y = dels[i], ins[j]
        # Between the same two aligned neighbours it did not move: it changed in place.
        in_place = region.get(("a", x)) == region.get(("b", y))
        ua[x].status = ub[y].status = "change" if in_place else "mchange"
        ua[x].partner, ub[y].partner = y, x


def _align_two_levels(ua: list[Unit], ub: list[Unit]) -> list[tuple[int, int]]:
    """Align whole paragraphs first, then sentences between matched paragraphs.

    Paragraphs match on their sentence keys. An unmatched paragraph with the same keys as
    an unmatched one on the other side is one paragraph move (taken in reading order), so
    the moved set is the paragraphs left out of the paragraph alignment: the fewest that
    explain the reorder. Sentences of the other unmatched paragraphs are aligned within
    each gap between two matched paragraphs. Returns matched sentence pairs.
    """
    groups_a = list(para_groups(ua).values())
    groups_b = list(para_groups(ub).values())
    keys_a = [tuple(ua[n].key for n in g) for g in groups_a]
    keys_b = [tuple(ub[n].key for n in g) for g in groups_b]
    para_pairs = align(keys_a, keys_b)
    matched_a = {p for p, _ in para_pairs}
    matched_b = {q for _, q in para_pairs}
    waiting: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for p, key in enumerate(keys_a):
        if p not in matched_a:
            waiting[key].append(p)
    for q, key in enumerate(keys_b):
        queue = waiting.get(key) if q not in matched_b else None
        if queue:
            p = queue.pop(0)
            for x, y in zip(groups_a[p], groups_b[q], strict=True):
                ua[x].status = ub[y].status = "pmove"
                ua[x].partner, ub[y].partner = y, x
    pairs: list[tuple[int, int]] = []
    bounds = [(-1, -1), *para_pairs, (len(groups_a), len(groups_b))]
    for (p0, q0), (p1, q1) in itertools.pairwise(bounds):
        gap_a = [n for p in range(p0 + 1, p1) for n in groups_a[p] if ua[n].status == "equal"]
        gap_b = [n for q in range(q0 + 1, q1) for n in groups_b[q] if ub[n].status == "equal"]
        if gap_a and gap_b:
            found = align([ua[n].key for n in gap_a], [ub[n].key for n in gap_b])
            pairs += [(gap_a[i], gap_b[j]) for i, j in found]
        if p1 < len(groups_a):
            pairs += zip(groups_a[p1], groups_b[q1], strict=True)
    return pairs


def _sentence_moves(ua: list[Unit], ub: list[Unit]) -> None:
    """A sentence deleted here and inserted with the same key there is one move."""
    waiting: dict[str, list[int]] = defaultdict(list)
    for n, u in enumerate(ua):
        if u.status == "delete":
            waiting[u.key].append(n)
    for n, u in enumerate(ub):
        queue = waiting.get(u.key) if u.status == "insert" else None
        if queue:
            x = queue.pop(0)
            ua[x].status = u.status = "move"
            ua[x].partner, u.partner = n, x
