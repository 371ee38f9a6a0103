"""A review round after a reshoot or a note checks only what changed, and keeps the rest by exact content.

Real graph, Chroma, animatic renders and ffmpeg, with the scripted fake crew: round 1's rubric sends one shot
of scene 2 back, so round 2 checks scene 2 alone and asks the rubric about its shots only.
"""

from __future__ import annotations

import dataclasses
import json
import shutil

import pytest
from fake_crew import PREMISE, crew
from langgraph.runtime import Runtime

from agents.critic import review_cut
from agents.review_changes import plan_round
from agents.run import new_run, open_context, run_film
from agents.state import Feedback, Film, RunState, ShotVerdict
from agents.take_checks import TAKE_CHECKS_NAME
from tools.settings import Settings

FLAGGED = "s02-01"


@pytest.fixture(scope="module")
def filmed(tmp_path_factory: pytest.TempPathFactory, minilm):
    """A film whose first round flags one shot of scene 2; its context stays open, its events are kept."""
    settings = Settings(
        projects_dir=tmp_path_factory.mktemp("critic-rounds") / "projects", target_seconds=24, max_review_rounds=2
    )
    project = new_run(settings, premise=PREMISE)
    llm = crew(
        {
            "rubric": [{"story": 2, "continuity": 2, "note": "the middle of the film drags"}],
            "weakest_shot": [{"shot": FLAGGED, "change": "new_seed", "reason": "too dark to read"}],
        }
    )
    events: list[dict] = []
    with open_context(settings, project, llm=llm, embedding_function=minilm) as context:
        outcome = run_film(settings, project, events.append, context)
        yield settings, project, context, outcome, llm, events


def scene_of(film: Film, shot_id: str):
    return next(scene for scene in film.scenes if any(shot.id == shot_id for shot in scene.shots))


def review_events(events: list[dict]) -> list[dict]:
    return [e for e in events if e.get("stage") == "review" and e.get("status") == "done"]


def test_the_first_round_checks_the_whole_film(filmed):
    _, _, _, outcome, _, events = filmed
    film = outcome.film
    first = film.review_rounds[0]
    assert first.scope.whole_film and first.scope.reason == "the first round"
    assert first.scope.checked_shots == [shot.id for shot in film.shots()] and first.scope.kept_shots == []
    assert first.scope.rubric_scenes == [scene.number for scene in film.scenes]
    assert len(film.scenes) >= 3, "the second round must have scenes to keep"
    assert review_events(events)[0]["verdicts_kept"] == 0


def test_the_round_after_a_reshoot_checks_only_the_reshot_scene(filmed):
    _, project, _, outcome, llm, events = filmed
    film = outcome.film
    first, second = film.review_rounds
    assert first.flagged == [FLAGGED] and second.passed
    scene = scene_of(film, FLAGGED)
    own = [shot.id for shot in scene.shots]
    others = [shot.id for shot in film.shots() if shot.id not in own]
    scope = second.scope
    assert not scope.whole_film and scope.since_round == 1
    assert scope.checked_scenes == [scene.number] == scope.rubric_scenes
    assert scope.checked_shots == own and scope.kept_shots == others
    earlier = {v.shot_id: v for v in first.verdicts}
    now = {v.shot_id: v for v in second.verdicts}
    assert all(now[shot_id] == earlier[shot_id] for shot_id in others)
    assert [v.shot_id for v in second.verdicts] == [shot.id for shot in film.shots()]
    files = json.loads((project.root / TAKE_CHECKS_NAME).read_text())["verdicts"]
    assert len(files) == len(film.shots()), "a kept verdict keeps its take's file verdict for the next round"

    rubrics = [call for call in llm.history if call.task == "rubric"]
    assert len(rubrics) == 2 and llm.tasks().count("weakest_shot") == 1
    assert all(shot_id in rubrics[0].user for shot_id in own + others)
    assert all(shot_id in rubrics[1].user for shot_id in own)
    assert not any(shot_id in rubrics[1].user for shot_id in others), rubrics[1].user

    event = review_events(events)[1]
    assert event["checked_shots"] == own and event["verdicts_kept"] == len(others)
    assert (event["takes_checked"], event["takes_reused"]) == (1, len(film.shots()) - 1)
    line = f"checked {len(own)} shots in scene {scene.number}, kept {len(others)} verdicts from round 1"
    assert event["scope"] == line
    assert any(entry.startswith(f"critic: round 2 passed; {line}") for entry in outcome.log), outcome.log


def plan_for(filmed, film: Film, failed: dict[str, str] | None = None):
    _, _, context, outcome, _, _ = filmed
    return plan_round(film, outcome.film.review_rounds[-1], context, failed or {})


def test_an_unchanged_film_is_looked_at_whole_again(filmed):
    _, _, _, outcome, _, _ = filmed
    plan = plan_for(filmed, outcome.film.model_copy(deep=True))
    assert plan.scope.whole_film and plan.scope.reason == "nothing changed since round 2" and not plan.kept


@pytest.mark.parametrize("change", ["shot action", "scene summary", "take content", "take bytes", "failed render"])
def test_a_verdict_is_kept_only_for_the_identical_scene(filmed, change, tmp_path):
    _, project, _, outcome, _, _ = filmed
    film = outcome.film.model_copy(deep=True)
    scene = film.scenes[0]
    shot = scene.shots[0]
    failed = {}
    if change == "shot action":
        shot.action += " The wind rises."
    elif change == "scene summary":
        scene.summary += " Later."
    elif change == "take content":
        shot.takes[-1] = shot.take.model_copy(update={"content_hash": "0" * 64})
    elif change == "take bytes":
        moved = project.root / "changed" / tmp_path.name
        moved.mkdir(parents=True)
        clip = moved / "clip.mp4"
        shutil.copy(project.root / shot.take.clip, clip)
        with clip.open("ab") as extra:
            extra.write(b"\0")
        shot.takes[-1] = shot.take.model_copy(update={"clip": str(clip.relative_to(project.root))})
    else:
        failed = {shot.id: "RenderError: the backend went away"}
    plan = plan_for(filmed, film, failed)
    assert not plan.scope.whole_film
    assert plan.scope.checked_scenes == [scene.number]
    assert set(plan.kept) == {s.id for s in film.shots() if s.scene_id != scene.id}


@pytest.mark.parametrize("change", ["title", "look", "critic settings"])
def test_a_change_to_the_whole_film_checks_everything(filmed, change):
    _, _, context, outcome, _, _ = filmed
    film = outcome.film.model_copy(deep=True)
    if change == "title":
        film.title = "The Last Lamp"
    elif change == "look":
        film.characters[0].look += ", a red scarf"
    if change == "critic settings":
        settings = context.settings.model_copy(
            update={"critic": context.settings.critic.model_copy(update={"vision_flag_below": 0.9})}
        )
        plan = plan_round(film, outcome.film.review_rounds[-1], dataclasses.replace(context, settings=settings), {})
    else:
        plan = plan_for(filmed, film)
    assert plan.scope.whole_film and "changed since round 2" in plan.scope.reason
    assert not plan.kept and plan.scope.checked_shots == [s.id for s in film.shots()]


def test_a_failed_verdict_is_never_kept(filmed):
    _, _, context, outcome, _, _ = filmed
    film = outcome.film.model_copy(deep=True)
    previous = outcome.film.review_rounds[-1].model_copy(deep=True)
    target = film.scenes[-1].shots[0]
    previous.verdicts = [
        ShotVerdict(shot_id=v.shot_id, passed=False, score=0.5, reasons=["dark"]) if v.shot_id == target.id else v
        for v in previous.verdicts
    ]
    film.scenes[0].shots[0].action += " The wind rises."
    plan = plan_round(film, previous, context, {})
    assert plan.scope.checked_scenes == [film.scenes[0].number, film.scenes[-1].number]
    assert target.id not in plan.kept


def test_a_round_on_changed_words_asks_the_rubric_about_that_scene_only(filmed):
    _, _, context, outcome, _, _ = filmed
    film = outcome.film.model_copy(deep=True)
    scene = film.scenes[-1]
    scene.shots[0].action = "Agnes lights the lamp one last time and the beam sweeps the sea."
    llm = crew()
    state = RunState(film_id=outcome.film_id, film=film, cut=outcome.cut, max_review_rounds=5)
    update = review_cut(state, Runtime(context=dataclasses.replace(context, llm=llm), stream_writer=lambda e: None))
    review = update["review"]
    assert review.scope.checked_scenes == [scene.number] and review.round == 3, review.scope.reason
    (rubric,) = [call for call in llm.history if call.task == "rubric"]
    assert scene.shots[0].id in rubric.user and film.scenes[0].shots[0].id not in rubric.user
    kept = {v.shot_id: v for v in outcome.film.review_rounds[-1].verdicts}
    assert all(v == kept[v.shot_id] for v in review.verdicts if v.shot_id in review.scope.kept_shots)
    assert review.scope.kept_shots and review.passed


def test_a_note_on_one_shot_checks_its_scene_and_keeps_the_others(filmed):
    settings, project, context, outcome, _, events = filmed
    target = outcome.film.scenes[0].shots[-1]
    note = run_film(
        settings, project, events.append, context, feedback=Feedback(text="closer on her hands", shot=target.id)
    )
    assert note.finished and note.review.passed
    scope = note.review.scope
    assert not scope.whole_film and scope.checked_scenes == [outcome.film.scenes[0].number]
    assert target.id in scope.checked_shots
    assert set(scope.kept_shots) == {s.id for s in note.film.shots() if s.scene_id != target.scene_id}
    assert note.review.round == len(outcome.film.review_rounds) + 1


def test_the_rubric_never_undoes_what_a_note_just_asked_for(tmp_path, minilm):
    """Round 2's rubric picks the shot the note made a close-up and asks for the next framing: it stays as noted."""
    settings = Settings(projects_dir=tmp_path / "projects", target_seconds=12, max_review_rounds=2)
    project = new_run(settings, premise=PREMISE)
    fine = {"story": 4, "continuity": 4, "note": "a clear, quiet story"}
    low = {"story": 1, "continuity": 2, "note": "the middle of the film drags"}
    with open_context(settings, project, llm=crew({"rubric": [fine]}), embedding_function=minilm) as context:
        first = run_film(settings, project, context=context)
        target = next(shot for shot in first.film.shots() if shot.framing != "close-up")
    picks = {"rubric": [low], "weakest_shot": [{"shot": target.id, "change": "new_framing", "reason": "too flat"}]}
    with open_context(settings, project, llm=crew(picks), embedding_function=minilm) as context:
        note = Feedback(text="make it a close-up", shot=target.id)
        noted = run_film(settings, project, context=context, feedback=note)
    assert noted.finished and noted.review.passed, noted.review.notes
    assert noted.film.shot(target.id).framing == "close-up"
    assert any("stays as noted" in line for line in noted.review.notes)
