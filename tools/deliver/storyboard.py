"""A printable storyboard: every shot's keyframe and words, as a self-contained HTML page and a PDF.

A storyboard can be printed before anything is rendered: a shot without a take gets a placeholder box. What
it shows comes in as a `StoryboardFilm` (`tools.deliver.storyboard_model`); the PDF is drawn by
`tools.deliver.storyboard_pdf`, the HTML page from `storyboard.html.j2` beside this module.
"""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from PIL import Image, UnidentifiedImageError
from pydantic import BaseModel, ConfigDict

from tools.deliver.storyboard_model import (
    COLUMNS,
    INK,
    LETTERBOX_FILL,
    MUTED,
    NOTE_FILL,
    PAPER_SIZES,
    PLACEHOLDER_FILL,
    POINTS_PER_MM,
    ROWS,
    Panel,
    Paper,
    Storyboard,
    StoryboardFilm,
    StoryboardShot,
)
from tools.deliver.storyboard_pdf import render_pdf
from tools.files import write_atomic
from tools.render.animatic.drawing import OVERSCAN, keyframe_size

THUMBNAIL_SIZE = (480, 480)
"""The largest thumbnail, in pixels: about 140 dpi across a printed panel, some 20 kB as a JPEG."""
THUMBNAIL_QUALITY = 82
TEMPLATE = "storyboard.html.j2"


class StoryboardFiles(BaseModel):
    """Where the storyboard went, and how many panels it has (one per shot)."""

    model_config = ConfigDict(extra="forbid")

    html: Path
    pdf: Path
    panels: int
    pages: int


def write_storyboard(
    film: StoryboardFilm, out_dir: Path, *, paper: Paper = "A4", made: date | None = None
) -> StoryboardFiles:
    """Write `storyboard.html` and `storyboard.pdf` for every shot of `film` into `out_dir`, atomically."""
    board = plan_storyboard(film, paper=paper, made=made)
    html_path, pdf_path = out_dir / "storyboard.html", out_dir / "storyboard.pdf"
    write_atomic(pdf_path, render_pdf(board))
    write_atomic(html_path, render_html(board))
    return StoryboardFiles(html=html_path, pdf=pdf_path, panels=len(board.panels), pages=len(board.pages))


def plan_storyboard(film: StoryboardFilm, *, paper: Paper = "A4", made: date | None = None) -> Storyboard:
    """Lay the film out as panels, loading and shrinking each shot's current keyframe."""
    size = (film.width, film.height)
    return Storyboard(
        film_id=film.film_id,
        title=film.title,
        logline=film.logline,
        aspect=size[0] / size[1],
        frame=f"{film.aspect} · {size[0]}×{size[1]} · {film.fps} fps",
        scenes=film.scenes,
        seconds=sum(shot.duration for shot in film.shots),
        made=made or date.today(),
        paper=paper,
        panels=[panel_for(shot, size) for shot in film.shots],
    )


def panel_for(shot: StoryboardShot, size: tuple[int, int]) -> Panel:
    """The shot's panel: its words, its keyframe as a thumbnail, or a note saying why there is none."""
    thumbnail, note = None, "No take yet: not rendered"
    if shot.keyframe is not None:
        thumbnail, note = keyframe_thumbnail(shot.keyframe, size)
        if thumbnail is not None and shot.render_failed:
            note = "Last render failed; previous take shown"
    elif shot.render_failed:
        note = "No take yet: the render failed"
    return Panel(**shot.model_dump(exclude={"keyframe", "render_failed"}), thumbnail=thumbnail, note=note)


def keyframe_thumbnail(path: Path, size: tuple[int, int]) -> tuple[bytes | None, str]:
    """The shot's own frame from its keyframe as a small JPEG, or None and why not."""
    try:
        with Image.open(path) as image:
            frame = shot_frame(image.convert("RGB"), size)
    except FileNotFoundError:
        return None, f"Keyframe missing: {path.name}"
    except (OSError, UnidentifiedImageError):
        return None, f"Keyframe unreadable: {path.name}"
    frame.thumbnail(THUMBNAIL_SIZE, Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    frame.save(buffer, "JPEG", quality=THUMBNAIL_QUALITY, optimize=True)
    return buffer.getvalue(), ""


def shot_frame(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """Crop an animatic's overscanned keyframe to the shot's centred frame, as a static shot's video does.

    Mirrors `tools.render.animatic.clip.is_overscanned` and the static window of
    `tools.render.animatic.clip.camera_windows` (snapped to the shot's size when within two pixels); a
    keyframe of any other size (generated ones are exactly the shot's size) is the frame already.
    """
    if image.size != keyframe_size(*size) or image.size == size:
        return image
    aspect = size[0] / size[1]
    w = min(image.width, image.height * aspect) / OVERSCAN
    if abs(w - size[0]) <= 2:
        w = size[0]
    h = w / aspect
    left, top = (image.width - w) / 2, (image.height - h) / 2
    return image.crop((round(left), round(top), round(left + w), round(top + h)))


def render_html(board: Storyboard) -> str:
    environment = Environment(
        loader=FileSystemLoader(Path(__file__).parent), autoescape=True, undefined=StrictUndefined
    )
    page_w, page_h = (side / POINTS_PER_MM for side in PAPER_SIZES[board.paper])
    return environment.get_template(TEMPLATE).render(
        board=board,
        paper=board.paper,
        page_w=round(page_w, 1),
        page_h=round(page_h, 1),
        columns=COLUMNS,
        rows=ROWS,
        ink=INK,
        placeholder_fill=PLACEHOLDER_FILL,
        letterbox_fill=LETTERBOX_FILL,
        note_fill=NOTE_FILL,
        muted=MUTED,
    )
