"""Damaged takes and a full disk: noticed, the take rendered again or the run stopped where it resumes.

Real graph, Chroma, animatic renders and ffmpeg with the scripted fake crew; the full disk is a real tmpfs
mounted over the project's take store, then grown, as a person freeing space would.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
from fake_crew import PREMISE, crew

from agents.project import Project
from agents.run import new_run, run_film
from agents.state import Feedback, Film
from agents.takes import cached_take, take_problem
from tools.edit.probe import probe_video
from tools.files import DiskFullError, sha256_of
from tools.render.animatic.clip import write_clip
from tools.settings import Settings


def settings_for(tmp_path: Path, **render: object) -> Settings:
    return Settings(projects_dir=tmp_path / "projects", target_seconds=12, render=render)


def read_film(project: Project) -> Film:
    return Film.model_validate_json(project.film_file.read_text())


class Events:
    def __init__(self) -> None:
        self.seen: list[dict] = []

    def __call__(self, event: dict) -> None:
        self.seen.append(event)

    def rendered(self) -> list[str]:
        done = (e for e in self.seen if e.get("stage") == "render" and e["status"] == "done")
        return [e["shot"] for e in done if not e["cache_hit"]]


def test_a_take_damaged_after_the_render_is_noticed_and_rendered_again_before_the_cut(tmp_path, make_context):
    settings = settings_for(tmp_path)
    project = new_run(settings, premise=PREMISE)
    context = make_context(crew(), project, settings)
    assert run_film(settings, project, context=context).finished

    film = read_film(project)
    damaged, noted = film.shots()[1], film.shots()[-1]
    take = damaged.take
    clip = project.root / take.clip
    assert take.checksums[take.clip] == sha256_of(clip)
    original = clip.read_bytes()
    middle = len(original) // 2
    clip.write_bytes(original[:middle] + bytes(64) + original[middle + 64 :])
    assert "damaged" in take_problem(project.root, take)
    assert cached_take(project, take.content_hash) is None

    events = Events()
    outcome = run_film(
        settings, project, events, context=context, feedback=Feedback(text="closer on her hands", shot=noted.id)
    )

    assert outcome.finished, outcome.log
    assert sorted(events.rendered()) == sorted({damaged.id, noted.id}), outcome.log
    assert clip.read_bytes() == original, "the take rendered again is the take that was damaged"
    after = read_film(project)
    assert after.shot(damaged.id).take.content_hash == take.content_hash
    assert any(f"{damaged.id} take {take.clip} is damaged" in line for line in outcome.log)
    assert probe_video(project.root / "cut" / "film.mp4").duration >= 10


def test_a_missing_or_emptied_take_file_is_not_reused(tmp_path, make_context):
    settings = settings_for(tmp_path)
    project = new_run(settings, premise=PREMISE)
    assert run_film(settings, project, context=make_context(crew(), project, settings)).finished
    first, second = (shot.take for shot in read_film(project).shots()[:2])
    assert cached_take(project, first.content_hash) is not None
    (project.root / first.keyframe).write_bytes(b"")
    (project.root / second.clip).unlink()
    assert "missing or empty" in take_problem(project.root, first)
    assert "missing or empty" in take_problem(project.root, second)
    assert cached_take(project, first.content_hash) is None and cached_take(project, second.content_hash) is None


@pytest.fixture
def small_disk(tmp_path: Path):
    """Mount a real 200 KB tmpfs (less than a 12 s film's takes) at a folder; `grow()` makes it 64 MB, keeps its files.

    Mounting needs root, as `make test` has on the project's machines and CI; elsewhere the test fails saying so.
    """
    mounts: list[Path] = []

    def mount(folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        mounted = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=200k", "tmpfs", str(folder)], capture_output=True, text=True
        )
        assert mounted.returncode == 0, f"mounting a small tmpfs to fill needs root: {mounted.stderr.strip()}"
        mounts.append(folder)

    def grow() -> None:
        for folder in mounts:
            subprocess.run(["mount", "-o", "remount,size=64m", str(folder)], check=True)

    mount.grow = grow  # type: ignore[attr-defined]
    yield mount
    for folder in mounts:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def test_a_full_disk_stops_the_run_with_a_clear_error_and_it_resumes_once_there_is_room(
    tmp_path, make_context, small_disk
):
    settings = settings_for(tmp_path, max_parallel=1)
    project = new_run(settings, premise=PREMISE)
    small_disk(project.takes_dir)
    context = make_context(crew(), project, settings)

    with pytest.raises(DiskFullError, match=r"the disk holding .* is full \(.* MB free\): free some space"):
        run_film(settings, project, context=context)

    finished = {}
    for record in project.takes_dir.glob("*/*/take.json"):
        take = json.loads(record.read_text())
        for path in (take["keyframe"], take["clip"]):
            assert (project.root / path).stat().st_size > 0
        finished[take["shot_id"]] = (take["content_hash"], (project.root / take["clip"]).stat().st_mtime_ns)
    assert finished, "the first take fits on the small disk"
    leftovers = [folder for folder in project.takes_dir.glob("*/*") if not (folder / "take.json").exists()]
    assert not leftovers, f"a half-made take was left behind: {leftovers}"
    if project.film_file.exists():
        read_film(project)

    small_disk.grow()
    events = Events()
    outcome = run_film(settings, project, events, context=context)

    assert outcome.finished
    assert not set(events.rendered()) & set(finished), "a take finished before the disk filled was rendered again"
    film = read_film(project)
    for shot_id, (content_hash, mtime) in finished.items():
        assert film.shot(shot_id).take.content_hash == content_hash
        assert (project.root / film.shot(shot_id).take.clip).stat().st_mtime_ns == mtime
    assert all(shot.take is not None for shot in film.shots())
    assert probe_video(project.root / "cut" / "film.mp4").duration >= 10


def test_a_clip_that_does_not_fit_is_a_full_disk_never_a_file_that_only_looks_finished(tmp_path, small_disk):
    """ffmpeg failing to write its trailer exits non-zero and says so; that must stop the take, not pass."""
    folder = tmp_path / "take"
    small_disk(folder)
    noise = np.random.default_rng(0).integers(0, 256, size=(24, 180, 320, 3), dtype=np.uint8)

    with pytest.raises(DiskFullError, match=r"the disk holding .* is full"):
        write_clip(iter(noise), folder / "clip.mp4", (320, 180), 24)

    assert list(folder.iterdir()) == [], "a half-written clip was left behind"


def test_a_full_disk_a_backend_wrapped_in_its_own_error_is_still_a_full_disk(tmp_path) -> None:
    import errno

    from tools.files import disk_full
    from tools.render.base import BackendError

    try:
        try:
            raise OSError(errno.ENOSPC, "No space left on device")
        except OSError as error:
            raise BackendError("shot s01-01: cannot write keyframe") from error
    except BackendError as wrapped:
        assert isinstance(disk_full(wrapped, tmp_path), DiskFullError)
    assert disk_full(BackendError("shot s01-01: the model refused"), tmp_path) is None
