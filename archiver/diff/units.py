"""The unit of the body diff: one sentence of a side, where it sits, and what was decided.

``body`` makes the decisions (equal, insert, delete, change, move) and ``collect`` turns
them into report items; both work on these units.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from .text import norm


@dataclass
class Unit:
    """A sentence on one side, and what the diff decided about it."""

    para: int
    index: int  # within paragraph
    text: str
    key: str
    status: str = "equal"
    change: int | None = None
    partner: int | None = None  # flat index on the other side (moves and changes)


def flatten(paras: Sequence[Sequence[str]]) -> list[Unit]:
    return [
        Unit(p, s, text, norm(text)) for p, para in enumerate(paras) for s, text in enumerate(para)
    ]


def para_groups(units: list[Unit]) -> dict[int, list[int]]:
    groups: dict[int, list[int]] = defaultdict(list)
    for n, u in enumerate(units):
        groups[u.para].append(n)
    return groups
