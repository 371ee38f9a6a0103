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
