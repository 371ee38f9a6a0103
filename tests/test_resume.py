"""Crash and resume, end to end: the real bundled model, real Chroma, real ffmpeg, a real `kill -9`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agents.state import Film
from tools.probe import probe_video

PREMISE = "A lighthouse keeper and a stray dog wait out the last storm"
DIRECTOR = str(Path(sys.executable).parent / "director")

pytestmark = [pytest.mark.llm, pytest.mark.slow]


def wait_for_takes(projects: Path, process: subprocess.Popen, timeout: float = 600) -> list[Path]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        takes = list(projects.glob("*/takes/*/*/take.json"))
        if takes:
            return takes
        if process.poll() is not None:
            raise AssertionError(f"director ended before rendering: {process.stderr.read()[-2000:]}")
        time.sleep(0.02)
    raise AssertionError("no take was rendered in time")


def test_a_run_killed_mid_render_resumes_without_rendering_anything_twice(tmp_path):
    projects = tmp_path / "projects"
    env = {**os.environ, "DIRECTOR_PROJECTS_DIR": str(projects), "HF_HUB_OFFLINE": "1"}
    maker = subprocess.Popen(
        [DIRECTOR, "make", PREMISE], cwd=tmp_path, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        wait_for_takes(projects, maker)
    finally:
        maker.send_signal(signal.SIGKILL)
        maker.communicate()
    assert maker.returncode == -signal.SIGKILL

    (project,) = projects.iterdir()
    finished = {}
    for record in project.glob("takes/*/*/take.json"):
        take = json.loads(record.read_text())
        clip = project / take["clip"]
        finished[take["shot_id"]] = (take["content_hash"], clip.stat().st_mtime_ns)
    assert finished
    assert not (project / "cut" / "film.mp4").exists()

    resumed = subprocess.run(
        [DIRECTOR, "resume", project.name], cwd=tmp_path, env=env, text=True, capture_output=True, timeout=900
    )
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "Resuming" in resumed.stderr

    film = Film.model_validate_json((project / "film.json").read_text())
    for shot_id, (content_hash, mtime) in finished.items():
        shot = film.shot(shot_id)
        first_take = shot.takes[0]
        assert first_take.content_hash == content_hash, f"{shot_id} was rendered again after the crash"
        assert (project / first_take.clip).stat().st_mtime_ns == mtime
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
    again = subprocess.run(
        [DIRECTOR, "resume", project.name], cwd=tmp_path, env=env, text=True, capture_output=True, timeout=300
    )
    assert again.returncode == 0
    assert (project / "cut" / "film.mp4").stat().st_mtime_ns == cut_stamp, "a finished run was cut again"
