"""How loud a sound file is, as ffmpeg measures it: EBU R128 loudness and true peak, and a window's RMS level.

These are the figures the film's mix is judged by, so they come from the same ffmpeg binary the cut uses
(imageio-ffmpeg's), decoding any file it can read: a WAV stem, the MP4's AAC track.

Level conventions, worked out from ITU-R BS.1770-4 and checked against ffmpeg's `ebur128`: the K-weighting
filter gains +0.69 dB at 997 Hz, which cancels the -0.691 constant, so a 997 Hz sine whose peak is P dBFS reads
P - 3.01 LUFS per channel it plays on. Channels add in power, so a stereo file with that sine in both channels
reads P LUFS (a -20 dBFS sine reads -20 LUFS), and a mono file reads P - 3.01 (ffmpeg's `dualmono` is off).
`window_rms_dbfs` is plain RMS against full scale 1.0, so the same sine reads P - 3.01 dBFS there.
"""

from __future__ import annotations

import math
import re
import subprocess
from collections.abc import Sequence
from pathlib import Path

import imageio_ffmpeg
import numpy as np
from pydantic import BaseModel, ConfigDict

from tools.errors import DirectorError

FFMPEG_TIMEOUT_S = 300.0
MEASURE_RATE = 48000
SILENT_LUFS = -70.0
"""BS.1770's absolute gate: ffmpeg reports this floor when no block passes it, i.e. for silence."""

_SUMMARY = re.compile(
    r"Integrated loudness:\s*I:\s*(?P<i>-?[\d.]+|-?inf)\s*LUFS.*?"
    r"Loudness range:\s*LRA:\s*(?P<lra>-?[\d.]+|-?inf)\s*LU.*?"
    r"True peak:\s*Peak:\s*(?P<tp>-?[\d.]+|-?inf)\s*dBFS",
    re.DOTALL,
)


class LoudnessError(DirectorError):
    """ffmpeg could not read or measure a sound file."""


class Loudness(BaseModel):
    """EBU R128 figures of a whole file: integrated loudness (LUFS), true peak (dBTP) and loudness range (LU).

    Silence has integrated loudness and true peak of -inf.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    integrated_lufs: float
    true_peak_dbtp: float
    lra: float


def measure_loudness(path: Path) -> Loudness:
    """Measure a file with ffmpeg's `ebur128=peak=true` filter and read its summary.

    Raises:
        LoudnessError: the file is missing or ffmpeg cannot decode its audio.
    """
    path = _existing(path)
    return _ebur128(["-i", str(path)], None, str(path))


def measure_samples(samples: np.ndarray, sample_rate: int = MEASURE_RATE) -> Loudness:
    """Measure float samples (frames x channels, full scale 1.0) without writing a file: they go to ffmpeg's stdin.

    Raises:
        LoudnessError: ffmpeg failed.
    """
    frames = _frames(samples)
    source = ["-f", "f32le", "-ar", str(sample_rate), "-ac", str(frames.shape[1]), "-i", "pipe:0"]
    return _ebur128(source, memoryview(np.ascontiguousarray(frames, dtype="<f4")).cast("B"), "samples")


def read_audio(path: Path, sample_rate: int = MEASURE_RATE, channels: int | None = None) -> np.ndarray:
    """Decode a file to float32 samples (frames x channels) at `sample_rate`; `channels` remixes (mono -> both).

    Raises:
        LoudnessError: the file is missing or ffmpeg cannot decode its audio.
    """
    path = _existing(path)
    output = ["-ar", str(sample_rate)] + (["-ac", str(channels)] if channels else [])
    return _decode(path, output)


def read_window(path: Path, start: float, end: float, sample_rate: int = MEASURE_RATE) -> np.ndarray:
    """The samples (frames x channels, float32) from `start` to `end` seconds, cut at exact sample positions.

    Raises:
        LoudnessError: the file is missing or unreadable, or the window is empty or negative.
    """
    if not 0 <= start < end:
        raise LoudnessError(f"window {start:.3f}-{end:.3f} s of {path} is empty; give 0 <= start < end")
    path = _existing(path)
    first, last = round(start * sample_rate), round(end * sample_rate)
    trim = f"atrim=start_sample={first}:end_sample={last}"
    return _decode(path, ["-ar", str(sample_rate), "-af", f"aresample={sample_rate},{trim}"])


def rms_dbfs(samples: np.ndarray) -> float:
    """RMS level over every sample of every channel, in dB against full scale 1.0; -inf for silence or no samples."""
    values = np.asarray(samples, dtype=np.float64)
    if values.size == 0:
        return -math.inf
    mean_square = float(np.mean(np.square(values)))
    return 10 * math.log10(mean_square) if mean_square > 0 else -math.inf


def window_rms_dbfs(path: Path | Sequence[Path], start: float, end: float) -> float:
    """RMS level (dBFS) of a file between `start` and `end` seconds; several files are summed sample by sample first.

    Summing is how the bed is judged: music plus ambience stems in the same window. Files are remixed to stereo
    (a mono file plays in both channels) so they add up; a window running past a file's end counts the missing
    part as silence.

    Raises:
        LoudnessError: a file is missing or unreadable, or the window is empty.
    """
    paths = [path] if isinstance(path, Path | str) else list(path)
    if not paths:
        raise LoudnessError("window_rms_dbfs needs at least one file")
    length = round(end * MEASURE_RATE) - round(start * MEASURE_RATE)
    windows = [read_window(Path(each), start, end)[:length] for each in paths]
    if len(windows) == 1:
        total = np.zeros((length, windows[0].shape[1]), dtype=np.float64)
    else:
        windows = [_stereo(window) for window in windows]
        total = np.zeros((length, 2), dtype=np.float64)
    for window in windows:
        total[: len(window)] += window
    return rms_dbfs(total)


def _stereo(samples: np.ndarray) -> np.ndarray:
    if samples.shape[1] == 2:
        return samples
    if samples.shape[1] == 1:
        return np.repeat(samples, 2, axis=1)
    raise LoudnessError(f"cannot sum a {samples.shape[1]}-channel file with stereo stems; give mono or stereo")


def _frames(samples: np.ndarray) -> np.ndarray:
    frames = np.asarray(samples, dtype=np.float32)
    if frames.ndim == 1:
        frames = frames[:, None]
    if frames.ndim != 2 or frames.shape[1] < 1:
        raise LoudnessError(f"samples must be frames x channels, not shape {frames.shape}")
    return frames


def _ebur128(source: list[str], stdin: bytes | memoryview | None, what: str) -> Loudness:
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-nostats"] + (["-nostdin"] if stdin is None else [])
    command += [*source, "-af", "ebur128=peak=true:framelog=quiet", "-f", "null", "-"]
    text = _run(command, stdin, f"measuring the loudness of {what}").decode("utf-8", errors="replace")
    match = _SUMMARY.search(text[text.rfind("Summary:") :])
    if match is None:
        raise LoudnessError(f"ffmpeg's ebur128 printed no summary for {what}: {_last_line(text)}")
    integrated = float(match["i"])
    return Loudness(
        integrated_lufs=-math.inf if integrated <= SILENT_LUFS else integrated,
        true_peak_dbtp=float(match["tp"]),
        lra=float(match["lra"]),
    )


def _decode(path: Path, output: list[str]) -> np.ndarray:
    """Decode to a float WAV on a pipe, which carries the channel count in its header, and read its samples."""
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "error", "-i", str(path)]
    command += ["-vn", "-map", "0:a:0", "-map_metadata", "-1", *output, "-c:a", "pcm_f32le", "-f", "wav", "pipe:1"]
    data = _run(command, None, f"decoding {path}", stdout=True)
    channels, offset = 0, 12
    while offset + 8 <= len(data):
        chunk, size = data[offset : offset + 4], int.from_bytes(data[offset + 4 : offset + 8], "little")
        if chunk == b"fmt ":
            channels = int.from_bytes(data[offset + 10 : offset + 12], "little")
        elif chunk == b"data" and channels > 0:
            body = data[offset + 8 :]
            body = body[: len(body) - len(body) % (4 * channels)]
            return np.frombuffer(body, "<f4").reshape(-1, channels).copy()
        offset += 8 + size + size % 2
    raise LoudnessError(f"ffmpeg gave no audio for {path}; check it has a sound track")


def _run(command: list[str], stdin: bytes | memoryview | None, what: str, stdout: bool = False) -> bytes:
    try:
        done = subprocess.run(command, input=stdin, capture_output=True, timeout=FFMPEG_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired as err:
        raise LoudnessError(f"ffmpeg took over {FFMPEG_TIMEOUT_S:.0f} s {what}; try a shorter file") from err
    if done.returncode != 0:
        text = done.stderr.decode("utf-8", errors="replace")
        raise LoudnessError(f"ffmpeg failed {what}: {_last_line(text)}; check the file plays")
    return done.stdout if stdout else done.stderr


def _existing(path: Path) -> Path:
    path = Path(path)
    if not path.is_file():
        raise LoudnessError(f"{path} does not exist or is not a file; write it first")
    return path


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no output from ffmpeg"
