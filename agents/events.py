"""Progress events: what the crew reports while a run streams, typed once for the nodes and the surfaces.

A node builds one of the events below and sends it with an `Emitter`; it travels through LangGraph's custom
stream (and a run's `on_event` callback) as a JSON dict, so a queue, a log or a test can hold it as it is.
A surface reads a dict back with `read_event` and matches on `Stage`, never on a string of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from agents.state import GateName, GatePrompt, TargetKind, UnresolvedShot


class Stage(StrEnum):
    """Who is speaking: one step of the crew, named once for the nodes, the CLI and the studio."""

    WRITE = "write"
    PLAN = "plan"
    SCORE = "score"
    AMBIENCE = "ambience"
    DESIGN = "design"
    RENDER = "render"
    CUT = "cut"
    REVIEW = "review"
    REVISE = "revise"
    GATE = "gate"
    RUN = "run"
    ASK = "ask"
    """The crew answering the filmmaker in the studio's chat; no node emits it."""


StepStatus = Literal["start", "done"]


class Event(BaseModel):
    """What every progress event carries: the stage it comes from and how far that stage is."""

    model_config = ConfigDict(frozen=True)

    stage: Stage
    status: str


class WriteEvent(Event):
    stage: Literal[Stage.WRITE] = Stage.WRITE
    status: StepStatus
    title: str = ""
    scenes: int = 0


class PlanEvent(Event):
    stage: Literal[Stage.PLAN] = Stage.PLAN
    status: StepStatus
    shots: int = 0


class ScoreEvent(Event):
    """The composer's cues: one mood per scene in order, and who has a theme."""

    stage: Literal[Stage.SCORE] = Stage.SCORE
    status: StepStatus
    moods: list[str] = Field(default_factory=list)
    themes: list[str] = Field(default_factory=list, description="Names of the characters with a motif.")
    silent: bool = Field(default=False, description="The film is made without music.")


class AmbienceEvent(Event):
    """The sound designer's beds: per scene, what is heard."""

    stage: Literal[Stage.AMBIENCE] = Stage.AMBIENCE
    status: StepStatus
    beds: list[str] = Field(default_factory=list, description="Per scene laid now: 'scene 2: rain, sea'.")
    silent: bool = False


class DesignEvent(Event):
    """A render pass begins with the designer's start, whose `shots` is the number of shots in the pass."""

    stage: Literal[Stage.DESIGN] = Stage.DESIGN
    status: StepStatus
    shots: int = 0
    takes: int = Field(default=1, description="Takes rendered per shot (coverage): the pass renders shots x takes.")


class RenderEvent(Event):
    """One shot's take: started, done (rendered, or reused when `cache_hit`), failed, or found damaged."""

    stage: Literal[Stage.RENDER] = Stage.RENDER
    status: Literal["start", "done", "failed", "damaged"]
    shot: str
    cache_hit: bool = False
    keyframe: str = ""
    seconds: float = 0.0
    error: str = ""
    problem: str = Field(default="", description="What is wrong with a damaged take, before it is rendered again.")


class CutEvent(Event):
    stage: Literal[Stage.CUT] = Stage.CUT
    status: StepStatus
    seconds: float = 0.0
    encode_seconds: float = 0.0
    segments: int = 0
    segments_encoded: int = 0
    sound_reused: bool = False
    loudness: float | None = Field(default=None, description="The mix's integrated loudness, LUFS.")


class ReviewEvent(Event):
    stage: Literal[Stage.REVIEW] = Stage.REVIEW
    status: StepStatus
    round: int = 0
    passed: bool = False
    flagged: list[str] = Field(default_factory=list)
    takes_checked: int = 0
    takes_reused: int = 0
    rubric_discarded: int = 0
    repaired: list[str] = Field(default_factory=list)
    unresolved: list[UnresolvedShot] = Field(default_factory=list)
    faces: str = Field(default="", description="Each character's face across the cut, in a line.")
    scope: str = Field(default="", description="What the round checked and kept: 'checked 2 shots in scene 3, ...'.")
    checked_shots: list[str] = Field(default_factory=list, description="Shots checked afresh this round.")
    verdicts_kept: int = Field(default=0, description="Verdicts kept from the round before, for unchanged scenes.")


class ReviseEvent(Event):
    """A note taken (`done`: what it changed and the shots it remakes) or refused (`rejected`, with why)."""

    stage: Literal[Stage.REVISE] = Stage.REVISE
    status: Literal["start", "done", "rejected"]
    note: str = ""
    error: str = ""
    kind: TargetKind | None = None
    target: str = ""
    changes: list[str] = Field(default_factory=list)
    dirty: list[str] = Field(default_factory=list)
    removed: list[str] = Field(default_factory=list)


class GateEvent(Event):
    """A gate waiting for the filmmaker (with what it shows) or approved."""

    stage: Literal[Stage.GATE] = Stage.GATE
    status: Literal["waiting", "approved"]
    gate: GateName
    message: str = ""
    shots: int = 0
    cut: str = ""

    @classmethod
    def waiting(cls, prompt: GatePrompt) -> GateEvent:
        return cls(status="waiting", **prompt.model_dump())


class RunEvent(Event):
    """A `run_film` call starting (fresh, resumed or revising) and ending (done, or cancelled)."""

    stage: Literal[Stage.RUN] = Stage.RUN
    status: Literal["start", "resume", "revise", "done", "cancelled"]
    film_id: str


ProgressEvent = Annotated[
    WriteEvent
    | PlanEvent
    | ScoreEvent
    | AmbienceEvent
    | DesignEvent
    | RenderEvent
    | CutEvent
    | ReviewEvent
    | ReviseEvent
    | GateEvent
    | RunEvent,
    Field(discriminator="stage"),
]
_EVENTS: TypeAdapter[ProgressEvent] = TypeAdapter(ProgressEvent)
EventSink = Callable[[dict[str, Any]], None]
"""Where event dicts go: LangGraph's `runtime.stream_writer`, or a run's `on_event` callback."""


@dataclass(frozen=True)
class Emitter:
    """The one way to send an event: `Emitter(runtime.stream_writer)(RenderEvent(...))`."""

    sink: EventSink

    def __call__(self, event: ProgressEvent) -> None:
        self.sink(event.model_dump(mode="json"))


def read_event(data: ProgressEvent | Mapping[str, Any]) -> ProgressEvent | None:
    """The typed event a dict from the stream holds; None for one this version does not know."""
    if isinstance(data, Event):
        return data  # type: ignore[return-value]
    try:
        return _EVENTS.validate_python(dict(data))
    except ValidationError:
        return None
