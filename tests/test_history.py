"""Undo: the last note is taken back with its cut, at a gate too, and a shot gets its earlier take; nothing renders.

The scripted fake crew stands in for the model; the graph, checkpoints, Chroma, the animatic and ffmpeg are real.
One finished film is made per module; each test works on its own copy of the project.
"""

from __future__ import annotations

import json
import shutil
from contextlib import nullcontext
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest
from fake_crew import PREMISE, crew
from typer.testing import CliRunner

from agents.chat.history import HistoryError, note_history, undo_last_note
from agents.project import Project
from agents.run import new_run, open_context, run_film
from agents.state import Feedback, Film
from tools.settings import Settings
from ui.cli import app


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory, minilm) -> Project:
    """A film made unattended from the fake crew's premise, its context closed so that tests can copy it."""
    settings = Settings(projects_dir=tmp_path_factory.mktemp("history") / "projects", target_seconds=10)
    project = new_run(settings, premise=PREMISE)
    with open_context(settings, project, llm=crew(), embedding_function=minilm) as context:
        assert run_film(settings, project, context=context).finished
    return project


@pytest.fixture
def film_copy(finished: Project, tmp_path: Path) -> tuple[Settings, Project]:
    settings = Settings(projects_dir=tmp_path / "projects", target_seconds=10)
    root = settings.projects_dir / finished.film_id
    shutil.copytree(finished.root, root)
    return settings, Project(root)


def load(project: Project) -> Film:
    film = project.load_film()
    assert film is not None
    return film


def current_takes(project: Project) -> dict[str, str]:
    return {shot.id: shot.take.content_hash for shot in load(project).shots() if shot.take is not None}


def take_folders(project: Project) -> dict[str, int]:
    """Every take folder, with the time its clip was written: a take rendered again would change it."""
    return {path.name: (path / "clip.mp4").stat().st_mtime_ns for path in project.takes_dir.glob("*/*")}


def frame_at(video: Path, seconds: float) -> np.ndarray:
    reader = imageio_ffmpeg.read_frames(str(video), input_params=["-ss", f"{seconds:.3f}"])
    meta = next(reader)
    width, height = meta["size"]
    frame = np.frombuffer(next(reader), np.uint8).reshape(height, width, 3).astype(np.int16)
    reader.close()
    return frame


def assert_same_cut(old: Path, timeline: list[dict], new: Path) -> None:
    for entry in timeline:
        middle = (entry["start"] + entry["end"]) / 2
        difference = float(np.abs(frame_at(old, middle) - frame_at(new, middle)).mean())
        assert difference < 1, f"shot {entry['shot_id']} differs from the cut before the note by {difference:.2f}"


def keep_cut(project: Project, folder: Path) -> tuple[Path, list[dict]]:
    folder.mkdir(parents=True, exist_ok=True)
    video = shutil.copy2(project.cut_dir / "film.mp4", folder / "film.mp4")
    return Path(video), json.loads((project.cut_dir / "timeline.json").read_text())


def invoke(settings: Settings, *args: str):
    return CliRunner().invoke(app, [*args, "--projects-dir", str(settings.projects_dir)])


def test_undo_brings_back_the_takes_and_the_cut_from_before_the_note(film_copy, make_context, tmp_path):
    settings, project = film_copy
    before = load(project)
    old_cut, timeline = keep_cut(project, tmp_path / "before")
    target = before.shots()[1].id
    context = make_context(crew(), project, settings)
    noted = run_film(settings, project, context=context, feedback=Feedback(text="closer on her hands", shot=target))
    assert noted.finished
    assert current_takes(project)[target] != before.shot(target).take.content_hash
    (entry,) = note_history(project)
    assert (entry.text, entry.shot, entry.gate) == ("closer on her hands", target, None)
    assert entry.after_checkpoint and entry.after_checkpoint != entry.before_checkpoint
    folders = take_folders(project)
    project.keep_pending_note(Feedback(text="make it night"))
    with pytest.raises(HistoryError, match="has not been applied yet"):
        undo_last_note(project, memory=context.memory)
    project.drop_pending_note()

    result = invoke(settings, "undo", project.film_id)
    assert result.exit_code == 0, result.output
    assert "closer on her hands" in result.output and target in result.output

    restored = load(project)
    assert {shot.id: shot.takes for shot in restored.shots()} == {shot.id: shot.takes for shot in before.shots()}
    assert restored.feedback == before.feedback
    assert_same_cut(old_cut, timeline, project.cut_dir / "film.mp4")
    assert (project.cut_dir / "film.mp4").read_bytes() == old_cut.read_bytes()
    assert take_folders(project) == folders, "a take was rendered or deleted by the undo"
    assert run_film(settings, project, context=context).finished, "the run stands finished after the undo"
    with pytest.raises(HistoryError, match="no note to undo"):
        undo_last_note(project, memory=context.memory)

    again = invoke(settings, "undo", project.film_id)
    assert again.exit_code == 2
    assert "there is no note to undo" in again.output


def test_a_note_given_at_the_cut_gate_is_undone_to_the_gate_with_its_cut(film_copy, make_context, tmp_path):
    settings, project = film_copy
    context = make_context(crew(), project, settings, unattended=False)
    first, second = (shot.id for shot in load(project).shots()[:2])
    at_gate = run_film(settings, project, context=context, feedback=Feedback(text="wider", shot=first))
    assert at_gate.gate is not None and at_gate.gate.gate == "cut"
    gate_film = load(project)
    gate_cut, timeline = keep_cut(project, tmp_path / "gate")
    noted = run_film(settings, project, context=context, feedback=Feedback(text="another take", shot=second))
    assert noted.gate is not None and noted.gate.gate == "cut"
    assert current_takes(project)[second] != gate_film.shot(second).take.content_hash
    folders = take_folders(project)

    result = undo_last_note(project, memory=context.memory)
    assert result.needs_resume and result.shots == [second]
    assert "cut gate" in result.message
    events: list[dict] = []
    resumed = run_film(settings, project, events.append, context=context)

    assert resumed.gate is not None and resumed.gate.gate == "cut"
    assert not [event for event in events if event.get("stage") in ("render", "cut", "review")]
    assert current_takes(project) == {shot.id: shot.take.content_hash for shot in gate_film.shots()}
    assert_same_cut(gate_cut, timeline, project.cut_dir / "film.mp4")
    assert take_folders(project) == folders
    assert [entry.text for entry in note_history(project)] == ["wider"]


def test_the_earlier_take_of_a_shot_comes_back_and_the_film_is_recut_without_rendering(
    film_copy, make_context, monkeypatch, tmp_path
):
    settings, project = film_copy
    before = load(project)
    old_cut, timeline = keep_cut(project, tmp_path / "before")
    number = 2
    target = before.shots()[number - 1]
    context = make_context(crew(), project, settings)
    run_film(settings, project, context=context, feedback=Feedback(text="closer on her hands", shot=target.id))
    noted = load(project).shot(target.id)
    assert noted.take.content_hash != target.take.content_hash and noted.framing != target.framing
    folders = take_folders(project)
    monkeypatch.setattr("agents.run.open_context", lambda *args, **kwargs: nullcontext(context))

    result = invoke(settings, "undo", project.film_id, "--shot", str(number))
    assert result.exit_code == 0, result.output
    assert f"shot {target.id} has its earlier take" in result.output

    film = load(project)
    shot = film.shot(target.id)
    assert shot.take.content_hash == target.take.content_hash
    assert [take.content_hash for take in shot.takes] == [noted.take.content_hash, target.take.content_hash]
    assert (shot.framing, shot.seed, shot.prompt) == (target.framing, target.seed, target.prompt)
    assert current_takes(project) == {s.id: s.take.content_hash for s in before.shots()}
    assert take_folders(project) == folders, "a take was rendered for the earlier take"
    assert_same_cut(old_cut, timeline, project.cut_dir / "film.mp4")
    assert project.review_file.is_file() and len(film.review_rounds) == len(before.review_rounds) + 2

    refused = invoke(settings, "undo", project.film_id, "--shot", "99")
    assert refused.exit_code == 2 and "there is no shot 99" in refused.output
    untouched = invoke(settings, "undo", project.film_id, "--shot", before.shots()[0].id)
    assert untouched.exit_code == 2 and "no earlier take" in untouched.output


def test_a_shot_a_note_cut_comes_back_in_the_film_and_in_memory(film_copy, make_context):
    settings, project = film_copy
    before = load(project)
    removed = before.shots()[-1].id
    context = make_context(crew(), project, settings)
    run_film(settings, project, context=context, feedback=Feedback(text=f"cut shot {removed}"))
    assert removed not in current_takes(project) and context.memory.get_shot(removed) is None

    result = undo_last_note(project, memory=context.memory)

    assert not result.needs_resume and result.shots == [removed]
    assert current_takes(project) == {shot.id: shot.take.content_hash for shot in before.shots()}
    record = context.memory.get_shot(removed)
    assert record is not None and record.prompt == before.shot(removed).prompt
