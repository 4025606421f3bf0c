"""bench/diff_quality.py plants its number edits only where there is a digit to change."""

from __future__ import annotations

import importlib.util
import random
import sys
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import lxml.html
import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench" / "diff_quality.py"


@cache
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_diff_quality", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def plant_number(paragraph: str) -> tuple[Any, str]:
    """Plant a number edit into a page of one paragraph: (the plant, the new text)."""
    root = lxml.html.fromstring(f"<html><body><p>{paragraph}</p></body></html>")
    ps = list(root.iter("p"))
    planted = bench().plant_number(root, ps, random.Random(1))
    return planted, ps[0].text_content()


@pytest.mark.parametrize(
    "paragraph", ["Add ½ cup of milk, then stir.", "The room is x² metres in all."]
)
def test_a_page_whose_numbers_hold_no_decimal_digit_gets_no_number_edit(paragraph: str) -> None:
    assert plant_number(paragraph) == (None, paragraph)


@pytest.mark.parametrize(
    ("paragraph", "old", "new"),
    [
        ("Add ½ cup and 12 eggs, then stir.", "12", "15"),
        ("Pay ٣٤ dinars today.", "٣٤", "٣٧"),  # a digit of the number's own script
    ],
)
def test_the_number_edit_changes_a_decimal_digit(paragraph: str, old: str, new: str) -> None:
    planted, text = plant_number(paragraph)
    assert text == paragraph.replace(old, new)
    assert planted.match({"numbers": [{"old": old, "new": new}]})
