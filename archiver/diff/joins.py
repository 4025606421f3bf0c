"""Sentences split in two (or three), and sentences merged into one.

"The budget passed, which critics called small." -> "The budget passed. Critics called
it small." is one edited sentence, not a change plus an insert; when only punctuation
moved ("passed and critics" -> "passed. And critics"), the word-level diff then shows just
that punctuation. Pure and deterministic; each sentence is tried against the few runs
near its expected place on the other side, so work stays linear in the region size.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

JOIN_THRESHOLD = Fraction(3, 4)  # Dice of the one sentence against the joined run
MAX_RUN = 3
_REACH = 3  # run starts tried either side of the expected place


def _runs(ones: Sequence[list[str]], many: Sequence[list[str]]) -> list[tuple[int, list[int]]]:
    """(index in ``ones``, consecutive indices in ``many``) where one sentence became a run.

    Scores are compared as integer cross-products (Dice = 2|A & B| / (|A| + |B|)).
    """
    out: list[tuple[int, list[int]]] = []
    used: set[int] = set()
    sets = [set(k) for k in many]
    t_num, t_den = JOIN_THRESHOLD.numerator, JOIN_THRESHOLD.denominator
    for i, keys in enumerate(ones):
        one = set(keys)
        if not one:
            continue
        expect = (i * len(many)) // max(len(ones), 1)
        best: tuple[int, int, int, int] | None = None  # (2|A & B|, |A| + |B|, start, size)
        for size in range(2, MAX_RUN + 1):
            for start in range(max(expect - _REACH, 0), min(expect + _REACH, len(many) - size) + 1):
                run = range(start, start + size)
                if any(j in used for j in run):
                    continue
                shared = [len(sets[j] & one) for j in run]
                if sum(len(many[j]) for j in run) == len(keys) and [
                    k for j in run for k in many[j]
                ] == list(keys):
                    score = (2, 1)  # same words: only punctuation or case moved
                else:
                    # Every member has at least half its keys in the one sentence.
                    if any(
                        2 * n < len(sets[j]) or not sets[j]
                        for n, j in zip(shared, run, strict=True)
                    ):
                        continue
                    joined = set().union(*(sets[j] for j in run))
                    score = (2 * len(joined & one), len(joined) + len(one))
                    if score[0] * t_den < t_num * score[1]:
                        continue
                    # The run must explain the sentence better than its best member.
                    if any(
                        score[0] * (len(sets[j]) + len(one)) <= 2 * n * score[1]
                        for n, j in zip(shared, run, strict=True)
                    ):
                        continue
                if best is None or score[0] * best[1] > best[0] * score[1]:
                    best = (score[0], score[1], start, size)
        if best is not None:
            members = list(range(best[2], best[2] + best[3]))
            used.update(members)
            out.append((i, members))
    return out


def find_joins(
    keys_a: Sequence[list[str]], keys_b: Sequence[list[str]]
) -> list[tuple[list[int], list[int]]]:
    """Splits (one A sentence -> a run of B) and merges (a run of A -> one B sentence).

    ``keys_a``/``keys_b`` are the word keys of the deleted and inserted sentences of one
    region, in reading order. Returns (A indices, B indices) groups; no index twice.
    """
    groups = [([i], js) for i, js in _runs(keys_a, keys_b)]
    taken_a = {i for g, _ in groups for i in g}
    taken_b = {j for _, g in groups for j in g}
    rest_a = [i for i in range(len(keys_a)) if i not in taken_a]
    rest_b = [j for j in range(len(keys_b)) if j not in taken_b]
    merged = _runs([keys_b[j] for j in rest_b], [keys_a[i] for i in rest_a])
    for j, is_ in merged:
        members = [rest_a[i] for i in is_]
        if members == list(range(members[0], members[-1] + 1)):
            groups.append((members, [rest_b[j]]))
    return sorted(groups)
