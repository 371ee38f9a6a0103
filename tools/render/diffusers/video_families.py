"""What each diffusers video pipeline family needs that its call signature does not say.

Frame counts follow the VAE's time compression (LTX-Video and LTX-2 8k+1 frames, Wan and HunyuanVideo 1.5
4k+1, CogVideoX 8k+1, Stable Video Diffusion any count); each family has the frame rate it was trained at.
Wan 2.2 TI2V is a Wan pipeline with `expand_timesteps` and runs at 24 fps; LTX-2 makes sound with its
picture, and was trained on conditioning pictures compressed as H.264 (CRF 33), which is done here with the
ffmpeg Director already ships rather than with PyAV.
"""

from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass
from pathlib import Path

import imageio_ffmpeg
import numpy as np
from diffusers import DiffusionPipeline
from PIL import Image

from tools.render.animatic.clip import write_clip
from tools.render.diffusers.common import accepted, call_default

SIZE_MULTIPLE_FLOOR = 8
FALLBACK_FRAMES = 16
WAN22_FPS = 24
"""Wan 2.2's rate: the TI2V 5B model card renders 121 frames at 24 fps, against Wan 2.1's 16."""
LTX2_IMAGE_CRF = 33
"""The H.264 CRF LTX-2 (Gemma 3 generation) saw its conditioning pictures at in training."""


@dataclass(frozen=True)
class VideoFamily:
    """What a video pipeline class needs that its signature does not say."""

    image_to_video: bool
    frame_step: int
    """Frame counts must be `frame_step * k + 1` (the VAE's time compression); 1: any count."""
    fps: int
    """The frame rate the model was trained at."""
    stable_video_diffusion: bool = False
    """No prompt; guidance rises from `min_guidance_scale` to `max_guidance_scale` across the frames."""
    makes_sound: bool = False
    """The pipeline returns `audio` with its frames (LTX-2): kept as the take's ambience."""
    image_crf: int = 0
    """Compress the conditioning picture as one H.264 frame at this CRF first, as the model was trained; 0: no."""
    size_multiple: int = 1
    """A step the pipeline's call demands of the size whatever its VAE (LTX-2 checks for 32)."""


_LTX2 = VideoFamily(
    image_to_video=True, frame_step=8, fps=24, makes_sound=True, image_crf=LTX2_IMAGE_CRF, size_multiple=32
)

FAMILIES: dict[str, VideoFamily] = {
    "LTXImageToVideoPipeline": VideoFamily(image_to_video=True, frame_step=8, fps=24),
    "LTXConditionPipeline": VideoFamily(image_to_video=True, frame_step=8, fps=24),
    "LTXPipeline": VideoFamily(image_to_video=False, frame_step=8, fps=24),
    "LTX2ImageToVideoPipeline": _LTX2,
    "LTX2Pipeline": VideoFamily(image_to_video=False, frame_step=8, fps=24, makes_sound=True, size_multiple=32),
    "WanImageToVideoPipeline": VideoFamily(image_to_video=True, frame_step=4, fps=16),
    "WanPipeline": VideoFamily(image_to_video=False, frame_step=4, fps=16),
    "HunyuanVideo15ImageToVideoPipeline": VideoFamily(image_to_video=True, frame_step=4, fps=24),
    "HunyuanVideo15Pipeline": VideoFamily(image_to_video=False, frame_step=4, fps=24),
    "CogVideoXImageToVideoPipeline": VideoFamily(image_to_video=True, frame_step=8, fps=8),
    "CogVideoXPipeline": VideoFamily(image_to_video=False, frame_step=8, fps=8),
    "StableVideoDiffusionPipeline": VideoFamily(image_to_video=True, frame_step=1, fps=7, stable_video_diffusion=True),
    "TextToVideoSDPipeline": VideoFamily(image_to_video=False, frame_step=1, fps=8),
}


def family_of(pipe: DiffusionPipeline) -> VideoFamily:
    """The family of `pipe`'s class; an unlisted class is judged by whether its call takes an `image`.

    A Wan pipeline with `expand_timesteps` is Wan 2.2 TI2V, at 24 fps.
    """
    known = FAMILIES.get(type(pipe).__name__)
    if known is not None:
        if known.frame_step == 4 and getattr(getattr(pipe, "config", None), "expand_timesteps", False):
            return VideoFamily(image_to_video=known.image_to_video, frame_step=4, fps=WAN22_FPS)
        return known
    parameters = accepted(pipe.__call__, {"image": None, "prompt": None, "frame_rate": None})
    step = int(getattr(pipe, "vae_scale_factor_temporal", 0) or getattr(pipe, "vae_temporal_compression_ratio", 0) or 1)
    return VideoFamily(image_to_video="image" in parameters, frame_step=step, fps=8)


def spatial_multiple(pipe: DiffusionPipeline) -> int:
    """The step the video size must move in: the VAE's downscale times the denoiser's patch or downsampling.

    At least what the family's call checks for (`VideoFamily.size_multiple`).
    """
    vae = (
        getattr(pipe, "vae_scale_factor_spatial", None)
        or getattr(pipe, "vae_spatial_compression_ratio", None)
        or getattr(pipe, "vae_scale_factor", None)
        or 8
    )
    transformer, unet = getattr(pipe, "transformer", None), getattr(pipe, "unet", None)
    patch = 1
    if transformer is not None:
        size = getattr(transformer.config, "patch_size", 1) or 1
        patch = int(size[-1] if isinstance(size, list | tuple) else size)
    elif unet is not None:
        patch = 2 ** (len(unet.config.block_out_channels) - 1)
    return max(SIZE_MULTIPLE_FLOOR, int(vae) * patch, family_of(pipe).size_multiple)


def model_frame_limit(pipe: DiffusionPipeline) -> int:
    """The most frames the model is meant to make: its call's default, else its denoiser's config."""
    default = call_default(pipe, "num_frames")
    if isinstance(default, int):
        return default
    denoiser = getattr(pipe, "transformer", None) or getattr(pipe, "unet", None)
    config = getattr(denoiser, "config", {})
    for name in ("num_frames", "sample_frames"):
        value = config.get(name) if hasattr(config, "get") else None
        if isinstance(value, int) and value > 0:
            return value
    return FALLBACK_FRAMES


def frame_count(wanted: int, step: int, limit: int) -> int:
    """The frame count nearest above `wanted` that the model accepts (`step * k + 1`), at most `limit`.

    A limit below the model's smallest real clip (`step + 1`) gives that smallest clip.
    """
    if step <= 1:
        return max(1, min(wanted, limit))
    k = max(1, math.ceil((wanted - 1) / step))
    if k * step + 1 > limit:
        k = max(1, (limit - 1) // step)
    return k * step + 1


def compressed_like_training(image: Image.Image, crf: int) -> Image.Image:
    """`image` after a round trip through one H.264 frame at `crf` (yuv420p), cropped to an even size.

    Raises:
        BackendError: ffmpeg could not encode the frame.
    """
    width, height = image.width // 2 * 2, image.height // 2 * 2
    pixels = np.asarray(image.convert("RGB"))[:height, :width]
    with tempfile.TemporaryDirectory(prefix="director-crf-") as scratch:
        path = Path(scratch) / "frame.mp4"
        write_clip([pixels], path, (width, height), 1, preset="veryfast", crf=crf, what="conditioning picture")
        reader = imageio_ffmpeg.read_frames(str(path), pix_fmt="rgb24")
        try:
            meta = next(reader)
            width, height = meta["size"]
            frame = next(reader)
        finally:
            reader.close()
    decoded = np.frombuffer(frame, np.uint8).reshape(height, width, 3)
    return Image.fromarray(decoded.copy())
