"""The `director` command on bad input: a clear message, a non-zero exit, and nothing created."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from ui.cli import app


@pytest.fixture
def director(tmp_path: Path):
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(
            app, [*args, "--projects-dir", str(tmp_path / "projects")] if args[0] != "--help" else list(args)
        )

    return invoke


def test_an_empty_premise_is_refused(director, tmp_path):
    result = director("make", "   ")
    assert result.exit_code == 2
    assert "nothing to film" in result.output
    assert not (tmp_path / "projects").exists()


def test_a_premise_and_a_script_together_are_refused(director, tmp_path):
    script = tmp_path / "a.fountain"
    script.write_text("INT. ROOM - DAY\n\nA door opens.\n")
    result = director("make", "a premise long enough", "--script", str(script))
    assert result.exit_code == 2 and "not both" in result.output


def test_a_missing_screenplay_names_the_path(director, tmp_path):
    result = director("make", "--script", str(tmp_path / "nowhere.fountain"))
    assert result.exit_code == 2
    assert "nowhere.fountain" in result.output


def test_a_screenplay_without_scene_headings_says_what_to_add(director, tmp_path):
    script = tmp_path / "notes.fountain"
    script.write_text("Some thoughts about a film.\n\nMore thoughts.\n")
    result = director("make", "--script", str(script))
    assert result.exit_code == 2
    assert "scene heading" in result.output
    assert not (tmp_path / "projects").exists()


def test_a_binary_file_is_not_a_screenplay(director, tmp_path):
    script = tmp_path / "film.fountain"
    script.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 20)
    result = director("make", "--script", str(script))
    assert result.exit_code == 2 and "film.fountain" in result.output


@pytest.mark.parametrize("run", ["no-such-run-123", "../../etc", "UPPER"])
def test_resuming_an_unknown_run_says_how_to_find_runs(director, run):
    result = director("resume", run)
    assert result.exit_code == 2
    assert "director list" in result.output or "not a run id" in result.output


def test_listing_an_empty_projects_folder_says_how_to_start(director):
    result = director("list")
    assert result.exit_code == 0 and "director make" in result.output


def test_a_run_whose_note_was_not_taken_is_listed_as_waiting_for_resume(director, tmp_path):
    from agents.run import new_run
    from agents.state import Feedback
    from tools.settings import Settings

    settings = Settings(projects_dir=tmp_path / "projects")
    noted = new_run(settings, premise="A keeper and a dog wait out a storm", film_id="noted-run")
    new_run(settings, premise="A keeper and a cat wait out a storm", film_id="plain-run")
    noted.keep_pending_note(Feedback(text="make it rain", scene=1))
    result = director("list")
    assert result.exit_code == 0
    rows = {line.split()[1]: line for line in result.output.splitlines() if "-run" in line}
    assert "a note waits" in rows["noted-run"] and "resumable" in rows["plain-run"], result.output


def test_an_unknown_aspect_ratio_is_refused_with_the_choices(director, tmp_path):
    result = director("make", "A keeper and a dog wait out a storm", "--aspect", "5:4")
    assert result.exit_code == 2
    assert "2.39:1" in result.output
    assert not (tmp_path / "projects").exists()


def test_an_unreachable_llm_stops_the_run_where_it_can_be_resumed(director, tmp_path, monkeypatch):
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    monkeypatch.setenv("DIRECTOR_LLM__BASE_URL", f"http://127.0.0.1:{closed_port}/v1")
    monkeypatch.setenv("DIRECTOR_LLM__MAX_RETRIES", "0")
    result = director("make", "A keeper and a dog wait out a storm")
    assert result.exit_code == 1
    assert "DIRECTOR_LLM__BASE_URL" in result.output and "director resume" in result.output
    (project,) = (tmp_path / "projects").iterdir()
    assert (project / "run.json").is_file() and not (project / "film.json").exists()


def test_revise_refuses_a_run_that_does_not_exist(director):
    result = director("revise", "no-such-run", "make it night")
    assert result.exit_code == 2
    assert "no run 'no-such-run'" in result.output


@pytest.mark.llm
def test_revise_remakes_only_the_shot_it_is_aimed_at(director, tmp_path, make_context):
    from fake_crew import PREMISE, crew

    from agents.run import new_run, run_film
    from agents.state import Film
    from tools.settings import Settings

    settings = Settings(projects_dir=tmp_path / "projects", target_seconds=10, max_review_rounds=1)
    project = new_run(settings, premise=PREMISE)
    run_film(settings, project, context=make_context(crew(), project, settings))
    before = {s.id: s.take.content_hash for s in Film.model_validate_json(project.film_file.read_text()).shots()}
    target = sorted(before)[0]

    refused = director("revise", project.film_id, "closer", "--shot", "s77-01")
    assert refused.exit_code == 2 and "no shot 's77-01'" in refused.output
    film_bytes = project.film_file.read_bytes()
    question = director("revise", project.film_id, "Why is the second scene at night?")
    assert question.exit_code == 2 and "director ask" in question.output
    assert project.film_file.read_bytes() == film_bytes, "a question given as a note changes nothing"

    result = director("revise", project.film_id, "closer on the hands", "--shot", target)
    assert result.exit_code == 0, result.output
    assert f"remaking 1 shots: {target}" in result.output
    film = Film.model_validate_json(project.film_file.read_text())
    after = {s.id: s.take.content_hash for s in film.shots()}
    assert {shot_id for shot_id in before if before[shot_id] != after[shot_id]} == {target}
    assert film.feedback[-1].remade == [target]


def test_studio_refuses_auth_without_a_password(director):
    result = director("studio", "--auth", "ana")
    assert result.exit_code == 2 and "USER:PASSWORD" in result.output


def test_the_progress_says_a_damaged_take_is_rendered_again_without_counting_it_done():
    from io import StringIO

    from rich.console import Console
    from rich.progress import Progress

    from ui.cli import StageProgress

    out = StringIO()
    with Progress(console=Console(file=out, width=160, force_terminal=False)) as progress:
        stages = StageProgress(progress)
        stages({"stage": "design", "status": "start", "shots": 3})
        problem = "takes/ab/abc/clip.mp4 is damaged (its checksum changed since it was rendered)"
        stages({"stage": "render", "shot": "s01-02", "status": "damaged", "problem": problem})
        stages({"stage": "render", "shot": "s01-02", "status": "done", "cache_hit": False, "seconds": 1.5})
        completed = progress.tasks[stages.tasks["render"]].completed
    text = out.getvalue()
    assert f"shot s01-02 take damaged ({problem}): rendering it again" in text
    assert "shot s01-02 rendered in 1.5 s" in text
    assert completed == 1
