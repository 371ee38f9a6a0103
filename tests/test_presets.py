"""Render presets: what they fill in, what they leave to explicit settings, and `director models`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from tools.render.base import BackendError
from tools.render.hub import locate_model
from tools.render.preset_catalogue import PRESETS
from tools.render.presets import preset_status
from tools.settings import DiffusersSettings, RenderSettings
from ui.cli import app, settings_for

DIRECTOR = Path(sys.executable).with_name("director")


def fake_cached_model(cache: Path, repo_id: str) -> None:
    """The Hugging Face cache layout for a model: a snapshot holding model_index.json, and refs/main."""
    folder = cache / f"models--{repo_id.replace('/', '--')}"
    snapshot = folder / "snapshots" / "0123abcd"
    snapshot.mkdir(parents=True)
    (snapshot / "model_index.json").write_text(json.dumps({"_class_name": "StableDiffusionPipeline"}))
    (folder / "refs").mkdir()
    (folder / "refs" / "main").write_text("0123abcd")


def test_every_issue_preset_exists_and_names_its_models():
    assert set(PRESETS) == {
        "sd-turbo", "sdxl-turbo", "flux-schnell", "qwen-image-edit", "flux2-klein", "ltx-video", "wan-i2v",
        "ltx-2", "wan2.2-ti2v-5b", "hunyuan-video-1.5", "openai",
    }  # fmt: skip
    assert PRESETS["ltx-video"].models == ["stabilityai/sdxl-turbo", "Lightricks/LTX-Video"]
    assert PRESETS["ltx-2"].models == ["stabilityai/sdxl-turbo", "Lightricks/LTX-2"]
    assert PRESETS["qwen-image-edit"].models == ["Qwen/Qwen-Image-Edit-2511"]
    assert PRESETS["openai"].models == []
    assert PRESETS["openai"].render["video_backend"] == "animatic", "Sora's hosted API is retired"


def test_a_preset_fills_what_is_not_set_and_explicit_settings_win():
    render = RenderSettings(preset="ltx-video", fps=12, diffusers=DiffusersSettings(video_steps=8))
    assert (render.image_backend, render.video_backend) == ("diffusers", "diffusers")
    assert render.video_model == "Lightricks/LTX-Video" and render.diffusers.video_pipeline == "LTXImageToVideoPipeline"
    assert render.fps == 12 and render.diffusers.video_steps == 8
    assert render.diffusers.video_frames == 97 and render.width == 768


def test_a_preset_from_the_environment_yields_to_the_command_line(monkeypatch):
    monkeypatch.setenv("DIRECTOR_RENDER__PRESET", "sdxl-turbo")
    monkeypatch.setenv("DIRECTOR_RENDER__DIFFUSERS__STEPS", "3")
    from_env = settings_for(None)
    assert from_env.render.image_model == "stabilityai/sdxl-turbo" and from_env.render.diffusers.steps == 3
    chosen = settings_for(None, preset="flux-schnell", width=512)
    assert chosen.render.image_model == "black-forest-labs/FLUX.1-schnell"
    assert chosen.render.width == 512 and chosen.render.diffusers.steps == 3


def test_unknown_presets_and_frames_too_small_are_refused_with_the_way_out():
    with pytest.raises(ValidationError, match="no render preset 'sd-3'.*sd-turbo"):
        RenderSettings(preset="sd-3")
    with pytest.raises(ValidationError, match="at least 114"):
        RenderSettings(width=100)


def test_models_are_found_in_folders_and_the_cache_and_refused_offline(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert locate_model(str(tmp_path), offline=True, role="image").where == "folder"
    with pytest.raises(BackendError, match=r"'stabilityai/sd-turbo' is not in the local .*hf download"):
        locate_model("stabilityai/sd-turbo", offline=False, role="image")
    with pytest.raises(BackendError, match="neither a folder"):
        locate_model(str(tmp_path / "gone"), offline=True, role="image")
    with pytest.raises(BackendError, match="DIRECTOR_RENDER__VIDEO_MODEL"):
        locate_model("", offline=True, role="video")


def test_director_models_tells_which_presets_are_here(tmp_path):
    cache = tmp_path / "hub"
    fake_cached_model(cache, "stabilityai/sd-turbo")
    env = {**os.environ, "HF_HUB_CACHE": str(cache), "HF_HUB_OFFLINE": "1", "COLUMNS": "200"}
    env.pop("OPENAI_API_KEY", None)
    done = subprocess.run([str(DIRECTOR), "models"], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    rows = {line.split("│")[1].strip(): line for line in done.stdout.splitlines() if line.count("│") >= 4}
    assert "stabilityai/sd-turbo (cached)" in rows["sd-turbo"] and "ready" in rows["sd-turbo"]
    assert "stabilityai/sdxl-turbo (missing)" in rows["sdxl-turbo"] and "missing" in rows["sdxl-turbo"]
    assert "OpenAI API (no api key)" in rows["openai"]
    assert "hf download" in done.stdout + done.stderr


def test_preset_status_counts_an_api_key_as_present(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    assert preset_status(PRESETS["openai"]).ready


def test_make_with_a_model_that_is_not_here_fails_before_creating_a_run(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    projects = tmp_path / "projects"
    result = CliRunner().invoke(
        app, ["make", "A keeper and a dog wait out the storm", "--preset", "sd-turbo", "--projects-dir", str(projects)]
    )
    assert result.exit_code == 2
    assert "stabilityai/sd-turbo" in result.output and "hf download" in result.output
    assert not projects.exists()
