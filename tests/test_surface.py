"""The surfaces' contract: typed progress events on the wire, and one error base for everything a person can act on."""

from __future__ import annotations

import json

import pytest

from agents import errors
from agents.events import (
    CutEvent,
    Emitter,
    GateEvent,
    RenderEvent,
    ReviewEvent,
    RunEvent,
    ScoreEvent,
    Stage,
    WriteEvent,
    read_event,
)
from agents.state import GatePrompt, UnresolvedShot
from ui.crew_chat import CREW, CrewChat
from ui.progress import STAGES


def test_an_event_travels_as_json_and_reads_back_typed() -> None:
    sent: list[dict] = []
    emit = Emitter(sent.append)
    emit(RenderEvent(status="done", shot="s01-01", cache_hit=True, keyframe="takes/ab/k.png"))
    emit(ReviewEvent(status="done", round=2, unresolved=[UnresolvedShot(shot_id="s01-01", reasons=["dark"])]))
    emit(GateEvent.waiting(GatePrompt(gate="cut", message="Approve the cut?", shots=3, cut="cut/film.mp4")))
    assert json.loads(json.dumps(sent)) == sent
    assert sent[0] == {
        "stage": "render",
        "status": "done",
        "shot": "s01-01",
        "cache_hit": True,
        "keyframe": "takes/ab/k.png",
        "seconds": 0.0,
        "error": "",
        "problem": "",
    }
    assert sent[1]["unresolved"] == [{"shot_id": "s01-01", "reasons": ["dark"]}]
    render, review, gate = (read_event(event) for event in sent)
    assert isinstance(render, RenderEvent) and render.stage is Stage.RENDER and render.cache_hit
    assert isinstance(review, ReviewEvent) and review.unresolved[0].reasons == ["dark"]
    assert isinstance(gate, GateEvent) and gate.gate == "cut" and gate.message == "Approve the cut?"


def test_an_unknown_or_malformed_event_reads_as_none() -> None:
    assert read_event({"stage": "foley", "status": "start"}) is None
    assert read_event({"stage": "render", "status": "done"}) is None  # no shot
    assert read_event({"stage": "run", "status": "exploded", "film_id": "x"}) is None
    event = RunEvent(status="done", film_id="x")
    assert read_event(event) is event


def test_every_stage_has_a_voice_in_the_chat_and_every_step_a_bar() -> None:
    assert set(CREW) == set(Stage)
    assert set(STAGES) <= set(Stage)
    chat = CrewChat()
    (line,) = chat.lines_for(WriteEvent(status="done", title="Ada", scenes=2))
    assert "Writer" in line.content and "“Ada” is written: 2 scenes." in line.content
    assert chat.lines_for({"stage": "run", "status": "done", "film_id": "x"})[0].agent == "Producer"


@pytest.mark.parametrize("name", errors.__all__)
def test_every_error_a_surface_shows_is_a_director_error(name: str) -> None:
    assert issubclass(getattr(errors, name), errors.DirectorError)


def test_the_old_bases_still_catch_them() -> None:
    assert issubclass(errors.BackendError, RuntimeError)
    assert issubclass(errors.DiskFullError, OSError)
    assert issubclass(errors.MemoryStoreError, RuntimeError)
    for refusal in (errors.ProjectError, errors.RevisionError, errors.ScreenplayError, errors.ReferenceUploadError):
        assert issubclass(refusal, ValueError)
    assert issubclass(errors.RunBusyError, errors.ProjectError) and issubclass(errors.HistoryError, errors.ProjectError)


@pytest.mark.parametrize("module", ["ui/cli.py", "ui/progress.py", "ui/crew_chat.py", "ui/session.py"])
def test_the_surfaces_name_no_stage_by_a_string_of_their_own(module: str) -> None:
    import ast
    from pathlib import Path

    tree = ast.parse((Path(__file__).resolve().parent.parent / module).read_text(encoding="utf-8"))
    stage_names = {str(stage) for stage in Stage} | {"stage"}
    compared = {
        node.value
        for compare in ast.walk(tree)
        if isinstance(compare, ast.Compare)
        for node in (compare.left, *compare.comparators)
        if isinstance(node, ast.Constant) and node.value in stage_names
    }
    read = {
        node.slice.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) and node.slice.value == "stage"
    } | {
        argument.value
        for call in ast.walk(tree)
        if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr == "get"
        for argument in call.args
        if isinstance(argument, ast.Constant) and argument.value == "stage"
    }
    assert compared | read == set()


def test_the_crew_and_the_bars_are_keyed_by_stage_not_by_its_string() -> None:
    assert all(type(key) is Stage for key in CREW)
    assert all(type(key) is Stage for key in STAGES)


def test_the_composer_and_the_sound_designer_speak_in_the_chat() -> None:
    chat = CrewChat()
    (score,) = chat.lines_for(ScoreEvent(status="done", moods=["calm", "calm", "sad"], themes=["Noor"]))
    assert score.agent == "Composer"
    assert score.content.endswith("Score written: calm (scenes 1-2), sad (scene 3). Themes for Noor.")
    (beds,) = chat.lines_for({"stage": "ambience", "status": "done", "beds": ["scene 2: rain, engine hum"]})
    assert beds.agent == "Sound designer" and "scene 2: rain, engine hum" in beds.content
    (cut,) = chat.lines_for(CutEvent(status="done", seconds=79.0, loudness=-16.3))
    assert cut.content.endswith("The cut is 79 s long, mixed to -16.3 LUFS.")
