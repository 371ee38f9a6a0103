"""The writer: a premise becomes a story through narrow questions; a screenplay is parsed, not rewritten."""

from __future__ import annotations

from langgraph.runtime import Runtime

from agents.context import Context
from agents.events import Emitter, WriteEvent
from agents.state import RunState
from agents.writing.premise_film import film_from_premise
from agents.writing.screenplay import parse_fountain
from agents.writing.script_film import film_from_screenplay


def write_script(state: RunState, runtime: Runtime[Context]) -> dict:
    """Premise or screenplay in, a film with characters, settings and scenes out."""
    emit = Emitter(runtime.stream_writer)
    emit(WriteEvent(status="start"))
    llm = runtime.context.llm
    if state.screenplay.strip():
        film = film_from_screenplay(parse_fountain(state.screenplay), state, llm)
    else:
        film = film_from_premise(state, llm)
    emit(WriteEvent(status="done", title=film.title, scenes=len(film.scenes)))
    summary = f"writer: {film.title!r}, {len(film.characters)} characters, {len(film.scenes)} scenes"
    return {"film": film, "log": [summary]}
