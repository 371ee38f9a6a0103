"""The film's sound: every spoken line placed where its subtitle starts, mixed into one AAC track.

A shot without a line plays its clip's own sound (the ambience a video model such as LTX-2 makes with the
picture), quietly, from the shot's first frame; a shot with a line plays only the line.
"""

from __future__ import annotations

import wave
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import imageio_ffmpeg

from tools.edit.plan import CutError, Slot
from tools.edit.segments import SEGMENT_FORMAT, run_ffmpeg
from tools.files import content_key, sha256_of

AUDIO_RATE = 44100
AUDIO_BITRATE = "160k"
AAC_CODER = "fast"
"""ffmpeg's AAC coder: its documentation calls `fast` better and much faster than the default at bitrates like ours."""
LINE_FADE_SECONDS = 0.12
AMBIENCE_GAIN_DB = -18.0
"""How far under a spoken line's level a clip's own sound plays."""


@dataclass(frozen=True)
class Line:
    """A spoken line on the timeline: it starts with its subtitle and may not outlast its shot."""

    path: Path
    digest: str
    start: float
    end: float
    seconds: float
    gain_db: float = 0.0
    """0 for a spoken line; `AMBIENCE_GAIN_DB` for a clip's own sound."""

    @property
    def is_ambience(self) -> bool:
        return self.gain_db != 0.0

    @property
    def cut_short(self) -> bool:
        return self.end - self.start < self.seconds - 1e-3


def read_lines(slots: list[Slot], fps: int) -> dict[str, Line]:
    """Read every line's WAV header before encoding; each is placed at its cue's start and cut at the shot's end.

    A shot with no line but a clip sound (`CutItem.ambience`) gets that sound instead, from the shot's start
    at `AMBIENCE_GAIN_DB`.

    Raises:
        CutError: a line's file is missing or not readable audio.
    """
    lines: dict[str, Line] = {}
    for slot in slots:
        ambience = slot.item.audio is None and slot.item.ambience is not None
        path = slot.item.ambience if ambience else slot.item.audio
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
        start = (slot.start if ambience else slot.cue_start) / fps
        end = min(start + seconds, slot.end / fps)
        gain = AMBIENCE_GAIN_DB if ambience else 0.0
        lines[slot.item.shot_id] = Line(path=path, digest=digest, start=start, end=end, seconds=seconds, gain_db=gain)
    return lines


def line_span(line: Line | None) -> dict[str, str | float]:
    """The timeline's record of a spoken line; a clip's own sound is part of its clip, not a line."""
    if line is None or line.is_ambience:
        return {}
    return {"audio": str(line.path), "audio_start": line.start, "audio_end": line.end}


def sound_key(lines: Iterable[Line], total_samples: int) -> str:
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
            "lines": [[line.digest, *_line_samples(line), *_gain(line)] for line in lines],
        }
    )


def _gain(line: Line) -> list[float]:
    """A clip sound's gain, for its key; a spoken line's key stays what it was before clip sounds existed."""
    return [line.gain_db] if line.is_ambience else []


def _line_samples(line: Line, rate: int = AUDIO_RATE) -> tuple[int, int, bool]:
    """Where a line starts and how long it plays, in samples, and whether it is cut short."""
    return round(line.start * rate), round((line.end - line.start) * rate), line.cut_short


def mix_dialogue(
    lines: Iterable[Line], total_samples: int, out: Path, *, rate: int = AUDIO_RATE, wav: bool = False
) -> None:
    """Every line at its place on silence as long as the film, in AAC; one that overruns its shot fades out.

    With `wav`, the track is written as a 32-bit float WAV at `rate` instead (a stem for the mix).

    Raises:
        SegmentError: ffmpeg could not read a line or encode the track.
    """
    lines = [line for line in lines if _line_samples(line, rate)[1] > 0]
    fade = round(LINE_FADE_SECONDS * rate)
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "error", "-y"]
    graph = [f"anullsrc=r={rate}:cl=stereo,atrim=end_sample={total_samples}[base]"]
    for number, line in enumerate(lines):
        command += ["-i", str(line.path)]
        offset, length, cut_short = _line_samples(line, rate)
        chain = f"[{number}:a]aresample={rate},aformat=sample_fmts=fltp:channel_layouts=stereo"
        chain += f",atrim=end_sample={length}"
        if cut_short:
            chain += f",afade=t=out:ss={max(0, length - fade)}:ns={min(fade, length)}"
        if line.is_ambience:
            chain += f",volume={line.gain_db}dB"
        graph.append(f"{chain},adelay=delays={offset}S:all=1[line{number}]")
    inputs = "[base]" + "".join(f"[line{number}]" for number in range(len(lines)))
    graph.append(f"{inputs}amix=inputs={len(lines) + 1}:duration=first:normalize=0[mix]")
    command += ["-filter_complex", ";".join(graph), "-map", "[mix]"]
    if wav:
        command += ["-c:a", "pcm_f32le", "-ar", str(rate), "-f", "wav", str(out)]
    else:
        command += [
            "-c:a",
            "aac",
            "-aac_coder",
            AAC_CODER,
            "-b:a",
            AUDIO_BITRATE,
            "-ar",
            str(rate),
            "-f",
            "mp4",
            str(out),
        ]
    run_ffmpeg(command, f"mixing {len(lines)} spoken lines")
