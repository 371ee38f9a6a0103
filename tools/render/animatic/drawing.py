"""What the animatic's keyframes, clips and contact sheets share: overscan, fonts, captions, colours, text.

The animatic image backend (`keyframe.py`, `figures.py`) paints with these; the clip backend letters its
captions and slates with the same fonts and fitting, and video backends and the storyboard crop by `OVERSCAN`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageColor, ImageFont

from tools.render.spec import CastMember

OVERSCAN = 1.25
MODEL = "animatic-1"
MIN_LEVEL = 8
LABEL_FILL = (22, 24, 34)
LABEL_TEXT = (240, 240, 240)

RGB = tuple[int, int, int]
Point = tuple[float, float]

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


def figure_colour(member: CastMember) -> RGB:
    """The colour a cast member's figure is drawn in: its first reference image's dominant colour, else `color`."""
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


def fit_label(line: str, face: ImageFont.FreeTypeFont | ImageFont.ImageFont, width: float) -> str:
    """A name label cut to `width` with an ellipsis; never used for sentences, which `fit_caption` wraps."""
    if face.getlength(line) <= width:
        return line
    stem = line
    while stem and face.getlength(stem + "...") > width:
        stem = stem[:-1]
    return stem.rstrip() + "..."


def mix(a: Sequence[float], b: Sequence[float], t: float) -> RGB:
    return tuple(int(round(x + (y - x) * t)) for x, y in zip(a, b, strict=True))


def shade(colour: RGB, factor: float) -> RGB:
    return tuple(max(MIN_LEVEL, int(c * factor)) for c in colour)
