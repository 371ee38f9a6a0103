"""A parsed screenplay as the writer reads it: scenes with their place, light, people, action and lines."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from tools.errors import DirectorError

TimeOfDayName = Literal["dawn", "day", "dusk", "night"]


class ScreenplayError(DirectorError, ValueError):
    """A screenplay that cannot be filmed as written; the message says what to fix."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ScriptLine(_Model):
    """One spoken line, with the parenthetical that directs its delivery."""

    character: str
    text: str
    parenthetical: str = ""
    dual: bool = False
    off_screen: bool = Field(default=False, description="Heard, not seen: a V.O., O.S. or O.C. cue.")
    after_action: int = Field(
        default=0, ge=0, description="How many of the scene's action paragraphs come before this line."
    )


class ScriptScene(_Model):
    """One scene as a director plans it: place, light, people, action and speech."""

    number: int = Field(ge=1)
    heading: str
    location: str
    interior: bool
    time_of_day: TimeOfDayName
    action: list[str] = Field(default_factory=list)
    dialogue: list[ScriptLine] = Field(default_factory=list)
    characters: list[str] = Field(default_factory=list, description="In order of first appearance.")
    transition: str = Field(default="", description="The transition out of this scene, e.g. 'CUT TO:'.")
    synopsis: str = ""


class ParsedScript(_Model):
    """A whole screenplay, ready for the writer to turn into a `Film`."""

    title: str
    author: str = ""
    scenes: list[ScriptScene]
    characters: list[str] = Field(description="Every character, in order of first appearance.")
    transitions: int = Field(ge=0)
    sections: list[str] = Field(default_factory=list)
