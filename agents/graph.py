"""The film loop as a LangGraph StateGraph; `build_graph()` reads like the loop drawn below.

write_script → approve_script → plan_shots → compose_score (a cue per scene) → design_sound (its
ambience) → design_shots → render_shot (one Send per take of each dirty
shot) → choose_takes (the best of a shot's takes, with coverage) → approve_storyboard → assemble_cut →
review_cut → back to design_shots for the flagged shots while review rounds remain → approve_cut. A note at
any gate, or given to a finished film, goes to revise_film, which marks dirty only the shots it touches and
sends them back through design, render, cut and review.
"""

from __future__ import annotations

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from agents.composer import compose_score
from agents.context import Context
from agents.coverage import choose_takes
from agents.critic import review_cut, route_review
from agents.designer import design_shots
from agents.director import plan_shots
from agents.editor import assemble_cut
from agents.gates import approve_cut, approve_script, approve_storyboard
from agents.render import render_shot, route_renders
from agents.revise import revise_film
from agents.sound_designer import design_sound
from agents.state import RunInput, RunState
from agents.writer import write_script


def route_start(state: RunState) -> str:
    """A new run writes the script; a note given to an existing film goes straight to revision."""
    return "revise_film" if state.feedback is not None and state.film is not None else "write_script"


def build_graph(checkpointer: BaseCheckpointSaver | None = None) -> CompiledStateGraph:
    graph = StateGraph(RunState, input_schema=RunInput, context_schema=Context)
    graph.add_node("write_script", write_script)
    graph.add_node("approve_script", approve_script)
    graph.add_node("plan_shots", plan_shots)
    graph.add_node("compose_score", compose_score)
    graph.add_node("design_sound", design_sound)
    graph.add_node("design_shots", design_shots)
    graph.add_node("render_shot", render_shot)
    graph.add_node("choose_takes", choose_takes)
    graph.add_node("approve_storyboard", approve_storyboard)
    graph.add_node("assemble_cut", assemble_cut)
    graph.add_node("review_cut", review_cut)
    graph.add_node("approve_cut", approve_cut)
    graph.add_node("revise_film", revise_film)

    graph.add_conditional_edges(START, route_start, ["write_script", "revise_film"])
    graph.add_edge("write_script", "approve_script")
    graph.add_edge("plan_shots", "compose_score")
    graph.add_edge("compose_score", "design_sound")
    graph.add_edge("design_sound", "design_shots")
    graph.add_conditional_edges("design_shots", route_renders, ["render_shot", "choose_takes"])
    graph.add_edge("render_shot", "choose_takes")
    graph.add_edge("choose_takes", "approve_storyboard")
    graph.add_edge("assemble_cut", "review_cut")
    graph.add_conditional_edges("review_cut", route_review, {"reshoot": "design_shots", "finish": "approve_cut"})
    return graph.compile(checkpointer=checkpointer)


def studio_graph() -> CompiledStateGraph:
    """The graph for `langgraph dev` and LangGraph Studio (see langgraph.json): they bring their own checkpointer.

    A run needs a `Context` (project, LLM, memory, backends): `agents.run.open_context` builds one.
    """
    return build_graph()
