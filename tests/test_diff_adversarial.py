"""Silent edits a publisher might make, and noise a hostile reviewer might plant.

Pure tests: two hand-written urn:text: documents in, assertions on the DiffReport and
its JSON. Each test states the report a reader should get for one kind of edit.
"""

from __future__ import annotations

from typing import Any

import pytest

from archiver.diff import DiffReport, diff_documents, render_html, render_text
from archiver.schema import validate

LEAD = "The council met on Tuesday evening."


def doc(
    text: str,
    *,
    title: str | None = "Council approves budget",
    published: str | None = "2026-11-01",
    modified: str | None = None,
) -> dict[str, Any]:
    return {
        "schema": "https://archiver.dev/schemas/text.schema.json",
        "url": "http://127.0.0.1/article",
        "article": {
            "title": title,
            "byline": "Jane Doe",
            "published": published,
            "modified": modified,
            "site_name": "Town News",
            "text": text,
        },
        "reason": None,
        "page_text": text,
        "extractor": {"name": "trafilatura", "version": "2.3.1", "settings": {}},
    }


def run(old: str, new: str, **meta: Any) -> DiffReport:
    old_meta = {k[4:]: v for k, v in meta.items() if k.startswith("old_")}
    new_meta = {k[4:]: v for k, v in meta.items() if k.startswith("new_")}
    report = diff_documents(doc(old, **old_meta), doc(new, **new_meta))
    validate(report.to_json(), "diff.schema.json")
    render_text(report)  # every report renders
    return report


def numbers(report: DiffReport) -> list[tuple[str | None, str | None]]:
    return [(n.old, n.new) for n in report.number_changes()]


def one(report: DiffReport) -> dict[str, Any]:
    changes = report.to_json()["changes"]
    assert len(changes) == 1, changes
    item: dict[str, Any] = changes[0]
    return item


# --- numbers in many forms --------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("Sales reached 1.5 million units.", "Sales reached 2 million units.",
         ("1.5 million", "2 million")),
        ("The deal is worth $3bn in total.", "The deal is worth $3.5bn in total.",
         ("$3bn", "$3.5bn")),
        ("About 1,000 people came.", "About 1.000 people came.", ("1,000", "1.000")),
        ("The vote is on March 3 at noon.", "The vote is on March 4 at noon.", ("3", "4")),
        ("The plan runs until 2024 at least.", "The plan runs until 2025 at least.",
         ("2024", "2025")),
        ("The meeting starts at 10:30 on Monday.", "The meeting starts at 11:30 on Monday.",
         ("10:30", "11:30")),
        ("Expect 5-7 inches of snow.", "Expect 5-8 inches of snow.", ("5-7", "5-8")),
        ("Expect 5\u20137 inches of snow.", "Expect 5\u20138 inches of snow.",
         ("5\u20137", "5\u20138")),
        ("It fell to -12 degrees.", "It fell to 12 degrees.", ("-12", "12")),
        ("It is the 3rd attempt.", "It is the 4th attempt.", ("3rd", "4th")),
        ("Doors open at 7pm sharp.", "Doors open at 8pm sharp.", ("7pm", "8pm")),
        ("It cost &#8364;500 in total.", "It cost \u20ac600 in total.", ("\u20ac500", "\u20ac600")),
        ("Growth was 1,5% this year.", "Growth was 2,5% this year.", ("1,5%", "2,5%")),
    ],
)  # fmt: skip
def test_a_changed_number_is_called_out_whole(
    old: str, new: str, expected: tuple[str, str]
) -> None:
    report = run(f"{LEAD} {old}", f"{LEAD} {new}")
    item = one(report)
    assert (item["kind"], item["unit"]) == ("change", "sentence")
    assert numbers(report) == [expected]
    assert "1 number changed" in report.summary


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("Prices rose 12% last year.", "Prices rose 12 per cent last year."),
        ("The deal is worth $3bn in total.", "The deal is worth $3 billion in total."),
        ("Three people were hurt in the crash.", "3 people were hurt in the crash."),
    ],
)
def test_a_number_written_another_way_is_reported_as_reformatted(old: str, new: str) -> None:
    # Never hidden (the words changed), but labelled: the value is the same.
    report = run(f"{LEAD} {old}", f"{LEAD} {new}")
    assert one(report)["kind"] == "change"
    [number] = report.to_json()["number_changes"]
    assert number["same_value"] is True
    assert report.counts()["numbers_changed"] == 0
    assert "1 number reformatted" in report.summary
    assert "same value" in render_text(report)


def test_spelled_numbers_replaced_are_called_out_but_not_a_lone_one() -> None:
    # Decision: an English number word replaced by another number is a number change;
    # one added or removed alone is not ("no one" -> "nobody" is not a count).
    report = run(
        f"{LEAD} Three people were hurt. It was the first time. No one was arrested.",
        f"{LEAD} Four people were hurt. It was the second time. Nobody was arrested.",
    )
    assert numbers(report) == [("Three", "Four"), ("first", "second")]
    assert report.counts()["sentences_changed"] == 3


def test_locale_separators_are_not_taken_for_the_same_value() -> None:
    # "1.000" is a thousand in Germany and one in Britain: called out as a change.
    report = run(f"{LEAD} About 1,000 people came.", f"{LEAD} About 1.000 people came.")
    assert report.to_json()["number_changes"] == [{"old": "1,000", "new": "1.000"}]


def test_unicode_minus_against_hyphen_minus_is_the_same_number() -> None:
    # U+2212 and "-" print the same value; only a typographic variant changed.
    report = run(f"{LEAD} It fell to \u221212 degrees.", f"{LEAD} It fell to -12 degrees.")
    assert report.status == "unchanged"


def test_a_range_is_not_read_as_a_negative_number() -> None:
    report = run(f"{LEAD} Scores were 3-2 at half time.", f"{LEAD} Scores were 3-1 at half time.")
    assert numbers(report) == [("3-2", "3-1")]


# --- scripts ----------------------------------------------------------------------------


def test_cjk_sentences_split_on_full_width_ends_and_numbers_stand_alone() -> None:
    old = "今天有3人受伤。明天会下雪吗？我们不知道！"
    new = "今天有5人受伤。明天会下雨吗？我们不知道！"
    report = run(old, new)
    changes = report.to_json()["changes"]
    assert [(c["kind"], c["old"], c["new"]) for c in changes] == [
        ("change", "今天有3人受伤。", "今天有5人受伤。"),
        ("change", "明天会下雪吗？", "明天会下雨吗？"),
    ]
    assert numbers(report) == [("3", "5")]
    assert [s for s in changes[1]["segments"] if s["op"] != "equal"] == [
        {"op": "delete", "text": "雪"},
        {"op": "insert", "text": "雨"},
    ]


def test_right_to_left_sentences_split_and_changed_word_shown() -> None:
    old = "هل الخطة جيدة؟ وصل 500 شخص. قال الرئيس إن الخطة جيدة."
    new = "هل الخطة جيدة؟ وصل 600 شخص. قال الرئيس إن الخطة سيئة."
    report = run(old, new)
    changes = report.to_json()["changes"]
    assert [(c["kind"], c["a"]["sentence"]) for c in changes] == [("change", 1), ("change", 2)]
    assert numbers(report) == [("500", "600")]
    assert report.a.paragraphs[0][0] == "هل الخطة جيدة؟"


def test_emoji_swap_is_a_change() -> None:
    report = run(
        f"{LEAD} We won the match \U0001f389 today.", f"{LEAD} We won the match \U0001f622 today."
    )
    item = one(report)
    assert [s for s in item["segments"] if s["op"] != "equal"] == [
        {"op": "delete", "text": "\U0001f389"},
        {"op": "insert", "text": "\U0001f622"},
    ]


def test_html_entities_left_in_text_are_not_a_change() -> None:
    report = run(
        f"{LEAD} Smith &amp; Sons earned &pound;5 million.",
        f"{LEAD} Smith & Sons earned \u00a35 million.",
    )
    assert report.status == "unchanged"


# --- metadata ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("2026-11-01T10:00:00Z", "2026-11-01T10:00:00+00:00"),
        ("2026-11-01T12:00:00+02:00", "2026-11-01T10:00:00Z"),
        ("2026-11-01T10:00:00", "2026-11-01T10:00:00+00:00"),
        ("2026-11-01", "2026-11-01T09:30:00+01:00"),
        ("2026-11-01T10:00:00Z", "Sun, 01 Nov 2026 10:00:00 +0000"),
    ],
)
def test_a_date_written_another_way_is_labelled_format_only(old: str, new: str) -> None:
    report = run(LEAD, LEAD, old_published=old, new_published=new)
    [meta] = report.to_json()["metadata_changes"]
    assert meta["format_only"] is True
    assert meta["numbers"] == []
    assert report.summary == "published date reformatted"
    assert "same time, written differently" in render_text(report)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("2026-11-01T10:00:00Z", "2026-11-01T11:00:00Z"),
        ("2026-11-01T10:00:00Z", "2026-11-01T10:00:00+01:00"),
        ("2026-11-01", "2026-11-02"),
        ("2026-11-01", "1 November 2026"),  # not a date the diff can read: compared as text
    ],
)
def test_a_date_moved_in_time_is_a_change(old: str, new: str) -> None:
    report = run(LEAD, LEAD, old_modified=old, new_modified=new)
    [meta] = report.to_json()["metadata_changes"]
    assert "format_only" not in meta
    assert report.summary == "modified date changed"


def test_headline_appearing_where_there_was_none() -> None:
    report = run(LEAD, LEAD, old_title="", new_title="Council approves budget")
    [meta] = report.to_json()["metadata_changes"]
    assert (meta["field"], meta["old"], meta["new"]) == ("title", None, "Council approves budget")
    assert report.summary == "headline changed"
    assert "{+Council approves budget+}" in render_text(report)


# --- whole-article and size extremes ----------------------------------------------------

COUNCIL = [
    "The council approved a budget of 75,000 euros on Tuesday. Turnout rose on last year.",
    "Mayor Anna Berg said the plan was overdue. Critics disagreed with her view.",
    "The vote followed months of debate. Several residents spoke at the meeting.",
    "The next vote is in May. It will decide the fate of the old library.",
]
STORM = [
    "A storm swept across the coast overnight, felling trees and cutting power.",
    "Emergency crews worked until dawn. Schools in three districts stayed closed.",
    "Forecasters expect calmer weather by the weekend, though rain will linger.",
    "Residents were asked to report fallen lines and to avoid flooded roads.",
]


def test_an_article_replaced_by_another_is_reported_as_largely_rewritten() -> None:
    report = run("\n\n".join(COUNCIL), "\n\n".join(STORM))
    data = report.to_json()
    assert data["rewritten"] is True
    assert report.summary.startswith("article largely rewritten: 0 of A's 8 sentences kept")
    # Whole paragraphs, not a soup of sentence pairings between unrelated texts.
    assert {(c["kind"], c["unit"]) for c in data["changes"]} == {
        ("delete", "paragraph"),
        ("insert", "paragraph"),
    }
    assert data["number_changes"] == []  # numbers are called out inside changed sentences


def test_a_long_article_replaced_reads_in_a_few_terminal_lines() -> None:
    old = "\n\n".join(f"{p} Item {n} of the council story." for n in range(60) for p in COUNCIL)
    new = "\n\n".join(f"{p} Note {n} on the storm." for n in range(60) for p in STORM)
    report = run(old, new)
    assert report.rewritten
    shown = render_text(report)
    assert len(shown.splitlines()) < 20
    assert "240 paragraphs of A deleted" in shown and "240 paragraphs of B inserted" in shown
    assert "full texts: --json or --html" in shown
    assert len(report.changes) == 480  # the JSON keeps every paragraph


def test_one_paragraph_rewritten_in_a_long_article_is_not_called_a_rewrite() -> None:
    report = run("\n\n".join(COUNCIL), "\n\n".join([*COUNCIL[:3], STORM[0]]))
    assert report.to_json()["rewritten"] is False
    assert not report.summary.startswith("article largely rewritten")


def test_a_one_sentence_article_edited() -> None:
    report = run("It rained 5 mm.", "It snowed 7 mm.")
    item = one(report)
    assert (item["kind"], item["unit"]) == ("change", "sentence")
    assert numbers(report) == [("5", "7")]
    assert report.to_json()["rewritten"] is False


# --- sentences split and merged ---------------------------------------------------------

TAIL = "The next vote is in May."


@pytest.mark.parametrize(
    ("old", "new", "marks"),
    [
        (  # split by punctuation only: the period is the whole edit
            "They approved the budget and critics called it too small.",
            "They approved the budget. And critics called it too small.",
            [("insert", ".")],
        ),
        (  # merged by punctuation only
            "They approved the budget. Critics called it too small.",
            "They approved the budget; critics called it too small.",
            [("delete", "."), ("insert", ";")],
        ),
        (
            "They approved the budget. Critics called it too small.",
            "They approved the budget, critics called it too small.",
            [("delete", "."), ("insert", ",")],
        ),
        (  # split and reworded
            "They approved the budget, which critics called too small.",
            "They approved the budget. Critics called it too small.",
            [("delete", ", which"), ("insert", "."), ("insert", " it")],
        ),
    ],
)
def test_a_sentence_split_or_merged_is_one_change_showing_the_punctuation(
    old: str, new: str, marks: list[tuple[str, str]]
) -> None:
    report = run(f"{LEAD} {old} {TAIL}", f"{LEAD} {new} {TAIL}")
    item = one(report)
    assert (item["kind"], item["unit"], item["old"], item["new"]) == (
        "change",
        "sentence",
        old,
        new,
    )
    assert [(s["op"], s["text"]) for s in item["segments"] if s["op"] != "equal"] == marks
    assert item["sentences"] == 2
    # Both sides of the side-by-side view mark the sentences as changed.
    marked_a = [m for row in report.rows for m in row.a if m.status == "change"]
    marked_b = [m for row in report.rows for m in row.b if m.status == "change"]
    assert marked_a and marked_b
    assert all(m.change == 0 for m in marked_a + marked_b)


def test_a_sentence_edited_with_a_new_sentence_after_it_is_not_a_split() -> None:
    report = run(
        f"{LEAD} They approved the budget on Tuesday. {TAIL}",
        f"{LEAD} They approved the budget on Monday. Police closed the road to traffic. {TAIL}",
    )
    kinds = [(c["kind"], c["new"]) for c in report.to_json()["changes"]]
    assert kinds == [
        ("change", "They approved the budget on Monday."),
        ("insert", "Police closed the road to traffic."),
    ]


# --- moves, repeats, names --------------------------------------------------------------


def test_a_sentence_moved_within_its_paragraph_is_one_move() -> None:
    report = run(
        "First sentence is here today. Second sentence follows it along. Third one ends it.",
        "Second sentence follows it along. First sentence is here today. Third one ends it.",
    )
    item = one(report)
    assert (item["kind"], item["unit"], item["segments"]) == ("move", "sentence", [])
    assert report.summary == "1 sentence moved"


def test_a_sentence_moved_and_edited_says_so_in_the_summary() -> None:
    report = run(
        "First sentence is here today. Second sentence follows it along. Third one ends it.",
        "Second sentence follows it along. First sentence was here today. Third one ends it.",
    )
    item = one(report)
    assert item["kind"] == "move"
    assert [s["text"] for s in item["segments"] if s["op"] != "equal"] == ["is", "was"]
    assert report.summary == "1 sentence moved and edited"


def test_two_paragraphs_swapped_is_one_paragraph_move() -> None:
    report = run(
        f"Alpha paragraph is here.\n\nBeta paragraph is here.\n\n{TAIL}",
        f"Beta paragraph is here.\n\nAlpha paragraph is here.\n\n{TAIL}",
    )
    item = one(report)
    assert (item["kind"], item["unit"]) == ("move", "paragraph")
    assert report.summary == "1 paragraph moved"


def test_a_name_changed_everywhere_is_summarised_once() -> None:
    report = run(
        "Mayor Anna Berg spoke first. Later, Berg left.\n\nCritics said Berg was wrong.",
        "Mayor Anna Borg spoke first. Later, Borg left.\n\nCritics said Borg was wrong.",
    )
    assert report.counts()["sentences_changed"] == 3
    assert report.summary == '3 sentences changed, "Berg" -> "Borg" 3 times'


def test_one_of_many_identical_sentences_edited_is_one_change() -> None:
    same = "The vote was held today."
    report = run(
        " ".join([same] * 6) + "\n\n" + "\n\n".join(["Yes."] * 5),
        " ".join([same] * 2 + ["The vote was held yesterday."] + [same] * 3)
        + "\n\n"
        + "\n\n".join(["Yes.", "Yes.", "No.", "Yes.", "Yes."]),
    )
    changes = report.to_json()["changes"]
    assert [(c["kind"], c["old"], c["new"]) for c in changes] == [
        ("change", same, "The vote was held yesterday."),
        ("change", "Yes.", "No."),
    ]


def test_a_quote_changed_inside_typographic_quotes() -> None:
    report = run(
        f"{LEAD} \u201cWe will not resign,\u201d she said.",
        f"{LEAD} \u201cWe will never resign,\u201d she said.",
    )
    item = one(report)
    assert [(s["op"], s["text"]) for s in item["segments"] if s["op"] != "equal"] == [
        ("delete", "not"),
        ("insert", "never"),
    ]


def test_quote_style_alone_is_typography_not_a_change() -> None:
    # Documented normalisation: curly and straight quotes fold together.
    report = run(f"{LEAD} \u201cNo,\u201d she said.", f'{LEAD} "No," she said.')
    assert report.status == "unchanged"


# --- paragraphs and lists ---------------------------------------------------------------


def test_a_paragraph_split_or_merged_with_the_same_words_is_layout_not_a_change() -> None:
    # Decision: a blank line added or removed is white space (DESIGN: ignored); the
    # sentences and their order are unchanged.
    one_para = f"{LEAD} They approved the budget. Critics called it too small."
    two_paras = f"{LEAD} They approved the budget.\n\nCritics called it too small."
    assert run(one_para, two_paras).status == "unchanged"
    assert run(two_paras, one_para).status == "unchanged"


def test_a_paragraph_split_with_an_edit_reports_only_the_edit() -> None:
    report = run(
        f"{LEAD} They approved 75,000 euros. Critics called it too small.\n\n{TAIL}",
        f"{LEAD} They approved 7,500 euros.\n\nCritics called it too small.\n\n{TAIL}",
    )
    item = one(report)
    assert (item["kind"], item["unit"]) == ("change", "sentence")
    assert numbers(report) == [("75,000", "7,500")]


def test_list_item_added_removed_and_edited() -> None:
    base = ["Items:", "- Apples 5", "- Pears 7", "- Plums 9"]
    added = run("\n\n".join(base), "\n\n".join([*base[:3], "- Cherries 2", base[3]]))
    assert [(c["kind"], c["unit"], c["new"]) for c in added.to_json()["changes"]] == [
        ("insert", "paragraph", "- Cherries 2")
    ]
    removed = run("\n\n".join(base), "\n\n".join([base[0], base[1], base[3]]))
    assert [(c["kind"], c["unit"], c["old"]) for c in removed.to_json()["changes"]] == [
        ("delete", "paragraph", "- Pears 7")
    ]
    edited = run("\n\n".join(base), "\n\n".join([*base[:2], "- Pears 8", base[3]]))
    assert numbers(edited) == [("7", "8")]


def test_a_heading_changed_is_a_changed_line_with_its_number() -> None:
    report = run(f"Top 10 tips\n\n{LEAD}", f"Top 12 tips\n\n{LEAD}")
    item = one(report)
    assert (item["kind"], item["old"], item["new"]) == ("change", "Top 10 tips", "Top 12 tips")
    assert numbers(report) == [("10", "12")]


# --- invisible characters, names with digits, fractions, mixed scripts -------------------


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("قال الرئيس إن الخطة جيدة.", "قال\u200f الرئيس إن الخطة جيدة."),  # RLM added
        ("Smith said no.", "\ufeffSmith said no."),  # byte-order mark
        ("The coun\u00adcil voted.", "The council voted."),  # soft hyphen
        ("The mayor\u2060 spoke.", "The mayor spoke."),  # word joiner
    ],
)
def test_invisible_format_characters_are_not_a_change(old: str, new: str) -> None:
    report = run(f"{LEAD} {old}", f"{LEAD} {new}")
    assert report.status == "unchanged", report.summary


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("COVID-19 cases rose.", "COVID-20 cases rose.", ("COVID-19", "COVID-20")),
        ("The A380 landed.", "The A350 landed.", ("A380", "A350")),
        ("It cost \u00bd of it.", "It cost 1\u00be of it.", ("\u00bd", "1\u00be")),
    ],
)
def test_names_with_digits_and_fractions_are_numbers(
    old: str, new: str, expected: tuple[str, str]
) -> None:
    assert numbers(run(f"{LEAD} {old}", f"{LEAD} {new}")) == [expected]


def test_latin_sentence_then_a_japanese_quote_with_its_attribution() -> None:
    # 「…。」と言った is one sentence: the quotative particle carries it on.
    report = run(
        f"{LEAD} 「今日は雨です。」と彼は言った。明日は晴れ。",
        f"{LEAD} 「今日は雪です。」と彼は言った。明日は晴れ。",
    )
    item = one(report)
    assert (item["old"], item["new"]) == (
        "「今日は雨です。」と彼は言った。",
        "「今日は雪です。」と彼は言った。",
    )
    assert item["a"] == {"paragraph": 0, "sentence": 1}


def test_each_side_of_a_changed_sentence_keeps_its_own_spelling() -> None:
    # The side-by-side view must show A's text as A had it, even where B only changed case.
    report = run(
        f"{LEAD} They approved it and critics called it small.",
        f"{LEAD} They approved it. And critics called it small.",
    )
    shown_a = "".join(s.text for row in report.rows for m in row.a for s in m.segments)
    shown_b = "".join(s.text for row in report.rows for m in row.b for s in m.segments)
    assert "it and critics" in shown_a
    assert "And critics" in shown_b
    html = render_html(report)
    assert "approved it and critics" in html


def test_same_value_numbers_are_labelled_in_html_too() -> None:
    report = run(f"{LEAD} Prices rose 12% last year.", f"{LEAD} Prices rose 12 per cent last year.")
    assert "same value, written differently" in render_html(report)
    # "5m" may be metres: never taken for "5 million".
    other = run(f"{LEAD} It grew 5m last year.", f"{LEAD} It grew 5 million last year.")
    assert other.to_json()["number_changes"] == [{"old": "5m", "new": "5 million"}]


def test_numbers_pair_by_their_place_in_the_sentence() -> None:
    # Not "5 removed, 9 added around a kept 7": each slot changed.
    report = run(f"{LEAD} Prices rose from 5 to 7 euros.", f"{LEAD} Prices rose from 7 to 9 euros.")
    assert numbers(report) == [("5", "7"), ("7", "9")]
    # But a deleted clause stays deleted, its numbers with it.
    cut = run(f"{LEAD} It rose 5% in 2020 and 7% in 2021.", f"{LEAD} It rose 7% in 2021.")
    assert numbers(cut) == [("5%", None), ("2020", None)]
