"""The film's finished mix: dialogue over a ducked bed of music and ambience, at a set loudness, with its stems.

The bed is music plus ambience. While a line plays it is pulled down by at least `MixPlan.duck_db` (deeper when
the bed is loud, so the dialogue always clears it by `clearance_db`), ramping down over `attack` before the line
and back over `release` after it, on a raised-cosine curve so it never clicks. Each scene may bring its own
music and ambience (`assemble_bed`); they overlap at each scene cut with an equal-power crossfade.

The sum is normalised in two passes: ffmpeg's `ebur128` measures it, a gain brings it to `target_lufs`, and
ffmpeg's `alimiter` (a sample-peak look-ahead limiter set `LIMITER_MARGIN_DB` under the ceiling, since
inter-sample peaks can overshoot the samples) keeps the true peak under `true_peak`; the result is measured
again and the gain or the limit corrected until both hold.

The stems for editors (`write_stems`) are the mix as heard before its master gain: the music and ambience
already ducked, so dialogue + music + ambience, raised by `MixResult.gain_db`, is the mix before its limiter.
Leaving the master gain out keeps a stem's samples for a scene the same when a note changes another scene's
sound (the gain follows the whole film's loudness). They are 32-bit float WAVs, so nothing in them clips.
"""

from __future__ import annotations

import math
import subprocess
from collections.abc import Sequence
from pathlib import Path

import imageio_ffmpeg
import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator
from scipy.io import wavfile

from tools.errors import DirectorError
from tools.files import atomic_path, disk_full_in
from tools.sound.loudness import FFMPEG_TIMEOUT_S, Loudness, measure_loudness, measure_samples, read_audio, rms_dbfs

BROADCAST_LUFS = -23.0
"""EBU R128's broadcast target; the default -16 LUFS suits streaming and phones."""
MAX_DUCK_DB = 40.0
LIMITER_MARGIN_DB = 1.0
"""How far under the true-peak ceiling the sample-peak limiter starts: inter-sample peaks overshoot samples."""
LOUDNESS_TOLERANCE_LU = 0.5
"""The mix is corrected until it is this close to the target (the acceptance allows 1 LU)."""
MAX_PASSES = 4
MIN_LIMIT_DB = -24.0
"""ffmpeg's `alimiter` cannot limit lower than 1/16 of full scale."""
STEM_NAMES = ("dialogue", "music", "ambience")


class MixError(DirectorError):
    """The mix could not reach its loudness and peak targets, or a stem could not be read."""


class Stems(BaseModel):
    """The three sounds of a film, as files: dialogue, and the bed's music and ambience (None for none)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    dialogue: Path
    music: Path | None = None
    ambience: Path | None = None


class MixPlan(BaseModel):
    """Where the film's lines and scene cuts fall (seconds) and how the mix treats them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    duration: float = Field(gt=0)
    sample_rate: int = Field(default=48000, ge=8000)
    lines: list[tuple[float, float]] = Field(default_factory=list)
    """Each spoken line's start and end: the bed ducks under it."""
    scene_cuts: list[float] = Field(default_factory=list)
    duck_db: float = Field(default=12.0, ge=9.0, le=MAX_DUCK_DB)
    clearance_db: float = Field(default=10.0, ge=9.0)
    """How far the dialogue stays above the bed over each line: a loud bed is ducked deeper than `duck_db`."""
    attack: float = Field(default=0.08, gt=0)
    release: float = Field(default=0.3, gt=0)
    crossfade: float = Field(default=1.0, ge=0)
    target_lufs: float = Field(default=-16.0, ge=-40, le=-5)
    true_peak: float = Field(default=-1.5, ge=-20, le=0)

    @model_validator(mode="after")
    def _times_inside_film(self) -> MixPlan:
        for start, end in self.lines:
            if not 0 <= start < end <= self.duration + 1e-6:
                raise ValueError(f"line {start:.3f}-{end:.3f} s is empty or outside the film (0-{self.duration:.3f} s)")
        bounds = [0.0, *self.scene_cuts, self.duration]
        if any(later <= earlier for earlier, later in zip(bounds, bounds[1:], strict=False)):
            raise ValueError(f"scene cuts {self.scene_cuts} must increase strictly inside 0-{self.duration:.3f} s")
        return self

    @property
    def samples(self) -> int:
        """The film's length in samples: every stem and the mix have exactly this many frames."""
        return round(self.duration * self.sample_rate)

    def scene_spans(self) -> list[tuple[float, float]]:
        """Each scene's stretch of bed, in seconds, overlaps included: render a scene's music and ambience this long.

        A scene's bed starts half a crossfade before its cut (the first at 0) and ends half a crossfade after the
        next cut (the last at the film's end); the crossfade shrinks at a scene shorter than it.
        """
        bounds = [0.0, *self.scene_cuts, self.duration]
        halves = [0.0, *(self._half_fade(index) for index in range(len(self.scene_cuts))), 0.0]
        return [(bounds[k] - halves[k], bounds[k + 1] + halves[k + 1]) for k in range(len(bounds) - 1)]

    def _half_fade(self, cut: int) -> float:
        bounds = [0.0, *self.scene_cuts, self.duration]
        here = bounds[cut + 1]
        return min(self.crossfade / 2, (here - bounds[cut]) / 2, (bounds[cut + 2] - here) / 2)


class MixResult(BaseModel):
    """The written mix, its measured loudness, the gain that normalised it and the stems, if they were written."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: Path
    loudness: Loudness
    gain_db: float
    stems: Stems | None = None


def duck_gain(plan: MixPlan, depths: Sequence[float] | None = None) -> np.ndarray:
    """The bed's gain in dB for every sample: 0 away from lines, `-depth` over each line, smooth ramps between.

    The ramp starts `plan.attack` before a line and ends `plan.release` after it, on a raised cosine; where
    ramps of neighbouring lines overlap, the deeper one wins, so the bed never bobs up between close lines.

    Args:
        plan: the film's lines and timing.
        depths: how deep to duck under each line (dB, positive); `plan.duck_db` for every line if not given.
    """
    if depths is not None and len(depths) != len(plan.lines):
        raise ValueError(f"{len(depths)} duck depths given for {len(plan.lines)} lines")
    rate = plan.sample_rate
    depth_db = np.zeros(plan.samples, dtype=np.float32)
    for index, (start, end) in enumerate(plan.lines):
        depth = plan.duck_db if depths is None else depths[index]
        first = max(0, math.floor((start - plan.attack) * rate))
        last = min(plan.samples, math.ceil((end + plan.release) * rate) + 1)
        if last <= first:
            continue
        seconds = np.arange(first, last, dtype=np.float64) / rate
        rise = (seconds - (start - plan.attack)) / plan.attack
        fall = (end + plan.release - seconds) / plan.release
        ramp = np.clip(np.minimum(rise, fall), 0.0, 1.0)
        shaped = (depth * (0.5 - 0.5 * np.cos(np.pi * ramp))).astype(np.float32)
        np.maximum(depth_db[first:last], shaped, out=depth_db[first:last])
    return -depth_db


def assemble_bed(
    scene_beds: Sequence[Path | None], plan: MixPlan, out: Path, starts: Sequence[float] | None = None
) -> Path:
    """One film-length stem from one WAV per scene (None: silence there), cross-faded at the scene cuts.

    Scene k's file starts playing at `starts[k]` (film seconds of its first sample; by default
    `plan.scene_spans()[k][0]`) and is heard over its span only; it fades in over the crossfade before its cut
    and out over the one after the next, with equal-power (sine/cosine) curves so the bed does not dip. A file
    longer than its span is cut; a shorter one is padded with silence, so render each scene's bed at least as
    long as its span. Writes a float WAV of exactly `plan.samples` frames at `plan.sample_rate`, stereo.

    Raises:
        MixError: the number of files does not match the scenes.
        LoudnessError: a file is unreadable.
    """
    spans = plan.scene_spans()
    if len(scene_beds) != len(spans):
        raise MixError(
            f"{len(scene_beds)} scene beds given for {len(spans)} scenes; give one per scene (None for none)"
        )
    rate = plan.sample_rate
    bed = np.zeros((plan.samples, 2), dtype=np.float32)
    bounds = [0.0, *plan.scene_cuts, plan.duration]
    for index, (path, (begin, finish)) in enumerate(zip(scene_beds, spans, strict=True)):
        if path is None:
            continue
        first, last = round(begin * rate), min(plan.samples, round(finish * rate))
        samples = _load_stereo(path, rate)
        if starts is not None:
            skip = first - round(starts[index] * rate)
            samples = samples[skip:] if skip >= 0 else np.concatenate([np.zeros((-skip, 2), np.float32), samples])
        sound = _fit(samples, last - first)
        fade_in = round((bounds[index] - begin) * 2 * rate)
        fade_out = round((finish - bounds[index + 1]) * 2 * rate)
        if fade_in > 0:
            sound[:fade_in] *= np.sin(0.5 * np.pi * (np.arange(fade_in) + 0.5) / fade_in)[:, None]
        if fade_out > 0:
            sound[-fade_out:] *= np.cos(0.5 * np.pi * (np.arange(fade_out) + 0.5) / fade_out)[:, None]
        bed[first:last] += sound
    _write_wav(out, bed, rate)
    return out


def write_stems(stems: Stems, plan: MixPlan, folder: Path, gain_db: float = 0.0) -> Stems:
    """Write `dialogue.wav`, `music.wav` and `ambience.wav` into `folder` as the mix hears them.

    Each is exactly `plan.samples` frames of 48 kHz stereo float (padded or cut), the music and ambience
    ducked under the lines, all scaled by `gain_db` (the mix's normalising gain); a missing bed stem is silence.

    Raises:
        LoudnessError: a stem is unreadable.
    """
    return _write_stem_arrays(_ducked(stems, plan), plan, folder, gain_db)


def mix(stems: Stems, plan: MixPlan, out: Path, stems_folder: Path | None = None) -> MixResult:
    """Mix dialogue over the ducked bed, normalise to `plan.target_lufs` under `plan.true_peak`, write a WAV.

    The output is 48 kHz stereo 24-bit PCM of exactly `plan.samples` frames. With `stems_folder`, the stems
    are written there too (see `write_stems`), before the master gain.

    Raises:
        MixError: the targets could not be met (a mix that is nearly all peaks).
        LoudnessError: a stem is unreadable.
    """
    dialogue, music, ambience = _ducked(stems, plan)
    written = None if stems_folder is None else _write_stem_arrays((dialogue, music, ambience), plan, stems_folder)
    total = np.add(dialogue, music, out=dialogue)
    total += ambience
    del music, ambience  # a film-length stereo float array each: only their sum is needed from here
    measured = measure_samples(total, plan.sample_rate)
    gain_db = 0.0 if math.isinf(measured.integrated_lufs) else plan.target_lufs - measured.integrated_lufs
    limit_db = plan.true_peak - LIMITER_MARGIN_DB
    scaled = np.empty_like(total)
    with atomic_path(out) as temp:
        for _ in range(MAX_PASSES):
            _limit(np.multiply(total, np.float32(10 ** (gain_db / 20)), out=scaled), plan, limit_db, temp)
            loudness = measure_loudness(temp)
            if math.isinf(loudness.integrated_lufs):
                break
            peak_ok = loudness.true_peak_dbtp < plan.true_peak
            level_ok = abs(loudness.integrated_lufs - plan.target_lufs) <= LOUDNESS_TOLERANCE_LU
            if peak_ok and level_ok:
                break
            if not peak_ok:
                limit_db -= loudness.true_peak_dbtp - plan.true_peak + 0.5
            if not level_ok:
                gain_db += plan.target_lufs - loudness.integrated_lufs
        _check_targets(loudness, plan)
    return MixResult(path=out, loudness=loudness, gain_db=gain_db, stems=written)


def _check_targets(loudness: Loudness, plan: MixPlan) -> None:
    if math.isinf(loudness.integrated_lufs):
        return
    if loudness.true_peak_dbtp >= plan.true_peak or abs(loudness.integrated_lufs - plan.target_lufs) > 1.0:
        raise MixError(
            f"the mix reached {loudness.integrated_lufs:.1f} LUFS at {loudness.true_peak_dbtp:.1f} dBTP, not "
            f"{plan.target_lufs:.1f} LUFS under {plan.true_peak:.1f} dBTP after {MAX_PASSES} passes: the sound is "
            "nearly all peaks; lower the target loudness or check the dialogue for clicks"
        )


def _ducked(stems: Stems, plan: MixPlan) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Dialogue, music and ambience at film length, the bed ducked line by line deep enough to clear each line."""
    rate, length = plan.sample_rate, plan.samples
    dialogue = _fit(_load_stereo(stems.dialogue, rate), length)
    music = _fit(_load_stereo(stems.music, rate), length) if stems.music else np.zeros((length, 2), np.float32)
    ambience = _fit(_load_stereo(stems.ambience, rate), length) if stems.ambience else np.zeros_like(music)
    depths = []
    for start, end in plan.lines:
        window = slice(round(start * rate), round(end * rate))
        gap = rms_dbfs(dialogue[window]) - rms_dbfs(music[window] + ambience[window])
        needed = plan.clearance_db - gap if math.isfinite(gap) else 0.0
        depths.append(min(MAX_DUCK_DB, max(plan.duck_db, needed)))
    gain = (10 ** (duck_gain(plan, depths) / 20)).astype(np.float32)[:, None]
    music *= gain
    ambience *= gain
    return dialogue, music, ambience


def _write_stem_arrays(arrays: Sequence[np.ndarray], plan: MixPlan, folder: Path, gain_db: float = 0.0) -> Stems:
    scale = np.float32(10 ** (gain_db / 20))
    paths = {name: folder / f"{name}.wav" for name in STEM_NAMES}
    for name, samples in zip(STEM_NAMES, arrays, strict=True):
        _write_wav(paths[name], samples * scale if gain_db else samples, plan.sample_rate)
    return Stems(**paths)


def _limit(samples: np.ndarray, plan: MixPlan, limit_db: float, out: Path) -> None:
    """Run `samples` through ffmpeg's look-ahead limiter (no auto-level, delay compensated) into a 24-bit WAV."""
    if limit_db < MIN_LIMIT_DB:
        raise MixError(
            f"the mix needs limiting below {MIN_LIMIT_DB:.0f} dBFS to meet its peak target; lower the loudness"
        )
    limiter = f"alimiter=limit={10 ** (limit_db / 20):.6f}:attack=5:release=50:level=0:latency=1"
    trim = f"apad=whole_len={plan.samples},atrim=end_sample={plan.samples}"
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-v", "error", "-y"]
    command += ["-f", "f32le", "-ar", str(plan.sample_rate), "-ac", "2", "-i", "pipe:0"]
    command += ["-af", f"{limiter},{trim}", "-c:a", "pcm_s24le", "-f", "wav", str(out)]
    data = memoryview(np.ascontiguousarray(samples, dtype="<f4")).cast("B")
    try:
        done = subprocess.run(command, input=data, capture_output=True, timeout=FFMPEG_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired as err:
        raise MixError(f"ffmpeg took over {FFMPEG_TIMEOUT_S:.0f} s limiting the mix; try again") from err
    if done.returncode != 0:
        text = done.stderr.decode("utf-8", errors="replace").strip() or "no message"
        full = disk_full_in(text, out.parent)
        if full is not None:
            raise full
        raise MixError(f"ffmpeg failed limiting the mix: {text[-600:]}")


def _load_stereo(path: Path, rate: int) -> np.ndarray:
    """A file's samples at `rate`, stereo: a mono file plays at its own level in both channels."""
    samples = read_audio(path, rate)
    if samples.shape[1] == 1:
        return np.repeat(samples, 2, axis=1)
    return samples if samples.shape[1] == 2 else read_audio(path, rate, channels=2)


def _fit(samples: np.ndarray, length: int) -> np.ndarray:
    """Exactly `length` frames: cut, or padded with silence."""
    if len(samples) >= length:
        return np.ascontiguousarray(samples[:length], dtype=np.float32)
    padded = np.zeros((length, samples.shape[1]), dtype=np.float32)
    padded[: len(samples)] = samples
    return padded


def _write_wav(path: Path, samples: np.ndarray, rate: int) -> None:
    with atomic_path(path) as temp:
        wavfile.write(temp, rate, np.ascontiguousarray(samples, dtype=np.float32))
