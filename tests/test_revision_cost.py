"""A note on one shot costs one shot: its segments are encoded again, its take alone is checked again.

Real graph, Chroma, animatic, eSpeak NG and ffmpeg, with the scripted fake crew. The critic's kept verdicts are
also checked against what it finds on a fresh look, including on a take whose files were damaged since.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest
from clips import write_clip
from fake_crew import PREMISE, crew

import agents.take_checks as take_checks
from agents.editor import SEGMENTS_DIR, cut_plan
from agents.run import new_run, open_context, run_film
from agents.state import Feedback, Film
from tools.edit.cut import assemble_cut
from tools.edit.probe import probe_video
from tools.settings import Settings


def read_film(path: Path) -> np.ndarray:
    reader = imageio_ffmpeg.read_frames(str(path))
    meta = next(reader)
    width, height = meta["size"]
    return np.stack([np.frombuffer(raw, np.uint8).reshape(height, width, 3) for raw in reader]).astype(np.int16)


def done_event(events: list[dict], stage: str) -> dict:
    (event,) = [e for e in events if e.get("stage") == stage and e.get("status") == "done"]
    return event


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory, minilm):
    """A film from the fake crew's premise, with the events of its run; the context stays open for notes."""
    settings = Settings(projects_dir=tmp_path_factory.mktemp("revision") / "projects", target_seconds=24)
    project = new_run(settings, premise=PREMISE)
    with open_context(settings, project, llm=crew(), embedding_function=minilm) as context:
        events: list[dict] = []
        outcome = run_film(settings, project, events.append, context)
        assert outcome.finished and len(outcome.film.review_rounds) == 1
        yield settings, project, context, outcome, events


def test_a_fresh_film_checks_every_take_and_keeps_the_verdicts(made) -> None:
    _, project, _, outcome, events = made
    shots = outcome.film.shots()
    assert len(shots) >= 4
    review = done_event(events, "review")
    assert (review["takes_checked"], review["takes_reused"]) == (len(shots), 0)
    cut = done_event(events, "cut")
    assert cut["segments_encoded"] == cut["segments"] > len(shots)
    kept = json.loads((project.root / take_checks.TAKE_CHECKS_NAME).read_text())
    assert kept["version"] == take_checks.TAKE_CHECKS_VERSION and len(kept["verdicts"]) == len(shots)


def test_kept_verdicts_are_the_ones_a_fresh_check_gives(made) -> None:
    _, project, _, outcome, _ = made
    film = outcome.film
    checks = take_checks.TakeChecks.load(project)
    for shot in film.shots():
        assert checks.of(shot, film) == take_checks.check_take_files(shot, film, project)
    assert (checks.checked, checks.reused) == (0, len(film.shots()))


def test_a_take_damaged_since_its_review_is_checked_again_and_flagged(made, tmp_path) -> None:
    """Same take, same content hash in film.json, but its clip's bytes are now black: the verdict is not reused."""
    _, project, _, outcome, _ = made
    film = outcome.film.model_copy(deep=True)
    shot = film.shots()[1]
    take = shot.take
    damaged = project.root / "damaged" / take.content_hash
    shutil.copytree(project.root / Path(take.clip).parent, damaged)
    facts = probe_video(project.root / take.clip)
    black = [np.zeros((facts.height, facts.width, 3), np.uint8)] * facts.num_frames
    write_clip(damaged / Path(take.clip).name, black, fps=round(facts.fps))
    shot.takes[-1] = take.model_copy(
        update={
            "clip": str((damaged / Path(take.clip).name).relative_to(project.root)),
            "keyframe": str((damaged / Path(take.keyframe).name).relative_to(project.root)),
        }
    )
    checks = take_checks.TakeChecks.load(project)
    reasons = checks.of(shot, film)
    assert any(reason.startswith("black picture") for reason in reasons), reasons
    assert (checks.checked, checks.reused) == (1, 0)
    shutil.rmtree(project.root / "damaged")


@pytest.mark.parametrize("change", ["version", "fps", "duration", "unreadable file"])
def test_verdicts_are_not_reused_across_versions_formats_or_a_broken_file(made, monkeypatch, change) -> None:
    _, project, _, outcome, _ = made
    film = outcome.film.model_copy(deep=True)
    if change == "version":
        monkeypatch.setattr(take_checks, "TAKE_CHECKS_VERSION", take_checks.TAKE_CHECKS_VERSION + 1)
    elif change == "fps":
        film.style.fps += 1
    elif change == "duration":
        for shot in film.shots():
            shot.duration += 0.5
    else:
        kept = project.root / take_checks.TAKE_CHECKS_NAME
        monkeypatch.setattr(take_checks, "TAKE_CHECKS_NAME", "broken-checks.json")
        (project.root / "broken-checks.json").write_text(kept.read_text()[:40])
    checks = take_checks.TakeChecks.load(project)
    for shot in film.shots():
        checks.of(shot, film)
    assert (checks.checked, checks.reused) == (len(film.shots()), 0)


def test_a_note_on_one_shot_encodes_its_segments_and_checks_its_take_only(made, tmp_path) -> None:
    settings, project, context, outcome, _ = made
    film = outcome.film
    shots = film.shots()
    target = shots[len(shots) // 2]
    scene_of = {shot.id: scene.number for scene in film.scenes for shot in scene.shots}
    at = [shot.id for shot in shots].index(target.id)
    fades = sum(
        1
        for neighbour in (at - 1, at + 1)
        if 0 <= neighbour < len(shots) and scene_of[shots[neighbour].id] != scene_of[target.id]
    )

    events: list[dict] = []
    note = run_film(
        settings, project, events.append, context, feedback=Feedback(text="closer on her hands", shot=target.id)
    )
    assert note.finished
    remade = [shot.id for shot in note.film.shots() if shot.take.content_hash != film.shot(shot.id).take.content_hash]
    assert remade == [target.id]
    cut = done_event(events, "cut")
    assert cut["segments_encoded"] == 1 + fades, "the shot's own frames and each cross-fade at its ends"
    review = done_event(events, "review")
    assert (review["takes_checked"], review["takes_reused"]) == (1, len(shots) - 1)

    video = project.root / note.cut.video
    errors = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(video), "-f", "null", "-"], capture_output=True
    )
    assert errors.returncode == 0 and errors.stderr == b""
    scratch = assemble_cut(cut_plan(Film.model_validate_json(project.film_file.read_text()), project.root), tmp_path)
    joined, fresh = read_film(video), read_film(scratch.video)
    assert joined.shape == fresh.shape
    assert np.abs(joined - fresh).mean() < 0.5
    assert len(list((project.root / "cut" / SEGMENTS_DIR).glob("*.mp4"))) == cut["segments"]
