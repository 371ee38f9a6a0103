"""Coverage: several takes of each shot through a tiny random-weight diffusers pipeline; the critic cuts the best.

Real graph, Chroma, ffmpeg and a tiny SD-shaped text-to-image pipeline on the CPU (animatic camera moves for
the clips), with the scripted fake crew. Then the filmmaker cuts in another take of one shot, from the CLI and
from the chat's words, and nothing renders again.
"""

from __future__ import annotations

import json

import pytest
from fake_crew import PREMISE, crew
from typer.testing import CliRunner

from agents.chat.converse import MessageKind, classify_by_rules
from agents.events import Emitter
from agents.run import new_run, run_film, use_take
from agents.state import Film
from agents.takes import restore_takes
from tools.settings import DiffusersSettings, RenderSettings, Settings
from ui.cli import app

pytestmark = [pytest.mark.diffusers, pytest.mark.slow]

TAKES = 3


def coverage_settings(tmp_path, tiny) -> Settings:
    render = RenderSettings(
        image_backend="diffusers",
        image_model=str(tiny.sd),
        video_backend="animatic",
        speech_backend="none",
        width=128,
        fps=8,
        max_parallel=4,
        takes=TAKES,
        diffusers=DiffusersSettings(steps=2),
    )
    return Settings(projects_dir=tmp_path / "projects", target_seconds=8, max_review_rounds=1, render=render)


def take_folders(project) -> dict[str, int]:
    """Every finished take, with the time its clip was written: a take rendered again would change it."""
    return {
        path.parent.name: (path.parent / "clip.mp4").stat().st_mtime_ns
        for path in project.takes_dir.glob("*/*/take.json")
    }


def test_each_shot_gets_three_takes_the_best_is_cut_and_another_can_be_cut_in(tmp_path, make_context, tiny):
    settings = coverage_settings(tmp_path, tiny)
    project = new_run(settings, premise=PREMISE)
    context = make_context(crew(), project, settings)
    outcome = run_film(settings, project, context=context)
    assert outcome.finished, outcome.log
    shots = outcome.film.shots()
    for shot in shots:
        assert len(shot.candidates) == TAKES, shot.id
        assert len({take.content_hash for take in shot.candidates}) == TAKES, "each take has its own seed"
        assert len({take.seed for take in shot.candidates}) == TAKES
        assert [rank.number for rank in sorted(shot.ranking, key=lambda r: r.number)] == [1, 2, 3]
        best = shot.ranking[0]
        assert best.picked_by == "critic" and all(rank.picked_by is None for rank in shot.ranking[1:])
        assert shot.take.content_hash == best.content_hash == shot.candidates[best.number - 1].content_hash
    assert len(take_folders(project)) == TAKES * len(shots)
    manifest = json.loads(project.manifest_file.read_text())
    assert manifest["cost"]["takes_rendered"] == TAKES * len(shots), "every take's render is counted"
    assert all(len(entry["coverage"]) == TAKES for entry in manifest["shots"])

    target = shots[1]
    other = next(rank.number for rank in target.ranking if rank.content_hash != target.take.content_hash)
    folders = take_folders(project)
    untouched = {shot.id: shot.take.content_hash for shot in shots if shot.id != target.id}
    use_take(project, target.id, other)
    recut = run_film(settings, project, context=context)
    assert recut.finished, recut.log
    swapped = recut.film.shot(target.id)
    assert swapped.take.content_hash == target.candidates[other - 1].content_hash
    assert next(rank for rank in swapped.ranking if rank.number == other).picked_by == "filmmaker"
    assert {shot.id: shot.take.content_hash for shot in recut.film.shots() if shot.id != target.id} == untouched
    assert take_folders(project) == folders, "cutting in another take renders nothing"
    at = [shot.id for shot in shots].index(target.id)
    fades = sum(1 for n in (at - 1, at + 1) if 0 <= n < len(shots) and shots[n].scene_id != target.scene_id)
    cut_line = [line for line in recut.log if line.startswith("editor:")][-1]
    assert f"(encoded {1 + fades} of" in cut_line, "the shot's own frames and each cross-fade at its ends"

    damaged = recut.film.model_copy(deep=True)
    (project.root / damaged.shot(target.id).take.keyframe).write_bytes(b"")
    log = restore_takes(damaged, context, Emitter(lambda event: None))
    assert damaged.shot(target.id).take.content_hash == swapped.take.content_hash, log
    assert (project.root / damaged.shot(target.id).take.keyframe).stat().st_size > 0, "the cut-in take is made again"

    runner = CliRunner()
    projects = ["--projects-dir", str(settings.projects_dir)]
    missing = runner.invoke(app, ["revise", project.film_id, "--shot", target.id, "--take", "9", *projects])
    assert missing.exit_code == 2 and f"has takes 1 to {TAKES}" in missing.output
    same = runner.invoke(app, ["revise", project.film_id, "--shot", target.id, "--take", str(other), *projects])
    assert same.exit_code == 2 and "already the one in the cut" in same.output
    film = Film.model_validate_json((project.root / "film.json").read_text())
    assert film.shot(target.id).take.content_hash == swapped.take.content_hash, "a refused pick changes nothing"


def test_the_chat_reads_a_take_pick_with_its_shot(fake_crew_film):
    film = Film.model_validate_json((fake_crew_film.root / "film.json").read_text())
    third = film.shots()[2]
    picked = classify_by_rules("use take 2 of shot 3", film)
    assert (picked.kind, picked.shot, picked.take) == (MessageKind.UNDO, third.id, 2)
    aimed = classify_by_rules("let's go with take three", film)
    assert (aimed.kind, aimed.shot, aimed.take) == (MessageKind.UNDO, None, 3)
    absent = classify_by_rules("use take 2 of shot 99", film)
    assert absent.kind is MessageKind.CHAT and absent.take is None


def test_takes_rank_by_the_checks_then_the_vision_score_then_the_faces():
    from agents.coverage import order_key
    from agents.state import TakeRank

    def rank(number: int, vision: float | None = None, face: float | None = None) -> TakeRank:
        return TakeRank(number=number, content_hash=f"h{number}", score=0.5, vision=vision, face_distance=face)

    black = rank(1, vision=0.9)
    sharp, soft = rank(2, vision=0.8), rank(3, vision=0.4)
    stranger, likeness = rank(4, face=0.7), rank(5, face=0.3)
    failed = {1: True}
    ordered = sorted([black, soft, sharp], key=lambda r: order_key(r, checks_failed=failed.get(r.number, False)))
    assert [r.number for r in ordered] == [2, 3, 1], "a take that fails a check never wins, whatever its score"
    by_face = sorted([stranger, likeness], key=lambda r: order_key(r, checks_failed=False))
    assert [r.number for r in by_face] == [5, 4]
