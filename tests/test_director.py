"""The director: shot budgets per scene, durations fitted to the target, and shots that tell the script."""

from __future__ import annotations

from pathlib import Path

import pytest
from fake_crew import crew

from agents.director import MIN_SHOT_SECONDS, fit_durations, plan_scene, shortest_duration, shots_per_scene
from agents.state import DialogueLine, Film, RunState, Scene, Setting, Shot
from agents.writing.screenplay import parse_fountain
from agents.writing.script_film import film_from_screenplay
from tools.prose import split_sentences

LINE = DialogueLine(character_id="a", text="one two three four five six seven eight nine ten")


def shots(durations: list[float], spoken: set[int] = frozenset()) -> list[Shot]:
    return [
        Shot(id=f"s01-{i:02d}", scene_id="s01", order=i, duration=d, dialogue=LINE if i in spoken else None)
        for i, d in enumerate(durations, start=1)
    ]


def test_long_plans_are_squeezed_to_the_target_but_never_below_reading_time():
    plan = shots([6.0, 6.0, 6.0, 6.0], spoken={2})
    fit_durations(plan, 16.0)
    assert sum(s.duration for s in plan) == pytest.approx(16.0, abs=0.05)
    assert plan[1].duration >= shortest_duration(LINE) == pytest.approx(5.0)
    assert all(s.duration >= MIN_SHOT_SECONDS for s in plan)


def test_a_script_too_talky_for_its_target_runs_long_rather_than_unreadable():
    plan = shots([5.0] * 4, spoken={1, 2, 3, 4})
    fit_durations(plan, 8.0)
    assert all(s.duration == pytest.approx(5.0) for s in plan)


def test_short_plans_are_stretched_up_to_the_target():
    plan = shots([2.0, 2.0, 3.0])
    fit_durations(plan, 14.0)
    assert sum(s.duration for s in plan) == pytest.approx(14.0, abs=0.05)


def test_every_line_gets_a_shot_after_the_establishing_one():
    lines = [DialogueLine(character_id="a", text="Hello there.")] * 3
    scenes = [
        Scene(id="s01", number=1, setting_id="x", dialogue=lines),
        Scene(id="s02", number=2, setting_id="x"),
    ]
    film = Film(id="f", scenes=scenes, settings=[Setting(id="x", name="X", look="a room")], target_seconds=20)
    counts = shots_per_scene(film)
    assert counts["s01"] >= 4 and counts["s02"] >= 1


# The script taken at its word (issue 12): shots carry the scene's own sentences, in order, every one of them.

EXAMPLE = Path(__file__).parents[1] / "examples" / "the_last_ferry.fountain"


@pytest.fixture(scope="module")
def ferry() -> Film:
    llm = crew()
    state = RunState(film_id="ferry", screenplay=EXAMPLE.read_text(encoding="utf-8"), target_seconds=60)
    film = film_from_screenplay(parse_fountain(state.screenplay), state, llm)
    counts = shots_per_scene(film)
    for scene in film.scenes:
        scene.shots = plan_scene(film, scene, counts[scene.id], 3.0, llm)
    return film


def test_every_shot_action_is_whole_sentences_of_its_own_scene(ferry: Film) -> None:
    for scene in ferry.scenes:
        sentences = [sentence for paragraph in scene.action for sentence in split_sentences(paragraph)]
        for shot in scene.shots:
            assert shot.action, shot.id
            for sentence in split_sentences(shot.action):
                assert sentence in sentences, f"{shot.id}: {sentence!r} is not a sentence of scene {scene.number}"


def test_every_beat_is_covered_and_silent_shots_keep_the_scripts_order(ferry: Film) -> None:
    for scene in ferry.scenes:
        sentences = [sentence for paragraph in scene.action for sentence in split_sentences(paragraph)]
        covered = {sentence for shot in scene.shots for sentence in split_sentences(shot.action)}
        assert covered == set(sentences), f"scene {scene.number} leaves out {set(sentences) - covered}"
        silent = [sentences.index(split_sentences(s.action)[0]) for s in scene.shots if s.dialogue is None]
        assert silent == sorted(silent)


def test_a_dialogue_shot_carries_the_beat_on_screen_when_its_line_is_said(ferry: Film) -> None:
    wheelhouse = ferry.scenes[1]
    spoken = [shot for shot in wheelhouse.shots if shot.dialogue is not None]
    assert [shot.action for shot in spoken] == ["Margit eases the throttle forward without looking at it."] * 2
    last = wheelhouse.shots[-1]
    assert last.dialogue is None and last.action == "She hangs up the handset. It swings on its cord."


def test_voices_over_are_heard_not_drawn_and_introductions_are_looks(ferry: Film) -> None:
    benno = next(c for c in ferry.characters if c.name == "Benno")
    assert any(line.character_id == benno.id and line.off_screen for s in ferry.scenes for line in s.dialogue)
    assert all(benno.id not in shot.character_ids for shot in ferry.shots())
    assert all(benno.id not in scene.character_ids for scene in ferry.scenes)
    margit = next(c for c in ferry.characters if c.name == "Margit")
    assert margit.look == "60s, yellow oilskin coat, silver braid"
