"""Subtitles: the cue text a shot puts on screen, and the SRT file written beside the film and read back."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from tools.edit.plan import CutError, CutItem

_SRT_TIME = re.compile(r"^(\d{2,}):([0-5]\d):([0-5]\d),(\d{3})$")


class SubtitleCue(BaseModel):
    """One subtitle on the final timeline, in seconds; `shot_id` is empty when read back from an SRT."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    index: int
    start: float
    end: float
    text: str
    shot_id: str = ""


def cue_text(item: CutItem) -> str:
    """The subtitle a shot puts on screen, `Speaker: line` with spaces collapsed; empty for a silent shot."""
    line = " ".join(item.subtitle.split())
    if not line:
        return ""
    speaker = " ".join(item.speaker.split())
    return f"{speaker}: {line}" if speaker else line


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
