"""The reference-conditioned image families in `bench/render.py`: one keyframe through Director against the raw call.

Qwen-Image-Edit (`QwenImageEditPlusPipeline`) and FLUX.2 [klein] (`Flux2KleinPipeline`) time
`DiffusersImageBackend.generate` against the pipeline called as its model card shows, with the same size,
steps, guidance, seed, prompt and reference picture: the shot has one cast member with a reference picture, so
the timed path is the one a film with a character sheet takes. The difference is Director's per-keyframe
overhead (reading the pictures, the call-shape batcher, the family's argument routing, the exact-size crop and
the atomic PNG write).

Steps and guidance are the preset's (`--steps` does not apply: Qwen-Image-Edit runs true CFG only above a
scale of 1, so its guidance changes the work). `--arch tiny` builds each family's tiny random-weight pipeline
(`tests/tiny_image_pipelines.py`); `--arch full` takes the preset's `image_model` from the local Hugging Face
cache, or a folder or id given with `--family-model NAME=MODEL`, and reports a family whose model is not on
the machine as skipped with how to get it (nothing is downloaded).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from tools.render.base import BackendError
from tools.render.diffusers.common import pick_device, snap
from tools.render.diffusers.images import SIZE_MULTIPLE_FLOOR, DiffusersImageBackend
from tools.render.diffusers.reference_edit import QWEN_IMAGE_EDIT, ReferenceFamily, reference_family
from tools.render.hub import download_hint, locate_model
from tools.render.preset_catalogue import PRESETS
from tools.render.spec import CastMember, ShotSpec
from tools.settings import DiffusersSettings

REFERENCE_SIDE = 96
"""The cast member's reference picture is square, this many pixels a side: above klein's 64-pixel floor."""


@dataclass(frozen=True)
class ImageFamilyBench:
    """An image family as the benchmark builds or finds it: the preset it stands for and its tiny builder."""

    preset: str
    tiny: Callable[[Path], Path]


def _tiny_qwen(root: Path) -> Path:
    from tiny_image_pipelines import build_qwen_image_edit_pipeline

    return build_qwen_image_edit_pipeline(root / "qwen-image-edit")


def _tiny_klein(root: Path) -> Path:
    from tiny_image_pipelines import build_flux2_klein_pipeline

    return build_flux2_klein_pipeline(root / "flux2-klein")


IMAGE_FAMILIES: dict[str, ImageFamilyBench] = {
    "qwen-image-edit": ImageFamilyBench(preset="qwen-image-edit", tiny=_tiny_qwen),
    "flux2-klein": ImageFamilyBench(preset="flux2-klein", tiny=_tiny_klein),
}


def image_family_model(name: str, arch: str, root: Path, given: dict[str, str]) -> tuple[str, str]:
    """The model (folder or hub id) to time for image family `name`, or '' and why it is skipped."""
    if name in given:
        return given[name], ""
    family = IMAGE_FAMILIES[name]
    if arch == "tiny":
        folder = root / name
        if (folder / "model_index.json").is_file():
            return str(folder), ""
        return str(family.tiny(root)), ""
    preset = PRESETS.get(family.preset)
    if preset is None or not preset.render.get("image_model"):
        return "", f"no image preset {family.preset!r} to take the model from"
    model = preset.render["image_model"]
    try:
        locate_model(model, offline=True, role="image")
    except BackendError:
        return "", f"{model} is not on this machine: {download_hint(model)}"
    return model, ""


def image_family_options(name: str, base: DiffusersSettings) -> DiffusersSettings:
    """The benchmark's device and precision with the preset's steps and guidance for `name`."""
    preset = PRESETS[IMAGE_FAMILIES[name].preset]
    return base.model_copy(
        update={key: preset.diffusers[key] for key in ("steps", "guidance_scale") if key in preset.diffusers}
    )


def with_reference(spec: ShotSpec, work: Path, name: str) -> ShotSpec:
    """`spec` with one cast member whose reference picture (random RGB noise, a PNG) is written under `work`."""
    picture = work / f"{name}-mara.png"
    noise = np.random.default_rng(1).integers(0, 255, (REFERENCE_SIDE, REFERENCE_SIDE, 3), np.uint8)
    Image.fromarray(noise).save(picture)
    mara = CastMember(
        id="mara", name="Mara", look="red coat, grey hair", color="#aa2233", reference_images=[str(picture)]
    )
    return spec.model_copy(update={"cast": [mara]})


def direct_arguments(
    family: ReferenceFamily, spec: ShotSpec, size: tuple[int, int], options: DiffusersSettings
) -> dict[str, Any]:
    """The model card's call, less the picture and the generator: prompt, size, steps and the family's guidance.

    The prompt is the text Director sends (its instruction naming the reference), so both encode the same tokens.
    """
    arguments: dict[str, Any] = {
        "prompt": family.instruction(spec, 1),
        "width": size[0],
        "height": size[1],
        "num_inference_steps": options.steps,
    }
    if family is QWEN_IMAGE_EDIT:
        # The Qwen-Image-Edit card: true_cfg_scale with a negative prompt (" " when there is none).
        arguments["true_cfg_scale"] = options.guidance_scale
        arguments["negative_prompt"] = spec.negative_prompt or " "
    else:
        # The FLUX.2 klein card: guidance_scale only; the pipeline takes no negative prompt.
        arguments["guidance_scale"] = options.guidance_scale
    return arguments


def bench_image_family(
    name: str, model: str, spec: ShotSpec, base: DiffusersSettings, work: Path, repeats: int, median_pair: Callable
) -> tuple[str, str, float, float, str]:
    """One keyframe of image family `name` through Director and directly: (backend, work, through s, direct s, rate)."""
    options = image_family_options(name, base)
    backend = DiffusersImageBackend(model, options)
    pipe = backend.pipeline
    family = reference_family(model, pipe)
    if family is None:
        raise BackendError(f"{model} is a {type(pipe).__name__}, not a reference-conditioned family ({name})")
    shot = with_reference(spec, work, name)
    multiple = max(SIZE_MULTIPLE_FLOOR, 2 * int(getattr(pipe, "vae_scale_factor", 8)))
    size = (snap(shot.width, multiple), snap(shot.height, multiple))
    arguments = direct_arguments(family, shot, size, options)
    device = pick_device(options.device)
    reference = shot.cast[0].reference_images[0]

    def direct() -> None:
        picture = Image.open(reference).convert("RGB")
        generator = torch.Generator(device="cpu" if device == "mps" else device).manual_seed(shot.seed)
        pipe(image=[picture], generator=generator, **arguments).images[0].save(work / f"{name}-direct.png")

    through, direct_s = median_pair(lambda: backend.generate(shot, work / f"{name}.png"), direct, repeats)
    guidance = "true CFG" if family is QWEN_IMAGE_EDIT else "guidance"
    text = (
        f"{name}: {type(pipe).__name__}, 1 reference, keyframe at {size[0]}x{size[1]}, "
        f"{options.steps} steps, {guidance} {options.guidance_scale:g}"
    )
    return "diffusers", text, through, direct_s, f"{1 / through:.2f} keyframes/s"
