"""The director's arithmetic: shot budgets per scene and durations fitted to the target length."""

from __future__ import annotations

import pytest

from agents.director import MIN_SHOT_SECONDS, fit_durations, shortest_duration, shots_per_scene
from agents.state import DialogueLine, Film, Scene, Setting, Shot

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
