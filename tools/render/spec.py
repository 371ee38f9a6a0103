"""What a renderer is asked for: the shot spec every image and video backend reads."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

HEX_COLOUR = r"^#[0-9a-fA-F]{6}$"

Width = Annotated[int, Field(ge=64, le=4096)]
"""A frame's width in pixels, as films, settings and backends accept it."""
Height = Annotated[int, Field(ge=64, le=4096)]
Fps = Annotated[int, Field(ge=6, le=60)]
"""A film's frame rate."""
ModelFps = Annotated[int, Field(ge=1, le=120)]
"""The rate a video model makes frames at, which the cut conforms to the film's."""
Aspect = Literal["16:9", "2.39:1", "1.85:1", "4:3", "1:1", "9:16"]


class Framing(StrEnum):
    WIDE = "wide"
    MEDIUM = "medium"
    CLOSE_UP = "close-up"
    INSERT = "insert"


class CameraMove(StrEnum):
    STATIC = "static"
    PUSH_IN = "push-in"
    PULL_OUT = "pull-out"
    PAN = "pan"
    TILT = "tilt"


class TimeOfDay(StrEnum):
    DAWN = "dawn"
    DAY = "day"
    DUSK = "dusk"
    NIGHT = "night"


class CastMember(BaseModel):
    """A character as a renderer needs it: name, look words and signature colour."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    name: str
    look: str
    color: str = Field(pattern=HEX_COLOUR)
    reference_images: list[str] = Field(default_factory=list)


class Voice(BaseModel):
    """How a character sounds, for every speech backend: each reads the field that names its own voices."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    espeak: str = Field(default="en-us", description="An eSpeak NG voice, with an optional variant: 'en-us+f3'.")
    openai: str = Field(default="alloy", description="An OpenAI speech voice: alloy, ash, coral, echo, onyx, ...")
    pitch: int = Field(default=50, ge=0, le=99, description="eSpeak NG pitch, 0 to 99.")
    words_per_minute: int = Field(default=165, ge=80, le=450)
    instructions: str = Field(default="", description="Delivery notes for speech models that take them.")


class SpokenLine(BaseModel):
    """A line of dialogue as the speech backend needs it: who says it, in which voice, and what."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    character_id: str
    speaker: str
    text: str = Field(min_length=1)
    voice: Voice = Field(default_factory=Voice)
    parenthetical: str = ""


class ShotSpec(BaseModel):
    """Everything that determines a take; its hash is the take's cache key.

    Field names follow diffusers (`prompt`, `negative_prompt`, `width`, `height`, `seed`, `num_frames`,
    `fps`) so every backend reads the same spec.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    shot_id: str
    scene_number: int
    shot_number: int
    prompt: str
    negative_prompt: str = ""
    width: Width
    height: Height
    seed: int = Field(ge=0)
    fps: ModelFps
    duration: float = Field(gt=0)
    framing: Framing = Framing.MEDIUM
    camera_move: CameraMove = CameraMove.STATIC
    time_of_day: TimeOfDay = TimeOfDay.DAY
    interior: bool = False
    palette: list[str] = Field(default_factory=list, description="Setting colours, hex, most important first.")
    setting_name: str = ""
    cast: list[CastMember] = Field(default_factory=list)
    caption: str = Field(default="", description="The action or the spoken line shown on the frame.")
    speaker: str = ""
    line: SpokenLine | None = Field(default=None, description="The dialogue spoken over the shot, if any.")
    setting_references: list[str] = Field(default_factory=list, description="Reference pictures of the place.")
    init_image: str = Field(
        default="", description="A reshoot's starting picture (the previous take's keyframe), for image-to-image."
    )
    init_strength: float = Field(default=0.6, gt=0.0, le=1.0, description="How far a reshoot may move from it.")
    reference_weight: float | None = Field(
        default=None, ge=0.0, le=1.0, description="How strongly to follow the references; None: the backend's own."
    )

    @property
    def num_frames(self) -> int:
        return max(1, round(self.duration * self.fps))

    @property
    def reference_images(self) -> list[str]:
        """Every reference picture of the shot's cast, then of its place, in that order."""
        return [path for member in self.cast for path in member.reference_images] + self.setting_references

    def resolved(self, root: Path) -> ShotSpec:
        """This spec with its project-relative picture paths made absolute under `root`, for a backend.

        The spec that is hashed keeps relative paths, so a project folder can move without losing its takes.
        """
        return self.with_paths(lambda path: str(root / path) if path and not Path(path).is_absolute() else path)

    def with_paths(self, change: Callable[[str], str]) -> ShotSpec:
        """This spec with every picture path (references, reshoot start) passed through `change`."""
        return self.model_copy(
            update={
                "cast": [
                    m.model_copy(update={"reference_images": [change(p) for p in m.reference_images]})
                    for m in self.cast
                ],
                "setting_references": [change(p) for p in self.setting_references],
                "init_image": change(self.init_image),
            }
        )
