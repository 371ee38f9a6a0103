"""The shots' clips as the cut reads them: ffmpeg inputs and the filters that fit each to the film's frame grid.

A shot plays from its clip's first frame at the film's frame rate, scaled to fit the frame with black bars,
and holds its last frame when the clip runs shorter than the shot. A clip is opened only when a segment that
shows it is encoded: a clip that plays only in stored segments has the bytes those segments were made from.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterable
from pathlib import Path

import imageio_ffmpeg

from tools.edit.plan import CutError, Slot

DECODE_THREADS = 1
"""Threads per clip decoder: a run opens every clip it shows at once, so one each keeps the cores for x264."""
SCALE_FLAGS = "lanczos"
FILM_COLOURS = "out_color_matrix=bt601:out_range=tv"
"""Every picture is converted to the one YUV the film is encoded in (a clip tagged BT.709 or full range too),
so that each segment's encoder, set up from its first frame, writes the same SPS."""
PROBE_TIMEOUT_S = 60.0


def clip_input(clip: Path) -> list[str]:
    """The ffmpeg input arguments that open a shot's clip (its picture only is used)."""
    return ["-threads", str(DECODE_THREADS), "-i", str(clip)]


def shot_chain(source: str, first: int, end: int, size: tuple[int, int], fps: int) -> str:
    """Filters that turn input `source` into the shot's own frames `[first, end)` on the film's grid.

    The clip's timestamps start at zero and its last frame is held forever; film frame `k` shows the clip's
    frame on screen at `k / fps` (`round=up`: the last one whose time is not after it), so a clip at another
    rate keeps its speed. It is fitted into `size` keeping its aspect ratio (black bars, even sizes for
    4:2:0), then trimmed; every frame comes out in the film's pixel format and colours (`FILM_COLOURS`) with
    timestamps counting frames, as `xfade` and `concat` want them.
    """
    width, height = size
    return (
        f"[{source}]setpts=PTS-STARTPTS,tpad=stop=-1:stop_mode=clone,fps={fps}:round=up,"
        f"trim=start_frame={first}:end_frame={end},"
        f"scale=w={width}:h={height}:force_original_aspect_ratio=decrease:force_divisible_by=2:flags={SCALE_FLAGS}:{FILM_COLOURS},"
        f"pad={width}:{height}:(ow-iw)/2:(oh-ih)/2:black,setsar=1,format=yuv420p,{frame_clock(fps)}"
    )


def frame_clock(fps: int) -> str:
    """Filters that restamp a stream as one frame per tick of `1/fps`, counting from zero."""
    return f"settb=1/{fps},setpts=N"


def unreadable_clip(slots: Iterable[Slot]) -> CutError | None:
    """The first shot whose clip ffmpeg cannot decode a picture from, as the error to raise; None if all can.

    Called only after an encode failed, to name the shot instead of passing on ffmpeg's words.
    """
    checked: set[Path] = set()
    for slot in slots:
        clip = slot.item.clip
        if clip in checked:
            continue
        checked.add(clip)
        problem = _decode_problem(clip)
        if problem:
            return CutError(
                f"shot {slot.item.shot_id}: clip {clip} is not a readable video ({problem}); render it again"
            )
    return None


def _decode_problem(clip: Path) -> str:
    """What stops ffmpeg decoding the clip's first picture, or '' when it decodes one."""
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "error", "-i", str(clip)]
    command += ["-map", "0:v:0", "-frames:v", "1", "-f", "null", "-"]
    try:
        done = subprocess.run(command, capture_output=True, timeout=PROBE_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as err:
        return str(err)
    text = done.stderr.decode("utf-8", errors="replace").strip()
    if done.returncode != 0:
        return text.splitlines()[-1] if text else f"ffmpeg exited with {done.returncode}"
    return ""
