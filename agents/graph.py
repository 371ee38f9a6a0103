"""The film loop as a LangGraph StateGraph; `build_graph()` reads like the diagram in DESIGN.md.

write_script → plan_shots → design_shots → render_shot (one Send per dirty shot) → assemble_cut → review_cut
→ back to design_shots for the flagged shots, until the cut passes or the review rounds are spent.
"""

from __future__ import annotations

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from agents.context import Context
from agents.critic import review_cut, route_review
from agents.designer import design_shots
from agents.director import plan_shots
from agents.editor import assemble_cut
from agents.render import render_shot, route_renders
from agents.state import RunInput, RunState
from agents.writer import write_script


def build_graph(checkpointer: BaseCheckpointSaver | None = None) -> CompiledStateGraph:
    graph = StateGraph(RunState, input_schema=RunInput, context_schema=Context)
    graph.add_node("write_script", write_script)
    graph.add_node("plan_shots", plan_shots)
    graph.add_node("design_shots", design_shots)
    graph.add_node("render_shot", render_shot)
    graph.add_node("assemble_cut", assemble_cut)
    graph.add_node("review_cut", review_cut)

    graph.add_edge(START, "write_script")
    graph.add_edge("write_script", "plan_shots")
    graph.add_edge("plan_shots", "design_shots")
    graph.add_conditional_edges("design_shots", route_renders, ["render_shot", "assemble_cut"])
    graph.add_edge("render_shot", "assemble_cut")
    graph.add_edge("assemble_cut", "review_cut")
    graph.add_conditional_edges("review_cut", route_review, {"reshoot": "design_shots", "finish": END})
    return graph.compile(checkpointer=checkpointer)
