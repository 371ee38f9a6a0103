"""The checkpoint database: where it lives, and that our pydantic state comes back as itself."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from langgraph.checkpoint.base import empty_checkpoint
from langgraph.checkpoint.serde.event_hooks import SerdeEvent, register_serde_event_listener
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.graph import END, START, StateGraph
from langgraph.types import Send

from agents.state import (
    CHECKPOINTED_MODULES,
    Character,
    Film,
    RunState,
    Scene,
    Setting,
    Shot,
    ShotStatus,
    Take,
)
from memory.checkpoints import (
    CHECKPOINT_FILE,
    latest_checkpoint_exists,
    make_serializer,
    open_checkpointer,
    revivable_types,
)
from tools.render.spec import CameraMove, Framing, TimeOfDay


def film() -> Film:
    take = Take(
        shot_id="s1-1",
        content_hash="abc123",
        keyframe="takes/abc123.png",
        clip="takes/abc123.mp4",
        image_backend="animatic",
        video_backend="animatic",
        seed=7,
        parameters={"steps": 4, "guidance": 1.5, "offload": False},
        duration=3.0,
    )
    shot = Shot(
        id="s1-1",
        scene_id="s1",
        order=1,
        framing=Framing.CLOSE_UP,
        camera_move=CameraMove.PUSH_IN,
        character_ids=["mara"],
        prompt="Mara under a streetlamp",
        seed=7,
        status=ShotStatus.RENDERED,
        takes=[take],
    )
    return Film(
        id="rain",
        title="Rain",
        premise="A woman waits for a boat that never comes.",
        characters=[Character(id="mara", name="Mara", look="red raincoat, black bob")],
        settings=[Setting(id="harbour", name="Harbour", look="wet cobblestones", time_of_day=TimeOfDay.NIGHT)],
        scenes=[Scene(id="s1", number=1, setting_id="harbour", character_ids=["mara"], shots=[shot])],
        feedback=["more rain"],
    )


@pytest.fixture
def serde_events() -> Iterator[list[SerdeEvent]]:
    events: list[SerdeEvent] = []
    unregister = register_serde_event_listener(events.append)
    yield events
    unregister()


def test_database_lives_in_the_project_folder_in_wal_mode(tmp_path: Path) -> None:
    project = tmp_path / "projects" / "rain"
    with open_checkpointer(project, CHECKPOINTED_MODULES) as saver:
        assert (project / CHECKPOINT_FILE).is_file()
        assert saver.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        conn = saver.conn
    with pytest.raises(sqlite3.ProgrammingError):
        conn.execute("SELECT 1")


def test_our_state_types_are_on_the_allow_list() -> None:
    names = {(cls.__module__, cls.__name__) for cls in revivable_types(CHECKPOINTED_MODULES)}
    assert {("agents.state", "Film"), ("agents.state", "Take"), ("agents.state", "ShotStatus")} <= names
    assert {
        ("tools.render.spec", "ShotSpec"),
        ("tools.render.spec", "Framing"),
        ("tools.render.spec", "CastMember"),
    } <= names


def test_film_in_a_checkpoint_comes_back_as_a_film(tmp_path: Path, serde_events: list[SerdeEvent]) -> None:
    checkpoint = empty_checkpoint()
    checkpoint["channel_values"] = {"film": film(), "log": ["wrote", "directed"]}
    checkpoint["channel_versions"] = {"film": 1, "log": 1}
    config = {"configurable": {"thread_id": "rain", "checkpoint_ns": ""}}
    with open_checkpointer(tmp_path, CHECKPOINTED_MODULES) as saver:
        saver.put(config, checkpoint, {"source": "input", "step": -1, "parents": {}}, {"film": 1, "log": 1})

    with open_checkpointer(tmp_path, CHECKPOINTED_MODULES) as saver:
        restored = saver.get_tuple({"configurable": {"thread_id": "rain"}})

    assert restored is not None
    value = restored.checkpoint["channel_values"]["film"]
    assert type(value) is Film
    assert value == film()
    assert type(value.scenes[0].shots[0].takes[0]) is Take
    assert value.scenes[0].shots[0].framing is Framing.CLOSE_UP
    assert serde_events == []


def test_default_serializer_only_warns_and_an_allow_list_without_our_types_blocks(
    serde_events: list[SerdeEvent],
) -> None:
    """Why `open_checkpointer` configures the serializer: the default is lenient now, strict later."""
    payload = JsonPlusSerializer().dumps_typed(film())

    assert type(JsonPlusSerializer().loads_typed(payload)) is Film
    assert {"kind": "msgpack_unregistered_allowed", "module": "agents.state", "name": "Film"} in serde_events

    serde_events.clear()
    assert isinstance(make_serializer(modules=("tools.render.spec",)).loads_typed(payload), dict)
    assert {"kind": "msgpack_blocked", "module": "agents.state", "name": "Film"} in serde_events

    serde_events.clear()
    assert type(make_serializer(CHECKPOINTED_MODULES).loads_typed(payload)) is Film
    assert serde_events == []


def plan(state: RunState) -> dict[str, Film]:
    return {"film": film()}


def fan_out(state: RunState) -> list[Send]:
    assert state.film is not None
    return [Send("render", {"shot_id": f"s1-{n}"}) for n in range(1, 7)]


def render(task: dict[str, str]) -> dict[str, dict[str, Take] | list[str]]:
    shot_id = task["shot_id"]
    take = film().scenes[0].shots[0].takes[0].model_copy(update={"shot_id": shot_id})
    return {"rendered": {shot_id: take}, "log": [f"rendered {shot_id}"]}


def build_graph() -> StateGraph:
    graph = StateGraph(RunState)
    graph.add_node("plan", plan)
    graph.add_node("render", render)
    graph.add_edge(START, "plan")
    graph.add_conditional_edges("plan", fan_out, ["render"])
    graph.add_edge("render", END)
    return graph


def test_graph_with_parallel_tasks_resumes_with_typed_state(tmp_path: Path, serde_events: list[SerdeEvent]) -> None:
    config = {"configurable": {"thread_id": "rain-1"}}
    assert not latest_checkpoint_exists(tmp_path, "rain-1")
    assert not (tmp_path / CHECKPOINT_FILE).exists()

    with open_checkpointer(tmp_path, CHECKPOINTED_MODULES) as saver:
        assert not latest_checkpoint_exists(tmp_path, "rain-1")
        build_graph().compile(checkpointer=saver).invoke({"film_id": "rain"}, config)

    assert latest_checkpoint_exists(tmp_path, "rain-1")
    assert not latest_checkpoint_exists(tmp_path, "another-run")
    with open_checkpointer(tmp_path, CHECKPOINTED_MODULES) as saver:
        values = build_graph().compile(checkpointer=saver).get_state(config).values

    assert type(values["film"]) is Film and values["film"] == film()
    assert sorted(values["rendered"]) == [f"s1-{n}" for n in range(1, 7)]
    assert all(type(take) is Take for take in values["rendered"].values())
    assert len(values["log"]) == 6
    assert serde_events == []
