"""Turn the body diff's decisions about each sentence into Change items and rows.

Consecutive sentences inserted, deleted or moved together become one item; a split or
merged sentence keeps word-level segments cut back into each of its sentences.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping

from .model import Change, Loc, Mark, Row
from .units import Unit, para_groups
from .words import Segment, side_views, word_diff


def collect(
    ua: list[Unit],
    ub: list[Unit],
    bounds: list[tuple[int, int]],
    joins: Mapping[tuple[str, int], tuple[list[int], list[int]]],
) -> tuple[tuple[Change, ...], tuple[Row, ...]]:
    """Turn unit decisions into ordered Change items and side-by-side rows."""
    groups_a, groups_b = para_groups(ua), para_groups(ub)
    whole = {
        "a": {p for p, m in groups_a.items() if all(ua[n].status == "delete" for n in m)},
        "b": {p for p, m in groups_b.items() if all(ub[n].status == "insert" for n in m)},
    }
    stream: list[tuple[int | None, int | None]] = []  # (a index, b index) in reading order
    for (i0, j0), (i1, j1) in itertools.pairwise(bounds):
        stream += [(i, None) for i in range(i0 + 1, i1)]
        stream += [(None, j) for j in range(j0 + 1, j1)]
        if i1 < len(ua):
            stream.append((i1, j1))
    changes: list[Change] = []
    segs: dict[tuple[str, int], tuple[Segment, ...]] = {}
    for i, j in stream:
        if i is not None and j is None:
            side, n = "a", i
        elif j is not None and i is None:
            side, n = "b", j
        else:
            continue
        u = ua[n] if side == "a" else ub[n]
        if u.change is not None:
            continue
        idx = len(changes)
        if u.status == "pmove" and u.partner is not None:
            x, y = (n, u.partner) if side == "a" else (u.partner, n)
            pa, pb = ua[x].para, ub[y].para
            changes.append(
                Change(
                    "move",
                    "paragraph",
                    " ".join(ua[m].text for m in groups_a[pa]),
                    " ".join(ub[m].text for m in groups_b[pb]),
                    Loc(pa),
                    Loc(pb),
                    sentences=len(groups_b[pb]),
                )
            )
            for m in groups_a[pa]:
                ua[m].change = idx
            for m in groups_b[pb]:
                ub[m].change = idx
        elif u.status in ("delete", "insert") and u.para in whole[side]:
            units, groups = (ua, groups_a) if side == "a" else (ub, groups_b)
            text = " ".join(units[m].text for m in groups[u.para])
            old, new = (text, None) if side == "a" else (None, text)
            loc_a, loc_b = (Loc(u.para), None) if side == "a" else (None, Loc(u.para))
            size = len(groups[u.para])
            changes.append(Change(u.status, "paragraph", old, new, loc_a, loc_b, sentences=size))
            for m in groups[u.para]:
                units[m].change = idx
        elif u.status == "delete":
            changes.append(Change("delete", "sentence", u.text, None, _loc(u), None))
            u.change = idx
        elif u.status == "insert":
            changes.append(Change("insert", "sentence", None, u.text, None, _loc(u)))
            u.change = idx
        elif (side, n) in joins:
            xs, ys = joins[side, n]
            old = " ".join(ua[x].text for x in xs)
            new = " ".join(ub[y].text for y in ys)
            segments, numbers = word_diff(old, new)
            view_a, view_b = side_views(old, new)
            for x, cut in zip(xs, _cut(view_a, [ua[x].text for x in xs]), strict=True):
                ua[x].change, segs["a", x] = idx, cut
            for y, cut in zip(ys, _cut(view_b, [ub[y].text for y in ys]), strict=True):
                ub[y].change, segs["b", y] = idx, cut
            changes.append(
                Change(
                    "change",
                    "sentence",
                    old,
                    new,
                    _loc(ua[xs[0]]),
                    _loc(ub[ys[0]]),
                    tuple(segments),
                    tuple(numbers),
                    sentences=max(len(xs), len(ys)),
                )
            )
        elif u.partner is not None:
            x, y = (n, u.partner) if side == "a" else (u.partner, n)
            ua[x].change = ub[y].change = idx
            if u.status == "move":
                changes.append(
                    Change("move", "sentence", ua[x].text, ub[y].text, _loc(ua[x]), _loc(ub[y]))
                )
            else:
                segments, numbers = word_diff(ua[x].text, ub[y].text)
                view_a, view_b = side_views(ua[x].text, ub[y].text)
                segs["a", x], segs["b", y] = tuple(view_a), tuple(view_b)
                changes.append(
                    Change(
                        "move" if u.status == "mchange" else "change",
                        "sentence",
                        ua[x].text,
                        ub[y].text,
                        _loc(ua[x]),
                        _loc(ub[y]),
                        tuple(segments),
                        tuple(numbers),
                    )
                )
    merged = _merge_runs(changes, ua, ub)
    return tuple(merged), _rows(stream, ua, ub, segs)


def _cut(view: list[Segment], texts: list[str]) -> list[tuple[Segment, ...]]:
    """One side's segments of a joined text, cut back into its sentences (joined by " ")."""
    ends = [sum(len(t) for t in texts[: k + 1]) + k for k in range(len(texts))]
    out: list[tuple[Segment, ...]] = []
    cur: list[Segment] = []
    pos = 0
    for seg in view:
        text = seg.text
        while text:
            last = len(out) == len(texts) - 1
            if not last and pos >= ends[len(out)]:
                out.append(tuple(cur))
                cur = []
                if text[0] == " ":
                    text, pos = text[1:], pos + 1
                continue
            piece = text if last else text[: ends[len(out)] - pos]
            cur.append(Segment(seg.op, piece))
            pos += len(piece)
            text = text[len(piece) :]
    out.append(tuple(cur))
    return out + [() for _ in range(len(texts) - len(out))]


def _merge_runs(changes: list[Change], ua: list[Unit], ub: list[Unit]) -> list[Change]:
    """Join sentence inserts, deletes and moves that follow each other on both sides."""
    flat_a: dict[tuple[int, int | None], int] = {(u.para, u.index): n for n, u in enumerate(ua)}
    flat_b: dict[tuple[int, int | None], int] = {(u.para, u.index): n for n, u in enumerate(ub)}

    def at(loc: Loc | None, flat: dict[tuple[int, int | None], int]) -> int | None:
        return None if loc is None else flat.get((loc.paragraph, loc.sentence))

    def join(first: str | None, last: str | None, same_para: bool) -> str | None:
        if first is None or last is None:
            return first if last is None else last
        return f"{first}{' ' if same_para else chr(10) * 2}{last}"

    out: list[Change] = []
    remap: dict[int, int] = {}
    ends: tuple[int | None, int | None] = (None, None)
    for idx, c in enumerate(changes):
        pos = (at(c.a, flat_a), at(c.b, flat_b))
        prev = out[-1] if out else None
        follows = (
            prev is not None
            and c.unit == prev.unit == "sentence"
            and c.kind == prev.kind
            and c.kind in ("insert", "delete", "move")
            and not c.segments
            and not prev.segments
            and all(
                (p is None) == (e is None) and (p is None or e is None or p == e + 1)
                for p, e in zip(pos, ends, strict=True)
            )
        )
        if prev is not None and follows:
            same_a = pos[0] is None or ends[0] is None or ua[pos[0]].para == ua[ends[0]].para
            same_b = pos[1] is None or ends[1] is None or ub[pos[1]].para == ub[ends[1]].para
            out[-1] = Change(
                prev.kind,
                prev.unit,
                join(prev.old, c.old, same_a),
                join(prev.new, c.new, same_b),
                prev.a,
                prev.b,
                sentences=prev.sentences + 1,
            )
        else:
            out.append(c)
        remap[idx] = len(out) - 1
        ends = pos
    for u in (*ua, *ub):
        if u.change is not None:
            u.change = remap[u.change]
    return out


def _loc(u: Unit) -> Loc:
    return Loc(u.para, u.index)


def _mark(u: Unit, segs: tuple[Segment, ...]) -> Mark:
    status = "move" if u.status in ("pmove", "mchange") else u.status
    return Mark(status, u.text, u.para, u.change, segs)


def _rows(
    stream: list[tuple[int | None, int | None]],
    ua: list[Unit],
    ub: list[Unit],
    segs: dict[tuple[str, int], tuple[Segment, ...]],
) -> tuple[Row, ...]:
    """Cut the reading-order stream into rows at every paragraph boundary of either side."""
    rows: list[Row] = []
    cur_a: list[Mark] = []
    cur_b: list[Mark] = []
    for i, j in stream:
        break_a = i is not None and cur_a and cur_a[-1].paragraph != ua[i].para
        break_b = j is not None and cur_b and cur_b[-1].paragraph != ub[j].para
        if break_a or break_b:
            rows.append(Row(tuple(cur_a), tuple(cur_b)))
            cur_a, cur_b = [], []
        if i is not None:
            cur_a.append(_mark(ua[i], segs.get(("a", i), ())))
        if j is not None:
            cur_b.append(_mark(ub[j], segs.get(("b", j), ())))
    if cur_a or cur_b:
        rows.append(Row(tuple(cur_a), tuple(cur_b)))
    return tuple(rows)
