"""The editor's cutting tool: shot clips in; one H.264 film, its subtitles and its timeline out.

Timing is planned in whole frames so the film, the SRT and the timeline agree to the frame: a title card,
then every shot in order, overlapping by a cross-fade where the scene changes and cutting hard inside a
scene. Dialogue is burned into the picture and also written to `film.srt`; a spoken line starts exactly
where its subtitle does and is mixed into an AAC track.

The picture is encoded in segments (the title card, each shot's own frames, each cross-fade), kept under a
key of everything they show (`tools.edit.segments`) and joined by stream copy, so a recut after a note encodes
only the segments of the shots it changed; the sound track is mixed again only when a line changed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
import uuid
import wave
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import PIL
from moviepy import CompositeVideoClip, ImageClip, VideoClip, VideoFileClip, vfx
from moviepy import __version__ as moviepy_version
from PIL import Image, ImageDraw, ImageFont
from pydantic import BaseModel, ConfigDict, Field, field_validator

from tools.edit.segments import (
    SEGMENT_FORMAT,
    X264_PRESET,
    X264_THREADS,
    Encoding,
    SegmentError,
    SegmentStore,
    content_key,
    run_ffmpeg,
)
from tools.files import sha256_of

VIDEO_NAME = "film.mp4"
SUBTITLES_NAME = "film.srt"
TIMELINE_NAME = "timeline.json"
CARD_COLOUR = (14, 14, 20)
TITLE_COLOUR = (236, 232, 220)
LOGLINE_COLOUR = (170, 168, 160)
SUBTITLE_BOX_RGBA = (0, 0, 0, 170)
SUBTITLE_TEXT_RGBA = (255, 255, 255, 255)
AUDIO_RATE = 44100
AUDIO_BITRATE = "160k"
AAC_CODER = "fast"
"""ffmpeg's AAC coder: its documentation calls `fast` better and much faster than the default at bitrates like ours."""
LINE_FADE_SECONDS = 0.12

_SRT_TIME = re.compile(r"^(\d{2,}):([0-5]\d):([0-5]\d),(\d{3})$")


class CutError(RuntimeError):
    """A cut could not be assembled: a clip is missing or unreadable, or the plan cannot be timed."""


class CutItem(BaseModel):
    """One shot as the editor places it: its clip, how long it plays and what is said over it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    shot_id: str
    scene_number: int
    clip: Path
    duration: float = Field(gt=0)
    subtitle: str = ""
    speaker: str = ""
    audio: Path | None = Field(default=None, description="The spoken line, a WAV file, played from the cue's start.")


class CutPlan(BaseModel):
    """The whole edit: frame format, title card and the shots in playing order."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str
    logline: str = ""
    width: int = Field(ge=16, le=7680)
    height: int = Field(ge=16, le=4320)
    fps: int = Field(ge=1, le=120)
    items: list[CutItem] = Field(min_length=1)
    title_seconds: float = Field(default=3.0, ge=0)
    crossfade_seconds: float = Field(default=0.5, ge=0)
    metadata: dict[str, str] = Field(
        default_factory=dict, description="Container tags written into the MP4 (title, comment, provenance)."
    )

    @field_validator("width", "height")
    @classmethod
    def _even(cls, value: int) -> int:
        if value % 2:
            raise ValueError(f"{value} is odd; H.264 in yuv420p needs an even width and height")
        return value


class SubtitleCue(BaseModel):
    """One subtitle on the final timeline, in seconds; `shot_id` is empty when read back from an SRT."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    index: int
    start: float
    end: float
    text: str
    shot_id: str = ""


class TimelineEntry(BaseModel):
    """Where a shot plays in the film, including the frames it shares with a cross-fade."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    shot_id: str
    scene_number: int
    start: float
    end: float
    clip: str
    audio: str = ""
    audio_start: float | None = None
    audio_end: float | None = None


class CutSegment(BaseModel):
    """A stretch of the film encoded on its own, and whether this cut encoded it or reused it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    start: float
    end: float
    shot_ids: list[str]
    title: bool = False
    encoded: bool
    key: str = Field(description="The content key it is stored under in the segments folder.")


class CutResult(BaseModel):
    """The files of an assembled cut and the timing they were built from."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    video: Path
    subtitles: Path
    timeline: Path
    duration: float
    entries: list[TimelineEntry]
    cues: list[SubtitleCue]
    encode_seconds: float
    segments: list[CutSegment] = Field(default_factory=list)
    sound_reused: bool = False

    @property
    def encoded_segments(self) -> list[CutSegment]:
        return [segment for segment in self.segments if segment.encoded]


@dataclass(frozen=True)
class _ClipInfo:
    duration: float
    fps: float
    size: tuple[int, int]


@dataclass(frozen=True)
class _Slot:
    """A shot placed on the timeline in frames; the cue span runs from fade midpoint to fade midpoint."""

    item: CutItem
    start: int
    end: int
    fade_in: int
    cue_start: int
    cue_end: int


def assemble_cut(plan: CutPlan, out_dir: Path, segments_dir: Path | None = None) -> CutResult:
    """Render `plan` to `out_dir/film.mp4` with `film.srt` and `timeline.json` beside it.

    The picture is encoded in segments (the title card, each shot's own frames, each cross-fade) stored under
    a key of everything they show, and joined by stream copy; a recut into the same `segments_dir` encodes
    only the segments whose content changed. Without `segments_dir` the segments live in a temporary folder.
    Every file is written under a temporary name and moved into place only once all three exist, so an
    interrupted cut never leaves a half-written film behind.

    Raises:
        CutError: a clip or line is missing or unreadable, a shot is too short for its cross-fades, or ffmpeg
            could not encode or join the film.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    fps = plan.fps
    title_frames, slots, total_frames = _layout(plan)
    digests = _digest_clips(plan.items)
    lines = _check_lines(slots, fps)
    entries = [
        TimelineEntry(
            shot_id=s.item.shot_id,
            scene_number=s.item.scene_number,
            start=s.start / fps,
            end=s.end / fps,
            clip=str(s.item.clip),
            **_line_span(lines.get(s.item.shot_id)),
        )
        for s in slots
    ]
    cues = [
        SubtitleCue(
            index=n, start=s.cue_start / fps, end=s.cue_end / fps, text=_cue_text(s.item), shot_id=s.item.shot_id
        )
        for n, s in enumerate((s for s in slots if _cue_text(s.item)), start=1)
    ]
    encoding = Encoding(width=plan.width, height=plan.height, fps=fps, preset=X264_PRESET, threads=X264_THREADS)
    segments = _segments(plan, title_frames, slots, total_frames, digests, encoding)
    duration = (total_frames + 0.5) / fps

    finals = [out_dir / VIDEO_NAME, out_dir / SUBTITLES_NAME, out_dir / TIMELINE_NAME]
    scratch = None if segments_dir is not None else _temp_path(out_dir, "segments")
    temps: list[Path] = []
    reels: _Reels | None = None
    try:
        store = SegmentStore(segments_dir if segments_dir is not None else scratch)
        started = time.perf_counter()
        fresh = {s.key for s in segments if not store.trusted(s.key, frames=s.end - s.start)}
        size = (plan.width, plan.height)
        reels = _Reels(slots, size)
        with ThreadPoolExecutor(max_workers=1) as mixer:
            total_samples = round(duration * AUDIO_RATE)
            mixing = (
                mixer.submit(
                    store.sound,
                    _sound_key(lines.values(), total_samples),
                    lambda path: _mix_dialogue(lines.values(), total_samples, path),
                )
                if lines
                else None
            )
            if fresh:
                film = CompositeVideoClip(_layers(plan, title_frames, slots, reels), size=size, bg_color=(0, 0, 0))
                _encode(film.with_duration(duration), [s for s in segments if s.key in fresh], store, encoding)
            sound, sound_reused = mixing.result() if mixing is not None else (None, False)
        tmp_video = _temp_path(out_dir, VIDEO_NAME)
        temps.append(tmp_video)
        store.join(
            [s.key for s in segments], tmp_video, sound, ["-movflags", "+faststart+use_metadata_tags", *_tags(plan)]
        )
        encode_seconds = time.perf_counter() - started
        tmp_srt = _temp_path(out_dir, SUBTITLES_NAME)
        temps.append(tmp_srt)
        tmp_srt.write_text(format_srt(cues), encoding="utf-8")
        tmp_timeline = _temp_path(out_dir, TIMELINE_NAME)
        temps.append(tmp_timeline)
        tmp_timeline.write_text(
            json.dumps([e.model_dump(mode="json") for e in entries], indent=2) + "\n", encoding="utf-8"
        )
        for tmp, final in zip(temps, finals, strict=True):
            os.replace(tmp, final)
        temps.clear()
        if scratch is None:
            store.prune({s.key for s in segments} | ({sound.name.split(".")[0]} if sound else set()))
    except SegmentError as err:
        raise CutError(f"could not encode the cut into {out_dir}: {err}") from err
    except OSError as err:
        raise CutError(f"could not write the cut into {out_dir}: {err}") from err
    finally:
        if reels is not None:
            reels.close()
        for tmp in temps:
            tmp.unlink(missing_ok=True)
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)

    return CutResult(
        video=finals[0],
        subtitles=finals[1],
        timeline=finals[2],
        duration=total_frames / fps,
        entries=entries,
        cues=cues,
        encode_seconds=encode_seconds,
        segments=[
            CutSegment(
                start=s.start / fps,
                end=s.end / fps,
                shot_ids=[slots[index].item.shot_id for index in s.slots],
                title=s.title,
                encoded=s.key in fresh,
                key=s.key,
            )
            for s in segments
        ],
        sound_reused=sound_reused,
    )


@dataclass(frozen=True)
class _Segment:
    """A run of film frames `[start, end)` encoded on its own; `slots` are the shots that play in it."""

    start: int
    end: int
    key: str
    slots: tuple[int, ...]
    title: bool


def _segments(
    plan: CutPlan,
    title_frames: int,
    slots: list[_Slot],
    total_frames: int,
    digests: dict[Path, str],
    encoding: Encoding,
) -> list[_Segment]:
    """Split the film where any layer starts or ends: the title, each shot's own frames, each cross-fade.

    A segment's key holds everything its pixels depend on: the encoder, the renderer's versions, and every
    layer that plays in it (clip bytes, title text or subtitle line) with its timing relative to the segment,
    so a segment that only moved along the timeline keeps its key.
    """
    bounds = {0, title_frames, total_frames}
    for slot in slots:
        bounds |= {slot.start, slot.start + slot.fade_in, slot.end}
    edges = sorted(b for b in bounds if 0 <= b <= total_frames)
    renderer = {"encoding": encoding.fingerprint(), "moviepy": moviepy_version, "pillow": PIL.__version__}
    segments = []
    for start, end in zip(edges, edges[1:], strict=False):
        layers: list[dict[str, object]] = []
        if title_frames > start:
            layers.append({"title": plan.title, "logline": plan.logline, "from": -start, "to": title_frames - start})
        playing = tuple(i for i, s in enumerate(slots) if s.start < end and s.end > start)
        for index in playing:
            slot = slots[index]
            layers.append(
                {
                    "clip": digests[slot.item.clip],
                    "from": slot.start - start,
                    "to": slot.end - start,
                    "fade_in": slot.fade_in,
                }
            )
        for slot in slots:
            text = _cue_text(slot.item)
            if text and slot.cue_start < end and slot.cue_end > start:
                layers.append({"subtitle": text, "from": slot.cue_start - start, "to": slot.cue_end - start})
        recipe = {"renderer": renderer, "frames": end - start, "layers": layers}
        segments.append(
            _Segment(start=start, end=end, key=content_key(recipe), slots=playing, title=title_frames > start)
        )
    return segments


def _encode(film: VideoClip, segments: list[_Segment], store: SegmentStore, encoding: Encoding) -> None:
    """Composite and encode `segments`: one ffmpeg run per stretch of consecutive ones, a key encoded once."""
    runs: list[list[_Segment]] = []
    seen: set[str] = set()
    for segment in segments:
        if segment.key in seen:
            continue
        seen.add(segment.key)
        if runs and runs[-1][-1].end == segment.start:
            runs[-1].append(segment)
        else:
            runs.append([segment])
    for run in runs:
        writer = store.writer([(s.key, s.end - s.start) for s in run], encoding)
        try:
            for index in range(run[0].start, run[-1].end):
                writer.write(film.get_frame(index / encoding.fps))
            writer.commit()
        except BaseException:
            writer.abort()
            raise


@dataclass(frozen=True)
class _Line:
    """A spoken line on the timeline: it starts with its subtitle and may not outlast its shot."""

    path: Path
    digest: str
    start: float
    end: float
    seconds: float

    @property
    def cut_short(self) -> bool:
        return self.end - self.start < self.seconds - 1e-3


def _check_lines(slots: list[_Slot], fps: int) -> dict[str, _Line]:
    """Read every line's WAV header before encoding; each is placed at its cue's start and cut at the shot's end.

    Raises:
        CutError: a line's file is missing or not readable audio.
    """
    lines: dict[str, _Line] = {}
    for slot in slots:
        path = slot.item.audio
        if path is None:
            continue
        if not path.is_file():
            raise CutError(f"shot {slot.item.shot_id}: line audio {path} does not exist; render the shot again")
        try:
            with wave.open(str(path), "rb") as header:
                seconds = header.getnframes() / header.getframerate()
            digest = sha256_of(path)
        except (OSError, EOFError, wave.Error, ZeroDivisionError) as err:
            raise CutError(
                f"shot {slot.item.shot_id}: line audio {path} is not readable audio ({err}); render it again"
            ) from err
        start = slot.cue_start / fps
        end = min(start + seconds, slot.end / fps)
        lines[slot.item.shot_id] = _Line(path=path, digest=digest, start=start, end=end, seconds=seconds)
    return lines


def _line_span(line: _Line | None) -> dict[str, str | float]:
    if line is None:
        return {}
    return {"audio": str(line.path), "audio_start": line.start, "audio_end": line.end}


def _sound_key(lines: Iterable[_Line], total_samples: int) -> str:
    """The key of the mixed dialogue track: each line's bytes and placement, the length and the AAC settings."""
    return content_key(
        {
            "format": SEGMENT_FORMAT,
            "ffmpeg": imageio_ffmpeg.get_ffmpeg_version(),
            "rate": AUDIO_RATE,
            "bitrate": AUDIO_BITRATE,
            "coder": AAC_CODER,
            "fade": LINE_FADE_SECONDS,
            "samples": total_samples,
            "lines": [[line.digest, *_line_samples(line)] for line in lines],
        }
    )


def _line_samples(line: _Line) -> tuple[int, int, bool]:
    """Where a line starts and how long it plays, in samples, and whether it is cut short."""
    return round(line.start * AUDIO_RATE), round((line.end - line.start) * AUDIO_RATE), line.cut_short


def _mix_dialogue(lines: Iterable[_Line], total_samples: int, out: Path) -> None:
    """Every line at its place on silence as long as the film, in AAC; one that overruns its shot fades out.

    Raises:
        SegmentError: ffmpeg could not read a line or encode the track.
    """
    lines = [line for line in lines if _line_samples(line)[1] > 0]
    fade = round(LINE_FADE_SECONDS * AUDIO_RATE)
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "error", "-y"]
    graph = [f"anullsrc=r={AUDIO_RATE}:cl=stereo,atrim=end_sample={total_samples}[base]"]
    for number, line in enumerate(lines):
        command += ["-i", str(line.path)]
        offset, length, cut_short = _line_samples(line)
        chain = f"[{number}:a]aresample={AUDIO_RATE},aformat=sample_fmts=fltp:channel_layouts=stereo"
        chain += f",atrim=end_sample={length}"
        if cut_short:
            chain += f",afade=t=out:ss={max(0, length - fade)}:ns={min(fade, length)}"
        graph.append(f"{chain},adelay=delays={offset}S:all=1[line{number}]")
    inputs = "[base]" + "".join(f"[line{number}]" for number in range(len(lines)))
    graph.append(f"{inputs}amix=inputs={len(lines) + 1}:duration=first:normalize=0[mix]")
    command += ["-filter_complex", ";".join(graph), "-map", "[mix]"]
    command += ["-c:a", "aac", "-aac_coder", AAC_CODER, "-b:a", AUDIO_BITRATE, "-ar", str(AUDIO_RATE)]
    command += ["-f", "mp4", str(out)]
    run_ffmpeg(command, f"mixing {len(lines)} spoken lines")


def _tags(plan: CutPlan) -> list[str]:
    """The `-metadata` arguments for the plan's tags; `use_metadata_tags` lets MP4 keep non-standard keys."""
    arguments = []
    for key, value in plan.metadata.items():
        arguments += ["-metadata", f"{key}={' '.join(value.split())}"]
    return arguments


def format_srt(cues: list[SubtitleCue]) -> str:
    """SRT text for `cues`, one line of text each so a player wraps it to its own width."""
    blocks = [f"{cue.index}\n{_srt_time(cue.start)} --> {_srt_time(cue.end)}\n{cue.text}\n" for cue in cues]
    return "\n".join(blocks)


def parse_srt(path: Path) -> list[SubtitleCue]:
    """Read an SRT file back into cues (without shot ids), refusing anything malformed.

    Raises:
        CutError: the file is missing or a block is not index, timing line, text.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        raise CutError(f"cannot read subtitles {path}: {err}") from err
    blocks = [b for b in re.split(r"\n[ \t]*\n", text.replace("\r\n", "\n").strip()) if b.strip()]
    cues = []
    for number, block in enumerate(blocks, start=1):
        lines = block.split("\n")
        where = f"{path}, block {number}"
        if len(lines) < 3:
            raise CutError(f"{where}: expected an index, a timing line and text, got {block!r}")
        if not lines[0].strip().isdigit():
            raise CutError(f"{where}: index {lines[0]!r} is not a number")
        times = lines[1].split("-->")
        if len(times) != 2:
            raise CutError(f"{where}: timing line {lines[1]!r} has no '-->'")
        start, end = (_parse_srt_time(t.strip(), where) for t in times)
        if end < start:
            raise CutError(f"{where}: cue ends ({end:.3f} s) before it starts ({start:.3f} s)")
        cues.append(SubtitleCue(index=int(lines[0]), start=start, end=end, text="\n".join(lines[2:])))
    return cues


def _layout(plan: CutPlan) -> tuple[int, list[_Slot], int]:
    """Place the title card and every shot on a frame grid; returns title frames, slots and total frames."""
    fps = plan.fps
    title_frames = round(plan.title_seconds * fps)
    fade = round(plan.crossfade_seconds * fps)
    items = plan.items
    scene_change = [i > 0 and items[i].scene_number != items[i - 1].scene_number for i in range(len(items))]
    slots: list[_Slot] = []
    cursor = title_frames
    for i, item in enumerate(items):
        frames = round(item.duration * fps)
        fade_in = fade if scene_change[i] else 0
        fade_out = fade if i + 1 < len(items) and scene_change[i + 1] else 0
        if frames < 1 or fade_in + fade_out >= frames:
            raise CutError(
                f"shot {item.shot_id} ({item.duration:.2f} s) is too short for its cross-fades "
                f"({fade_in / fps:.2f} s in, {fade_out / fps:.2f} s out); lengthen the shot or lower "
                f"crossfade_seconds"
            )
        start = cursor - fade_in
        end = start + frames
        slots.append(
            _Slot(
                item=item,
                start=start,
                end=end,
                fade_in=fade_in,
                cue_start=start + fade_in // 2,
                cue_end=end - (fade_out - fade_out // 2),
            )
        )
        cursor = end
    return title_frames, slots, cursor


def _digest_clips(items: list[CutItem]) -> dict[Path, str]:
    """The SHA-256 of every clip's bytes, which keys the segments it plays in.

    Raises:
        CutError: a clip is missing or cannot be read.
    """
    digests: dict[Path, str] = {}
    for item in items:
        if item.clip in digests:
            continue
        if not item.clip.is_file():
            raise CutError(f"shot {item.shot_id}: clip {item.clip} does not exist; render the shot again")
        try:
            digests[item.clip] = sha256_of(item.clip)
        except OSError as err:
            raise CutError(f"shot {item.shot_id}: clip {item.clip} cannot be read ({err}); render it again") from err
    return digests


class _Reels:
    """Decoders for the shots, opened when a shot first plays and closed once the cut has moved past it.

    moviepy keeps an ffmpeg process per open clip; a long film would otherwise hold one for every shot. A clip
    is opened only when a segment that shows it is encoded: a clip that plays only in stored segments has the
    bytes those segments were made from. A clip that cannot be opened or decoded fails the cut by shot name.
    """

    def __init__(self, slots: list[_Slot], size: tuple[int, int]) -> None:
        self._slots = slots
        self._size = size
        self._open: dict[int, tuple[VideoFileClip, _ClipInfo, Callable[[np.ndarray], np.ndarray]]] = {}

    def frame(self, index: int, t: float) -> np.ndarray:
        """Frame `t` seconds into shot `index`, holding the last frame if the clip runs short.

        Raises:
            CutError: the shot's clip is not a readable video.
        """
        source, info, fit = self._source(index)
        try:
            picture = source.get_frame(min(t, max(0.0, info.duration - 1.0 / info.fps)))
        except Exception as err:
            raise self._unreadable(index, err) from err
        return fit(picture)

    def clip(self, index: int, fps: int) -> VideoClip:
        """Shot `index` as a moviepy clip of its planned length, fitted to the frame."""
        slot = self._slots[index]
        return _LazyClip(lambda t: self.frame(index, t), self._size, (slot.end - slot.start) / fps)

    def close(self) -> None:
        while self._open:
            self._open.popitem()[1][0].close()

    def _source(self, index: int) -> tuple[VideoFileClip, _ClipInfo, Callable[[np.ndarray], np.ndarray]]:
        opened = self._open.get(index)
        if opened is not None:
            return opened
        start = self._slots[index].start
        for done in [i for i in self._open if self._slots[i].end <= start]:
            self._open.pop(done)[0].close()
        source = None
        try:
            source = VideoFileClip(str(self._slots[index].item.clip), audio=False)
            info = _ClipInfo(duration=float(source.duration), fps=float(source.fps), size=(source.w, source.h))
            if info.duration <= 0 or info.fps <= 0:
                raise ValueError(f"duration {info.duration} s at {info.fps} fps")
        except Exception as err:
            if source is not None:
                source.close()
            raise self._unreadable(index, err) from err
        opened = self._open[index] = (source, info, _fitter(info.size, self._size))
        return opened

    def _unreadable(self, index: int, error: Exception) -> CutError:
        item = self._slots[index].item
        return CutError(f"shot {item.shot_id}: clip {item.clip} is not a readable video ({error}); render it again")


class _LazyClip(VideoClip):
    """A clip that decodes nothing until played (moviepy's VideoClip reads frame 0 when built)."""

    def __init__(self, frame_function: Callable[[float], np.ndarray], size: tuple[int, int], duration: float) -> None:
        super().__init__(duration=duration)
        self.frame_function = frame_function
        self.size = size


def _layers(plan: CutPlan, title_frames: int, slots: list[_Slot], reels: _Reels) -> list[VideoClip]:
    """The composite's clips: title card, shots (fading in at scene changes), then subtitle overlays."""
    fps = plan.fps
    size = (plan.width, plan.height)
    layers: list[VideoClip] = []
    if title_frames:
        layers.append(ImageClip(_title_card(plan)).with_start(0).with_end(title_frames / fps))
    for index, slot in enumerate(slots):
        shot = reels.clip(index, fps)
        if slot.fade_in:
            shot = shot.with_effects([vfx.CrossFadeIn(slot.fade_in / fps)])
        layers.append(shot.with_start(slot.start / fps).with_end(slot.end / fps))
    for slot in slots:
        text = _cue_text(slot.item)
        if not text:
            continue
        overlay, position = _subtitle_overlay(text, size)
        layers.append(
            ImageClip(overlay)
            .with_position(position)
            .with_start(slot.cue_start / fps)
            .with_end(slot.cue_end / fps)
            .with_layer_index(1)
        )
    return layers


def _fitter(src: tuple[int, int], dst: tuple[int, int]) -> Callable[[np.ndarray], np.ndarray]:
    """A frame mapper that scales to fit `dst` keeping the aspect ratio, padding with black bars."""
    if src == dst:
        return lambda frame: frame
    scale = min(dst[0] / src[0], dst[1] / src[1])
    inner = (max(1, round(src[0] * scale)), max(1, round(src[1] * scale)))
    offset = ((dst[0] - inner[0]) // 2, (dst[1] - inner[1]) // 2)

    def fit(frame: np.ndarray) -> np.ndarray:
        canvas = Image.new("RGB", dst)
        canvas.paste(Image.fromarray(frame[:, :, :3].astype(np.uint8)).resize(inner, Image.LANCZOS), offset)
        return np.asarray(canvas)

    return fit


def _cue_text(item: CutItem) -> str:
    line = " ".join(item.subtitle.split())
    if not line:
        return ""
    speaker = " ".join(item.speaker.split())
    return f"{speaker}: {line}" if speaker else line


def _title_card(plan: CutPlan) -> np.ndarray:
    """Title and logline centred on a dark card, with Pillow's bundled font so no system fonts are needed."""
    width, height = plan.width, plan.height
    card = Image.new("RGB", (width, height), CARD_COLOUR)
    draw = ImageDraw.Draw(card)
    title_font = ImageFont.load_default(size=max(12, height // 9))
    logline_font = ImageFont.load_default(size=max(9, height // 24))
    max_width = int(width * 0.86)
    blocks = [(_wrap(plan.title, title_font, max_width), title_font, TITLE_COLOUR)]
    if plan.logline.strip():
        blocks.append((_wrap(plan.logline, logline_font, max_width), logline_font, LOGLINE_COLOUR))
    gap = max(4, height // 30)
    heights = [_line_height(font) * len(lines) for lines, font, _ in blocks]
    y = (height - sum(heights) - gap * (len(blocks) - 1)) / 2
    for lines, font, colour in blocks:
        for line in lines:
            x = (width - font.getlength(line)) / 2
            draw.text((x, y), line, font=font, fill=colour)
            y += _line_height(font)
        y += gap
    return np.asarray(card)


def _subtitle_overlay(text: str, size: tuple[int, int]) -> tuple[np.ndarray, tuple[int, int]]:
    """An RGBA strip with the wrapped line on a translucent box, and where it sits near the bottom."""
    width, height = size
    font = ImageFont.load_default(size=max(10, height // 16))
    pad = max(2, height // 60)
    lines = _wrap(text, font, int(width * 0.9) - 2 * pad)
    line_height = _line_height(font)
    box_w = min(width, int(max(font.getlength(line) for line in lines)) + 2 * pad)
    box_h = line_height * len(lines) + 2 * pad
    overlay = Image.new("RGBA", (box_w, box_h), SUBTITLE_BOX_RGBA)
    draw = ImageDraw.Draw(overlay)
    for row, line in enumerate(lines):
        x = (box_w - font.getlength(line)) / 2
        draw.text((x, pad + row * line_height), line, font=font, fill=SUBTITLE_TEXT_RGBA)
    position = ((width - box_w) // 2, max(0, height - box_h - max(2, height // 24)))
    return np.asarray(overlay), position


def _wrap(text: str, font: ImageFont.FreeTypeFont, max_width: int) -> list[str]:
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


def _temp_path(out_dir: Path, final_name: str) -> Path:
    """A unique hidden name beside the final file, keeping the suffix so ffmpeg picks the right muxer."""
    stem, suffix = os.path.splitext(final_name)
    return out_dir / f".{stem}-{uuid.uuid4().hex[:12]}.partial{suffix}"


def _srt_time(seconds: float) -> str:
    millis = max(0, round(seconds * 1000))
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d},{millis:03d}"


def _parse_srt_time(value: str, where: str) -> float:
    match = _SRT_TIME.match(value)
    if not match:
        raise CutError(f"{where}: time {value!r} is not HH:MM:SS,mmm")
    hours, minutes, secs, millis = (int(g) for g in match.groups())
    return hours * 3600 + minutes * 60 + secs + millis / 1000
