"""Ambience beds from Stable Audio 3: a tiny random-weight pipeline, loaded from a folder on the CPU."""

from __future__ import annotations

import shutil
from pathlib import Path

import huggingface_hub
import numpy as np
import pytest
from diffusers import StableAudio3Pipeline
from scipy import signal
from scipy.io import wavfile
from tiny_audio_pipelines import MAX_SECONDS, build_tiny_stable_audio_3

from tools.errors import DirectorError
from tools.settings import DiffusersSettings, SoundSettings
from tools.sound.ambience import AmbienceKind, AmbienceLayer, AmbienceSpec
from tools.sound.stable_audio import (
    LOOP_CROSSFADE_SECONDS,
    OFFICIAL_LICENCE,
    OFFICIAL_MODEL,
    StableAudioBeds,
    prompt_for,
)

RATE = 48000
FADE = RATE // 2
CPU = DiffusersSettings(device="cpu", dtype="float32")
RAIN_AND_SEA = (
    AmbienceLayer(kind=AmbienceKind.RAIN, level_db=-30.0),
    AmbienceLayer(kind=AmbienceKind.SEA, level_db=-34.0),
)


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_stable_audio_3(tmp_path_factory.mktemp("tiny-sa3") / "stable-audio-3")


@pytest.fixture(scope="module")
def beds(tiny_folder: Path) -> StableAudioBeds:
    sound = SoundSettings(ambience_backend="stable-audio-3", ambience_model=str(tiny_folder), ambience_steps=2)
    return StableAudioBeds.from_settings(sound, CPU)


class CallSpy:
    """Counts the calls of `StableAudio3Pipeline.__call__`, which still runs."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[dict] = []
        original = StableAudio3Pipeline.__call__

        def spy(pipe: StableAudio3Pipeline, *args: object, **kwargs: object) -> object:
            self.calls.append(kwargs)
            return original(pipe, *args, **kwargs)

        monkeypatch.setattr(StableAudio3Pipeline, "__call__", spy)


def read(path: Path) -> np.ndarray:
    rate, samples = wavfile.read(path)
    assert rate == RATE
    assert samples.dtype == np.float32
    assert samples.ndim == 2 and samples.shape[1] == 2
    return samples.astype(np.float64)


def rms_db(samples: np.ndarray) -> float:
    return float(20 * np.log10(np.sqrt(np.mean(np.square(samples)))))


def test_a_bed_is_the_spec_long_at_its_level_under_the_ceiling(
    beds: StableAudioBeds, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spy = CallSpy(monkeypatch)
    spec = AmbienceSpec(layers=RAIN_AND_SEA, seconds=2.25, seed=7)
    path = beds.bed(spec, prompt_for(spec.layers, "a harbour at night"), tmp_path)
    samples = read(path)
    assert len(samples) == round(2.25 * RATE)
    assert rms_db(samples[FADE:-FADE]) == pytest.approx(-30.0, abs=1.0)
    assert 20 * np.log10(np.max(np.abs(samples))) < -1.0
    assert np.max(np.abs(samples[:10])) < 1e-4, "the bed fades in"
    assert len(spy.calls) == 1
    assert spy.calls[0]["duration"] >= 2.25
    assert spy.calls[0]["num_inference_steps"] == 2


def test_the_same_bed_comes_from_the_cache_and_another_seed_or_prompt_is_another(
    beds: StableAudioBeds, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = AmbienceSpec(layers=RAIN_AND_SEA, seconds=1.5, seed=3)
    first = beds.bed(spec, "steady rain, no music, no voices", tmp_path)
    made = first.stat().st_mtime_ns
    spy = CallSpy(monkeypatch)
    again = beds.bed(spec, "steady rain, no music, no voices", tmp_path)
    assert again == first
    assert again.stat().st_mtime_ns == made
    assert spy.calls == []
    other_seed = beds.bed(spec.model_copy(update={"seed": 4}), "steady rain, no music, no voices", tmp_path)
    other_prompt = beds.bed(spec, "crackling fire, no music, no voices", tmp_path)
    assert len(spy.calls) == 2
    assert len({first, other_seed, other_prompt}) == 3
    assert not np.array_equal(read(first), read(other_seed))
    assert not np.array_equal(read(first), read(other_prompt))


def test_a_scene_longer_than_the_model_makes_is_looped_without_a_click(
    beds: StableAudioBeds, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The tiny model plays at 8 kHz, so nothing in its sound is above 4 kHz: a click at a join would be."""
    spy = CallSpy(monkeypatch)
    seconds = 2.5 * MAX_SECONDS
    spec = AmbienceSpec(layers=RAIN_AND_SEA[:1], seconds=seconds, seed=11)
    samples = read(beds.bed(spec, "steady rain, no music, no voices", tmp_path))
    assert len(samples) == round(seconds * RATE)
    assert [call["duration"] for call in spy.calls] == [MAX_SECONDS]
    clip = round(MAX_SECONDS * RATE)
    overlap = max(1, min(round(LOOP_CROSSFADE_SECONDS * RATE), clip // 4))
    hop = clip - overlap
    after_fade_in = max(overlap, FADE)
    assert np.array_equal(samples[after_fade_in:hop], samples[hop + after_fade_in : 2 * hop]), "the clip again"
    above_the_model = signal.sosfiltfilt(signal.butter(8, 6000, "highpass", fs=RATE, output="sos"), samples, axis=0)
    clicks = np.max(np.abs(above_the_model), axis=1)
    seams = np.zeros(len(samples), dtype=bool)
    for start in range(hop, len(samples), hop):
        seams[start - 100 : start + overlap + 100] = True
    body = np.zeros(len(samples), dtype=bool)
    body[FADE:-FADE] = True
    assert clicks[seams].max() <= 2 * clicks[body & ~seams].max(), "a join clicks"
    window = RATE // 4
    levels = [rms_db(samples[start : start + window]) for start in range(FADE, len(samples) - FADE - window, window)]
    assert max(levels) - min(levels) < 6.0, "the level holds through the joins"
    assert rms_db(samples[FADE:-FADE]) == pytest.approx(-30.0, abs=1.0)


def test_a_missing_model_folder_says_what_to_do(tmp_path: Path) -> None:
    sound = SoundSettings(ambience_backend="stable-audio-3", ambience_model=str(tmp_path / "no-such-model"))
    beds = StableAudioBeds.from_settings(sound, CPU)
    with pytest.raises(DirectorError) as raised:
        beds.bed(AmbienceSpec(layers=RAIN_AND_SEA, seconds=1.0, seed=1), "rain", tmp_path / "beds")
    message = str(raised.value)
    assert "no-such-model" in message
    assert "DIRECTOR_SOUND__AMBIENCE_MODEL" in message
    assert not (tmp_path / "beds").exists()


def test_the_official_model_is_read_from_the_local_cache_only(
    tiny_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "hub"
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(cache))
    beds = StableAudioBeds.from_settings(SoundSettings(ambience_backend="stable-audio-3"), CPU)
    assert beds.model == OFFICIAL_MODEL
    assert beds.licence == OFFICIAL_LICENCE
    with pytest.raises(DirectorError, match="not in the local Hugging Face cache"):
        beds.pipeline()
    repo = cache / f"models--{OFFICIAL_MODEL.replace('/', '--')}"
    shutil.copytree(tiny_folder, repo / "snapshots" / "0123abcd")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0123abcd")
    assert beds.max_seconds() == MAX_SECONDS


def test_the_prompt_names_the_beds_strongest_first_and_asks_for_no_music() -> None:
    layers = [
        AmbienceLayer(kind=AmbienceKind.SEA, level_db=-36.0),
        AmbienceLayer(kind=AmbienceKind.RAIN, level_db=-30.0),
        AmbienceLayer(kind=AmbienceKind.NIGHT, level_db=-39.0),
    ]
    prompt = prompt_for(layers, "Rain-slicked harbour, teal and orange neon, anamorphic flares")
    assert prompt.index("rain") < prompt.index("waves") < prompt.index("crickets")
    assert "harbour" in prompt
    assert "teal" not in prompt and "anamorphic" not in prompt
    assert "no music" in prompt and "no voices" in prompt
    assert len(prompt.split()) <= 20
    crowd = prompt_for([AmbienceLayer(kind=AmbienceKind.CROWD, level_db=-31.0)], "a busy market")
    assert "murmuring crowd" in crowd and "no voices" not in crowd and "no music" in crowd
