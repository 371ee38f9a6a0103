"""The diffusers image backend: keyframes from any text-to-image pipeline on the hub or in a folder.

SD 1.5, SDXL, SD-Turbo, FLUX and the rest load through `AutoPipelineForText2Image`. Render threads call
`generate` at once; calls that would make the same pipeline call (size, steps, guidance, reference, reshoot)
are gathered into one batch with a generator per shot, so a take's pixels depend on its seed, not on which
shots it happened to share a batch with. A character's reference picture steers the shot through an
IP-Adapter when one is configured; a reshoot starts from the previous take through image-to-image.
Reference-conditioned families (Qwen-Image-Edit, FLUX.2 klein: `reference_edit.py`) are drawn from the
pictures themselves, found from the model's `model_index.json`.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from diffusers import AutoPipelineForImage2Image, AutoPipelineForText2Image, DiffusionPipeline
from PIL import Image

from tools.files import atomic_path
from tools.render.base import BackendError, ImageResult
from tools.render.diffusers.common import (
    MicroBatcher,
    accepted,
    fit,
    generator_for,
    load_pipeline,
    pick_device,
    prompt_tokens_read,
    snap,
)
from tools.render.diffusers.reference_edit import (
    ReferenceFamily,
    call_arguments,
    load_reference_pipeline,
    neutral_canvas,
    reference_family,
)
from tools.render.hub import download_hint, hub_offline, is_local_folder, locate_model
from tools.render.spec import ShotSpec
from tools.settings import DiffusersSettings, Settings

SIZE_MULTIPLE_FLOOR = 8
"""Every diffusers image pipeline takes sizes in steps of 8 at least (SD checks it); latent packing needs more."""


@dataclass(frozen=True)
class CallShape:
    """What must be equal for shots to share one pipeline call; prompts and seeds may differ."""

    width: int
    height: int
    steps: int | None
    guidance_scale: float | None
    reference: str
    """The IP-Adapter picture, shared by the whole call; empty: none."""
    init_strength: float | None
    """How far a reshoot moves from its starting picture; None: not a reshoot."""
    pictures: tuple[str, ...] = ()
    """A reference-conditioned family's pictures (last take, cast, place), shared by the whole call."""
    reference_weight: float | None = None
    """The IP-Adapter scale the shot asks for (the critic raises it for a face off-model); None: the setting's."""


@dataclass(frozen=True)
class PreparedShot:
    """A shot with its pictures read and its call shape worked out, ready to join a batch."""

    spec: ShotSpec
    out: Path
    shape: CallShape
    reference: Image.Image | None
    init_image: Image.Image | None
    pictures: tuple[Image.Image, ...] = ()


class DiffusersImageBackend:
    """Keyframes from a diffusers text-to-image pipeline, loaded once and shared by every render thread.

    Attributes:
        pipeline_calls: pipeline calls made so far; with batching, fewer than the keyframes made.
        batch_sizes: the number of shots in each of those calls, in order.
    """

    name: ClassVar[str] = "diffusers"
    supports_reference_image: ClassVar[bool] = True

    def __init__(
        self, model_id: str, options: DiffusersSettings | None = None, *, pipeline: DiffusionPipeline | None = None
    ) -> None:
        """Use `model_id` (hub id or folder), loaded on the first shot, or `pipeline` when one is given."""
        self.model_id = model_id
        self.options = options or DiffusersSettings()
        self.pipeline_calls = 0
        self.batch_sizes: list[int] = []
        self._pipe = pipeline
        self._img2img: DiffusionPipeline | None = None
        self._adapter_loaded = False
        self._device = pick_device(self.options.device)
        self.family: ReferenceFamily | None = reference_family(model_id, pipeline)
        """A reference-conditioned family (Qwen-Image-Edit, FLUX.2 klein), or None for text-to-image models."""
        self._lock = threading.RLock()
        """Held while the pipeline loads or runs: one call at a time, whatever the thread."""
        self._batcher: MicroBatcher[PreparedShot, ImageResult] = MicroBatcher(
            self._run, max_size=self._max_batch(), wait=self.options.batch_wait
        )
        if pipeline is not None:
            pipeline.set_progress_bar_config(disable=True)

    @classmethod
    def from_settings(cls, settings: Settings) -> DiffusersImageBackend:
        """The backend for `render.image_model`; a model that cannot be found fails here, before any shot.

        Raises:
            BackendError: no image model is set, or it is neither a folder nor reachable (cache or hub).
        """
        render = settings.render
        locate_model(render.image_model, offline=render.diffusers.offline, role="image")
        return cls(render.image_model, render.diffusers)

    @property
    def model(self) -> str:
        if self.options.ip_adapter:
            return f"{self.model_id} + IP-Adapter {self.options.ip_adapter}"
        return self.model_id

    @property
    def parameters(self) -> dict[str, str | int | float | bool]:
        """The settings that change the pixels: steps, guidance, precision and the adapter's weights and scale."""
        fields = ("steps", "guidance_scale", "dtype", "ip_adapter", "ip_adapter_weight_name", "ip_adapter_scale")
        values = self.options.model_dump(include=set(fields))
        return {key: value for key, value in values.items() if value not in (None, "")}

    @property
    def max_prompt_tokens(self) -> int | None:
        """What the model's text encoders read (CLIP's 75 for SD and SDXL), known without loading its weights."""
        return prompt_tokens_read(self.model_id, self._pipe)

    @property
    def follows_reference_weight(self) -> bool:
        """Whether a shot's `reference_weight` changes its picture: an IP-Adapter is configured for this model."""
        return bool(self.options.ip_adapter) and self.family is None

    @property
    def ip_adapter_loaded(self) -> bool:
        """True once a shot with a reference picture has loaded the configured IP-Adapter."""
        return self._adapter_loaded

    @property
    def pipeline(self) -> DiffusionPipeline:
        """The text-to-image pipeline, loaded on first use."""
        if self._pipe is not None:
            return self._pipe  # no lock: a thread preparing its shot must not wait for a running batch
        with self._lock:
            if self._pipe is None:
                if self.family is not None:
                    self._pipe = load_reference_pipeline(self.model_id, self.options, self.family)
                else:
                    self._pipe = load_pipeline(
                        AutoPipelineForText2Image.from_pretrained, self.model_id, self.options, role="image"
                    )
            return self._pipe

    def generate(self, spec: ShotSpec, out: Path) -> ImageResult:
        """Render `spec`'s keyframe, exactly `spec.width` x `spec.height`, to the PNG file `out`.

        Waits up to `batch_wait` seconds for other threads' shots of the same call shape and runs them together.

        Raises:
            BackendError: the model cannot be loaded, a picture cannot be read, or the pipeline failed.
        """
        shot = self._prepare(spec, Path(out))
        return self._batcher.submit(shot.shape, shot)

    def generate_batch(self, specs: list[ShotSpec], outs: list[Path]) -> list[ImageResult]:
        """Render several keyframes now, one pipeline call per call shape and `batch_size` shots.

        Raises:
            BackendError: as `generate`; a failed call fails the whole list.
        """
        if len(specs) != len(outs):
            raise ValueError(f"{len(specs)} specs but {len(outs)} output paths")
        shots = [self._prepare(spec, Path(out)) for spec, out in zip(specs, outs, strict=True)]
        groups: dict[CallShape, list[int]] = {}
        for index, shot in enumerate(shots):
            groups.setdefault(shot.shape, []).append(index)
        results: list[ImageResult | None] = [None] * len(shots)
        size = self._max_batch()
        for indices in groups.values():
            for start in range(0, len(indices), size):
                chunk = indices[start : start + size]
                for index, result in zip(chunk, self._run([shots[i] for i in chunk]), strict=True):
                    results[index] = result
        return [result for result in results if result is not None]

    def _max_batch(self) -> int:
        return min(self.options.batch_size, self.family.max_batch) if self.family else self.options.batch_size

    def _prepare(self, spec: ShotSpec, out: Path) -> PreparedShot:
        pipe = self.pipeline
        multiple = max(SIZE_MULTIPLE_FLOOR, 2 * int(getattr(pipe, "vae_scale_factor", 8)))
        width, height = snap(spec.width, multiple), snap(spec.height, multiple)
        if self.family is not None:
            return self._prepare_from_pictures(self.family, spec, out, (width, height))
        reference_path = self._reference_of(spec)
        reference = _read_picture(reference_path, spec, "reference picture") if reference_path else None
        init_image = None
        if spec.init_image:
            init_image = fit(_read_picture(spec.init_image, spec, "reshoot's starting picture"), (width, height))
        shape = CallShape(
            width=width,
            height=height,
            steps=self.options.steps,
            guidance_scale=self.options.guidance_scale,
            reference=reference_path,
            init_strength=spec.init_strength if spec.init_image else None,
            reference_weight=spec.reference_weight if reference_path else None,
        )
        return PreparedShot(spec=spec, out=out, shape=shape, reference=reference, init_image=init_image)

    def _prepare_from_pictures(
        self, family: ReferenceFamily, spec: ShotSpec, out: Path, size: tuple[int, int]
    ) -> PreparedShot:
        """A shot for a reference-conditioned family: its pictures read, or the plain canvas the family needs."""
        paths = family.pictures_of(spec)
        pictures = tuple(_read_picture(path, spec, "reference picture") for path in paths)
        if not pictures and family.needs_picture:
            pictures = (neutral_canvas(spec, size),)
            paths = (f"canvas {size[0]}x{size[1]} {' '.join(spec.palette)}",)
        shape = CallShape(
            width=size[0],
            height=size[1],
            steps=self.options.steps,
            guidance_scale=self.options.guidance_scale,
            reference="",
            init_strength=None,
            pictures=paths,
        )
        return PreparedShot(spec=spec, out=out, shape=shape, reference=None, init_image=None, pictures=pictures)

    def _reference_of(self, spec: ShotSpec) -> str:
        """The picture the IP-Adapter sees: the first cast member's first reference, else the place's.

        Empty when no adapter is configured: references then only guide the prompt the writer made.
        """
        if not self.options.ip_adapter or not spec.reference_images:
            return ""
        return spec.reference_images[0]

    def _run(self, shots: list[PreparedShot]) -> list[ImageResult]:
        """One pipeline call for `shots`, which share a call shape; then each keyframe written to its file."""
        shape = shots[0].shape
        ids = ", ".join(shot.spec.shot_id for shot in shots)
        with self._lock:
            pipe = self.pipeline
            arguments: dict[str, Any] = {
                "prompt": [shot.spec.prompt for shot in shots],
                "generator": [generator_for(self._device, shot.spec.seed) for shot in shots],
                "width": shape.width,
                "height": shape.height,
                "output_type": "pil",
            }
            if any(shot.spec.negative_prompt for shot in shots):
                arguments["negative_prompt"] = [shot.spec.negative_prompt for shot in shots]
            if shape.steps is not None:
                arguments["num_inference_steps"] = shape.steps
            if shape.guidance_scale is not None:
                arguments["guidance_scale"] = shape.guidance_scale
            if self.family is not None:
                # The family words the prompt, passes the pictures and routes guidance to its own argument.
                for key in ("prompt", "negative_prompt", "guidance_scale"):
                    arguments.pop(key, None)
                specs = [shot.spec for shot in shots]
                arguments |= call_arguments(self.family, specs, list(shots[0].pictures), self.options)
            if shape.reference:
                self._load_ip_adapter(pipe, ids)
            if self._adapter_loaded:
                # Once loaded the adapter is part of the UNet and wants a picture every call: shots without
                # one get a black picture at scale 0, which leaves them as they would be without the adapter.
                reference = shots[0].reference or Image.new("RGB", (224, 224))
                scale = shape.reference_weight if shape.reference_weight is not None else self.options.ip_adapter_scale
                pipe.set_ip_adapter_scale(scale if shape.reference else 0.0)
                arguments["ip_adapter_image"] = reference
            target = pipe
            if shape.init_strength is not None:
                target = self._image_to_image(pipe, ids)
                arguments["image"] = [shot.init_image for shot in shots]
                arguments["strength"] = shape.init_strength
                if shape.steps is not None:
                    # Image-to-image runs steps x strength steps; a turbo model's 2 steps at 0.4 would be none.
                    arguments["num_inference_steps"] = max(shape.steps, math.ceil(1 / shape.init_strength))
            try:
                images = target(**accepted(target.__call__, arguments)).images
            except Exception as error:  # noqa: BLE001 - any pipeline failure fails these shots, not the run
                raise BackendError(
                    f"shots {ids}: {type(target).__name__} of {self.model_id!r} failed "
                    f"({type(error).__name__}: {error}); try a smaller size or batch_size, or check the model"
                ) from error
            self.pipeline_calls += 1
            self.batch_sizes.append(len(shots))
        return [self._save(shot, image) for shot, image in zip(shots, images, strict=True)]

    def _save(self, shot: PreparedShot, image: Image.Image) -> ImageResult:
        spec = shot.spec
        picture = fit(image.convert("RGB"), (spec.width, spec.height))
        try:
            with atomic_path(shot.out) as temp:
                picture.save(temp, format="PNG")
        except OSError as error:
            raise BackendError(f"shot {spec.shot_id}: cannot write the keyframe to {shot.out}: {error}") from error
        model = self.model_id
        if shot.shape.reference:
            model += f" + IP-Adapter {self.options.ip_adapter}"
        return ImageResult(path=shot.out, width=spec.width, height=spec.height, backend=self.name, model=model)

    def _load_ip_adapter(self, pipe: DiffusionPipeline, ids: str) -> None:
        """Load the configured IP-Adapter into `pipe`, once (with the lock held)."""
        if self._adapter_loaded:
            return
        options = self.options
        if not hasattr(pipe, "load_ip_adapter"):
            raise BackendError(
                f"shots {ids}: {type(pipe).__name__} ({self.model_id!r}) cannot take an IP-Adapter: clear "
                "DIRECTOR_RENDER__DIFFUSERS__IP_ADAPTER, or use a model family that has one (SD 1.5, SDXL, FLUX)"
            )
        if not options.ip_adapter_weight_name:
            raise BackendError(
                f"IP-Adapter {options.ip_adapter!r} needs its weights file named: set "
                "DIRECTOR_RENDER__DIFFUSERS__IP_ADAPTER_WEIGHT_NAME (e.g. ip-adapter_sd15.safetensors)"
            )
        encoder = options.ip_adapter_image_encoder or "image_encoder"
        arguments: dict[str, Any] = {
            "subfolder": options.ip_adapter_subfolder,
            "weight_name": options.ip_adapter_weight_name,
            # SD and SDXL name the encoder's folder in the adapter's; FLUX takes a model id or folder for it.
            "image_encoder_folder": encoder,
            "image_encoder_pretrained_model_name_or_path": encoder,
            "image_encoder_dtype": pipe.dtype,
        }
        local_only = is_local_folder(options.ip_adapter) or hub_offline(options.offline)
        try:
            pipe.load_ip_adapter(
                options.ip_adapter, **accepted(pipe.load_ip_adapter, arguments), local_files_only=local_only
            )
        except Exception as error:  # noqa: BLE001 - loaders raise anything from OSError to KeyError
            raise BackendError(
                f"shots {ids}: IP-Adapter {options.ip_adapter!r} (weights {options.ip_adapter_weight_name!r}, "
                f"subfolder {options.ip_adapter_subfolder!r}, image encoder {encoder!r}) could not be loaded into "
                f"{self.model_id!r} ({type(error).__name__}: {error}); check that it is made for this model family, "
                f"or {download_hint(options.ip_adapter)}"
            ) from error
        self._adapter_loaded = True
        self._img2img = None

    def _image_to_image(self, pipe: DiffusionPipeline, ids: str) -> DiffusionPipeline:
        """The image-to-image pipeline on the same weights (with the lock held); nothing is loaded twice."""
        if self._img2img is None:
            try:
                self._img2img = AutoPipelineForImage2Image.from_pipe(pipe)
            except (ValueError, TypeError) as error:
                raise BackendError(
                    f"shots {ids}: {type(pipe).__name__} ({self.model_id!r}) has no image-to-image variant for a "
                    f"reshoot ({error}); reshoot from the prompt alone (no init image) or use another model"
                ) from error
            self._img2img.set_progress_bar_config(disable=True)
        return self._img2img


def _read_picture(path: str, spec: ShotSpec, what: str) -> Image.Image:
    try:
        with Image.open(path) as opened:
            return opened.convert("RGB")
    except (OSError, ValueError) as error:
        raise BackendError(
            f"shot {spec.shot_id}: cannot read the {what} {path}: {error}; check the file or remove it from the shot"
        ) from error
