"""The colour vocabulary: the words for colours a look or a note may use, and a character's own colour."""

from __future__ import annotations

import re

from agents.answers import COLOURS
from agents.state import RunState, Setting, StyleBible

COLOUR_WORDS = {
    **{name: name for name in COLOURS},
    "gray": "grey", "silver": "grey", "gold": "yellow", "golden": "yellow", "crimson": "red", "scarlet": "red",
    "maroon": "red", "violet": "purple", "emerald": "green", "turquoise": "teal", "tan": "brown",
}  # fmt: skip
_HARD_TO_SEE = {"black", "navy"}


def character_colour_name(look: str, suggested: str, used: set[str]) -> str:
    """A character's colour: the first colour their look names, else the model's pick.

    A yellow coat makes a yellow figure; colours stay distinct, and none vanishes against a night sky.
    """
    named = next((COLOUR_WORDS[w] for w in re.findall(r"[a-z]+", look.lower()) if w in COLOUR_WORDS), None)
    for candidate in (named, suggested):
        if candidate and candidate not in used and candidate not in _HARD_TO_SEE:
            return candidate
    return next(c for c in COLOURS if c not in used and c not in _HARD_TO_SEE)


def colours_in(note: str) -> list[str]:
    named = [COLOUR_WORDS[w] for w in re.findall(r"[a-z]+", note.lower()) if w in COLOUR_WORDS]
    return [COLOURS[name] for name in dict.fromkeys(named)]


def style_for(state: RunState, settings: list[Setting]) -> StyleBible:
    return StyleBible(palette=palette_of(settings), width=state.width, aspect=state.aspect, fps=state.fps)


def palette_of(settings: list[Setting]) -> list[str]:
    colours = list(dict.fromkeys(colour for setting in settings for colour in setting.palette))
    return colours[:5] or StyleBible().palette
