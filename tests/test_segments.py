"""The incremental cut: a recut encodes only the segments whose content changed and joins the rest by copy.

Every claim is checked on the files: which segment files were written again, whether the joined film decodes
without an error, and whether its frames match a cut made from scratch.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest
from audio import level_db, onset, read_audio, write_tone
from clips import write_clip

from tools.edit.cut import CutResult, assemble_cut
from tools.edit.plan import CutItem, CutPlan
from tools.edit.probe import probe_video

W, H, FPS = 160, 90, 12
RED, GREEN, BLUE, YELLOW = (220, 40, 40), (40, 200, 60), (40, 60, 220), (230, 220, 40)
MAGENTA, WHITE = (210, 40, 200), (235, 235, 235)
TOP = (slice(5, 40), slice(30, 130))
TOTAL_FRAMES = 84
"""Title 12 frames; a 18, b 12, c 18 (scene 1, hard cuts); d 18 crossfading 6 in from c; e 12: 12+18+12+18+18-6+12."""


def solid(rgb: tuple[int, int, int], n: int) -> list[np.ndarray]:
    return [np.full((H, W, 3), rgb, np.uint8) for _ in range(n)]


def moving(n: int) -> list[np.ndarray]:
    ys, xs = np.mgrid[0:H, 0:W]
    return [
        np.stack([(xs + i * 9) % 256, (ys * 2 + i * 5) % 256, np.full_like(xs, 140)], -1).astype(np.uint8)
        for i in range(n)
    ]


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("segment-clips")
    return {
        "a": write_clip(root / "a.mp4", solid(RED, 18)),
        "b": write_clip(root / "b.mp4", solid(GREEN, 12)),
        "c": write_clip(root / "c.mp4", moving(18)),
        "d": write_clip(root / "d.mp4", solid(BLUE, 18)),
        "e": write_clip(root / "e.mp4", solid(YELLOW, 12)),
        "magenta": write_clip(root / "magenta.mp4", solid(MAGENTA, 18)),
        "white": write_clip(root / "white.mp4", solid(WHITE, 18)),
    }


@pytest.fixture(scope="module")
def lines(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("segment-lines")
    return {"low": write_tone(root / "low.wav", 0.6, 330), "high": write_tone(root / "high.wav", 0.6, 880)}


def make_plan(clips: dict[str, Path], lines: dict[str, Path], **clip_of: str) -> CutPlan:
    """Scene 1: a, b, c cut hard; scene 2: d (cross-fading in from c), e. `a` speaks a line."""
    durations = {"a": 1.5, "b": 1.0, "c": 1.5, "d": 1.5, "e": 1.0}
    items = [
        CutItem(
            shot_id=shot,
            scene_number=1 if shot in "abc" else 2,
            clip=clips[clip_of.get(shot, shot)],
            duration=seconds,
            subtitle={"a": "Hold on.", "d": "Here."}.get(shot, ""),
            speaker="ANNA" if shot == "a" else "",
            audio=lines["low"] if shot == "a" else None,
        )
        for shot, seconds in durations.items()
    ]
    return CutPlan(
        title="Segments", logline="Only what changed.", width=W, height=H, fps=FPS, items=items, title_seconds=1.0
    )


def read_film(path: Path) -> np.ndarray:
    reader = imageio_ffmpeg.read_frames(str(path))
    meta = next(reader)
    width, height = meta["size"]
    return np.stack([np.frombuffer(raw, np.uint8).reshape(height, width, 3) for raw in reader]).astype(np.int16)


def colour_at(frames: np.ndarray, index: int) -> np.ndarray:
    return frames[index][TOP].reshape(-1, 3).mean(axis=0)


def is_colour(frames: np.ndarray, index: int, rgb: tuple[int, int, int]) -> bool:
    return bool(np.abs(colour_at(frames, index) - np.array(rgb)).max() < 10)


def encoded(result: CutResult) -> list[list[str]]:
    """The shots of each segment the cut encoded ('title' for the title card), in film order."""
    return [["title"] * segment.title + segment.shot_ids for segment in result.encoded_segments]


def stamps(folder: Path, result: CutResult) -> dict[str, tuple[int, int]]:
    """Inode and modification time of each segment file, to see which were written again."""
    return {
        segment.key: ((folder / f"{segment.key}.mp4").stat().st_ino, (folder / f"{segment.key}.mp4").stat().st_mtime_ns)
        for segment in result.segments
    }


def decode_errors(path: Path) -> str:
    done = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(path), "-f", "null", "-"],
        capture_output=True,
        check=False,
    )
    return f"exit {done.returncode}: {done.stderr.decode()}" if done.returncode or done.stderr else ""


def ffprobe(path: Path, *arguments: str) -> dict:
    command = shutil.which("ffprobe")
    assert command, "ffprobe is missing: install Debian's ffmpeg package (make test does: apt-get install ffmpeg)"
    shown = subprocess.run(
        [command, "-v", "error", *arguments, "-of", "json", str(path)], capture_output=True, check=True
    )
    return json.loads(shown.stdout)


def avcc(path: Path) -> bytes:
    """The MP4's avcC box: the SPS and PPS every frame of the segment is decoded with."""
    data = path.read_bytes()
    at = data.index(b"avcC")
    size = int.from_bytes(data[at - 4 : at], "big")
    return data[at + 4 : at - 4 + size]


def assert_same_picture(film: np.ndarray, reference: np.ndarray) -> None:
    """Equal frame count, and every frame within encoding noise of the reference (PSNR over 40 dB each)."""
    assert film.shape == reference.shape
    error = ((film - reference).astype(np.float64) ** 2).reshape(len(film), -1).mean(axis=1)
    worst = 10 * np.log10(255**2 / max(float(error.max()), 1e-9))
    assert worst > 40, f"frame {int(error.argmax())} differs from the scratch cut: PSNR {worst:.1f} dB"


@pytest.fixture
def first(clips, lines, tmp_path: Path) -> tuple[CutResult, Path]:
    """A first cut of the plan into a segments folder."""
    segments = tmp_path / "segments"
    return assemble_cut(make_plan(clips, lines), tmp_path / "cut", segments_dir=segments), segments


def test_the_first_cut_encodes_every_segment_a_recut_of_the_same_plan_none(first, clips, lines, tmp_path) -> None:
    result, segments = first
    assert encoded(result) == [["title"], ["a"], ["b"], ["c"], ["c", "d"], ["d"], ["e"]]
    assert not result.sound_reused
    before = stamps(segments, result)
    again = assemble_cut(make_plan(clips, lines), tmp_path / "cut", segments_dir=segments)
    assert encoded(again) == [] and again.sound_reused
    assert stamps(segments, again) == before, "no segment file was written again"
    assert (read_film(again.video) == read_film(result.video)).all()
    assert decode_errors(again.video) == ""


@pytest.mark.parametrize(
    ("change", "expected", "frames", "colour"),
    [
        ({"b": "magenta"}, [["b"]], range(30, 42), MAGENTA),
        ({"c": "magenta"}, [["c"], ["c", "d"]], range(42, 54), MAGENTA),
        ({"d": "white"}, [["c", "d"], ["d"]], range(60, 72), WHITE),
        ({"e": "white"}, [["e"]], range(72, 84), WHITE),
    ],
)
def test_a_changed_shot_re_encodes_only_its_segments_and_its_cross_fades(
    first, clips, lines, tmp_path, change, expected, frames, colour
) -> None:
    result, segments = first
    before = stamps(segments, result)
    plan = make_plan(clips, lines, **change)
    revised = assemble_cut(plan, tmp_path / "cut", segments_dir=segments)
    assert encoded(revised) == expected
    after = stamps(segments, revised)
    for segment in revised.segments:
        assert (after[segment.key] == before.get(segment.key)) is not segment.encoded, segment
    assert decode_errors(revised.video) == ""
    film = read_film(revised.video)
    assert len(film) == TOTAL_FRAMES
    assert all(is_colour(film, index, colour) for index in frames), "the new clip is in the film"
    assert is_colour(film, 20, RED) and is_colour(film, 35, MAGENTA if "b" in change else GREEN)
    scratch = assemble_cut(plan, tmp_path / "scratch")
    assert_same_picture(film, read_film(scratch.video))


def test_the_joined_film_is_one_valid_h264_stream_of_the_right_length(first, clips, lines, tmp_path) -> None:
    _, segments = first
    revised = assemble_cut(make_plan(clips, lines, c="magenta"), tmp_path / "cut", segments_dir=segments)
    facts = probe_video(revised.video)
    assert (facts.num_frames, facts.fps, facts.codec, facts.audio_codec) == (TOTAL_FRAMES, FPS, "h264", "aac")
    assert revised.duration == pytest.approx(TOTAL_FRAMES / FPS)
    (stream,) = ffprobe(revised.video, "-select_streams", "v:0", "-count_frames", "-show_streams")["streams"]
    assert (stream["profile"], stream["pix_fmt"], int(stream["nb_read_frames"])) == ("High", "yuv420p", TOTAL_FRAMES)
    assert decode_errors(revised.video) == ""
    files = [segments / f"{segment.key}.mp4" for segment in revised.segments]
    assert len({avcc(path) for path in files}) == 1, "segments from different runs share one SPS and PPS"
    for path in files:
        (frame,) = ffprobe(path, "-select_streams", "v:0", "-read_intervals", "%+#1", "-show_frames")["frames"]
        assert (frame["key_frame"], frame["pict_type"]) == (1, "I"), f"{path.name} opens on a key frame"
    data = revised.video.read_bytes()
    assert data.index(b"moov") < data.index(b"mdat"), "faststart still puts the index first"


def test_a_corrupt_truncated_or_unrecorded_segment_is_encoded_again(first, clips, lines, tmp_path) -> None:
    result, segments = first
    by_shots = {tuple(["title"] * s.title + s.shot_ids): segments / f"{s.key}.mp4" for s in result.segments}
    flipped = by_shots[("b",)]
    data = bytearray(flipped.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 64] = bytes(255 - value for value in data[middle : middle + 64])
    flipped.write_bytes(bytes(data))
    truncated = by_shots[("title",)]
    truncated.write_bytes(truncated.read_bytes()[:-500])
    unrecorded = by_shots[("e",)]
    unrecorded.with_name(unrecorded.name + ".json").unlink()

    again = assemble_cut(make_plan(clips, lines), tmp_path / "cut", segments_dir=segments)
    assert encoded(again) == [["title"], ["b"], ["e"]]
    assert decode_errors(again.video) == ""
    assert_same_picture(read_film(again.video), read_film(assemble_cut(make_plan(clips, lines), tmp_path / "s").video))
    for path in (flipped, truncated, unrecorded):
        record = json.loads(path.with_name(path.name + ".json").read_text())
        assert record["bytes"] == path.stat().st_size


def test_a_shot_that_only_moved_along_the_timeline_keeps_its_segment(clips, lines, tmp_path) -> None:
    segments = tmp_path / "segments"
    assemble_cut(make_plan(clips, lines), tmp_path / "cut", segments_dir=segments)
    plan = make_plan(clips, lines)
    plan = plan.model_copy(update={"items": [plan.items[0].model_copy(update={"duration": 2.0}), *plan.items[1:]]})
    moved = assemble_cut(plan, tmp_path / "cut", segments_dir=segments)
    assert encoded(moved) == [["a"]], "b, c, the cross-fade, d and e only moved by 6 frames"
    film = read_film(moved.video)
    assert len(film) == TOTAL_FRAMES + 6
    assert is_colour(film, 30, RED) and is_colour(film, 37, GREEN) and is_colour(film, 80, YELLOW)
    assert_same_picture(film, read_film(assemble_cut(plan, tmp_path / "scratch").video))


def test_a_new_title_re_encodes_the_title_card_alone(first, clips, lines, tmp_path) -> None:
    _, segments = first
    plan = make_plan(clips, lines).model_copy(update={"title": "Another Title"})
    assert encoded(assemble_cut(plan, tmp_path / "cut", segments_dir=segments)) == [["title"]]


def test_a_new_line_remixes_the_sound_and_keeps_every_picture_segment(first, clips, lines, tmp_path) -> None:
    result, segments = first
    before = read_audio(result.video)
    plan = make_plan(clips, lines)
    items = [plan.items[0].model_copy(update={"audio": lines["high"]}), *plan.items[1:]]
    revised = assemble_cut(plan.model_copy(update={"items": items}), tmp_path / "cut", segments_dir=segments)
    assert encoded(revised) == [] and not revised.sound_reused
    cue = revised.cues[0]
    for sound, hz in ((before, 330), (read_audio(revised.video), 880)):
        heard = onset(sound, after=cue.start - 0.3)
        assert heard is not None and abs(heard - cue.start) < 0.05
        assert level_db(sound, cue.start + 0.1, cue.start + 0.5) > -15
        assert pitch(sound, cue.start + 0.1, cue.start + 0.5) == pytest.approx(hz, abs=15), "the line's own sound"
    assert revised.entries[0].audio_end == pytest.approx(cue.start + 0.6, abs=0.01)


def pitch(samples: np.ndarray, start: float, end: float, rate: int = 16000) -> float:
    """The strongest frequency between `start` and `end` seconds."""
    part = samples[round(start * rate) : round(end * rate)]
    spectrum = np.abs(np.fft.rfft(part * np.hanning(part.size)))
    return float(np.fft.rfftfreq(part.size, 1 / rate)[spectrum.argmax()])


def test_the_folder_keeps_only_the_current_cuts_segments(first, clips, lines, tmp_path) -> None:
    _, segments = first
    left_by_a_killed_cut = segments / ".0123456789ab.partial.overlays"
    left_by_a_killed_cut.mkdir()
    (left_by_a_killed_cut / "title.png").write_bytes(b"png")
    revised = assemble_cut(make_plan(clips, lines, b="magenta", d="white"), tmp_path / "cut", segments_dir=segments)
    keys = {segment.key for segment in revised.segments}
    names = sorted(path.name for path in segments.iterdir())
    sound = [name for name in names if name.endswith(".m4a")]
    assert len(sound) == 1
    assert names == sorted(
        [f"{key}.mp4" for key in keys] + [f"{key}.mp4.json" for key in keys] + sound + [sound[0] + ".json"]
    )
    assert sorted(p.name for p in (tmp_path / "cut").iterdir()) == ["film.mp4", "film.srt", "timeline.json"]
