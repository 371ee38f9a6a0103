"""Which notes are about the sound, read from the words alone: the music, a character's theme, or the ambience.

Kept apart from what a sound note changes (`agents.notes.sound`) so that aiming a note (`agents.notes.targets`)
and reading a chat message (`agents.chat.converse`) can recognise one without importing the changes.

A bed's name alone is not enough: "rain" in a note may be about the picture. It is a sound note when the note
asks for it louder or quieter, adds or drops it, or calls it a sound ("rain sounds", "the sound of the sea").
"""

from __future__ import annotations

import re
from typing import Literal

from tools.sound.ambience import AmbienceKind

SoundAim = Literal["music", "theme", "ambience"]

MUSIC_NOUNS = r"music|score|soundtrack|melody|melodies|underscore"
THEME_NOUNS = r"theme|motif|leitmotif|leitmotiv"
AMBIENCE_NOUNS = r"ambien(?:ce|t\s+sounds?)|background\s+(?:sounds?|noises?)|soundscape|atmos|sound\s+bed"
KIND_WORDS: dict[AmbienceKind, str] = {
    AmbienceKind.RAIN: r"rain(?:fall|drops)?|drizzle|downpour",
    AmbienceKind.WIND: r"wind|breeze|gusts?",
    AmbienceKind.SEA: r"sea|waves?|surf|ocean",
    AmbienceKind.ENGINE: r"engines?|motors?",
    AmbienceKind.TRAFFIC: r"traffic|street\s+noise|city\s+noise",
    AmbienceKind.ROOM: r"room\s+tone|room\s+noise",
    AmbienceKind.CROWD: r"crowds?|chatter|murmur(?:ing)?",
    AmbienceKind.FIRE: r"fire|fireplace|crackl(?:e|ing)",
    AmbienceKind.BIRDS: r"birds?|birdsong|bird\s+song",
    AmbienceKind.NIGHT: r"crickets?|cicadas?|insects?|night\s+(?:sounds?|noises?)",
}
"""The words that name each bed in a note."""
SOUND_NOUNS = "|".join([MUSIC_NOUNS, THEME_NOUNS, AMBIENCE_NOUNS, *KIND_WORDS.values()])
"""Any word naming something heard: for "no music", "no rain", "no theme for Noor" read as a note in the chat."""
MOOD_COMPARATIVES = r"sadder|happier|tenser|scarier|creepier|eerier|calmer|gentler|darker|lighter|sweeter|grander"

LOUDER = re.compile(
    r"\b(?:louder|turn(?:ed)?(?:\s+\w+){0,3}\s+up|raise[ds]?|boost(?:ed)?|bring\s+up|more\s+audible|"
    r"too\s+(?:quiet|soft))\b"
)
QUIETER = re.compile(
    r"\b(?:quieter|softer|fainter|subtler|turn(?:ed)?(?:\s+\w+){0,3}\s+down|lower(?:ed)?|tone\s+down|"
    r"less\s+loud|too\s+loud)\b"
)
NONE_WORDS = r"(?:no|without|mute|silence|kill|stop|lose|drop|remove|cut|get\s+rid\s+of|take\s+out)"
_ADD = r"(?:add|put|lay|bring\s+in|bring\s+back)"
_SUFFIX = r"(?:sounds?|noises?|ambience|bed|hum)"
_WHERE = (
    r"(?:the\s+)?(?:scene\s+\d{1,3}|(?:first|opening|last|final|closing)\s+scene|whole\s+film|"
    r"every\s+scene|all\s+(?:the\s+)?scenes)"
)
_MUSIC = re.compile(rf"\b(?:{MUSIC_NOUNS})\b")
_THEME = re.compile(
    rf"\b(?:give|add|write|compose)(?:\s+[\w']+){{0,4}}?\s+(?:{THEME_NOUNS})s?\b|"
    rf"\b{NONE_WORDS}\s+(?:the\s+|a\s+|any\s+|more\s+)?(?:[\w]+'s\s+)?(?:musical\s+)?(?:{THEME_NOUNS})s?\b|"
    rf"'s\s+(?:own\s+)?(?:musical\s+)?(?:{THEME_NOUNS})\b|\b(?:{THEME_NOUNS})\s+for\s+\w"
)
_AMBIENCE = re.compile(
    rf"\b(?:{AMBIENCE_NOUNS})\b|\b(?:{NONE_WORDS}|louder|quieter|softer)\s+(?:the\s+)?atmosphere\b|"
    r"\batmosphere\s+(?:louder|quieter|softer|back|off)\b"
)


def _kind(kind: AmbienceKind) -> str:
    return rf"(?:{KIND_WORDS[kind]})"


def kinds_in(text: str) -> list[AmbienceKind]:
    """The beds a note names, in the order it names them."""
    found = [(match.start(), kind) for kind in KIND_WORDS if (match := re.search(rf"\b{_kind(kind)}\b", text))]
    return [kind for _, kind in sorted(found)]


def kind_dropped(text: str, kind: AmbienceKind) -> bool:
    """Whether the note drops the bed: "no rain", "mute the wind", "rain off"; not "cut the fire scene"."""
    words = _kind(kind)
    return bool(
        re.search(rf"\b{NONE_WORDS}\s+(?:more\s+|any\s+|the\s+|of\s+the\s+)*{words}\b(?!\s+scene)", text)
        or re.search(rf"\b{words}(?:\s+{_SUFFIX})?\s+(?:off|out)\b", text)
    )


def kind_added(text: str, kind: AmbienceKind) -> bool:
    """Whether the note adds the bed: "add rain to scene 2", "bring back the birds", a whole note "rain in scene 2"."""
    words = _kind(kind)
    return bool(
        re.search(rf"\b{_ADD}\s+(?:some\s+|the\s+|a\s+bit\s+of\s+|a\s+little\s+|sound\s+of\s+)*{words}\b", text)
        or re.search(rf"\b{words}(?:\s+{_SUFFIX})?\s+back\b", text)
        or re.fullmatch(
            rf"\s*(?:some\s+)?{words}(?:\s+{_SUFFIX})?\s+(?:in|to|under|for|over|during)\s+{_WHERE}\W*", text
        )
    )


def kind_as_sound(text: str, kind: AmbienceKind) -> bool:
    """The bed called a sound: "rain sounds", "the sound of the sea"."""
    words = _kind(kind)
    return bool(re.search(rf"\b{words}\s+{_SUFFIX}\b|\bsound\s+of\s+(?:the\s+)?{words}\b", text))


def sound_aim(text: str) -> SoundAim | None:
    """What a note asks of the sound, or None when it is not about the sound.

    A theme note wins over a music note ("give Noor a musical theme"), a music note over an ambience note.
    """
    text = text.lower()
    if _THEME.search(text):
        return "theme"
    if _MUSIC.search(text):
        return "music"
    if _AMBIENCE.search(text):
        return "ambience"
    loudness = bool(LOUDER.search(text) or QUIETER.search(text))
    for kind in kinds_in(text):
        if loudness or kind_dropped(text, kind) or kind_added(text, kind) or kind_as_sound(text, kind):
            return "ambience"
    return None
