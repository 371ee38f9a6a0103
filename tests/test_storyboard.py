"""The storyboard on real files: real keyframes in, a real HTML page and PDF out, read back by poppler."""

from __future__ import annotations

import base64
import io
import math
import os
import shutil
import subprocess
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageColor
from reportlab.lib.utils import simpleSplit

from agents.delivery import write_film_storyboard
from agents.specs import shot_spec
from agents.state import Character, DialogueLine, Film, Scene, Setting, Shot, ShotStatus, StyleBible, Take
from tools.deliver.storyboard import StoryboardFiles
from tools.deliver.storyboard_model import INK, PANELS_PER_PAGE, PLACEHOLDER_FILL
from tools.deliver.storyboard_pdf import Fonts, fit_lines, sentences_that_fit, share_lines
from tools.render.animatic.drawing import keyframe_size
from tools.render.animatic.keyframe import AnimaticImageBackend
from tools.render.spec import CameraMove, Framing, TimeOfDay

W, H = 320, 180
DPI = 50
MADE = date(2025, 3, 14)
MAGENTA = (255, 0, 255)
RED, GREEN, BLUE, YELLOW, TEAL = (200, 40, 40), (40, 160, 70), (40, 70, 200), (230, 190, 40), (30, 170, 170)
UNICODE_LINE = "Don’t — not yet… the café’s still open."
LONG_ACTION = " ".join(f"Gull number {n} wheels over the harbour and cries." for n in range(1, 30))
COLOURS = {"s01-01": RED, "s01-02": GREEN, "s02-02": BLUE, "s02-03": YELLOW, "s02-04": TEAL}
"""The solid keyframes; s01-03 has no take and s02-01 an animatic keyframe."""
LONG_LINE = " ".join(f"I counted the lights {n} times." for n in range(1, 20))


def poppler(tool: str, *args: str) -> str:
    """Run a poppler tool; a machine without one fails loudly, since skipping would hide an untested PDF."""
    if shutil.which(tool) is None:
        pytest.fail(
            f"{tool} is not installed: the storyboard tests render the PDF with poppler. "
            "Install Debian's poppler-utils package (apt-get install poppler-utils) and run again."
        )
    return subprocess.run([tool, *args], check=True, capture_output=True, text=True, timeout=60).stdout


def solid_keyframe(path: Path, colour: tuple[int, int, int], overscanned: bool = False) -> None:
    """A keyframe of one colour; an overscanned one has a magenta margin a storyboard must crop away."""
    if overscanned:
        image = Image.new("RGB", keyframe_size(W, H), MAGENTA)
        image.paste(Image.new("RGB", (W, H), colour), ((image.width - W) // 2, (image.height - H) // 2))
    else:
        image = Image.new("RGB", (W, H), colour)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)


def take_for(shot: Shot, keyframe: str, backend: str) -> Take:
    return Take(
        shot_id=shot.id,
        content_hash=f"{shot.id}-hash",
        keyframe=keyframe,
        clip=f"takes/{shot.id}.mp4",
        image_backend=backend,
        video_backend="animatic",
        seed=shot.seed,
        duration=shot.duration,
    )


def build_film(root: Path) -> Film:
    """Seven shots in two scenes: solid keyframes (one overscanned), one animatic keyframe, one never rendered."""
    film = Film(
        id="harbour-test",
        title="The Harbour — a Test",
        logline="A ferry’s last night, told in seven shots…",
        style=StyleBible(width=W, aspect="16:9"),
        characters=[
            Character(id="zoe", name="Zoë", look="red coat, short dark hair", signature_color="#e63946"),
            Character(id="benno", name="Benno", look="grey beard, yellow oilskin", signature_color="#f4a261"),
        ],
        settings=[
            Setting(id="quay", name="Quay", look="concrete ramp", time_of_day=TimeOfDay.DAWN, palette=["#b5838d"]),
            Setting(id="deck", name="Deck", look="wet planks", time_of_day=TimeOfDay.DAY, palette=["#e5989b"]),
        ],
    )
    s1 = Scene(id="s01", number=1, heading="EXT. HARBOUR — DAWN", setting_id="quay", character_ids=["zoe"])
    s2 = Scene(id="s02", number=2, heading="EXT. FERRY DECK — DAY", setting_id="deck", character_ids=["zoe", "benno"])
    s1.shots = [
        Shot(
            id="s01-01",
            scene_id="s01",
            order=1,
            framing=Framing.WIDE,
            camera_move=CameraMove.PAN,
            duration=2.0,
            action="The ferry idles against the ramp.",
            seed=1,
        ),
        Shot(
            id="s01-02",
            scene_id="s01",
            order=2,
            duration=3.5,
            action="Zoë looks at the timetable.",
            dialogue=DialogueLine(character_id="zoe", text=UNICODE_LINE, parenthetical="quietly"),
            character_ids=["zoe"],
            seed=2,
        ),
        Shot(
            id="s01-03",
            scene_id="s01",
            order=3,
            framing=Framing.CLOSE_UP,
            duration=2.5,
            action="She waits.",
            seed=3,
            status=ShotStatus.PLANNED,
        ),
    ]
    s2.shots = [
        Shot(
            id="s02-01",
            scene_id="s02",
            order=1,
            framing=Framing.MEDIUM,
            camera_move=CameraMove.PUSH_IN,
            duration=3.0,
            action="Benno coils a rope.",
            character_ids=["zoe", "benno"],
            seed=4,
        ),
        Shot(
            id="s02-02",
            scene_id="s02",
            order=2,
            duration=6.0,
            action=LONG_ACTION,
            dialogue=DialogueLine(character_id="benno", text=LONG_LINE, parenthetical="over the engine"),
            character_ids=["benno"],
            seed=5,
        ),
        Shot(
            id="s02-03",
            scene_id="s02",
            order=3,
            framing=Framing.INSERT,
            duration=1.5,
            action="A rope on a cleat.",
            seed=6,
        ),
        Shot(
            id="s02-04",
            scene_id="s02",
            order=4,
            framing=Framing.WIDE,
            camera_move=CameraMove.TILT,
            duration=4.0,
            action="The ferry pulls away.",
            seed=7,
        ),
    ]
    film.scenes = [s1, s2]
    for shot in film.shots():
        keyframe = f"takes/{shot.id}/keyframe.png"
        if shot.id == "s01-03":
            continue
        if shot.id == "s02-01":
            AnimaticImageBackend().generate(shot_spec(film, shot), root / keyframe)
            shot.takes = [take_for(shot, keyframe, "animatic")]
        else:
            solid_keyframe(root / keyframe, COLOURS[shot.id], overscanned=shot.id == "s01-01")
            shot.takes = [take_for(shot, keyframe, "animatic" if shot.id == "s01-01" else "diffusers")]
        shot.status = ShotStatus.RENDERED
    return film


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> tuple[Film, StoryboardFiles, Path]:
    root = tmp_path_factory.mktemp("project")
    film = build_film(root)
    files = write_film_storyboard(film, root, root / "storyboard", made=MADE)
    return film, files, root


class PanelReader(HTMLParser):
    """Collect every `.sheet` and every `.panel` article with its text and pictures."""

    def __init__(self) -> None:
        super().__init__()
        self.sheets = 0
        self.panels: list[dict] = []
        self.title_block: list[str] = []
        self._depth = 0
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        classes = (found.get("class") or "").split()
        if tag == "section" and "sheet" in classes:
            self.sheets += 1
        if tag == "header" and self.sheets == 1:
            self._in_title = True
        if tag == "article" and "panel" in classes:
            self.panels.append({"shot": found.get("data-shot"), "text": [], "images": []})
            self._depth = 1
        elif self._depth and tag not in ("img", "br", "meta"):
            self._depth += 1
        if self._depth and tag == "img":
            self.panels[-1]["images"].append(found.get("src") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "header":
            self._in_title = False
        if self._depth and tag not in ("img", "br", "meta"):
            self._depth -= 1

    def handle_data(self, data: str) -> None:
        if self._depth and data.strip():
            self.panels[-1]["text"].append(" ".join(data.split()))
        elif self._in_title and data.strip():
            self.title_block.append(" ".join(data.split()))


def test_writes_both_files_atomically_with_one_panel_per_shot(made):
    film, files, root = made
    assert files.html == root / "storyboard" / "storyboard.html"
    assert files.pdf == root / "storyboard" / "storyboard.pdf"
    assert files.panels == len(film.shots()) == 7
    assert files.pages == math.ceil(7 / PANELS_PER_PAGE) == 2
    assert sorted(p.name for p in files.html.parent.iterdir()) == ["storyboard.html", "storyboard.pdf"]
    assert files.pdf.read_bytes().startswith(b"%PDF")


def test_html_is_self_contained_with_each_shots_words_in_its_panel(made):
    film, files, _ = made
    html = files.html.read_text(encoding="utf-8")
    reader = PanelReader()
    reader.feed(html)
    reader.close()
    assert reader.sheets == 2, "one printed sheet per six panels"
    title = " ".join(reader.title_block)
    for expected in ("The Harbour — a Test", film.logline, "2 scenes · 7 shots · 0:23 running time", "2025-03-14"):
        assert expected in title
    assert [p["shot"] for p in reader.panels] == [shot.id for shot in film.shots()]
    placed = [(scene, shot) for scene in film.scenes for shot in scene.shots]
    for panel, (scene, shot) in zip(reader.panels, placed, strict=True):
        text = " | ".join(panel["text"])
        assert f"SC {scene.number} · SH {shot.order}" in text
        for words in (
            shot.id,
            scene.heading,
            shot.framing.upper(),
            shot.camera_move.upper(),
            f"{shot.duration:.1f} s",
            shot.action,
        ):
            assert words in text, (shot.id, words, text)
    by_shot = {p["shot"]: p for p in reader.panels}
    spoken = " | ".join(by_shot["s01-02"]["text"])
    assert "ZOË" in spoken and "(quietly)" in spoken and UNICODE_LINE in spoken
    assert "BENNO" in " ".join(by_shot["s02-02"]["text"]) and LONG_LINE in " ".join(by_shot["s02-02"]["text"])
    assert by_shot["s01-03"]["images"] == [] and "No take yet" in " ".join(by_shot["s01-03"]["text"])

    sources = [src for p in reader.panels for src in p["images"]]
    assert len(sources) == 6 and all(src.startswith("data:image/jpeg;base64,") for src in sources)
    assert len(html.encode()) < 250_000, "thumbnails are embedded small"
    cropped = Image.open(io.BytesIO(base64.b64decode(by_shot["s01-01"]["images"][0].split(",", 1)[1])))
    assert cropped.size == (W, H), "the overscanned keyframe is cropped to the shot's own frame"
    pixels = np.asarray(cropped.convert("RGB")).reshape(-1, 3).astype(int)
    assert np.abs(pixels - RED).max(axis=1).max() < 40, "no magenta overscan margin left in the thumbnail"


def runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """Start and end (exclusive) of every run of True."""
    edges = np.diff(np.concatenate([[0], flags.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True))


def panel_bands(page: np.ndarray) -> list[tuple[int, int, int, int]]:
    """(top, bottom, left, right) of every panel's ink label band on a rendered page, in reading order."""
    mask = (np.abs(page.astype(int) - ImageColor.getrgb(INK)) <= 24).all(axis=2)
    bands = []
    for top, bottom in runs(mask.sum(axis=1) >= 60):
        if not 6 <= bottom - top <= 16:
            continue
        for left, right in runs(mask[top:bottom].any(axis=0)):
            if right - left >= 100:
                bands.append((top, bottom, left, right))
    return bands


def colour_at(page: np.ndarray, x: float, y: float, r: int = 3) -> np.ndarray:
    x, y = round(x), round(y)
    return np.median(page[y - r : y + r + 1, x - r : x + r + 1].reshape(-1, 3), axis=0)


def near(actual: np.ndarray, expected: tuple[int, int, int], tolerance: int = 14) -> bool:
    return bool(np.abs(actual - np.array(expected)).max() <= tolerance)


def test_pdf_pages_show_one_framed_panel_per_shot_with_its_keyframe(made, tmp_path):
    film, files, root = made
    poppler("pdftoppm", "-r", str(DPI), "-png", str(files.pdf), str(tmp_path / "page"))
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) == math.ceil(len(film.shots()) / PANELS_PER_PAGE) == 2
    images = [np.asarray(Image.open(path).convert("RGB")) for path in pages]
    assert images[0].shape[1] > images[0].shape[0], "landscape"
    found = [panel_bands(image) for image in images]
    assert [len(bands) for bands in found] == [6, 1], found
    widths = {right - left for bands in found for _, _, left, right in bands}
    assert max(widths) - min(widths) <= 2, "every panel the same size"

    placed = [(image, band) for image, bands in zip(images, found, strict=True) for band in bands]
    shots = film.shots()
    pad = 5 * DPI / 72
    for shot, (image, (_, bottom, left, right)) in zip(shots, placed, strict=True):
        picture_w = right - left - 2 * pad
        picture_h = picture_w * 9 / 16
        x0, y0 = left + pad, bottom + pad
        centre = colour_at(image, x0 + picture_w / 2, y0 + picture_h / 2)
        expected = COLOURS.get(shot.id)
        if expected is not None:
            assert near(centre, expected), (shot.id, centre, expected)
        if shot.id == "s01-01":
            for x, y in ((x0 + 5, y0 + picture_h / 2), (x0 + picture_w / 2, y0 + 5), (x0 + picture_w - 6, y0 + 6)):
                edge = colour_at(image, x, y, r=1)
                assert near(edge, RED, 24), f"overscan margin not cropped: {edge} at the picture's edge"
        if shot.id == "s01-03":
            blank = colour_at(image, x0 + picture_w * 0.12, y0 + picture_h / 2)
            assert near(blank, ImageColor.getrgb(PLACEHOLDER_FILL), 8), "a shot without a take gets a placeholder"
        if shot.id == "s02-01":
            drawn = image[round(y0) + 3 : round(y0 + picture_h) - 3, round(x0) + 3 : round(x0 + picture_w) - 3]
            keyframe = Image.open(root / shot.take.keyframe).convert("RGB")
            left, top = (keyframe.width - W) // 2, (keyframe.height - H) // 2
            crop = keyframe.crop((left, top, left + W, top + H))
            source = np.asarray(crop.resize((drawn.shape[1], drawn.shape[0]), Image.Resampling.BOX)).astype(int)
            assert np.abs(drawn.astype(int) - source).mean() < 14, "the animatic keyframe fills its panel"


def test_pdf_text_has_every_label_and_the_unicode_line(made):
    film, files, _ = made
    text = poppler("pdftotext", "-enc", "UTF-8", str(files.pdf), "-")
    flat = " ".join(text.split())
    for scene in film.scenes:
        for shot in scene.shots:
            assert f"SC {scene.number} · SH {shot.order}" in flat
            assert shot.id in flat
    for expected in (
        "The Harbour — a Test",
        "EXT. HARBOUR — DAWN",
        "ZOË",
        "(quietly)",
        UNICODE_LINE,
        "No take yet",
        "Page 2 of 2",
        "2 scenes · 7 shots",
    ):
        assert expected in flat, expected
    assert LONG_ACTION not in flat and "Gull number 1 wheels" in flat, "long action is cut short"
    assert LONG_LINE not in flat and "I counted the lights 1 times." in flat, "a long line is cut short"
    assert flat.count("…") >= 3, "cut text ends with an ellipsis"


def test_an_unrendered_film_still_prints(tmp_path):
    film = build_film(tmp_path / "unused")
    for shot in film.shots():
        shot.takes = []
        shot.status = ShotStatus.PLANNED
    files = write_film_storyboard(film, tmp_path, tmp_path / "board", made=MADE)
    text = " ".join(poppler("pdftotext", str(files.pdf), "-").split())
    assert text.count("No take yet") == 7 and files.pages == 2
    empty = write_film_storyboard(Film(id="empty", title="Nothing yet"), tmp_path, tmp_path / "empty", made=MADE)
    assert empty.panels == 0 and empty.pages == 1
    assert "No shots planned yet." in " ".join(poppler("pdftotext", str(empty.pdf), "-").split())


def test_text_fits_its_panel():
    fonts = Fonts.register()
    assert fonts.printable("Zoë — “Don’t” … Ő Привет") == "Zoë — “Don’t” … O ??????"
    lines = fit_lines("word " * 80, fonts.regular, 7.5, 200, 3)
    assert len(lines) == 3 and lines[-1].endswith("…")
    assert fit_lines("https://" + "x" * 300, fonts.regular, 7.5, 100, 2)[0].endswith("…")
    assert share_lines(2, 3, 8) == (2, 3)
    assert share_lines(6, 5, 5) == (3, 2)
    assert share_lines(1, 9, 5) == (1, 4)
    assert share_lines(0, 9, 3) == (0, 3)
    assert share_lines(4, 3, 1) == (1, 0)


CHROMIUM = Path(os.environ.get("DIRECTOR_CHROMIUM", "/usr/bin/chromium"))


@pytest.mark.browser
def test_html_prints_six_whole_panels_a_page(made, tmp_path):
    film, files, _ = made
    assert CHROMIUM.is_file(), f"{CHROMIUM} is missing: `make test` installs Debian's chromium"
    printed = tmp_path / "printed.pdf"
    subprocess.run(
        [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-pdf-header-footer",
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--print-to-pdf={printed}",
            files.html.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    assert "Pages: 2" in " ".join(poppler("pdfinfo", str(printed)).split())
    for number, shots in enumerate((film.shots()[:PANELS_PER_PAGE], film.shots()[PANELS_PER_PAGE:]), start=1):
        page = " ".join(poppler("pdftotext", "-f", str(number), "-l", str(number), str(printed), "-").split())
        assert f"Page {number} of 2" in page
        for shot in shots:
            assert shot.id in page and shot.action[:20] in page, (number, shot.id)


def test_a_panel_shows_whole_sentences_of_the_action() -> None:
    action = (
        "A rust-streaked ferry idles against a concrete ramp. Gulls wheel in a copper sky. "
        "Across the bay, a brand-new suspension bridge, strung with white lights, waits for morning."
    )
    kept = sentences_that_fit(action, "Helvetica", 7.5, 160, 3)
    assert kept.endswith(".") and kept in action and len(simpleSplit(kept, "Helvetica", 7.5, 160)) <= 3
    assert kept == "A rust-streaked ferry idles against a concrete ramp. Gulls wheel in a copper sky."
