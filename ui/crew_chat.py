"""The crew's side of the chat: each agent speaks under its own name and avatar, one message per step.

Progress events from the graph become chat messages here; a render pass is one message that counts up, so
a film of forty shots does not flood the conversation.
"""

from __future__ import annotations

import html
import re
from typing import Any

from pydantic import BaseModel

CREW = {
    "write": ("Writer", "✍️"),
    "plan": ("Director", "🎬"),
    "design": ("Designer", "🎨"),
    "render": ("Camera", "📷"),
    "cut": ("Editor", "✂️"),
    "review": ("Critic", "🧐"),
    "revise": ("Script supervisor", "📝"),
    "gate": ("Director", "🎬"),
    "run": ("Producer", "📋"),
    "ask": ("Director", "🎬"),
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


def crew_line(stage: str, text: str, key: str = "") -> ChatLine:
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

    def lines_for(self, event: dict[str, Any]) -> list[ChatLine]:
        stage, status = str(event.get("stage", "")), event.get("status")
        if stage == "write" and status == "start":
            return [crew_line(stage, "Writing the story, its people and places…")]
        if stage == "write" and status == "done":
            return [crew_line(stage, f"“{event.get('title')}” is written: {event.get('scenes')} scenes.")]
        if stage == "plan" and status == "done":
            return [crew_line(stage, f"Shot list ready: {event.get('shots')} shots.")]
        if stage == "design" and status == "start":
            self.render_pass += 1
            self.total, self.rendered, self.reused, self.failed = int(event.get("shots", 0)), [], 0, []
            if self.total == 0:
                return []
            return [crew_line("design", f"Building {self.total} prompts from the film's memory."), self._progress()]
        if stage == "render":
            return self._render(event)
        if stage == "cut" and status == "start":
            return [crew_line(stage, "Cutting the film…", key="cut")]
        if stage == "cut" and status == "done":
            return [crew_line(stage, f"The cut is {event.get('seconds', 0):.0f} s long.", key="cut")]
        if stage == "review" and status == "done":
            return [self._review(event)]
        if stage == "revise":
            return self._revise(event)
        if stage == "gate" and status == "waiting":
            return [crew_line("gate", f"{event.get('message', '')}")]
        if stage == "gate" and status == "approved":
            return [crew_line("gate", f"The {event.get('gate')} is approved; going on.")]
        if stage == "run" and status == "cancelled":
            return [crew_line("run", "Stopped. Everything finished so far is kept; press Resume to go on.")]
        if stage == "run" and status == "done":
            return [crew_line("run", "The film is finished. Give a note any time to revise it.")]
        return []

    def _render(self, event: dict[str, Any]) -> list[ChatLine]:
        shot = str(event.get("shot", ""))
        if event.get("status") == "failed":
            self.failed.append(shot)
        elif event.get("status") == "done":
            if event.get("cache_hit"):
                self.reused += 1
            else:
                self.rendered.append(shot)
        else:
            return []
        return [self._progress()]

    def _progress(self) -> ChatLine:
        done = len(self.rendered) + self.reused + len(self.failed)
        parts = [f"Shots {done}/{self.total}"]
        if self.rendered:
            parts.append(f"rendered {', '.join(self.rendered)}")
        if self.reused:
            parts.append(f"{self.reused} unchanged, reused")
        if self.failed:
            parts.append(f"failed {', '.join(self.failed)}")
        return crew_line("render", "; ".join(parts) + ".", key=f"render-{self.render_pass}")

    @staticmethod
    def _review(event: dict[str, Any]) -> ChatLine:
        flagged = event.get("flagged") or []
        repaired = event.get("repaired") or []
        mended = f" I mended {'; '.join(repaired)}." if repaired else ""
        if event.get("passed"):
            return crew_line("review", f"Round {event.get('round')}: the cut passes review.")
        unresolved = event.get("unresolved") or []
        if unresolved:
            shots = "; ".join(f"{item['shot_id']} ({'; '.join(item['reasons'])})" for item in unresolved)
            return crew_line(
                "review", f"Round {event.get('round')}: out of review rounds, still flagged: {shots}.{mended}"
            )
        return crew_line(
            "review", f"Round {event.get('round')}: sending back {', '.join(flagged) or 'nothing'}.{mended}"
        )

    @staticmethod
    def _revise(event: dict[str, Any]) -> list[ChatLine]:
        if event.get("status") == "rejected":
            return [crew_line("revise", f"I could not apply that note: {event.get('error')}")]
        if event.get("status") != "done":
            return []
        changes = "; ".join(event.get("changes") or []) or "no change"
        dirty = event.get("dirty") or []
        removed = event.get("removed") or []
        remade = f"Remaking {', '.join(dirty)}" if dirty else "No shot needs remaking"
        gone = f"; removed {', '.join(removed)}" if removed else ""
        return [
            crew_line(
                "revise", f"The note touches {event.get('kind')} {event.get('target')}: {changes}. {remade}{gone}."
            )
        ]
