"""Word-level changes inside one changed sentence (or headline), and the numbers they touch.

Tokens are atomic: a number such as "75,000" or "7.5%" is either kept or replaced as a
whole, so a change reads "[-75,000-]{+7,500+}", never as a character soup.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .align import align
from .text import Token, norm, tokens


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

    @property
    def same_value(self) -> bool:
        """Both forms read as the same value ("12%" -> "12 per cent", "three" -> "3")."""
        if self.old is None or self.new is None:
            return False
        a, b = _value(self.old), _value(self.new)
        return a is not None and a == b

    def to_json(self) -> dict[str, str | bool | None]:
        out: dict[str, str | bool | None] = {"old": self.old, "new": self.new}
        if self.same_value:
            out["same_value"] = True  # present only when true: most changes are of value
        return out

    def label(self) -> str:
        tail = " (same value, written differently)" if self.same_value else ""
        return f"{self.old or '(none)'} -> {self.new or '(none)'}{tail}"


# fmt: off
_SMALL = [
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
    "nineteen", "twenty",
]
# fmt: on
_UNITS = {
    "per cent": "%",
    "percent": "%",
    "bn": "b",
    "billion": "b",
    "trillion": "t",
    "tn": "t",
}
_VALUE = re.compile(
    r"(?P<sign>[-+]?)(?P<cur>[$\u20ac\u00a3\u00a5\u20b9]?)(?P<digits>\d+(?:[.,:/\-]\d+)*)"
    r"\s*(?P<unit>.*)"
)


def _value(text: str) -> tuple[str, str, str, str] | None:
    """A comparable reading of a number token, or None when it has no single reading.

    Only forms that cannot be misread compare equal: the same digits with the same sign,
    currency and unit, where "%" = "per cent" = "percent", "bn" = "billion", and a number
    word up to twenty equals its digits. "1,000" and "1.000" do not (one is a thousand or
    one, depending on the locale).
    """
    key = norm(text)
    if key in _SMALL:
        return ("", "", str(_SMALL.index(key)), "")
    match = _VALUE.fullmatch(key)
    if match is None:
        return None
    unit = " ".join(match["unit"].split())
    return (match["sign"], match["cur"], match["digits"], _UNITS.get(unit, unit))


# English number words. One replaced by a number (spelled or in digits) is called out as
# a number change ("three -> four", "three -> 5"); one merely added or removed is not, since
# "one" and "second" are as often pronouns or time words as counts.
# fmt: off
SPELLED_NUMBERS = frozenset(_SMALL) | {
    "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety", "hundred", "thousand",
    "million", "billion", "trillion", "dozen", "dozens", "hundreds", "thousands", "millions",
    "billions", "half", "quarter", "first", "second", "third", "fourth", "fifth", "sixth",
    "seventh", "eighth", "ninth", "tenth",
}
# fmt: on


def _numeric(tok: Token) -> bool:
    return tok.kind == "num" or (tok.kind == "word" and tok.key in SPELLED_NUMBERS)


def _number_changes(gone: list[Token], came: list[Token]) -> list[NumberChange]:
    old = [t for t in gone if _numeric(t)]
    new = [t for t in came if _numeric(t)]
    out = []
    for k in range(max(len(old), len(new))):
        a = old[k] if k < len(old) else None
        b = new[k] if k < len(new) else None
        alone = a if b is None else b if a is None else None
        if alone is not None and alone.kind != "num":
            continue  # a number word added or removed alone: not a count changing
        out.append(NumberChange(a.text if a else None, b.text if b else None))
    return out


def _join(toks: list[Token]) -> str:
    return "".join(t.lead + t.text for t in toks)


def word_diff(old: str, new: str) -> tuple[list[Segment], list[NumberChange]]:
    """Segments that turn ``old`` into ``new``, and the numbers changed along the way.

    Equal segments carry ``new``'s spelling (they may differ from ``old`` in case or
    typography only); ``side_views`` gives each side in its own spelling.
    """
    ta, tb = tokens(old), tokens(new)
    return _diff(ta, tb, _pairs(ta, tb), keep_old=False)


def side_views(old: str, new: str) -> tuple[list[Segment], list[Segment]]:
    """Each side's view of ``word_diff``: equal + delete in ``old``'s own spelling, and
    equal + insert in ``new``'s, so a side-by-side view never shows A with B's letters."""
    ta, tb = tokens(old), tokens(new)
    pairs = _pairs(ta, tb)
    view_a = [s for s in _diff(ta, tb, pairs, keep_old=True)[0] if s.op != "insert"]
    view_b = [s for s in _diff(ta, tb, pairs, keep_old=False)[0] if s.op != "delete"]
    return view_a, view_b


def _pairs(ta: list[Token], tb: list[Token]) -> list[tuple[int, int]]:
    """Token alignment. Where numbers changed, the sentence's shape may align better with
    each number slot against the other side's ("from 5 to 7" -> "from 7 to 9" reads
    5 -> 7, 7 -> 9, not 5 removed and 9 added around a kept 7): both alignments are tried
    and the one with fewer number changes, then fewer numbers only removed or added, wins
    (ties: the exact alignment)."""
    exact = align([t.key for t in ta], [t.key for t in tb])
    if not any(t.kind == "num" for t in ta) or not any(t.kind == "num" for t in tb):
        return exact
    slot = "\x00#"  # no text token has this key
    shaped = align(
        [slot if t.kind == "num" else t.key for t in ta],
        [slot if t.kind == "num" else t.key for t in tb],
    )
    shaped = [(i, j) for i, j in shaped if ta[i].key == tb[j].key]

    def cost(pairs: list[tuple[int, int]]) -> tuple[int, int]:
        numbers = _diff(ta, tb, pairs, keep_old=False)[1]
        return len(numbers), sum(n.old is None or n.new is None for n in numbers)

    return shaped if cost(shaped) < cost(exact) else exact


def _diff(
    ta: list[Token], tb: list[Token], pairs: list[tuple[int, int]], *, keep_old: bool
) -> tuple[list[Segment], list[NumberChange]]:
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
        numbers += _number_changes(gone, came)
        if pi < len(ta):
            kept = ta[pi] if keep_old else tb[pj]
            emit("equal", kept.lead + kept.text)
        i, j = pi + 1, pj + 1
    return segments, numbers
