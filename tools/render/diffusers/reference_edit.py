"""Reference-conditioned image families: keyframes drawn *from* a character's pictures, not only from words.

Qwen-Image-Edit (`QwenImageEditPlusPipeline`, 2509 and later) edits pictures from an instruction and takes up
to three of them; FLUX.2 [klein] (`Flux2KleinPipeline`) draws from text and takes reference pictures as an
`image` list. Both keep a person the same across shots when given their pictures, which is what a filmmaker
wants from a character sheet. The family is known from the model's `model_index.json` before any weight loads.

What a shot hands the pipeline, in order: a reshoot's last take (so a note edits the take rather than drawing
afresh), then the cast's reference pictures, then the place's, up to the family's limit.

Qwen-Image-Edit always needs a picture to edit. A shot with no reference is drawn on a plain canvas in the
setting's palette, at the shot's size: the model paints the prompt over it, so the frame's shape and colours
are the film's and nothing of another shot leaks in. Turning the first keyframe into every later shot's sheet
was rejected: it would put that shot's framing and light into shots that never asked for them.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from diffusers import DiffusionPipeline
from PIL import Image, ImageColor

from tools.render.diffusers.common import _model_json, load_pipeline
from tools.render.hub import is_local_folder
from tools.render.spec import ShotSpec
from tools.settings import DiffusersSettings

CANVAS_GREY = "#808080"


@dataclass(frozen=True)
class ReferenceFamily:
    """How one reference-conditioned pipeline class is called.

    Attributes:
        pipeline_class: The diffusers class named in `model_index.json`.
        max_references: Pictures one call takes at most.
        max_batch: Shots one call can draw (Qwen-Image-Edit-Plus refuses more than one).
        needs_picture: The pipeline cannot draw without a picture; a plain canvas stands in.
        guidance_argument: The `__call__` argument that `guidance_scale` feeds.
        min_side: The smallest side, in pixels, the pipeline accepts for a picture.
    """

    pipeline_class: str
    max_references: int
    max_batch: int
    needs_picture: bool
    guidance_argument: str
    min_side: int = 1

    def pictures_of(self, spec: ShotSpec) -> tuple[str, ...]:
        """The pictures the shot is drawn from: the last take for a reshoot, the cast's, then the place's."""
        paths = [spec.init_image] if spec.init_image else []
        paths += [path for path in spec.reference_images if path not in paths]
        return tuple(paths[: self.max_references])

    def instruction(self, spec: ShotSpec, pictures: int) -> str:
        """The prompt as the family reads it: an edit instruction naming what the pictures are for."""
        if spec.init_image:
            return f"Rework picture 1, the last take, keeping its people and place: {spec.prompt}"
        names = [member.name for member in spec.cast if member.reference_images]
        if names and pictures:
            who = ", ".join(names)
            return f"The same {who} as in the reference pictures, looking just as there, in a new shot: {spec.prompt}"
        if self.needs_picture:
            return f"Paint a new picture over this plain canvas, filling the whole frame: {spec.prompt}"
        return spec.prompt


QWEN_IMAGE_EDIT = ReferenceFamily(
    pipeline_class="QwenImageEditPlusPipeline",
    max_references=3,
    max_batch=1,
    needs_picture=True,
    guidance_argument="true_cfg_scale",
)
FLUX2_KLEIN = ReferenceFamily(
    pipeline_class="Flux2KleinPipeline",
    max_references=4,
    max_batch=4,
    needs_picture=False,
    guidance_argument="guidance_scale",
    min_side=64,
)
FAMILIES: dict[str, ReferenceFamily] = {family.pipeline_class: family for family in (QWEN_IMAGE_EDIT, FLUX2_KLEIN)}


def reference_family(model_id: str, pipe: DiffusionPipeline | None = None) -> ReferenceFamily | None:
    """The family of `pipe`, else of `model_id`'s `model_index.json` (folder or cache); None for any other model."""
    if pipe is not None:
        return FAMILIES.get(type(pipe).__name__)
    index = _model_json(model_id, "model_index.json") or {}
    return FAMILIES.get(str(index.get("_class_name", "")))


def load_reference_pipeline(model_id: str, options: DiffusersSettings, family: ReferenceFamily) -> DiffusionPipeline:
    """Load `model_id` as its own pipeline class and place it as `options` ask.

    Raises:
        tools.render.base.BackendError: the model cannot be found or loaded.
    """
    loader: Callable[..., DiffusionPipeline] = DiffusionPipeline.from_pretrained
    if family is QWEN_IMAGE_EDIT and importlib.util.find_spec("torchvision") is None:
        loader = _loader_with_pictures_only_processor
    return load_pipeline(loader, model_id, options, role="image")


def _loader_with_pictures_only_processor(model_id: str, **arguments: Any) -> DiffusionPipeline:
    """`DiffusionPipeline.from_pretrained` with Qwen's processor built from its tokenizer and picture processor.

    transformers 5 will not build a `Qwen2VLProcessor` without torchvision, only for its video half, which
    the edit pipeline never uses; the CPU install has no torchvision, so the processor is assembled here.
    """
    from huggingface_hub import snapshot_download
    from transformers import AutoImageProcessor, AutoTokenizer, Qwen2VLProcessor

    class PicturesOnlyQwen2VLProcessor(Qwen2VLProcessor):
        """A `Qwen2VLProcessor` for pictures and text, with no video processor."""

        def check_argument_for_proper_class(self, argument_name: str, argument: Any) -> Any:
            if argument_name == "video_processor" and argument is None:
                return None
            return super().check_argument_for_proper_class(argument_name, argument)

    folder = Path(model_id)
    if not is_local_folder(model_id):
        local_only = bool(arguments.get("local_files_only", False))
        folder = Path(snapshot_download(model_id, allow_patterns=["processor/*"], local_files_only=local_only))
    tokenizer = AutoTokenizer.from_pretrained(folder / "processor")
    pictures = AutoImageProcessor.from_pretrained(folder / "processor")
    processor = PicturesOnlyQwen2VLProcessor(
        image_processor=pictures, tokenizer=tokenizer, video_processor=None, chat_template=tokenizer.chat_template
    )
    return DiffusionPipeline.from_pretrained(model_id, processor=processor, **arguments)


def neutral_canvas(spec: ShotSpec, size: tuple[int, int]) -> Image.Image:
    """A plain canvas in the setting's palette: its colours as soft horizontal bands, top to bottom."""
    colours = [ImageColor.getrgb(colour) for colour in spec.palette] or [ImageColor.getrgb(CANVAS_GREY)]
    strip = Image.new("RGB", (1, len(colours)))
    strip.putdata(colours)
    return strip.resize(size, Image.Resampling.BILINEAR)


def at_least(picture: Image.Image, side: int) -> Image.Image:
    """`picture` scaled up, keeping its shape, until both sides are at least `side` pixels."""
    shortest = min(picture.size)
    if shortest >= side:
        return picture
    scale = side / shortest
    return picture.resize((round(picture.width * scale), round(picture.height * scale)), Image.Resampling.LANCZOS)


def call_arguments(
    family: ReferenceFamily,
    specs: list[ShotSpec],
    pictures: list[Image.Image],
    options: DiffusersSettings,
) -> dict[str, Any]:
    """The family's own arguments for one call: the instruction prompts, the pictures and the guidance.

    All `specs` share `pictures` (they share a call shape). Filtering by the pipeline's signature is left to
    the caller.
    """
    arguments: dict[str, Any] = {"prompt": [family.instruction(spec, len(pictures)) for spec in specs]}
    if pictures:
        arguments["image"] = [at_least(picture, family.min_side) for picture in pictures]
    if options.guidance_scale is not None:
        arguments[family.guidance_argument] = options.guidance_scale
    negatives = [spec.negative_prompt for spec in specs]
    if family is QWEN_IMAGE_EDIT:
        # True CFG runs only with a negative prompt (Qwen's examples use " "), and only above a scale of 1.
        negatives = [negative or " " for negative in negatives] if (options.guidance_scale or 0) > 1 else []
    if any(negatives):
        arguments["negative_prompt"] = negatives
    return arguments
