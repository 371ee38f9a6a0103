"""The animatic's people: a silhouette per character (the same in every shot), hands, and name tags."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from PIL import Image, ImageDraw

from tools.render.animatic.drawing import (
    LABEL_FILL,
    LABEL_TEXT,
    RGB,
    Point,
    Viewport,
    figure_colour,
    fit_label,
    font,
    printable,
    shade,
)
from tools.render.spec import CastMember, Framing, ShotSpec

MAX_FIGURES = {Framing.WIDE: 6, Framing.MEDIUM: 2, Framing.CLOSE_UP: 1, Framing.INSERT: 0}


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

    hair = shade(colour, 0.55)
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
    label = fit_label(printable(text), face, frame.w * 0.3)
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
        placed.append(_Placement(member, shape, figure_colour(member), x, top, height, label))
    return placed


def paint_cast(image: Image.Image, spec: ShotSpec, frame: Viewport) -> None:
    draw = ImageDraw.Draw(image)
    if spec.framing is Framing.INSERT:
        if spec.cast:
            _draw_hand(draw, frame, figure_colour(spec.cast[0]), image.width)
        return
    placed = _placements(spec, frame)
    for p in placed:
        draw_figure(draw, p.shape, p.x, p.top, p.height, p.colour)
    for p in placed:
        _draw_label(draw, p.member.name, p.label, frame, p.colour)
