"""The animatic video backend: camera moves cut out of a keyframe, encoded with ffmpeg.

An animatic keyframe is overscanned: the shot's frame is its centred `1 / OVERSCAN` part (see
`tools.render.animatic.keyframe`), and a move slides or scales a crop window over the rest. A keyframe of the
shot's own size (from a diffusion model or OpenAI) has no margin, so pans and tilts travel over a slightly
tighter window instead. Over storyboard frames, seeded weather and a faint light flicker keep even a static
shot alive, and the slate and caption are drawn on top in screen space; over a generated picture the move is
all that is added.
"""

from __future__ import annotations

import contextlib
import math
import subprocess
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import imageio_ffmpeg
import numpy as np
from PIL import Image, ImageDraw

from tools.files import DiskFullError, atomic_path, disk_full, disk_full_in
from tools.render.animatic.drawing import (
    MIN_LEVEL,
    MODEL,
    OVERSCAN,
    fit_caption,
    font,
    printable,
    words_of,
)
from tools.render.animatic.drawing import keyframe_size as overscanned_size
from tools.render.base import BackendError, ClipResult
from tools.render.registry import BACKENDS
from tools.render.spec import CameraMove, ShotSpec, TimeOfDay
from tools.settings import Settings

Box = tuple[float, float, float, float]

PUSH_ZOOM = 1.25
MOVE_ROOM = 1.15
"""How much tighter than the frame a pan or tilt window is when the keyframe has no overscan to travel over."""
BAND_FILL = (12, 14, 22, 205)
SLATE_FILL = (12, 14, 22, 180)
TEXT_FILL = (244, 244, 240, 255)
_RAIN_WORDS = frozenset("rain raining rainy rains rainfall storm stormy downpour drizzle".split())
_SNOW_WORDS = frozenset("snow snowing snowy snowfall blizzard snowflakes".split())


def ease(t: float) -> float:
    """Ease in and out: slow start, fastest mid-shot, slow landing."""
    return 0.5 - 0.5 * math.cos(math.pi * min(1.0, max(0.0, t)))


def camera_windows(
    move: CameraMove,
    keyframe_size: tuple[int, int],
    frame_size: tuple[int, int],
    num_frames: int,
    overscan: float = OVERSCAN,
) -> list[Box]:
    """The crop box `(left, top, right, bottom)` in keyframe pixels for every frame of the move.

    The full window is the largest box of the frame's aspect inside the keyframe; the shot's framing is that
    box shrunk by `overscan` (snapped to the frame's own size when within two pixels, so a static shot is a
    plain crop). Push-in goes from the full window to `PUSH_ZOOM` tighter than the framing,
    pull-out the reverse; pan travels left to right and tilt top to bottom across the overscan, or across a
    window `MOVE_ROOM` tighter when the keyframe has none.
    """
    kw, kh = keyframe_size
    aspect = frame_size[0] / frame_size[1]
    full_w = min(kw, kh * aspect)
    shot_w = full_w / overscan
    if abs(shot_w - frame_size[0]) <= 2 and frame_size[1] <= kh:
        shot_w = frame_size[0]
    travel_w = shot_w if overscan > 1.01 else shot_w / MOVE_ROOM
    widths = {
        CameraMove.PUSH_IN: (full_w, shot_w / PUSH_ZOOM),
        CameraMove.PULL_OUT: (shot_w / PUSH_ZOOM, full_w),
        CameraMove.PAN: (travel_w, travel_w),
        CameraMove.TILT: (travel_w, travel_w),
    }
    boxes = []
    for i in range(num_frames):
        t = ease(i / (num_frames - 1)) if num_frames > 1 else 0.0
        start, end = widths.get(move, (shot_w, shot_w))
        w = start + (end - start) * t
        h = w / aspect
        cx, cy = kw / 2, kh / 2
        if move is CameraMove.PAN:
            cx = w / 2 + (kw - w) * t
        elif move is CameraMove.TILT:
            cy = h / 2 + (kh - h) * t
        boxes.append((cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2))
    return boxes


def is_overscanned(keyframe_size: tuple[int, int], spec: ShotSpec) -> bool:
    """Whether a keyframe is an animatic's, `OVERSCAN` times the shot, rather than the shot's own size."""
    return keyframe_size == overscanned_size(spec.width, spec.height) != (spec.width, spec.height)


@dataclass(frozen=True)
class Weather:
    """Particles drifting across the frame: rain streaks, snowflakes or dust motes in the light."""

    kind: str
    x: np.ndarray
    y: np.ndarray
    vx: np.ndarray
    vy: np.ndarray
    size: np.ndarray
    colour: tuple[int, int, int]
    alpha: float

    @classmethod
    def for_shot(cls, spec: ShotSpec, rng: np.random.Generator) -> Weather:
        """Pick the weather from the shot's words (rain, snow), else dust; positions from the seed."""
        words = words_of(spec.prompt, spec.caption, spec.setting_name)
        kind = "rain" if words & _RAIN_WORDS else "snow" if words & _SNOW_WORDS else "dust"
        w, h = spec.width, spec.height
        count = {"rain": 140, "snow": 90, "dust": 45}[kind] * w * h // (640 * 360)
        count = max(8, count)
        speed = {"rain": (0.08 * w, 1.6 * h), "snow": (0.04 * w, 0.18 * h), "dust": (0.05 * w, 0.04 * h)}[kind]
        night = spec.time_of_day is TimeOfDay.NIGHT
        colour = (200, 210, 235) if kind == "rain" else (250, 250, 250) if kind == "snow" else (255, 236, 196)
        return cls(
            kind=kind,
            x=rng.uniform(0, w, count),
            y=rng.uniform(0, h, count),
            vx=rng.normal(speed[0] * (0.6 if kind == "rain" else 0.0), speed[0], count),
            vy=rng.normal(speed[1], speed[1] * 0.25, count),
            size=rng.uniform(1.0, 2.6, count) * max(1.0, h / 360),
            colour=colour,
            alpha={"rain": 0.35, "snow": 0.75, "dust": 0.5}[kind] * (0.7 if night and kind == "dust" else 1.0),
        )

    def draw(self, frame: np.ndarray, seconds: float) -> None:
        """Blend the particles into `frame` (float RGB, modified in place) as they are at `seconds`."""
        h, w = frame.shape[:2]
        xs = np.mod(self.x + self.vx * seconds, w)
        ys = np.mod(self.y + self.vy * seconds, h)
        colour = np.asarray(self.colour, np.float32)
        streak = max(2, round(0.035 * h)) if self.kind == "rain" else 0
        for x, y, s in zip(xs.astype(int), ys.astype(int), self.size, strict=True):
            r = max(1, round(s))
            patch = frame[y : y + (streak or r), x : x + (1 if streak else r)]
            patch += (colour - patch) * self.alpha


def _flicker(spec: ShotSpec, rng: np.random.Generator) -> np.ndarray:
    """Per-frame light gain: a slow breath plus a little grain, stronger at night (lamps, moonlit cloud)."""
    n = spec.num_frames
    t = np.arange(n) / spec.fps
    depth = 0.02 if spec.time_of_day is TimeOfDay.NIGHT else 0.012
    phase = rng.uniform(0, 2 * np.pi)
    return 1.0 + depth * np.sin(2 * np.pi * 0.7 * t + phase) + rng.normal(0, depth / 4, n)


def caption_text(spec: ShotSpec) -> str:
    """The caption as shown: the speaker's name before a spoken line."""
    if spec.speaker and spec.caption:
        return f"{spec.speaker}: {spec.caption}"
    return spec.caption


def slate_text(spec: ShotSpec) -> str:
    return f"SC {spec.scene_number} / SH {spec.shot_number} · {spec.framing.value} · {spec.camera_move.value}"


def render_overlay(spec: ShotSpec) -> Image.Image:
    """The screen-space layer of a frame: the slate top-left and the caption band at the bottom (RGBA)."""
    w, h = spec.width, spec.height
    overlay = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    slate_face = font(h * 0.036)
    pad = max(3, round(h * 0.014))
    slate = printable(slate_text(spec))
    left, top, right, bottom = slate_face.getbbox(slate)
    draw.rounded_rectangle([pad, pad, pad * 3 + right - left, pad * 3 + bottom - top], radius=pad, fill=SLATE_FILL)
    draw.text((pad * 2 - left, pad * 2 - top), slate, font=slate_face, fill=TEXT_FILL)
    face, lines, line_h = fit_caption(caption_text(spec), w - 6 * pad, h)
    if lines:
        band_top = h - len(lines) * line_h - 2 * pad
        draw.rectangle([0, band_top, w, h], fill=BAND_FILL)
        for i, line in enumerate(lines):
            draw.text((w / 2, band_top + pad + i * line_h + line_h / 2), line, font=face, fill=TEXT_FILL, anchor="mm")
    return overlay


def render_frames(spec: ShotSpec, keyframe: Image.Image, marks: bool = True) -> Iterator[np.ndarray]:
    """Yield every frame of the shot as `height x width x 3` uint8 RGB; `marks` adds weather, slate and caption."""
    size = (spec.width, spec.height)
    overscan = OVERSCAN if is_overscanned(keyframe.size, spec) else 1.0
    windows = camera_windows(spec.camera_move, keyframe.size, size, spec.num_frames, overscan)
    if not marks:
        for box in windows:
            yield np.asarray(keyframe.resize(size, Image.Resampling.BILINEAR, box=box), np.uint8)
        return
    rng = np.random.default_rng(spec.seed)
    weather = Weather.for_shot(spec, rng)
    gains = _flicker(spec, rng)
    overlay = np.asarray(render_overlay(spec), np.float32)
    alpha = overlay[..., 3:] / 255
    ink = overlay[..., :3] * alpha
    keep = 1 - alpha
    for index, box in enumerate(windows):
        crop = keyframe.resize(size, Image.Resampling.BILINEAR, box=box)
        frame = np.asarray(crop, np.float32) * gains[index]
        weather.draw(frame, index / spec.fps)
        frame = frame * keep + ink
        yield np.clip(frame, MIN_LEVEL, 255).astype(np.uint8)


def write_clip(
    frames: Iterable[np.ndarray],
    out: Path,
    size: tuple[int, int],
    fps: int,
    *,
    preset: str = "veryfast",
    crf: int = 20,
    what: str = "clip",
) -> None:
    """Encode `frames` as H.264 in yuv420p with the index up front, so every player and browser takes it.

    Written to a temporary file beside `out` and moved into place, so `out` is either whole or absent. The
    frames are piped to ffmpeg one by one, and its exit status is checked: a clip whose trailer could not be
    written (a full disk) is an error, never a file that only looks finished.

    Raises:
        DiskFullError: the disk under `out` filled up.
        BackendError: ffmpeg could not write the file otherwise (`what` names the shot in the message).
    """
    width, height = size
    try:
        with atomic_path(out) as temp, tempfile.TemporaryFile() as log:
            command = [
                *(imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-v", "error", "-y"),
                *("-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}", "-r", str(fps), "-i", "-"),
                *("-an", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-preset", preset, "-crf", str(crf)),
                *("-movflags", "+faststart", "-f", "mp4", str(temp)),
            ]
            encoder = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=log)
            assert encoder.stdin is not None
            try:
                for frame in frames:
                    encoder.stdin.write(np.ascontiguousarray(frame, dtype=np.uint8).tobytes())
            except BrokenPipeError:
                pass  # ffmpeg stopped early; its exit status and words below say why
            finally:
                with contextlib.suppress(BrokenPipeError):
                    encoder.stdin.close()
                returncode = encoder.wait()
            if returncode != 0:
                log.seek(0)
                words = log.read().decode("utf-8", errors="replace").strip() or f"exit status {returncode}"
                full = disk_full_in(words, out.parent)
                if full is not None:
                    raise full
                raise BackendError(f"{what}: ffmpeg could not write {out}: {words[-600:]}")
    except DiskFullError:
        raise
    except OSError as error:
        full = disk_full(error, out.parent)
        if full is not None:
            raise full from error
        raise BackendError(f"{what}: ffmpeg could not write {out}: {error}") from error


class AnimaticVideoBackend:
    """Animates any keyframe as a camera move with ffmpeg's H.264; needs no model and no GPU.

    `marks` draws the storyboard's weather, slate and caption: on for animatic keyframes, off over pictures
    from a model, which get the camera move alone.
    """

    name: ClassVar[str] = "animatic"
    supports_reference_image: ClassVar[bool] = True
    max_prompt_tokens: ClassVar[int | None] = None
    """It reads the prompt only for weather words, so any length will do."""

    def __init__(self, preset: str = "veryfast", crf: int = 20, marks: bool = True) -> None:
        self.preset = preset
        self.crf = crf
        self.marks = marks

    @classmethod
    def from_settings(cls, settings: Settings) -> AnimaticVideoBackend:
        chosen = BACKENDS.find("image", settings.render.image_backend)
        return cls(marks=chosen is not None and chosen.draws_animatic)

    @property
    def model(self) -> str:
        return MODEL

    @property
    def parameters(self) -> dict[str, str | int | float | bool]:
        return {"marks": self.marks}

    def animate(self, spec: ShotSpec, keyframe: Path, out: Path) -> ClipResult:
        """Render `spec` as an H.264 MP4 at `out`, `spec.num_frames` frames at `spec.fps`.

        Written to a temporary file beside `out` and moved into place, so `out` is either whole or absent.

        Raises:
            BackendError: the keyframe is missing or unreadable, the size is odd, or ffmpeg failed.
        """
        out = Path(out)
        if spec.width % 2 or spec.height % 2:
            raise BackendError(
                f"shot {spec.shot_id}: H.264 in yuv420p needs an even size, got {spec.width}x{spec.height}; "
                "ask for an even width and height"
            )
        try:
            with Image.open(keyframe) as opened:
                image = opened.convert("RGB")
        except (OSError, ValueError) as error:
            raise BackendError(f"shot {spec.shot_id}: cannot read keyframe {keyframe}: {error}") from error
        size = (spec.width, spec.height)
        frames = render_frames(spec, image, self.marks)
        write_clip(frames, out, size, spec.fps, preset=self.preset, crf=self.crf, what=f"shot {spec.shot_id}")
        return ClipResult.of_shot(spec, out, self.name, self.model)
