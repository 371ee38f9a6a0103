"""Media facts for the critic: what a clip or frame file really is, and whether its picture is broken.

Everything goes through the ffmpeg binary that imageio-ffmpeg ships (there is no ffprobe) and Pillow, so the
checks run wherever the cut runs.
"""

from __future__ import annotations

import logging
import re
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import imageio_ffmpeg
import numpy as np
from PIL import Image, UnidentifiedImageError
from pydantic import BaseModel, ConfigDict

BLACK_LUMA = 8.0
BLANK_STD = 3.0
FROZEN_DIFF = 0.5
MOSTLY = 0.75
SAMPLE_MAX_SIDE = 256
FFMPEG_TIMEOUT_S = 120.0

_DURATION = re.compile(r"Duration:\s*(\d+):(\d+):(\d+(?:\.\d+)?)")
_CODEC = re.compile(r"Video:\s*([A-Za-z0-9_]+)")
_AUDIO_CODEC = re.compile(r"Audio:\s*([A-Za-z0-9_]+)")
_SIZE = re.compile(r",\s*(\d+)x(\d+)(?=[\s,\[]|$)")
_FPS = re.compile(r"([\d.]+)(k?)\s+fps\b")
_TBR = re.compile(r"([\d.]+)(k?)\s+tbr\b")


class ProbeError(RuntimeError):
    """A media file is missing, unreadable or has no picture."""


class VideoFacts(BaseModel):
    """What the file holds, as decoded: frame size, rate, exact frame count, duration and codec."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: Path
    width: int
    height: int
    fps: float
    num_frames: int
    duration: float
    codec: str
    audio_codec: str = ""

    @property
    def has_audio(self) -> bool:
        return bool(self.audio_codec)


class FrameIssues(BaseModel):
    """Picture problems across sampled frames, with the measurements behind them (luma on 0–255)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    black: bool
    blank: bool
    frozen: bool
    mean_luma: float
    min_std: float
    max_frame_diff: float


def probe_video(path: Path) -> VideoFacts:
    """Read a video's facts; the frame count comes from a full decode, so it is exact rather than estimated.

    Raises:
        ProbeError: the file is missing, is not a video ffmpeg can decode, or has no video stream.
    """
    path = _existing(path)
    header = _ffmpeg_header(path)
    stream = next((line for line in header.splitlines() if "Stream #" in line and "Video:" in line), None)
    if stream is None:
        raise ProbeError(f"{path} is not a readable video: {_last_line(header)}")
    codec = _CODEC.search(stream)
    size = _SIZE.search(stream)
    if codec is None or size is None:
        raise ProbeError(f"{path}: cannot read codec and frame size from ffmpeg's stream line {stream.strip()!r}")
    rate = _FPS.search(stream) or _TBR.search(stream)
    fps = float(rate.group(1)) * (1000 if rate.group(2) else 1) if rate else 0.0
    try:
        num_frames, _ = imageio_ffmpeg.count_frames_and_secs(str(path))
    except RuntimeError as err:
        raise ProbeError(f"{path}: ffmpeg could not decode the video: {_last_line(str(err))}") from err
    if fps > 0 and num_frames > 0:
        duration = num_frames / fps
    else:
        match = _DURATION.search(header)
        duration = int(match[1]) * 3600 + int(match[2]) * 60 + float(match[3]) if match else 0.0
    return VideoFacts(
        path=path,
        width=int(size.group(1)),
        height=int(size.group(2)),
        fps=fps,
        num_frames=num_frames,
        duration=duration,
        codec=codec.group(1),
        audio_codec=audio.group(1) if (audio := _AUDIO_CODEC.search(header)) else "",
    )


def container_tags(path: Path) -> dict[str, str]:
    """The file-level metadata tags (title, comment, and any custom key), as ffmpeg reads them.

    Raises:
        ProbeError: the file is missing or is not media ffmpeg can read.
    """
    path = _existing(path)
    header = _ffmpeg_header(path)
    if "Input #0" not in header:
        raise ProbeError(f"{path} is not readable media: {_last_line(header)}")
    tags: dict[str, str] = {}
    in_tags = False
    for line in header.splitlines():
        if line.startswith("Input #0"):
            continue
        if line.strip() == "Metadata:" and line.startswith("  ") and not line.startswith("    "):
            in_tags = True
        elif in_tags and line.startswith("    ") and ":" in line:
            key, _, value = line.strip().partition(":")
            tags[key.strip()] = value.strip()
        elif in_tags:
            break
    return tags


def sample_frames(path: Path, count: int = 8, max_side: int = SAMPLE_MAX_SIDE) -> list[np.ndarray]:
    """`count` evenly spaced RGB frames (first and last included), scaled down so the longer side <= `max_side`.

    Raises:
        ProbeError: the file is missing or unreadable.
        ValueError: `count` or `max_side` is below 1.
    """
    if count < 1 or max_side < 1:
        raise ValueError(f"count ({count}) and max_side ({max_side}) must be at least 1")
    facts = probe_video(path)
    if facts.num_frames == 0:
        return []
    wanted = set(np.linspace(0, facts.num_frames - 1, min(count, facts.num_frames)).round().astype(int).tolist())
    scale = min(1.0, max_side / max(facts.width, facts.height))
    width, height = max(1, round(facts.width * scale)), max(1, round(facts.height * scale))
    frames: list[np.ndarray] = []
    reader = imageio_ffmpeg.read_frames(str(facts.path), output_params=["-vf", f"scale={width}:{height}:flags=area"])
    try:
        with _quiet_resize_notice():
            meta = next(reader)
        width, height = meta["size"]
        for index, raw in enumerate(reader):
            if index in wanted:
                frames.append(np.frombuffer(raw, np.uint8).reshape(height, width, 3).copy())
                if len(frames) == len(wanted):
                    break
    except (OSError, RuntimeError) as err:
        raise ProbeError(f"{facts.path}: ffmpeg could not decode frames: {_last_line(str(err))}") from err
    finally:
        reader.close()
    return frames


def inspect_frames(frames: Sequence[np.ndarray]) -> FrameIssues:
    """Flag black, blank (flat colour, black included) and frozen pictures in sampled RGB frames.

    Black and blank need most frames (`MOSTLY`) to qualify, so a fade from black is not a black shot; frozen
    needs every consecutive pair to be near-identical, and at least two frames.

    Raises:
        ValueError: no frames were given.
    """
    if not frames:
        raise ValueError("inspect_frames needs at least one frame; sample_frames returned none")
    rgb = [np.asarray(f, dtype=np.float32)[..., :3] for f in frames]
    luma = [f[..., 0] * 0.299 + f[..., 1] * 0.587 + f[..., 2] * 0.114 for f in rgb]
    means = np.array([float(y.mean()) for y in luma])
    stds = np.array([float(y.std()) for y in luma])
    diffs = [float(np.abs(a - b).mean()) for a, b in zip(rgb, rgb[1:], strict=False)]
    max_diff = max(diffs, default=0.0)
    return FrameIssues(
        black=bool(np.mean(means < BLACK_LUMA) >= MOSTLY),
        blank=bool(np.mean(stds < BLANK_STD) >= MOSTLY),
        frozen=len(rgb) > 1 and max_diff < FROZEN_DIFF,
        mean_luma=float(means.mean()),
        min_std=float(stds.min()),
        max_frame_diff=max_diff,
    )


def probe_image(path: Path) -> tuple[int, int]:
    """Width and height of an image file, after checking Pillow can read it.

    Raises:
        ProbeError: the file is missing or not a readable image.
    """
    path = _existing(path)
    try:
        with Image.open(path) as image:
            size = image.size
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
        raise ProbeError(f"{path} is not a readable image: {err}") from err
    return size


@contextmanager
def _quiet_resize_notice() -> Iterator[None]:
    """Silence imageio-ffmpeg's warning that frames come out smaller than the source: we asked for that."""

    def keep(record: logging.LogRecord) -> bool:
        return "is different from the source frame size" not in record.getMessage()

    logger = logging.getLogger("imageio_ffmpeg")
    logger.addFilter(keep)
    try:
        yield
    finally:
        logger.removeFilter(keep)


def _existing(path: Path) -> Path:
    path = Path(path)
    if not path.is_file():
        raise ProbeError(f"{path} does not exist or is not a file")
    return path


def _ffmpeg_header(path: Path) -> str:
    """The input description ffmpeg prints; it exits non-zero because no output is named, as expected."""
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(path)]
    try:
        done = subprocess.run(command, capture_output=True, timeout=FFMPEG_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired as err:
        raise ProbeError(f"{path}: ffmpeg took over {FFMPEG_TIMEOUT_S:.0f} s to read the header") from err
    return done.stderr.decode("utf-8", errors="replace")


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no output from ffmpeg"
