"""Safe answers derived from the premise, used when the model's answer is unusable.

They make a plain but coherent film: the run never ends on a weak answer.
"""

from __future__ import annotations

import itertools
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
from agents.writing.premise import Being, StoryBeat, default_line, default_summary, features_of
from tools.prose import ProseKind, is_prose, split_sentences
from tools.render.spec import CameraMove, Framing, TimeOfDay

_NIGHT_WORDS = ("night", "storm", "dark", "midnight", "moon")
_INTERIOR_WORDS = ("lighthouse", "room", "kitchen", "house", "office", "cabin", "train", "shop", "ship", "car")
_FALLBACK_COLOURS = ("red", "teal", "yellow")
_OUTDOOR_WORDS = (
    "harbour", "harbor", "beach", "shore", "coast", "pier", "jetty", "dock", "port", "river", "lake", "sea",
    "forest", "woods", "mountain", "hill", "cliff", "meadow", "field", "farm", "garden", "park", "street", "road",
    "square", "market", "village", "town", "city", "station", "bridge", "roof", "island", "desert",
)  # fmt: skip
_TITLE_STOP_WORDS = {"a", "an", "the", "and", "of", "to", "in", "on", "at", "across", "for", "with", "from", "by",
                     "into", "over", "under", "through", "before", "after", "ein", "eine", "der", "die", "das", "den",
                     "und", "un", "une", "le", "la", "les", "et", "el", "los", "las", "y", "de"}  # fmt: skip
_VERBS = {"is", "are", "was", "were", "be", "been", "being", "has", "have", "had", "will", "would", "can", "could",
          "shall", "should", "may", "might", "must", "do", "does", "did", "gets", "got", "goes", "went", "comes",
          "ist", "sind", "wird", "est", "sont", "es", "son"}  # fmt: skip
"""Where a title taken from the premise stops: "the lamp is switched off" gives "The Lamp", never a cut-off verb."""


def plain(text: str, max_words: int, fallback: str, min_words: int = 3) -> str:
    """Text reduced to what an answer field allows, or `fallback` when too little is left.

    Plain characters, words of at most 16 characters, starting with a letter, `min_words` to `max_words` words.
    """
    words = [word[:16] for word in re.sub(rf"[^{PLAIN_CHARACTERS}]", " ", text).split()]
    while words and not words[0][0].isalpha():
        words.pop(0)
    return " ".join(words[:max_words]) if len(words) >= min_words else fallback


def first_sentence(text: str, max_words: int = 24) -> str:
    """The text's first sentence, closed with a full stop; empty when it is no prose or longer than `max_words`."""
    sentence = (split_sentences(text) or [""])[0]
    if len(sentence.split()) > max_words:
        return ""
    sentence = plain(sentence, max_words, "", min_words=1)
    if sentence and sentence[-1] not in ".!?":
        sentence = sentence.rstrip(",;:-") + "."
    sentence = sentence[:1].upper() + sentence[1:]
    return sentence if is_prose(sentence, ProseKind.LINE) else ""


def title_from_premise(premise: str) -> TitleAnswer:
    """The premise's last 'the ...' phrase as a title ('The Last Storm'), else its last three content words."""
    definite = [
        words for match in re.findall(r"\b(?:the|The)\s+((?:[^\W\d_]+\s+){0,2}[^\W\d_]+)", premise)
        if (words := list(itertools.takewhile(lambda w: w.lower() not in _TITLE_STOP_WORDS | _VERBS, match.split())))
    ]  # fmt: skip
    if definite:
        title = "The " + " ".join(w[:1].upper() + w[1:] for w in definite[-1])
    else:
        words = re.findall(r"[^\W\d_][^\W\d_']*", premise)
        content = [w for w in words if w.lower() not in _TITLE_STOP_WORDS]
        title = " ".join(w[:1].upper() + w[1:] for w in content[-3:]) if content else "Untitled"
    title = title if is_prose(title, ProseKind.TITLE) else "Untitled"
    return TitleAnswer(title=plain(title, 8, "Untitled", min_words=1), logline=logline_from_premise(premise, title))


def logline_from_premise(premise: str, title: str) -> str:
    """The premise's first sentence, or its first whole clause when that sentence is long, as a logline."""
    sentence = first_sentence(premise, 30)
    if len(sentence.split()) >= 6 and is_prose(sentence, ProseKind.SENTENCE):
        return sentence
    opening = (split_sentences(premise) or [""])[0]
    for clause in re.split(r",\s+(?:and|but|while|und|et|y)\s+|;\s*|,\s+", opening):
        candidate = first_sentence(clause, 30)
        if len(candidate.split()) >= 6 and is_prose(candidate, ProseKind.SENTENCE):
            return candidate
    fallback = "A short story about people in trouble and what they do."
    subject = (sentence or ("" if title == "Untitled" else f"{title}.")).rstrip(".!?")
    logline = f"A short story about {subject[:1].lower() + subject[1:]}."
    return prose_or(logline, ProseKind.SENTENCE, fallback) if len(logline.split()) >= 6 else fallback


def prose_or(text: str, kind: ProseKind, fallback: str) -> str:
    """`text` when it passes the prose gate, else `fallback`: a default must never be noise itself."""
    return text if is_prose(text, kind) else fallback


def cast_from_premise(premise: str) -> CastAnswer:
    """Two plain people, for a premise that names no one ('A storm.')."""
    return CastAnswer(
        characters=[
            CharacterIdea(name="The Stranger", look="weathered face, long grey coat, tired eyes", color="teal"),
            CharacterIdea(name="The Friend", look="bright eyes, red knitted scarf, worn boots", color="red"),
        ]
    )


def settings_from_premise(premise: str) -> SettingsAnswer:
    lowered = premise.lower()
    night = any(word in lowered for word in _NIGHT_WORDS)
    place = next((word for word in _INTERIOR_WORDS if word in lowered), "")
    words = set(re.findall(r"[a-z]+", lowered))
    outdoors = next((word for word in _OUTDOOR_WORDS if word in words), "")
    outside = SettingIdea(
        name=f"The {outdoors}" if outdoors else f"Outside the {place}" if place else "Open country",
        look=outdoor_look(outdoors, night),
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


def outdoor_look(place: str, night: bool) -> str:
    """A plain look for the premise's outdoor place ('the lake under a wide sky'), darker for a night story."""
    if place:
        return f"the {place} under a wide dark sky, distant lights" if night else f"the {place} under a wide sky"
    return "wind-bent grass, a wide dark sky, distant lights" if night else "open ground under a wide sky"


def scene_from_premise(
    opening: str,
    number: int,
    beat: StoryBeat,
    setting_names: list[str],
    character_names: list[str],
    speaker_names: list[str],
    language: str,
    again: bool = False,
) -> dict[str, object]:
    """A scene answer as a plain dict, validated by the caller against the per-request scene model.

    Its picture sentence repeats its summary, which the writer drops: a default scene shows one sentence.
    """
    present = character_names if number == 1 else character_names[:3]
    summary = default_summary(opening, beat, present, language, again=again)
    answer: dict[str, object] = {
        "setting": setting_names[(number - 1) % len(setting_names)],
        "characters": present[:4],
        "summary": summary,
        "image": summary,
    }
    if speaker_names:
        answer["speaker"] = speaker_names[(number - 1) % len(speaker_names)]
        answer["line"] = default_line(beat, number - 1 + int(again), language)
    return answer


def being_idea(being: Being, index: int) -> CharacterIdea:
    """A name and look for a being the model could not describe: its role, and plain features of its kind."""
    features = features_of(being)
    return CharacterIdea(
        name=being.role_name,
        look=f"{being.phrase}, {features}" if not being.proper_name else features,
        color=_FALLBACK_COLOURS[index % len(_FALLBACK_COLOURS)],
    )


_PLAIN_LOOKS = (
    "plain dark clothes, tired eyes",
    "worn wool jumper, short grey hair",
    "long coat, knitted scarf, watchful eyes",
    "denim jacket, cropped hair, a quick smile",
)


def look_for(name: str, index: int) -> LookAnswer:
    """A plain look for someone the script does not describe; each index a different one, so they differ."""
    return LookAnswer(look=_PLAIN_LOOKS[index % len(_PLAIN_LOOKS)], color=_FALLBACK_COLOURS[index % 3])


def setting_look_for(heading: str, interior: bool) -> SettingLookAnswer:
    light = "lamp light and shadows" if interior else "open sky and weather"
    place = prose_or(plain(heading.lower(), 8, "", min_words=1), ProseKind.TITLE, "")
    look = prose_or(f"{place}, {light}", ProseKind.PHRASE, light) if place else light
    return SettingLookAnswer(look=look, colors=["brown", "orange"] if interior else ["blue", "grey"])


def shots_for_scene(count: int) -> ShotsAnswer:
    """A wide opening, then medium, close and detail shots in turn."""
    patterns = [
        (Framing.WIDE, CameraMove.PAN),
        (Framing.MEDIUM, CameraMove.PUSH_IN),
        (Framing.CLOSE_UP, CameraMove.STATIC),
        (Framing.INSERT, CameraMove.TILT),
    ]
    picks = [patterns[0], *(patterns[1 + i % 3] for i in range(max(0, count - 1)))]
    return ShotsAnswer(shots=[ShotIdea(framing=f, camera_move=m) for f, m in picks[: max(1, min(count, 8))]])


def neutral_rubric() -> RubricAnswer:
    return RubricAnswer(story=3, continuity=3, note="No rubric answer; judged on objective checks alone.")
