"""Whether a text's words are words: looked up in wordfreq's lists of the film's language and of English.

Shape alone cannot tell 'sntselfeetziekte' or 'huheh kakir' from words; a frequency list can.
"""

from __future__ import annotations

import re
from functools import cache

LETTER_WORD = re.compile(r"[^\W\d_][^\W\d_'’]*")
UNKNOWN_WORD_LETTERS = 6
"""A lowercase word this long that no word list of the film's language (or English) holds is not a word.

German writes its nouns with a capital, so there capitalised words are looked up too.
"""


MOSTLY_UNKNOWN = 0.5
"""More than this share of a text's lowercase words unknown, and it is not the film's language."""

_ELIDED = re.compile(r"\b([^\W\d_]+['’]([^\W\d_]{3,}))\b")
"""A word with an apostrophe inside: "l'homme" and "aujourd'hui" are words, "life'swork" is two glued."""
_CONTRACTIONS = {"s", "t", "re", "ve", "ll", "d", "m"}


def unknown_words(text: str, language: str) -> str:
    """Why the text's words are not words of the film's language or of English; empty when they are.

    Long lowercase words must each be known, and most lowercase words of three letters or more must be: a line
    of short invented words ('aye, yen, huheh kakir') is not speech. Names are capitalised and pass; a language
    wordfreq does not know is not judged.
    """
    languages = word_lists(language)
    if not languages:
        return ""
    from wordfreq import zipf_frequency

    capitalised_nouns = language == "de"
    for word in LETTER_WORD.findall(text):
        if len(word) < UNKNOWN_WORD_LETTERS or not (word[0].islower() or capitalised_nouns):
            continue
        if all(zipf_frequency(word, name) == 0 for name in languages):
            return f"{word!r} is not a word in {language!r}"
    lowercase = [word for word in LETTER_WORD.findall(text) if len(word) >= 3 and word[0].islower()]
    unknown = [word for word in lowercase if all(zipf_frequency(word, name) == 0 for name in languages)]
    if len(unknown) >= 2 and len(unknown) / len(lowercase) > MOSTLY_UNKNOWN:
        return f"most of its words ({', '.join(unknown[:3])}) are not words in {language!r}"
    for word, tail in _ELIDED.findall(text):
        unknown = all(zipf_frequency(word, name) == 0 and zipf_frequency(tail, name) == 0 for name in languages)
        if tail.lower() not in _CONTRACTIONS and unknown:
            return f"{word!r} glues two words together"
    return ""


@cache
def word_lists(language: str) -> tuple[str, ...]:
    from wordfreq import available_languages

    known = available_languages()
    return tuple(name for name in dict.fromkeys([language, "en"]) if name in known) if language in known else ()
