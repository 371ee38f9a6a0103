"""The film's cut as an OpenTimelineIO timeline, the one every editorial file is written from.

The film's timing (title card, shots overlapping at scene changes, spoken lines) becomes one video track of
clips that point at the take files themselves, cross-dissolves at scene changes, a marker per scene and per
subtitle, audio tracks with the spoken lines, and one audio track per sound stem (dialogue, music, ambience) that
runs the whole film. It counts in the film's own frames.
"""

from __future__ import annotations

import hashlib
import math
import re
import warnings
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import opentimelineio as otio
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from scipy.io import wavfile

from tools.edit.cut import CutResult
from tools.edit.plan import CutPlan
from tools.edit.subtitles import SubtitleCue
from tools.render.spec import ModelFps

METADATA_KEY = "director"
REEL_LENGTH = 8
SCENE_COLOUR = otio.schema.MarkerColor.BLUE
DIALOGUE_COLOUR = otio.schema.MarkerColor.YELLOW
DISSOLVE_NAME = "Cross Dissolve"
FRAME_TOLERANCE = 0.01
STEM_TRACKS = {"dialogue": "Dialogue stem", "music": "Music", "ambience": "Ambience"}
"""Each stem's audio track name, in the order the tracks are laid out under the spoken lines."""


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
    fps: ModelFps
    width: int = Field(ge=1)
    height: int = Field(ge=1)
    shots: list[TimelineShot] = Field(min_length=1)
    cues: list[SubtitleCue] = Field(default_factory=list)
    project_root: Path | None = Field(default=None, description="Where relative clip and audio paths start.")
    stems: dict[str, Path] = Field(
        default_factory=dict,
        description="Film-length WAVs by stem (dialogue, music, ambience), each from film time 0 (the title).",
    )

    @field_validator("stems")
    @classmethod
    def _known_stems(cls, stems: dict[str, Path]) -> dict[str, Path]:
        unknown = sorted(set(stems) - set(STEM_TRACKS))
        if unknown:
            raise ValueError(f"unknown stems {unknown}; a film's stems are {', '.join(STEM_TRACKS)}")
        return stems

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
            stems={name: _under_root(Path(path), project_root) for name, path in cut.stems.items()},
        )


def build_timeline(plan: TimelinePlan) -> otio.schema.Timeline:
    """The OTIO timeline for `plan`: title gap, shots with dissolves at overlaps, markers, line audio and stems.

    A cross-fade of n frames becomes a dissolve cut where the film's subtitles change: the outgoing shot holds
    the edit for n // 2 of them and the incoming one for the rest. A one-frame overlap plays as a hard cut.

    Raises:
        TimelineError: a take, line or stem file is missing, a stem is not as long as the film, or the timing cannot
            be laid out on the frame grid.
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
    timeline.tracks.extend(_stem_tracks(plan, tool, cut_points[-1]))
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
        what = f"shot {shot.shot_id}: line audio"
        path = _existing(shot.audio, plan.project_root, what)
        seconds, channels = _wav_facts(path, what, "render it again")
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


def _stem_tracks(plan: TimelinePlan, tool: str, film_frames: int) -> list[otio.schema.Track]:
    """One audio track per stem, its WAV playing from the title's first frame to the film's last.

    Raises:
        TimelineError: a stem is missing or unreadable, or differs from the film's length by more than a frame.
    """
    fps = plan.fps
    tracks = []
    for stem, track_name in STEM_TRACKS.items():
        if stem not in plan.stems:
            continue
        what, fix = f"the {stem} stem", "assemble the cut again to mix its stems"
        path = _existing(plan.stems[stem], plan.project_root, what, fix)
        seconds, channels = _wav_facts(path, what, fix)
        if abs(seconds * fps - film_frames) > 1:
            raise TimelineError(
                f"{what} {path} lasts {seconds:.3f} s but the film lasts {film_frames / fps:.3f} s; a stem must run "
                f"the whole film from its title; {fix}"
            )
        available = round(seconds * fps)
        clip = otio.schema.Clip(
            name=track_name,
            media_reference=otio.schema.ExternalReference(
                target_url=path.as_uri(), available_range=_range(0, available, fps)
            ),
            source_range=_range(0, min(available, film_frames), fps),
            metadata={
                METADATA_KEY: _provenance(plan, tool, kind="stem", stem=stem),
                "fcp_xml": {"sourcetrack": {"mediatype": "audio", "trackindex": 1}},
            },
        )
        clip.media_reference.name = f"{stem} stem"
        clip.media_reference.metadata["fcp_xml"] = {"media": {"audio": {"channelcount": channels}}}
        track = otio.schema.Track(name=track_name, kind=otio.schema.TrackKind.Audio)
        track.metadata[METADATA_KEY] = {"kind": "stem", "stem": stem}
        track.append(clip)
        tracks.append(track)
    return tracks


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


def _provenance(plan: TimelinePlan, tool: str, **fields: object) -> dict:
    return {"film_id": plan.film_id, "ai_generated": True, "tool": tool, **fields}


def _tool_name() -> str:
    try:
        return f"Director (agent-director {version('agent-director')})"
    except PackageNotFoundError:
        return "Director"


def _under_root(path: Path, root: Path | None) -> Path:
    """`path` relative to `root` where it lies inside it, so the plan moves with the project; else as it is."""
    if root is None or not path.is_absolute():
        return path
    try:
        return path.resolve().relative_to(Path(root).resolve())
    except ValueError:
        return path


def _existing(
    path: Path, root: Path | None, what: str, fix: str = "render the shot again before exporting the timeline"
) -> Path:
    """`path` made absolute against the project root, so the timeline links the file wherever it is opened."""
    if not path.is_absolute():
        if root is None:
            raise TimelineError(f"{what} {path} is relative and the plan has no project_root to resolve it against")
        path = root / path
    path = path.resolve()
    if not path.is_file():
        raise TimelineError(f"{what} {path} does not exist; {fix}")
    return path


def _wav_facts(path: Path, what: str, fix: str) -> tuple[float, int]:
    """Seconds and channels of a WAV file, integer or float (the stdlib `wave` refuses float), memory-mapped.

    A format that cannot be memory-mapped (24-bit) is read whole instead.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", wavfile.WavFileWarning)  # chunks it skips, such as ffmpeg's LIST
            try:
                rate, samples = wavfile.read(path, mmap=True)
            except ValueError:
                rate, samples = wavfile.read(path)
    except (OSError, EOFError, ValueError) as err:
        raise TimelineError(f"{what} {path} is not a readable WAV ({err}); {fix}") from err
    return len(samples) / rate, 1 if samples.ndim == 1 else samples.shape[1]


def _frames(seconds: float, fps: int, shot_id: str) -> int:
    frames = seconds * fps
    if abs(frames - round(frames)) > FRAME_TOLERANCE:
        raise TimelineError(
            f"shot {shot_id}: {seconds:.4f} s is not on the {fps} fps frame grid; was the cut made at another rate?"
        )
    return round(frames)


def _range(start: int, duration: int, fps: int) -> otio.opentime.TimeRange:
    return otio.opentime.TimeRange(otio.opentime.RationalTime(start, fps), otio.opentime.RationalTime(duration, fps))
