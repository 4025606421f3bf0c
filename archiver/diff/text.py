"""Text units for the diff: paragraphs, sentences, word tokens, and their matching keys.

Everything here is pure and deterministic. Matching keys ignore what a reader does not
see as a change (case, runs of whitespace, leftover markup, typographic variants of
quotes and dashes) but keep every other character, punctuation included.
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass

# Typographic variants folded for matching only (display keeps the original text).
_FOLD = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u2032": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u201f": '"',
        "\u2033": '"',
        "\u00ab": '"',
        "\u00bb": '"',
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2013": "-",
        "\u2014": "-",
        "\u2015": "-",
        "\u2212": "-",
        "\u00a0": " ",
        "\u200b": "",
        "\u00ad": "",
    }
)

# Invisible format characters a CMS may add or drop (zero-width space, soft hyphen, word
# joiner, byte-order mark, direction marks, embeddings and isolates): not text a reader
# sees, removed from display text too. ZWJ and ZWNJ stay: they change Persian and Indic
# spelling and emoji sequences.
_INVISIBLE = re.compile("[\u200b\u00ad\u2060\ufeff\u200e\u200f\u061c\u202a-\u202e\u2066-\u2069]")

_TAG = re.compile(r"</?[A-Za-z][^<>]*>")
_EMPHASIS = re.compile(r"(\*\*|__|(?<![\w*])\*(?=\S)|(?<=\S)\*(?![\w*]))")
_PARA_SPLIT = re.compile(r"\n[ \t\r\f\v]*\n\s*")

NORMALISATION = (
    "NFKC",
    "casefold",
    "invisible format characters removed (zero-width space, soft hyphen, BOM, direction marks)",
    "html entities unescaped",
    "HTML tags and **/__/* emphasis removed",
    "typographic quotes and dashes folded to ASCII",
    "whitespace runs collapsed and trimmed",
)


def strip_markup(text: str) -> str:
    """Remove HTML tags, entities and Markdown emphasis; keep the words."""
    if "<" in text:
        text = _TAG.sub("", text)
    if "&" in text:
        text = html.unescape(text)
    if "*" in text or "__" in text:
        text = _EMPHASIS.sub("", text)
    return _INVISIBLE.sub("", text)


def clean(text: str) -> str:
    """Display form: markup removed, whitespace collapsed, original case and characters."""
    return collapse(strip_markup(text))


def collapse(text: str) -> str:
    """Collapse white space runs to one space and trim."""
    return " ".join(text.split())


def norm(text: str) -> str:
    """Matching key of display text (see ``clean``): what must differ to count as a change."""
    text = unicodedata.normalize("NFKC", text).translate(_FOLD)
    return " ".join(text.casefold().split())


def paragraphs(text: str) -> list[str]:
    """Split article text on blank lines; drop paragraphs with nothing visible."""
    out = []
    for block in _PARA_SPLIT.split(text):
        shown = clean(block)
        if shown:
            out.append(shown)
    return out


# --- sentences -------------------------------------------------------------------------

# Words after which a period does not end a sentence (compared casefolded, without the dot).
ABBREVIATIONS = frozenset(
    {
        "mr",
        "mrs",
        "ms",
        "dr",
        "prof",
        "sr",
        "jr",
        "st",
        "mt",
        "ft",
        "vs",
        "etc",
        "e.g",
        "i.e",
        "cf",
        "al",
        "approx",
        "nos",
        "vol",
        "fig",
        "figs",
        "pp",
        "ed",
        "eds",
        "inc",
        "ltd",
        "co",
        "corp",
        "bros",
        "dept",
        "univ",
        "gov",
        "gen",
        "col",
        "lt",
        "sgt",
        "capt",
        "cmdr",
        "adm",
        "rep",
        "sen",
        "rev",
        "hon",
        "jan",
        "feb",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
        "tue",
        "tues",
        "thu",
        "thur",
        "thurs",
        "fri",
        "u.s",
        "u.k",
        "u.n",
        "e.u",
        "a.m",
        "p.m",
        "ph.d",
    }
)

# A candidate end: terminal punctuation, optional closing quotes/brackets, then space.
# Latin, Arabic (U+061F, U+06D4) and Devanagari (U+0964) ends need white space after them;
# CJK full-width ends (\u3002 \uff01 \uff1f) end a sentence with no space after.
_END = re.compile(
    r"[.!?\u2026\u061f\u06d4\u0964]+[\"'\u201d\u2019)\]\u00bb]*(?=\s)"
    r"|(?P<cjk>[\u3002\uff01\uff1f]+[\u300d\u300f\u201d\u2019\uff09]*)"
)
_CLOSERS = "\u300d\u300f\u201d\u2019\uff09"
_QUOTATIVE = ("\u3068", "\u3063\u3066")  # Japanese "to", "tte" after a closing quote
_NEXT_START = re.compile(r"\s+[\"'\u201c\u2018(\[\u00ab\u300c\u300e\uff08]*[\w\u00bf\u00a1]")
_LAST_WORD = re.compile(r"([\w.]+)\.$")
_LOOKBACK = 24  # longest abbreviation or initial checked before a period, in characters


def _is_abbreviation(before: str) -> bool:
    match = _LAST_WORD.search(before)
    if match is None:
        return False
    word = match.group(1).casefold()
    if word in ABBREVIATIONS:
        return True
    # Initials ("J. Smith") and dotted acronyms ("U.S.A.") do not end sentences.
    return (len(word) == 1 and word.isalpha()) or bool(re.fullmatch(r"(\w\.)+\w", word))


def sentences(paragraph: str) -> list[str]:
    """Split one paragraph into sentences.

    A sentence ends at ``.``, ``!``, ``?`` or an ellipsis (with any closing quotes or
    brackets) followed by white space and a word character that is not lower case,
    unless the word before the period is a known abbreviation or an initial. Decimals
    ("7.5") never split since no space follows their point.
    """
    out: list[str] = []
    start = 0
    for match in _END.finditer(paragraph):
        end = match.end()
        if match.group("cjk"):
            if match.group(0)[-1] in _CLOSERS and paragraph.startswith(_QUOTATIVE, end):
                continue  # 「…。」と言った: the quote goes on into its sentence
            piece = paragraph[start:end].strip()
            if piece and paragraph[end:].strip():
                out.append(piece)
                start = end
            continue
        nxt = _NEXT_START.match(paragraph, end)
        if not nxt or paragraph[nxt.end() - 1].islower():
            continue
        terminal = match.group(0)
        is_period = terminal.rstrip("\"'\u201d\u2019)]\u00bb") == "."
        before = paragraph[max(start, match.start() - _LOOKBACK) : match.start() + 1]
        if is_period and _is_abbreviation(before):
            continue
        piece = paragraph[start:end].strip()
        if piece:
            out.append(piece)
        start = end
    rest = paragraph[start:].strip()
    if rest:
        out.append(rest)
    return out


# --- word tokens -----------------------------------------------------------------------

# Numbers keep their inner punctuation ("75,000", "7.5%", "1/2", "10:30"), a sign that
# does not follow a word ("-12", "\u221212", not the "-" of the range "5-7"), a currency
# sign before them and a unit or scale after them ("$3bn", "1.5 million", "12 per cent",
# "3rd", "7pm"), and are atomic, so a changed number reads as a whole. Han, kana and
# CJK punctuation are one token per character (those scripts put no space between words);
# other words keep inner apostrophes and hyphens; anything else is one token.
_FRACTION = "[\u00bc-\u00be\u2150-\u215e]"  # vulgar fractions: "\u00bd", "1\u00be"
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TOKEN = re.compile(
    rf"""
    (?P<num>
        (?:(?<![\w%)\]])[-\u2212+](?=[$\u20ac\u00a3\u00a5\u20b9]?\d))?
        (?:[$\u20ac\u00a3\u00a5\u20b9])?
        (?:\d+(?:[.,:/\-\u2013]\d+)*{_FRACTION}?|{_FRACTION})
        (?:%|\u2030
          |\s?(?:per\s?cent|percent)\b
          |\s(?:thousand|million|billion|trillion)\b
          |[A-Za-z]{{1,3}}\b
        )?
    )
  | (?P<cjk>[{_CJK}])
  | (?P<word>[^\W{_CJK}]+(?:['\u2019\-\u2010\u2011][^\W{_CJK}]+)*)
  | (?P<punct>\S)
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class Token:
    """One token with the white space before it, so tokens join back to the text."""

    lead: str  # white space before the token
    text: str
    kind: str  # "num", "word" (a CJK character is one word) or "punct"

    @property
    def key(self) -> str:
        return norm(self.text)


def tokens(text: str) -> list[Token]:
    """Tokenise a sentence into numbers, words and punctuation (each atomic)."""
    out: list[Token] = []
    pos = 0
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup or "punct"
        if kind == "cjk":
            kind = "word"
        elif kind == "word" and any(c.isdigit() for c in match.group(0)):
            kind = "num"  # a name with digits is a fact too: "COVID-19", "A380", "G7"
        out.append(Token(text[pos : match.start()], match.group(0), kind))
        pos = match.end()
    return out


def word_keys(text: str) -> list[str]:
    """Matching keys of the word and number tokens of a text (punctuation left out)."""
    return [t.key for t in tokens(text) if t.kind != "punct"]
