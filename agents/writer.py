"""The writer: a premise becomes a story through narrow questions; a screenplay is parsed, not rewritten.

Each scene goes on to the rest of the crew as soon as it is written (`agents.scene_stream`): a screenplay's
scene once its place has a look, a premise film's scenes once the story is whole.
"""

from __future__ import annotations

from langgraph.runtime import Runtime

from agents.context import Context
from agents.events import Emitter, WriteEvent
from agents.scene_stream import stream_scene
from agents.state import Film, RunState
from agents.writing.premise_film import film_from_premise
from agents.writing.screenplay import parse_fountain
from agents.writing.script_film import film_from_screenplay


def write_script(state: RunState, runtime: Runtime[Context]) -> dict:
    """Premise or screenplay in, a film with characters, settings and scenes out."""
    emit = Emitter(runtime.stream_writer)
    emit(WriteEvent(status="start"))
    context = runtime.context

    def scene_ready(film: Film, scene_id: str) -> None:
        stream_scene(film, scene_id, context, emit, state.takes)

    if state.screenplay.strip():
        film = film_from_screenplay(parse_fountain(state.screenplay), state, context.llm, scene_ready)
    else:
        film = film_from_premise(state, context.llm)
        for scene in film.scenes:
            scene_ready(film, scene.id)
    emit(WriteEvent(status="done", title=film.title, scenes=len(film.scenes)))
    summary = f"writer: {film.title!r}, {len(film.characters)} characters, {len(film.scenes)} scenes"
    return {"film": film, "log": [summary]}
