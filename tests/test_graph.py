"""The film loop's routing with a scripted fake LLM, on real Chroma, real animatic renders and real ffmpeg."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fake_crew import PREMISE, crew
from fake_llm import FakeLLM

from agents.project import Project
from agents.run import new_run, run_film
from agents.state import Film
from tools.edit.probe import probe_video
from tools.settings import Settings


def film_run(tmp_path: Path, make_context, llm: FakeLLM, rounds: int = 2, render: dict | None = None, **source: str):
    settings = Settings(
        projects_dir=tmp_path / "projects", target_seconds=12, max_review_rounds=rounds, render=render or {}
    )
    project = new_run(settings, **(source or {"premise": PREMISE}))
    outcome = run_film(settings, project, context=make_context(llm, project, settings))
    return project, outcome


def rendered_hashes(project: Project) -> dict[str, list[str]]:
    """Every take actually rendered (not reused) per shot, from the film's take history."""
    film = Film.model_validate_json(project.film_file.read_text())
    return {shot.id: [t.content_hash for t in shot.takes if not t.cache_hit] for shot in film.shots()}


def test_a_premise_becomes_a_reviewed_cut_in_one_round(tmp_path, make_context):
    llm = crew()
    project, outcome = film_run(tmp_path, make_context, llm)
    film = outcome.film
    assert outcome.finished and outcome.review.passed
    assert len(film.review_rounds) == 1
    assert [c.name for c in film.characters] == ["Agnes", "Biscuit"]
    assert (project.root / outcome.cut.video).stat().st_size > 0
    assert json.loads(project.review_file.read_text())["passed"] is True
    assert "render_shot" in outcome.timings
    for shot in film.shots():
        assert len(shot.takes) == 1
        for character_id in shot.character_ids:
            character = film.character(character_id)
            assert character.name in shot.prompt and character.look in shot.prompt
    saved = Film.model_validate_json(project.film_file.read_text())
    assert saved.review_rounds == film.review_rounds
    manifest = json.loads(project.manifest_file.read_text())
    assert {s["shot_id"] for s in manifest["shots"]} == {s.id for s in film.shots()}
    assert manifest["llm_usage"]["calls"] == sum(len(call.answers) for call in llm.history)
    assert manifest["llm_usage"]["retries"] == 0


def test_the_critic_sends_back_one_shot_and_only_it_is_rendered_again(tmp_path, make_context):
    flagged = "s02-01"
    llm = crew(
        {
            "rubric": [{"story": 2, "continuity": 2, "note": "the middle of the film drags"}],
            "weakest_shot": [{"shot": flagged, "change": "new_seed", "reason": "too dark to read"}],
        }
    )
    project, outcome = film_run(tmp_path, make_context, llm)
    film = outcome.film
    assert [r.passed for r in film.review_rounds] == [False, True]
    assert film.review_rounds[0].flagged == [flagged]
    change = film.review_rounds[0].verdicts[[v.shot_id for v in film.review_rounds[0].verdicts].index(flagged)]
    assert change.change.kind == "new_seed"
    hashes = rendered_hashes(project)
    assert len(hashes[flagged]) == 2 and hashes[flagged][0] != hashes[flagged][1]
    assert all(len(h) == 1 for shot_id, h in hashes.items() if shot_id != flagged)
    assert film.shot(flagged).seed == change.change.seed


def test_reshoots_stop_at_the_round_limit(tmp_path, make_context):
    low = {"story": 1, "continuity": 1, "note": "weak and hard to follow"}
    llm = crew(
        {
            "rubric": [low] * 5,
            "weakest_shot": [{"shot": "s01-02", "change": "new_framing", "reason": "wrong size"}] * 5,
        }
    )
    _, outcome = film_run(tmp_path, make_context, llm, rounds=3)
    assert len(outcome.film.review_rounds) == 3
    assert not outcome.review.passed
    assert outcome.finished
    assert llm.tasks().count("rubric") == 3


def test_broken_answers_are_repaired_then_replaced_by_defaults(tmp_path, make_context):
    llm = crew(
        {
            "title": ['```json\n{"title": "Fenced", "logline": "A title wrapped in a markdown fence works."}\n```'],
            "character": ["not json at all", '{"name": ""}', "{{{"] * 2,
        }
    )
    _, outcome = film_run(tmp_path, make_context, llm)
    assert outcome.film.title == "Fenced"
    cast_calls = [call for call in llm.history if call.task == "character"]
    assert len(cast_calls) == 2 and all(len(call.answers) == 3 for call in cast_calls)
    names = [c.name for c in outcome.film.characters]
    assert names == ["The Lighthouse Keeper", "The Stray Dog"]
    for shot in outcome.film.shots():
        assert any(name in shot.prompt for name in names) or not shot.character_ids


def test_a_screenplay_keeps_its_scenes_and_people(tmp_path, make_context):
    script = (Path(__file__).parents[1] / "examples" / "the_last_ferry.fountain").read_text()
    llm = crew()
    _, outcome = film_run(tmp_path, make_context, llm, screenplay=script)
    film = outcome.film
    assert film.title == "The Last Ferry"
    assert len(film.scenes) == 8
    assert {c.name for c in film.characters} >= {"Margit", "Noor"}
    assert "scene" not in llm.tasks()
    assert "character_look" not in llm.tasks(), "the script describes everyone seen; a voice over is never drawn"
    assert film.character("margit").look == "60s, yellow oilskin coat, silver braid"
    spoken = [line.text for scene in film.scenes for line in scene.dialogue]
    assert spoken and all(any(s.dialogue and s.dialogue.text == text for s in film.shots()) for text in spoken)


@pytest.mark.parametrize("premise", ["", "   ", "short"])
def test_an_empty_or_tiny_premise_is_refused_before_anything_is_made(tmp_path, premise):
    settings = Settings(projects_dir=tmp_path / "projects")
    with pytest.raises(ValueError, match="premise|nothing to film"):
        new_run(settings, premise=premise)
    assert not (tmp_path / "projects").exists()


def test_the_frame_follows_the_chosen_width_aspect_and_fps(tmp_path, make_context):
    project, outcome = film_run(tmp_path, make_context, crew(), render={"width": 320, "aspect": "2.39:1", "fps": 8})
    facts = probe_video(project.root / outcome.cut.video)
    assert (facts.width, facts.height, round(facts.fps)) == (320, 134, 8)
    take = outcome.film.shots()[0].take
    assert probe_video(project.root / take.clip).height == 134


@pytest.mark.timeout(180)
def test_one_shot_at_a_time_still_finishes(tmp_path, make_context):
    """LangGraph's stream holds a worker of the pool: a pool sized to one render would never start a node."""
    project, outcome = film_run(tmp_path, make_context, crew(), rounds=1, render={"max_parallel": 1})
    assert outcome.finished and all(shot.take is not None for shot in outcome.film.shots())
