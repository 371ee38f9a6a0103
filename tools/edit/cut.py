"""The editor's cutting tool: shot clips in; one H.264 film, its subtitles and its timeline out.

Timing is planned in whole frames (`tools.edit.plan`) so the film, the SRT and the timeline agree to the
frame. Dialogue is burned into the picture (`tools.edit.overlays`, laid on by ffmpeg's filter graph in
`tools.edit.filter_graph`) and also written to `film.srt`
(`tools.edit.subtitles`); a spoken line starts exactly where its subtitle does (`tools.edit.sound`) and is
mixed over the score and ambience the crew placed (`tools.edit.film_sound`) into an AAC track at a set
loudness, with the stems beside the film.

The picture is encoded in segments (the title card, each shot's own frames, each cross-fade), kept under a
key of everything they show (`tools.edit.segments`) and joined by stream copy, so a recut after a note encodes
only the segments of the shots it changed; the sound is mixed again only when a line, a cue or a bed changed.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import PIL
from pydantic import BaseModel, ConfigDict, Field

from tools.edit.film_sound import SoundDesign, SoundFacts, design_key, mix_film_sound, stem_paths, stored_facts
from tools.edit.filter_graph import COMPOSITOR, Overlay, run_graph
from tools.edit.overlays import on_even_grid, save_png, subtitle_overlay, title_card
from tools.edit.plan import CutError, CutItem, CutPlan, Slot, frame_layout
from tools.edit.reels import unreadable_clip
from tools.edit.segments import X264_PRESET, X264_THREADS, Encoding, SegmentError, SegmentStore, encode_segments
from tools.edit.sound import AUDIO_RATE, Line, line_span, mix_dialogue, read_lines, sound_key
from tools.edit.subtitles import SubtitleCue, cue_text, format_srt
from tools.files import atomic_path, content_key, open_atomic, sha256_of

MAX_RUN_SEGMENTS = 8
"""The most segments one ffmpeg run composes: it opens every clip they show at once (the demo's 33 segments in one
run held 227 MiB in ffmpeg, in runs of 8 117 MiB)."""
VIDEO_NAME = "film.mp4"
SUBTITLES_NAME = "film.srt"
TIMELINE_NAME = "timeline.json"
STEMS_FOLDER = "stems"


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
    stems: dict[str, Path] = Field(
        default_factory=dict,
        description="dialogue, music and ambience: film-length WAVs for editors (only those the film has).",
    )
    sound: SoundFacts | None = Field(default=None, description="The mix's loudness, when the cut was given a design.")
    score: Path | None = Field(default=None, description="The score as MIDI, when the crew wrote one.")

    @property
    def encoded_segments(self) -> list[CutSegment]:
        return [segment for segment in self.segments if segment.encoded]


def assemble_cut(
    plan: CutPlan, out_dir: Path, segments_dir: Path | None = None, sound: SoundDesign | None = None
) -> CutResult:
    """Render `plan` to `out_dir/film.mp4` with `film.srt` and `timeline.json` beside it.

    With `sound`, the lines are mixed over the score and ambience it places (`tools.edit.film_sound`) to its
    loudness, and the stems are written to `out_dir/stems/`; without it the track is the lines alone.

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
    title_frames, slots, total_frames = frame_layout(plan)
    digests = _digest_clips(plan.items)
    lines = read_lines(slots, fps)
    entries = [
        TimelineEntry(
            shot_id=s.item.shot_id,
            scene_number=s.item.scene_number,
            start=s.start / fps,
            end=s.end / fps,
            clip=str(s.item.clip),
            **line_span(lines.get(s.item.shot_id)),
        )
        for s in slots
    ]
    cues = [
        SubtitleCue(
            index=n, start=s.cue_start / fps, end=s.cue_end / fps, text=cue_text(s.item), shot_id=s.item.shot_id
        )
        for n, s in enumerate((s for s in slots if cue_text(s.item)), start=1)
    ]
    encoding = Encoding(width=plan.width, height=plan.height, fps=fps, preset=X264_PRESET, threads=X264_THREADS)
    segments = _segments(plan, title_frames, slots, total_frames, digests, encoding)
    duration = (total_frames + 0.5) / fps
    designed = sound is not None and bool(lines or any(s.path for s in [*sound.music, *sound.ambience]))

    finals = [out_dir / VIDEO_NAME, out_dir / SUBTITLES_NAME, out_dir / TIMELINE_NAME]
    scratch: Path | None = None
    try:
        if segments_dir is None:
            scratch = Path(tempfile.mkdtemp(dir=out_dir, prefix=".segments-"))
        store = SegmentStore(segments_dir if segments_dir is not None else scratch)
        started = time.perf_counter()
        fresh = {s.key for s in segments if not store.trusted(s.key, frames=s.end - s.start)}
        with ThreadPoolExecutor(max_workers=1) as mixer:
            total_samples = round(duration * AUDIO_RATE)
            if designed:
                cuts, length = scene_cut_times(slots, fps), total_frames / fps
                mixing = mixer.submit(_designed_sound, store, lines, sound, cuts, length)
            elif lines:
                mixing = mixer.submit(
                    store.sound,
                    sound_key(lines.values(), total_samples),
                    lambda path: mix_dialogue(lines.values(), total_samples, path),
                )
            else:
                mixing = None
            if fresh:
                _encode(plan, title_frames, slots, [s for s in segments if s.key in fresh], store, encoding)
            track, sound_reused = mixing.result() if mixing is not None else (None, False)
        with ExitStack() as outputs:
            video = outputs.enter_context(atomic_path(finals[0]))
            store.join(
                [s.key for s in segments], video, track, ["-movflags", "+faststart+use_metadata_tags", *_tags(plan)]
            )
            encode_seconds = time.perf_counter() - started
            outputs.enter_context(open_atomic(finals[1])).write(format_srt(cues).encode("utf-8"))
            timeline = json.dumps([e.model_dump(mode="json") for e in entries], indent=2) + "\n"
            outputs.enter_context(open_atomic(finals[2])).write(timeline.encode("utf-8"))
        stems = _place_stems(track, out_dir) if designed and track is not None else {}
        if segments_dir is not None:
            store.prune({s.key for s in segments} | ({track.name.split(".")[0]} if track else set()))
    except SegmentError as err:
        raise CutError(f"could not encode the cut into {out_dir}: {err}") from err
    except OSError as err:
        raise CutError(f"could not write the cut into {out_dir}: {err}") from err
    finally:
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
        stems=stems,
        sound=stored_facts(track) if designed and track is not None else None,
    )


def scene_cut_times(slots: list[Slot], fps: int) -> list[float]:
    """Where each scene after the first begins, in film seconds: the middle of its cross-fade."""
    return [
        slot.cue_start / fps
        for previous, slot in zip(slots, slots[1:], strict=False)
        if slot.item.scene_number != previous.item.scene_number
    ]


def scene_starts(plan: CutPlan) -> tuple[float, list[float], float]:
    """The title's length, each scene's start (the first at the title's end) and the film's length, in seconds."""
    title_frames, slots, total_frames = frame_layout(plan)
    return (
        title_frames / plan.fps,
        [title_frames / plan.fps, *scene_cut_times(slots, plan.fps)],
        total_frames / plan.fps,
    )


def _designed_sound(
    store: SegmentStore, lines: dict[str, Line], design: SoundDesign, cuts: list[float], duration: float
) -> tuple[Path, bool]:
    """The stored mix for this design, made unless it, its stems and its facts are all there already."""
    key = design_key(design, sound_key(lines.values(), round(duration * AUDIO_RATE)), cuts, duration)
    final = store.path(key, ".m4a")
    if store.trusted(key, ".m4a") and stored_facts(final) is not None:
        return final, True
    return store.sound(key, lambda path: mix_film_sound(list(lines.values()), design, cuts, duration, path, final))[
        0
    ], False


def _place_stems(track: Path, out_dir: Path) -> dict[str, Path]:
    """Copy the track's stems into `out_dir/stems/` (hard links where the disk allows)."""
    folder = out_dir / STEMS_FOLDER
    folder.mkdir(exist_ok=True)
    placed = {}
    for name, stored in stem_paths(track).items():
        target = folder / f"{name}.wav"
        with atomic_path(target) as temp:
            try:
                os.link(stored, temp)
            except OSError:
                shutil.copyfile(stored, temp)
        placed[name] = target
    return placed


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
    slots: list[Slot],
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
    renderer = {"encoding": encoding.fingerprint(), "compositor": COMPOSITOR, "pillow": PIL.__version__}
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
            text = cue_text(slot.item)
            if text and slot.cue_start < end and slot.cue_end > start:
                layers.append({"subtitle": text, "from": slot.cue_start - start, "to": slot.cue_end - start})
        recipe = {"renderer": renderer, "frames": end - start, "layers": layers}
        segments.append(
            _Segment(start=start, end=end, key=content_key(recipe), slots=playing, title=title_frames > start)
        )
    return segments


def _encode(
    plan: CutPlan,
    title_frames: int,
    slots: list[Slot],
    segments: list[_Segment],
    store: SegmentStore,
    encoding: Encoding,
) -> None:
    """Compose and encode `segments` with ffmpeg: one run per stretch of consecutive ones, a key encoded once.

    The title card and the subtitle strips the runs show are drawn once as PNGs in a hidden folder beside the
    segments, removed when the runs are done.

    Raises:
        CutError: a clip the runs read is not a readable video.
        SegmentError: ffmpeg could not compose or encode a run.
    """
    runs: list[list[_Segment]] = []
    seen: set[str] = set()
    for segment in segments:
        if segment.key in seen:
            continue
        seen.add(segment.key)
        if runs and runs[-1][-1].end == segment.start and len(runs[-1]) < MAX_RUN_SEGMENTS:
            runs[-1].append(segment)
        else:
            runs.append([segment])
    size = (plan.width, plan.height)
    drawings = store.temp_path(".overlays")
    drawings.mkdir()
    try:
        title = None
        if any(run[0].start < title_frames for run in runs):
            title = (save_png(title_card(plan), drawings / "title.png"), title_frames)
        overlays = _subtitles(slots, size, drawings, [(run[0].start, run[-1].end) for run in runs])
        for run in runs:
            graph = run_graph(run[0].start, run[-1].end, slots, size, encoding.fps, title, overlays)
            try:
                encode_segments(store, [(s.key, s.end - s.start) for s in run], encoding, graph.arguments)
            except SegmentError as err:
                unreadable = unreadable_clip(slots[index] for index in graph.slots)
                if unreadable is not None:
                    raise unreadable from err
                raise
    finally:
        shutil.rmtree(drawings, ignore_errors=True)


def _subtitles(slots: list[Slot], size: tuple[int, int], folder: Path, spans: list[tuple[int, int]]) -> list[Overlay]:
    """Each subtitle strip shown in the film frames `spans`, drawn into `folder` as a PNG once per distinct line."""
    overlays = []
    drawn: dict[str, tuple[Path, int, int]] = {}
    for slot in slots:
        text = cue_text(slot.item)
        if not text or not any(slot.cue_start < end and slot.cue_end > start for start, end in spans):
            continue
        if text not in drawn:
            strip, (x, y) = on_even_grid(*subtitle_overlay(text, size))
            drawn[text] = (save_png(strip, folder / f"subtitle-{len(drawn):04d}.png"), x, y)
        path, x, y = drawn[text]
        overlays.append(Overlay(path=path, x=x, y=y, start=slot.cue_start, end=slot.cue_end))
    return overlays


def _tags(plan: CutPlan) -> list[str]:
    """The `-metadata` arguments for the plan's tags; `use_metadata_tags` lets MP4 keep non-standard keys."""
    arguments = []
    for key, value in plan.metadata.items():
        arguments += ["-metadata", f"{key}={' '.join(value.split())}"]
    return arguments


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
