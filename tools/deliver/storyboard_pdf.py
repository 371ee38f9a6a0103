"""The storyboard as a PDF: a title block, a grid of panels per landscape page, and a footer.

The PDF is drawn with reportlab in Bitstream Vera, the TrueType family that ships inside the reportlab
wheel, so em-dashes, curly quotes and Latin accents print on any machine without a system font.
"""

from __future__ import annotations

import io
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import reportlab
from reportlab.lib.colors import HexColor, white
from reportlab.lib.utils import ImageReader, simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from tools.deliver.storyboard_model import (
    COLUMNS,
    INK,
    LETTERBOX_FILL,
    MUTED,
    NOTE_FILL,
    PAPER_SIZES,
    PLACEHOLDER_FILL,
    ROWS,
    TEXT,
    Panel,
    Storyboard,
)
from tools.prose import split_sentences

ELLIPSIS = "…"
FONT_FILES = {"regular": "Vera.ttf", "bold": "VeraBd.ttf", "italic": "VeraIt.ttf"}


@dataclass(frozen=True)
class Fonts:
    """The registered Vera faces and the characters all of them can draw."""

    regular: str
    bold: str
    italic: str
    coverage: frozenset[int]

    @classmethod
    def register(cls) -> Fonts:
        folder = Path(reportlab.__file__).parent / "fonts"
        names, coverage = {}, None
        for style, filename in FONT_FILES.items():
            name = f"StoryboardVera-{style}"
            if name not in pdfmetrics.getRegisteredFontNames():
                pdfmetrics.registerFont(TTFont(name, str(folder / filename)))
            codes = frozenset(pdfmetrics.getFont(name).face.charToGlyph)
            coverage = codes if coverage is None else coverage & codes
            names[style] = name
        return cls(**names, coverage=coverage or frozenset())

    def printable(self, text: str) -> str:
        """`text` with each character Vera lacks replaced by its unaccented letters, or by '?'.

        Vera covers Latin-1 and typographic punctuation (— – ‘ ’ “ ” … • €) and some Latin Extended
        letters; anything else (ő, Cyrillic, CJK, emoji) degrades visibly rather than as an empty box.
        """
        out = []
        for char in " ".join(text.split()):
            if ord(char) in self.coverage:
                out.append(char)
                continue
            base = [c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c)]
            out.append("".join(base) if base and all(ord(c) in self.coverage for c in base) else "?")
        return "".join(out)


@dataclass(frozen=True)
class Box:
    """A rectangle in PDF points, with y measured from the bottom of the page."""

    x: float
    y: float
    w: float
    h: float

    @property
    def top(self) -> float:
        return self.y + self.h


@dataclass(frozen=True)
class PdfLayout:
    """Where things go on a landscape page: title band, a `COLUMNS` x `ROWS` grid of panels, footer."""

    page_w: float
    page_h: float
    margin: float = 28.0
    header_h: float = 58.0
    footer_h: float = 14.0
    gutter: float = 10.0
    band_h: float = 15.0
    pad: float = 5.0
    text_size: float = 7.5
    leading: float = 9.0

    @property
    def panel_w(self) -> float:
        return (self.page_w - 2 * self.margin - (COLUMNS - 1) * self.gutter) / COLUMNS

    @property
    def panel_h(self) -> float:
        grid_h = self.page_h - 2 * self.margin - self.header_h - self.footer_h
        return (grid_h - (ROWS - 1) * self.gutter) / ROWS

    def panel(self, index: int) -> Box:
        column, row = index % COLUMNS, index // COLUMNS
        x = self.margin + column * (self.panel_w + self.gutter)
        top = self.page_h - self.margin - self.header_h - row * (self.panel_h + self.gutter)
        return Box(x, top - self.panel_h, self.panel_w, self.panel_h)

    def picture(self, panel: Box, aspect: float) -> Box:
        """The picture box under the band, the panel's width across."""
        w = panel.w - 2 * self.pad
        h = w / aspect
        return Box(panel.x + self.pad, panel.top - self.band_h - self.pad - h, w, h)


def render_pdf(board: Storyboard) -> bytes:
    fonts = Fonts.register()
    layout = PdfLayout(*PAPER_SIZES[board.paper])
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=(layout.page_w, layout.page_h), pageCompression=1)
    canvas.setTitle(fonts.printable(f"{board.title}: storyboard"))
    canvas.setAuthor("Director")
    canvas.setSubject(fonts.printable(board.logline))
    pages = board.pages
    for number, page in enumerate(pages, start=1):
        if number == 1:
            _draw_title_block(canvas, board, layout, fonts)
        else:
            _draw_running_head(canvas, board, layout, fonts)
        _draw_footer(canvas, board, layout, fonts, number, len(pages))
        for index, panel in enumerate(page):
            _draw_panel(canvas, panel, layout.panel(index), layout, fonts, board.picture_aspect)
        if not board.panels:
            canvas.setFont(fonts.italic, 11)
            canvas.setFillColor(HexColor(MUTED))
            canvas.drawString(layout.margin, layout.panel(0).top - 20, "No shots planned yet.")
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _draw_title_block(canvas: Canvas, board: Storyboard, layout: PdfLayout, fonts: Fonts) -> None:
    top = layout.page_h - layout.margin
    right = layout.page_w - layout.margin
    stats_w = 210.0
    title = fit_lines(fonts.printable(board.title), fonts.bold, 18, right - layout.margin - stats_w - 12, 1)
    canvas.setFillColor(HexColor(INK))
    canvas.setFont(fonts.bold, 18)
    canvas.drawString(layout.margin, top - 18, title[0] if title else "")
    logline = fit_lines(fonts.printable(board.logline), fonts.italic, 9, right - layout.margin - stats_w - 12, 2)
    canvas.setFillColor(HexColor("#222222"))
    canvas.setFont(fonts.italic, 9)
    for i, line in enumerate(logline):
        canvas.drawString(layout.margin, top - 33 - i * 11, line)
    canvas.setFont(fonts.bold, 9)
    canvas.drawRightString(right, top - 12, fonts.printable(board.summary))
    canvas.setFont(fonts.regular, 8)
    canvas.setFillColor(HexColor(MUTED))
    canvas.drawRightString(right, top - 24, fonts.printable(board.frame))
    canvas.drawRightString(right, top - 35, f"Storyboard · {board.made.isoformat()}")
    _rule(canvas, layout, top - layout.header_h + 8)


def _draw_running_head(canvas: Canvas, board: Storyboard, layout: PdfLayout, fonts: Fonts) -> None:
    top = layout.page_h - layout.margin
    right = layout.page_w - layout.margin
    canvas.setFillColor(HexColor(INK))
    canvas.setFont(fonts.bold, 11)
    title = fit_lines(fonts.printable(board.title), fonts.bold, 11, right - layout.margin - 220, 1)
    canvas.drawString(layout.margin, top - 12, title[0] if title else "")
    canvas.setFont(fonts.regular, 8)
    canvas.setFillColor(HexColor(MUTED))
    canvas.drawRightString(right, top - 12, f"Storyboard · {board.made.isoformat()}")
    _rule(canvas, layout, top - layout.header_h + 8)


def _rule(canvas: Canvas, layout: PdfLayout, y: float) -> None:
    canvas.setStrokeColor(HexColor("#c8ccd4"))
    canvas.setLineWidth(0.5)
    canvas.line(layout.margin, y, layout.page_w - layout.margin, y)


def _draw_footer(canvas: Canvas, board: Storyboard, layout: PdfLayout, fonts: Fonts, number: int, pages: int) -> None:
    canvas.setFont(fonts.regular, 7)
    canvas.setFillColor(HexColor(MUTED))
    y = layout.margin - 2
    half = (layout.page_w - 2 * layout.margin) / 2
    credit = fit_lines(fonts.printable(f"{board.title} · {board.film_id}"), fonts.regular, 7, half, 1)
    canvas.drawString(layout.margin, y, credit[0] if credit else "")
    canvas.drawRightString(layout.page_w - layout.margin, y, f"Page {number} of {pages}")


def _draw_panel(canvas: Canvas, panel: Panel, box: Box, layout: PdfLayout, fonts: Fonts, aspect: float) -> None:
    ink = HexColor(INK)
    canvas.setStrokeColor(ink)
    canvas.setLineWidth(0.75)
    canvas.rect(box.x, box.y, box.w, box.h, stroke=1, fill=0)
    canvas.setFillColor(ink)
    canvas.rect(box.x, box.top - layout.band_h, box.w, layout.band_h, stroke=0, fill=1)
    canvas.setFillColor(white)
    canvas.setFont(fonts.bold, 8.5)
    baseline = box.top - layout.band_h + 4.5
    canvas.drawString(box.x + layout.pad, baseline, panel.label)
    canvas.setFont(fonts.regular, 7.5)
    label_w = pdfmetrics.stringWidth(panel.label, fonts.bold, 8.5)
    shot_id = fit_lines(fonts.printable(panel.shot_id), fonts.regular, 7.5, box.w - label_w - 3 * layout.pad, 1)
    canvas.drawRightString(box.x + box.w - layout.pad, baseline, shot_id[0] if shot_id else "")

    picture = layout.picture(box, aspect)
    if panel.thumbnail is not None:
        _draw_picture(canvas, panel, picture, fonts)
    else:
        _draw_placeholder(canvas, panel, picture, fonts)

    _draw_words(canvas, panel, box, picture.y, layout, fonts)


def _draw_words(canvas: Canvas, panel: Panel, box: Box, below: float, layout: PdfLayout, fonts: Fonts) -> None:
    """Heading, framing line, action and dialogue under the picture, cut to the lines the panel has room for."""
    x, width, size, indent = box.x + layout.pad, box.w - 2 * layout.pad, layout.text_size, 8.0
    first = below - layout.pad - size
    room = int((first - (box.y + layout.pad)) // layout.leading) + 1
    action, line = fonts.printable(panel.action), fonts.printable(panel.line)
    budget = max(0, room - 2)
    wanted_action = len(fit_lines(action, fonts.regular, size, width, budget))
    wanted_dialogue = 1 + len(fit_lines(line, fonts.regular, size, width - indent, budget)) if line else 0
    action_n, dialogue_n = share_lines(wanted_action, wanted_dialogue, budget)

    heading = fit_lines(fonts.printable(panel.scene_heading), fonts.bold, size, width, 1)
    rows: list[tuple[str, str | None, str, float]] = [(text, fonts.bold, INK, 0.0) for text in heading]
    rows.append((fonts.printable(panel.meta), fonts.regular, MUTED, 0.0))
    action = sentences_that_fit(action, fonts.regular, size, width, action_n)
    rows += [(text, fonts.regular, TEXT, 0.0) for text in fit_lines(action, fonts.regular, size, width, action_n)]
    if dialogue_n:
        rows.append(("", None, INK, 0.0))  # the speaker's line, drawn in two faces
        spoken = fit_lines(line, fonts.regular, size, width - indent, dialogue_n - 1)
        rows += [(text, fonts.regular, TEXT, indent) for text in spoken]
    for row, (text, face, colour, shift) in enumerate(rows[:room]):
        y = first - row * layout.leading
        if face is None:
            _draw_speaker(canvas, panel, x, y, width, size, fonts)
            continue
        canvas.setFont(face, size)
        canvas.setFillColor(HexColor(colour))
        canvas.drawString(x + shift, y, text)


def share_lines(action: int, dialogue: int, budget: int) -> tuple[int, int]:
    """Split `budget` text lines between the action and the dialogue block (speaker line plus its text).

    Both get what they need when it fits; otherwise the dialogue keeps its speaker and at least one line,
    the action at least one line, and the rest goes to the dialogue: the spoken line is what a reader
    of a storyboard looks for, and the action is often the scene's description again.
    """
    if action + dialogue <= budget:
        return action, dialogue
    spoken = min(dialogue, budget, max(2 if dialogue else 0, budget - action))
    if action and spoken >= budget:
        spoken = budget - 1
    if spoken == 1:
        spoken = 0
    return min(action, budget - spoken), spoken


def _draw_speaker(canvas: Canvas, panel: Panel, x: float, y: float, width: float, size: float, fonts: Fonts) -> None:
    name = fonts.printable(panel.speaker.upper())
    name = (fit_lines(name, fonts.bold, size, width * 0.6, 1) or [""])[0]
    canvas.setFont(fonts.bold, size)
    canvas.setFillColor(HexColor(INK))
    canvas.drawString(x, y, name)
    if panel.parenthetical:
        used = pdfmetrics.stringWidth(name + " ", fonts.bold, size)
        aside = fit_lines(f"({fonts.printable(panel.parenthetical)})", fonts.italic, size, width - used, 1)
        canvas.setFont(fonts.italic, size)
        canvas.setFillColor(HexColor(MUTED))
        canvas.drawString(x + used, y, aside[0] if aside else "")


def _draw_picture(canvas: Canvas, panel: Panel, box: Box, fonts: Fonts) -> None:
    assert panel.thumbnail is not None
    reader = ImageReader(io.BytesIO(panel.thumbnail))
    iw, ih = reader.getSize()
    canvas.setFillColor(HexColor(LETTERBOX_FILL))
    canvas.rect(box.x, box.y, box.w, box.h, stroke=0, fill=1)
    scale = min(box.w / iw, box.h / ih)
    w, h = iw * scale, ih * scale
    canvas.drawImage(reader, box.x + (box.w - w) / 2, box.y + (box.h - h) / 2, w, h)
    if panel.note:
        text = fit_lines(fonts.printable(panel.note), fonts.bold, 6.5, box.w - 8, 1)[0]
        canvas.setFillColor(HexColor(NOTE_FILL))
        canvas.rect(box.x, box.y, pdfmetrics.stringWidth(text, fonts.bold, 6.5) + 8, 11, stroke=0, fill=1)
        canvas.setFillColor(white)
        canvas.setFont(fonts.bold, 6.5)
        canvas.drawString(box.x + 4, box.y + 3.5, text)


def _draw_placeholder(canvas: Canvas, panel: Panel, box: Box, fonts: Fonts) -> None:
    canvas.setFillColor(HexColor(PLACEHOLDER_FILL))
    canvas.setStrokeColor(HexColor("#b9bec8"))
    canvas.setLineWidth(0.5)
    canvas.rect(box.x, box.y, box.w, box.h, stroke=1, fill=1)
    canvas.line(box.x, box.y, box.x + box.w, box.top)
    canvas.line(box.x, box.top, box.x + box.w, box.y)
    lines = fit_lines(fonts.printable(panel.note), fonts.bold, 8, box.w * 0.8, 2)
    label_w = max((pdfmetrics.stringWidth(line, fonts.bold, 8) for line in lines), default=0) + 12
    label_h = 11 * len(lines) + 6
    cx, cy = box.x + box.w / 2, box.y + box.h / 2
    canvas.setFillColor(HexColor(PLACEHOLDER_FILL))
    canvas.rect(cx - label_w / 2, cy - label_h / 2, label_w, label_h, stroke=0, fill=1)
    canvas.setFillColor(HexColor(MUTED))
    canvas.setFont(fonts.bold, 8)
    for i, line in enumerate(lines):
        canvas.drawCentredString(cx, cy + label_h / 2 - 11 - i * 11 + 1, line)


def sentences_that_fit(text: str, face: str, size: float, width: float, max_lines: int) -> str:
    """As many of the text's whole sentences as fit in `max_lines`, so a panel never stops mid-sentence.

    Only a first sentence too long for the panel on its own is left to `fit_lines` to cut with an ellipsis.
    """
    sentences = split_sentences(text)
    for count in range(len(sentences), 1, -1):
        kept = " ".join(sentences[:count])
        if len(simpleSplit(kept, face, size, width)) <= max_lines:
            return kept
    return sentences[0] if sentences else text


def fit_lines(text: str, face: str, size: float, width: float, max_lines: int) -> list[str]:
    """Wrap `text` to `width` points in at most `max_lines` lines, ending with an ellipsis when cut short.

    A word longer than the line (a URL, a long id) is cut too, so no line is ever wider than `width`.
    """
    if max_lines <= 0 or not text.strip():
        return []
    lines = [_clip(line, face, size, width) for line in simpleSplit(text, face, size, width)]
    if len(lines) <= max_lines:
        return lines
    kept = lines[:max_lines]
    kept[-1] = _clip(kept[-1].rstrip(ELLIPSIS) + ELLIPSIS, face, size, width, ellipsis=True)
    return kept


def _clip(line: str, face: str, size: float, width: float, ellipsis: bool = False) -> str:
    if pdfmetrics.stringWidth(line, face, size) <= width:
        return line
    stem = line.removesuffix(ELLIPSIS) if ellipsis else line
    while stem and pdfmetrics.stringWidth(stem + ELLIPSIS, face, size) > width:
        stem = stem[:-1]
    return stem.rstrip(" ,;:") + ELLIPSIS
