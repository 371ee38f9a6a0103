"""The shapes the crew asks the LLM to fill: narrow, bounded, enum-heavy, so a 135M model can fill them.

Fields that must refer to something already in the film (a character, a setting) are built per request with
`Literal` enums (`choice_of`), so the grammar itself forbids an answer that names nothing.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from tools.spec import CameraMove, Framing, TimeOfDay

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


PLAIN_CHARACTERS = "A-Za-z0-9 ,.;:'!?-"


def words(min_words: int, max_words: int) -> Any:
    """Plain words, as a regex the llama.cpp grammar enforces.

    No braces or JSON leak into the text, and the word count keeps a small model from answering with one
    word or rambling on.
    """
    word = "[A-Za-z0-9,.;:'!?-]{1,16}"
    return Annotated[
        str, Field(pattern=rf"^[A-Za-z][A-Za-z0-9,.;:'!?-]{{0,15}}( {word}){{{min_words - 1},{max_words - 1}}}$")
    ]


Name = Annotated[str, Field(pattern=r"^[A-Z][A-Za-z' -]{1,23}$")]
Look = words(3, 14)
Sentence = words(5, 24)
Score = Literal[1, 2, 3, 4, 5]


class Answer(BaseModel):
    model_config = ConfigDict(extra="ignore")


class TitleAnswer(Answer):
    title: words(1, 8)
    logline: words(6, 30)


class CharacterIdea(Answer):
    name: Name
    look: Look
    color: ColourName


class CastAnswer(Answer):
    characters: list[CharacterIdea] = Field(min_length=1, max_length=3)


class SettingIdea(Answer):
    name: words(1, 5)
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
    logline: words(6, 30)


class ShotIdea(Answer):
    framing: Framing
    camera_move: CameraMove
    action: words(3, 14)


class ShotsAnswer(Answer):
    shots: list[ShotIdea] = Field(min_length=1, max_length=4)


class RubricAnswer(Answer):
    story: Score
    continuity: Score
    note: Sentence


def choice_of(values: list[str]) -> Any:
    """A `Literal` of the given strings, for fields that must name something the film already has."""
    return Literal[tuple(dict.fromkeys(values))]


def scene_answer_model(setting_names: list[str], character_names: list[str]) -> type[Answer]:
    """One scene of a premise film: where, who, what happens, and one spoken line."""
    setting = choice_of(setting_names)
    speaker = choice_of(character_names)
    return create_model(
        "SceneAnswer",
        __base__=Answer,
        setting=(setting, ...),
        characters=(list[speaker], Field(min_length=1, max_length=3)),
        summary=(Sentence, ...),
        speaker=(speaker, ...),
        line=(words(2, 14), ...),
    )


def weakest_shot_model(shot_ids: list[str]) -> type[Answer]:
    """The critic's pick of the one shot most worth reshooting, with a concrete change."""
    return create_model(
        "WeakestShotAnswer",
        __base__=Answer,
        shot=(choice_of([*shot_ids, "none"]), ...),
        change=(Literal["new_seed", "new_prompt", "new_framing"], ...),
        reason=(words(2, 16), ...),
    )
