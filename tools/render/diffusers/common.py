"""What the diffusers image and video backends share: device and dtype, loading, placement, and batching.

Torch and diffusers are imported here and in the two backends only, so choosing another backend never pays
for them.
"""

from __future__ import annotations

import inspect
import json
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

import diffusers
import torch
from diffusers import DiffusionPipeline
from PIL import Image, ImageOps

from tools.render.base import BackendError
from tools.render.hub import download_hint, is_local_folder, locate_model
from tools.render.prompt_budget import CLIP_PROMPT_TOKENS
from tools.settings import DiffusersSettings

T = TypeVar("T")
R = TypeVar("R")

DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


def pick_device(setting: str) -> str:
    """The torch device for `setting`: auto picks CUDA, then Apple's MPS, then the CPU.

    Raises:
        BackendError: the named device is not available in this torch build.
    """
    cuda = torch.cuda.is_available()
    mps = torch.backends.mps.is_available()
    if setting == "auto":
        return "cuda" if cuda else "mps" if mps else "cpu"
    if (setting == "cuda" and not cuda) or (setting == "mps" and not mps):
        raise BackendError(
            f"diffusers device {setting!r} is not available to this torch ({torch.__version__}): "
            "set DIRECTOR_RENDER__DIFFUSERS__DEVICE to auto or cpu, or install a torch build for that device"
        )
    return setting


def pick_dtype(setting: str, device: str) -> torch.dtype:
    """The weights' dtype; auto is bfloat16 on CUDA (float16 without bfloat16), float16 on MPS, float32 on the CPU.

    Half precision on the CPU is slow or unsupported, so the CPU never gets it unless asked.
    """
    if setting != "auto":
        return DTYPES[setting]
    if device == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.float16 if device == "mps" else torch.float32


def generator_for(device: str, seed: int) -> torch.Generator:
    """A generator seeded for one take; on MPS it lives on the CPU, where diffusers draws MPS noise."""
    return torch.Generator("cpu" if device == "mps" else device).manual_seed(seed)


def dtype_keyword() -> str:
    """The `from_pretrained` keyword for the dtype: `dtype` since diffusers renamed `torch_dtype`."""
    from diffusers.utils import deprecation_utils

    return "dtype" if hasattr(deprecation_utils, "_resolve_dtype") else "torch_dtype"


def load_pipeline(
    loader: Callable[..., DiffusionPipeline], model_id: str, options: DiffusersSettings, *, role: str
) -> DiffusionPipeline:
    """Load `model_id` with `loader` (a `from_pretrained`) and place it as `options` ask.

    Raises:
        BackendError: the model cannot be found or loaded, or the placement options do not suit it.
    """
    source = locate_model(model_id, offline=options.offline, role=role)
    device = pick_device(options.device)
    dtype = pick_dtype(options.dtype, device)
    try:
        pipe = loader(source.model_id, **{dtype_keyword(): dtype}, local_files_only=source.local_files_only)
    except Exception as error:  # noqa: BLE001 - loaders raise anything from OSError to ImportError
        if source.where == "folder":
            what = "check that the folder holds a diffusers pipeline (model_index.json, saved with save_pretrained)"
        else:
            what = f"the copy may be incomplete or need another package; {download_hint(model_id)}"
        raise BackendError(
            f"{role} model {model_id!r} could not be loaded ({type(error).__name__}: {error}); {what}"
        ) from error
    place_pipeline(pipe, options, device, model_id=model_id)
    return pipe


def place_pipeline(pipe: DiffusionPipeline, options: DiffusersSettings, device: str, *, model_id: str) -> None:
    """Move `pipe` to `device` or set up CPU offload, and apply VAE tiling and the attention backend.

    Raises:
        BackendError: offload without an accelerator, or tiling or an attention backend the model lacks.
    """
    if options.vae_tiling:
        enable_vae_tiling(pipe, model_id)
    if options.attention_backend:
        set_attention_backend(pipe, options.attention_backend, model_id)
    if options.offload == "none":
        pipe.to(device)
    elif device == "cpu":
        raise BackendError(
            f"CPU offload ({options.offload!r}) of {model_id!r} needs a GPU, but the device is the CPU: "
            "set DIRECTOR_RENDER__DIFFUSERS__OFFLOAD to none"
        )
    elif options.offload == "model":
        pipe.enable_model_cpu_offload(device=device)
    else:
        pipe.enable_sequential_cpu_offload(device=device)
    pipe.set_progress_bar_config(disable=True)


def enable_vae_tiling(pipe: DiffusionPipeline, model_id: str) -> None:
    vae = getattr(pipe, "vae", None)
    try:
        if vae is not None and hasattr(vae, "enable_tiling"):
            vae.enable_tiling()
            return
        if hasattr(pipe, "enable_vae_tiling"):
            pipe.enable_vae_tiling()
            return
    except NotImplementedError:
        pass
    raise BackendError(
        f"the VAE of {model_id!r} ({type(vae).__name__}) cannot decode in tiles: "
        "set DIRECTOR_RENDER__DIFFUSERS__VAE_TILING to false"
    )


def set_attention_backend(pipe: DiffusionPipeline, backend: str, model_id: str) -> None:
    """Route the denoiser's attention through diffusers' `backend` ('flash', '_native_cudnn', ...).

    Only models built on diffusers' attention dispatcher take a backend (FLUX, Wan, LTX and other
    transformers); the UNets of SD 1.5 and SDXL do not, and asking for one there is an error, not a no-op.
    """
    denoiser = getattr(pipe, "transformer", None) or getattr(pipe, "unet", None)
    processors = getattr(denoiser, "attn_processors", {}) if denoiser is not None else {}
    if not any(hasattr(processor, "_attention_backend") for processor in processors.values()):
        raise BackendError(
            f"the denoiser of {model_id!r} ({type(denoiser).__name__}) does not take an attention backend: "
            "clear DIRECTOR_RENDER__DIFFUSERS__ATTENTION_BACKEND"
        )
    try:
        denoiser.set_attention_backend(backend)
    except (ValueError, RuntimeError, ImportError) as error:
        raise BackendError(
            f"attention backend {backend!r} cannot be used for {model_id!r}: {error}; "
            "clear DIRECTOR_RENDER__DIFFUSERS__ATTENTION_BACKEND to use PyTorch's own attention"
        ) from error


def accepted(function: Callable[..., Any], arguments: dict[str, Any]) -> dict[str, Any]:
    """The `arguments` that `function` names as parameters.

    Families differ (FLUX and SVD take no negative prompt, SD's image-to-image no size), and what would land
    in a catch-all `**kwargs` is ignored by most pipelines, so it is left out.
    """
    parameters = inspect.signature(function).parameters
    return {name: value for name, value in arguments.items() if name in parameters}


def call_default(pipe: Any, name: str) -> Any:
    """The default of `pipe.__call__`'s parameter `name`, or None when it has none."""
    parameter = inspect.signature(pipe.__call__).parameters.get(name)
    return None if parameter is None or parameter.default is inspect.Parameter.empty else parameter.default


UNSET_LENGTH = 1_000_000
"""transformers gives a tokenizer with no length of its own a `model_max_length` of 1e30."""


def prompt_tokens_read(model_id: str, pipe: DiffusionPipeline | None = None) -> int | None:
    """The prompt tokens `model_id`'s text encoders read, less start and end: a backend's `max_prompt_tokens`.

    The encoder that reads most carries the prompt: SD and SDXL read CLIP's 77 tokens; FLUX, SD3, PixArt,
    LTX-Video and Wan read a T5 up to their pipeline's `max_sequence_length` (their CLIP, where they have
    one, adds a summary). Read from `pipe` when it is loaded, else from the model's `model_index.json` and
    tokenizer configs on disk, loading nothing. None for a pipeline that reads no prompt (image-to-video SVD);
    CLIP's 75 when the files are not here yet (the model is still on the hub): the least any of them reads.
    """
    if pipe is not None:
        lengths = [
            component.model_max_length
            for name, component in pipe.components.items()
            if name.startswith("tokenizer") and component is not None
        ]
        return _tokens_read(lengths, call_default(pipe, "max_sequence_length"))
    index = _model_json(model_id, "model_index.json")
    if index is None:
        return CLIP_PROMPT_TOKENS
    lengths = []
    for name, kind in index.items():
        if name.startswith("tokenizer") and isinstance(kind, list) and kind[-1]:
            config = _model_json(model_id, f"{name}/tokenizer_config.json") or {}
            lengths.append(int(config.get("model_max_length", UNSET_LENGTH)))
    pipeline_class = getattr(diffusers, str(index.get("_class_name", "")), None)
    return _tokens_read(lengths, call_default(pipeline_class, "max_sequence_length") if pipeline_class else None)


def _tokens_read(lengths: list[int], max_sequence_length: int | None) -> int | None:
    if max_sequence_length:
        return max_sequence_length - 2
    known = [length for length in lengths if length < UNSET_LENGTH]
    if not lengths:
        return None
    return max(known) - 2 if known else CLIP_PROMPT_TOKENS


def _model_json(model_id: str, filename: str) -> dict[str, Any] | None:
    """A JSON file of a model folder, or of a hub model in the local cache; None when it is not on this machine."""
    if is_local_folder(model_id):
        path: Path | None = Path(model_id).expanduser() / filename
    else:
        from huggingface_hub import try_to_load_from_cache

        try:
            found = try_to_load_from_cache(model_id, filename)
        except ValueError:
            return None
        path = Path(found) if isinstance(found, str) else None
    try:
        return json.loads(path.read_text()) if path is not None else None
    except (OSError, ValueError):
        return None


def snap(value: int, multiple: int) -> int:
    """`value` rounded to the nearest multiple of `multiple`, and at least `multiple`."""
    return max(multiple, round(value / multiple) * multiple)


def fit(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """`image` centre-cropped to the aspect of `size` and resized to it exactly."""
    if image.size == size:
        return image
    return ImageOps.fit(image.convert("RGB"), size, method=Image.Resampling.LANCZOS, centering=(0.5, 0.5))


@dataclass
class _Ticket(Generic[T, R]):
    item: T
    deadline: float
    leads: bool = False
    done: bool = False
    result: R | None = None
    error: BaseException | None = None


@dataclass
class MicroBatcher(Generic[T, R]):
    """Gathers concurrent calls that share a key into one batch and runs it with `run`.

    The first caller of a key leads: it waits up to `wait` seconds (and for as long as a batch is running)
    for others to join, up to `max_size` in all, runs the batch on its own thread and hands every caller its
    own result. No thread of its own, so nothing to start or stop.
    """

    run: Callable[[list[T]], list[R]]
    max_size: int
    wait: float
    _changed: threading.Condition = field(default_factory=threading.Condition, init=False, repr=False)
    _queues: dict[Hashable, list[_Ticket[T, R]]] = field(default_factory=dict, init=False, repr=False)
    _running: int = field(default=0, init=False, repr=False)

    def submit(self, key: Hashable, item: T) -> R:
        """Run `item` in a batch of items with the same `key`; returns its result or raises the batch's error."""
        ticket: _Ticket[T, R] = _Ticket(item, deadline=time.monotonic() + self.wait)
        with self._changed:
            queue = self._queues.setdefault(key, [])
            queue.append(ticket)
            ticket.leads = len(queue) == 1
            self._changed.notify_all()
            while not (ticket.leads or ticket.done):
                self._changed.wait()
            if not ticket.done:
                batch = self._gather(key, queue, ticket.deadline)
        if not ticket.done:
            self._run_batch(batch)
        if ticket.error is not None:
            raise ticket.error
        return ticket.result  # type: ignore[return-value]

    def _gather(self, key: Hashable, queue: list[_Ticket[T, R]], deadline: float) -> list[_Ticket[T, R]]:
        """Wait for the batch to fill, take it, and hand the lead to whoever is left (with the lock held)."""
        while len(queue) < self.max_size:
            left = deadline - time.monotonic()
            if left <= 0 and not self._running:
                break
            self._changed.wait(left if left > 0 else None)
        batch = queue[: self.max_size]
        del queue[: self.max_size]
        if queue:
            queue[0].leads = True
        else:
            del self._queues[key]
        self._running += 1
        self._changed.notify_all()
        return batch

    def _run_batch(self, batch: list[_Ticket[T, R]]) -> None:
        try:
            results = self.run([ticket.item for ticket in batch])
            for ticket, result in zip(batch, results, strict=True):
                ticket.result = result
        except BaseException as error:  # noqa: BLE001 - every caller in the batch gets the batch's error
            for ticket in batch:
                ticket.error = error
        with self._changed:
            self._running -= 1
            for ticket in batch:
                ticket.done = True
            self._changed.notify_all()
