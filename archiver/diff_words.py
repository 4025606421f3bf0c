"""Word-level changes inside one changed sentence (or headline), and the numbers they touch.

Tokens are atomic: a number such as "75,000" or "7.5%" is either kept or replaced as a
whole, so a change reads "[-75,000-]{+7,500+}", never as a character soup.
"""

from __future__ import annotations

from dataclasses import dataclass

from .diff_align import align
from .diff_text import Token, tokens


@dataclass(frozen=True)
class Segment:
    """A run of text in a changed sentence: ``op`` is "equal", "delete" or "insert".

    ``text`` is exact; a delete or insert may start with the white space that separates
    it from the text before (renderers print that space outside their markers).
    """

    op: str
    text: str

    def to_json(self) -> dict[str, str]:
        return {"op": self.op, "text": self.text}


@dataclass(frozen=True)
class NumberChange:
    """A number that changed: ``old`` or ``new`` is None when it was only removed or added."""

    old: str | None
    new: str | None

    def to_json(self) -> dict[str, str | None]:
        return {"old": self.old, "new": self.new}

    def label(self) -> str:
        return f"{self.old or '(none)'} -> {self.new or '(none)'}"


def _join(toks: list[Token]) -> str:
    return "".join(t.lead + t.text for t in toks)


def word_diff(old: str, new: str) -> tuple[list[Segment], list[NumberChange]]:
    """Segments that turn ``old`` into ``new``, and the numbers changed along the way."""
    ta, tb = tokens(old), tokens(new)
    pairs = align([t.key for t in ta], [t.key for t in tb])
    segments: list[Segment] = []
    numbers: list[NumberChange] = []

    def emit(op: str, text: str) -> None:
        if not text:
            return
        if segments and segments[-1].op == op:
            segments[-1] = Segment(op, segments[-1].text + text)
        else:
            segments.append(Segment(op, text))

    i = j = 0
    for pi, pj in [*pairs, (len(ta), len(tb))]:
        gone, came = ta[i:pi], tb[j:pj]
        if gone and came and gone[0].lead == came[0].lead:
            # Shared leading space belongs to the unchanged text before the replacement.
            emit("equal", gone[0].lead)
            gone = [Token("", gone[0].text, gone[0].kind), *gone[1:]]
            came = [Token("", came[0].text, came[0].kind), *came[1:]]
        emit("delete", _join(gone))
        emit("insert", _join(came))
        old_nums = [t.text for t in gone if t.kind == "num"]
        new_nums = [t.text for t in came if t.kind == "num"]
        for k in range(max(len(old_nums), len(new_nums))):
            numbers.append(
                NumberChange(
                    old_nums[k] if k < len(old_nums) else None,
                    new_nums[k] if k < len(new_nums) else None,
                )
            )
        if pi < len(ta):
            emit("equal", tb[pj].lead + tb[pj].text)
        i, j = pi + 1, pj + 1
    return segments, numbers
