"""Counts in words: "1 attack per week", "3 attacks per week", "1 note", "2 notes".

Pure, no feature imports: templates use it through the `plural` and `measure` filters.
"""

from __future__ import annotations

import re
from decimal import Decimal

# Plurals that do not end in a plain "s", and words that end in "s" without being plural.
IRREGULAR = {"people": "person", "children": "child", "feet": "foot", "teeth": "tooth"}
IE_WORDS = ("calories", "cookies", "movies", "brownies", "pies", "ties", "lies", "selfies")
NOT_PLURAL = re.compile(r"(ss|us|is|ous)$")
WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")


def is_one(count: Decimal | float | int) -> bool:
    """Does English call this count singular ("1 attack", "1.0 attack"; "1.5 attacks")?"""
    try:
        return Decimal(str(count)) == 1
    except ArithmeticError:
        return False


def singular(word: str) -> str:
    """The singular of an English plural noun ("attacks" -> "attack"); other words as
    they are ("kg", "glass", "status")."""
    lower = word.lower()
    if lower in IRREGULAR:
        return _same_case(word, IRREGULAR[lower])
    if len(word) < 3 or not lower.endswith("s") or NOT_PLURAL.search(lower):
        return word
    if lower.endswith("ies") and lower not in IE_WORDS and len(word) > 4:
        return word[:-3] + ("Y" if word[-1].isupper() else "y")
    if lower.endswith(("sses", "shes", "xes", "zes")) or (
        lower.endswith("ches") and not lower.endswith("aches")
    ):
        return word[:-2]
    return word[:-1]


def _same_case(original: str, replacement: str) -> str:
    return replacement.capitalize() if original[:1].isupper() else replacement


def unit_for(count: Decimal | float | int, unit: str) -> str:
    """A free-text unit agreeing with a count: its first word made singular for one
    ("attacks per week" -> "attack per week"), as typed otherwise."""
    if not unit or not is_one(count):
        return unit or ""
    match = WORD.match(unit)
    if match is None:
        return unit  # "/10", "% of meals", "(0-10)"
    return singular(match.group(0)) + unit[match.end() :]


def plural(count: int, singular_form: str, plural_form: str | None = None) -> str:
    """ "1 note", "2 notes", "0 notes"; `plural_form` for the irregular ones."""
    word = singular_form if count == 1 else (plural_form or singular_form + "s")
    return f"{count} {word}"
