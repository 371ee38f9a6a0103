"""Human gates: the crew stops for the filmmaker after the script, the storyboard and the cut.

Each gate is a LangGraph `interrupt()`; the run resumes with `Command(resume=GateDecision)`. A decision that
carries a note goes to the revise node first. Unattended runs (every CLI run) pass the gates on their own.
A gate once approved stays approved, except the cut's: every note makes a new cut to look at.
"""

from __future__ import annotations

from typing import Literal

from langgraph.graph import END
from langgraph.runtime import Runtime
from langgraph.types import Command, StateSnapshot, interrupt

from agents.context import Context
from agents.events import Emitter, GateEvent
from agents.state import GateDecision, GateName, GatePrompt, RunState


def approve_script(
    state: RunState, runtime: Runtime[Context]
) -> Command[Literal["plan_shots", "revise_film", "approve_script"]]:
    """The story, its people and places, before any shot is planned."""
    assert state.film is not None
    film = state.film
    message = (
        f"The script of {film.title!r} is ready: {len(film.characters)} characters, {len(film.settings)} places, "
        f"{len(film.scenes)} scenes. Approve it, or tell the crew what to change."
    )
    return pass_gate(state, runtime, GatePrompt(gate="script", message=message), onward="plan_shots")


def approve_storyboard(
    state: RunState, runtime: Runtime[Context]
) -> Command[Literal["assemble_cut", "revise_film", "approve_storyboard"]]:
    """Every shot has a frame and a clip; nothing is cut yet."""
    assert state.film is not None
    shots = len(state.film.shots())
    message = f"The storyboard has {shots} shots. Approve it to cut the film, or give a note on a scene or shot."
    return pass_gate(state, runtime, GatePrompt(gate="storyboard", message=message, shots=shots), "assemble_cut")


def approve_cut(
    state: RunState, runtime: Runtime[Context]
) -> Command[Literal["__end__", "revise_film", "approve_cut"]]:
    """The reviewed cut: approve to finish, or give notes until it is right."""
    assert state.film is not None and state.cut is not None
    verdict = "passed review" if state.review is not None and state.review.passed else "is cut"
    message = (
        f"The cut of {state.film.title!r} {verdict} ({state.cut.duration:.0f} s). "
        "Approve it to finish, or give a note: only the shots it touches are made again."
    )
    prompt = GatePrompt(gate="cut", message=message, shots=len(state.cut.shot_ids), cut=state.cut.video)
    return pass_gate(state, runtime, prompt, onward=END)


def pass_gate(state: RunState, runtime: Runtime[Context], prompt: GatePrompt, onward: str) -> Command:
    gate: GateName = prompt.gate
    if gate in state.approved:
        return Command(goto=onward)
    if runtime.context.unattended:
        return Command(goto=onward, update={"approved": [*state.approved, gate], "log": [f"gate: {gate} passed"]})
    decision = GateDecision.model_validate(interrupt(prompt.model_dump()))
    feedback = decision.feedback
    if feedback is not None and (feedback.text.strip() or feedback.reference is not None):
        return Command(goto="revise_film", update={"feedback": feedback, "log": [f"gate: note at the {gate}"]})
    if not decision.approve:
        return Command(goto=f"approve_{gate}", update={"log": [f"gate: {gate} held without a note; asking again"]})
    Emitter(runtime.stream_writer)(GateEvent(status="approved", gate=gate))
    return Command(goto=onward, update={"approved": [*state.approved, gate], "log": [f"gate: {gate} approved"]})


def waiting_gate(snapshot: StateSnapshot) -> GatePrompt | None:
    """The gate the run is stopped at, if any."""
    for pending in snapshot.interrupts:
        if isinstance(pending.value, dict) and "gate" in pending.value:
            return GatePrompt.model_validate(pending.value)
    return None
