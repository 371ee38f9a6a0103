"""The named render presets, as plain data: which backends and models a film uses, with parameters that suit them.

Diffusers presets render four shots at once (`max_parallel`), so the image backend can batch them.
A preset only fills in what the settings leave unset, so `DIRECTOR_RENDER__PRESET=sdxl-turbo` together
with `DIRECTOR_RENDER__DIFFUSERS__STEPS=2` uses the preset with two steps. Settings read this module, so it
imports nothing from tools.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


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
            name="qwen-image-edit",
            summary="Qwen-Image-Edit-2511 keyframes edited from each character's reference pictures, "
            "animated as camera moves",
            needs="a GPU with 80 GB (or 48 GB with offload=model)",
            render={
                "image_backend": "diffusers",
                "image_model": "Qwen/Qwen-Image-Edit-2511",
                "width": 1024,
                "max_parallel": 2,
            },
            diffusers={"steps": 40, "guidance_scale": 4.0, "dtype": "auto", "batch_size": 1},
        ),
        Preset(
            name="flux2-klein",
            summary="FLUX.2 klein 4B keyframes in four steps, drawn from the characters' reference pictures, "
            "animated as camera moves",
            needs="a GPU with 24 GB (or 12 GB with offload=model)",
            render={
                "image_backend": "diffusers",
                "image_model": "black-forest-labs/FLUX.2-klein-4B",
                "width": 1024,
                "max_parallel": 4,
            },
            diffusers={"steps": 4, "guidance_scale": 1.0, "dtype": "auto", "batch_size": 4},
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
            name="ltx-2",
            summary="SDXL-Turbo keyframes brought to life by LTX-2 image-to-video, with its own sound as ambience",
            needs="a GPU with 80 GB, or 32 GB with offload=model",
            render={
                "image_backend": "diffusers",
                "image_model": _SDXL_TURBO,
                "video_backend": "diffusers",
                "video_model": "Lightricks/LTX-2",
                "width": 768,
                "fps": 24,
                "max_parallel": 4,
            },
            diffusers={
                "steps": 1,
                "guidance_scale": 0.0,
                "video_pipeline": "LTX2ImageToVideoPipeline",
                "video_steps": 40,
                "video_guidance_scale": 4.0,
                "video_frames": 121,
                "video_fps": 24,
                "video_width": 768,
                "video_height": 512,
            },
        ),
        Preset(
            name="wan2.2-ti2v-5b",
            summary="SDXL-Turbo keyframes brought to life by Wan 2.2 TI2V 5B image-to-video (720p)",
            needs="a GPU with 24 GB (with offload=model); 80 GB without",
            render={
                "image_backend": "diffusers",
                "image_model": _SDXL_TURBO,
                "video_backend": "diffusers",
                "video_model": "Wan-AI/Wan2.2-TI2V-5B-Diffusers",
                "width": 1280,
                "fps": 24,
                "max_parallel": 4,
            },
            diffusers={
                "steps": 1,
                "guidance_scale": 0.0,
                "video_pipeline": "WanImageToVideoPipeline",
                "video_steps": 50,
                "video_guidance_scale": 5.0,
                "video_frames": 121,
                "video_fps": 24,
                "video_width": 1280,
                "video_height": 704,
            },
        ),
        Preset(
            name="hunyuan-video-1.5",
            summary="SDXL-Turbo keyframes brought to life by HunyuanVideo 1.5 image-to-video (480p)",
            needs="a GPU with 24 GB with offload=model and vae_tiling; 80 GB without",
            render={
                "image_backend": "diffusers",
                "image_model": _SDXL_TURBO,
                "video_backend": "diffusers",
                "video_model": "hunyuanvideo-community/HunyuanVideo-1.5-Diffusers-480p_i2v",
                "width": 848,
                "fps": 24,
                "max_parallel": 4,
            },
            diffusers={
                "steps": 1,
                "guidance_scale": 0.0,
                "video_pipeline": "HunyuanVideo15ImageToVideoPipeline",
                "video_steps": 50,
                "video_frames": 121,
                "video_fps": 24,
                "video_width": 848,
                "video_height": 480,
            },
        ),
        Preset(
            name="openai",
            summary="gpt-image-1 keyframes animated as camera moves, and OpenAI voices (OpenAI retired its Sora "
            "video API on 2026-09-24: for generated motion use ltx-2 or wan2.2-ti2v-5b on a GPU)",
            needs="OPENAI_API_KEY (or DIRECTOR_RENDER__OPENAI__API_KEY)",
            render={
                "image_backend": "openai",
                "video_backend": "animatic",
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
