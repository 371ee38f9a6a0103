"""What a chat message names in the film: a scene, a shot, a person, a place, a time of day.

Read from the words alone, against the film's own records, so "shot 3" and "the second scene" mean the same
thing to the classifier, to the answers and to the person who typed them.
"""

from __future__ import annotations

import re

from agents.state import Character, Film, Scene, Setting, Shot
from tools.render.spec import TimeOfDay

ORDINALS = {
    "first": 1, "opening": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5,
    "sixth": 6, "seventh": 7, "eighth": 8, "ninth": 9, "tenth": 10,
}  # fmt: skip
_LAST = ("last", "final", "closing")
_NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9}
_NUMBER = rf"(\d{{1,3}}|{'|'.join(_NUMBER_WORDS)})"
_ORDINAL = rf"({'|'.join([*ORDINALS, *_LAST])}|\d{{1,2}}(?:st|nd|rd|th))"
_SCENE_NUMBER = re.compile(rf"\bscene\s+(?:#|no\.?\s*|number\s+)?{_NUMBER}\b")
_SCENE_ORDINAL = re.compile(rf"\b{_ORDINAL}\s+scene\b")
_SHOT_ID = re.compile(r"\b(s\d{2,3}-\d{2,3})\b", re.IGNORECASE)
_SHOT_NUMBER = re.compile(rf"\bshot\s+(?:#|no\.?\s*|number\s+)?{_NUMBER}\b")
_SHOT_ORDINAL = re.compile(rf"\b{_ORDINAL}\s+shot\b")
TIME_WORDS: dict[str, TimeOfDay] = {
    "night": TimeOfDay.NIGHT, "nighttime": TimeOfDay.NIGHT, "midnight": TimeOfDay.NIGHT, "dark": TimeOfDay.NIGHT,
    "dawn": TimeOfDay.DAWN, "sunrise": TimeOfDay.DAWN, "daybreak": TimeOfDay.DAWN, "morning": TimeOfDay.DAWN,
    "dusk": TimeOfDay.DUSK, "sunset": TimeOfDay.DUSK, "evening": TimeOfDay.DUSK, "twilight": TimeOfDay.DUSK,
    "day": TimeOfDay.DAY, "daytime": TimeOfDay.DAY, "daylight": TimeOfDay.DAY, "noon": TimeOfDay.DAY,
}  # fmt: skip
_TIME = re.compile(rf"\b({'|'.join(TIME_WORDS)})\b")


_TAKE_PICK = re.compile(
    rf"\b(?:use|keep|cut\s+(?:in|to)|pick|choose|go\s+with|want|prefer|swap\s+(?:in|to)|switch\s+to|try)\s+"
    rf"(?:the\s+)?take\s+(?:#|no\.?\s*|number\s+)?{_NUMBER}\b"
)


def take_pick(text: str) -> int | None:
    """The take number a message picks ("use take 2", "go with take three"), or None."""
    found = _TAKE_PICK.search(text.lower())
    return _number(found.group(1)) if found else None


def _number(word: str) -> int:
    return _NUMBER_WORDS.get(word) or int(word)


def _ordinal(word: str, count: int) -> int:
    """A 1-based position from 'second', '2nd' or 'last' among `count` items."""
    if word in _LAST:
        return count
    return ORDINALS.get(word) or int(word[:-2])


def scene_number(text: str, film: Film) -> int | None:
    """The scene number a message names ("scene 2", "the second scene", "the last scene"), real or not."""
    lowered = text.lower()
    if found := _SCENE_NUMBER.search(lowered):
        return _number(found.group(1))
    if found := _SCENE_ORDINAL.search(lowered):
        return _ordinal(found.group(1), len(film.scenes))
    return None


def scene_in(text: str, film: Film) -> Scene | None:
    """The film's scene a message names, if the film has it."""
    number = scene_number(text, film)
    return next((scene for scene in film.scenes if scene.number == number), None)


def shot_in(text: str, film: Film | None) -> Shot | None:
    """The shot a message names: an id like s02-01, "shot 3" (the third in film order), or "the last shot"."""
    if film is None:
        return None
    shots = film.shots()
    lowered = text.lower()
    if found := _SHOT_ID.search(lowered):
        return next((shot for shot in shots if shot.id.lower() == found.group(1)), None)
    position = None
    if found := _SHOT_NUMBER.search(lowered):
        position = _number(found.group(1))
    elif found := _SHOT_ORDINAL.search(lowered):
        position = _ordinal(found.group(1), len(shots))
    return shots[position - 1] if position and 0 < position <= len(shots) else None


def shot_reference(text: str) -> str | None:
    """The words naming a shot ("shot 3", "s02-01"), whether or not the film has it."""
    lowered = text.lower()
    found = _SHOT_ID.search(lowered) or _SHOT_NUMBER.search(lowered) or _SHOT_ORDINAL.search(lowered)
    return found.group(0) if found else None


def shot_label(film: Film, shot: Shot) -> str:
    """How answers name a shot: its place in the film, then its id: "shot 3 (s02-01)"."""
    position = next(index for index, each in enumerate(film.shots(), start=1) if each.id == shot.id)
    return f"shot {position} ({shot.id})"


def _has_words(text: str, phrase: str) -> bool:
    return bool(phrase) and re.search(rf"(?<!\w){re.escape(phrase.lower())}(?!\w)", text) is not None


_ARTICLES = {"the", "a", "an"}
"""Not a first name: "The Lighthouse Keeper" is not named by every "the" in a question."""


def character_in(text: str, film: Film | None) -> Character | None:
    """The person a message names, by full name or first name, in any case."""
    if film is None:
        return None
    lowered = text.lower()
    for character in film.characters:
        if _has_words(lowered, character.name):
            return character
    for character in film.characters:
        first = character.name.split()[0] if character.name.split() else ""
        if len(first) > 1 and first.lower() not in _ARTICLES and _has_words(lowered, first):
            return character
    return None


def setting_in(text: str, film: Film) -> Setting | None:
    """The place a message names, by its name in any case."""
    lowered = text.lower()
    return next((setting for setting in film.settings if _has_words(lowered, setting.name)), None)


def time_in(text: str) -> TimeOfDay | None:
    """The time of day a message names ("night", "at dusk"), if any."""
    found = _TIME.search(text.lower())
    return TIME_WORDS[found.group(1)] if found else None


def scene_time(film: Film, scene: Scene) -> TimeOfDay:
    """When a scene plays: its own time of day, or else its place's."""
    if scene.time_of_day is not None:
        return scene.time_of_day
    try:
        return film.setting(scene.setting_id).time_of_day
    except KeyError:
        return TimeOfDay.DAY
