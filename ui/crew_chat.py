"""The crew's side of the chat: each agent speaks under its own name and avatar, one message per step.

Progress events from the graph become chat messages here; a render pass is one message that counts up, so
a film of forty shots does not flood the conversation.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from agents.events import (
    AmbienceEvent,
    CutEvent,
    DesignEvent,
    GateEvent,
    PlanEvent,
    ProgressEvent,
    RenderEvent,
    ReviewEvent,
    ReviseEvent,
    RunEvent,
    ScoreEvent,
    Stage,
    WriteEvent,
    read_event,
)

CREW = {
    Stage.WRITE: ("Writer", "✍️"),
    Stage.PLAN: ("Director", "🎬"),
    Stage.SCORE: ("Composer", "🎼"),
    Stage.AMBIENCE: ("Sound designer", "🎧"),
    Stage.DESIGN: ("Designer", "🎨"),
    Stage.RENDER: ("Camera", "📷"),
    Stage.CUT: ("Editor", "✂️"),
    Stage.REVIEW: ("Critic", "🧐"),
    Stage.REVISE: ("Script supervisor", "📝"),
    Stage.GATE: ("Director", "🎬"),
    Stage.RUN: ("Producer", "📋"),
    Stage.ASK: ("Director", "🎬"),
}


class ChatLine(BaseModel):
    """One message in the studio's chat, as Gradio's messages format takes it."""

    role: str
    content: str
    agent: str = ""
    key: str = ""
    """Messages with the same key are updated in place (a render pass counting up)."""

    def as_message(self) -> dict[str, Any]:
        """Markup in a message shows as text; scenes and shots the crew names become links that aim a note."""
        text = html.escape(self.content, quote=False)
        if self.role == "user":
            return {"role": "user", "content": text}
        return {"role": "assistant", "content": linked(text)}


_SHOT_REFERENCE = re.compile(r"\bshot (\d{1,3}) \((s\d{2,3}-\d{2,3})\)")
_SCENE_REFERENCE = re.compile(r"\b[Ss]cene (\d{1,3})\b")


def linked(text: str) -> str:
    """“shot 3 (s02-01)” and “scene 2” as links the page turns into a note's target (see `ui/app.py`)."""
    text = _SHOT_REFERENCE.sub(lambda m: f"[shot {m[1]} ({m[2]})](#shot-{m[2]})", text)
    return _SCENE_REFERENCE.sub(lambda m: f"[{m[0]}](#scene-{m[1]})", text)


def score_words(event: ScoreEvent) -> str:
    """The composer's line: the moods scene by scene (runs of one mood said once) and the themes."""
    if event.silent:
        return "No score for this film (sound.music is off): every scene's cue is silent."
    runs: list[tuple[str, int, int]] = []
    for number, mood in enumerate(event.moods, start=1):
        if runs and runs[-1][0] == mood:
            runs[-1] = (mood, runs[-1][1], number)
        else:
            runs.append((mood, number, number))
    parts = [f"{mood} ({f'scene {a}' if a == b else f'scenes {a}-{b}'})" for mood, a, b in runs]
    themes = f" Themes for {', '.join(event.themes)}." if event.themes else ""
    return f"Score written: {', '.join(parts)}.{themes}"


def crew_line(stage: Stage, text: str, key: str = "") -> ChatLine:
    name, avatar = CREW.get(stage, ("Crew", "🎞️"))
    return ChatLine(role="assistant", content=f"{avatar} **{name}** · {text}", agent=name, key=key)


class CrewChat:
    """Turns progress events into chat lines, keeping count of the shots in each render pass."""

    def __init__(self) -> None:
        self.render_pass = 0
        self.rendered: list[str] = []
        self.reused = 0
        self.failed: list[str] = []
        self.total = 0
        self.takes = 1

    def lines_for(self, data: ProgressEvent | Mapping[str, Any]) -> list[ChatLine]:
        """The chat lines for one event (typed, or as a dict off the stream); none for an event the chat skips."""
        event = read_event(data)
        if isinstance(event, WriteEvent):
            if event.status == "start":
                return [crew_line(event.stage, "Writing the story, its people and places…")]
            return [crew_line(event.stage, f"“{event.title}” is written: {event.scenes} scenes.")]
        if isinstance(event, PlanEvent) and event.status == "done":
            return [crew_line(event.stage, f"Shot list ready: {event.shots} shots.")]
        if isinstance(event, ScoreEvent):
            return [crew_line(event.stage, score_words(event))]
        if isinstance(event, AmbienceEvent) and (event.beds or event.silent):
            heard = "; ".join(event.beds) if event.beds else "no ambience in this film (sound.ambience is off)"
            return [crew_line(event.stage, f"Ambience laid: {heard}.")]
        if isinstance(event, DesignEvent) and event.status == "start":
            return self._render_pass(event)
        if isinstance(event, RenderEvent):
            return self._render(event)
        if isinstance(event, CutEvent):
            if event.status == "start":
                return [crew_line(event.stage, "Cutting the film…", key=Stage.CUT.value)]
            mixed = f", mixed to {event.loudness:.1f} LUFS" if event.loudness is not None else ""
            return [crew_line(event.stage, f"The cut is {event.seconds:.0f} s long{mixed}.", key=Stage.CUT.value)]
        if isinstance(event, ReviewEvent) and event.status == "done":
            return [self._review(event)]
        if isinstance(event, ReviseEvent):
            return self._revise(event)
        if isinstance(event, GateEvent):
            if event.status == "waiting":
                return [crew_line(event.stage, event.message)]
            return [crew_line(event.stage, f"The {event.gate} is approved; going on.")]
        if isinstance(event, RunEvent) and event.status == "cancelled":
            return [crew_line(event.stage, "Stopped. Everything finished so far is kept; press Resume to go on.")]
        if isinstance(event, RunEvent) and event.status == "done":
            return [crew_line(event.stage, "The film is finished. Give a note any time to revise it.")]
        return []

    def _render_pass(self, event: DesignEvent) -> list[ChatLine]:
        self.render_pass += 1
        self.total, self.rendered, self.reused, self.failed = event.shots * event.takes, [], 0, []
        self.takes = event.takes
        if self.total == 0:
            return []
        coverage = f" Each shot gets {event.takes} takes; I will cut the best." if event.takes > 1 else ""
        building = f"Building {event.shots} prompts from the film's memory.{coverage}"
        return [crew_line(Stage.DESIGN, building), self._progress()]

    def _render(self, event: RenderEvent) -> list[ChatLine]:
        if event.status == "failed":
            self.failed.append(event.shot)
        elif event.status == "done":
            if event.cache_hit:
                self.reused += 1
            else:
                self.rendered.append(event.shot)
        else:
            return []
        return [self._progress()]

    def _progress(self) -> ChatLine:
        done = len(self.rendered) + self.reused + len(self.failed)
        parts = [f"{'Takes' if self.takes > 1 else 'Shots'} {done}/{self.total}"]
        if self.rendered:
            parts.append(f"rendered {', '.join(dict.fromkeys(self.rendered))}")
        if self.reused:
            parts.append(f"{self.reused} unchanged, reused")
        if self.failed:
            parts.append(f"failed {', '.join(self.failed)}")
        return crew_line(Stage.RENDER, "; ".join(parts) + ".", key=f"{Stage.RENDER.value}-{self.render_pass}")

    @staticmethod
    def _review(event: ReviewEvent) -> ChatLine:
        mended = f" I mended {'; '.join(event.repaired)}." if event.repaired else ""
        if "consistent" in event.faces or "off-model" in event.faces:
            mended += f" {event.faces[:1].upper()}{event.faces[1:]}."
        if event.passed:
            return crew_line(event.stage, f"Round {event.round}: the cut passes review.")
        if event.unresolved:
            shots = "; ".join(f"{item.shot_id} ({'; '.join(item.reasons)})" for item in event.unresolved)
            return crew_line(event.stage, f"Round {event.round}: out of review rounds, still flagged: {shots}.{mended}")
        flagged = ", ".join(event.flagged) or "nothing"
        return crew_line(event.stage, f"Round {event.round}: sending back {flagged}.{mended}")

    @staticmethod
    def _revise(event: ReviseEvent) -> list[ChatLine]:
        if event.status == "rejected":
            return [crew_line(event.stage, f"I could not apply that note: {event.error}")]
        if event.status != "done":
            return []
        changes = "; ".join(event.changes) or "no change"
        remade = f"Remaking {', '.join(event.dirty)}" if event.dirty else "No shot needs remaking"
        gone = f"; removed {', '.join(event.removed)}" if event.removed else ""
        aimed = "the sound" if event.kind == "sound" else f"{event.kind} {event.target}"
        return [crew_line(event.stage, f"The note touches {aimed}: {changes}. {remade}{gone}.")]
