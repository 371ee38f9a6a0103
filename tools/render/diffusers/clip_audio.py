"""The sound a video model makes with its picture (LTX-2's synchronised audio), kept as a WAV beside the clip.

The cut plays it, quietly, under a shot that has no spoken line (`tools.edit.sound`); a shot with a line plays
only the line. The sound is the model's own, at the model's clock: it is not stretched with the picture.
"""

from __future__ import annotations

import wave
from pathlib import Path
from typing import Any

import numpy as np

from tools.files import atomic_path

FALLBACK_SAMPLE_RATE = 24000
"""LTX-2's vocoder rate, for a pipeline that does not say its own."""


def clip_sound(output: Any) -> np.ndarray | None:
    """The first clip's sound in a pipeline output as `samples x channels` floats, or None when it made none."""
    audio = getattr(output, "audio", None)
    if audio is None:
        return None
    first = audio[0]
    if hasattr(first, "detach"):
        first = first.detach().float().cpu().numpy()
    sound = np.asarray(first, np.float32)
    if sound.ndim == 1:
        sound = sound[:, None]
    elif sound.ndim == 2 and sound.shape[0] <= 8 < sound.shape[1]:
        sound = sound.T
    if sound.ndim != 2 or sound.shape[0] == 0:
        return None
    return sound


def sample_rate_of(pipe: Any) -> int:
    """The rate of the sound `pipe` makes: its vocoder's output rate, else its audio VAE's, else LTX-2's."""
    for name, key in (("vocoder", "output_sampling_rate"), ("audio_vae", "sample_rate")):
        config = getattr(getattr(pipe, name, None), "config", None)
        value = getattr(config, key, None) if config is not None else None
        if isinstance(value, int) and value > 0:
            return value
    return FALLBACK_SAMPLE_RATE


def write_sound(sound: np.ndarray, sample_rate: int, out: Path) -> Path:
    """`sound` (floats in -1..1, `samples x channels`) as a 16-bit PCM WAV at `out`, written whole or not at all."""
    pcm = (np.clip(sound, -1.0, 1.0) * 32767).round().astype("<i2")
    with atomic_path(out) as partial, wave.open(str(partial), "wb") as file:
        file.setnchannels(pcm.shape[1])
        file.setsampwidth(2)
        file.setframerate(sample_rate)
        file.writeframes(pcm.tobytes())
    return out
