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
MEMBER_SHARE = Fraction(1, 2)  # least share of each run member's keys found in the one
MAX_RUN = 3
_REACH = 3  # run starts tried either side of the expected place


def _dice(a: set[str], b: set[str]) -> Fraction:
    if not a and not b:
        return Fraction(1)
    return Fraction(2 * len(a & b), len(a) + len(b))


def _runs(ones: Sequence[list[str]], many: Sequence[list[str]]) -> list[tuple[int, list[int]]]:
    """(index in ``ones``, consecutive indices in ``many``) where one sentence became a run."""
    out: list[tuple[int, list[int]]] = []
    used: set[int] = set()
    sets = [set(k) for k in many]
    for i, keys in enumerate(ones):
        one = set(keys)
        if not one:
            continue
        expect = (i * len(many)) // max(len(ones), 1)
        best: tuple[Fraction, int, int] | None = None
        for size in range(2, MAX_RUN + 1):
            for start in range(max(expect - _REACH, 0), min(expect + _REACH, len(many) - size) + 1):
                run = range(start, start + size)
                if any(j in used for j in run):
                    continue
                joined = [k for j in run for k in many[j]]
                exact = joined == keys
                if not exact and any(
                    not sets[j] or Fraction(len(sets[j] & one), len(sets[j])) < MEMBER_SHARE
                    for j in run
                ):
                    continue
                score = Fraction(2) if exact else _dice(one, set(joined))
                # The run must explain the sentence better than its best single member.
                if not exact and score <= max(_dice(one, sets[j]) for j in run):
                    continue
                if score >= JOIN_THRESHOLD and (best is None or score > best[0]):
                    best = (score, start, size)
        if best is not None:
            _, start, size = best
            members = list(range(start, start + size))
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
