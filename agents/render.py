"""Render: one task per take of each shot, cached by the content hash of everything that determines the take.

With coverage (`render.takes` above 1) a shot gets several takes, each from its own seed (`candidate_spec`);
take 1 is the shot's own seed, so a film made with one take and then with three keeps its first takes.
"""

from __future__ import annotations

from langgraph.runtime import Runtime
from langgraph.types import Send

from agents.context import Context
from agents.events import Emitter, RenderEvent
from agents.specs import candidate_spec, shot_spec
from agents.state import RenderTask, RunState
from agents.takes import cached_take, make_take, stored_take, take_hash, take_problem


def route_renders(state: RunState) -> list[Send] | str:
    """Fan out one `render_shot` task per take of each dirty shot; with nothing dirty, go on to choose takes."""
    assert state.film is not None
    if not state.dirty:
        return "choose_takes"
    return [
        Send(
            "render_shot",
            RenderTask(
                film_id=state.film_id,
                spec=candidate_spec(shot_spec(state.film, state.film.shot(shot_id)), number),
                candidate=number,
            ),
        )
        for shot_id in state.dirty
        for number in range(1, max(1, state.takes) + 1)
    ]


def render_shot(task: RenderTask, runtime: Runtime[Context]) -> dict:
    """Make (or reuse) one take of a shot. A backend failure marks the shot failed; it never ends the run.

    Take 1 is the shot's take; the others are its alternates, and one of them failing fails nothing. A take
    rendered ahead of the graph for this very request (`agents.scene_stream`) is this node's outcome, made or
    failed: the request is never sent twice.
    """
    context = runtime.context
    spec = task.spec
    emit = Emitter(runtime.stream_writer)
    content_hash = take_hash(spec, context.images, context.video, context.speech)
    ahead = context.work_ahead.claim(content_hash)
    take = cached_take(context.project, content_hash) if ahead is None else None
    damaged = stored_take(context.project, content_hash) if take is None and ahead is None else None
    if damaged is not None:
        emit(RenderEvent(status="damaged", shot=spec.shot_id, problem=take_problem(context.project.root, damaged)))
    if ahead is not None:
        result = ahead
    elif take is not None:
        emit(RenderEvent(status="done", shot=spec.shot_id, cache_hit=True, keyframe=take.keyframe))
        result = {
            "rendered": {spec.shot_id: take},
            "failed": {spec.shot_id: ""},
            "log": [f"render: {spec.shot_id} reused take {content_hash[:12]}"],
        }
    else:
        with context.render_slots:
            result = make_take(spec, content_hash, context, emit)
    if task.candidate == 1:
        return result
    made = result.get("rendered", {}).get(spec.shot_id)
    log = [f"{line} (take {task.candidate})" for line in result["log"]]
    return {"alternates": {spec.shot_id: {task.candidate: made}} if made is not None else {}, "log": log}
