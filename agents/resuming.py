"""Where a run stands, and what to stream into the graph for a request from there.

`run_film` asks this module first: a note lost by a killed run is given again, a gate decision or a note goes
to the gate that waits for it, and a request the run cannot take now is refused with what to do instead.
"""

from __future__ import annotations

from langgraph.types import Command, StateSnapshot

from agents.gates import waiting_gate
from agents.notes.targets import check_feedback, clean_note
from agents.project import Project, ProjectError
from agents.state import Feedback, Film, GateDecision, RunInput, RunState

NOTHING_TO_DO = object()
"""What `next_input` returns when the run is already where the request would take it."""


class RunBusyError(ProjectError):
    """The run is not where the request needs it: e.g. a gate answer when no gate is waiting."""


def lost_note(project: Project, snapshot: StateSnapshot) -> Feedback | None:
    """A note accepted by a run that was killed before its checkpoint took it, to be given again; else None.

    A note goes to a finished run or a waiting gate, so the checkpoint took it if the run now stands mid-way
    (its input checkpoint holds the note until the revise node applies it), or if the film's history has it.
    """
    pending = project.pending_note()
    if pending is None or (snapshot.next and waiting_gate(snapshot) is None):
        return None
    state = RunState.model_validate(snapshot.values) if snapshot.values else None
    note = pending.feedback
    history = state.film.feedback if state is not None and state.film is not None else []
    for revision in history:
        same = (revision.text, revision.scene, revision.shot) == (clean_note(note.text), note.scene, note.shot)
        if same and revision.at >= pending.accepted_at:
            return None
    return note


def next_input(
    project: Project,
    snapshot: StateSnapshot,
    run_input: RunInput,
    decision: GateDecision | None,
    feedback: Feedback | None,
    unattended: bool,
) -> object:
    """What to stream into the graph for this request, given where the run stands."""
    gate = waiting_gate(snapshot)
    if feedback is not None:
        film = Film.model_validate(snapshot.values["film"]) if snapshot.values.get("film") else None
        check_feedback(film, feedback)
        if gate is not None:
            return Command(resume=GateDecision(approve=False, feedback=feedback).model_dump(mode="json"))
        if snapshot.next:
            raise RunBusyError(
                f"run {project.film_id!r} stopped before it finished; resume it (`director resume "
                f"{project.film_id}`), then give the note."
            )
        return {"film_id": project.film_id, "feedback": feedback.model_dump(mode="json")}
    if decision is not None:
        if gate is None:
            raise RunBusyError(f"run {project.film_id!r} is not waiting at a gate; there is nothing to approve.")
        return Command(resume=decision.model_dump(mode="json"))
    if not snapshot.values:
        return run_input
    if gate is not None:
        return Command(resume=GateDecision().model_dump(mode="json")) if unattended else NOTHING_TO_DO
    return None if snapshot.next else NOTHING_TO_DO
