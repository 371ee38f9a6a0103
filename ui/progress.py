"""The CLI's live view of a run: Rich bars, one per stage and one per shot while a render pass runs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.progress import Progress, TaskID

from agents.events import (
    AmbienceEvent,
    DesignEvent,
    ProgressEvent,
    RenderEvent,
    ReviewEvent,
    ReviseEvent,
    RunEvent,
    ScoreEvent,
    Stage,
    read_event,
)
from ui.crew_chat import score_words

STAGES = {
    Stage.WRITE: "Writer: story, characters, places",
    Stage.PLAN: "Director: shot list",
    Stage.SCORE: "Composer: a cue per scene",
    Stage.AMBIENCE: "Sound designer: ambience",
    Stage.DESIGN: "Designer: looks and prompts from memory",
    Stage.RENDER: "Render: shots",
    Stage.CUT: "Editor: the cut",
    Stage.REVIEW: "Critic: review",
}
RUN_VERBS = {"start": "Starting", "resume": "Resuming", "revise": "Revising", "cancelled": "Stopped"}


class StageProgress:
    """Turns the graph's progress events into Rich bars: one per stage, and one per shot while rendering."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.tasks: dict[Stage, TaskID] = {}
        self.round = 0

    def __call__(self, data: ProgressEvent | Mapping[str, Any]) -> None:
        event = read_event(data)
        if event is None:
            return
        if isinstance(event, RunEvent):
            verb = RUN_VERBS.get(event.status, "Finished")
            self.progress.console.print(f"[bold]{verb}[/] run [cyan]{event.film_id}[/]")
            return
        if isinstance(event, RenderEvent):
            self._render(event)
            return
        if isinstance(event, ReviseEvent):
            self._revise(event)
            return
        if isinstance(event, ScoreEvent):
            self.progress.console.print(f"[bold]Composer[/]: {score_words(event)}", highlight=False)
            return
        if isinstance(event, AmbienceEvent):
            heard = "; ".join(event.beds) or ("off" if event.silent else "kept")
            self.progress.console.print(f"[bold]Sound designer[/]: ambience {heard}", highlight=False)
            return
        label = STAGES.get(event.stage, str(event.stage))
        if event.status == "start":
            self._restart(event.stage, label, total=None)
        if isinstance(event, DesignEvent) and event.status == "start":
            self.round += 1
            takes = f", {event.takes} takes each" if event.takes > 1 else ""
            label = f"{STAGES[Stage.RENDER]} (pass {self.round}{takes})"
            self._restart(Stage.RENDER, label, total=event.shots * event.takes)
        elif event.status == "done":
            task = self.tasks.get(event.stage)
            if task is not None:
                description = f"{label} [dim]{done_detail(event)}[/]"
                self.progress.update(task, total=1, completed=1, description=description)
            if isinstance(event, ReviewEvent):
                self._review(event)

    def _review(self, event: ReviewEvent) -> None:
        console = self.progress.console
        for line in event.repaired:
            console.print(f"  [yellow]repaired[/] {line}", highlight=False)
        if "consistent" in event.faces or "off-model" in event.faces:
            console.print(f"  {event.faces}", highlight=False)
        if event.unresolved:
            console.print(f"[yellow]Out of review rounds[/] with {len(event.unresolved)} shot(s) still flagged:")
        for item in event.unresolved:
            console.print(f"  shot [cyan]{item.shot_id}[/]: {'; '.join(item.reasons)}", highlight=False)

    def _revise(self, event: ReviseEvent) -> None:
        console = self.progress.console
        if event.status == "rejected":
            console.print(f"[red]Note not applied:[/] {event.error}")
        elif event.status == "done":
            changes = "; ".join(event.changes) or "no change"
            aimed = "the sound" if event.kind == "sound" else f"{event.kind} {event.target}"
            console.print(f"[bold]Revision[/] ({aimed}): {changes}")
            console.print(f"  remaking {len(event.dirty)} shots: {', '.join(event.dirty) or 'none (recut only)'}")

    def _restart(self, key: Stage, label: str, total: int | None) -> None:
        if key in self.tasks:
            self.progress.update(self.tasks[key], description=label, total=total, completed=0)
        else:
            self.tasks[key] = self.progress.add_task(label, total=total)

    def _render(self, event: RenderEvent) -> None:
        task = self.tasks.get(Stage.RENDER)
        if task is None or event.status == "start":
            return
        if event.status == "damaged":
            self.progress.console.print(
                f"  shot [cyan]{event.shot}[/] [yellow]take damaged[/] ({event.problem}): rendering it again",
                highlight=False,
            )
            return
        if event.cache_hit:
            note = "reused (unchanged)"
        elif event.status == "failed":
            note = f"[red]failed[/]: {event.error}"
        else:
            note = f"rendered in {event.seconds:.1f} s"
        self.progress.update(task, advance=1)
        self.progress.console.print(f"  shot [cyan]{event.shot}[/] {note}", highlight=False)


def done_detail(event: ProgressEvent) -> str:
    """A finished stage's numbers, as the bar's note: "title Ada's Garden, scenes 3"."""
    fields = event.model_dump(exclude={"stage", "status", "faces"})
    if fields.get("takes") == 1:
        del fields["takes"]
    return ", ".join(
        f"{key.replace('_', ' ')} {value:.1f}" if isinstance(value, float) else f"{key.replace('_', ' ')} {value}"
        for key, value in fields.items()
        if not isinstance(value, list | dict)
    )
