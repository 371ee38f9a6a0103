"""Checks on what a model wrote for the film: a usable description is not an echo of the question or an example."""

from __future__ import annotations

import re

from agents.answers import COLOURS

_SMALL_WORDS = {"a", "an", "the", "and", "of", "on", "in", "with", "her", "his", "one"}


PROMPT_EXAMPLES = (
    "brindle coat, one white paw, a frayed rope collar",
    "a yellow rain hat, paint on his hands",
    "curly red hair, green apron, flour on her hands",
    "wet cobbles, a flickering shop sign",
    "face, hair, clothes",
    "the harbour wall, a small kitchen",
)


def acceptable_text(text: str, *echoes: str) -> bool:
    """A usable description: a few words, not just the title or name the question contained, and no example.

    A small model copies the prompt's example look piecemeal ("a white paw" on a parrot), so any two words in
    a row from an example (`PROMPT_EXAMPLES`) make the text a copy. A list of colours ("blue, red, green") is
    a palette, not a look.
    """
    lowered = text.lower().strip(" .")
    echoed = any(echo and (echo.lower() in lowered or lowered in echo.lower()) for echo in echoes)
    words = re.findall(r"[^\W\d_]+", lowered)
    pairs = {f"{a} {b}" for a, b in zip(words, words[1:], strict=False) if not {a, b} <= _SMALL_WORDS}
    copied = any(pair in " ".join(re.findall(r"[^\W\d_]+", example)) for example in PROMPT_EXAMPLES for pair in pairs)
    only_colours = all(word in COLOURS or word in _SMALL_WORDS for word in words)
    return len(lowered.split()) >= 3 and not echoed and not copied and not only_colours


_FUNCTION_WORDS = frozenset(
    "about above after again against also another because been before being below between both came come could "
    "does doing down during each even every from further have having here into just like made make many more most "
    "much must never only other over same should since some such than that their them then there these they this "
    "those through under until upon very want were what when where which while will with within without would "
    "your story film tale scene scenes line lines text paragraph words".split()
)
"""Words that say nothing of what a film is about; the words the question itself uses are among them."""


def about_the_story(text: str, story: str, names: tuple[str, ...] = ()) -> bool:
    """Whether `text` (a logline) is about this film: it names one of its people, or shares two words with its story.

    A small model writes fluent sentences about nothing ("A line of text in a paragraph."); no check on the form
    of a sentence stops them, so a logline must hold something of the story it sums up. Words are compared by
    their first five letters, so "crossing" meets "crosses".
    """
    lowered = text.lower()
    if any(name.strip() and re.search(rf"(?<!\w){re.escape(name.lower())}(?!\w)", lowered) for name in names):
        return True

    def stems(words: str) -> set[str]:
        found = re.findall(r"[^\W\d_]{4,}", words.lower())
        return {word[:5] for word in found if word not in _FUNCTION_WORDS}

    return len(stems(text) & stems(story)) >= 2


def invented_words(title: str, source: str, language: str = "en") -> list[str]:
    """The title's words of five letters or more that no word list of its language knows and its source never says.

    A title is capitalised, so the prose gate takes its words for names; a name the premise never gave
    ("A Night-Shaftonan 21") is a word the model made up.
    """
    from wordfreq import zipf_frequency

    from tools.known_words import word_lists

    languages = word_lists(language) or ("en",)
    said = source.lower()
    return [
        word
        for word in re.findall(r"[^\W\d_]{5,}", title)
        if word.lower() not in said and all(zipf_frequency(word.lower(), name) == 0 for name in languages)
    ]

