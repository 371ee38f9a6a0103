"""The current video families as presets (LTX-2, Wan 2.2 TI2V 5B, HunyuanVideo 1.5), on tiny random-weight pipelines.

Each family's tiny pipeline (`tiny_video_pipelines`) is loaded the way a user's model is: as a folder, and by the
preset's own hub id from a Hugging Face cache with the hub off. Then it films a two-shot screenplay on the CPU
through the whole crew, with espeak voices: one shot without a line, one with. LTX-2 makes sound with its
picture, which the shot without a line plays, quietly, in the cut; the other families leave that shot silent.
"""

from __future__ import annotations

import json
import shutil
import wave
from pathlib import Path

import huggingface_hub
import pytest
from audio import SILENCE_DB, level_db, read_audio
from fake_crew import crew
from tiny_video_pipelines import build_tiny_video_model
from typer.testing import CliRunner

from agents.editor import cut_plan
from agents.models_report import models_report
from agents.run import new_run, run_film
from tools.edit.probe import probe_video
from tools.render.diffusers.video import DiffusersVideoBackend, family_of
from tools.render.hub import locate_model
from tools.render.preset_catalogue import PRESETS
from tools.render.presets import licence_of
from tools.settings import DiffusersSettings, RenderSettings, Settings
from ui.cli import app

pytestmark = [pytest.mark.diffusers, pytest.mark.slow]

FAMILY_PRESETS = ("ltx-2", "wan2.2-ti2v-5b", "hunyuan-video-1.5")
LICENCES = {
    "ltx-2": "LTX-2 Community License",
    "wan2.2-ti2v-5b": "apache-2.0",
    "hunyuan-video-1.5": "Tencent Hunyuan Community License",
}
SCRIPT = """Title: The Late Boat

EXT. HARBOUR WALL - NIGHT

Waves slap the stones. A lamp swings on its post.

MARGIT (a woman in her 60s, yellow oilskin coat, silver braid) coils a rope.

MARGIT
The last boat is late tonight.
"""
AUDIBLE_DB = -50.0
"""Well above the silence of a shot with no sound (`SILENCE_DB`), well below a spoken line."""


@pytest.fixture(scope="module")
def video_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tiny-video-models")
    return {preset: build_tiny_video_model(preset, root) for preset in FAMILY_PRESETS}


def place_in_cache(cache: Path, repo_id: str, folder: Path) -> None:
    """`folder` as the Hugging Face cache holds a downloaded `repo_id`: a snapshot and `refs/main` naming it."""
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    shutil.copytree(folder, repo / "snapshots" / "0123abcd")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0123abcd")


@pytest.fixture(scope="module")
def hub_cache(tmp_path_factory: pytest.TempPathFactory, video_models: dict[str, Path]):
    """Every tiny pipeline under its preset's real hub id, in a cache this module reads with the hub off."""
    cache = tmp_path_factory.mktemp("hf-cache")
    for preset, folder in video_models.items():
        place_in_cache(cache, PRESETS[preset].render["video_model"], folder)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(cache))
        patch.setenv("HF_HUB_OFFLINE", "1")
        yield cache


@pytest.mark.parametrize("preset", FAMILY_PRESETS)
def test_the_preset_loads_its_model_by_hub_id_offline_and_from_a_folder(preset, video_models, hub_cache) -> None:
    chosen = PRESETS[preset]
    cpu = DiffusersSettings(device="cpu")
    assert locate_model(chosen.render["video_model"], offline=True, role="video").where == "cache"
    by_id = DiffusersVideoBackend.from_settings(Settings(render=RenderSettings(preset=preset, diffusers=cpu)))
    assert by_id.model == chosen.render["video_model"]
    by_folder = DiffusersVideoBackend.from_settings(
        Settings(render=RenderSettings(preset=preset, video_model=str(video_models[preset]), diffusers=cpu))
    )
    for backend in (by_id, by_folder):
        pipe = backend.pipeline
        assert type(pipe).__name__ == chosen.diffusers["video_pipeline"]
        family = family_of(pipe)
        assert family.image_to_video and family.fps == chosen.diffusers["video_fps"] == chosen.render["fps"]
        assert family.makes_sound == (preset == "ltx-2")
    assert licence_of("diffusers", chosen.render["video_model"]).find(LICENCES[preset]) >= 0


def film_settings(tmp_path: Path, preset: str, image_model: Path, video_model: Path) -> Settings:
    """The preset with the tiny models and a small, short, low-rate film: what a CPU renders in seconds."""
    diffusers = DiffusersSettings(
        device="cpu", video_steps=2, video_guidance_scale=1.0, video_frames=9, video_width=128, video_height=64
    )
    render = RenderSettings(
        preset=preset,
        image_model=str(image_model),
        video_model=str(video_model),
        width=128,
        fps=8,
        max_parallel=2,
        diffusers=diffusers,
    )
    lines_only = {"music": False, "ambience": False}  # the clip's own sound is heard alone: no score, no beds
    return Settings(
        projects_dir=tmp_path / "projects", target_seconds=6, max_review_rounds=1, render=render, sound=lines_only
    )


@pytest.mark.parametrize("preset", FAMILY_PRESETS)
def test_each_family_films_a_screenplay_on_the_cpu(preset, video_models, tiny, tmp_path, make_context) -> None:
    settings = film_settings(tmp_path, preset, tiny.sd, video_models[preset])
    project = new_run(settings, screenplay=SCRIPT)
    outcome = run_film(settings, project, context=make_context(crew(), project, settings))
    assert outcome.finished, outcome.log
    root, shots = project.root, outcome.film.shots()
    assert all(shot.take is not None and shot.take.models["video"] == str(video_models[preset]) for shot in shots)
    for shot in shots:
        clip = probe_video(root / shot.take.clip)
        assert (clip.width, clip.height, clip.fps) == (128, 72, 8)
        assert clip.num_frames == shot.take.parameters["num_frames"] == round(shot.take.duration * 8)

    silent = [shot for shot in shots if shot.dialogue is None]
    spoken = [shot for shot in shots if shot.dialogue is not None]
    assert silent and spoken, [shot.id for shot in shots]
    plan = {item.shot_id: item for item in cut_plan(outcome.film, root).items}
    timeline = {entry["shot_id"]: entry for entry in json.loads((root / outcome.cut.timeline).read_text())}
    sound = read_audio(root / outcome.cut.video)
    quiet = silent[0]
    start, end = timeline[quiet.id]["start"], timeline[quiet.id]["end"]
    if quiet.take.ambience:
        with wave.open(str(root / quiet.take.ambience), "rb") as ambience:
            end = min(end, start + ambience.getnframes() / ambience.getframerate())
    level = level_db(sound, start + 0.02, end - 0.02)
    if preset == "ltx-2":
        assert all(shot.take.ambience and shot.take.ambience in shot.take.checksums for shot in shots)
        assert plan[quiet.id].ambience == root / quiet.take.ambience and plan[quiet.id].audio is None
        assert all(plan[shot.id].ambience is None and plan[shot.id].audio is not None for shot in spoken)
        assert level > AUDIBLE_DB, "the clip's own sound plays under the shot without a line"
        assert not timeline[quiet.id].get("audio"), "a clip's sound is not a spoken line on the timeline"
    else:
        assert not any(shot.take.ambience for shot in shots)
        assert level < SILENCE_DB, "a family without sound leaves a shot without a line silent"


def test_director_models_lists_the_video_presets_with_their_licences(monkeypatch) -> None:
    report = {row.name: row for row in models_report(Settings()).presets}
    for preset, licence in LICENCES.items():
        model = PRESETS[preset].render["video_model"]
        assert licence in report[preset].licences[model]
        assert report[preset].licences[PRESETS[preset].render["image_model"]].startswith("other (Stability AI")
    monkeypatch.setenv("COLUMNS", "320")
    result = CliRunner().invoke(app, ["models"])
    assert result.exit_code == 0, result.output
    rows: dict[str, list[list[str]]] = {}
    row: list[list[str]] = []
    for line in (line for line in result.output.splitlines() if line.count("│") >= 6):
        cells = [cell.strip() for cell in line.split("│")[1:-1]]
        if cells[0] in PRESETS:
            row = rows.setdefault(cells[0], [])
        row.append(cells)
    for preset, licence in LICENCES.items():
        video = [cells for cells in rows[preset] if cells[1].startswith(PRESETS[preset].render["video_model"])]
        assert video and licence in video[0][2], rows[preset]
