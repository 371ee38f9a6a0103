"""The edit as the editor plans it, and its shots placed on a grid of whole frames.

Timing is planned in whole frames so the film, the SRT and the timeline agree to the frame: a title card,
then every shot in order, overlapping by a cross-fade where the scene changes and cutting hard inside a
scene.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from tools.render.spec import ModelFps


class CutError(RuntimeError):
    """A cut could not be assembled: a clip is missing or unreadable, or the plan cannot be timed."""


class CutItem(BaseModel):
    """One shot as the editor places it: its clip, how long it plays and what is said over it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    shot_id: str
    scene_number: int
    clip: Path
    duration: float = Field(gt=0)
    subtitle: str = ""
    speaker: str = ""
    audio: Path | None = Field(default=None, description="The spoken line, a WAV file, played from the cue's start.")
    ambience: Path | None = Field(
        default=None, description="The clip's own sound, a WAV file, played quietly over the shot when no line is."
    )


class CutPlan(BaseModel):
    """The whole edit: frame format, title card and the shots in playing order."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str
    logline: str = ""
    width: int = Field(ge=16, le=7680)
    height: int = Field(ge=16, le=4320)
    fps: ModelFps
    items: list[CutItem] = Field(min_length=1)
    title_seconds: float = Field(default=3.0, ge=0)
    crossfade_seconds: float = Field(default=0.5, ge=0)
    metadata: dict[str, str] = Field(
        default_factory=dict, description="Container tags written into the MP4 (title, comment, provenance)."
    )

    @field_validator("width", "height")
    @classmethod
    def _even(cls, value: int) -> int:
        if value % 2:
            raise ValueError(f"{value} is odd; H.264 in yuv420p needs an even width and height")
        return value


@dataclass(frozen=True)
class Slot:
    """A shot placed on the timeline in frames; the cue span runs from fade midpoint to fade midpoint."""

    item: CutItem
    start: int
    end: int
    fade_in: int
    cue_start: int
    cue_end: int


def frame_layout(plan: CutPlan) -> tuple[int, list[Slot], int]:
    """Place the title card and every shot on a frame grid; returns title frames, slots and total frames."""
    fps = plan.fps
    title_frames = round(plan.title_seconds * fps)
    fade = round(plan.crossfade_seconds * fps)
    items = plan.items
    scene_change = [i > 0 and items[i].scene_number != items[i - 1].scene_number for i in range(len(items))]
    slots: list[Slot] = []
    cursor = title_frames
    for i, item in enumerate(items):
        frames = round(item.duration * fps)
        fade_in = fade if scene_change[i] else 0
        fade_out = fade if i + 1 < len(items) and scene_change[i + 1] else 0
        if frames < 1 or fade_in + fade_out >= frames:
            raise CutError(
                f"shot {item.shot_id} ({item.duration:.2f} s) is too short for its cross-fades "
                f"({fade_in / fps:.2f} s in, {fade_out / fps:.2f} s out); lengthen the shot or lower "
                f"crossfade_seconds"
            )
        start = cursor - fade_in
        end = start + frames
        slots.append(
            Slot(
                item=item,
                start=start,
                end=end,
                fade_in=fade_in,
                cue_start=start + fade_in // 2,
                cue_end=end - (fade_out - fade_out // 2),
            )
        )
        cursor = end
    return title_frames, slots, cursor
