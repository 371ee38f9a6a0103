"""What the cut draws over the picture: the title card and the burned-in subtitle strips.

Each is drawn once with Pillow, in its bundled font so no system fonts are needed, and saved as a PNG that
ffmpeg's filter graph lays over the film (`tools.edit.filter_graph`).
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from tools.edit.plan import CutPlan

CARD_COLOUR = (14, 14, 20)
TITLE_COLOUR = (236, 232, 220)
LOGLINE_COLOUR = (170, 168, 160)
SUBTITLE_BOX_RGBA = (0, 0, 0, 170)
SUBTITLE_TEXT_RGBA = (255, 255, 255, 255)


PNG_COMPRESSION = 1
"""zlib level for the overlay PNGs: they are read once, a moment later, so speed beats size."""


def save_png(image: Image.Image, path: Path) -> Path:
    """Write an overlay for ffmpeg to read."""
    image.save(path, format="PNG", compress_level=PNG_COMPRESSION)
    return path


def title_card(plan: CutPlan) -> Image.Image:
    """Title and logline centred on a dark card, with Pillow's bundled font so no system fonts are needed."""
    width, height = plan.width, plan.height
    card = Image.new("RGB", (width, height), CARD_COLOUR)
    draw = ImageDraw.Draw(card)
    title_font = ImageFont.load_default(size=max(12, height // 9))
    logline_font = ImageFont.load_default(size=max(9, height // 24))
    max_width = int(width * 0.86)
    blocks = [(wrap_text(plan.title, title_font, max_width), title_font, TITLE_COLOUR)]
    if plan.logline.strip():
        blocks.append((wrap_text(plan.logline, logline_font, max_width), logline_font, LOGLINE_COLOUR))
    gap = max(4, height // 30)
    heights = [_line_height(font) * len(lines) for lines, font, _ in blocks]
    y = (height - sum(heights) - gap * (len(blocks) - 1)) / 2
    for lines, font, colour in blocks:
        for line in lines:
            x = (width - font.getlength(line)) / 2
            draw.text((x, y), line, font=font, fill=colour)
            y += _line_height(font)
        y += gap
    return card


def subtitle_overlay(text: str, size: tuple[int, int]) -> tuple[Image.Image, tuple[int, int]]:
    """An RGBA strip with the wrapped line on a translucent box, and where it sits near the bottom."""
    width, height = size
    font = ImageFont.load_default(size=max(10, height // 16))
    pad = max(2, height // 60)
    lines = wrap_text(text, font, int(width * 0.9) - 2 * pad)
    line_height = _line_height(font)
    box_w = min(width, int(max(font.getlength(line) for line in lines)) + 2 * pad)
    box_h = line_height * len(lines) + 2 * pad
    overlay = Image.new("RGBA", (box_w, box_h), SUBTITLE_BOX_RGBA)
    draw = ImageDraw.Draw(overlay)
    for row, line in enumerate(lines):
        x = (box_w - font.getlength(line)) / 2
        draw.text((x, pad + row * line_height), line, font=font, fill=SUBTITLE_TEXT_RGBA)
    position = ((width - box_w) // 2, max(0, height - box_h - max(2, height // 24)))
    return overlay, position


def on_even_grid(image: Image.Image, position: tuple[int, int]) -> tuple[Image.Image, tuple[int, int]]:
    """The same overlay moved onto even coordinates by a transparent margin, at the same place on screen.

    ffmpeg's `overlay` rounds an odd position down to the 4:2:0 chroma grid, which would shift the strip a pixel.
    """
    x, y = position
    if x % 2 == 0 and y % 2 == 0:
        return image, position
    moved = Image.new("RGBA", (image.width + x % 2, image.height + y % 2), (0, 0, 0, 0))
    moved.paste(image, (x % 2, y % 2))
    return moved, (x - x % 2, y - y % 2)


def wrap_text(text: str, font: ImageFont.FreeTypeFont, max_width: int) -> list[str]:
    """Greedy word wrap by rendered width; a single over-long word keeps its own line."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}".strip()
        if current and font.getlength(candidate) > max_width:
            lines.append(current)
            current = word
        else:
            current = candidate
    if current:
        lines.append(current)
    return lines or [""]


def _line_height(font: ImageFont.FreeTypeFont) -> int:
    ascent, descent = font.getmetrics()
    return ascent + descent
