"""Cut tests: synthetic clips in, a real H.264 film out, every claim checked by decoding the file."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest
from audio import SILENCE_DB, level_db, onset, read_audio, write_tone
from clips import write_clip
from pydantic import ValidationError

from tools.edit.cut import CutResult, TimelineEntry, assemble_cut
from tools.edit.plan import CutError, CutItem, CutPlan
from tools.edit.probe import container_tags, probe_video
from tools.edit.subtitles import SubtitleCue, format_srt, parse_srt

W, H, FPS = 160, 90, 12
RED, GREEN, BLUE = (220, 40, 40), (40, 200, 60), (40, 60, 220)
TOP = (slice(5, 40), slice(30, 130))
SUBTITLE_BAND = (slice(60, 88), slice(20, 140))
COLOUR_TOL = 10


def solid(rgb: tuple[int, int, int], n: int, size: tuple[int, int] = (W, H)) -> list[np.ndarray]:
    return [np.full((size[1], size[0], 3), rgb, np.uint8) for _ in range(n)]


def moving(n: int, size: tuple[int, int]) -> list[np.ndarray]:
    width, height = size
    ys, xs = np.mgrid[0:height, 0:width]
    return [
        np.stack([(xs + i * 12) % 256, (ys * 2 + i * 7) % 256, np.full_like(xs, 160)], -1).astype(np.uint8)
        for i in range(n)
    ]


def read_film(path: Path) -> list[np.ndarray]:
    reader = imageio_ffmpeg.read_frames(str(path))
    meta = next(reader)
    width, height = meta["size"]
    return [np.frombuffer(raw, np.uint8).reshape(height, width, 3).astype(np.int16) for raw in reader]


def region_mean(frame: np.ndarray, region: tuple[slice, slice]) -> np.ndarray:
    return frame[region].reshape(-1, 3).mean(axis=0)


def close_to(frame: np.ndarray, rgb: tuple[int, int, int], region: tuple[slice, slice] = TOP) -> bool:
    return bool(np.abs(region_mean(frame, region) - np.array(rgb)).max() < COLOUR_TOL)


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("clips")
    return {
        "s1": write_clip(root / "s1.mp4", solid(RED, 18)),
        "s2": write_clip(root / "s2.mp4", solid(GREEN, 4)),
        "s3": write_clip(root / "s3.mp4", solid(BLUE, 18)),
        "s4": write_clip(root / "s4.mp4", moving(12, (240, 180))),
    }


def make_plan(clips: dict[str, Path], **changes: object) -> CutPlan:
    """Scene 1: red then green (hard cut); scene 2: blue; scene 3: a 4:3 moving gradient to be fitted."""
    items = [
        CutItem(shot_id="s1", scene_number=1, clip=clips["s1"], duration=1.5, subtitle="Hello there", speaker="ANNA"),
        CutItem(shot_id="s2", scene_number=1, clip=clips["s2"], duration=1.0),
        CutItem(shot_id="s3", scene_number=2, clip=clips["s3"], duration=1.5, subtitle="Where  to?"),
        CutItem(shot_id="s4", scene_number=3, clip=clips["s4"], duration=1.0, subtitle="Home.", speaker="BO"),
    ]
    fields: dict[str, object] = {
        "title": "The Long Night",
        "logline": "A keeper waits for a ship that never comes.",
        "width": W,
        "height": H,
        "fps": FPS,
        "items": items,
        "title_seconds": 1.0,
        "crossfade_seconds": 0.5,
    }
    return CutPlan(**(fields | changes))


@pytest.fixture(scope="module")
def cut(clips: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> CutResult:
    return assemble_cut(make_plan(clips), tmp_path_factory.mktemp("cut"))


@pytest.fixture(scope="module")
def frames(cut: CutResult) -> list[np.ndarray]:
    return read_film(cut.video)


def test_film_format_and_duration(cut: CutResult) -> None:
    expected = 1.0 + (1.5 + 1.0 + 1.5 + 1.0) - 2 * 0.5
    facts = probe_video(cut.video)
    assert (facts.width, facts.height, facts.fps, facts.codec) == (W, H, FPS, "h264")
    assert facts.duration == pytest.approx(expected, abs=1 / FPS)
    assert facts.num_frames == pytest.approx(expected * FPS, abs=1)
    assert cut.duration == pytest.approx(expected, abs=1 / FPS)
    assert cut.encode_seconds > 0
    meta = next(imageio_ffmpeg.read_frames(str(cut.video)))
    assert meta["pix_fmt"].startswith("yuv420p")
    data = cut.video.read_bytes()
    assert data.index(b"moov") < data.index(b"mdat"), "faststart puts the index before the media"


def test_outputs_are_final_names_only(cut: CutResult) -> None:
    out_dir = cut.video.parent
    assert sorted(p.name for p in out_dir.iterdir()) == ["film.mp4", "film.srt", "timeline.json"]


def test_timeline_places_shots_with_overlap_only_at_scene_changes(cut: CutResult) -> None:
    spans = [(e.shot_id, e.start, e.end) for e in cut.entries]
    assert spans == [
        ("s1", pytest.approx(1.0), pytest.approx(2.5)),
        ("s2", pytest.approx(2.5), pytest.approx(3.5)),
        ("s3", pytest.approx(3.0), pytest.approx(4.5)),
        ("s4", pytest.approx(4.0), pytest.approx(5.0)),
    ]
    written = [TimelineEntry(**e) for e in json.loads(cut.timeline.read_text())]
    assert written == cut.entries


def test_srt_cues_match_timeline(cut: CutResult) -> None:
    cues = parse_srt(cut.subtitles)
    assert [c.index for c in cues] == [1, 2, 3]
    assert [c.text for c in cues] == ["ANNA: Hello there", "Where to?", "BO: Home."]
    spans = {e.shot_id: e for e in cut.entries}
    for read, planned in zip(cues, cut.cues, strict=True):
        entry = spans[planned.shot_id]
        assert read.start == pytest.approx(planned.start, abs=1e-3)
        assert read.end == pytest.approx(planned.end, abs=1e-3)
        assert entry.start - 1e-3 <= read.start < read.end <= entry.end + 1e-3
    assert all(a.end <= b.start + 1e-3 for a, b in zip(cues, cues[1:], strict=False))
    assert [c.shot_id for c in cut.cues] == ["s1", "s3", "s4"]


def test_title_card_comes_first(frames: list[np.ndarray]) -> None:
    card = frames[5]
    assert np.median(card) < 30
    assert card.max() > 150, "title text is drawn"


def test_subtitles_burned_only_during_their_cue(frames: list[np.ndarray]) -> None:
    red_with_line = frames[20]
    assert close_to(red_with_line, RED)
    assert np.abs(red_with_line[SUBTITLE_BAND] - np.array(RED)).max() > 100
    green_silent = frames[33]
    assert close_to(green_silent, GREEN, SUBTITLE_BAND)
    before_cue, during_cue = frames[37], frames[40]
    assert before_cue[SUBTITLE_BAND].std(axis=(0, 1)).max() < 6
    assert during_cue[SUBTITLE_BAND].std(axis=(0, 1)).max() > 20


def test_subtitles_start_and_stop_on_their_cue_frames(cut: CutResult, frames: list[np.ndarray]) -> None:
    """s1's cue is frames 12-29 and s2 is silent; s3's cue starts at frame 39, mid-way through its cross-fade."""
    assert [(round(c.start * FPS), round(c.end * FPS)) for c in cut.cues[:2]] == [(12, 30), (39, 51)]
    shown = [bool(frames[i][SUBTITLE_BAND].std(axis=(0, 1)).max() > 20) for i in (11, 12, 29, 30, 38, 39)]
    assert shown == [False, True, True, False, False, True]


def test_hard_cut_within_scene_and_crossfade_between_scenes(frames: list[np.ndarray]) -> None:
    assert close_to(frames[29], RED) and close_to(frames[30], GREEN)
    assert close_to(frames[35], GREEN), "a clip shorter than planned holds its last frame"
    middle = region_mean(frames[39], TOP)
    blend = (np.array(GREEN) + np.array(BLUE)) / 2
    assert np.abs(middle - blend).max() < 15
    assert not close_to(frames[39], GREEN) and not close_to(frames[39], BLUE)
    greens = [region_mean(frames[i], TOP)[1] for i in range(36, 42)]
    assert greens == sorted(greens, reverse=True)
    assert close_to(frames[42], BLUE)


def test_cross_fade_weighs_the_incoming_shot_by_its_frame(frames: list[np.ndarray]) -> None:
    """The 6 frames from 36: the blue shot's k-th frame is k/6 blue over green, so frame 36 is still green."""
    for k in range(6):
        expected = np.array(GREEN) + (np.array(BLUE) - np.array(GREEN)) * k / 6
        assert np.abs(region_mean(frames[36 + k], TOP) - expected).max() < 6, k


def test_a_clip_at_another_frame_rate_keeps_its_speed(clips: dict[str, Path], tmp_path: Path) -> None:
    """A 24 fps clip of 24 grey levels in a 12 fps film shows every other level, the last held past its end."""
    levels = [10 + 9 * n for n in range(24)]
    clip = write_clip(tmp_path / "fast.mp4", [np.full((H, W, 3), v, np.uint8) for v in levels], fps=24)
    plan = make_plan(clips, items=[CutItem(shot_id="f", scene_number=1, clip=clip, duration=1.5)], title_seconds=0.0)
    film = read_film(assemble_cut(plan, tmp_path / "cut").video)
    assert len(film) == 18
    seen = [round(float(np.median(frame))) for frame in film]
    assert all(abs(got - want) <= 3 for got, want in zip(seen, levels[0::2] + [levels[-1]] * 6, strict=True)), str(seen)


def test_other_sizes_are_fitted_with_bars(frames: list[np.ndarray]) -> None:
    late = frames[56]
    assert late[:50, :18].max() < 24, "pillarbox bars on a 4:3 clip in a 16:9 frame"
    assert late[:50, 25:135].mean() > 60
    assert np.abs(frames[55] - frames[57]).mean() > 3, "the moving clip keeps moving"


def test_missing_or_unreadable_clip_names_the_shot(clips: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "out"
    missing = {**clips, "s3": tmp_path / "gone.mp4"}
    with pytest.raises(CutError, match=r"shot s3\b.*does not exist"):
        assemble_cut(make_plan(missing), out)
    junk = tmp_path / "junk.mp4"
    junk.write_text("not a video")
    with pytest.raises(CutError, match=r"shot s2\b.*not a readable video"):
        assemble_cut(make_plan({**clips, "s2": junk}), out)
    sound_only = write_tone(tmp_path / "sound.mp4.wav", 0.5).rename(tmp_path / "sound.mp4")
    with pytest.raises(CutError, match=r"shot s4\b.*not a readable video"):
        assemble_cut(make_plan({**clips, "s4": sound_only}), out)
    assert not (out / "film.mp4").exists()


def test_shot_too_short_for_its_crossfades(clips: dict[str, Path], tmp_path: Path) -> None:
    plan = make_plan(clips, crossfade_seconds=0.75)
    with pytest.raises(CutError, match=r"shot s3 .*too short"):
        assemble_cut(plan, tmp_path)


def test_plan_is_validated(clips: dict[str, Path]) -> None:
    with pytest.raises(ValidationError, match="even"):
        make_plan(clips, width=161)
    with pytest.raises(ValidationError):
        make_plan(clips, items=[])
    with pytest.raises(ValidationError):
        CutItem(shot_id="x", scene_number=1, clip=clips["s1"], duration=1.0, colour="red")


def test_parse_srt_reads_crlf_and_bom_and_refuses_malformed(tmp_path: Path) -> None:
    cues = [
        SubtitleCue(index=1, start=0.0, end=1.25, text="ANNA: Hi.", shot_id="a"),
        SubtitleCue(index=2, start=61.5, end=3725.004, text="Bye.", shot_id="b"),
    ]
    good = tmp_path / "good.srt"
    good.write_bytes(b"\xef\xbb\xbf" + format_srt(cues).replace("\n", "\r\n").encode())
    assert parse_srt(good) == [c.model_copy(update={"shot_id": ""}) for c in cues]
    for name, body in {
        "no_arrow.srt": "1\n00:00:01,000 00:00:02,000\nHi\n",
        "bad_time.srt": "1\n00:00:01.000 --> 00:00:02,000\nHi\n",
        "no_text.srt": "1\n00:00:01,000 --> 00:00:02,000\n",
        "backwards.srt": "1\n00:00:03,000 --> 00:00:02,000\nHi\n",
        "no_index.srt": "one\n00:00:01,000 --> 00:00:02,000\nHi\n",
    }.items():
        path = tmp_path / name
        path.write_text(body)
        with pytest.raises(CutError, match=name):
            parse_srt(path)


def plan_with_lines(clips: dict[str, Path], lines: dict[str, Path]) -> CutPlan:
    plan = make_plan(clips)
    items = [item.model_copy(update={"audio": lines.get(item.shot_id)}) for item in plan.items]
    return plan.model_copy(update={"items": items})


def test_lines_are_heard_from_their_subtitle_start_and_nowhere_else(clips: dict[str, Path], tmp_path: Path) -> None:
    lines = {"s1": write_tone(tmp_path / "s1.wav", 0.8, 440), "s3": write_tone(tmp_path / "s3.wav", 0.6, 660)}
    result = assemble_cut(plan_with_lines(clips, lines), tmp_path / "cut")
    assert probe_video(result.video).has_audio
    sound = read_audio(result.video)
    cues = {cue.shot_id: cue for cue in result.cues}
    for shot_id, seconds in (("s1", 0.8), ("s3", 0.6)):
        cue = cues[shot_id]
        heard = onset(sound, after=cue.start - 0.3)
        assert heard is not None and abs(heard - cue.start) < 0.05, (shot_id, heard, cue.start)
        assert level_db(sound, cue.start + 0.05, cue.start + seconds - 0.05) > -15
        assert level_db(sound, cue.start + seconds + 0.1, cue.end) < SILENCE_DB
    assert level_db(sound, 0, cues["s1"].start - 0.05) < SILENCE_DB, "the title card is silent"
    assert level_db(sound, cues["s3"].end + 0.05, result.duration) < SILENCE_DB, "s4 has a subtitle but no line"
    entries = {entry.shot_id: entry for entry in result.entries}
    assert entries["s1"].audio_start == pytest.approx(cues["s1"].start)
    assert entries["s1"].audio_end == pytest.approx(cues["s1"].start + 0.8, abs=0.01)
    assert entries["s2"].audio == ""


def test_a_line_longer_than_its_shot_stops_with_the_shot(clips: dict[str, Path], tmp_path: Path) -> None:
    lines = {"s1": write_tone(tmp_path / "long.wav", 4.0)}
    result = assemble_cut(plan_with_lines(clips, lines), tmp_path / "cut")
    shot = next(entry for entry in result.entries if entry.shot_id == "s1")
    assert shot.audio_end == pytest.approx(shot.end)
    sound = read_audio(result.video)
    assert level_db(sound, shot.end - 0.4, shot.end - 0.15) > -15
    assert level_db(sound, shot.end + 0.05, shot.end + 1.0) < SILENCE_DB


def test_a_film_without_lines_has_no_sound_track(cut: CutResult) -> None:
    assert not probe_video(cut.video).has_audio


def test_missing_line_audio_names_the_shot(clips: dict[str, Path], tmp_path: Path) -> None:
    junk = tmp_path / "junk.wav"
    junk.write_text("not audio")
    with pytest.raises(CutError, match="s3.*does not exist"):
        assemble_cut(plan_with_lines(clips, {"s3": tmp_path / "gone.wav"}), tmp_path / "cut")
    with pytest.raises(CutError, match="s1.*not readable audio"):
        assemble_cut(plan_with_lines(clips, {"s1": junk}), tmp_path / "cut")
    assert not (tmp_path / "cut" / "film.mp4").exists()


def test_the_film_carries_its_provenance_tags_for_ffprobe(clips: dict[str, Path], tmp_path: Path) -> None:
    tags = {"title": "The Long Night", "comment": "AI-generated film", "ai_generated": "true", "director_run": "r-1"}
    result = assemble_cut(make_plan(clips, metadata=tags), tmp_path / "cut")
    ffprobe = shutil.which("ffprobe")
    assert ffprobe, "ffprobe is missing: install Debian's ffmpeg package (make test does: apt-get install ffmpeg)"
    shown = subprocess.run(
        [ffprobe, "-v", "error", "-show_format", "-of", "json", str(result.video)], capture_output=True, check=True
    )
    format_tags = json.loads(shown.stdout)["format"]["tags"]
    assert {key: format_tags.get(key) for key in tags} == tags
    assert {key: container_tags(result.video).get(key) for key in tags} == tags


def test_the_cut_composes_in_ffmpeg_without_moviepy() -> None:
    """The cut's modules import no moviepy: the frames are composed by ffmpeg's filter graph."""
    code = "import sys, tools.edit.cut, tools.edit.reels; print(sorted(m for m in sys.modules if 'moviepy' in m))"
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root, check=True)
    assert done.stdout.strip() == "[]"
