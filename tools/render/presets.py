"""Named render presets: which backends and models a film uses, with parameters known to suit them.

Diffusers presets render four shots at once (`max_parallel`), so the image backend can batch them.
A preset only fills in what the settings leave unset, so `DIRECTOR_RENDER__PRESET=sdxl-turbo` together
with `DIRECTOR_RENDER__DIFFUSERS__STEPS=2` uses the preset with two steps.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from tools.render.hub import cached_file, download_hint, is_local_folder

if TYPE_CHECKING:
    from tools.settings import RenderSettings


class Preset(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    summary: str
    needs: str = Field(description="What the machine needs to run it well.")
    render: dict[str, Any] = Field(default_factory=dict, description="RenderSettings fields.")
    diffusers: dict[str, Any] = Field(default_factory=dict, description="DiffusersSettings fields.")

    @property
    def models(self) -> list[str]:
        """The hub ids the preset loads, image model first."""
        return [self.render[key] for key in ("image_model", "video_model") if self.render.get(key)]


_SDXL_TURBO = "stabilityai/sdxl-turbo"

PRESETS: dict[str, Preset] = {
    preset.name: preset
    for preset in (
        Preset(
            name="sd-turbo",
            summary="SD-Turbo keyframes in one step, animated as camera moves",
            needs="a GPU with 4 GB, or a patient CPU",
            render={
                "image_backend": "diffusers",
                "image_model": "stabilityai/sd-turbo",
                "width": 768,
                "max_parallel": 4,
            },
            diffusers={"steps": 1, "guidance_scale": 0.0},
        ),
        Preset(
            name="sdxl-turbo",
            summary="SDXL-Turbo keyframes in one step, animated as camera moves",
            needs="a GPU with 8 GB",
            render={"image_backend": "diffusers", "image_model": _SDXL_TURBO, "width": 768, "max_parallel": 4},
            diffusers={"steps": 1, "guidance_scale": 0.0},
        ),
        Preset(
            name="flux-schnell",
            summary="FLUX.1-schnell keyframes in four steps, animated as camera moves",
            needs="a GPU with 24 GB (or 12 GB with offload=model)",
            render={
                "image_backend": "diffusers",
                "image_model": "black-forest-labs/FLUX.1-schnell",
                "width": 1024,
                "max_parallel": 2,
            },
            diffusers={"steps": 4, "guidance_scale": 0.0, "dtype": "auto", "batch_size": 2},
        ),
        Preset(
            name="ltx-video",
            summary="SDXL-Turbo keyframes brought to life by LTX-Video image-to-video",
            needs="a GPU with 24 GB",
            render={
                "image_backend": "diffusers",
                "image_model": _SDXL_TURBO,
                "video_backend": "diffusers",
                "video_model": "Lightricks/LTX-Video",
                "width": 768,
                "fps": 24,
                "max_parallel": 4,
            },
            diffusers={
                "steps": 1,
                "guidance_scale": 0.0,
                "video_pipeline": "LTXImageToVideoPipeline",
                "video_steps": 40,
                "video_guidance_scale": 3.0,
                "video_frames": 97,
                "video_fps": 24,
                "video_width": 704,
                "video_height": 480,
            },
        ),
        Preset(
            name="wan-i2v",
            summary="SDXL-Turbo keyframes brought to life by Wan 2.1 image-to-video (480p)",
            needs="a GPU with 80 GB, or 24 GB with offload=model",
            render={
                "image_backend": "diffusers",
                "image_model": _SDXL_TURBO,
                "video_backend": "diffusers",
                "video_model": "Wan-AI/Wan2.1-I2V-14B-480P-Diffusers",
                "width": 832,
                "fps": 16,
                "max_parallel": 4,
            },
            diffusers={
                "steps": 1,
                "guidance_scale": 0.0,
                "video_pipeline": "WanImageToVideoPipeline",
                "video_steps": 40,
                "video_guidance_scale": 5.0,
                "video_frames": 81,
                "video_fps": 16,
                "video_width": 832,
                "video_height": 480,
            },
        ),
        Preset(
            name="openai",
            summary="gpt-image-1 keyframes, Sora 2 clips and OpenAI voices",
            needs="OPENAI_API_KEY (or DIRECTOR_RENDER__OPENAI__API_KEY)",
            render={
                "image_backend": "openai",
                "video_backend": "openai",
                "speech_backend": "openai",
                "width": 1280,
                "fps": 24,
                "max_parallel": 4,
            },
        ),
    )
}


def preset_named(name: str) -> Preset:
    """The preset called `name`.

    Raises:
        ValueError: no preset has that name; the message lists them.
    """
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"no render preset {name!r}; choose one of: {', '.join(PRESETS)}") from None


def preset_updates(render: RenderSettings) -> tuple[dict[str, Any], dict[str, Any]]:
    """The preset's values for the render and diffusers fields that `render` does not set explicitly.

    Raises:
        ValueError: the preset is unknown.
    """
    preset = preset_named(render.preset)
    top = {key: value for key, value in preset.render.items() if key not in render.model_fields_set}
    inner = {key: value for key, value in preset.diffusers.items() if key not in render.diffusers.model_fields_set}
    return top, inner


ModelState = Literal["cached", "folder", "missing", "api key set", "no api key"]


class PresetStatus(BaseModel):
    name: str
    summary: str
    needs: str
    models: dict[str, ModelState]

    @property
    def ready(self) -> bool:
        return all(state in ("cached", "folder", "api key set") for state in self.models.values())


def model_state(model_id: str) -> ModelState:
    if is_local_folder(model_id):
        return "folder"
    return "cached" if cached_file(model_id) is not None else "missing"


def preset_status(preset: Preset, render: RenderSettings | None = None) -> PresetStatus:
    """Which of the preset's models this machine has: in a folder, in the Hugging Face cache, or missing."""
    models: dict[str, ModelState] = {model_id: model_state(model_id) for model_id in preset.models}
    if "openai" in (preset.render.get(key) for key in ("image_backend", "video_backend", "speech_backend")):
        key_set = bool(os.environ.get("OPENAI_API_KEY")) or bool(render and render.openai.api_key)
        models["OpenAI API"] = "api key set" if key_set else "no api key"
    return PresetStatus(name=preset.name, summary=preset.summary, needs=preset.needs, models=models)


def how_to_get(model_id: str) -> str:
    return download_hint(model_id)


LICENCES: dict[str, str] = {
    "stabilityai/sd-turbo": "other (Stability AI Community License)",
    "stabilityai/sdxl-turbo": "other (Stability AI Community License)",
    "black-forest-labs/FLUX.1-schnell": "apache-2.0",
    "Lightricks/LTX-Video": "other (LTX-Video Open Weights License)",
    "Wan-AI/Wan2.1-I2V-14B-480P-Diffusers": "apache-2.0",
    "smollm2-135m-instruct": "apache-2.0",
    "qwen2.5-coder-1.5b-instruct": "apache-2.0",
    "all-MiniLM-L6-v2": "apache-2.0",
    "animatic-1": "Apache-2.0 (Director's own procedural renderer)",
    "espeak-ng": "GPL-3.0-or-later",
}
"""Licence identifiers as the model cards publish them (Hugging Face's `license:` field)."""
OPENAI_TERMS = "proprietary (OpenAI Services Agreement; outputs owned by the user)"


def licence_of(backend: str, model: str) -> str:
    """The model's licence as published: known models, a local folder's model card, or 'unknown'."""
    if backend == "openai":
        return OPENAI_TERMS
    name = model.split(" + ")[0].strip()
    for known, licence in LICENCES.items():
        if name == known or name.startswith(known):
            return licence
    card = Path(name).expanduser() / "README.md"
    if is_local_folder(name) and card.is_file():
        match = re.search(r"^license:\s*(\S.*)$", card.read_text(encoding="utf-8", errors="replace"), re.MULTILINE)
        if match:
            return match.group(1).strip()
    return "unknown: see the model card"
