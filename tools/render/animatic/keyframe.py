"""The animatic image backend: a procedural storyboard keyframe, drawn on the CPU with no model.

The keyframe is `OVERSCAN` times larger than the shot so that a video backend can realise camera moves by
moving a crop window over it; the shot's own frame is the centred `1 / OVERSCAN` part. Background detail
varies with the seed; a character's silhouette depends only on its id, so it is the same in every shot.
"""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
from PIL import Image, ImageChops, ImageColor, ImageDraw, ImageFont

from tools.render.base import BackendError, ImageResult
from tools.render.spec import CastMember, Framing, ShotSpec, TimeOfDay
from tools.settings import Settings

OVERSCAN = 1.25
MODEL = "animatic-1"
DEFAULT_PALETTE = ("#86acd0", "#7f8c5c", "#b59f7a")
MIN_LEVEL = 8
LABEL_FILL = (22, 24, 34)
LABEL_TEXT = (240, 240, 240)
MAX_FIGURES = {Framing.WIDE: 6, Framing.MEDIUM: 2, Framing.CLOSE_UP: 1, Framing.INSERT: 0}

RGB = tuple[int, int, int]
Point = tuple[float, float]

_TINTS: dict[TimeOfDay, tuple[RGB, float, float]] = {
    TimeOfDay.DAY: ((255, 255, 255), 0.0, 1.0),
    TimeOfDay.DAWN: ((255, 176, 150), 0.24, 0.88),
    TimeOfDay.DUSK: ((255, 128, 64), 0.32, 0.78),
    TimeOfDay.NIGHT: ((20, 32, 84), 0.5, 0.32),
}
_SKY_LIGHT: dict[TimeOfDay, RGB] = {
    TimeOfDay.DAY: (178, 212, 238),
    TimeOfDay.DAWN: (246, 196, 172),
    TimeOfDay.DUSK: (236, 142, 92),
    TimeOfDay.NIGHT: (30, 42, 92),
}
_CITY_WORDS = frozenset(
    "street streets city town road alley roof rooftop rooftops market station avenue square downtown".split()
)
_PROPS = {
    "letter": frozenset("letter letters note notes paper papers envelope page map photo photograph".split()),
    "cup": frozenset("cup cups coffee tea mug glass drink drinks".split()),
    "key": frozenset("key keys lock locked unlocks door".split()),
    "phone": frozenset("phone phones call calls text texts message messages screen".split()),
}
_TEXT_REPLACEMENTS = str.maketrans({"—": "-", "–": "-", "…": "...", "‘": "'", "’": "'", "\n": " "})


@dataclass(frozen=True)
class Viewport:
    """The shot's own frame inside the larger keyframe, in keyframe pixels; `at` maps fractions of it."""

    x: float
    y: float
    w: float
    h: float

    def at(self, fx: float, fy: float) -> Point:
        return self.x + fx * self.w, self.y + fy * self.h


@dataclass(frozen=True)
class Silhouette:
    """A character's body shape in units of its full height (head top 0, feet 1, centre line x = 0)."""

    head_h: float
    head_w: float
    square_head: bool
    neck_h: float
    shoulder_w: float
    waist_w: float
    hip_y: float
    hem_w: float
    arm_w: float
    headwear: str

    @classmethod
    def from_id(cls, character_id: str) -> Silhouette:
        """Derive the shape from the id alone, so a character keeps its shape across shots and seeds."""
        u = [b / 255 for b in hashlib.sha256(character_id.encode()).digest()]
        head_h = 0.12 + 0.035 * u[0]
        shoulder_w = 0.23 + 0.09 * u[4]
        return cls(
            head_h=head_h,
            head_w=head_h * (0.7 + 0.22 * u[1]),
            square_head=u[2] > 0.72,
            neck_h=0.018 + 0.02 * u[3],
            shoulder_w=shoulder_w,
            waist_w=shoulder_w * (0.58 + 0.3 * u[5]),
            hip_y=0.52 + 0.05 * u[6],
            hem_w=shoulder_w * (1.0 + 0.35 * u[7]) if u[8] > 0.6 else 0.0,
            arm_w=0.05 + 0.025 * u[9],
            headwear=("none", "short", "long", "bun", "hat")[int(u[10] * 4.999)],
        )

    @property
    def shoulder_y(self) -> float:
        return self.head_h + self.neck_h


def keyframe_size(width: int, height: int) -> tuple[int, int]:
    """The keyframe size for a shot of `width` x `height`: `OVERSCAN` times larger, rounded to even."""
    return 2 * round(width * OVERSCAN / 2), 2 * round(height * OVERSCAN / 2)


def parse_colour(value: str) -> RGB | None:
    try:
        return ImageColor.getrgb(value)[:3]
    except ValueError:
        return None


def dominant_colour(path: Path) -> RGB | None:
    """The most common colour of an image, ignoring near-white, near-black and transparent backdrops.

    Returns None when the file is missing or unreadable, so callers fall back to a known colour.
    """
    try:
        with Image.open(path) as image:
            rgba = image.convert("RGBA")
    except (OSError, ValueError):
        return None
    rgba.thumbnail((96, 96))
    pixels = np.asarray(rgba).reshape(-1, 4)
    rgb = pixels[:, :3].astype(np.int32)
    keep = (pixels[:, 3] > 128) & (rgb.max(axis=1) > 24) & (rgb.min(axis=1) < 232)
    chosen = rgb[keep] if keep.sum() >= 0.05 * len(rgb) else rgb[pixels[:, 3] > 128]
    if len(chosen) == 0:
        return None
    bins = chosen // 16
    keys = bins[:, 0] * 256 + bins[:, 1] * 16 + bins[:, 2]
    values, counts = np.unique(keys, return_counts=True)
    members = chosen[keys == values[np.argmax(counts)]]
    return tuple(int(c) for c in np.median(members, axis=0).round())


def signature_colour(member: CastMember) -> RGB:
    """A cast member's fill: the dominant colour of its first reference image if readable, else `color`."""
    if member.reference_images:
        picked = dominant_colour(Path(member.reference_images[0]))
        if picked is not None:
            return picked
    return ImageColor.getrgb(member.color)[:3]


def printable(text: str) -> str:
    """Text reduced to what the bundled font can draw (accents dropped, dashes and ellipses spelled out)."""
    text = unicodedata.normalize("NFKD", text.translate(_TEXT_REPLACEMENTS))
    return "".join(c for c in text if not unicodedata.combining(c)).strip()


def words_of(*texts: str) -> set[str]:
    """The lower-case words of `texts`, for matching whole words ("trains" is not "rain")."""
    return set(re.findall(r"[a-z]+", " ".join(texts).lower()))


def font(size: float) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=max(8, round(size)))


def wrap_text(text: str, face: ImageFont.FreeTypeFont | ImageFont.ImageFont, width: float) -> list[str]:
    """Greedy word wrap to `width` pixels; every word is kept whole (one wider than `width` gets a line alone)."""
    lines: list[str] = []
    for word in printable(text).split():
        if lines and face.getlength(f"{lines[-1]} {word}") <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines


CAPTION_LINES = 3
"""Lines a caption takes at its full size; a longer caption gets a smaller font before it gets more lines."""


def fit_caption(
    text: str, width: float, height: int
) -> tuple[ImageFont.FreeTypeFont | ImageFont.ImageFont, list[str], int]:
    """The font, lines and line height for a caption of whole words in a frame `height` pixels tall.

    The largest size from 5.2% of the height down to 3% at which every line fits `width` in three lines; else
    more lines at 3%, up to half the frame; else, for text longer than any frame holds, all of it at 3%. No
    word is cut and no ellipsis is added: what a caption says was chosen upstream, in whole sentences.
    """
    smallest = max(8.0, height * 0.03)
    sizes = [height * 0.052 * 0.9**step for step in range(8)]
    sizes = [size for size in sizes if size > smallest] + [smallest]
    for max_lines in (CAPTION_LINES, None):
        for size in sizes if max_lines else sizes[-1:]:
            face = font(size)
            lines = wrap_text(text, face, width)
            line_height = caption_line_height(face)
            fits = all(face.getlength(line) <= width for line in lines)
            room = max_lines or max(CAPTION_LINES, int(height / 2 // line_height))
            if fits and len(lines) <= room:
                return face, lines, line_height
    return face, lines, line_height


def caption_line_height(face: ImageFont.FreeTypeFont | ImageFont.ImageFont) -> int:
    top, bottom = face.getbbox("Ag")[1], face.getbbox("Ag")[3]
    return round((bottom - top) * 1.5)


def _fit(line: str, face: ImageFont.FreeTypeFont | ImageFont.ImageFont, width: float) -> str:
    """A name label cut to `width` with an ellipsis; never used for sentences, which `fit_caption` wraps."""
    if face.getlength(line) <= width:
        return line
    stem = line
    while stem and face.getlength(stem + "...") > width:
        stem = stem[:-1]
    return stem.rstrip() + "..."


def _mix(a: Sequence[float], b: Sequence[float], t: float) -> RGB:
    return tuple(int(round(x + (y - x) * t)) for x, y in zip(a, b, strict=True))


def _shade(colour: RGB, factor: float) -> RGB:
    return tuple(max(MIN_LEVEL, int(c * factor)) for c in colour)


def _palette(spec: ShotSpec) -> tuple[RGB, RGB, RGB]:
    """Sky or wall, ground or floor, accent: the spec's colours first, defaults for whatever is missing."""
    colours = [c for c in (parse_colour(p) for p in spec.palette) if c is not None]
    sky, ground = (colours + [ImageColor.getrgb(p)[:3] for p in DEFAULT_PALETTE])[:2]
    accent = colours[2] if len(colours) > 2 else _mix(_mix(sky, ground, 0.5), (40, 40, 50), 0.35)
    return sky, ground, accent


def _gradient(top: RGB, bottom: RGB, y0: int, y1: int, canvas: np.ndarray) -> None:
    t = np.linspace(0.0, 1.0, max(1, y1 - y0), dtype=np.float32)[:, None]
    rows = np.asarray(top, np.float32) + (np.asarray(bottom, np.float32) - np.asarray(top, np.float32)) * t
    canvas[y0:y1] = rows[:, None, :]


def _grade(canvas: np.ndarray, time_of_day: TimeOfDay) -> np.ndarray:
    """Light the background for the time of day: night dark and blue, dawn and dusk warm, day as painted."""
    tint, amount, gain = _TINTS[time_of_day]
    lit = canvas * gain
    return lit + (np.asarray(tint, np.float32) - lit) * amount


def _paint_exterior(
    spec: ShotSpec, frame: Viewport, size: tuple[int, int], rng: np.random.Generator
) -> tuple[Image.Image, Image.Image]:
    """Sky, far hills or skyline, and ground; returns the picture and a mask of the open sky."""
    sky, ground, accent = _palette(spec)
    width, height = size
    horizon = int(frame.at(0, 0.56)[1])
    canvas = np.empty((height, width, 3), np.float32)
    _gradient(sky, _mix(sky, (255, 255, 255), 0.28), 0, horizon, canvas)
    _gradient(_mix(ground, sky, 0.12), _shade(ground, 0.82), horizon, height, canvas)
    image = Image.fromarray(canvas.clip(0, 255).astype(np.uint8))
    open_sky = Image.new("L", size, 0)
    ImageDraw.Draw(open_sky).rectangle([0, 0, width, horizon - 1], fill=255)
    draw, mask = ImageDraw.Draw(image), ImageDraw.Draw(open_sky)
    far = _skyline if words_of(spec.setting_name, spec.prompt) & _CITY_WORDS else _hills
    for polygon, tone in far(width, horizon, frame.h, rng):
        draw.polygon(polygon, fill=_shade(accent, tone))
        mask.polygon(polygon, fill=0)
    for _ in range(int(rng.integers(4, 8))):
        y = horizon + (height - horizon) * rng.uniform(0.1, 0.95) ** 1.6
        x = rng.uniform(0, width)
        length = rng.uniform(0.05, 0.25) * width
        draw.line([(x, y), (x + length, y)], fill=_shade(ground, 0.72), width=max(1, round(frame.h / 180)))
    return image, open_sky


def _hills(width: int, horizon: int, scale: float, rng: np.random.Generator) -> list[tuple[list[Point], float]]:
    xs = np.linspace(0, width, 48)
    layers = []
    for layer, (amp, tone) in enumerate(((0.16, 0.85), (0.09, 1.0))):
        phases = rng.uniform(0, 2 * np.pi, 3)
        waves = sum(np.sin(xs / width * np.pi * (k + 1.3 + layer) + p) / (k + 1) for k, p in enumerate(phases))
        ys = horizon - scale * amp * (0.55 + 0.3 * waves)
        layers.append(([(0.0, horizon + 1.0), *zip(xs, ys, strict=True), (float(width), horizon + 1.0)], tone))
    return layers


def _skyline(width: int, horizon: int, scale: float, rng: np.random.Generator) -> list[tuple[list[Point], float]]:
    blocks = []
    for tone, tall in ((0.8, 0.42), (1.0, 0.26)):
        x = -rng.uniform(0, 0.1) * scale
        while x < width:
            w = rng.uniform(0.1, 0.24) * scale
            top = horizon - rng.uniform(0.35, 1.0) * tall * scale
            blocks.append(([(x, horizon + 1), (x, top), (x + w, top), (x + w, horizon + 1)], tone))
            x += w + rng.uniform(0.0, 0.05) * scale
    return blocks


def _paint_interior(
    spec: ShotSpec, frame: Viewport, size: tuple[int, int], rng: np.random.Generator
) -> tuple[Image.Image, Image.Image]:
    """Panelled wall, skirting, boards and a door; returns the picture and a mask of its window onto the sky."""
    wall, floor, accent = _palette(spec)
    width, height = size
    floor_y = int(frame.at(0, 0.64)[1])
    canvas = np.empty((height, width, 3), np.float32)
    _gradient(_shade(wall, 0.9), wall, 0, floor_y, canvas)
    _gradient(floor, _shade(floor, 0.78), floor_y, height, canvas)
    image = Image.fromarray(canvas.clip(0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    line = max(1, round(frame.h / 150))
    spacing = frame.w * rng.uniform(0.16, 0.24)
    for x in np.arange(rng.uniform(0, spacing), width, spacing):
        draw.line([(x, 0), (x, floor_y)], fill=_shade(wall, 0.86), width=line)
    draw.rectangle([0, floor_y - frame.h * 0.03, width, floor_y], fill=_shade(accent, 0.8))
    for y in np.linspace(floor_y, height, 7)[1:]:
        draw.line([(0, y), (width, y)], fill=_shade(floor, 0.85), width=line)
    window_x = rng.uniform(0.1, 0.62)
    door_x = frame.at(0.8 if window_x < 0.4 else 0.05, 0)[0]
    draw.rectangle([door_x, floor_y - frame.h * 0.5, door_x + frame.w * 0.13, floor_y], fill=_shade(accent, 0.9))
    x0, y0 = frame.at(window_x, 0.12)
    x1, y1 = x0 + frame.w * 0.24, y0 + frame.h * 0.3
    border = max(2, round(frame.h / 60))
    draw.rectangle([x0, y0, x1, y1], fill=_shade(accent, 0.6))
    pane = Image.new("L", size, 0)
    pane_draw = ImageDraw.Draw(pane)
    for left, right in ((x0 + border, (x0 + x1) / 2 - border / 2), ((x0 + x1) / 2 + border / 2, x1 - border)):
        pane_draw.rectangle([left, y0 + border, right, y1 - border], fill=255)
    return image, pane


def _sky_lights(
    frame: Viewport, size: tuple[int, int], time_of_day: TimeOfDay, rng: np.random.Generator
) -> tuple[Image.Image, Image.Image]:
    """Sky seen through a window, with sun, moon or stars for the time of day; and a mask of those bodies.

    Drawn after grading, because they are light rather than lit surfaces.
    """
    light = Image.new("RGB", size, _SKY_LIGHT[time_of_day])
    bodies = Image.new("L", size, 0)
    draws = (ImageDraw.Draw(light), ImageDraw.Draw(bodies))
    radius = frame.h * 0.06
    if time_of_day is TimeOfDay.NIGHT:
        width, height = size
        for x, y in zip(rng.uniform(0, width, 70), rng.uniform(0, height * 0.6, 70), strict=True):
            _disc(draws, (x, y), rng.uniform(0.6, 1.6), (214, 222, 255))
        _disc(draws, frame.at(rng.uniform(0.6, 0.85), 0.14), radius * 0.8, (236, 238, 250))
    elif time_of_day is TimeOfDay.DAY:
        _disc(draws, frame.at(rng.uniform(0.65, 0.9), 0.12), radius * 0.7, (255, 246, 210))
    else:
        _disc(draws, frame.at(rng.uniform(0.2, 0.8), 0.5), radius * 1.3, (255, 196, 120))
    return light, bodies


def _disc(draws: tuple[ImageDraw.ImageDraw, ImageDraw.ImageDraw], centre: Point, radius: float, colour: RGB) -> None:
    x, y = centre
    box = [x - radius, y - radius, x + radius, y + radius]
    draws[0].ellipse(box, fill=colour)
    draws[1].ellipse(box, fill=255)


def _paint_table(
    image: Image.Image, sky: Image.Image, spec: ShotSpec, frame: Viewport, rng: np.random.Generator
) -> None:
    """An insert's tabletop and a prop named in the caption (letter, cup, key, phone), else one the seed picks."""
    _, ground, accent = _palette(spec)
    draw = ImageDraw.Draw(image)
    top = frame.at(0, 0.42)[1]
    surface = _mix(accent, ground, 0.35)
    draw.rectangle([0, top, image.width, image.height], fill=surface)
    ImageDraw.Draw(sky).rectangle([0, top, image.width, image.height], fill=0)
    for y in np.sort(rng.uniform(top, image.height, 9)):
        draw.line([(0, y), (image.width, y + rng.uniform(-4, 4))], fill=_shade(surface, 0.86), width=2)
    words = words_of(spec.caption, spec.prompt)
    prop = next((name for name, keys in _PROPS.items() if words & keys), None)
    prop = prop or ("letter", "cup", "key", "phone")[int(rng.integers(0, 4))]
    _draw_prop(draw, prop, frame.at(0.42, 0.62), frame.h, accent)


def _draw_prop(draw: ImageDraw.ImageDraw, prop: str, centre: Point, scale: float, accent: RGB) -> None:
    x, y = centre
    s = scale
    if prop == "letter":
        draw.polygon(
            [
                (x - 0.3 * s, y - 0.12 * s),
                (x + 0.26 * s, y - 0.18 * s),
                (x + 0.3 * s, y + 0.14 * s),
                (x - 0.26 * s, y + 0.2 * s),
            ],
            fill=(236, 230, 214),
        )
        for k in range(4):
            yy = y - 0.08 * s + k * 0.07 * s
            draw.line(
                [(x - 0.2 * s, yy), (x + 0.18 * s, yy - 0.02 * s)], fill=(120, 120, 136), width=max(1, round(s / 120))
            )
    elif prop == "cup":
        draw.rectangle([x - 0.12 * s, y - 0.2 * s, x + 0.12 * s, y + 0.12 * s], fill=_shade(accent, 1.2))
        draw.ellipse(
            [x + 0.08 * s, y - 0.12 * s, x + 0.22 * s, y + 0.04 * s], outline=_shade(accent, 1.2), width=round(s * 0.03)
        )
        draw.ellipse([x - 0.12 * s, y - 0.25 * s, x + 0.12 * s, y - 0.15 * s], fill=_shade(accent, 0.6))
    elif prop == "key":
        gold = (214, 176, 84)
        draw.ellipse([x - 0.22 * s, y - 0.1 * s, x - 0.04 * s, y + 0.08 * s], outline=gold, width=round(s * 0.035))
        draw.rectangle([x - 0.05 * s, y - 0.02 * s, x + 0.26 * s, y + 0.02 * s], fill=gold)
        draw.rectangle([x + 0.16 * s, y, x + 0.2 * s, y + 0.07 * s], fill=gold)
    else:
        draw.rounded_rectangle(
            [x - 0.1 * s, y - 0.2 * s, x + 0.1 * s, y + 0.18 * s], radius=0.03 * s, fill=(40, 42, 52)
        )
        draw.rectangle([x - 0.085 * s, y - 0.17 * s, x + 0.085 * s, y + 0.13 * s], fill=(120, 170, 220))


def _draw_hand(draw: ImageDraw.ImageDraw, frame: Viewport, colour: RGB, right_edge: float) -> None:
    """A sleeve and hand reaching in from the right, the insert's trace of the character."""
    s = frame.h
    wrist = frame.at(0.6, 0.66)
    sleeve = [
        (right_edge, wrist[1] - 0.2 * s),
        (right_edge, wrist[1] + 0.34 * s),
        (wrist[0] + 0.06 * s, wrist[1] + 0.12 * s),
        (wrist[0] + 0.02 * s, wrist[1] - 0.1 * s),
    ]
    draw.polygon(sleeve, fill=colour)
    palm = (wrist[0] - 0.1 * s, wrist[1] - 0.1 * s, wrist[0] + 0.08 * s, wrist[1] + 0.1 * s)
    draw.ellipse(palm, fill=colour)
    for k in range(4):
        fy = wrist[1] - 0.08 * s + k * 0.045 * s
        draw.rounded_rectangle(
            [wrist[0] - 0.2 * s, fy, wrist[0] - 0.04 * s, fy + 0.035 * s], radius=0.017 * s, fill=colour
        )
    draw.rounded_rectangle(
        [wrist[0] - 0.1 * s, wrist[1] + 0.06 * s, wrist[0] - 0.02 * s, wrist[1] + 0.11 * s],
        radius=0.02 * s,
        fill=colour,
    )


def draw_figure(
    draw: ImageDraw.ImageDraw, shape: Silhouette, centre_x: float, top: float, height: float, colour: RGB
) -> None:
    """Draw a silhouette `height` pixels tall, head top at `top`; hair and hats in a darker shade."""

    def p(x: float, y: float) -> Point:
        return centre_x + x * height, top + y * height

    hair = _shade(colour, 0.55)
    s = shape
    sw, ww, sy = s.shoulder_w / 2, s.waist_w / 2, s.shoulder_y
    leg_w, gap = s.waist_w * 0.42, s.waist_w * 0.08
    for side in (-1, 1):
        inner, outer = side * gap / 2, side * (gap / 2 + leg_w)
        draw.polygon(
            [p(inner, s.hip_y - 0.02), p(outer, s.hip_y - 0.02), p(outer * 0.85, 1.0), p(inner + side * 0.012, 1.0)],
            fill=colour,
        )
    if s.headwear == "long":
        draw.rounded_rectangle(
            [p(-s.head_w * 0.62, -0.01), p(s.head_w * 0.62, sy + 0.05)], radius=s.head_w * 0.4 * height, fill=hair
        )
    draw.rectangle([p(-s.head_w * 0.23, s.head_h * 0.8), p(s.head_w * 0.23, sy + 0.02)], fill=colour)
    draw.polygon(
        [p(-sw * 0.82, sy), p(sw * 0.82, sy), p(sw, sy + 0.035), p(ww, s.hip_y), p(-ww, s.hip_y), p(-sw, sy + 0.035)],
        fill=colour,
    )
    if s.hem_w:
        hem_y = s.hip_y + 0.2
        draw.polygon(
            [p(-ww, s.hip_y - 0.01), p(ww, s.hip_y - 0.01), p(s.hem_w / 2, hem_y), p(-s.hem_w / 2, hem_y)], fill=colour
        )
    for side in (-1, 1):
        hand_y = s.hip_y + 0.05
        draw.polygon(
            [
                p(side * (sw - s.arm_w * 0.6), sy + 0.012),
                p(side * (sw + s.arm_w * 0.35), sy + 0.035),
                p(side * (ww + s.arm_w * 1.25), hand_y),
                p(side * (ww + s.arm_w * 0.25), hand_y),
            ],
            fill=colour,
        )
        hx = side * (ww + s.arm_w * 0.75)
        draw.ellipse([p(hx - s.arm_w * 0.55, hand_y - 0.02), p(hx + s.arm_w * 0.55, hand_y + 0.035)], fill=colour)
    head = [p(-s.head_w / 2, 0), p(s.head_w / 2, s.head_h)]
    if s.square_head:
        draw.rounded_rectangle(head, radius=s.head_w * 0.3 * height, fill=colour)
    else:
        draw.ellipse(head, fill=colour)
    _draw_headwear(draw, s, p, hair)


def _draw_headwear(draw: ImageDraw.ImageDraw, s: Silhouette, p: Callable[[float, float], Point], hair: RGB) -> None:
    crown = [p(-s.head_w * 0.54, -0.012), p(s.head_w * 0.54, s.head_h * 0.75)]
    if s.headwear in ("short", "long", "bun"):
        draw.chord(crown, 180, 360, fill=hair)
    if s.headwear == "bun":
        draw.ellipse([p(-s.head_w * 0.22, -0.05), p(s.head_w * 0.22, 0.01)], fill=hair)
    if s.headwear == "hat":
        draw.rectangle([p(-s.head_w * 0.85, s.head_h * 0.16), p(s.head_w * 0.85, s.head_h * 0.26)], fill=hair)
        draw.rectangle([p(-s.head_w * 0.48, -0.045), p(s.head_w * 0.48, s.head_h * 0.2)], fill=hair)


def _draw_label(draw: ImageDraw.ImageDraw, text: str, anchor: Point, frame: Viewport, colour: RGB) -> None:
    """A name tag centred on `anchor`, kept inside the shot's frame."""
    face = font(frame.h * 0.042)
    label = _fit(printable(text), face, frame.w * 0.3)
    pad = max(3.0, frame.h * 0.012)
    left, top, right, bottom = face.getbbox(label)
    w, h = right - left + 2 * pad, bottom - top + 2 * pad
    x = min(max(anchor[0] - w / 2, frame.x + pad), frame.x + frame.w - w - pad)
    y = min(max(anchor[1] - h / 2, frame.y + pad), frame.y + frame.h - h - pad)
    draw.rounded_rectangle(
        [x, y, x + w, y + h], radius=pad, fill=LABEL_FILL, outline=colour, width=max(1, round(pad / 2))
    )
    draw.text((x + pad - left, y + pad - top), label, font=face, fill=LABEL_TEXT)


@dataclass(frozen=True)
class _Placement:
    member: CastMember
    shape: Silhouette
    colour: RGB
    x: float
    top: float
    height: float
    label: Point


def _placements(spec: ShotSpec, frame: Viewport) -> list[_Placement]:
    """Where each visible cast member stands for the framing: full figures, waist-up, or head and shoulders."""
    cast = spec.cast[: MAX_FIGURES[spec.framing]]
    placed = []
    for index, member in enumerate(cast):
        shape = Silhouette.from_id(member.id)
        if spec.framing is Framing.WIDE:
            height = frame.h * 0.36
            x, top = frame.at((index + 1) / (len(cast) + 1), 0.78 - 0.36)
            label = (x, top - frame.h * 0.05)
        elif spec.framing is Framing.MEDIUM:
            height = frame.h * 0.72 / shape.hip_y
            x, top = frame.at(0.28 + 0.44 * index / (len(cast) - 1) if len(cast) > 1 else 0.5, 0.12)
            label = (x + shape.head_w * height * 0.5 + frame.w * 0.09, top + shape.head_h * height * 0.55)
        else:
            height = frame.h * 0.98 / (shape.shoulder_y + 0.1)
            x, top = frame.at(0.5, 0.06)
            label = frame.at(0.1, 0.62)
        placed.append(_Placement(member, shape, signature_colour(member), x, top, height, label))
    return placed


def _paint_cast(image: Image.Image, spec: ShotSpec, frame: Viewport) -> None:
    draw = ImageDraw.Draw(image)
    if spec.framing is Framing.INSERT:
        if spec.cast:
            _draw_hand(draw, frame, signature_colour(spec.cast[0]), image.width)
        return
    placed = _placements(spec, frame)
    for p in placed:
        draw_figure(draw, p.shape, p.x, p.top, p.height, p.colour)
    for p in placed:
        _draw_label(draw, p.member.name, p.label, frame, p.colour)


def render_keyframe(spec: ShotSpec) -> Image.Image:
    """Paint `spec`'s keyframe: background for the setting and time of day, then the cast for the framing."""
    size = keyframe_size(spec.width, spec.height)
    inner_w, inner_h = size[0] / OVERSCAN, size[1] / OVERSCAN
    frame = Viewport((size[0] - inner_w) / 2, (size[1] - inner_h) / 2, inner_w, inner_h)
    rng = np.random.default_rng(spec.seed)
    paint = _paint_interior if spec.interior else _paint_exterior
    image, sky = paint(spec, frame, size, rng)
    if spec.framing is Framing.INSERT:
        _paint_table(image, sky, spec, frame, rng)
    graded = _grade(np.asarray(image, np.float32), spec.time_of_day)
    image = Image.fromarray(graded.clip(MIN_LEVEL, 255).round().astype(np.uint8))
    light, bodies = _sky_lights(frame, size, spec.time_of_day, rng)
    image.paste(light, mask=sky if spec.interior else ImageChops.multiply(sky, bodies))
    _paint_cast(image, spec, frame)
    return Image.fromarray(np.maximum(np.asarray(image), MIN_LEVEL))


def temp_path_for(out: Path) -> Path:
    """A unique hidden sibling of `out` with the same suffix, so a writer can infer the format from it."""
    return out.with_name(f".{out.stem}.{os.getpid()}.{uuid.uuid4().hex[:8]}.part{out.suffix}")


def save_atomically(image: Image.Image, out: Path) -> None:
    """Write through a temporary file in the same folder, so an interrupted write never leaves half a file."""
    out.parent.mkdir(parents=True, exist_ok=True)
    temp = temp_path_for(out)
    try:
        image.save(temp, format="PNG")
        os.replace(temp, out)
    finally:
        temp.unlink(missing_ok=True)


class AnimaticImageBackend:
    """Procedural storyboard keyframes: setting, light and silhouettes in the cast's colours, no model."""

    name: ClassVar[str] = "animatic"
    supports_reference_image: ClassVar[bool] = True
    max_prompt_tokens: ClassVar[int | None] = None
    """It reads no tokens, so it cuts nothing: its prompts keep every look word the critic checks for."""

    @classmethod
    def from_settings(cls, settings: Settings) -> AnimaticImageBackend:
        return cls()

    @property
    def model(self) -> str:
        return MODEL

    @property
    def parameters(self) -> dict[str, str | int | float | bool]:
        return {}

    def generate(self, spec: ShotSpec, out: Path) -> ImageResult:
        """Render `spec`'s keyframe, `OVERSCAN` times the shot's size, to the PNG file `out`."""
        out = Path(out)
        try:
            image = render_keyframe(spec)
            save_atomically(image, out)
        except OSError as error:
            raise BackendError(
                f"animatic could not write the keyframe of shot {spec.shot_id} to {out}: {error}"
            ) from error
        return ImageResult(path=out, width=image.width, height=image.height, backend=self.name, model=self.model)
