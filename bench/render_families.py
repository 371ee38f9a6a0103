"""The current model families in `bench/render.py`: one shot through Director's backend against the raw diffusers call.

Video families (LTX-2, Wan 2.2 TI2V 5B, HunyuanVideo 1.5) time `DiffusersVideoBackend.animate` against the
pipeline called directly with the same size, frames, steps and guidance, its frames written with the same
encoder: the difference is Director's per-shot overhead (keyframe framing, the frame-rate map, resizing,
LTX-2's conditioning compression and its sound written beside the clip).

`--arch tiny` builds each family's tiny random-weight pipeline (`tests/tiny_video_pipelines.py`): it runs on
a CPU in seconds and checks the code path, not the speed. `--arch full` times the real model: the preset's hub
id from the local Hugging Face cache, or a folder or id given with `--family-model NAME=MODEL`; a family whose
model is not on the machine is reported as skipped with how to get it (nothing is downloaded). Use `--width 768
--height 512` for the per-shot seconds the presets are compared at.

The reference-conditioned image families (`qwen-image-edit`, `flux2-klein`) are timed keyframe against keyframe
in `bench/render_image_families.py`; `family_model` and `bench_family` hand them on to it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from render_image_families import IMAGE_FAMILIES, bench_image_family, image_family_model

from tools.render.animatic.clip import write_clip
from tools.render.base import BackendError
from tools.render.diffusers.common import accepted, fit, generator_for, pick_device
from tools.render.diffusers.video import DiffusersVideoBackend, family_of
from tools.render.hub import download_hint, locate_model
from tools.render.preset_catalogue import PRESETS
from tools.render.spec import ShotSpec
from tools.settings import DiffusersSettings


@dataclass(frozen=True)
class FamilyBench:
    """A family as the benchmark builds or finds it: the preset it stands for and its tiny builder, if any."""

    preset: str
    tiny: Callable[[Path], Path]


def _tiny(preset: str) -> Callable[[Path], Path]:
    def build(root: Path) -> Path:
        from tiny_video_pipelines import build_tiny_video_model

        return build_tiny_video_model(preset, root)

    return build


VIDEO_FAMILIES: dict[str, FamilyBench] = {
    name: FamilyBench(preset=name, tiny=_tiny(name)) for name in ("ltx-2", "wan2.2-ti2v-5b", "hunyuan-video-1.5")
}


def family_model(name: str, arch: str, root: Path, given: dict[str, str]) -> tuple[str, str]:
    """The model (folder or hub id) to time for family `name`, or '' and why it is skipped."""
    if name in IMAGE_FAMILIES:
        return image_family_model(name, arch, root, given)
    family = VIDEO_FAMILIES.get(name)
    if family is None:
        return "", f"no family {name!r}; choose from {', '.join([*VIDEO_FAMILIES, *IMAGE_FAMILIES])}"
    if name in given:
        return given[name], ""
    if arch == "tiny":
        return str(family.tiny(root)), ""
    preset = PRESETS.get(family.preset)
    if preset is None or not preset.render.get("video_model"):
        return "", f"no video preset {family.preset!r} to take the model from"
    model = preset.render["video_model"]
    try:
        locate_model(model, offline=True, role="video")
    except BackendError:
        return "", f"{model} is not on this machine: {download_hint(model)}"
    return model, ""


def family_options(name: str, base: DiffusersSettings) -> DiffusersSettings:
    """The benchmark's settings (device, steps, frames) with the preset's pipeline class for `name`."""
    preset = PRESETS[VIDEO_FAMILIES[name].preset]
    return base.model_copy(update={"video_pipeline": preset.diffusers.get("video_pipeline", "")})


def direct_arguments(pipe: Any, image: Image.Image, spec: ShotSpec, call: Any, options: DiffusersSettings) -> dict:
    """The call a person would write from the model card: the keyframe, the prompt, the size, frames and steps."""
    device = pick_device(options.device)
    arguments: dict[str, Any] = {
        "image": image,
        "prompt": spec.prompt,
        "negative_prompt": spec.negative_prompt,
        "width": call.width,
        "height": call.height,
        "num_frames": call.num_frames,
        "frame_rate": float(call.fps),
        "num_inference_steps": options.video_steps,
        "guidance_scale": options.video_guidance_scale,
        "image_crf": 0,
        "generator": generator_for(device, spec.seed),
        "output_type": "np",
    }
    return accepted(pipe.__call__, {key: value for key, value in arguments.items() if value is not None})


def bench_family(
    name: str, model: str, spec: ShotSpec, base: DiffusersSettings, work: Path, repeats: int, median_pair: Callable
) -> tuple[str, str, float, float, str]:
    """One shot of family `name` through Director and directly: (backend, work, through s, direct s, throughput)."""
    if name in IMAGE_FAMILIES:
        return bench_image_family(name, model, spec, base, work, repeats, median_pair)
    options = family_options(name, base)
    backend = DiffusersVideoBackend(model, options)
    pipe = backend.pipeline
    call = backend.plan(spec)
    keyframe = work / f"{name}-key.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (spec.height, spec.width, 3), np.uint8)).save(keyframe)

    def direct() -> None:
        image = fit(Image.open(keyframe).convert("RGB"), (call.width, call.height))
        frames = np.asarray(pipe(**direct_arguments(pipe, image, spec, call, options)).frames[0])
        pictures = [(np.clip(frame, 0, 1) * 255).astype(np.uint8) for frame in frames]
        size = (pictures[0].shape[1], pictures[0].shape[0])
        write_clip(pictures, work / f"{name}-direct.mp4", size, call.fps)

    through, direct_s = median_pair(lambda: backend.animate(spec, keyframe, work / f"{name}.mp4"), direct, repeats)
    sound = " with sound" if family_of(pipe).makes_sound else ""
    text = f"{name}: {type(pipe).__name__}{sound}, {call.num_frames} frames at {call.width}x{call.height}"
    return "diffusers", text, through, direct_s, f"{spec.duration / through:.2f} s of video/s"
