"""Safe answers derived from the premise, used when the model's answer is unusable.

They make a plain but coherent film: the run never ends on a weak answer.
"""

from __future__ import annotations

import re

from agents.answers import (
    PLAIN_CHARACTERS,
    CastAnswer,
    CharacterIdea,
    LookAnswer,
    RubricAnswer,
    SettingIdea,
    SettingLookAnswer,
    SettingsAnswer,
    ShotIdea,
    ShotsAnswer,
    TitleAnswer,
)
from tools.spec import CameraMove, Framing, TimeOfDay

_NOUN_PHRASE = re.compile(r"\b(?:a|an)\s+((?:[a-z'-]+\s+){0,1}[a-z'-]+)", re.IGNORECASE)
_NIGHT_WORDS = ("night", "storm", "dark", "midnight", "moon")
_INTERIOR_WORDS = ("lighthouse", "room", "kitchen", "house", "office", "cabin", "train", "shop", "ship", "car")
_BEATS = ("the set-up", "the trouble begins", "things get worse", "the turn", "the climax", "the ending")
_FALLBACK_COLOURS = ("red", "teal", "yellow")


def plain(text: str, max_words: int, fallback: str, min_words: int = 3) -> str:
    """Text reduced to what an answer field allows, or `fallback` when too little is left.

    Plain characters, words of at most 16 characters, starting with a letter, `min_words` to `max_words` words.
    """
    words = [word[:16] for word in re.sub(rf"[^{PLAIN_CHARACTERS}]", " ", text).split()]
    while words and not words[0][0].isalpha():
        words.pop(0)
    return " ".join(words[:max_words]) if len(words) >= min_words else fallback


def first_sentence(text: str, max_words: int = 24) -> str:
    sentence = re.split(r"(?<=[.!?])\s", text.strip(), maxsplit=1)[0]
    return plain(sentence, max_words, "A short film about people in trouble and what they do.", min_words=6)


def title_from_premise(premise: str) -> TitleAnswer:
    words = re.findall(r"[A-Za-z']+", premise)
    content = [w for w in words if w.lower() not in {"a", "an", "the", "and", "of", "to", "in", "on", "at"}]
    title = " ".join(content[-3:]).title() if content else "Untitled"
    return TitleAnswer(title=plain(title, 8, "Untitled", min_words=1), logline=first_sentence(premise))


def characters_from_premise(premise: str, count: int = 2) -> list[str]:
    """Names from the premise's indefinite noun phrases: 'a lighthouse keeper' becomes 'The Lighthouse Keeper'."""
    names: list[str] = []
    for match in _NOUN_PHRASE.finditer(premise):
        words = match.group(1).split()
        name = "The " + " ".join(word.capitalize() for word in words)
        if name not in names:
            names.append(name[:24])
        if len(names) == count:
            break
    return names or ["The Stranger"]


def cast_from_premise(premise: str) -> CastAnswer:
    names = characters_from_premise(premise)
    return CastAnswer(
        characters=[
            CharacterIdea(
                name=name,
                look=plain(f"{name.lower()}, weathered face, plain working clothes", 14, "weathered face, old coat"),
                color=colour,
            )
            for name, colour in zip(names, _FALLBACK_COLOURS, strict=False)
        ]
    )


def settings_from_premise(premise: str) -> SettingsAnswer:
    lowered = premise.lower()
    night = any(word in lowered for word in _NIGHT_WORDS)
    place = next((word for word in _INTERIOR_WORDS if word in lowered), "")
    outside = SettingIdea(
        name=f"Outside the {place}" if place else "Open country",
        look=plain(f"{first_sentence(premise, 10).lower().rstrip('.')}, wide sky", 14, "open ground under a wide sky"),
        time_of_day=TimeOfDay.DUSK if night else TimeOfDay.DAY,
        interior=False,
        colors=["navy", "grey", "yellow"] if night else ["blue", "green", "white"],
    )
    inside = SettingIdea(
        name=f"Inside the {place}" if place else "A small room",
        look="warm lamp light, worn wooden walls, a rain-streaked window",
        time_of_day=TimeOfDay.NIGHT if night else TimeOfDay.DAY,
        interior=True,
        colors=["brown", "orange", "navy"],
    )
    return SettingsAnswer(settings=[outside, inside])


def beat(number: int, total: int) -> str:
    if total <= 1:
        return _BEATS[0]
    index = round((number - 1) * (len(_BEATS) - 1) / (total - 1))
    return _BEATS[index]


def scene_from_premise(
    premise: str, number: int, total: int, setting_names: list[str], character_names: list[str]
) -> dict[str, object]:
    """A scene answer as a plain dict, validated by the caller against the per-request scene model."""
    speaker = character_names[(number - 1) % len(character_names)]
    return {
        "setting": setting_names[(number - 1) % len(setting_names)],
        "characters": character_names[:3],
        "summary": plain(f"Scene {number}, {beat(number, total)}: {premise}", 24, "The story goes on here.", 5),
        "speaker": speaker,
        "line": ("We wait." if number < total else "It's over."),
    }


def look_for(name: str, index: int) -> LookAnswer:
    return LookAnswer(
        look=plain(f"{name.lower()}, plain clothes, tired eyes", 14, "plain clothes, tired eyes"),
        color=_FALLBACK_COLOURS[index % len(_FALLBACK_COLOURS)],
    )


def setting_look_for(heading: str, interior: bool) -> SettingLookAnswer:
    light = "lamp light and shadows" if interior else "open sky and weather"
    look = plain(f"{heading.lower()}, {light}", 14, light)
    return SettingLookAnswer(look=look, colors=["brown", "orange"] if interior else ["blue", "grey"])


def shots_for_scene(count: int, summary: str) -> ShotsAnswer:
    patterns = [
        (Framing.WIDE, CameraMove.PAN),
        (Framing.MEDIUM, CameraMove.PUSH_IN),
        (Framing.CLOSE_UP, CameraMove.STATIC),
        (Framing.INSERT, CameraMove.TILT),
    ]
    action = plain(summary, 14, "the scene unfolds slowly")
    return ShotsAnswer(
        shots=[ShotIdea(framing=f, camera_move=m, action=action) for f, m in patterns[: max(1, min(count, 4))]]
    )


def neutral_rubric() -> RubricAnswer:
    return RubricAnswer(story=3, continuity=3, note="no rubric answer; judged on objective checks alone")
