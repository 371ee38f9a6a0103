"""The diffusers video backend: a shot's clip from an image-to-video (or text-to-video) pipeline.

The model makes its own number of frames at its own frame rate and size (the families are in
`video_families`: LTX-Video and LTX-2 8k+1 frames at 24 fps, Wan 2.1 4k+1 at 16, Wan 2.2 TI2V and
HunyuanVideo 1.5 4k+1 at 24, CogVideoX 8k+1 at 8, Stable Video Diffusion any count at 7); those frames are then
mapped onto the shot's clock, stretched when the model cannot make the whole shot, and resized to the film's
size. Image-to-video families start from the shot's keyframe, so the clip shows what the critic approved. A
family that makes sound with its picture (LTX-2) leaves it beside the clip as `<clip>.wav` (`clip_audio`).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import diffusers
import numpy as np
from diffusers import DiffusionPipeline
from PIL import Image

from tools.render.animatic.clip import write_clip
from tools.render.animatic.drawing import OVERSCAN, keyframe_size
from tools.render.base import BackendError, ClipResult
from tools.render.diffusers.clip_audio import clip_sound, sample_rate_of, write_sound
from tools.render.diffusers.common import (
    accepted,
    fit,
    generator_for,
    load_pipeline,
    pick_device,
    prompt_tokens_read,
    snap,
)
from tools.render.diffusers.video_families import (
    FAMILIES,
    VideoFamily,
    compressed_like_training,
    family_of,
    frame_count,
    model_frame_limit,
    spatial_multiple,
)
from tools.render.hub import locate_model
from tools.render.prompt_budget import estimate_tokens
from tools.render.spec import CameraMove, ShotSpec
from tools.settings import DiffusersSettings, Settings

DECODE_CHUNK = 8
"""Frames Stable Video Diffusion decodes at once: its VAE's memory grows with the chunk."""
CAMERA_WORDS = {
    CameraMove.STATIC: "static camera",
    CameraMove.PUSH_IN: "the camera slowly pushes in",
    CameraMove.PULL_OUT: "the camera slowly pulls back",
    CameraMove.PAN: "the camera pans slowly from left to right",
    CameraMove.TILT: "the camera tilts slowly from top to bottom",
}
__all__ = ["FAMILIES", "DiffusersVideoBackend", "VideoFamily", "family_of", "frame_count", "motion_prompt", "time_map"]


def time_map(frames: np.ndarray, model_fps: float, spec: ShotSpec) -> Iterator[np.ndarray]:
    """The model's frames (float RGB in 0..1) on the shot's clock: `spec.num_frames` at `spec.fps`.

    At the model's own speed when it covers the shot; stretched evenly over the shot when it is shorter.
    In-between frames are blended from their two neighbours.
    """
    count, wanted = len(frames), spec.num_frames
    model_span = (count - 1) / model_fps
    shot_span = (wanted - 1) / spec.fps
    for index in range(wanted):
        if count == 1 or wanted == 1:
            position = 0.0
        elif model_span >= shot_span:
            position = min(index / spec.fps * model_fps, count - 1)
        else:
            position = index * (count - 1) / (wanted - 1)
        low = int(position)
        high = min(low + 1, count - 1)
        weight = position - low
        yield frames[low] * (1 - weight) + frames[high] * weight


def shot_framing(keyframe: Image.Image, spec: ShotSpec) -> Image.Image:
    """The part of the keyframe the shot frames: the centre `1 / OVERSCAN` of an animatic's overscanned one."""
    if keyframe.size == keyframe_size(spec.width, spec.height) and keyframe.size != (spec.width, spec.height):
        w, h = keyframe.size
        inner_w, inner_h = w / OVERSCAN, h / OVERSCAN
        left, top = (w - inner_w) / 2, (h - inner_h) / 2
        return keyframe.crop((round(left), round(top), round(left + inner_w), round(top + inner_h)))
    return keyframe


def motion_prompt(spec: ShotSpec) -> str:
    """The shot's prompt with its camera move spelled out, since a video model can only read the move."""
    prompt = spec.prompt.rstrip().rstrip(".")
    return f"{prompt}. {CAMERA_WORDS[spec.camera_move].capitalize()}."


def as_frames(output: Any) -> np.ndarray:
    """The first video of a pipeline output as `frames x height x width x 3` floats in 0..1."""
    video = output.frames[0]
    if isinstance(video, list) and video and isinstance(video[0], Image.Image):
        return np.stack([np.asarray(frame.convert("RGB"), np.float32) / 255 for frame in video])
    if hasattr(video, "detach"):
        video = video.detach().float().cpu().numpy()
    video = np.asarray(video, np.float32)
    if video.ndim == 4 and video.shape[-1] not in (1, 3, 4) and video.shape[1] in (1, 3, 4):
        video = video.transpose(0, 2, 3, 1)
    return video[..., :3]


@dataclass(frozen=True)
class VideoCall:
    """How the model is asked for one shot: its size, frame count and frame rate."""

    width: int
    height: int
    num_frames: int
    fps: int


class DiffusersVideoBackend:
    """Clips from a diffusers video pipeline, loaded once and run one shot at a time.

    Attributes:
        pipeline_calls: pipeline calls made so far.
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
        self._pipe = pipeline
        self._device = pick_device(self.options.device)
        self._lock = threading.RLock()
        """Held while the pipeline loads or runs: video models fill the GPU, so one shot at a time."""
        if pipeline is not None:
            pipeline.set_progress_bar_config(disable=True)

    @classmethod
    def from_settings(cls, settings: Settings) -> DiffusersVideoBackend:
        """The backend for `render.video_model`; a model that cannot be found fails here, before any shot.

        Raises:
            BackendError: no video model is set, it cannot be found, or `video_pipeline` names no pipeline.
        """
        render = settings.render
        locate_model(render.video_model, offline=render.diffusers.offline, role="video")
        backend = cls(render.video_model, render.diffusers)
        backend.pipeline_class()
        return backend

    @property
    def model(self) -> str:
        return self.model_id

    @property
    def max_prompt_tokens(self) -> int | None:
        """What the model's text encoders read, less the camera words `motion_prompt` adds; None: no prompt."""
        read = prompt_tokens_read(self.model_id, self._pipe)
        if read is None:
            return None
        return read - max(estimate_tokens(f". {words}.") for words in CAMERA_WORDS.values())

    @property
    def parameters(self) -> dict[str, str | int | float | bool]:
        """The settings that change the clip: pipeline class, steps, guidance, precision, frames, rate and size."""
        fields = (
            "dtype",
            "video_pipeline",
            "video_steps",
            "video_guidance_scale",
            "video_frames",
            "video_fps",
            "video_width",
            "video_height",
        )
        values = self.options.model_dump(include=set(fields))
        return {key: value for key, value in values.items() if value not in (None, "")}

    @property
    def pipeline(self) -> DiffusionPipeline:
        """The video pipeline, loaded on first use."""
        with self._lock:
            if self._pipe is None:
                loader = self.pipeline_class().from_pretrained
                self._pipe = load_pipeline(loader, self.model_id, self.options, role="video")
            return self._pipe

    @property
    def family(self) -> VideoFamily:
        return family_of(self.pipeline)

    def pipeline_class(self) -> type[DiffusionPipeline]:
        """The class named in `video_pipeline`, or `DiffusionPipeline` (the model's own) when none is.

        Raises:
            BackendError: the name is not a diffusers pipeline class.
        """
        name = self.options.video_pipeline
        if not name:
            return DiffusionPipeline
        found = getattr(diffusers, name, None)
        if not (isinstance(found, type) and issubclass(found, DiffusionPipeline)):
            raise BackendError(
                f"video pipeline {name!r} is not a diffusers pipeline class (diffusers {diffusers.__version__}): "
                "set DIRECTOR_RENDER__DIFFUSERS__VIDEO_PIPELINE to one such as LTXImageToVideoPipeline, "
                "WanImageToVideoPipeline or StableVideoDiffusionPipeline, or clear it to use the model's own"
            )
        return found

    def plan(self, spec: ShotSpec) -> VideoCall:
        """The model's size, frame count and frame rate for `spec`, settings first, then the family's.

        The model makes the frames that cover the shot at its own rate, but never more than `video_frames` (or,
        unset, its own default count); a shot longer than that is stretched over what it made.
        """
        pipe = self.pipeline
        family = family_of(pipe)
        options = self.options
        fps = options.video_fps or family.fps
        width, height = spec.width, spec.height
        if options.video_width and options.video_height:
            width, height = options.video_width, options.video_height
        elif options.video_width:
            width, height = options.video_width, round(options.video_width * spec.height / spec.width)
        elif options.video_height:
            width, height = round(options.video_height * spec.width / spec.height), options.video_height
        multiple = spatial_multiple(pipe)
        limit = options.video_frames or model_frame_limit(pipe)
        frames = frame_count(max(2, math.ceil(spec.duration * fps) + 1), family.frame_step, limit)
        return VideoCall(width=snap(width, multiple), height=snap(height, multiple), num_frames=frames, fps=fps)

    def animate(self, spec: ShotSpec, keyframe: Path, out: Path) -> ClipResult:
        """Render `spec` as an H.264 MP4 at `out`, `spec.num_frames` frames at `spec.fps`, from `keyframe`.

        Written to a temporary file beside `out` and moved into place, so `out` is either whole or absent.

        Raises:
            BackendError: the model cannot be loaded, the keyframe cannot be read, the size is odd, the pipeline
                failed, or ffmpeg could not write the clip.
        """
        out = Path(out)
        if spec.width % 2 or spec.height % 2:
            raise BackendError(
                f"shot {spec.shot_id}: H.264 in yuv420p needs an even size, got {spec.width}x{spec.height}; "
                "ask for an even width and height"
            )
        with self._lock:
            pipe = self.pipeline
            family = family_of(pipe)
            call = self.plan(spec)
            arguments = self._arguments(spec, keyframe, family, call)
            try:
                output = pipe(**accepted(pipe.__call__, arguments))
            except Exception as error:  # noqa: BLE001 - any pipeline failure fails this shot, not the run
                raise BackendError(
                    f"shot {spec.shot_id}: {type(pipe).__name__} of {self.model_id!r} failed at "
                    f"{call.width}x{call.height}, {call.num_frames} frames ({type(error).__name__}: {error}); "
                    "try fewer video_frames, a smaller video size, offload or vae_tiling"
                ) from error
            self.pipeline_calls += 1
        frames = as_frames(output)
        size = (spec.width, spec.height)
        shot_frames = (
            np.asarray(fit(Image.fromarray(_to_bytes(frame)), size)) for frame in time_map(frames, call.fps, spec)
        )
        write_clip(shot_frames, out, size, spec.fps, crf=18, what=f"shot {spec.shot_id}")
        result = ClipResult.of_shot(spec, out, self.name, self.model)
        sound = clip_sound(output) if family.makes_sound else None
        if sound is None:
            return result
        audio = write_sound(sound, sample_rate_of(pipe), out.with_suffix(".wav"))
        return result.model_copy(update={"audio": audio})

    def _arguments(self, spec: ShotSpec, keyframe: Path, family: VideoFamily, call: VideoCall) -> dict[str, Any]:
        options = self.options
        arguments: dict[str, Any] = {
            "num_frames": call.num_frames,
            "width": call.width,
            "height": call.height,
            "generator": generator_for(self._device, spec.seed),
            "output_type": "np",
        }
        if family.image_to_video:
            image = fit(shot_framing(_read_keyframe(keyframe, spec), spec), (call.width, call.height))
            if family.image_crf:
                image = compressed_like_training(image, family.image_crf)
                arguments["image_crf"] = 0
            arguments["image"] = image
        if options.video_steps is not None:
            arguments["num_inference_steps"] = options.video_steps
        if family.stable_video_diffusion:
            arguments["fps"] = call.fps
            arguments["decode_chunk_size"] = min(call.num_frames, DECODE_CHUNK)
            if options.video_guidance_scale is not None:
                arguments["max_guidance_scale"] = options.video_guidance_scale
                arguments["min_guidance_scale"] = min(1.0, options.video_guidance_scale)
            return arguments
        arguments["prompt"] = motion_prompt(spec)
        if spec.negative_prompt:
            arguments["negative_prompt"] = spec.negative_prompt
        arguments["frame_rate"] = call.fps
        if options.video_guidance_scale is not None:
            arguments["guidance_scale"] = options.video_guidance_scale
        return arguments


def _read_keyframe(keyframe: Path, spec: ShotSpec) -> Image.Image:
    try:
        with Image.open(keyframe) as opened:
            return opened.convert("RGB")
    except (OSError, ValueError) as error:
        raise BackendError(f"shot {spec.shot_id}: cannot read keyframe {keyframe}: {error}") from error


def _to_bytes(frame: np.ndarray) -> np.ndarray:
    return (np.clip(frame, 0.0, 1.0) * 255).round().astype(np.uint8)
