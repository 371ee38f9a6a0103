"""Render: one task per shot, cached by the content hash of everything that determines the take (`agents.takes`)."""

from __future__ import annotations

from langgraph.runtime import Runtime
from langgraph.types import Send

from agents.context import Context
from agents.events import Emitter, RenderEvent
from agents.specs import shot_spec
from agents.state import RenderTask, RunState
from agents.takes import cached_take, make_take, stored_take, take_hash, take_problem


def route_renders(state: RunState) -> list[Send] | str:
    """Fan out one `render_shot` task per dirty shot; with nothing dirty, go straight on to the storyboard gate."""
    assert state.film is not None
    if not state.dirty:
        return "approve_storyboard"
    return [
        Send("render_shot", RenderTask(film_id=state.film_id, spec=shot_spec(state.film, state.film.shot(shot_id))))
        for shot_id in state.dirty
    ]


def render_shot(task: RenderTask, runtime: Runtime[Context]) -> dict:
    """Make (or reuse) the take for one shot. A backend failure marks the shot failed; it never ends the run."""
    context = runtime.context
    spec = task.spec
    emit = Emitter(runtime.stream_writer)
    content_hash = take_hash(spec, context.images, context.video, context.speech)
    take = cached_take(context.project, content_hash)
    damaged = stored_take(context.project, content_hash) if take is None else None
    if damaged is not None:
        emit(RenderEvent(status="damaged", shot=spec.shot_id, problem=take_problem(context.project.root, damaged)))
    if take is not None:
        emit(RenderEvent(status="done", shot=spec.shot_id, cache_hit=True, keyframe=take.keyframe))
        return {
            "rendered": {spec.shot_id: take},
            "failed": {spec.shot_id: ""},
            "log": [f"render: {spec.shot_id} reused take {content_hash[:12]}"],
        }
    with context.render_slots:
        return make_take(spec, content_hash, context, emit)
