"""Reading a film's sound back for tests: decoded by the ffmpeg that imageio-ffmpeg ships."""

from __future__ import annotations

import subprocess
import wave
from pathlib import Path

import imageio_ffmpeg
import numpy as np

RATE = 16000
SILENCE_DB = -60.0


def read_audio(path: Path, rate: int = RATE) -> np.ndarray:
    """The file's first audio stream as mono float samples in [-1, 1]; empty when it has none."""
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(path), "-vn", "-ac", "1"]
    command += ["-ar", str(rate), "-f", "s16le", "-"]
    raw = subprocess.run(command, capture_output=True, check=True).stdout
    return np.frombuffer(raw, np.int16).astype(np.float32) / 32768


def level_db(samples: np.ndarray, start: float, end: float, rate: int = RATE) -> float:
    """RMS level in dBFS between `start` and `end` seconds."""
    part = samples[max(0, round(start * rate)) : max(0, round(end * rate))]
    if part.size == 0:
        return SILENCE_DB * 2
    return float(20 * np.log10(np.sqrt(np.mean(part**2)) + 1e-9))


def onset(samples: np.ndarray, after: float = 0.0, threshold_db: float = -40.0, rate: int = RATE) -> float | None:
    """The first time after `after` where a 10 ms window rises above `threshold_db`."""
    window = rate // 100
    for index in range(round(after * rate), samples.size - window, window // 2):
        if level_db(samples, index / rate, (index + window) / rate, rate) > threshold_db:
            return index / rate
    return None


def write_tone(path: Path, seconds: float, hz: float = 440.0, rate: int = 22050) -> Path:
    t = np.arange(round(seconds * rate)) / rate
    samples = (0.5 * np.sin(2 * np.pi * hz * t) * 32767).astype(np.int16)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.tobytes())
    return path
