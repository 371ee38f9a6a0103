"""Casting notes: the description a screenplay gives a character at first appearance, 'NOOR (30s, grey coat)'.

On screen the note is the character's look, not words: a caption reads the name alone.
"""

from __future__ import annotations

import re

from agents.writing.script_models import ParsedScript

INTRODUCTION = re.compile(r"(?<![\w'’])([A-Z][A-Z.'’-]+(?: [A-Z][A-Z.'’-]+){0,2}) ?\((?=[^)]*[a-z])[^)]{3,160}\)")
"""A character's first appearance in action, in capitals with a description: 'JUNO (a grey mare, one white sock)'."""


def without_introductions(text: str) -> str:
    """Action as a viewer reads it: 'MARGIT (60s, yellow coat) peels' becomes 'Margit peels'.

    The parenthetical is the casting note of a character's first appearance; on screen it is the look, not words.
    """
    return INTRODUCTION.sub(lambda match: match.group(1).title(), text)


def script_description(script: ParsedScript, cue: str) -> str:
    """The parenthetical a script gives a character at first mention in action: 'NOOR (30s, grey coat)'."""
    pattern = re.compile(rf"\b{re.escape(cue)}\s*\(([^)]{{6,160}})\)")
    for scene in script.scenes:
        for paragraph in scene.action:
            match = pattern.search(paragraph)
            if match:
                return " ".join(match.group(1).split())
    return ""
