"""The editor's cutting tool: shot clips in; one H.264 film, its subtitles and its timeline out.

Timing is planned in whole frames so the film, the SRT and the timeline agree to the frame: a title card,
then every shot in order, overlapping by a cross-fade where the scene changes and cutting hard inside a
scene. Dialogue is burned into the picture and also written to `film.srt`; a spoken line starts exactly
where its subtitle does and is mixed into an AAC track.
"""

from __future__ import annotations

import json
import os
import re
import time
import uuid
import wave
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from moviepy import AudioFileClip, CompositeAudioClip, CompositeVideoClip, ImageClip, VideoClip, VideoFileClip, afx, vfx
from PIL import Image, ImageDraw, ImageFont
from pydantic import BaseModel, ConfigDict, Field, field_validator

VIDEO_NAME = "film.mp4"
SUBTITLES_NAME = "film.srt"
TIMELINE_NAME = "timeline.json"
X264_PRESET = "veryfast"
X264_THREADS = 2
CARD_COLOUR = (14, 14, 20)
TITLE_COLOUR = (236, 232, 220)
LOGLINE_COLOUR = (170, 168, 160)
SUBTITLE_BOX_RGBA = (0, 0, 0, 170)
SUBTITLE_TEXT_RGBA = (255, 255, 255, 255)
AUDIO_RATE = 44100
AUDIO_BITRATE = "160k"
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


def assemble_cut(plan: CutPlan, out_dir: Path) -> CutResult:
    """Render `plan` to `out_dir/film.mp4` with `film.srt` and `timeline.json` beside it.

    Every file is written under a temporary name and moved into place only once all three exist, so an
    interrupted cut never leaves a half-written film behind.

    Raises:
        CutError: a clip is missing or unreadable, or a shot is too short for its cross-fades.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    fps = plan.fps
    title_frames, slots, total_frames = _layout(plan)
    infos = _check_clips(plan.items)
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

    finals = [out_dir / VIDEO_NAME, out_dir / SUBTITLES_NAME, out_dir / TIMELINE_NAME]
    reels = _Reels(slots, infos, (plan.width, plan.height))
    temps: list[Path] = []
    try:
        layers = _layers(plan, title_frames, slots, reels)
        film = CompositeVideoClip(layers, size=(plan.width, plan.height), bg_color=(0, 0, 0))
        film = film.with_duration((total_frames + 0.5) / fps)
        if lines:
            film = film.with_audio(_dialogue_track(lines.values(), film.duration))
        tmp_video = _temp_path(out_dir, VIDEO_NAME)
        tmp_audio = _temp_path(out_dir, "film-audio.m4a")
        temps += [tmp_video, tmp_audio]
        started = time.perf_counter()
        film.write_videofile(
            str(tmp_video),
            fps=fps,
            codec="libx264",
            preset=X264_PRESET,
            threads=X264_THREADS,
            audio=bool(lines),
            audio_fps=AUDIO_RATE,
            audio_codec="aac",
            audio_bitrate=AUDIO_BITRATE,
            temp_audiofile=str(tmp_audio),
            ffmpeg_params=["-pix_fmt", "yuv420p", "-movflags", "+faststart+use_metadata_tags", *_tags(plan)],
            logger=None,
        )
        tmp_audio.unlink(missing_ok=True)
        temps.remove(tmp_audio)
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
    except OSError as err:
        raise CutError(f"could not write the cut into {out_dir}: {err}") from err
    finally:
        reels.close()
        for line in lines.values():
            line.source.close()
        for tmp in temps:
            tmp.unlink(missing_ok=True)

    return CutResult(
        video=finals[0],
        subtitles=finals[1],
        timeline=finals[2],
        duration=total_frames / fps,
        entries=entries,
        cues=cues,
        encode_seconds=encode_seconds,
    )


@dataclass(frozen=True)
class _Line:
    """A spoken line on the timeline: it starts with its subtitle and may not outlast its shot."""

    source: AudioFileClip
    start: float
    end: float
    path: Path


def _check_lines(slots: list[_Slot], fps: int) -> dict[str, _Line]:
    """Open every line's audio before encoding, placed at its cue's start and cut at the shot's end.

    Raises:
        CutError: a line's file is missing or not readable audio.
    """
    lines: dict[str, _Line] = {}
    try:
        for slot in slots:
            path = slot.item.audio
            if path is None:
                continue
            if not path.is_file():
                raise CutError(f"shot {slot.item.shot_id}: line audio {path} does not exist; render the shot again")
            try:
                with wave.open(str(path), "rb") as header:
                    header.getnframes()
                source = AudioFileClip(str(path), fps=AUDIO_RATE)
            except Exception as err:
                raise CutError(
                    f"shot {slot.item.shot_id}: line audio {path} is not readable audio ({err}); render it again"
                ) from err
            start = slot.cue_start / fps
            end = min(start + float(source.duration), slot.end / fps)
            lines[slot.item.shot_id] = _Line(source=source, start=start, end=end, path=path)
    except CutError:
        for line in lines.values():
            line.source.close()
        raise
    return lines


def _line_span(line: _Line | None) -> dict[str, str | float]:
    if line is None:
        return {}
    return {"audio": str(line.path), "audio_start": line.start, "audio_end": line.end}


def _dialogue_track(lines: Iterable[_Line], duration: float) -> CompositeAudioClip:
    """Every line at its place; one that overruns its shot fades out as the next shot starts."""
    clips = []
    for line in lines:
        clip = line.source
        if line.end - line.start < clip.duration - 1e-3:
            clip = clip.subclipped(0, line.end - line.start).with_effects([afx.AudioFadeOut(LINE_FADE_SECONDS)])
        clips.append(clip.with_start(line.start))
    return CompositeAudioClip(clips).with_duration(duration)


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


def _check_clips(items: list[CutItem]) -> dict[Path, _ClipInfo]:
    """Open every clip once before encoding anything, so a bad one fails the cut at once and by name."""
    infos: dict[Path, _ClipInfo] = {}
    for item in items:
        if item.clip in infos:
            continue
        if not item.clip.is_file():
            raise CutError(f"shot {item.shot_id}: clip {item.clip} does not exist; render the shot again")
        source = None
        try:
            source = VideoFileClip(str(item.clip), audio=False)
            source.get_frame(0)
            infos[item.clip] = _ClipInfo(
                duration=float(source.duration), fps=float(source.fps), size=(source.w, source.h)
            )
        except Exception as err:
            raise CutError(
                f"shot {item.shot_id}: clip {item.clip} is not a readable video ({err}); render it again"
            ) from err
        finally:
            if source is not None:
                source.close()
    return infos


class _Reels:
    """Decoders for the shots, opened when a shot first plays and closed once the cut has moved past it.

    moviepy keeps an ffmpeg process per open clip; a long film would otherwise hold one for every shot.
    """

    def __init__(self, slots: list[_Slot], infos: dict[Path, _ClipInfo], size: tuple[int, int]) -> None:
        self._slots = slots
        self._infos = [infos[slot.item.clip] for slot in slots]
        self._fits = [_fitter(info.size, size) for info in self._infos]
        self._size = size
        self._open: dict[int, VideoFileClip] = {}

    def frame(self, index: int, t: float) -> np.ndarray:
        """Frame `t` seconds into shot `index`, holding the last frame if the clip runs short."""
        source = self._open.get(index)
        if source is None:
            start = self._slots[index].start
            for done in [i for i in self._open if self._slots[i].end <= start]:
                self._open.pop(done).close()
            source = self._open[index] = VideoFileClip(str(self._slots[index].item.clip), audio=False)
        info = self._infos[index]
        return self._fits[index](source.get_frame(min(t, max(0.0, info.duration - 1.0 / info.fps))))

    def clip(self, index: int, fps: int) -> VideoClip:
        """Shot `index` as a moviepy clip of its planned length, fitted to the frame."""
        slot = self._slots[index]
        return _LazyClip(lambda t: self.frame(index, t), self._size, (slot.end - slot.start) / fps)

    def close(self) -> None:
        while self._open:
            self._open.popitem()[1].close()


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
