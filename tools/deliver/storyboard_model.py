"""What a storyboard shows: the film's plain facts in, the panels and pages they are printed as.

`StoryboardFilm` is all a storyboard needs to know of a film (its title block and, per shot, the words of
its panel and where its current keyframe is), so the deliverable never reads the crew's own state.
"""

from __future__ import annotations

import base64
from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from reportlab.lib.pagesizes import A4, landscape, letter

Paper = Literal["A4", "Letter"]

COLUMNS = 3
ROWS = 2
PANELS_PER_PAGE = COLUMNS * ROWS
INK = "#23395b"
"""The colour of every panel's border and label band; tests find panels on rendered pages by it."""
PLACEHOLDER_FILL = "#e4e6eb"
LETTERBOX_FILL = "#1b1b1f"
NOTE_FILL = "#b3261e"
MUTED = "#5c6370"
TEXT = "#1c1c1c"

PAPER_SIZES: dict[Paper, tuple[float, float]] = {"A4": landscape(A4), "Letter": landscape(letter)}
"""Landscape pages, in PDF points."""
POINTS_PER_MM = 72 / 25.4


class ShotWords(BaseModel):
    """What a panel prints of a shot: where it is in the film, how it is framed, and its words."""

    model_config = ConfigDict(extra="forbid")

    shot_id: str
    scene_number: int
    scene_heading: str
    shot_number: int
    framing: str
    camera_move: str
    duration: float
    action: str = ""
    speaker: str = ""
    parenthetical: str = ""
    line: str = ""


class StoryboardShot(ShotWords):
    """One shot as its panel tells it: the words it prints and the keyframe it shows."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    keyframe: Path | None = Field(default=None, description="The current take's keyframe, absolute; None: no take.")
    render_failed: bool = Field(default=False, description="Whether the shot's last render failed.")


class StoryboardFilm(BaseModel):
    """The film as its storyboard prints it: the title block's facts and every shot in story order."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    film_id: str
    title: str
    logline: str = ""
    width: int = Field(gt=0)
    height: int = Field(gt=0)
    aspect: str = Field(description="The aspect ratio as the film names it, such as 16:9.")
    fps: int = Field(gt=0)
    scenes: int = Field(ge=0, description="How many scenes the film has, counting any without shots.")
    shots: list[StoryboardShot] = Field(default_factory=list)


class Panel(ShotWords):
    """One shot as a storyboard shows it."""

    thumbnail: bytes | None = Field(default=None, description="The shot's own frame as a small JPEG; None: no picture.")
    note: str = Field(default="", description="Why there is no picture, or what to know about the one shown.")

    @property
    def label(self) -> str:
        return f"SC {self.scene_number} · SH {self.shot_number}"

    @property
    def meta(self) -> str:
        return f"{self.framing.upper()} · {self.camera_move.upper()} · {self.duration:.1f} s"

    @property
    def thumbnail_uri(self) -> str:
        return f"data:image/jpeg;base64,{base64.b64encode(self.thumbnail).decode()}" if self.thumbnail else ""


class Storyboard(BaseModel):
    """Everything the HTML page and the PDF show: the title block and the panels in story order."""

    model_config = ConfigDict(extra="forbid")

    film_id: str
    title: str
    logline: str = ""
    aspect: float = Field(gt=0, description="Frame width over height.")
    frame: str = Field(description="Frame size and rate, as a line of the title block.")
    scenes: int
    seconds: float
    made: date
    paper: Paper = "A4"
    panels: list[Panel] = Field(default_factory=list)

    @property
    def pages(self) -> list[list[Panel]]:
        chunks = [self.panels[i : i + PANELS_PER_PAGE] for i in range(0, len(self.panels), PANELS_PER_PAGE)]
        return chunks or [[]]

    @property
    def picture_aspect(self) -> float:
        """Every panel's picture box: the film's aspect, never taller than 16:9 (a tall frame is pillarboxed)."""
        return max(self.aspect, 16 / 9)

    @property
    def summary(self) -> str:
        scenes = f"{self.scenes} scene{'s' if self.scenes != 1 else ''}"
        shots = f"{len(self.panels)} shot{'s' if len(self.panels) != 1 else ''}"
        return f"{scenes} · {shots} · {running_time(self.seconds)}"


def running_time(seconds: float) -> str:
    whole = int(seconds + 0.5)
    return f"{whole // 60}:{whole % 60:02d} running time"
