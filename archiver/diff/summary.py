"""The one-line summary of a DiffReport, in words.

It leads with "article largely rewritten" when at most a fifth of each side's sentences
survive, says when a moved sentence was also edited, and names a word replacement made
in several places once ("Berg" -> "Borg" 4 times).
"""

from __future__ import annotations

from collections import Counter

from .model import FIELD_LABELS, KINDS, DiffReport


def summarise(report: DiffReport) -> str:
    if report.status == "unchanged":
        return "no change in the article"
    counts = report.counts()
    parts = []
    for unit in ("paragraph", "sentence"):
        for word in KINDS.values():
            n = counts.get(f"{unit}s_{word}", 0)
            if n:
                parts.append(f"{n} {unit}{'s' if n != 1 else ''} {word}")
                edited = sum(
                    c.sentences
                    for c in report.changes
                    if word == "moved" and c.unit == unit and c.kind == "move" and c.segments
                )
                if edited:
                    parts[-1] += f" ({edited} also edited)" if n > 1 else " and edited"
    for word in ("changed", "reformatted"):
        n = counts.get(f"numbers_{word}", 0)
        if n:
            parts.append(f"{n} number{'s' if n != 1 else ''} {word}")
    for m in report.metadata_changes:
        parts.append(f"{FIELD_LABELS[m.field]} {'reformatted' if m.format_only else 'changed'}")
    parts += [f'"{old}" -> "{new}" {n} times' for (old, new), n in _repeated_edits(report)]
    if report.rewritten:
        kept_a, all_a, _, all_b = report.kept()
        head = (
            f"article largely rewritten: {kept_a} of A's {all_a} sentences kept in any form, "
            f"B has {all_b}"
        )
        return f"{head} ({', '.join(parts)})"
    return ", ".join(parts)


def _repeated_edits(report: DiffReport) -> list[tuple[tuple[str, str], int]]:
    """One word replacement made in several places ("Berg" -> "Borg" 4 times), in order."""
    seen: Counter[tuple[str, str]] = Counter()
    for c in report.changes:
        segs = c.segments
        for k in range(len(segs) - 1):
            gone, came = segs[k], segs[k + 1]
            if gone.op == "delete" and came.op == "insert":
                old, new = gone.text.strip(), came.text.strip()
                if old and new and len(old.split()) <= 3 and len(new.split()) <= 3:
                    seen[old, new] += 1
    return [(pair, n) for pair, n in seen.items() if n > 1]
