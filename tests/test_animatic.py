"""The animatic backends, rendered for real and measured in pixels."""

from __future__ import annotations

from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest
from PIL import Image, ImageDraw

from tools.render.animatic.clip import (
    MOVE_ROOM,
    AnimaticVideoBackend,
    Weather,
    camera_windows,
    caption_text,
    ease,
    render_overlay,
)
from tools.render.animatic.drawing import LABEL_FILL, OVERSCAN, fit_caption, font, keyframe_size, wrap_text
from tools.render.animatic.figures import Silhouette
from tools.render.animatic.keyframe import AnimaticImageBackend, render_keyframe
from tools.render.base import BackendError, ImageBackend, VideoBackend
from tools.render.spec import CameraMove, CastMember, Framing, ShotSpec, TimeOfDay
from tools.settings import Settings

RED = (217, 79, 61)
BLUE = (61, 125, 217)
MARA = CastMember(id="mara", name="Mara", look="red coat", color="#d94f3d")
OSKAR = CastMember(id="oskar", name="Oskar", look="blue jacket", color="#3d7dd9")
SKY, GROUND = (120, 170, 210), (110, 130, 70)


def make_spec(**changes) -> ShotSpec:
    fields = dict(
        shot_id="s1",
        scene_number=3,
        shot_number=2,
        prompt="a meadow",
        width=320,
        height=180,
        seed=7,
        fps=12,
        duration=1.5,
        palette=["#78aad2", "#6e8246", "#8a6a4a"],
        cast=[MARA],
    )
    return ShotSpec(**(fields | changes))


def pixels(spec: ShotSpec) -> np.ndarray:
    return np.asarray(render_keyframe(spec)).astype(np.int16)


def shot_frame(spec: ShotSpec) -> np.ndarray:
    """The part of the keyframe a static shot shows."""
    image = pixels(spec)
    h, w = image.shape[:2]
    dy, dx = round((h - h / OVERSCAN) / 2), round((w - w / OVERSCAN) / 2)
    return image[dy : h - dy, dx : w - dx]


def fraction_of(image: np.ndarray, colour: tuple[int, int, int], tolerance: int = 6) -> float:
    return float((np.abs(image - np.asarray(colour)).max(axis=-1) <= tolerance).mean())


def luminance(image: np.ndarray) -> np.ndarray:
    return image[..., :3].astype(np.float32) @ np.asarray([0.299, 0.587, 0.114], np.float32)


def read_clip(path: Path) -> tuple[dict, np.ndarray]:
    reader = imageio_ffmpeg.read_frames(str(path))
    meta = next(reader)
    w, h = meta["size"]
    frames = np.stack([np.frombuffer(f, np.uint8).reshape(h, w, 3) for f in reader])
    return meta, frames


def textured_keyframe(path: Path, size: tuple[int, int]) -> Path:
    """A keyframe of smooth, non-repeating texture, so motion between frames can be measured."""
    rng = np.random.default_rng(0)
    coarse = rng.uniform(40, 220, (size[1] // 8 + 1, size[0] // 8 + 1, 3)).astype(np.uint8)
    Image.fromarray(coarse).resize(size, Image.Resampling.BICUBIC).save(path)
    return path


def disc_keyframe(path: Path, size: tuple[int, int]) -> Path:
    """A grey keyframe with a red disc in the middle, whose area in a frame measures the zoom."""
    image = Image.new("RGB", size, (128, 128, 128))
    x, y, r = size[0] / 2, size[1] / 2, size[1] * 0.08
    ImageDraw.Draw(image).ellipse([x - r, y - r, x + r, y + r], fill=(230, 20, 20))
    image.save(path)
    return path


def shift_between(a: np.ndarray, b: np.ndarray, limit: int) -> int:
    """The offset `s` that best maps profile `a` onto `b` (b[i + s] ~ a[i])."""
    n = len(a)
    errors = {}
    for s in range(-limit, limit + 1):
        lo, hi = max(0, -s), min(n, n - s)
        errors[s] = float(np.mean((a[lo:hi] - b[lo + s : hi + s]) ** 2))
    return min(errors, key=errors.get)


# Keyframes


def test_backends_follow_the_protocols(tmp_path: Path) -> None:
    image_backend = AnimaticImageBackend.from_settings(Settings())
    video_backend = AnimaticVideoBackend.from_settings(Settings())
    assert isinstance(image_backend, ImageBackend) and isinstance(video_backend, VideoBackend)
    assert image_backend.name == video_backend.name == "animatic"
    assert image_backend.supports_reference_image
    assert image_backend.model == "animatic-1"


def test_keyframe_is_an_overscanned_png(tmp_path: Path) -> None:
    spec = make_spec(width=320, height=180)
    result = AnimaticImageBackend().generate(spec, tmp_path / "kf" / "s1.png")
    with Image.open(result.path) as image:
        assert image.format == "PNG"
        assert image.size == (result.width, result.height) == keyframe_size(320, 180) == (400, 224)
    assert result.backend == "animatic" and result.model == "animatic-1"
    assert [p.name for p in result.path.parent.iterdir()] == ["s1.png"]


def test_figure_colour_grows_from_wide_to_medium_to_close_up() -> None:
    share = {f: fraction_of(shot_frame(make_spec(framing=f)), RED) for f in Framing}
    assert 0.005 < share[Framing.WIDE] < share[Framing.MEDIUM] < share[Framing.CLOSE_UP]
    assert share[Framing.MEDIUM] > 2 * share[Framing.WIDE]
    assert share[Framing.CLOSE_UP] > 0.25


def test_wide_shows_everyone_and_labels_them() -> None:
    frame = shot_frame(make_spec(framing=Framing.WIDE, cast=[MARA, OSKAR]))
    assert fraction_of(frame, RED) > 0.005 and fraction_of(frame, BLUE) > 0.005
    assert fraction_of(frame, LABEL_FILL, tolerance=2) > 0.002


def test_insert_shows_a_hand_but_no_figure_and_no_name() -> None:
    insert = shot_frame(make_spec(framing=Framing.INSERT, cast=[MARA, OSKAR], caption="She slides the letter over"))
    medium = shot_frame(make_spec(framing=Framing.MEDIUM, cast=[MARA, OSKAR]))
    assert fraction_of(insert, RED) > 0.03
    assert fraction_of(insert, BLUE) == 0
    assert fraction_of(insert, LABEL_FILL, tolerance=2) == 0 < fraction_of(medium, LABEL_FILL, tolerance=2)


def test_background_takes_the_palette() -> None:
    palette = ["#{:02x}{:02x}{:02x}".format(*SKY), "#{:02x}{:02x}{:02x}".format(*GROUND)]
    outside = pixels(make_spec(cast=[], palette=palette, framing=Framing.WIDE))
    sky = np.median(outside[:10].reshape(-1, 3), axis=0)
    ground = np.median(outside[-40:-30].reshape(-1, 3), axis=0)
    assert np.abs(sky - SKY).max() < 25
    assert np.abs(ground - GROUND).max() < 30
    inside = pixels(make_spec(cast=[], palette=palette, interior=True))
    wall = np.median(inside[:20].reshape(-1, 3), axis=0)
    assert np.abs(wall - SKY).max() < 30


def test_default_palette_when_none_is_given() -> None:
    image = pixels(make_spec(palette=[], cast=[]))
    assert image.std(axis=(0, 1)).max() > 5


def test_interior_and_exterior_are_composed_differently() -> None:
    outside = pixels(make_spec(cast=[]))
    inside = pixels(make_spec(cast=[], interior=True))
    assert np.abs(outside - inside).mean() > 15


def test_time_of_day_lights_the_frame() -> None:
    looks = {t: pixels(make_spec(time_of_day=t, framing=Framing.WIDE)) for t in TimeOfDay}
    day, night, dusk = looks[TimeOfDay.DAY], looks[TimeOfDay.NIGHT], looks[TimeOfDay.DUSK]
    assert luminance(night).mean() < 0.5 * luminance(day).mean()
    assert luminance(night).mean() > 15
    assert night[..., 2].mean() > night[..., 0].mean() + 10
    warmth = {t: (im[..., 0] - im[..., 2]).mean() for t, im in looks.items()}
    assert warmth[TimeOfDay.DUSK] > warmth[TimeOfDay.DAY] + 20
    assert warmth[TimeOfDay.DAWN] > warmth[TimeOfDay.DAY] + 10
    assert luminance(dusk).mean() < luminance(day).mean()
    for image in looks.values():
        assert image.max(axis=-1).min() > 0


def test_a_black_costume_at_night_is_still_not_black() -> None:
    shadow = CastMember(id="shade", name="Shade", look="", color="#000000")
    image = pixels(make_spec(time_of_day=TimeOfDay.NIGHT, framing=Framing.CLOSE_UP, cast=[shadow]))
    assert image.max(axis=-1).min() > 0


def test_same_spec_gives_identical_bytes(tmp_path: Path) -> None:
    spec = make_spec(cast=[MARA, OSKAR], time_of_day=TimeOfDay.NIGHT, caption="Wait.")
    backend = AnimaticImageBackend()
    first = backend.generate(spec, tmp_path / "a.png").path.read_bytes()
    second = backend.generate(spec, tmp_path / "b.png").path.read_bytes()
    assert first == second
    reseeded = spec.model_copy(update={"seed": 8})
    assert backend.generate(reseeded, tmp_path / "c.png").path.read_bytes() != first


def test_silhouette_follows_the_character_not_the_seed() -> None:
    def mask(spec: ShotSpec) -> np.ndarray:
        return np.abs(pixels(spec) - RED).max(axis=-1) <= 6

    one, other_seed = make_spec(framing=Framing.CLOSE_UP), make_spec(framing=Framing.CLOSE_UP, seed=99)
    assert np.array_equal(mask(one), mask(other_seed))
    assert not np.array_equal(pixels(one), pixels(other_seed))
    stranger = CastMember(id="someone-else", name="Mara", look="red coat", color="#d94f3d")
    assert not np.array_equal(mask(one), mask(make_spec(framing=Framing.CLOSE_UP, cast=[stranger])))
    assert Silhouette.from_id("mara") == Silhouette.from_id("mara") != Silhouette.from_id("oskar")


def test_reference_image_gives_the_colour(tmp_path: Path) -> None:
    green = (30, 160, 90)
    reference = np.full((120, 90, 3), 255, np.uint8)
    reference[20:110, 15:75] = green
    Image.fromarray(reference).save(tmp_path / "mara.png")
    referenced = MARA.model_copy(update={"reference_images": [str(tmp_path / "mara.png")]})
    frame = shot_frame(make_spec(framing=Framing.MEDIUM, cast=[referenced]))
    assert fraction_of(frame, green, tolerance=4) > 0.05
    assert fraction_of(frame, RED) == 0
    missing = MARA.model_copy(update={"reference_images": [str(tmp_path / "gone.png")]})
    assert fraction_of(shot_frame(make_spec(framing=Framing.MEDIUM, cast=[missing])), RED) > 0.05


def test_long_text_wraps_at_words_and_keeps_every_word() -> None:
    face = font(14)
    text = "A very long line of dialogue " * 12
    lines = wrap_text(text, face, 200)
    assert " ".join(lines) == " ".join(text.split()) and len(lines) > 3
    assert all(face.getlength(line) <= 200 for line in lines)
    assert wrap_text("Café — ok", face, 200) == ["Cafe - ok"]
    assert wrap_text("Unbreakablewordwiderthantheframe is kept", face, 60)[0] == "Unbreakablewordwiderthantheframe"


SENTENCE = (
    "Noor hurries down the concrete ramp toward the last ferry, a paper shopping bag held to her chest like "
    "something alive, while the gulls wheel over the copper bay."
)


@pytest.mark.parametrize(("width", "height"), [(320, 180), (640, 360), (200, 400)])
def test_a_long_caption_gets_a_smaller_font_or_more_lines_never_a_cut(width: int, height: int) -> None:
    short_face, short_lines, _ = fit_caption("Noor runs.", width - 20, height)
    face, lines, line_height = fit_caption(SENTENCE, width - 20, height)
    assert " ".join(lines) == SENTENCE and "..." not in " ".join(lines)
    assert all(face.getlength(line) <= width - 20 for line in lines)
    assert face.size <= short_face.size and short_lines == ["Noor runs."]
    assert len(lines) * line_height <= height / 2, "the caption leaves the picture its upper half"


def test_the_caption_band_shows_a_whole_long_sentence() -> None:
    spec = make_spec(caption=SENTENCE, width=320, height=180)
    overlay = np.asarray(render_overlay(spec))
    band = overlay[:, :, 3] > 0
    rows = np.flatnonzero(band[:, spec.width // 2])
    assert rows.size and rows.max() == spec.height - 1 and rows.min() > spec.height / 2
    face, lines, _ = fit_caption(SENTENCE, spec.width - 6 * max(3, round(spec.height * 0.014)), spec.height)
    assert " ".join(lines) == SENTENCE


@pytest.mark.parametrize(
    ("prompt", "kind"),
    [("rain on a city street", "rain"), ("before the trains leave", "dust"), ("a snowy pass", "snow")],
)
def test_weather_is_read_from_whole_words(prompt: str, kind: str) -> None:
    assert Weather.for_shot(make_spec(prompt=prompt), np.random.default_rng(0)).kind == kind


def test_caption_names_the_speaker() -> None:
    assert caption_text(make_spec(caption="Run.", speaker="Mara")) == "Mara: Run."
    assert caption_text(make_spec(caption="Mara runs.")) == "Mara runs."


# Clips


def test_clip_has_the_asked_frames_size_and_rate(tmp_path: Path) -> None:
    spec = make_spec(duration=1.5, fps=12, caption="Mara crosses the field.", cast=[MARA, OSKAR])
    keyframe = AnimaticImageBackend().generate(spec, tmp_path / "kf.png").path
    result = AnimaticVideoBackend().animate(spec, keyframe, tmp_path / "clip.mp4")
    meta, frames = read_clip(result.path)
    assert meta["codec"] == "h264" and meta["pix_fmt"].startswith("yuv420p")
    assert meta["fps"] == 12 and tuple(meta["size"]) == (320, 180)
    assert len(frames) == spec.num_frames == 18 == result.num_frames
    assert imageio_ffmpeg.count_frames_and_secs(str(result.path)) == (18, 1.5)
    assert (result.width, result.height, result.fps, result.duration) == (320, 180, 12, 1.5)
    assert frames.max(axis=-1).min() > 0
    band = luminance(frames[:, -12:, :]).mean()
    assert band < luminance(frames[:, 60:120, :]).mean()
    assert luminance(frames[:, -30:, 60:260]).max() > 200


def test_static_clip_is_alive_but_steady(tmp_path: Path) -> None:
    spec = make_spec(camera_move=CameraMove.STATIC, framing=Framing.MEDIUM)
    keyframe = AnimaticImageBackend().generate(spec, tmp_path / "kf.png").path
    _, frames = read_clip(AnimaticVideoBackend().animate(spec, keyframe, tmp_path / "clip.mp4").path)
    steps = np.abs(np.diff(frames.astype(np.int16), axis=0)).mean(axis=(1, 2, 3))
    assert (steps > 0.05).all()
    assert np.abs(frames[-1].astype(np.int16) - frames[0]).mean() < 4
    shot = np.asarray(Image.open(keyframe))[22:202, 40:360].astype(np.int16)
    assert np.abs(frames[0, 40:140].astype(np.int16) - shot[40:140]).mean() < 8


@pytest.mark.parametrize("move", [CameraMove.PAN, CameraMove.TILT])
def test_pan_and_tilt_slide_across_the_overscan(tmp_path: Path, move: CameraMove) -> None:
    spec = make_spec(camera_move=move, caption="")
    size = keyframe_size(spec.width, spec.height)
    keyframe = textured_keyframe(tmp_path / "kf.png", size)
    _, frames = read_clip(AnimaticVideoBackend().animate(spec, keyframe, tmp_path / "clip.mp4").path)
    first, last = luminance(frames[0]), luminance(frames[-1])
    if move is CameraMove.PAN:
        axis, a, b = 0, first[60:120].mean(axis=0), last[60:120].mean(axis=0)
    else:
        axis, a, b = 1, first[:, 150:310].mean(axis=1), last[:, 150:310].mean(axis=1)
    start, end = camera_windows(move, size, (spec.width, spec.height), 2)
    travel = (end[axis] - start[axis]) * spec.width / (start[2] - start[0])
    assert travel > 0.15 * len(a)
    assert abs(shift_between(a, b, limit=round(travel * 1.5)) + travel) <= 3, "content should move left or up"


def test_push_in_magnifies_the_centre_and_pull_out_reverses(tmp_path: Path) -> None:
    size = keyframe_size(320, 180)
    keyframe = disc_keyframe(tmp_path / "kf.png", size)
    areas = {}
    for move in (CameraMove.PUSH_IN, CameraMove.PULL_OUT):
        spec = make_spec(camera_move=move, caption="")
        _, frames = read_clip(AnimaticVideoBackend().animate(spec, keyframe, tmp_path / f"{move}.mp4").path)
        red = (frames[..., 0] > 180) & (frames[..., 1] < 90)
        areas[move] = red.sum(axis=(1, 2))
    push = areas[CameraMove.PUSH_IN]
    assert 2.0 < push[-1] / push[0] < 2.9
    assert (np.diff(push.astype(int)) >= -6).all()
    pull = areas[CameraMove.PULL_OUT]
    assert 2.0 < pull[0] / pull[-1] < 2.9


def test_moves_ease_in_and_out() -> None:
    assert ease(0) == 0 and ease(1) == 1 and ease(0.5) == pytest.approx(0.5)
    boxes = camera_windows(CameraMove.PAN, (400, 224), (320, 180), 25)
    lefts = np.asarray([b[0] for b in boxes])
    steps = np.diff(lefts)
    assert (steps > 0).all() and steps[0] < steps[12] / 4 and steps[-1] < steps[12] / 4
    for move in CameraMove:
        for left, top, right, bottom in camera_windows(move, (400, 224), (320, 180), 25):
            assert -0.01 <= left < right <= 400.01 and -0.01 <= top < bottom <= 224.01
            assert (right - left) / (bottom - top) == pytest.approx(320 / 180)


def test_night_clip_is_dark_blue_not_black(tmp_path: Path) -> None:
    spec = make_spec(time_of_day=TimeOfDay.NIGHT, prompt="rain on a city street", duration=1.0, framing=Framing.WIDE)
    keyframe = AnimaticImageBackend().generate(spec, tmp_path / "kf.png").path
    _, frames = read_clip(AnimaticVideoBackend().animate(spec, keyframe, tmp_path / "clip.mp4").path)
    assert 15 < luminance(frames).mean() < 90
    assert frames[..., 2].mean() > frames[..., 0].mean()
    assert frames.max(axis=-1).min() > 0


def test_missing_keyframe_raises_and_leaves_nothing(tmp_path: Path) -> None:
    out = tmp_path / "clips" / "s1.mp4"
    with pytest.raises(BackendError, match="keyframe"):
        AnimaticVideoBackend().animate(make_spec(), tmp_path / "nowhere.png", out)
    assert not out.exists()
    assert not out.parent.exists() or list(out.parent.iterdir()) == []


def test_failed_encode_keeps_the_previous_take_and_no_partial_file(tmp_path: Path) -> None:
    spec = make_spec()
    keyframe = AnimaticImageBackend().generate(spec, tmp_path / "kf.png").path
    out = tmp_path / "clip.mp4"
    out.write_bytes(b"previous take")
    with pytest.raises(BackendError, match="ffmpeg"):
        AnimaticVideoBackend(preset="no-such-preset").animate(spec, keyframe, out)
    assert out.read_bytes() == b"previous take"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4", "kf.png"]


def test_odd_size_is_refused_loudly(tmp_path: Path) -> None:
    keyframe = textured_keyframe(tmp_path / "kf.png", (400, 224))
    with pytest.raises(BackendError, match="even"):
        AnimaticVideoBackend().animate(make_spec(width=321), keyframe, tmp_path / "clip.mp4")
    assert not (tmp_path / "clip.mp4").exists()


def test_a_generated_keyframe_is_framed_whole_and_gets_the_move_without_marks(tmp_path: Path) -> None:
    spec = make_spec(camera_move=CameraMove.STATIC, caption="a line that would be drawn on a storyboard")
    keyframe = textured_keyframe(tmp_path / "kf.png", (spec.width, spec.height))
    _, frames = read_clip(AnimaticVideoBackend(marks=False).animate(spec, keyframe, tmp_path / "clip.mp4").path)
    _, marked = read_clip(AnimaticVideoBackend(marks=True).animate(spec, keyframe, tmp_path / "marked.mp4").path)
    source = np.asarray(Image.open(keyframe).convert("RGB"), np.float32)
    plain_error = np.abs(frames[0].astype(np.float32) - source).mean()
    assert plain_error < 7, "framed whole: no zoom (only the encoder's loss)"
    assert np.abs(marked[0].astype(np.float32) - source).mean() > 2 * plain_error, "the marks are left off"
    assert np.abs(frames[-1].astype(np.float32) - frames[0]).mean() < 2, "a static shot stays still"


@pytest.mark.parametrize("move", [CameraMove.PAN, CameraMove.TILT, CameraMove.PUSH_IN])
def test_moves_over_a_keyframe_without_overscan_stay_inside_it_and_travel(move: CameraMove) -> None:
    frame = (320, 180)
    windows = camera_windows(move, frame, frame, 12, overscan=1.0)
    start, end = windows[0], windows[-1]
    for left, top, right, bottom in (start, end):
        assert -0.01 <= left < right <= 320.01 and -0.01 <= top < bottom <= 180.01
    assert start != end
    if move is not CameraMove.PUSH_IN:
        assert (end[2] - end[0]) == pytest.approx(320 / MOVE_ROOM)


def test_the_video_backend_marks_only_storyboard_keyframes() -> None:
    from tools.settings import Settings

    animatic = AnimaticVideoBackend.from_settings(Settings())
    over_models = AnimaticVideoBackend.from_settings(Settings(render={"image_backend": "diffusers"}))
    assert animatic.marks and not over_models.marks
    assert animatic.parameters != over_models.parameters, "the marks are part of a take's cache key"
