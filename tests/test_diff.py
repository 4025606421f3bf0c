"""The article diff as a user sees it: each kind of edit reported as exactly that kind.

Pure tests on hand-written urn:text: documents; no browser, no network.
"""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from archiver.diff import (
    DiffReport,
    build_history,
    diff_documents,
    render_history_text,
    render_html,
    render_text,
)
from archiver.diff.text import sentences, tokens
from archiver.errors import UsageError
from archiver.schema import validate

EXTRACTOR = {"name": "trafilatura", "version": "2.3.1", "settings": {"favor_precision": True}}

BASE = [
    "The council approved a budget of 75,000 euros on Tuesday. Turnout rose 7.5% on last year.",
    "Mayor Anna Berg said the plan was overdue. Critics disagreed.",
    "The vote followed months of debate. Several residents spoke at the meeting.",
    "Dr. Smith, who chairs the committee, called the result historic. The next vote is in May.",
]


def doc(
    paras: list[str] | str,
    *,
    title: str | None = "Council approves budget",
    byline: str | None = "Jane Doe",
    published: str | None = "2026-11-01",
    modified: str | None = None,
) -> dict[str, Any]:
    text = paras if isinstance(paras, str) else "\n\n".join(paras)
    return {
        "schema": "https://archiver.dev/schemas/text.schema.json",
        "url": "http://127.0.0.1/article",
        "article": {
            "title": title,
            "byline": byline,
            "published": published,
            "modified": modified,
            "site_name": "Town News",
            "text": text,
        },
        "reason": None,
        "page_text": text,
        "extractor": EXTRACTOR,
    }


def failed(reason: str) -> dict[str, Any]:
    return {
        "schema": "https://archiver.dev/schemas/text.schema.json",
        "url": "http://127.0.0.1/article",
        "article": None,
        "reason": reason,
        "page_text": "Please accept cookies",
        "extractor": EXTRACTOR,
    }


def edited(index: int, old: str, new: str) -> list[str]:
    paras = list(BASE)
    assert old in paras[index]
    paras[index] = paras[index].replace(old, new)
    return paras


def only_change(report: DiffReport) -> dict[str, Any]:
    changes = report.to_json()["changes"]
    assert len(changes) == 1, changes
    validate(report.to_json(), "diff.schema.json")
    item: dict[str, Any] = changes[0]
    return item


def test_changed_number_is_one_changed_sentence_with_old_and_new_number() -> None:
    report = diff_documents(doc(BASE), doc(edited(0, "75,000", "7,500")))
    item = only_change(report)
    assert (item["kind"], item["unit"]) == ("change", "sentence")
    assert item["numbers"] == [{"old": "75,000", "new": "7,500"}]
    assert report.to_json()["number_changes"] == [{"old": "75,000", "new": "7,500"}]
    text = render_text(report, color=False)
    assert "budget of [-75,000-]{+7,500+} euros" in text
    assert "75,000 -> 7,500" in text


def test_percentage_with_decimal_point_is_atomic() -> None:
    report = diff_documents(doc(BASE), doc(edited(0, "7.5%", "75%")))
    item = only_change(report)
    assert item["numbers"] == [{"old": "7.5%", "new": "75%"}]
    deleted = [s["text"] for s in item["segments"] if s["op"] == "delete"]
    inserted = [s["text"] for s in item["segments"] if s["op"] == "insert"]
    assert (deleted, inserted) == (["7.5%"], ["75%"])
    assert "[-7.5%-]{+75%+}" in render_text(report, color=False)


def test_sentence_removed() -> None:
    report = diff_documents(doc(BASE), doc(edited(1, " Critics disagreed.", "")))
    item = only_change(report)
    assert (item["kind"], item["unit"]) == ("delete", "sentence")
    assert item["old"] == "Critics disagreed."
    assert item["a"] == {"paragraph": 1, "sentence": 1}
    assert report.summary == "1 sentence deleted"


def test_consecutive_sentences_removed_are_one_item() -> None:
    report = diff_documents(
        doc([*BASE[:2], BASE[2] + " It ended late. Nobody left early.", BASE[3]]), doc(BASE)
    )
    item = only_change(report)
    assert (item["kind"], item["unit"], item["sentences"]) == ("delete", "sentence", 2)
    assert item["old"] == "It ended late. Nobody left early."
    assert report.summary == "2 sentences deleted"
    assert "- deleted 2 sentences" in render_text(report, color=False)


def test_sentences_moved_together_across_a_paragraph_break_are_one_move() -> None:
    a = doc([*BASE, "First moved line. Second moved line.", "Last words here."])
    b = doc(["First moved line. Second moved line. " + BASE[0], *BASE[1:], "Last words here."])
    item = only_change(diff_documents(a, b))
    assert (item["kind"], item["sentences"]) == ("move", 2)
    assert item["new"] == "First moved line. Second moved line."


def test_sentence_added() -> None:
    new = edited(2, "spoke at the meeting.", "spoke at the meeting. Police were called.")
    item = only_change(diff_documents(doc(BASE), doc(new)))
    assert (item["kind"], item["unit"], item["new"]) == (
        "insert",
        "sentence",
        "Police were called.",
    )
    assert item["b"] == {"paragraph": 2, "sentence": 2}


def test_word_changed_shows_words_not_characters() -> None:
    report = diff_documents(doc(BASE), doc(edited(1, "said the plan", "claimed the plan")))
    item = only_change(report)
    assert item["kind"] == "change"
    assert item["numbers"] == []
    assert "Mayor Anna Berg [-said-]{+claimed+} the plan" in render_text(report, color=False)


def test_paragraph_moved_is_one_move() -> None:
    moved = [BASE[0], BASE[2], BASE[3], BASE[1]]
    report = diff_documents(doc(BASE), doc(moved))
    item = only_change(report)
    assert (item["kind"], item["unit"]) == ("move", "paragraph")
    assert item["old"] == item["new"] == BASE[1]
    assert (item["a"], item["b"]) == (
        {"paragraph": 1, "sentence": None},
        {"paragraph": 3, "sentence": None},
    )
    assert report.summary == "1 paragraph moved"


def test_sentence_moved_between_paragraphs_is_one_move() -> None:
    new = edited(1, " Critics disagreed.", "")
    new[3] = new[3] + " Critics disagreed."
    item = only_change(diff_documents(doc(BASE), doc(new)))
    assert (item["kind"], item["unit"], item["old"]) == ("move", "sentence", "Critics disagreed.")
    assert item["a"] == {"paragraph": 1, "sentence": 1}
    assert item["b"] == {"paragraph": 3, "sentence": 2}


def test_headline_reworded_is_reported_apart_from_the_body() -> None:
    report = diff_documents(doc(BASE), doc(BASE, title="Council rejects budget"))
    data = report.to_json()
    validate(data, "diff.schema.json")
    assert data["changes"] == []
    assert len(data["metadata_changes"]) == 1
    meta = data["metadata_changes"][0]
    assert (meta["field"], meta["label"]) == ("title", "headline")
    assert (meta["old"], meta["new"]) == ("Council approves budget", "Council rejects budget")
    assert report.summary == "headline changed"
    assert "headline: Council [-approves-]{+rejects+} budget" in render_text(report, color=False)


def test_byline_and_dates_changed() -> None:
    report = diff_documents(
        doc(BASE), doc(BASE, byline="John Roe", modified="2026-11-02T10:00:00Z")
    )
    fields = {m["field"]: (m["old"], m["new"]) for m in report.to_json()["metadata_changes"]}
    assert fields == {
        "byline": ("Jane Doe", "John Roe"),
        "modified": (None, "2026-11-02T10:00:00Z"),
    }
    assert report.changes == ()


def test_correction_appended_is_one_inserted_paragraph() -> None:
    correction = "Correction: an earlier version of this article misstated the budget."
    item = only_change(diff_documents(doc(BASE), doc([*BASE, correction])))
    assert (item["kind"], item["unit"], item["new"]) == ("insert", "paragraph", correction)
    assert item["b"] == {"paragraph": 4, "sentence": None}


def test_paragraph_removed_is_one_deleted_paragraph() -> None:
    item = only_change(diff_documents(doc(BASE), doc([BASE[0], BASE[1], BASE[3]])))
    assert (item["kind"], item["unit"], item["old"]) == ("delete", "paragraph", BASE[2])


def test_whitespace_case_and_markup_only_is_no_change() -> None:
    noisy = [
        "  THE council approved a budget of 75,000 euros on Tuesday.\n Turnout rose 7.5% on "
        "last year.",
        "Mayor <b>Anna Berg</b> said the plan was &quot;overdue&quot;".replace(
            "&quot;overdue&quot;", "overdue"
        )
        + ".  Critics   disagreed.",
        "The vote followed months of **debate**. Several residents spoke at the meeting.",
        "Dr. Smith, who chairs the committee, called the result \u201chistoric\u201d.".replace(
            "\u201chistoric\u201d", "historic"
        )
        + " The next vote is in May.",
    ]
    report = diff_documents(doc(BASE), doc("\n\n\n".join(noisy) + "\n"))
    assert report.status == "unchanged"
    assert report.summary == "no change in the article"
    assert "no change in the article" in render_text(report, color=False)


def test_typographic_quotes_and_dashes_are_not_changes_but_punctuation_is() -> None:
    a = doc(['He said "yes" - twice.'])
    assert diff_documents(a, doc(["He said \u201cyes\u201d \u2013 twice."])).status == "unchanged"
    report = diff_documents(a, doc(['He said "yes" - twice!']))
    item = only_change(report)
    assert item["kind"] == "change"
    assert "twice[-.-]{+!+}" in render_text(report, color=False)


def test_ignore_patterns_remove_noise_and_are_recorded() -> None:
    old = doc(["Updated 5 minutes ago", *BASE])
    new = doc(["Updated 47 minutes ago", *BASE[:3], BASE[3] + " Updated 2 minutes ago"])
    assert diff_documents(old, new).status == "changed"
    report = diff_documents(old, new, ignore=[r"Updated \d+ minutes? ago"])
    assert report.status == "unchanged"
    assert report.summary == "no change in the article"
    data = report.to_json()
    validate(data, "diff.schema.json")
    assert data["settings"]["ignore"] == [r"Updated \d+ minutes? ago"]
    assert r"Updated \d+ minutes? ago" in render_text(report, color=False)


def test_bad_ignore_pattern_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match=r"--ignore pattern '\(' is not a valid regex"):
        diff_documents(doc(BASE), doc(BASE), ignore=["("])


@pytest.mark.parametrize("side", ["a", "b"])
def test_failed_extraction_is_never_all_text_deleted(side: str) -> None:
    good = doc(BASE)
    bad = failed("no article found")
    a, b = (bad, good) if side == "a" else (good, bad)
    report = diff_documents(a, b, evidence_a={"id": "cap-1"}, evidence_b={"id": "cap-2"})
    data = report.to_json()
    validate(data, "diff.schema.json")
    assert data["status"] == "extraction_failed"
    assert data["changes"] == [] and data["counts"]["sentences_deleted"] == 0
    failed_id = "cap-1" if side == "a" else "cap-2"
    assert (
        f"extraction failed for {side.upper()} ({failed_id}): no article found" in data["summary"]
    )
    assert data[side]["extraction"] == {"ok": False, "reason": "no article found"}
    text = render_text(report, color=False)
    assert "extraction failed" in text and "deleted" not in text
    assert "extraction failed" in render_html(report)


def test_empty_article_text_counts_as_failed_extraction() -> None:
    empty = doc(["   ", ""])
    report = diff_documents(doc(BASE), empty)
    assert report.status == "extraction_failed"
    assert "the extracted article text is empty" in report.summary


def test_repeated_sentences_one_occurrence_removed() -> None:
    paras = ["Advertisement.", BASE[0], "Advertisement.", BASE[1], "Advertisement.", BASE[2]]
    new = paras[:2] + paras[3:]
    item = only_change(diff_documents(doc(paras), doc(new)))
    assert (item["kind"], item["old"]) == ("delete", "Advertisement.")


def test_identical_repeated_sentences_in_one_paragraph() -> None:
    a = doc(["Yes. Yes. Yes. No.", "Yes. Yes."])
    b = doc(["Yes. Yes. No.", "Yes. Yes."])
    item = only_change(diff_documents(a, b))
    assert (item["kind"], item["unit"], item["old"]) == ("delete", "sentence", "Yes.")


def test_reordered_paragraphs_swap_is_one_move() -> None:
    report = diff_documents(doc(BASE), doc([BASE[1], BASE[0], BASE[2], BASE[3]]))
    item = only_change(report)
    assert (item["kind"], item["unit"]) == ("move", "paragraph")


def test_very_long_paragraph_one_sentence_edited() -> None:
    long_para = " ".join(
        f"Item {n} cost {n * 10} euros in year {2000 + n % 20}." for n in range(3000)
    )
    new_para = long_para.replace("Item 1234 cost 12340 euros", "Item 1234 cost 12,340 euros")
    item = only_change(diff_documents(doc([long_para]), doc([new_para])))
    assert item["kind"] == "change"
    assert item["numbers"] == [{"old": "12340", "new": "12,340"}]
    assert item["a"] == {"paragraph": 0, "sentence": 1234}


def test_very_long_sentence_one_word_changed() -> None:
    words = [f"w{n}" for n in range(20000)]
    changed = list(words)
    changed[12345] = "CHANGED"
    report = diff_documents(doc([" ".join(words)]), doc([" ".join(changed)]))
    item = only_change(report)
    ops = [(s["op"], s["text"]) for s in item["segments"] if s["op"] != "equal"]
    assert ops == [("delete", "w12345"), ("insert", "CHANGED")]


def test_same_pair_gives_same_bytes() -> None:
    old = doc(BASE)
    new = doc([BASE[2], BASE[0].replace("75,000", "7,500"), BASE[1] + " A new line.", BASE[3]])
    first = json.dumps(diff_documents(old, new).to_json(), sort_keys=True)
    second = json.dumps(
        diff_documents(copy.deepcopy(old), copy.deepcopy(new)).to_json(), sort_keys=True
    )
    assert first == second
    assert render_html(diff_documents(old, new)) == render_html(diff_documents(old, new))


def test_same_bytes_under_different_hash_seeds() -> None:
    """No set or dict ordering leaks into the report: other processes give the same bytes."""
    script = (
        "import json, sys\n"
        "from archiver.diff import diff_documents\n"
        "a, b = json.load(sys.stdin)\n"
        "print(json.dumps(diff_documents(a, b).to_json(), sort_keys=True))\n"
    )
    old = doc(["Yes. No. Yes. Maybe. " * 5, *BASE, "Advertisement."])
    new = doc([BASE[3], "No. Yes. Yes. Maybe. " * 4, *BASE[:3], "Advertisement. Yes."])
    outputs = set()
    for seed in ("1", "2", "3"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        run = subprocess.run(
            [sys.executable, "-c", script],
            input=json.dumps([old, new]),
            capture_output=True,
            text=True,
            env=env,
            cwd=Path(__file__).resolve().parent.parent,
            check=True,
        )
        outputs.add(run.stdout)
    assert len(outputs) == 1


def test_report_ties_each_side_to_its_evidence_and_extractor() -> None:
    ev_a = {
        "id": "20261101T090000Z-0a0b0c0d",
        "url": "http://127.0.0.1/article",
        "captured_at": "2026-11-01T09:00:00Z",
        "package_sha256": "a" * 64,
        "signature": "valid",
        "key_fingerprint": "3f9c" + "0" * 60,
        "tsa_time": "2026-11-01T09:00:05Z",
    }
    ev_b = {"id": "20261102T090000Z-1a1b1c1d", "signature": None}
    report = diff_documents(
        doc(BASE), doc(edited(0, "75,000", "7,500")), evidence_a=ev_a, evidence_b=ev_b
    )
    data = report.to_json()
    validate(data, "diff.schema.json")
    assert data["a"]["evidence"] == ev_a and data["b"]["evidence"] == ev_b
    assert data["a"]["extractor"] == EXTRACTOR
    assert data["settings"]["similarity"]["threshold"] == 0.5
    page = render_html(report)
    for value in ("20261101T090000Z-0a0b0c0d", "2026-11-01T09:00:05Z", "a" * 64, "trafilatura"):
        assert value in page
    assert "2026-11-01T09:00:05Z" in render_text(report, color=False)


def test_evidence_without_id_is_refused() -> None:
    with pytest.raises(UsageError, match="no capture id"):
        diff_documents(doc(BASE), doc(BASE), evidence_a={"url": "http://x/"})


def test_html_is_escaped_self_contained_and_marked_for_print() -> None:
    old = doc(["The <script>alert(1)</script> tag & 75,000 people. Second sentence."])
    old["article"]["text"] = "Use a &lt;script&gt; tag & see 75,000 people. Second sentence."
    new = doc(["Use a &lt;script&gt; tag & see 7,500 people. Second sentence. Third <one>."])
    page = render_html(diff_documents(old, new, ignore=["<x>"]))
    assert "<script" not in page
    assert "&lt;script&gt;" in page and "&amp;" in page
    assert '<del><span class="mk">[-</span>75,000<span class="mk">-]</span></del>' in page
    assert '<ins><span class="mk">{+</span>7,500<span class="mk">+}</span></ins>' in page
    assert "&lt;x&gt;" in page  # the ignore pattern, escaped, in the settings
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", page)
    assert "@media print" in page


def test_colour_output_uses_ansi_and_plain_output_uses_markers() -> None:
    report = diff_documents(doc(BASE), doc(edited(0, "75,000", "7,500")))
    coloured = render_text(report, color=True)
    assert "\x1b[" in coloured and "[-75,000-]" not in coloured
    assert "\x1b[" not in render_text(report, color=False)


def test_sentence_splitter_respects_abbreviations_decimals_and_quotes() -> None:
    text = (
        'Dr. Smith said "Rates hit 7.5% today." Then J. R. Tolkien left the U.S. for good. '
        "Was it 3.14? Yes! e.g. this stays."
    )
    assert sentences(text) == [
        'Dr. Smith said "Rates hit 7.5% today."',
        "Then J. R. Tolkien left the U.S. for good.",
        "Was it 3.14?",
        "Yes! e.g. this stays.",
    ]


def test_tokens_keep_numbers_whole() -> None:
    assert [t.text for t in tokens("$75,000 or 7.5% at 10:30, 1/2 off, 5-7 km, -3 C.")] == [
        "$75,000", "or", "7.5%", "at", "10:30", ",", "1/2", "off", ",",
        "5-7", "km", ",", "-3", "C", ".",
    ]  # fmt: skip


def test_history_steps_in_order_with_failed_capture_in_between() -> None:
    steps = [
        ({"id": "c1", "url": "http://127.0.0.1/article", "captured_at": "2026-11-01"}, doc(BASE)),
        ({"id": "c2", "captured_at": "2026-11-02"}, failed("consent wall suspected")),
        ({"id": "c3", "captured_at": "2026-11-03"}, doc(edited(0, "75,000", "7,500"))),
        ({"id": "c4", "captured_at": "2026-11-04"}, doc(edited(0, "75,000", "7,500"))),
    ]
    history = build_history(steps)
    data = history.to_json()
    validate(data, "history.schema.json")
    assert data["url"] == "http://127.0.0.1/article"
    assert [s["status"] for s in data["steps"]] == [
        "first",
        "extraction_failed",
        "changed",
        "unchanged",
    ]
    assert data["steps"][2]["compared_to"] == "c1"
    assert data["steps"][2]["number_changes"] == [{"old": "75,000", "new": "7,500"}]
    assert data["steps"][1]["summary"] == "extraction failed: consent wall suspected"
    text = render_history_text(history, color=False)
    assert "c3" in text and "[-75,000-]{+7,500+}" in text and "compared with c1" in text


# --- cases fixed after the corpus benchmark (bench/diff_quality.py) ---------------------

ADDED = "Officials declined to comment on the figures on Thursday."


def test_sentence_added_after_a_colon_is_an_insertion_inside_the_sentence() -> None:
    # The splitter does not break after "we will:", so the two become one sentence.
    a = doc([*BASE, "We set three goals. Specifically, we will:"])
    b = doc([*BASE, f"We set three goals. Specifically, we will: {ADDED}"])
    report = diff_documents(a, b)
    item = only_change(report)
    assert (item["kind"], item["unit"]) == ("change", "sentence")
    inserted = [s["text"] for s in item["segments"] if s["op"] == "insert"]
    assert inserted == [f" {ADDED}"]
    assert [s for s in item["segments"] if s["op"] == "delete"] == []


def test_sentence_appended_to_a_line_without_end_punctuation_is_a_change() -> None:
    a = doc(["08.04.2015 12:46", *BASE])
    b = doc([f"08.04.2015 12:46 {ADDED}", *BASE])
    item = only_change(diff_documents(a, b))
    assert item["kind"] == "change"
    assert item["old"] == "08.04.2015 12:46"
    assert item["numbers"] == []  # no number changed: text was only added


def test_sentence_removed_from_a_line_without_end_punctuation_is_a_change() -> None:
    a = doc([*BASE, f"We set three goals. Specifically, we will: {ADDED}"])
    b = doc([*BASE, "We set three goals. Specifically, we will:"])
    item = only_change(diff_documents(a, b))
    deleted = [s["text"] for s in item["segments"] if s["op"] == "delete"]
    assert (item["kind"], deleted) == ("change", [f" {ADDED}"])


def test_unrelated_sentences_in_place_stay_a_delete_and_an_insert() -> None:
    a = doc([*BASE, "The bridge reopened in March after repairs."])
    b = doc([*BASE, "Snow is expected across the region tonight, forecasters say."])
    kinds = sorted(c["kind"] for c in diff_documents(a, b).to_json()["changes"])
    assert kinds == ["delete", "insert"]


def test_sentence_moved_and_edited_is_one_move_with_word_changes() -> None:
    new = edited(0, " Turnout rose 7.5% on last year.", "")
    new[3] = new[3] + " Turnout rose 9.5% on last year."
    report = diff_documents(doc(BASE), doc(new))
    item = only_change(report)
    assert (item["kind"], item["unit"]) == ("move", "sentence")
    assert item["a"] == {"paragraph": 0, "sentence": 1}
    assert item["b"] == {"paragraph": 3, "sentence": 2}
    assert item["numbers"] == [{"old": "7.5%", "new": "9.5%"}]
    assert report.summary == "1 sentence moved and edited, 1 number changed"
    text = render_text(report, color=False)
    assert "> moved and changed sentence" in text
    assert "Turnout rose [-7.5%-]{+9.5%+} on last year." in text
    page = render_html(report)
    assert '<span class="move">' in page and "9.5%" in page and "<del>" in page


def test_moved_and_edited_sentence_is_not_merged_with_a_neighbouring_move() -> None:
    a = doc([*BASE, "Roads will close at noon on Friday. Buses will run every ten minutes."])
    b = doc(["Roads will close at noon on Saturday. Buses will run every ten minutes.", *BASE])
    changes = diff_documents(a, b).to_json()["changes"]
    # Either order of the two items; the edited one keeps its word-level segments.
    edited_moves = [c for c in changes if c["kind"] == "move" and c["segments"]]
    assert len(edited_moves) == 1 and "Saturday" in edited_moves[0]["new"]
    assert all(c["kind"] == "move" for c in changes)


def test_short_sentences_elsewhere_do_not_pair_as_moved_changes() -> None:
    a = doc([*BASE, "See more."])
    b = doc(["See less.", *BASE])
    kinds = sorted(c["kind"] for c in diff_documents(a, b).to_json()["changes"])
    assert kinds == ["delete", "insert"]


def test_paragraph_moved_with_a_sentence_repeated_elsewhere_is_one_paragraph_move() -> None:
    cited = "Samus destroyed the mining facilities. She left the planet. [1]"
    a = doc([BASE[0], cited, BASE[1], BASE[2], "Notes follow here. [1]", BASE[3]])
    b = doc([BASE[0], BASE[1], BASE[2], "Notes follow here. [1]", cited, BASE[3]])
    item = only_change(diff_documents(a, b))
    assert (item["kind"], item["unit"], item["new"]) == ("move", "paragraph", cited)


def test_long_paragraph_moved_past_two_short_ones_is_the_one_move() -> None:
    # The fewest moved paragraphs that explain the new order: the long one.
    long = "One fact here. Two facts here. Three facts here. Four facts here. Five facts."
    a = doc([BASE[0], long, "Short one.", "Short two.", BASE[3]])
    b = doc([BASE[0], "Short one.", "Short two.", long, BASE[3]])
    item = only_change(diff_documents(a, b))
    assert (item["kind"], item["unit"], item["new"]) == ("move", "paragraph", long)


def test_long_rewrite_in_a_tiny_vocabulary_still_gives_an_exact_edit_script() -> None:
    # No unique word to anchor on: alignment works in bounded blocks, and the segments
    # must still rebuild both sentences exactly.
    words_a = [("yes", "no", "the", "a")[(n * 7 + n // 3) % 4] for n in range(20000)]
    words_b = [("yes", "no", "the", "a")[(n * 5 + n // 7) % 4] for n in range(20000)]
    old, new = " ".join(words_a) + ".", " ".join(words_b) + "."
    item = only_change(diff_documents(doc([old]), doc([new])))
    assert item["kind"] == "change"
    segs = item["segments"]
    assert "".join(s["text"] for s in segs if s["op"] != "insert") == old
    assert "".join(s["text"] for s in segs if s["op"] != "delete") == new
    assert any(s["op"] == "equal" for s in segs)


def test_many_sentences_rewritten_in_a_tiny_vocabulary_is_deterministic_and_valid() -> None:
    vocab = ["alpha", "beta", "gamma", "delta", "eps", "zeta"]

    def para(seed: int) -> str:
        return " ".join(
            " ".join(vocab[(seed * 31 + k * 7 + w * 3) % 6] for w in range(6)).capitalize() + "."
            for k in range(5)
        )

    a = doc([para(n) for n in range(600)])
    b = doc([para(n * 7 + 1) for n in range(600)])
    first = json.dumps(diff_documents(a, b).to_json(), sort_keys=True)
    assert first == json.dumps(diff_documents(a, b).to_json(), sort_keys=True)
    validate(json.loads(first), "diff.schema.json")
