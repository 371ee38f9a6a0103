"""Ambience beds from Stable Audio 3 (diffusers' `StableAudio3Pipeline`), for a machine with a GPU.

A bed from the model is held to the same promises as a synthesised one (`tools.sound.ambience`): 48 kHz stereo,
exactly the spec's length, its body at the loudest layer's level (RMS, dBFS), half-second fades, peaks under
-1 dBFS, and the same inputs always give the same file, cached by a content key. A scene longer than the model
can make at once is looped: the longest clip the model allows, repeated with equal-power cross-fades.

Torch and diffusers are imported only when the pipeline is first needed, so the synthesised beds never pay
for them. Nothing is downloaded: the model is a local folder or a hub id already in the Hugging Face cache.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from math import gcd
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import signal
from scipy.io import wavfile

from tools.files import atomic_path, content_key
from tools.render.base import BackendError
from tools.render.hub import is_local_folder
from tools.settings import DiffusersSettings, SoundSettings
from tools.sound.ambience import FADE_SECONDS, MAX_CREST_DB, PEAK_DBFS, AmbienceKind, AmbienceLayer, AmbienceSpec

if TYPE_CHECKING:
    from diffusers import StableAudio3Pipeline

STABLE_AUDIO_VERSION = 1
"""Bumped whenever the way a bed is made from the model's audio changes, so old cached beds are not reused."""
OFFICIAL_MODEL = "stabilityai/stable-audio-3-medium"
OFFICIAL_LICENCE = "Stability AI Community License (https://stability.ai/license)"
"""The licence of Stability AI's Stable Audio 3 weights, as their model cards publish it (gated repositories)."""
CONVERT_HINT = (
    "Stable Audio 3 is not published in diffusers format: convert it on a connected machine with diffusers' "
    "scripts/convert_stable_audio_3_to_diffusers.py (--checkpoint_path stabilityai/stable-audio-3-medium "
    "--text_encoder_repo google/t5gemma-b-b-ul2 --output_dir FOLDER) and set DIRECTOR_SOUND__AMBIENCE_MODEL to "
    "that folder, or set DIRECTOR_SOUND__AMBIENCE_BACKEND=synth for the synthesised beds"
)
LOOP_CROSSFADE_SECONDS = 2.0
MIN_CREST_DB = 3.0
HIGH_PASS_HZ = 20.0
"""Rumble and DC under this are taken out before levelling: they use headroom and no speaker plays them."""

KIND_WORDS: dict[AmbienceKind, str] = {
    AmbienceKind.RAIN: "steady rain",
    AmbienceKind.WIND: "wind",
    AmbienceKind.SEA: "waves on the shore",
    AmbienceKind.ENGINE: "low engine hum",
    AmbienceKind.TRAFFIC: "city traffic",
    AmbienceKind.ROOM: "quiet room tone",
    AmbienceKind.CROWD: "murmuring crowd",
    AmbienceKind.FIRE: "crackling fire",
    AmbienceKind.BIRDS: "birdsong",
    AmbienceKind.NIGHT: "crickets",
}
PLACE_WORDS = frozenset(
    "alley apartment attic bar basement beach bridge cabin cafe car cathedral cave church city corridor desert "
    "dock factory ferry field forest garden hall harbour harbor hospital jungle kitchen lake library market "
    "meadow mountain office park pier river roof ship shore snow station street subway tent tin train tunnel "
    "village warehouse woods night dawn dusk morning".split()
)
"""Words of a setting's look that tell the model where the sound is; colours, lenses and moods do not."""
MAX_PLACE_WORDS = 3


def prompt_for(layers: Sequence[AmbienceLayer], look: str) -> str:
    """A short sound prompt: the beds strongest first, where they are heard from the look, no music or voices.

    >>> prompt_for([AmbienceLayer(kind="rain", level_db=-30), AmbienceLayer(kind="sea", level_db=-33)], "harbour")
    'steady rain, faint waves on the shore, harbour ambience, no music, no voices'
    """
    ordered = sorted(layers, key=lambda layer: -layer.level_db)
    kinds = list(dict.fromkeys(layer.kind for layer in ordered))
    parts = [KIND_WORDS[kind] if index == 0 else f"faint {KIND_WORDS[kind]}" for index, kind in enumerate(kinds)]
    places = [word for word in dict.fromkeys(re.findall(r"[a-z]+", look.lower())) if word in PLACE_WORDS]
    parts.append(" ".join([*places[:MAX_PLACE_WORDS], "ambience"]))
    parts.append("no music")
    parts.append("no clear speech" if AmbienceKind.CROWD in kinds else "no voices")
    return ", ".join(parts)


def _licence_of(model: str) -> str:
    if model.startswith("stabilityai/stable-audio-3"):
        return OFFICIAL_LICENCE
    readme = Path(model).expanduser() / "README.md" if is_local_folder(model) else None
    if readme is not None and readme.is_file():
        found = re.search(r"^license(?:_name)?:\s*(\S.*)$", readme.read_text(errors="replace"), re.MULTILINE)
        if found:
            return found.group(1).strip()
    return f"unknown: see the licence of {model}"


class StableAudioBeds:
    """Ambience beds made by a Stable Audio 3 pipeline, loaded on first use and shared between threads."""

    def __init__(self, model: str, options: DiffusersSettings, *, steps: int | None = None) -> None:
        """Keep the settings; nothing is loaded until the first bed that is not cached.

        Args:
            model: a folder holding the pipeline in diffusers format, or a hub id in the local cache.
            options: how diffusers pipelines are placed (device, dtype, offload).
            steps: denoising steps; None: the model's own (8 for the distilled Stable Audio 3 Medium).
        """
        self._model = str(Path(model).expanduser()) if is_local_folder(model) else model
        self._options = options
        self._steps = steps
        self._pipe: StableAudio3Pipeline | None = None
        self._loading = threading.Lock()
        self._calling = threading.Lock()

    @classmethod
    def from_settings(cls, sound: SoundSettings, diffusers: DiffusersSettings) -> StableAudioBeds:
        return cls(sound.ambience_model or OFFICIAL_MODEL, diffusers, steps=sound.ambience_steps)

    @property
    def model(self) -> str:
        """The hub id or folder the beds come from, for the manifest."""
        return self._model

    @property
    def licence(self) -> str:
        """The model's licence as published, for the manifest."""
        return _licence_of(self._model)

    def cache_key(self, spec: AmbienceSpec, prompt: str) -> str:
        """The content key naming the bed of `spec` and `prompt`: everything that decides its samples."""
        return content_key(
            {
                "stable_audio_version": STABLE_AUDIO_VERSION,
                "prompt": prompt,
                "seconds": spec.seconds,
                "seed": spec.seed,
                "sample_rate": spec.sample_rate,
                "level_db": _level_db(spec),
                "model": self._model,
                "steps": self._steps,
            }
        )

    def bed(self, spec: AmbienceSpec, prompt: str, folder: Path) -> Path:
        """`folder/<key>.wav`: the bed as a stereo float32 WAV of exactly `spec.seconds`, made if not cached.

        Raises:
            BackendError: the model is not on this machine or cannot be loaded.
        """
        path = folder / f"sa3-{self.cache_key(spec, prompt)}.wav"
        if path.is_file():
            return path
        with self._calling:
            if path.is_file():
                return path
            samples = self._samples(spec, prompt)
            with atomic_path(path) as temporary:
                wavfile.write(temporary, spec.sample_rate, samples)
        return path

    def pipeline(self) -> StableAudio3Pipeline:
        """The pipeline, loaded and placed on the first call.

        Raises:
            BackendError: the model is not on this machine or cannot be loaded.
        """
        with self._loading:
            if self._pipe is None:
                self._pipe = self._load()
            return self._pipe

    def max_seconds(self) -> float:
        """The longest clip the model makes at once: its duration conditioning's upper bound."""
        return float(self.pipeline().duration_embedder.config.max_val)

    def _load(self) -> StableAudio3Pipeline:
        from diffusers import StableAudio3Pipeline

        from tools.render.diffusers.common import load_pipeline, pick_device

        device = pick_device(self._options.device)
        update: dict[str, Any] = {"offline": True, "vae_tiling": False, "attention_backend": ""}
        if self._options.offload == "sequential":
            update["offload"] = "model"  # the weight-normalised SAME autoencoder breaks under sequential offload
        if self._options.dtype == "auto" and device == "mps":
            update["dtype"] = "float32"  # float16 on MPS makes noise
        try:
            return load_pipeline(
                StableAudio3Pipeline.from_pretrained,
                self._model,
                self._options.model_copy(update=update),
                role="ambience",
            )
        except BackendError as error:
            raise BackendError(f"{error}. {CONVERT_HINT}") from error

    def _samples(self, spec: AmbienceSpec, prompt: str) -> np.ndarray:
        rate = spec.sample_rate
        n = max(1, round(spec.seconds * rate))
        level = _level_db(spec)
        if level is None:
            return np.zeros((n, 2), dtype=np.float32)
        clip = self._clip(prompt, min(spec.seconds, self.max_seconds()), spec.seed, rate)
        crossfade = round(LOOP_CROSSFADE_SECONDS * rate)
        return _levelled(_looped(clip, n, crossfade), level, rate)

    def _clip(self, prompt: str, seconds: float, seed: int, rate: int) -> np.ndarray:
        """The model's audio for `seconds` (or the longest it makes), stereo at `rate`, rumble taken out."""
        from tools.render.diffusers.common import generator_for

        pipe = self.pipeline()
        model_rate = int(pipe.vae.config.sampling_rate)
        duration = min(seconds + 2.0 / model_rate, self.max_seconds())
        arguments: dict[str, Any] = {
            "prompt": prompt,
            "duration": duration,
            "generator": generator_for(pipe._execution_device.type, seed % 2**64),
            "output_type": "np",
        }
        if self._steps is not None:
            arguments["num_inference_steps"] = self._steps
        audio = np.asarray(pipe(**arguments).audios[0], dtype=np.float64).T
        audio = np.repeat(audio, 2, axis=1) if audio.shape[1] == 1 else audio[:, :2]
        common = gcd(rate, model_rate)
        audio = signal.resample_poly(audio, rate // common, model_rate // common, axis=0)
        high_pass = signal.butter(2, HIGH_PASS_HZ, btype="highpass", fs=rate, output="sos")
        return signal.sosfiltfilt(high_pass, audio, axis=0)


def _level_db(spec: AmbienceSpec) -> float | None:
    return max((layer.level_db for layer in spec.layers), default=None)


def _looped(clip: np.ndarray, n: int, crossfade: int) -> np.ndarray:
    """`clip` to `n` samples: cut when long enough, else repeated with equal-power cross-fades between repeats.

    Each repeat's head fades in on a sine while the one before fades out on a cosine: the tail and the head of a
    clip are unrelated stretches of the same texture, so their powers add and the level holds through the join.
    """
    length = len(clip)
    if length >= n:
        return clip[:n]
    overlap = max(1, min(crossfade, length // 4))
    ramp = np.arange(overlap) + 0.5
    rise = np.sin(np.pi / 2 * ramp / overlap)[:, None]
    fall = np.cos(np.pi / 2 * ramp / overlap)[:, None]
    hop = length - overlap
    looped = np.zeros((n + length, clip.shape[1]))
    for start in range(0, n, hop):
        piece = clip.copy()
        if start:
            piece[:overlap] *= rise
        if start + hop < n:
            piece[-overlap:] *= fall
        looped[start : start + length] += piece
    return looped[:n]


def _rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(samples)))) if samples.size else 0.0


def _levelled(samples: np.ndarray, level_db: float, rate: int) -> np.ndarray:
    """`samples` with their body (between the fades) at `level_db` RMS, rare peaks softened, faded, under -1 dBFS."""
    n = len(samples)
    fade = min(round(FADE_SECONDS * rate), n // 2)
    body = slice(fade, n - fade) if n - 2 * fade > 0 else slice(0, n)
    rms = _rms(samples[body])
    if rms == 0.0:
        return np.zeros((n, 2), dtype=np.float32)
    samples = samples / rms
    knee = 10 ** (max(MIN_CREST_DB, min(MAX_CREST_DB, PEAK_DBFS - 0.5 - level_db)) / 20)
    if np.max(np.abs(samples)) > knee:
        samples = knee * np.tanh(samples / knee)
        samples = samples / _rms(samples[body])
    samples = samples * 10 ** (level_db / 20)
    if fade:
        ramp = 0.5 - 0.5 * np.cos(np.pi * np.arange(fade) / fade)
        samples[:fade] *= ramp[:, None]
        samples[n - fade :] *= ramp[::-1, None]
    peak, ceiling = float(np.max(np.abs(samples))), 10 ** (PEAK_DBFS / 20)
    if peak > ceiling:
        samples = samples * (ceiling * 0.9999 / peak)
    return samples.astype(np.float32)
