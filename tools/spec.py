"""What a renderer is asked for: the shot spec every image and video backend reads."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

HEX_COLOUR = r"^#[0-9a-fA-F]{6}$"


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
    width: int = Field(ge=64, le=4096)
    height: int = Field(ge=64, le=4096)
    seed: int = Field(ge=0)
    fps: int = Field(ge=1, le=120)
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

    @property
    def num_frames(self) -> int:
        return max(1, round(self.duration * self.fps))
