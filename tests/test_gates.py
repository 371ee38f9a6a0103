"""Human gates and notes through the real graph: interrupt, resume with a decision, revise, recut.

A scripted fake LLM stands in for the model; Chroma, the SQLite checkpointer, the animatic and ffmpeg are real.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fake_crew import PREMISE, crew

from agents.notes.targets import RevisionError
from agents.project import Project
from agents.run import RunBusyError, new_run, run_film
from agents.state import Feedback, Film, GateDecision
from tools.settings import Settings


def takes_of(project: Project) -> dict[str, str]:
    film = Film.model_validate_json(project.film_file.read_text())
    return {shot.id: shot.take.content_hash for shot in film.shots() if shot.take is not None}


@pytest.fixture
def studio_run(tmp_path: Path, make_context):
    """A premise run in the studio's way: gates stop it, and every call reuses one context."""
    settings = Settings(projects_dir=tmp_path / "projects", target_seconds=12, max_review_rounds=1)
    project = new_run(settings, premise=PREMISE)
    context = make_context(crew(), project, settings, unattended=False)
    events: list[dict] = []

    def step(**request):
        return run_film(settings, project, events.append, context, **request)

    return project, step, events


def test_the_crew_stops_at_each_gate_and_goes_on_when_approved(studio_run):
    project, step, events = studio_run
    first = step()
    assert first.gate is not None and first.gate.gate == "script"
    assert not first.finished and first.film.scenes and not first.film.shots()
    storyboard = step(decision=GateDecision())
    assert storyboard.gate.gate == "storyboard"
    assert storyboard.cut is None and storyboard.gate.shots == len(storyboard.film.shots())
    cut = step(decision=GateDecision())
    assert cut.gate.gate == "cut" and (project.root / cut.gate.cut).is_file()
    done = step(decision=GateDecision())
    assert done.finished and done.gate is None
    waiting = [e["gate"] for e in events if e.get("stage") == "gate" and e["status"] == "waiting"]
    assert waiting == ["script", "storyboard", "cut"]


def test_a_note_at_the_cut_remakes_only_the_shots_it_touches(studio_run):
    project, step, events = studio_run
    step()
    step(decision=GateDecision())
    step(decision=GateDecision())
    before = takes_of(project)
    target = sorted(before)[1]
    events.clear()
    after_note = step(feedback=Feedback(text="closer on her hands", shot=target))
    assert after_note.gate.gate == "cut", "the storyboard gate stays approved; the new cut is shown again"
    after = takes_of(project)
    assert {shot_id for shot_id in before if before[shot_id] != after[shot_id]} == {target}
    rendered = [e["shot"] for e in events if e.get("stage") == "render" and e["status"] == "done"]
    assert rendered == [target]
    revised = [e for e in events if e.get("stage") == "revise" and e["status"] == "done"]
    assert revised[0]["dirty"] == [target]
    assert step(decision=GateDecision()).finished
    film = Film.model_validate_json(project.film_file.read_text())
    assert [(r.text, r.remade) for r in film.feedback] == [("closer on her hands", [target])]


def test_a_note_to_a_finished_film_runs_the_loop_again_unattended(tmp_path, make_context):
    settings = Settings(projects_dir=tmp_path / "projects", target_seconds=12, max_review_rounds=1)
    project = new_run(settings, premise=PREMISE)
    context = make_context(crew(), project, settings)
    assert run_film(settings, project, context=context).finished
    before = takes_of(project)
    film = Film.model_validate_json(project.film_file.read_text())
    last_scene = film.scenes[-1]
    outcome = run_film(settings, project, context=context, feedback=Feedback(text="cut the last scene"))
    assert outcome.finished
    assert [scene.id for scene in outcome.film.scenes] == [scene.id for scene in film.scenes[:-1]]
    assert set(outcome.cut.shot_ids) == set(before) - {shot.id for shot in last_scene.shots}
    assert takes_of(project) == {k: v for k, v in before.items() if k in outcome.cut.shot_ids}


def test_a_note_at_the_script_gate_changes_the_script_before_any_shot(studio_run):
    project, step, _ = studio_run
    step()
    outcome = step(feedback=Feedback(text="make scene 1 a night scene"))
    assert outcome.gate.gate == "script"
    assert outcome.film.scenes[0].time_of_day == "night" and not outcome.film.shots()


def test_bad_requests_are_refused_and_the_run_is_unchanged(studio_run):
    project, step, _ = studio_run
    step()
    saved = project.film_file.read_bytes()
    with pytest.raises(RevisionError, match="no shot 's07-01'"):
        step(feedback=Feedback(text="closer", shot="s07-01"))
    with pytest.raises(RevisionError, match="empty"):
        step(feedback=Feedback(text="  "))
    assert project.film_file.read_bytes() == saved
    assert step(decision=GateDecision()).gate.gate == "storyboard"


def test_an_answer_without_a_waiting_gate_is_refused(tmp_path, make_context):
    settings = Settings(projects_dir=tmp_path / "projects", target_seconds=12, max_review_rounds=1)
    project = new_run(settings, premise=PREMISE)
    context = make_context(crew(), project, settings)
    assert run_film(settings, project, context=context).finished
    with pytest.raises(RunBusyError, match="not waiting at a gate"):
        run_film(settings, project, context=context, decision=GateDecision())
