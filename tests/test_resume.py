"""Crash and resume, end to end: the real bundled model, real Chroma, real ffmpeg, and real `kill -9`s.

One film is made across ten SIGKILLs at seeded-random points (printed, so a failure can be replayed with the
same seed), each run after the first being `director resume`. Then a note is given, and the revision killed as
soon as the CLI took it (starting the model server), just after its run line, and twice more on the way.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from kill_points import AFTER_RENDER, BEFORE_RENDER, Director, KillPoint, KillRecord, draw_kill_points, inspect_project
from kill_points import phase_of as landed_in

from agents.notes.targets import clean_note
from agents.state import Film
from tools.edit.probe import probe_video

PREMISE = "A lighthouse keeper and a stray dog wait out the last storm"
SEED = 5
KILLS = 10

pytestmark = [
    pytest.mark.llm,
    pytest.mark.slow,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads process groups from /proc"),
]


@dataclass
class KilledFilm:
    root: Path
    env: dict[str, str]
    project: Path
    kills: list[KillRecord]
    final: Director


def environment(projects: Path) -> dict[str, str]:
    return {**os.environ, "DIRECTOR_PROJECTS_DIR": str(projects), "HF_HUB_OFFLINE": "1"}


def kill(
    director: Director, point: KillPoint, projects: Path, attempt: int, required: bool = True
) -> KillRecord | None:
    """Wait for the kill point, SIGKILL, and record where it landed and what it left on disk.

    None when the command ended before the kill point and the kill was not `required`.
    """
    if not director.wait_for(point, projects):
        if not required:
            return None
        raise AssertionError(
            f"`director {director.process.args[1]}` ended by itself (code {director.process.returncode}) before "
            f"kill {attempt} ({point}); the kill points (seed {SEED}) no longer fit the run:\n{director.stderr[-2000:]}"
        )
    director.kill(point.group)
    seconds = director.seconds
    survivors = director.survivors()
    (project,) = projects.iterdir()
    takes, broken = inspect_project(project)
    record = KillRecord(attempt, point, seconds, landed_in(project, director), takes, broken, survivors)
    print(record, flush=True)
    return record


@pytest.fixture(scope="module")
def killed_film(tmp_path_factory: pytest.TempPathFactory) -> KilledFilm:
    """One film made across `KILLS` SIGKILLs, then finished by a last `director resume`."""
    root = tmp_path_factory.mktemp("killed-film")
    projects = root / "projects"
    env = environment(projects)
    points = draw_kill_points(SEED, KILLS)
    print(f"kill points (seed {SEED}):", *(f"  {index}: {point}" for index, point in enumerate(points, 1)), sep="\n")
    kills: list[KillRecord] = []
    film_id = ""
    for attempt, point in enumerate(points, 1):
        args = ["resume", film_id] if film_id else ["make", PREMISE]
        kills.append(kill(Director(args, root, env), point, projects, attempt))
        film_id = film_id or next(projects.iterdir()).name
    final = Director(["resume", film_id], root, env)
    final.finish()
    print(f"last resume: {final.seconds:.1f} s, code {final.process.returncode}")
    return KilledFilm(root, env, projects / film_id, kills, final)


def test_a_film_killed_ten_times_finishes_and_reuses_every_finished_take(killed_film: KilledFilm):
    kills, project = killed_film.kills, killed_film.project
    assert len(kills) >= 10
    for record in kills:
        assert not record.broken, f"{record}: half-written files {record.broken}"
        assert not record.survivors, f"{record}: processes outlived the killed director: {record.survivors}"
    phases = {record.phase for record in kills}
    assert len(phases) >= 3 and phases & BEFORE_RENDER and "render" in phases and phases & AFTER_RENDER, (
        f"the kills did not spread over the run: {sorted(phases)}"
    )
    assert any(record.takes for record in kills), "no kill came after a finished take"

    final = killed_film.final
    assert final.process.returncode == 0, final.stderr[-3000:]
    assert final.said("Resuming run")
    film = Film.model_validate_json((project / "film.json").read_text())
    finished = {content_hash: seen for record in kills for content_hash, seen in record.takes.items()}
    takes_now, _ = inspect_project(project)
    for content_hash, seen in finished.items():
        assert content_hash in {take.content_hash for take in film.shot(seen.shot_id).takes}, (
            f"the finished take {content_hash[:12]} of {seen.shot_id} is not in the film"
        )
        assert takes_now[content_hash].mtimes == seen.mtimes, f"the take {content_hash[:12]} was rendered again"
    rendered = [take.content_hash for shot in film.shots() for take in shot.takes if not take.cache_hit]
    assert len(rendered) == len(set(rendered)), "a take was rendered twice"

    cut = probe_video(project / "cut" / "film.mp4")
    assert cut.codec == "h264" and cut.duration >= 30
    assert len(film.shots()) >= 6
    assert (project / "cut" / "film.srt").read_text().strip()
    manifest = json.loads((project / "manifest.json").read_text())
    assert manifest["models"] and all(s["prompt"] for s in manifest["shots"])
    for shot in film.shots():
        for character_id in shot.character_ids:
            assert film.character(character_id).name in shot.prompt

    cut_stamp = (project / "cut" / "film.mp4").stat().st_mtime_ns
    again = Director(["resume", project.name], killed_film.root, killed_film.env)
    assert again.finish(timeout=300) == 0, again.stderr[-2000:]
    assert (project / "cut" / "film.mp4").stat().st_mtime_ns == cut_stamp, "a finished run was cut again"


def test_a_note_killed_right_after_the_cli_took_it_is_applied_once_on_resume(killed_film: KilledFilm, tmp_path):
    projects = tmp_path / "projects"
    project = projects / killed_film.project.name
    shutil.copytree(killed_film.project, project)
    env = environment(projects)
    before = Film.model_validate_json((project / "film.json").read_text())
    shot = before.shots()[1]
    note = f"Shot {shot.id}: another take, rain streaking the window"
    cut_stamp = (project / "cut" / "film.mp4").stat().st_mtime_ns

    rng = random.Random(SEED)
    points = [
        KillPoint("server", round(rng.uniform(0.0, 0.3), 3), group=False),
        KillPoint("line", 0.0),
        KillPoint("line", round(rng.uniform(0.5, 2.5), 3)),
        KillPoint("encode", round(rng.uniform(0.0, 1.0), 3), group=False),
    ]
    print("kill points of the revision:", *points, sep="\n  ")
    args = ["revise", project.name, note]
    for attempt, point in enumerate(points, 1):
        director = Director(args, tmp_path, env)
        record = kill(director, point, projects, attempt, required=attempt == 1)
        if record is None:
            print(f"`director resume` ended by itself before kill {attempt}, code {director.process.returncode}")
            break
        assert not record.broken and not record.survivors, record
        assert not director.said("error"), director.stderr
        args = ["resume", project.name]
    final = Director(args, tmp_path, env)
    assert final.finish() == 0, final.stderr[-3000:]

    film = Film.model_validate_json((project / "film.json").read_text())
    revisions = [revision for revision in film.feedback if revision.text == clean_note(note)]
    assert len(revisions) == 1, f"the note was applied {len(revisions)} times: {film.feedback}"
    assert revisions[0].remade == [shot.id]
    assert film.shot(shot.id).take.content_hash != before.shot(shot.id).take.content_hash
    reshot = {shot_id for review in film.review_rounds[len(before.review_rounds) :] for shot_id in review.flagged}
    for other in before.shots():
        if other.id != shot.id and other.id not in reshot:
            assert film.shot(other.id).take.content_hash == other.take.content_hash, f"{other.id} was remade"
    assert (project / "cut" / "film.mp4").stat().st_mtime_ns != cut_stamp, "the film was not recut"
    assert probe_video(project / "cut" / "film.mp4").codec == "h264"
    assert not (project / "note.json").exists(), "the pending note outlived the run that applied it"
