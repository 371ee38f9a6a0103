"""The animatic image backend: a procedural storyboard keyframe, drawn on the CPU with no model.

The keyframe is `OVERSCAN` times larger than the shot so that a video backend can realise camera moves by
moving a crop window over it; the shot's own frame is the centred `1 / OVERSCAN` part. Background detail
varies with the seed; a character's silhouette depends only on its id, so it is the same in every shot.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np
from PIL import Image, ImageChops, ImageColor, ImageDraw

from tools.files import atomic_path
from tools.render.animatic.drawing import (
    MIN_LEVEL,
    MODEL,
    OVERSCAN,
    RGB,
    Point,
    Viewport,
    keyframe_size,
    mix,
    parse_colour,
    shade,
    words_of,
)
from tools.render.animatic.figures import paint_cast
from tools.render.base import BackendError, ImageResult
from tools.render.spec import Framing, ShotSpec, TimeOfDay
from tools.settings import Settings

DEFAULT_PALETTE = ("#86acd0", "#7f8c5c", "#b59f7a")

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


def _palette(spec: ShotSpec) -> tuple[RGB, RGB, RGB]:
    """Sky or wall, ground or floor, accent: the spec's colours first, defaults for whatever is missing."""
    colours = [c for c in (parse_colour(p) for p in spec.palette) if c is not None]
    sky, ground = (colours + [ImageColor.getrgb(p)[:3] for p in DEFAULT_PALETTE])[:2]
    accent = colours[2] if len(colours) > 2 else mix(mix(sky, ground, 0.5), (40, 40, 50), 0.35)
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
    _gradient(sky, mix(sky, (255, 255, 255), 0.28), 0, horizon, canvas)
    _gradient(mix(ground, sky, 0.12), shade(ground, 0.82), horizon, height, canvas)
    image = Image.fromarray(canvas.clip(0, 255).astype(np.uint8))
    open_sky = Image.new("L", size, 0)
    ImageDraw.Draw(open_sky).rectangle([0, 0, width, horizon - 1], fill=255)
    draw, mask = ImageDraw.Draw(image), ImageDraw.Draw(open_sky)
    far = _skyline if words_of(spec.setting_name, spec.prompt) & _CITY_WORDS else _hills
    for polygon, tone in far(width, horizon, frame.h, rng):
        draw.polygon(polygon, fill=shade(accent, tone))
        mask.polygon(polygon, fill=0)
    for _ in range(int(rng.integers(4, 8))):
        y = horizon + (height - horizon) * rng.uniform(0.1, 0.95) ** 1.6
        x = rng.uniform(0, width)
        length = rng.uniform(0.05, 0.25) * width
        draw.line([(x, y), (x + length, y)], fill=shade(ground, 0.72), width=max(1, round(frame.h / 180)))
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
    _gradient(shade(wall, 0.9), wall, 0, floor_y, canvas)
    _gradient(floor, shade(floor, 0.78), floor_y, height, canvas)
    image = Image.fromarray(canvas.clip(0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    line = max(1, round(frame.h / 150))
    spacing = frame.w * rng.uniform(0.16, 0.24)
    for x in np.arange(rng.uniform(0, spacing), width, spacing):
        draw.line([(x, 0), (x, floor_y)], fill=shade(wall, 0.86), width=line)
    draw.rectangle([0, floor_y - frame.h * 0.03, width, floor_y], fill=shade(accent, 0.8))
    for y in np.linspace(floor_y, height, 7)[1:]:
        draw.line([(0, y), (width, y)], fill=shade(floor, 0.85), width=line)
    window_x = rng.uniform(0.1, 0.62)
    door_x = frame.at(0.8 if window_x < 0.4 else 0.05, 0)[0]
    draw.rectangle([door_x, floor_y - frame.h * 0.5, door_x + frame.w * 0.13, floor_y], fill=shade(accent, 0.9))
    x0, y0 = frame.at(window_x, 0.12)
    x1, y1 = x0 + frame.w * 0.24, y0 + frame.h * 0.3
    border = max(2, round(frame.h / 60))
    draw.rectangle([x0, y0, x1, y1], fill=shade(accent, 0.6))
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
    surface = mix(accent, ground, 0.35)
    draw.rectangle([0, top, image.width, image.height], fill=surface)
    ImageDraw.Draw(sky).rectangle([0, top, image.width, image.height], fill=0)
    for y in np.sort(rng.uniform(top, image.height, 9)):
        draw.line([(0, y), (image.width, y + rng.uniform(-4, 4))], fill=shade(surface, 0.86), width=2)
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
        draw.rectangle([x - 0.12 * s, y - 0.2 * s, x + 0.12 * s, y + 0.12 * s], fill=shade(accent, 1.2))
        draw.ellipse(
            [x + 0.08 * s, y - 0.12 * s, x + 0.22 * s, y + 0.04 * s], outline=shade(accent, 1.2), width=round(s * 0.03)
        )
        draw.ellipse([x - 0.12 * s, y - 0.25 * s, x + 0.12 * s, y - 0.15 * s], fill=shade(accent, 0.6))
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
    paint_cast(image, spec, frame)
    return Image.fromarray(np.maximum(np.asarray(image), MIN_LEVEL))


def save_png(image: Image.Image, out: Path) -> None:
    """Write `image` as a PNG through a temporary file, so an interrupted write never leaves half a file."""
    with atomic_path(out) as temp:
        image.save(temp, format="PNG")


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
            save_png(image, out)
        except OSError as error:
            raise BackendError(
                f"animatic could not write the keyframe of shot {spec.shot_id} to {out}: {error}"
            ) from error
        return ImageResult(path=out, width=image.width, height=image.height, backend=self.name, model=self.model)
