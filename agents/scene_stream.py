"""Scenes stream through the crew: a written scene is planned, designed and rendered while the writer goes on.

The graph still runs write → plan → score → sound → design → render → cut, checkpointed node by node. What
streams is the work: as soon as the writer has a scene's people and place (`film_from_screenplay` hands each
over), the scene lane asks the director's question for it, prompts its shots from memory and starts their
takes. When the graph's own nodes reach that scene, the director's question has its answer already
(`RememberedAnswers`) and each take is in the content-addressed store, so the nodes check, not wait.

Streaming changes when, not what: the lane calls the very functions the nodes call, on the film as far as it
is written, and every take is keyed by the hash of its request. A take made ahead from a request the node does
not make (a place's palette that only a later scene settles, say) is simply not used.
"""

from __future__ import annotations

import hashlib

from agents.context import Context
from agents.designer import NEGATIVE_PROMPT, compose_prompt
from agents.director import planned_scene, shot_durations
from agents.events import Emitter
from agents.memory_records import remember_looks
from agents.specs import candidate_spec, shot_spec
from agents.state import Film
from agents.takes import cached_take, make_take, take_hash
from tools.render.spec import ShotSpec

STREAMED_TASKS = frozenset({"shots"})
"""The questions the scene lane asks ahead of the graph; their answers are kept for the nodes."""


def stream_scene(film: Film, scene_id: str, context: Context, emit: Emitter, takes: int) -> bool:
    """Queue the scene for planning, design and rendering ahead; False when streaming is off or it was queued."""
    snapshot = film.model_copy(deep=True)
    scene = next(scene for scene in snapshot.scenes if scene.id == scene_id)
    key = hashlib.sha256(f"{film.id}\x1f{scene.model_dump_json()}".encode()).hexdigest()
    return context.work_ahead.scene(key, lambda: _plan_and_start(snapshot, scene_id, context, emit, takes))


def _plan_and_start(film: Film, scene_id: str, context: Context, emit: Emitter, takes: int) -> None:
    scene = next(scene for scene in film.scenes if scene.id == scene_id)
    scene.shots = planned_scene(film, scene, shot_durations(film), context.llm)
    remember_looks(film, context.memory, scene)  # its own people and place: the rest come with their scenes
    for shot in scene.shots:
        shot.prompt = compose_prompt(shot, scene, film.style, context.memory, budget=context.prompt_tokens)
        shot.negative_prompt = NEGATIVE_PROMPT
        spec = shot_spec(film, shot)
        for number in range(1, max(1, takes) + 1):
            candidate = candidate_spec(spec, number)
            content_hash = take_hash(candidate, context.images, context.video, context.speech)
            if cached_take(context.project, content_hash) is None:
                context.work_ahead.take(content_hash, lambda c=candidate, h=content_hash: _render(c, h, context, emit))


def _render(spec: ShotSpec, content_hash: str, context: Context, emit: Emitter) -> dict | None:
    """The render node's outcome for this request, made now: the take, or its failure (never asked twice)."""
    if cached_take(context.project, content_hash) is not None:
        return None
    with context.render_slots:
        return make_take(spec, content_hash, context, emit)
