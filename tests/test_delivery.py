"""Delivery on the example film: timelines editors open (OTIO, EDL, FCP XML) and a printable storyboard.

The Last Ferry is filmed once with real Chroma, the animatic, eSpeak NG and ffmpeg (a scripted fake LLM fills
the looks a screenplay leaves open); every delivery file is then read back and checked against the cut.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
from pathlib import Path

import opentimelineio as otio
import pytest
from fake_crew import crew
from typer.testing import CliRunner

from agents.run import new_run, run_film
from tools.edit.cut import TimelineEntry
from tools.settings import Settings
from ui.cli import app

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "the_last_ferry.fountain"
CROSSFADE = 0.5


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory, minilm):
    from agents.run import open_context

    settings = Settings(projects_dir=tmp_path_factory.mktemp("delivery") / "projects", max_review_rounds=1)
    project = new_run(settings, screenplay=EXAMPLE.read_text(encoding="utf-8"))
    with open_context(settings, project, llm=crew(), embedding_function=minilm) as context:
        outcome = run_film(settings, project, context=context)
    assert outcome.finished and outcome.cut is not None
    entries = [TimelineEntry.model_validate(e) for e in json.loads((project.root / outcome.cut.timeline).read_text())]
    return settings, project, outcome, entries


def read_back(path: Path, rate: int) -> otio.schema.Timeline:
    """An EDL does not say its rate, so its reader is told; OTIO and FCP XML carry theirs."""
    return otio.adapters.read_from_file(str(path), **({"rate": rate} if path.suffix == ".edl" else {}))


@pytest.mark.parametrize("kind", ["otio", "xml", "edl"])
def test_every_timeline_reads_back_with_the_cuts_shots_in_and_out_points_and_length(example, kind):
    _, project, outcome, entries = example
    cut = outcome.cut
    rate = cut.edit_rate if kind != "otio" else outcome.film.style.fps
    timeline = read_back(project.root / getattr(cut, kind), rate)
    video = timeline.video_tracks()[0] if timeline.video_tracks() else timeline.tracks[0]
    clips = list(video.find_clips())
    assert [clip.name for clip in clips] == cut.shot_ids == [entry.shot_id for entry in entries]
    fps = float(rate)
    offset = -video.source_range.start_time.value if video.source_range else 0
    for clip, entry in zip(clips, entries, strict=True):
        span = clip.range_in_parent()
        start = (span.start_time.value + offset) / fps
        end = (span.end_time_exclusive().value + offset) / fps
        assert abs(start - entry.start) <= CROSSFADE + 1e-6 and abs(end - entry.end) <= CROSSFADE + 1e-6, clip.name
    last_end = max((c.range_in_parent().end_time_exclusive().value + offset) / fps for c in clips)
    assert last_end == pytest.approx(cut.duration, abs=1 / fps)
    if kind != "edl":
        names = [marker.name for clip in clips for marker in clip.markers]
        assert sum(name.startswith("Scene") for name in names) == len(outcome.film.scenes)
        spoken = [shot.dialogue.text for shot in outcome.film.shots() if shot.dialogue]
        assert all(any(text in name for name in names) for text in spoken)


def test_the_storyboard_prints_one_panel_per_shot(example, tmp_path):
    settings, project, outcome, _ = example
    result = CliRunner().invoke(app, ["storyboard", project.film_id, "--projects-dir", str(settings.projects_dir)])
    assert result.exit_code == 0, result.output
    pdf = project.root / "storyboard" / "storyboard.pdf"
    assert (project.root / "storyboard" / "storyboard.html").is_file()
    for tool in ("pdftoppm", "pdftotext"):
        assert shutil.which(tool), f"{tool} is missing: install Debian's poppler-utils (make test does)"
    subprocess.run(["pdftoppm", "-r", "30", "-png", str(pdf), str(tmp_path / "page")], check=True)
    shots = outcome.film.shots()
    assert len(list(tmp_path.glob("page-*.png"))) == math.ceil(len(shots) / 6)
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    for scene in outcome.film.scenes:
        for shot in scene.shots:
            assert f"SC {scene.number} · SH {shot.order}" in text and shot.id in text
