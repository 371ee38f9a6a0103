"""Editorial timelines for an assembled cut: OpenTimelineIO, CMX 3600 EDL and FCP 7 XML for real editors.

The film's timing (title card, shots overlapping at scene changes, spoken lines) becomes one video track of
clips that point at the take files themselves, cross-dissolves at scene changes, a marker per scene and per
subtitle, and audio tracks with the spoken lines. Each format keeps what it can: `film.otio` everything;
`film.xml` all but our metadata and marker colours, with each dissolve centred on its cut; `film.edl` the
picture edit with reels and point markers (upper-cased), but no audio.

`film.otio` counts in the film's own frames. EDL and XML carry SMPTE timecode, which has no 12 or 16 fps, so
they count at the edit rate: the smallest timecode rate that is a whole multiple of the film's (24 for 12 fps,
48 for 16), where every film frame is a whole number of timeline frames.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import uuid
import wave
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import opentimelineio as otio
from pydantic import BaseModel, ConfigDict, Field, model_validator

from tools.edit.cut import CutPlan, CutResult, SubtitleCue

OTIO_NAME = "film.otio"
EDL_NAME = "film.edl"
XML_NAME = "film.xml"
METADATA_KEY = "director"
REEL_LENGTH = 8
SCENE_COLOUR = otio.schema.MarkerColor.BLUE
DIALOGUE_COLOUR = otio.schema.MarkerColor.YELLOW
DISSOLVE_NAME = "Cross Dissolve"
FRAME_TOLERANCE = 0.01
MAX_EDIT_RATE = 120
ADAPTER_PACKAGES = {"cmx_3600": "otio-cmx3600-adapter", "fcp_xml": "otio-fcp-adapter"}
_DISSOLVE_LINE = re.compile(r"^\d{3,}\s+\S+\s+\S+\s+D\s")


class TimelineError(RuntimeError):
    """A timeline could not be exported: a take or line is missing, or the timing cannot be expressed."""


class TimelineShot(BaseModel):
    """One shot where the film plays it: its take, the record span on the film's timeline and its line."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    shot_id: str = Field(min_length=1)
    scene_number: int
    clip: Path = Field(description="The take's video file, absolute or relative to the plan's project_root.")
    clip_duration: float = Field(gt=0, description="Seconds of picture in the take file, from its first frame.")
    start: float = Field(ge=0, description="Record in, seconds; a shot after a scene change starts in the fade.")
    end: float
    audio: Path | None = Field(default=None, description="The spoken line, a WAV file.")
    audio_start: float | None = None
    audio_end: float | None = None

    @model_validator(mode="after")
    def _ordered(self) -> TimelineShot:
        if self.end <= self.start:
            raise ValueError(f"shot {self.shot_id} ends ({self.end:.3f} s) before it starts ({self.start:.3f} s)")
        if self.audio is not None and (self.audio_start is None or self.audio_end is None):
            raise ValueError(f"shot {self.shot_id} has line audio but no audio_start/audio_end")
        return self


class TimelinePlan(BaseModel):
    """What an editorial timeline is built from; `from_cut` makes one from the cut the editor just made."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str
    film_id: str = ""
    fps: int = Field(ge=1, le=120)
    width: int = Field(ge=1)
    height: int = Field(ge=1)
    shots: list[TimelineShot] = Field(min_length=1)
    cues: list[SubtitleCue] = Field(default_factory=list)
    project_root: Path | None = Field(default=None, description="Where relative clip and audio paths start.")

    @classmethod
    def from_cut(
        cls, plan: CutPlan, cut: CutResult, *, film_id: str = "", project_root: Path | None = None
    ) -> TimelinePlan:
        """The plan for `cut` as `assemble_cut(plan, ...)` made it; each take is as long as its planned shot."""
        if [item.shot_id for item in plan.items] != [entry.shot_id for entry in cut.entries]:
            raise TimelineError("the cut's timeline entries do not match the plan's shots; assemble the cut again")
        shots = [
            TimelineShot(
                shot_id=entry.shot_id,
                scene_number=entry.scene_number,
                clip=Path(entry.clip),
                clip_duration=item.duration,
                start=entry.start,
                end=entry.end,
                audio=Path(entry.audio) if entry.audio else None,
                audio_start=entry.audio_start,
                audio_end=entry.audio_end,
            )
            for item, entry in zip(plan.items, cut.entries, strict=True)
        ]
        return cls(
            title=plan.title,
            film_id=film_id,
            fps=plan.fps,
            width=plan.width,
            height=plan.height,
            shots=shots,
            cues=cut.cues,
            project_root=project_root,
        )


class TimelineFiles(BaseModel):
    """The three exported timelines, side by side in the cut folder."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    otio: Path
    edl: Path
    xml: Path
    edit_rate: int = Field(description="Frames per second of film.edl and film.xml; an EDL does not say its own.")


def export_timeline(plan: TimelinePlan, out_dir: Path) -> TimelineFiles:
    """Write `film.otio`, `film.edl` and `film.xml` for `plan` into `out_dir`.

    All three are rendered in memory first, then written under temporary names and moved into place together,
    so a failed export leaves the previous files (or none) and never a half-written one.

    Raises:
        TimelineError: a take or line file is missing, the timing is not on the frame grid or cannot be cut, or
            the files cannot be written.
    """
    out_dir = Path(out_dir)
    finals = [out_dir / OTIO_NAME, out_dir / EDL_NAME, out_dir / XML_NAME]
    for final in finals:
        if final.exists() and not final.is_file():
            raise TimelineError(f"{final} is in the way and is not a file; move it aside and export again")
    rate = edit_rate(plan.fps)
    timeline = build_timeline(plan)
    editorial = _conformed(timeline, rate)
    texts = [
        _render(timeline, "otio_json", "OpenTimelineIO"),
        _edl_text(editorial, rate),
        _xml_text(editorial, plan, rate),
    ]
    temps: list[Path] = []
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        for final, text in zip(finals, texts, strict=True):
            temps.append(out_dir / f".{final.stem}-{uuid.uuid4().hex[:12]}.partial{final.suffix}")
            temps[-1].write_text(text, encoding="utf-8")
        for temp, final in zip(temps, finals, strict=True):
            os.replace(temp, final)
        temps.clear()
    except OSError as err:
        raise TimelineError(f"could not write the timelines into {out_dir}: {err}") from err
    finally:
        for temp in temps:
            temp.unlink(missing_ok=True)
    return TimelineFiles(otio=finals[0], edl=finals[1], xml=finals[2], edit_rate=rate)


def edit_rate(fps: int) -> int:
    """The smallest SMPTE timecode rate that is a whole multiple of `fps`, for the EDL and the XML.

    Raises:
        TimelineError: no timecode rate is a multiple of `fps` (say 18), so no EDL could place every frame.
    """
    rates = (fps * k for k in range(1, MAX_EDIT_RATE // fps + 1))
    rate = next((r for r in rates if otio.opentime.RationalTime.is_valid_timecode_rate(r)), None)
    if rate is None:
        raise TimelineError(
            f"{fps} fps has no whole multiple among the SMPTE timecode rates (24, 25, 30, 48, 50, 60), so an EDL "
            f"or XML cannot hold the cut frame for frame; cut the film at 6, 8, 10, 12, 15, 16, 20, 24, 25, 30, "
            f"48, 50 or 60 fps"
        )
    return rate


def build_timeline(plan: TimelinePlan) -> otio.schema.Timeline:
    """The OTIO timeline for `plan`: title gap, shots with dissolves at overlaps, markers and line audio.

    A cross-fade of n frames becomes a dissolve cut where the film's subtitles change: the outgoing shot holds
    the edit for n // 2 of them and the incoming one for the rest. A one-frame overlap plays as a hard cut.

    Raises:
        TimelineError: a take or line file is missing, or the timing cannot be laid out on the frame grid.
    """
    fps = plan.fps
    tool = _tool_name()
    spans = [(_frames(s.start, fps, s.shot_id), _frames(s.end, fps, s.shot_id)) for s in plan.shots]
    cut_points = _cut_points(plan.shots, spans)
    reels = _reel_names([shot.shot_id for shot in plan.shots])

    video = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    clips: list[tuple[int, int, otio.schema.Clip]] = []
    cursor = 0
    for index, shot in enumerate(plan.shots):
        start, end = spans[index]
        cut_in, cut_out = cut_points[index], cut_points[index + 1]
        path = _existing(shot.clip, plan.project_root, f"shot {shot.shot_id}: take clip")
        available = round(shot.clip_duration * fps)
        if end - start > available:
            raise TimelineError(
                f"shot {shot.shot_id} plays {end - start} frames but its take {path} has {available}; the cut "
                f"held its last frame, which a timeline cannot express; render the shot again at full length"
            )
        if index and start < spans[index - 1][1]:
            _add_dissolve(video, cut_in - start, spans[index - 1][1] - cut_in, fps)
        elif cut_in > cursor:
            name = "Title" if index == 0 else "Black"
            video.append(otio.schema.Gap(name=name, source_range=_range(0, cut_in - cursor, fps)))
        clip = otio.schema.Clip(
            name=shot.shot_id,
            media_reference=otio.schema.ExternalReference(
                target_url=path.as_uri(), available_range=_range(0, available, fps)
            ),
            source_range=_range(cut_in - start, cut_out - cut_in, fps),
            metadata={
                METADATA_KEY: _provenance(plan, tool, shot_id=shot.shot_id, scene_number=shot.scene_number),
                "cmx_3600": {"reel": reels[shot.shot_id]},
                "fcp_xml": {"comments": {"clipcommenta": f"shot {shot.shot_id}, scene {shot.scene_number}"}},
            },
        )
        clip.media_reference.name = shot.shot_id
        # FCP XML otherwise declares an audio stream in every file; the takes are picture only.
        clip.media_reference.metadata["fcp_xml"] = {"media": {"video": {}}}
        if index == 0 or shot.scene_number != plan.shots[index - 1].scene_number:
            clip.markers.append(
                otio.schema.Marker(
                    name=f"Scene {shot.scene_number}",
                    marked_range=_range(cut_in - start, 0, fps),
                    color=SCENE_COLOUR,
                    metadata={METADATA_KEY: {"kind": "scene", "scene_number": shot.scene_number}},
                )
            )
        video.append(clip)
        clips.append((cut_in, start, clip))
        cursor = cut_out
    _mark_cues(plan.cues, clips, cut_points[-1], fps)

    timeline = otio.schema.Timeline(
        name=plan.title,
        global_start_time=otio.opentime.RationalTime(0, fps),
        metadata={METADATA_KEY: _provenance(plan, tool, width=plan.width, height=plan.height, fps=fps)},
    )
    timeline.tracks.append(video)
    timeline.tracks.extend(_line_tracks(plan, tool))
    return timeline


def _cut_points(shots: list[TimelineShot], spans: list[tuple[int, int]]) -> list[int]:
    """Frames where each shot takes over the edit, then where the last one ends (one more than there are shots)."""
    points = [spans[0][0]]
    for index in range(1, len(spans)):
        (prev_start, prev_end), (start, end) = spans[index - 1], spans[index]
        overlap = prev_end - start
        if start < prev_start or overlap >= min(end - start, prev_end - prev_start):
            raise TimelineError(
                f"shot {shots[index].shot_id} starts at {start} frames, inside shot {shots[index - 1].shot_id} "
                f"({prev_start}-{prev_end}) by more than either lasts; shots must be in playing order"
            )
        point = start + overlap // 2 if overlap > 1 else start
        if point <= points[-1]:
            raise TimelineError(f"shot {shots[index - 1].shot_id} is too short for the cross-fades on both sides")
        points.append(point)
    points.append(spans[-1][1])
    return points


def _add_dissolve(track: otio.schema.Track, in_offset: int, out_offset: int, fps: int) -> None:
    if in_offset and out_offset:
        track.append(
            otio.schema.Transition(
                name=DISSOLVE_NAME,
                transition_type=otio.schema.TransitionTypes.SMPTE_Dissolve,
                in_offset=otio.opentime.RationalTime(in_offset, fps),
                out_offset=otio.opentime.RationalTime(out_offset, fps),
            )
        )


def _mark_cues(cues: list[SubtitleCue], clips: list[tuple[int, int, otio.schema.Clip]], end: int, fps: int) -> None:
    """A marker with each subtitle's text on the clip that is in the edit when it appears, in source frames."""
    for cue in cues:
        first = round(cue.start * fps)
        owner = next(((cut_in, start, clip) for cut_in, start, clip in reversed(clips) if cut_in <= first), None)
        text = " ".join(cue.text.split())
        if owner is None or first >= end or not text:
            continue
        cut_in, start, clip = owner
        last = min(round(cue.end * fps), cut_in + round(clip.source_range.duration.value))
        clip.markers.append(
            otio.schema.Marker(
                name=text,
                marked_range=_range(first - start, max(0, last - first), fps),
                color=DIALOGUE_COLOUR,
                metadata={METADATA_KEY: {"kind": "dialogue", "cue_index": cue.index, "shot_id": clip.name}},
            )
        )


def _line_tracks(plan: TimelinePlan, tool: str) -> list[otio.schema.Track]:
    """Audio tracks holding each spoken line where it plays; a line that overlaps another goes a track lower.

    Lines are trimmed to whole frames, never past the end of their WAV, so a line loses under a frame of tail.
    """
    fps = plan.fps
    tracks: list[otio.schema.Track] = []
    ends: list[int] = []
    for shot in plan.shots:
        if shot.audio is None or shot.audio_start is None or shot.audio_end is None:
            continue
        path = _existing(shot.audio, plan.project_root, f"shot {shot.shot_id}: line audio")
        seconds, channels = _wav_facts(path, shot.shot_id)
        available = math.floor(seconds * fps + 1e-6)
        first = round(shot.audio_start * fps)
        last = min(round(shot.audio_end * fps), first + available)
        if last <= first:
            continue
        lane = next((n for n, lane_end in enumerate(ends) if lane_end <= first), len(tracks))
        if lane == len(tracks):
            tracks.append(otio.schema.Track(name=f"A{lane + 1}", kind=otio.schema.TrackKind.Audio))
            ends.append(0)
        if first > ends[lane]:
            tracks[lane].append(otio.schema.Gap(source_range=_range(0, first - ends[lane], fps)))
        line = otio.schema.Clip(
            name=f"{shot.shot_id} line",
            media_reference=otio.schema.ExternalReference(
                target_url=path.as_uri(), available_range=_range(0, available, fps)
            ),
            source_range=_range(0, last - first, fps),
            metadata={
                METADATA_KEY: _provenance(plan, tool, shot_id=shot.shot_id, scene_number=shot.scene_number),
                "fcp_xml": {"sourcetrack": {"mediatype": "audio", "trackindex": 1}},
            },
        )
        line.media_reference.name = f"{shot.shot_id} line"
        line.media_reference.metadata["fcp_xml"] = {"media": {"audio": {"channelcount": channels}}}
        tracks[lane].append(line)
        ends[lane] = last
    return tracks


def _conformed(timeline: otio.schema.Timeline, rate: int) -> otio.schema.Timeline:
    """A copy of `timeline` counted at `rate`, a whole multiple of its own, so every time scales exactly."""
    copy = timeline.deepcopy()

    def scaled(span: otio.opentime.TimeRange) -> otio.opentime.TimeRange:
        return otio.opentime.TimeRange(span.start_time.rescaled_to(rate), span.duration.rescaled_to(rate))

    copy.global_start_time = copy.global_start_time.rescaled_to(rate)
    for track in copy.tracks:
        for item in track:
            if isinstance(item, otio.schema.Transition):
                item.in_offset = item.in_offset.rescaled_to(rate)
                item.out_offset = item.out_offset.rescaled_to(rate)
                continue
            item.source_range = scaled(item.source_range)
            for marker in item.markers:
                marker.marked_range = scaled(marker.marked_range)
            if isinstance(item, otio.schema.Clip):
                item.media_reference.available_range = scaled(item.media_reference.available_range)
    return copy


def _xml_text(timeline: otio.schema.Timeline, plan: TimelinePlan, rate: int) -> str:
    """FCP 7 XML, with the sequence's frame size, which Premiere and Resolve set the timeline up from."""
    timeline = timeline.deepcopy()
    timeline.metadata["fcp_xml"] = {"media": {"video": {"format": _fcp_format(plan, rate)}}}
    for track in timeline.video_tracks():
        _centre_dissolves(track)
    return _render(timeline, "fcp_xml", "FCP 7 XML")


def _centre_dissolves(track: otio.schema.Track) -> None:
    """Move each dissolve's cut to its middle frame (the earlier one for an odd length), as FCP 7 XML needs.

    XML can only centre a transition on its cut, so an uneven split would be read back a frame off. The
    incoming shot's markers that now fall before its first frame in the edit move up to that frame.
    """
    for index, item in enumerate(track):
        if not isinstance(item, otio.schema.Transition):
            continue
        total = item.in_offset + item.out_offset
        centred = otio.opentime.RationalTime(total.value // 2, total.rate)
        shift = centred - item.in_offset
        item.in_offset, item.out_offset = centred, total - centred
        outgoing, incoming = track[index - 1], track[index + 1]
        outgoing.source_range = outgoing.source_range.duration_extended_by(shift)
        first = incoming.source_range.start_time + shift
        incoming.source_range = otio.opentime.TimeRange(first, incoming.source_range.duration - shift)
        for marker in incoming.markers:
            span = marker.marked_range
            if span.start_time < first:
                late = first - span.start_time
                duration = max(span.duration - late, otio.opentime.RationalTime(0, late.rate))
                marker.marked_range = otio.opentime.TimeRange(first, duration)


def _edl_text(timeline: otio.schema.Timeline, rate: int) -> str:
    """A CMX 3600 EDL of the picture edit; the adapter rewrites the track it is given, so it gets a copy."""
    picture = otio.schema.Timeline(name=" ".join(timeline.name.split()), global_start_time=timeline.global_start_time)
    picture.tracks.append(timeline.video_tracks()[0].deepcopy())
    for clip in picture.find_clips():
        # EDL comments are plain paths, which Avid and conform tools read, rather than file URLs.
        clip.media_reference.target_url = otio.url_utils.filepath_from_url(clip.media_reference.target_url)
    text = _render(picture, "cmx_3600", "CMX 3600 EDL", rate=rate, style="avid", reelname_len=REEL_LENGTH)
    text = _without_repeated_locators(text)
    title, _, rest = text.partition("\n")
    return f"{title}\nFCM: NON-DROP FRAME\n{rest}" if title.startswith("TITLE:") else f"FCM: NON-DROP FRAME\n\n{text}"


def _without_repeated_locators(edl: str) -> str:
    """Drop the outgoing clip's locators that the adapter repeats inside a dissolve event.

    They are already on the outgoing clip's own event; read back, the repeats land on the incoming clip at the
    outgoing clip's source timecode, where they mark the wrong frames.
    """
    lines = []
    outgoing = False
    for line in edl.split("\n"):
        if _DISSOLVE_LINE.match(line):
            outgoing = True
        elif line.startswith("* TO CLIP NAME") or line[:1].isdigit():
            outgoing = False
        if not (outgoing and line.startswith("* LOC:")):
            lines.append(line)
    return "\n".join(lines)


def _render(timeline: otio.schema.Timeline, adapter: str, what: str, **options: object) -> str:
    if adapter not in otio.adapters.available_adapter_names():
        package = ADAPTER_PACKAGES.get(adapter, adapter)
        raise TimelineError(f"OpenTimelineIO has no {adapter!r} adapter for the {what}; pip install {package}")
    try:
        return otio.adapters.write_to_string(timeline, adapter_name=adapter, **options)
    except Exception as err:
        raise TimelineError(f"the {what} adapter could not write timeline {timeline.name!r}: {err}") from err


def _reel_names(shot_ids: list[str]) -> dict[str, str]:
    """Unique EDL reel names of at most eight letters and digits, the shot id itself where it fits.

    The same shot ids in the same order always give the same reels, so re-exports conform alike.
    """
    reels: dict[str, str] = {}
    used: set[str] = set()
    for shot_id in shot_ids:
        clean = re.sub(r"[^A-Za-z0-9]", "", shot_id).upper()
        digest = hashlib.sha1(shot_id.encode()).hexdigest().upper()
        candidates = [clean] if 0 < len(clean) <= REEL_LENGTH else []
        candidates += [(clean[:3] + digest[n:])[:REEL_LENGTH] for n in range(len(digest) - REEL_LENGTH)]
        reel = next(c for c in candidates if c not in used)
        reels[shot_id] = reel
        used.add(reel)
    return reels


def _fcp_format(plan: TimelinePlan, rate: int) -> dict:
    return {
        "samplecharacteristics": {
            "rate": {"timebase": rate, "ntsc": "FALSE"},
            "width": plan.width,
            "height": plan.height,
            "anamorphic": "FALSE",
            "pixelaspectratio": "square",
            "fielddominance": "none",
        }
    }


def _provenance(plan: TimelinePlan, tool: str, **fields: object) -> dict:
    return {"film_id": plan.film_id, "ai_generated": True, "tool": tool, **fields}


def _tool_name() -> str:
    try:
        return f"Director (agent-director {version('agent-director')})"
    except PackageNotFoundError:
        return "Director"


def _existing(path: Path, root: Path | None, what: str) -> Path:
    """`path` made absolute against the project root, so the timeline links the file wherever it is opened."""
    if not path.is_absolute():
        if root is None:
            raise TimelineError(f"{what} {path} is relative and the plan has no project_root to resolve it against")
        path = root / path
    path = path.resolve()
    if not path.is_file():
        raise TimelineError(f"{what} {path} does not exist; render the shot again before exporting the timeline")
    return path


def _wav_facts(path: Path, shot_id: str) -> tuple[float, int]:
    """Seconds and channels of a WAV file, from its header."""
    try:
        with wave.open(str(path), "rb") as header:
            return header.getnframes() / header.getframerate(), header.getnchannels()
    except (OSError, EOFError, wave.Error) as err:
        raise TimelineError(
            f"shot {shot_id}: line audio {path} is not a readable WAV ({err}); render it again"
        ) from err


def _frames(seconds: float, fps: int, shot_id: str) -> int:
    frames = seconds * fps
    if abs(frames - round(frames)) > FRAME_TOLERANCE:
        raise TimelineError(
            f"shot {shot_id}: {seconds:.4f} s is not on the {fps} fps frame grid; was the cut made at another rate?"
        )
    return round(frames)


def _range(start: int, duration: int, fps: int) -> otio.opentime.TimeRange:
    return otio.opentime.TimeRange(otio.opentime.RationalTime(start, fps), otio.opentime.RationalTime(duration, fps))
