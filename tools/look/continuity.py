"""Does a scene hold its light and colour from shot to shot? A night shot cut into a day scene should show.

Each shot is reduced to its mean luma and its mean CIELAB a*, b* (the colour cast, free of brightness). A shot is
flagged when it stands apart from its scene's median by more than an editor would let pass.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image
from pydantic import BaseModel

LUMA_JUMP = 40.0
"""Luma (0-255) a shot may stray from its scene's median. Measured on real photographs: a night grade (a third
of the light, bluer) moves the mean by 50 to 80; a centre or half crop of the same picture (a close-up against its
wide) by under 30; a dusk grade by about 30, which passes."""

COLOUR_JUMP = 18.0
"""Distance in the a*b* plane (ΔE without lightness) a shot may stray from its scene's median. Measured on real
photographs in scenes of four shots: a strong teal grade moves a shot 20 to 22 from the median, a night grade 14
to 32 (its luma trips first); halves and centre crops of the same picture stay within 12. The mean colour follows
what fills the frame, so a close-up of a face cut against a wide of a dark uniform can stray by 20: read a
colour-only flag as a note to look, not a verdict."""

PAIR_FACTOR = 1.5
"""A scene of two shots has no median to trust: its second shot is flagged only when it differs from the first
by more than both thresholds times this."""

LOOK_SIDE = 128
_REC709 = np.array([0.2126, 0.7152, 0.0722])
_SRGB_TO_XYZ = np.array(
    [
        [0.4124564, 0.3575761, 0.1804375],
        [0.2126729, 0.7151522, 0.0721750],
        [0.0193339, 0.1191920, 0.9503041],
    ]
)
_D65_WHITE = np.array([0.95047, 1.0, 1.08883])


class PictureLook(BaseModel):
    luma: float
    """Mean Rec.709 luma of the gamma-encoded picture, 0 to 255."""
    a: float
    """Mean CIELAB a*: green (negative) to magenta (positive)."""
    b: float
    """Mean CIELAB b*: blue (negative) to yellow (positive)."""

    @property
    def chroma(self) -> float:
        return math.hypot(self.a, self.b)

    @property
    def hue_angle(self) -> float:
        return math.degrees(math.atan2(self.b, self.a)) % 360.0


class ShotLook(BaseModel):
    shot_id: str
    scene_id: str
    look: PictureLook


class ContinuityFlag(BaseModel):
    shot_id: str
    scene_id: str
    reason: str
    luma_jump: float
    """The shot's luma less the scene's (positive: brighter)."""
    colour_jump: float
    """The a*b* distance between the shot's mean colour and the scene's."""


def srgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """CIELAB (D65) of 8-bit sRGB values, shape (..., 3) in and out."""
    encoded = np.asarray(rgb, dtype=np.float64) / 255.0
    linear = np.where(encoded <= 0.04045, encoded / 12.92, ((encoded + 0.055) / 1.055) ** 2.4)
    xyz = linear @ _SRGB_TO_XYZ.T / _D65_WHITE
    epsilon, kappa = 216 / 24389, 24389 / 27
    f = np.where(xyz > epsilon, np.cbrt(xyz), (kappa * xyz + 16) / 116)
    lightness = 116 * f[..., 1] - 16
    a = 500 * (f[..., 0] - f[..., 1])
    b = 200 * (f[..., 1] - f[..., 2])
    return np.stack([lightness, a, b], axis=-1)


def _small_rgb(picture: Path | Image.Image | np.ndarray) -> np.ndarray:
    if isinstance(picture, (str, Path)):
        with Image.open(picture) as opened:
            image = opened.convert("RGB")
    elif isinstance(picture, Image.Image):
        image = picture.convert("RGB")
    else:
        array = np.asarray(picture)
        if np.issubdtype(array.dtype, np.floating) and array.max(initial=0.0) <= 1.0:
            array = array * 255.0
        array = np.clip(array, 0, 255).astype(np.uint8)
        image = Image.fromarray(array if array.ndim == 2 else array[..., :3]).convert("RGB")
    image.thumbnail((LOOK_SIDE, LOOK_SIDE), Image.Resampling.BOX)
    return np.asarray(image)


def picture_look(picture: Path | Image.Image | np.ndarray) -> PictureLook:
    """The mean luma and colour cast of a picture, measured on a small copy."""
    rgb = _small_rgb(picture).reshape(-1, 3).astype(np.float64)
    lab = srgb_to_lab(rgb)
    return PictureLook(
        luma=round(float((rgb @ _REC709).mean()), 2),
        a=round(float(lab[:, 1].mean()), 2),
        b=round(float(lab[:, 2].mean()), 2),
    )


def _colour_words(a_change: float, b_change: float) -> str:
    """The direction of a colour shift in words: its main axis, and the other when it is at least half as large."""
    b_word = "warmer" if b_change > 0 else "bluer"
    a_word = "more magenta" if a_change > 0 else "greener"
    major, minor = (b_word, a_word) if abs(b_change) >= abs(a_change) else (a_word, b_word)
    if min(abs(a_change), abs(b_change)) >= max(abs(a_change), abs(b_change)) / 2:
        return f"{major} and {minor}"
    return major


def _flag(shot: ShotLook, luma: float, a: float, b: float, *, against: str) -> ContinuityFlag:
    luma_jump = shot.look.luma - luma
    colour_jump = math.hypot(shot.look.a - a, shot.look.b - b)
    notes: list[str] = []
    if abs(luma_jump) > LUMA_JUMP:
        notes.append(
            f"much {'brighter' if luma_jump > 0 else 'darker'} than {against} (luma {shot.look.luma:.0f} vs {luma:.0f})"
        )
    if colour_jump > COLOUR_JUMP:
        notes.append(
            f"{_colour_words(shot.look.a - a, shot.look.b - b)} than {against} (colour shift {colour_jump:.0f} ΔE)"
        )
    return ContinuityFlag(
        shot_id=shot.shot_id,
        scene_id=shot.scene_id,
        reason=f"shot {shot.shot_id} is " + " and ".join(notes),
        luma_jump=round(luma_jump, 1),
        colour_jump=round(colour_jump, 1),
    )


def _scene_flags(scene_id: str, shots: list[ShotLook]) -> list[ContinuityFlag]:
    if len(shots) == 2:
        first, second = shots
        luma_jump = abs(second.look.luma - first.look.luma)
        colour_jump = math.hypot(second.look.a - first.look.a, second.look.b - first.look.b)
        if luma_jump > LUMA_JUMP * PAIR_FACTOR and colour_jump > COLOUR_JUMP * PAIR_FACTOR:
            return [_flag(second, first.look.luma, first.look.a, first.look.b, against=f"shot {first.shot_id}")]
        return []
    if len(shots) < 3:
        return []
    luma = statistics.median(shot.look.luma for shot in shots)
    a = statistics.median(shot.look.a for shot in shots)
    b = statistics.median(shot.look.b for shot in shots)
    flags: list[ContinuityFlag] = []
    for shot in shots:
        stray = abs(shot.look.luma - luma) > LUMA_JUMP or math.hypot(shot.look.a - a, shot.look.b - b) > COLOUR_JUMP
        if stray:
            flags.append(_flag(shot, luma, a, b, against=f"the rest of scene {scene_id}"))
    return flags


def scene_continuity(shots: Sequence[ShotLook]) -> list[ContinuityFlag]:
    """The shots whose light or colour breaks from the rest of their scene, in film order.

    Scenes of three shots or more are judged against their median shot; a scene of two is judged as a pair
    (see `PAIR_FACTOR`); a scene of one has nothing to match.
    """
    scenes: dict[str, list[ShotLook]] = {}
    for shot in shots:
        scenes.setdefault(shot.scene_id, []).append(shot)
    position = {shot.shot_id: index for index, shot in reversed(list(enumerate(shots)))}
    flags = [flag for scene_id, members in scenes.items() for flag in _scene_flags(scene_id, members)]
    return sorted(flags, key=lambda flag: position[flag.shot_id])
