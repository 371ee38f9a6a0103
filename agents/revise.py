"""The revise node: a filmmaker's note becomes a change to the film, and exactly the shots it touches are redone.

The note's target comes from `agents.notes.targets`, the change itself from `agents.notes.changes`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from langgraph.runtime import Runtime
from langgraph.types import Command

from agents.context import Context
from agents.events import Emitter, ReviseEvent
from agents.memory_records import remember_looks
from agents.notes.changes import (
    apply_reference,
    remove,
    revise_character,
    revise_scene,
    revise_setting,
    revise_shot,
    revise_style,
)
from agents.notes.sound import revise_sound
from agents.notes.targets import RevisionError, clean_note, resolve_target
from agents.state import Feedback, Film, Revision, RunState
from tools.llm.asking import StructuredLLM


def revise_film(state: RunState, runtime: Runtime[Context]) -> Command[Literal["approve_script", "design_shots"]]:
    """Apply the pending note: change the film and memory, and mark dirty exactly the shots it touches."""
    assert state.film is not None, "a note needs a film to revise"
    feedback = state.feedback or Feedback()
    emit = Emitter(runtime.stream_writer)
    emit(ReviseEvent(status="start", note=feedback.text[:200]))
    context = runtime.context
    planned = bool(state.film.shots())
    onward = "design_shots" if planned else "approve_script"
    try:
        film, revision = revise(state.film, feedback, context.llm)
    except RevisionError as error:
        emit(ReviseEvent(status="rejected", error=str(error)))
        return Command(
            goto=onward,
            update={"feedback": None, "dirty": [], "log": [f"revise: note not applied: {error}"]},
        )
    remember_looks(film, context.memory)
    for shot_id in revision.removed:
        context.memory.delete_shot(shot_id)
    emit(
        ReviseEvent(
            status="done",
            kind=revision.kind,
            target=revision.target,
            changes=revision.changes,
            dirty=revision.remade,
            removed=revision.removed,
        )
    )
    return Command(
        goto="design_shots" if film.shots() else "approve_script",
        update={
            "film": film,
            "feedback": None,
            "dirty": revision.remade,
            "review": None,
            "review_base": len(film.review_rounds),
            "approved": [gate for gate in state.approved if gate != "cut"],
            "log": [f"revise: {revision.kind} {revision.target}: {'; '.join(revision.changes)}"],
        },
    )


def revise(film: Film, feedback: Feedback, llm: StructuredLLM) -> tuple[Film, Revision]:
    """The film after the note, and the note as history records it. The given film is not modified."""
    film = film.model_copy(deep=True)
    target = resolve_target(film, feedback, llm)
    note = clean_note(feedback.text)
    changes: list[str] = []
    removed: list[str] = []
    if target.kind == "removal":
        removed = remove(film, target)
        changes.append(f"removed {target.label}")
        dirty: list[str] = []
    elif target.kind == "reference":
        dirty = apply_reference(film, feedback, changes)
    elif target.kind == "film":
        dirty = revise_style(film, note, llm, changes)
    elif target.kind == "character":
        dirty = revise_character(film, target.id, note, llm, changes)
    elif target.kind == "setting":
        dirty = revise_setting(film, target.id, note, llm, changes)
    elif target.kind == "scene":
        dirty = revise_scene(film, target.id, note, changes)
    elif target.kind == "sound":
        dirty = revise_sound(film, target.id, note, changes)
    else:
        dirty = revise_shot(film, target.id, note, changes)
    revision = Revision(
        at=datetime.now(UTC).isoformat(timespec="seconds"),
        text=note,
        scene=feedback.scene,
        shot=feedback.shot,
        kind=target.kind,
        target=target.id,
        changes=changes,
        remade=dirty,
        removed=removed,
        reference=feedback.reference,
    )
    film.feedback.append(revision)
    return film, revision
