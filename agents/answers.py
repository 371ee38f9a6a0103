"""The shapes the crew asks the LLM to fill: narrow, bounded, enum-heavy, so a 135M model can fill them.

Fields that must refer to something already in the film (a character, a setting) are built per request with
`Literal` enums (`choice_of`), so the grammar itself forbids an answer that names nothing.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, create_model
from pydantic_core import PydanticCustomError

from tools.llm.structured_output import NOT_PROSE
from tools.prose import ProseKind, check_prose
from tools.render.spec import CameraMove, Framing, TimeOfDay
from tools.sound.score import Mood

COLOURS: dict[str, str] = {
    "red": "#d62828",
    "orange": "#f77f00",
    "yellow": "#fcbf49",
    "green": "#2a9d8f",
    "olive": "#6a994e",
    "teal": "#168aad",
    "blue": "#1d4e89",
    "navy": "#14213d",
    "purple": "#7b2cbf",
    "pink": "#ef476f",
    "brown": "#7f5539",
    "grey": "#8d99ae",
    "white": "#edf2f4",
    "black": "#22223b",
}
ColourName = Literal[
    "red",
    "orange",
    "yellow",
    "green",
    "olive",
    "teal",
    "blue",
    "navy",
    "purple",
    "pink",
    "brown",
    "grey",
    "white",
    "black",
]


LETTERS = "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u0370-\u03ff\u0400-\u04ff"
"""Latin with its accents, Greek and Cyrillic: the letters a grammar lets a model write."""
PLAIN_CHARACTERS = f"{LETTERS}0-9 ,.;:'!?-"


def _prose_gate(kind: ProseKind) -> AfterValidator:
    """A validator that refuses text failing the prose gate, and any copy of the question it answers."""

    def gate(value: str, info: ValidationInfo) -> str:
        question = str((info.context or {}).get("question", ""))
        verdict = check_prose(value, kind, echoes=[question] if question else ())
        if not verdict:
            raise PydanticCustomError(NOT_PROSE, "not prose: {reason}", {"reason": verdict.reason})
        return " ".join(value.split())

    return AfterValidator(gate)


def words(min_words: int, max_words: int, kind: ProseKind = ProseKind.PHRASE) -> Any:
    """Plain words, as a regex the llama.cpp grammar enforces, then the prose gate.

    No braces or JSON leak into the text, and the word count keeps a small model from answering with one
    word or rambling on; the gate refuses what a pattern cannot see (digit soup, loops, a sentence cut off).
    """
    word = f"[{LETTERS}0-9,.;:'!?-]{{1,24}}"
    pattern = rf"^[{LETTERS}][{LETTERS}0-9,.;:'!?-]{{0,23}}( {word}){{{min_words - 1},{max_words - 1}}}$"
    return Annotated[str, Field(pattern=pattern), _prose_gate(kind)]


Name = Annotated[str, Field(pattern=rf"^[{LETTERS}][{LETTERS}' -]{{1,23}}$"), _prose_gate(ProseKind.NAME)]
Look = words(3, 20)
Sentence = words(5, 36, ProseKind.SENTENCE)
Score = Literal[1, 2, 3, 4, 5]


class Answer(BaseModel):
    model_config = ConfigDict(extra="ignore")


class TitleAnswer(Answer):
    title: words(1, 8, ProseKind.TITLE)
    logline: words(6, 40, ProseKind.SENTENCE)


class CharacterIdea(Answer):
    name: Name
    look: Look
    color: ColourName


class CastAnswer(Answer):
    characters: list[CharacterIdea] = Field(min_length=1, max_length=3)


class SettingIdea(Answer):
    name: words(1, 5, ProseKind.TITLE)
    look: Look
    time_of_day: TimeOfDay
    interior: bool
    colors: list[ColourName] = Field(min_length=2, max_length=3)


class SettingsAnswer(Answer):
    settings: list[SettingIdea] = Field(min_length=1, max_length=3)


class LookAnswer(Answer):
    look: Look
    color: ColourName


class SettingLookAnswer(Answer):
    look: Look
    colors: list[ColourName] = Field(min_length=2, max_length=3)


class LoglineAnswer(Answer):
    logline: words(6, 40, ProseKind.SENTENCE)


class ShotIdea(Answer):
    """How to shoot one shot. What it shows is the script's (or the scene's) own words, never the model's."""

    framing: Framing
    camera_move: CameraMove


class ShotsAnswer(Answer):
    shots: list[ShotIdea] = Field(min_length=1, max_length=8)


class RubricAnswer(Answer):
    story: Score
    continuity: Score
    note: words(5, 36, ProseKind.NOTE)


class ScoreAnswer(Answer):
    """The composer's two picks for a scene; keys, tempi and instruments follow by rule."""

    mood: Mood
    intensity: Score


def choice_of(values: list[str]) -> Any:
    """A `Literal` of the given strings, for fields that must name something the film already has."""
    return Literal[tuple(dict.fromkeys(values))]


def scene_answer_model(setting_names: list[str], character_names: list[str], speaker_names: list[str]) -> type[Answer]:
    """One scene of a premise film: where, who, what happens, what we see, and a line one of the people says.

    Only people speak: with no person among `speaker_names` the scene has no speaker or line fields at all.
    """
    setting = choice_of(setting_names)
    present = choice_of(character_names)
    fields: dict[str, Any] = {
        "setting": (setting, ...),
        "characters": (list[present], Field(min_length=1, max_length=4)),
        "summary": (Sentence, ...),
        "image": (Sentence, ...),
    }
    if speaker_names:
        fields["speaker"] = (choice_of(speaker_names), ...)
        fields["line"] = (words(2, 24, ProseKind.LINE), ...)
    return create_model("SceneAnswer", __base__=Answer, **fields)


def weakest_shot_model(shot_ids: list[str]) -> type[Answer]:
    """The critic's pick of the one shot most worth reshooting, with a concrete change."""
    return create_model(
        "WeakestShotAnswer",
        __base__=Answer,
        shot=(choice_of([*shot_ids, "none"]), ...),
        change=(Literal["new_seed", "new_prompt", "new_framing"], ...),
        reason=(words(2, 16), ...),
    )
