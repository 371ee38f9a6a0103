"""Timeline export tests: a real cut of real clips, exported, and every file read back with OpenTimelineIO."""

from __future__ import annotations

import math
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import opentimelineio as otio
import pytest
from audio import write_tone
from clips import write_clip
from pydantic import ValidationError
from scipy.io import wavfile

from tools.deliver.otio_timeline import TimelineError, TimelinePlan, TimelineShot, build_timeline
from tools.deliver.timelines import TimelineFiles, edit_rate, export_timeline
from tools.edit.cut import CutResult, TimelineEntry, assemble_cut
from tools.edit.plan import CutItem, CutPlan

W, H, FPS = 64, 36, 12
EDIT_RATE = 24
K = EDIT_RATE // FPS
TITLE_SECONDS = 1.0
CROSSFADE = 0.25  # three frames at 12 fps: an odd fade, split unevenly around the cut
LINES = {"s01-01": 0.9, "s01-02": 2.0, "s02-01": 0.5}  # the second runs past its shot into the fade
STEM_RATE = 48000
STEM_NAMES = ["Dialogue stem", "Music", "Ambience"]


def solid(rgb: tuple[int, int, int], n: int) -> list[np.ndarray]:
    return [np.full((H, W, 3), rgb, np.uint8) for _ in range(n)]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("project")
    takes = root / "takes"
    takes.mkdir()
    colours = {"s01-01": (200, 40, 40), "s01-02": (40, 200, 40), "s02-01": (40, 40, 200), "s03-01": (200, 200, 40)}
    for shot_id, rgb in colours.items():
        write_clip(takes / f"{shot_id}.mp4", solid(rgb, 18), fps=FPS)
    for shot_id, seconds in LINES.items():
        write_tone(takes / f"{shot_id}.wav", seconds)
    return root


def make_plan(root: Path) -> CutPlan:
    """Scene 1: two shots cut hard; scene 2 and scene 3 each arrive through a cross-fade."""
    takes = root / "takes"

    def item(shot_id: str, scene: int, seconds: float, subtitle: str, speaker: str = "") -> CutItem:
        audio = takes / f"{shot_id}.wav" if shot_id in LINES else None
        return CutItem(
            shot_id=shot_id,
            scene_number=scene,
            clip=takes / f"{shot_id}.mp4",
            duration=seconds,
            subtitle=subtitle,
            speaker=speaker,
            audio=audio,
        )

    return CutPlan(
        title="The Long Night",
        width=W,
        height=H,
        fps=FPS,
        items=[
            item("s01-01", 1, 1.5, "Hello there", "ANNA"),
            item("s01-02", 1, 1.0, "Wait for me"),
            item("s02-01", 2, 1.5, "Where to?"),
            item("s03-01", 3, 1.0, "Home."),
        ],
        title_seconds=TITLE_SECONDS,
        crossfade_seconds=CROSSFADE,
    )


@pytest.fixture(scope="module")
def cut(project: Path) -> CutResult:
    return assemble_cut(make_plan(project), project / "cut")


@pytest.fixture(scope="module")
def files(project: Path, cut: CutResult) -> TimelineFiles:
    plan = TimelinePlan.from_cut(make_plan(project), cut, film_id="film-7", project_root=project)
    return export_timeline(plan, project / "cut")


def frames(seconds: float, rate: int = FPS) -> int:
    return round(seconds * rate)


def cuts_by_subtitle(cut: CutResult) -> dict[str, tuple[int, int]]:
    """Where each shot holds the edit, in film frames: the film changes subtitle exactly where the edit cuts."""
    return {cue.shot_id: (frames(cue.start), frames(cue.end)) for cue in cut.cues}


def dissolves(cut: CutResult) -> list[tuple[TimelineEntry, TimelineEntry, int]]:
    """Outgoing entry, incoming entry and the frames they overlap, for each cross-fade."""
    pairs = zip(cut.entries, cut.entries[1:], strict=False)
    return [(a, b, frames(a.end) - frames(b.start)) for a, b in pairs if frames(a.end) > frames(b.start)]


def record_spans(track: otio.schema.Track) -> dict[str, tuple[int, int]]:
    """Each clip's record in and out on the timeline; an EDL's track starts at its first record timecode."""
    offset = -round(track.source_range.start_time.value) if track.source_range else 0
    spans = {}
    for clip in track.find_clips():
        span = clip.range_in_parent()
        spans[clip.name] = (round(span.start_time.value) + offset, round(span.end_time_exclusive().value) + offset)
    return spans


def source_ins(track: otio.schema.Track) -> dict[str, int]:
    return {clip.name: round(clip.source_range.start_time.value) for clip in track.find_clips()}


def transitions(track: otio.schema.Track) -> list[tuple[int, int]]:
    return [
        (round(item.in_offset.value), round(item.out_offset.value))
        for item in track
        if isinstance(item, otio.schema.Transition)
    ]


def media_path(clip: otio.schema.Clip) -> Path:
    url = clip.media_reference.target_url
    return Path(otio.url_utils.filepath_from_url(url) if url.startswith("file:") else url)


def markers(clip: otio.schema.Clip) -> list[tuple[str, int, int]]:
    return [
        (m.name, round(m.marked_range.start_time.value), round(m.marked_range.duration.value)) for m in clip.markers
    ]


def line_tracks(timeline: otio.schema.Timeline) -> list[otio.schema.Track]:
    return [track for track in timeline.audio_tracks() if track.name not in STEM_NAMES]


def line_frames(entry: TimelineEntry) -> tuple[int, int]:
    """Where a spoken line plays, in film frames: whole frames, never past the end of the line."""
    assert entry.audio_start is not None and entry.audio_end is not None
    first = frames(entry.audio_start)
    return first, first + math.floor((entry.audio_end - entry.audio_start) * FPS + 1e-6)


# --- the files --------------------------------------------------------------------------------------------------


def test_three_files_under_final_names_only(files: TimelineFiles, project: Path) -> None:
    cut_dir = project / "cut"
    assert (files.otio, files.edl, files.xml) == (cut_dir / "film.otio", cut_dir / "film.edl", cut_dir / "film.xml")
    assert files.edit_rate == EDIT_RATE
    assert all(path.is_file() and path.stat().st_size > 0 for path in (files.otio, files.edl, files.xml))
    leftovers = [name for name in os.listdir(cut_dir) if name.startswith(".") or "partial" in name]
    assert leftovers == []


def test_edit_rate_is_the_smallest_timecode_multiple() -> None:
    assert {fps: edit_rate(fps) for fps in (6, 8, 12, 15, 16, 24, 25, 30, 60)} == {
        6: 24,
        8: 24,
        12: 24,
        15: 30,
        16: 48,
        24: 24,
        25: 25,
        30: 30,
        60: 60,
    }
    with pytest.raises(TimelineError, match="18 fps"):
        edit_rate(18)


# --- OpenTimelineIO: everything, in the film's frames ------------------------------------------------------------


def test_otio_picture_edit_matches_the_cut(files: TimelineFiles, cut: CutResult) -> None:
    timeline = otio.adapters.read_from_file(str(files.otio))
    video = timeline.video_tracks()[0]
    kinds = [type(item).__name__ for item in video]
    assert kinds == ["Gap", "Clip", "Clip", "Transition", "Clip", "Transition", "Clip"]
    assert video[0].duration() == otio.opentime.RationalTime(frames(TITLE_SECONDS), FPS)

    assert [clip.name for clip in video.find_clips()] == [e.shot_id for e in cut.entries]
    expected = cuts_by_subtitle(cut)
    assert record_spans(video) == expected
    assert source_ins(video) == {e.shot_id: expected[e.shot_id][0] - frames(e.start) for e in cut.entries}
    assert transitions(video) == [(overlap // 2, overlap - overlap // 2) for _, _, overlap in dissolves(cut)]
    assert [t.transition_type for t in video if isinstance(t, otio.schema.Transition)] == ["SMPTE_Dissolve"] * 2
    assert timeline.duration() == otio.opentime.RationalTime(frames(cut.duration), FPS)
    assert {item.duration().rate for item in video} == {FPS}


def test_otio_clips_play_the_take_files(files: TimelineFiles, cut: CutResult, project: Path) -> None:
    timeline = otio.adapters.read_from_file(str(files.otio))
    clips = list(timeline.video_tracks()[0].find_clips())
    for clip, entry in zip(clips, cut.entries, strict=True):
        url = clip.media_reference.target_url
        assert url.startswith("file:///")
        assert media_path(clip) == Path(entry.clip) and media_path(clip).is_file()
        available = clip.media_reference.available_range
        assert (available.start_time.value, available.duration.value) == (0, frames(entry.end - entry.start))
        # The dissolve's handles come out of the take, never from before its first frame or past its last.
        assert clip.visible_range().start_time.value >= 0
        assert clip.visible_range().end_time_exclusive() <= available.end_time_exclusive()
        meta = clip.metadata["director"]
        assert meta["shot_id"] == entry.shot_id and meta["scene_number"] == entry.scene_number
        assert meta["film_id"] == "film-7" and meta["ai_generated"] is True and "Director" in meta["tool"]
    film = timeline.metadata["director"]
    assert (film["film_id"], film["ai_generated"], film["fps"], film["width"], film["height"]) == (
        "film-7",
        True,
        FPS,
        W,
        H,
    )
    assert timeline.name == "The Long Night"


def test_otio_scene_and_dialogue_markers(files: TimelineFiles, cut: CutResult) -> None:
    timeline = otio.adapters.read_from_file(str(files.otio))
    video = timeline.video_tracks()[0]
    spans = record_spans(video)
    by_shot = {clip.name: clip for clip in video.find_clips()}
    scenes = []
    for clip in video.find_clips():
        for marker in clip.markers:
            at = video.range_of_child(clip).start_time.value + marker.marked_range.start_time.value
            at -= clip.source_range.start_time.value
            if marker.name.startswith("Scene"):
                scenes.append((marker.name, clip.name, round(at)))
    firsts = [e for i, e in enumerate(cut.entries) if i == 0 or e.scene_number != cut.entries[i - 1].scene_number]
    assert scenes == [(f"Scene {e.scene_number}", e.shot_id, spans[e.shot_id][0]) for e in firsts]

    for cue in cut.cues:
        clip = by_shot[cue.shot_id]
        lines = [m for m in clip.markers if m.name == cue.text]
        assert len(lines) == 1, f"no single marker {cue.text!r} on {cue.shot_id}"
        start = clip.source_range.start_time.value + frames(cue.start) - spans[cue.shot_id][0]
        assert (lines[0].marked_range.start_time.value, lines[0].marked_range.duration.value) == (
            start,
            frames(cue.end) - frames(cue.start),
        )


def test_otio_lines_play_where_the_film_speaks_them(files: TimelineFiles, cut: CutResult) -> None:
    timeline = otio.adapters.read_from_file(str(files.otio))
    placed = {}
    for track in line_tracks(timeline):
        for clip in track.find_clips():
            span = clip.range_in_parent()
            placed[clip.name] = (round(span.start_time.value), round(span.end_time_exclusive().value), media_path(clip))
    spoken = [e for e in cut.entries if e.audio]
    assert placed == {f"{e.shot_id} line": (*line_frames(e), Path(e.audio)) for e in spoken}
    assert all(path.is_file() for _, _, path in placed.values())
    # The second line runs into the cross-fade under the third, so they need two tracks.
    assert len(line_tracks(timeline)) == 2


# --- FCP 7 XML: picture, dissolves centred on the cut, markers and audio, at the edit rate ----------------------


def test_xml_picture_edit_matches_the_cut(files: TimelineFiles, cut: CutResult) -> None:
    timeline = otio.adapters.read_from_file(str(files.xml))
    video = timeline.video_tracks()[0]
    assert [type(item).__name__ for item in video] == [
        "Gap",
        "Clip",
        "Clip",
        "Transition",
        "Clip",
        "Transition",
        "Clip",
    ]
    assert video[0].duration().value == frames(TITLE_SECONDS, EDIT_RATE)
    assert [clip.name for clip in video.find_clips()] == [e.shot_id for e in cut.entries]

    # XML can only centre a dissolve on its cut: the cut sits at the middle of the overlap, at the edit rate.
    expected = {e.shot_id: [frames(e.start, EDIT_RATE), frames(e.end, EDIT_RATE)] for e in cut.entries}
    centred = {}
    for a, b, _ in dissolves(cut):
        middle = (frames(b.start, EDIT_RATE) + frames(a.end, EDIT_RATE)) // 2
        expected[a.shot_id][1] = expected[b.shot_id][0] = middle
        centred[b.shot_id] = middle - frames(b.start, EDIT_RATE)
    assert record_spans(video) == {shot: tuple(span) for shot, span in expected.items()}
    assert source_ins(video) == {e.shot_id: centred.get(e.shot_id, 0) for e in cut.entries}
    assert transitions(video) == [(overlap * K // 2, overlap * K - overlap * K // 2) for *_, overlap in dissolves(cut)]
    assert timeline.duration().value == frames(cut.duration, EDIT_RATE)


def test_xml_media_markers_and_sequence(files: TimelineFiles, cut: CutResult) -> None:
    timeline = otio.adapters.read_from_file(str(files.xml))
    video = timeline.video_tracks()[0]
    clips = list(video.find_clips())
    for clip, entry in zip(clips, cut.entries, strict=True):
        assert clip.media_reference.target_url.startswith("file:///")
        assert media_path(clip) == Path(entry.clip) and media_path(clip).is_file()
        assert entry.shot_id in clip.metadata["fcp_xml"]["comments"]["clipcommenta"]
        # Each marker sits inside the part of the take that is in the edit.
        for _, start, _ in markers(clip):
            assert clip.source_range.start_time.value <= start < clip.source_range.end_time_exclusive().value
    scenes = {clip.name: [name for name, *_ in markers(clip) if name.startswith("Scene")] for clip in clips}
    assert scenes == {"s01-01": ["Scene 1"], "s01-02": [], "s02-01": ["Scene 2"], "s03-01": ["Scene 3"]}
    texts = [name for clip in clips for name, *_ in markers(clip) if not name.startswith("Scene")]
    assert texts == [cue.text for cue in cut.cues]

    format_ = timeline.metadata["fcp_xml"]["media"]["video"]["format"]["samplecharacteristics"]
    assert (int(format_["width"]), int(format_["height"]), int(format_["rate"]["timebase"])) == (W, H, EDIT_RATE)
    pathurls = files.xml.read_text(encoding="utf-8").count("<pathurl>file:///")
    assert pathurls == len(cut.entries) + len(LINES) + len(cut.stems)


def test_xml_lines_play_where_the_film_speaks_them(files: TimelineFiles, cut: CutResult) -> None:
    timeline = otio.adapters.read_from_file(str(files.xml))
    placed = {}
    for track in line_tracks(timeline):
        for clip in track.find_clips():
            span = clip.range_in_parent()
            placed[clip.name] = (round(span.start_time.value), round(span.end_time_exclusive().value), media_path(clip))
    spoken = [e for e in cut.entries if e.audio]
    assert placed == {
        f"{e.shot_id} line": (line_frames(e)[0] * K, line_frames(e)[1] * K, Path(e.audio)) for e in spoken
    }


# --- CMX 3600 EDL: the picture edit, reels and point markers; no audio, no metadata -----------------------------


def read_edl(path: Path, rate: int = EDIT_RATE) -> otio.schema.Timeline:
    """An EDL does not say its frame rate; the reader is told it."""
    return otio.adapters.read_from_file(str(path), rate=rate)


def test_edl_picture_edit_matches_the_cut(files: TimelineFiles, cut: CutResult) -> None:
    timeline = read_edl(files.edl)
    assert [track.kind for track in timeline.tracks] == ["Video"], "an EDL carries no audio"
    video = timeline.tracks[0]
    assert [clip.name for clip in video.find_clips()] == [e.shot_id for e in cut.entries]

    # An EDL dissolve starts at the cut: the incoming shot takes the edit where it starts to fade in.
    expected = {e.shot_id: [frames(e.start, EDIT_RATE), frames(e.end, EDIT_RATE)] for e in cut.entries}
    for a, b, _ in dissolves(cut):
        expected[a.shot_id][1] = expected[b.shot_id][0]
    spans = record_spans(video)
    assert spans == {shot: tuple(span) for shot, span in expected.items()}
    assert spans[cut.entries[0].shot_id][0] == frames(TITLE_SECONDS, EDIT_RATE), "the title card stays a gap"
    assert max(end for _, end in spans.values()) == frames(cut.duration, EDIT_RATE)
    assert set(source_ins(video).values()) == {0}
    assert transitions(video) == [(0, overlap * K) for *_, overlap in dissolves(cut)]


def test_edl_reels_paths_and_markers(files: TimelineFiles, cut: CutResult) -> None:
    text = files.edl.read_text(encoding="utf-8")
    assert text.startswith("TITLE: The Long Night\nFCM: NON-DROP FRAME\n")
    timeline = read_edl(files.edl)
    clips = list(timeline.tracks[0].find_clips())
    reels = [clip.metadata["cmx_3600"]["reel"] for clip in clips]
    assert reels == ["S0101", "S0102", "S0201", "S0301"]
    for clip, entry in zip(clips, cut.entries, strict=True):
        # The adapter reads an incoming dissolve clip's path from the outgoing clip's FROM line; the EDL has its
        # own on a TO line, which comes back among the comments.
        comments = clip.metadata["cmx_3600"].get("comments", [])
        assert media_path(clip) == Path(entry.clip) or f"TO CLIP: {entry.clip}" in comments
        assert f"* FROM CLIP: {entry.clip}" in text or f"* TO CLIP: {entry.clip}" in text
        assert Path(entry.clip).is_file()

    found = {clip.name: [name for name, *_ in markers(clip)] for clip in clips}
    cue_text = {cue.shot_id: cue.text.upper() for cue in cut.cues}
    assert found == {
        "s01-01": ["SCENE 1", cue_text["s01-01"]],
        "s01-02": [cue_text["s01-02"]],
        "s02-01": ["SCENE 2", cue_text["s02-01"]],
        "s03-01": ["SCENE 3", cue_text["s03-01"]],
    }


# --- plans made by hand: title, paths, reels, errors --------------------------------------------------------------


def hand_plan(project: Path, starts: list[float], ids: list[str] | None = None, **changes: object) -> TimelinePlan:
    """Shots of one second each, cut hard, starting where asked."""
    ids = ids or [f"s01-{n:02d}" for n in range(1, len(starts) + 1)]
    takes = ["s01-01", "s01-02", "s02-01", "s03-01"]
    shots = [
        TimelineShot(
            shot_id=shot_id,
            scene_number=1,
            clip=project / "takes" / f"{takes[n % 4]}.mp4",
            clip_duration=1.5,
            start=start,
            end=start + 1.0,
        )
        for n, (shot_id, start) in enumerate(zip(ids, starts, strict=True))
    ]
    fields: dict[str, object] = {"title": "Hand", "fps": FPS, "width": W, "height": H, "shots": shots}
    return TimelinePlan(**(fields | changes))


def test_without_a_title_card_the_film_starts_on_the_first_shot(project: Path, tmp_path: Path) -> None:
    files = export_timeline(hand_plan(project, [0.0, 1.0]), tmp_path)
    for path, kwargs in ((files.otio, {}), (files.xml, {}), (files.edl, {"rate": EDIT_RATE})):
        video = otio.adapters.read_from_file(str(path), **kwargs).video_tracks()[0]
        assert not isinstance(video[0], otio.schema.Gap), path.name
        assert min(start for start, _ in record_spans(video).values()) == 0, path.name
    assert "00:00:00:00 00:00:01:00 00:00:00:00 00:00:01:00" in files.edl.read_text(encoding="utf-8")


def test_relative_takes_are_linked_by_absolute_url(project: Path, tmp_path: Path) -> None:
    plan = hand_plan(project, [0.5])
    relative = plan.shots[0].model_copy(update={"clip": Path("takes/s01-01.mp4")})
    with pytest.raises(TimelineError, match="relative"):
        build_timeline(plan.model_copy(update={"shots": [relative]}))
    timeline = build_timeline(plan.model_copy(update={"shots": [relative], "project_root": project}))
    clip = next(iter(timeline.find_clips()))
    assert clip.media_reference.target_url == (project / "takes" / "s01-01.mp4").resolve().as_uri()


def test_reels_are_unique_short_and_stable(project: Path, tmp_path: Path) -> None:
    ids = ["s01-01", "S01_01", "a-very-long-shot-identifier", "a-very-long-shot-identifier-2"]
    plan = hand_plan(project, [0.0, 1.0, 2.0, 3.0], ids=ids)
    first = export_timeline(plan, tmp_path / "one")
    again = export_timeline(plan, tmp_path / "two")
    reels = [c.metadata["cmx_3600"]["reel"] for c in read_edl(first.edl).tracks[0].find_clips()]
    assert len(set(reels)) == 4 and all(0 < len(reel) <= 8 and reel.isalnum() for reel in reels)
    assert reels[0] == "S0101"
    assert first.edl.read_text(encoding="utf-8") == again.edl.read_text(encoding="utf-8")


def test_a_missing_take_is_named_and_nothing_is_written(project: Path, tmp_path: Path) -> None:
    plan = hand_plan(project, [0.0, 1.0])
    gone = plan.shots[1].model_copy(update={"clip": project / "takes" / "gone.mp4"})
    out = tmp_path / "cut"
    with pytest.raises(TimelineError) as error:
        export_timeline(plan.model_copy(update={"shots": [plan.shots[0], gone]}), out)
    message = str(error.value)
    assert "s01-02" in message and "gone.mp4" in message and "render the shot again" in message
    assert not out.exists() or os.listdir(out) == []


def test_a_missing_line_is_named(project: Path, tmp_path: Path) -> None:
    plan = hand_plan(project, [0.0])
    shot = plan.shots[0].model_copy(
        update={"audio": project / "takes" / "gone.wav", "audio_start": 0.0, "audio_end": 1}
    )
    with pytest.raises(TimelineError, match=r"s01-01: line audio .*gone\.wav does not exist"):
        export_timeline(plan.model_copy(update={"shots": [shot]}), tmp_path)


def test_a_failed_export_leaves_the_previous_files(project: Path, tmp_path: Path) -> None:
    before = export_timeline(hand_plan(project, [0.0, 1.0]), tmp_path)
    saved = {path: path.read_bytes() for path in (before.otio, before.edl, before.xml)}
    plan = hand_plan(project, [0.0, 1.0, 2.0])
    gone = plan.shots[2].model_copy(update={"clip": project / "takes" / "gone.mp4"})
    with pytest.raises(TimelineError):
        export_timeline(plan.model_copy(update={"shots": [*plan.shots[:2], gone]}), tmp_path)
    assert {path: path.read_bytes() for path in saved} == saved
    assert sorted(os.listdir(tmp_path)) == ["film.edl", "film.otio", "film.xml"]


def test_something_in_the_way_stops_the_export_before_any_file(project: Path, tmp_path: Path) -> None:
    (tmp_path / "film.xml").mkdir()
    with pytest.raises(TimelineError, match="film.xml is in the way"):
        export_timeline(hand_plan(project, [0.0, 1.0]), tmp_path)
    assert sorted(os.listdir(tmp_path)) == ["film.xml"]


def test_timing_that_a_timeline_cannot_hold_is_refused(project: Path) -> None:
    with pytest.raises(TimelineError, match="frame grid"):
        build_timeline(hand_plan(project, [0.0, 1.04]))
    with pytest.raises(TimelineError, match="playing order"):
        build_timeline(hand_plan(project, [1.0, 0.0]))
    short = hand_plan(project, [0.0])
    held = short.shots[0].model_copy(update={"clip_duration": 0.5})
    with pytest.raises(TimelineError, match="held its last frame"):
        build_timeline(short.model_copy(update={"shots": [held]}))


@pytest.mark.parametrize(("fps", "rate"), [(16, 48), (24, 24)])
def test_an_odd_dissolve_survives_every_format_at_other_rates(
    project: Path, tmp_path: Path, fps: int, rate: int
) -> None:
    """Three overlapping frames: split 1 + 2 in OTIO, centred in XML, and started at the overlap in the EDL."""
    k = rate // fps
    first = TimelineShot(
        shot_id="a", scene_number=1, clip=project / "takes" / "s01-01.mp4", clip_duration=1, start=0, end=1
    )
    second = first.model_copy(update={"shot_id": "b", "scene_number": 2, "start": 1 - 3 / fps, "end": 2 - 3 / fps})
    plan = TimelinePlan(title="Odd", fps=fps, width=W, height=H, shots=[first, second])
    files = export_timeline(plan, tmp_path)
    assert files.edit_rate == rate
    total = 2 * fps - 3

    video = otio.adapters.read_from_file(str(files.otio)).video_tracks()[0]
    assert (transitions(video), record_spans(video)) == ([(1, 2)], {"a": (0, fps - 2), "b": (fps - 2, total)})

    video = otio.adapters.read_from_file(str(files.xml)).video_tracks()[0]
    cut = (fps - 3) * k + 3 * k // 2
    assert transitions(video) == [(3 * k // 2, 3 * k - 3 * k // 2)]
    assert record_spans(video) == {"a": (0, cut), "b": (cut, total * k)}

    video = read_edl(files.edl, rate).tracks[0]
    assert transitions(video) == [(0, 3 * k)]
    assert record_spans(video) == {"a": (0, (fps - 3) * k), "b": ((fps - 3) * k, total * k)}


# --- sound stems: one film-length audio track each, in OTIO and XML; the EDL stays the picture edit ------------


def write_stem(path: Path, seconds: float, hz: float) -> Path:
    """A stereo 32-bit float WAV (format tag 3, which the stdlib `wave` cannot read) at 48 kHz."""
    t = np.arange(round(seconds * STEM_RATE)) / STEM_RATE
    tone = (0.1 * np.sin(2 * np.pi * hz * t)).astype(np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    wavfile.write(path, STEM_RATE, np.stack([tone, tone], axis=1))
    assert int.from_bytes(path.read_bytes()[20:22], "little") == 3
    return path


@pytest.fixture(scope="module")
def stemmed(project: Path, cut: CutResult) -> CutResult:
    folder = project / "stems"
    stems = {
        name: write_stem(folder / f"{name}.wav", cut.duration, hz)
        for name, hz in (("dialogue", 300.0), ("music", 440.0), ("ambience", 90.0))
    }
    return cut.model_copy(update={"stems": stems})


@pytest.fixture(scope="module")
def stem_files(project: Path, stemmed: CutResult) -> TimelineFiles:
    plan = TimelinePlan.from_cut(make_plan(project), stemmed, film_id="film-7", project_root=project)
    return export_timeline(plan, project / "with-stems")


def stem_tracks(timeline: otio.schema.Timeline) -> list[otio.schema.Track]:
    return [track for track in timeline.audio_tracks() if track.name in STEM_NAMES]


def test_from_cut_keeps_stems_relative_to_the_project(project: Path, stemmed: CutResult) -> None:
    plan = TimelinePlan.from_cut(make_plan(project), stemmed, project_root=project)
    assert plan.stems == {name: Path("stems") / f"{name}.wav" for name in ("dialogue", "music", "ambience")}
    outside = TimelinePlan.from_cut(make_plan(project), stemmed, project_root=project / "takes")
    assert outside.stems == stemmed.stems
    with pytest.raises(ValidationError, match="unknown stems"):
        TimelinePlan.model_validate(plan.model_dump() | {"stems": {"foley": "x.wav"}})


def test_otio_stems_run_the_whole_film(stem_files: TimelineFiles, stemmed: CutResult) -> None:
    timeline = otio.adapters.read_from_file(str(stem_files.otio))
    names = [track.name for track in timeline.audio_tracks()]
    assert names == ["A1", "A2", *STEM_NAMES], "the line tracks stay, the stems follow in order"
    film = frames(stemmed.duration)
    for track, stem in zip(stem_tracks(timeline), ("dialogue", "music", "ambience"), strict=True):
        (clip,) = track.find_clips()
        span = clip.range_in_parent()
        assert span.start_time.value == 0
        assert abs(span.end_time_exclusive().value - film) <= 1
        assert media_path(clip) == stemmed.stems[stem].resolve()
        assert clip.media_reference.available_range.duration.value == film
        meta = clip.metadata["director"]
        assert (meta["kind"], meta["stem"], meta["film_id"]) == ("stem", stem, "film-7")
    assert timeline.duration() == otio.opentime.RationalTime(film, FPS)


def test_xml_carries_each_stem_as_its_own_track(stem_files: TimelineFiles, stemmed: CutResult) -> None:
    sequence = ET.parse(stem_files.xml).getroot().find(".//sequence")
    assert sequence is not None
    found = {}
    for track in sequence.findall("./media/audio/track"):
        items = track.findall("clipitem")
        names = [item.findtext("name") for item in items]
        if any(name in STEM_NAMES for name in names):
            assert len(items) == 1, f"a stem shares its track: {names}"
            item = items[0]
            found[names[0]] = (
                int(item.findtext("start")),
                int(item.findtext("end")),
                int(item.findtext("duration")),
                item.findtext("./file/pathurl"),
                int(item.findtext("./file/media/audio/channelcount")),
            )
    film = frames(stemmed.duration, EDIT_RATE)
    expected = {"Dialogue stem": "dialogue", "Music": "music", "Ambience": "ambience"}
    assert found == {
        name: (0, film, film, stemmed.stems[stem].resolve().as_uri(), 2) for name, stem in expected.items()
    }
    assert list(found) == STEM_NAMES


def test_edl_with_stems_is_the_same_picture_edit(stem_files: TimelineFiles, files: TimelineFiles) -> None:
    assert stem_files.edl.read_text(encoding="utf-8") == files.edl.read_text(encoding="utf-8")
    timeline = read_edl(stem_files.edl)
    assert [track.kind for track in timeline.tracks] == ["Video"]
    assert "stems" not in stem_files.edl.read_text(encoding="utf-8")


def test_a_stem_a_second_short_is_refused(project: Path, stemmed: CutResult, tmp_path: Path) -> None:
    """Under a frame off is the WAV's own rounding and plays to the film's end; a second off is a wrong mix."""
    nearly = write_stem(tmp_path / "ambience.wav", stemmed.duration - 0.5 / FPS, 90.0)
    plan = TimelinePlan.from_cut(make_plan(project), stemmed.model_copy(update={"stems": {"ambience": nearly}}))
    (track,) = stem_tracks(build_timeline(plan))
    assert track.name == "Ambience" and track.duration().value == frames(stemmed.duration)
    short = write_stem(tmp_path / "music.wav", stemmed.duration - 1.0, 440.0)
    plan = TimelinePlan.from_cut(make_plan(project), stemmed.model_copy(update={"stems": {"music": short}}))
    out = tmp_path / "cut"
    with pytest.raises(TimelineError, match=r"music stem .*music\.wav lasts .* but the film lasts"):
        export_timeline(plan, out)
    assert not out.exists() or os.listdir(out) == []
