"""The film's mix and its loudness meters, on a synthetic 12 s film mixed with the real ffmpeg."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError
from scipy.io import wavfile

from tools.sound.loudness import measure_loudness, read_window, window_rms_dbfs
from tools.sound.mix import BROADCAST_LUFS, MixPlan, MixResult, Stems, assemble_bed, duck_gain, mix

RATE = 48000
DURATION = 12.0
CUT = 6.0
LINES = [(1.5, 3.5), (7.0, 9.5)]
TITLE = 0.0
"""The synthetic film has no title card: the bed must hold from its first second."""


def _write(path: Path, samples: np.ndarray) -> Path:
    wavfile.write(path, RATE, np.asarray(samples, dtype=np.float32))
    return path


def _sine(frequency: float, seconds: float, peak: float) -> np.ndarray:
    time = np.arange(round(seconds * RATE)) / RATE
    return peak * np.sin(2 * np.pi * frequency * time)


def _speech_like(seconds: float, rng: np.random.Generator) -> np.ndarray:
    """Noise shaped into 4 Hz syllables, loud like speech: what a spoken line looks like to a meter."""
    noise = rng.standard_normal(round(seconds * RATE))
    smooth = np.convolve(noise, np.ones(8) / 8, mode="same")
    syllables = 0.55 + 0.45 * np.sin(2 * np.pi * 4 * np.arange(len(noise)) / RATE)
    return 0.5 * smooth * syllables


@pytest.fixture(scope="module")
def film(tmp_path_factory: pytest.TempPathFactory) -> tuple[MixPlan, Stems]:
    """A 12 s film: two lines of mono dialogue, a chord per scene (cut at 6 s), stereo noise for ambience."""
    folder = tmp_path_factory.mktemp("film")
    rng = np.random.default_rng(7)
    plan = MixPlan(duration=DURATION, lines=LINES, scene_cuts=[CUT])
    dialogue = np.zeros(round(DURATION * RATE))
    for start, end in LINES:
        dialogue[round(start * RATE) : round(end * RATE)] = _speech_like(end - start, rng)
    chords = ([220.0, 277.2, 329.6], [261.6, 329.6, 392.0])
    scene_wavs = []
    for index, ((begin, finish), chord) in enumerate(zip(plan.scene_spans(), chords, strict=True)):
        tone = sum(_sine(frequency, finish - begin, 0.2) for frequency in chord)
        scene_wavs.append(_write(folder / f"music_{index}.wav", np.stack([tone, 0.9 * tone], axis=1)))
    music = assemble_bed(scene_wavs, plan, folder / "music_bed.wav")
    ambience = 0.05 * rng.standard_normal((round(DURATION * RATE) - 500, 2))
    stems = Stems(
        dialogue=_write(folder / "dialogue_in.wav", dialogue),
        music=music,
        ambience=_write(folder / "ambience_in.wav", ambience),
    )
    return plan, stems


@pytest.fixture(scope="module")
def mixed(film: tuple[MixPlan, Stems], tmp_path_factory: pytest.TempPathFactory) -> MixResult:
    plan, stems = film
    folder = tmp_path_factory.mktemp("cut")
    return mix(stems, plan, folder / "mix.wav", stems_folder=folder / "stems")


def test_a_stereo_sine_at_minus_20_dbfs_reads_minus_20_lufs_and_mono_3_lu_less(tmp_path: Path) -> None:
    """BS.1770: K-weighting adds 0.69 dB at 997 Hz, cancelling the -0.691 offset; a sine's power is its peak - 3.01
    dB per channel and channels add in power, so stereo reads -20 LUFS and mono -23.0; RMS is -23.0 dBFS."""
    sine = _sine(997.0, 4.0, 10 ** (-20 / 20))
    stereo = measure_loudness(_write(tmp_path / "stereo.wav", np.stack([sine, sine], axis=1)))
    mono_path = _write(tmp_path / "mono.wav", sine)
    mono = measure_loudness(mono_path)
    assert stereo.integrated_lufs == pytest.approx(-20.0, abs=0.11)
    assert mono.integrated_lufs == pytest.approx(-23.0, abs=0.11)
    assert stereo.true_peak_dbtp == pytest.approx(-20.0, abs=0.11)
    assert window_rms_dbfs(mono_path, 1.0, 2.0) == pytest.approx(-20 - 10 * math.log10(2), abs=0.01)
    assert read_window(mono_path, 1.0, 2.5).shape == (72000, 1)
    stereo_path = tmp_path / "stereo.wav"
    assert window_rms_dbfs([mono_path, stereo_path], 1.0, 2.0) == pytest.approx(-23.01 + 6.02, abs=0.01)
    assert window_rms_dbfs(mono_path, 3.5, 4.5) == pytest.approx(-23.01 - 3.01, abs=0.01), "past the end is silence"


def test_silence_measures_minus_infinity(tmp_path: Path) -> None:
    silence = _write(tmp_path / "silence.wav", np.zeros((RATE * 2, 2)))
    loudness = measure_loudness(silence)
    assert loudness.integrated_lufs == -math.inf
    assert loudness.true_peak_dbtp == -math.inf
    assert window_rms_dbfs(silence, 0.5, 1.5) == -math.inf


def test_the_mix_is_minus_16_lufs_under_minus_1_dbtp_as_measured_from_the_file(mixed: MixResult) -> None:
    measured = measure_loudness(mixed.path)
    assert measured.integrated_lufs == pytest.approx(-16.0, abs=1.0)
    assert measured.true_peak_dbtp < -1.0
    assert measured == mixed.loudness


def test_over_each_line_the_dialogue_stem_clears_music_plus_ambience_by_9_db(mixed: MixResult) -> None:
    assert mixed.stems is not None
    bed = [mixed.stems.music, mixed.stems.ambience]
    for start, end in LINES:
        dialogue = window_rms_dbfs(mixed.stems.dialogue, start, end)
        assert dialogue - window_rms_dbfs(bed, start, end) >= 9.0


def test_outside_dialogue_the_bed_never_falls_below_minus_45_dbfs(mixed: MixResult) -> None:
    assert mixed.stems is not None
    bed = [mixed.stems.music, mixed.stems.ambience]
    starts = np.arange(TITLE, DURATION - 1.0 + 1e-9, 0.25)
    quiet = [s for s in starts if all(s + 1.0 <= start or s >= end for start, end in LINES)]
    assert any(s < CUT < s + 1.0 for s in quiet), "a window must span the scene cut's crossfade"
    for start in quiet:
        assert window_rms_dbfs(bed, start, start + 1.0) > -45.0, f"bed drops out at {start:.2f} s"


def test_the_mix_and_every_stem_are_exactly_the_films_length_in_48k_stereo(mixed: MixResult) -> None:
    assert mixed.stems is not None
    for path in (mixed.path, mixed.stems.dialogue, mixed.stems.music, mixed.stems.ambience):
        rate, samples = wavfile.read(path)
        assert (rate, samples.shape) == (RATE, (round(DURATION * RATE), 2)), path.name
    assert not list(mixed.path.parent.rglob(".*.tmp*")), "a temporary file was left behind"


def test_a_broadcast_target_of_minus_23_lufs_also_holds(film: tuple[MixPlan, Stems], tmp_path: Path) -> None:
    plan, stems = film
    result = mix(stems, plan.model_copy(update={"target_lufs": BROADCAST_LUFS}), tmp_path / "broadcast.wav")
    measured = measure_loudness(result.path)
    assert measured.integrated_lufs == pytest.approx(BROADCAST_LUFS, abs=1.0)
    assert measured.true_peak_dbtp < -1.0
    assert result.stems is None


def test_the_duck_is_full_over_a_line_and_ramps_smoothly_around_it() -> None:
    plan = MixPlan(duration=4.0, lines=[(1.0, 2.0)], duck_db=12.0)
    gain = duck_gain(plan)
    assert gain.shape == (plan.samples,)
    assert np.all(gain[RATE : 2 * RATE] == pytest.approx(-12.0))
    assert gain[: round(0.9 * RATE)].max() == 0.0
    assert gain[round(2.31 * RATE) :].min() == 0.0
    assert -12.0 < gain[round(0.96 * RATE)] < 0.0 and -12.0 < gain[round(2.15 * RATE)] < 0.0
    assert np.abs(np.diff(gain)).max() < 0.01, "a step in the duck would click"


def test_a_plan_refuses_a_shallow_duck_and_lines_outside_the_film() -> None:
    with pytest.raises(ValidationError):
        MixPlan(duration=4.0, duck_db=6.0)
    with pytest.raises(ValidationError):
        MixPlan(duration=4.0, lines=[(3.0, 5.0)])
    with pytest.raises(ValidationError):
        MixPlan(duration=4.0, scene_cuts=[3.0, 2.0])


def test_a_scene_without_music_is_silent_and_the_others_keep_their_samples(tmp_path: Path) -> None:
    """What "no music in scene 2" needs: that scene below -60 dBFS, the other scene's samples untouched."""
    plan = MixPlan(duration=6.0, scene_cuts=[2.0, 4.0], crossfade=1.0)
    scenes = [
        _write(tmp_path / f"s{k}.wav", _sine(330.0 * (k + 1), end - begin, 0.3))
        for k, (begin, end) in enumerate(plan.scene_spans())
    ]
    full = assemble_bed(scenes, plan, tmp_path / "full.wav")
    without = assemble_bed([scenes[0], None, scenes[2]], plan, tmp_path / "without.wav")
    assert window_rms_dbfs(without, 2.5, 3.5) < -60.0
    _, kept = wavfile.read(without)
    _, reference = wavfile.read(full)
    assert np.array_equal(kept[: round(1.5 * RATE)], reference[: round(1.5 * RATE)])
    assert np.array_equal(kept[round(4.5 * RATE) :], reference[round(4.5 * RATE) :])
    levels = [window_rms_dbfs(full, t, t + 0.1) for t in np.arange(1.3, 2.6, 0.1)]
    assert max(levels) - min(levels) < 2.0, "the equal-power crossfade must not dip at the cut"


def test_peaks_the_gain_pushes_over_full_scale_are_limited_under_the_ceiling(tmp_path: Path) -> None:
    """Quiet dialogue with full-scale clicks: reaching -16 LUFS lifts the clicks far over 0 dBFS until limited."""
    rng = np.random.default_rng(11)
    dialogue = 0.03 * rng.standard_normal(RATE * 4)
    dialogue[RATE // 4 :: RATE // 2] = 0.99
    plan = MixPlan(duration=4.0)
    result = mix(Stems(dialogue=_write(tmp_path / "clicks.wav", dialogue)), plan, tmp_path / "limited.wav")
    measured = measure_loudness(result.path)
    assert result.gain_db > 6.0, "the test needs a gain that lifts the clicks over full scale"
    assert measured.integrated_lufs == pytest.approx(-16.0, abs=1.0)
    assert measured.true_peak_dbtp < -1.0
