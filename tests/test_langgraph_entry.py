"""The ecosystem entry points: langgraph.json for `langgraph dev`, and the graph importable from it."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from fake_crew import PREMISE, crew
from langgraph.checkpoint.memory import InMemorySaver
from langgraph_cli.config import validate_config_file

from agents.graph import build_graph
from agents.project import Project
from agents.state import RunInput, RunState
from tools.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def graph_from_config() -> tuple[dict, object]:
    """What `langgraph dev` does: validate langgraph.json, then load the graph its `graphs` entry names."""
    config = validate_config_file(ROOT / "langgraph.json")
    path, _, name = config["graphs"]["director"].partition(":")
    spec = importlib.util.spec_from_file_location("director_graph_entry", ROOT / path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return config, getattr(module, name)


def test_langgraph_json_is_valid_for_the_langgraph_cli():
    config, factory = graph_from_config()
    assert config["dependencies"] == ["."] and config["python_version"] == "3.11"
    assert (ROOT / config["env"]).is_file()
    graph = factory()
    assert set(graph.get_graph().nodes) >= {"write_script", "render_shot", "assemble_cut", "review_cut"}


def test_the_graph_from_langgraph_json_makes_a_film(tmp_path, make_context):
    _, factory = graph_from_config()
    graph = factory().copy(update={"checkpointer": InMemorySaver()})
    settings = Settings(projects_dir=tmp_path / "projects", target_seconds=8, max_review_rounds=1)
    project = Project(settings.projects_dir / "from-langgraph-json")
    run_input = RunInput(film_id=project.film_id, premise=PREMISE, target_seconds=8, max_review_rounds=1)
    project.create(run_input)
    context = make_context(crew(), project, settings)
    config = {"configurable": {"thread_id": project.film_id}}
    final = RunState.model_validate(graph.invoke(run_input, config, context=context))
    assert final.cut is not None and (project.root / final.cut.video).stat().st_size > 0
    assert final.review is not None and final.review.passed


def test_build_graph_is_importable_for_embedding():
    graph = build_graph(InMemorySaver())
    assert graph.checkpointer is not None
