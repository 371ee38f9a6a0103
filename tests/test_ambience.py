"""The offline ambience: beds chosen from words, synthesised deterministically at their levels, faded, cached."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from scipy.io import wavfile

from tools.sound.ambience import (
    AmbienceKind,
    AmbienceLayer,
    AmbienceSpec,
    ambience_for,
    cached_ambience,
    synthesise,
)

RATE = 16000
SECONDS = 6.0
LEVEL_DB = -24.0


def _spec(*kinds: AmbienceKind, seed: int = 7, level_db: float = LEVEL_DB) -> AmbienceSpec:
    layers = tuple(AmbienceLayer(kind=kind, level_db=level_db) for kind in kinds)
    return AmbienceSpec(layers=layers, seconds=SECONDS, seed=seed, sample_rate=RATE)


def _db(samples: np.ndarray) -> float:
    return float(20 * np.log10(np.sqrt(np.mean(np.square(samples.astype(np.float64))))))


def _body(samples: np.ndarray) -> np.ndarray:
    return samples[int(0.5 * RATE) : -int(0.5 * RATE)]


@pytest.fixture(scope="module")
def single_beds() -> dict[AmbienceKind, np.ndarray]:
    return {kind: synthesise(_spec(kind)) for kind in AmbienceKind}


def _centroid(samples: np.ndarray) -> float:
    power = np.abs(np.fft.rfft(samples[:, 0].astype(np.float64))) ** 2
    frequencies = np.fft.rfftfreq(samples.shape[0], 1 / RATE)
    return float((power * frequencies).sum() / power.sum())


def test_each_bed_is_stereo_at_its_level_without_clipping(single_beds: dict[AmbienceKind, np.ndarray]) -> None:
    for kind, samples in single_beds.items():
        assert samples.shape == (int(SECONDS * RATE), 2) and samples.dtype == np.float32, kind
        assert abs(_db(_body(samples)) - LEVEL_DB) <= 1.5, (kind, _db(_body(samples)))
        assert np.max(np.abs(samples)) <= 10 ** (-1 / 20), kind
        correlation = np.corrcoef(samples[:, 0], samples[:, 1])[0, 1]
        assert correlation < 0.99, (kind, "left and right should differ a little")


def test_beds_fade_in_and_out(single_beds: dict[AmbienceKind, np.ndarray]) -> None:
    edge = int(0.02 * RATE)
    for kind, samples in single_beds.items():
        assert np.max(np.abs(samples[:edge])) < 0.05 * np.max(np.abs(samples)), kind
        assert np.max(np.abs(samples[-edge:])) < 0.05 * np.max(np.abs(samples)), kind
        assert samples[0].tolist() == [0.0, 0.0]


def test_beds_sound_like_what_they_are(single_beds: dict[AmbienceKind, np.ndarray]) -> None:
    assert _centroid(single_beds[AmbienceKind.RAIN]) > 3 * _centroid(single_beds[AmbienceKind.SEA])
    engine = np.abs(np.fft.rfft(single_beds[AmbienceKind.ENGINE][:, 0].astype(np.float64))) ** 2
    frequencies = np.fft.rfftfreq(single_beds[AmbienceKind.ENGINE].shape[0], 1 / RATE)
    assert engine[frequencies < 200].sum() > 0.8 * engine.sum()
    assert _centroid(single_beds[AmbienceKind.NIGHT]) > 3000
    assert _centroid(single_beds[AmbienceKind.ROOM]) < 1500


def test_synthesis_is_deterministic_by_seed() -> None:
    spec = _spec(AmbienceKind.RAIN, AmbienceKind.CROWD)
    first, again = synthesise(spec), synthesise(spec.model_copy())
    assert np.array_equal(first, again)
    other = synthesise(_spec(AmbienceKind.RAIN, AmbienceKind.CROWD, seed=8))
    assert not np.allclose(first, other)


def test_layers_add_without_clipping_even_when_loud() -> None:
    loud = synthesise(_spec(AmbienceKind.FIRE, AmbienceKind.RAIN, AmbienceKind.TRAFFIC, level_db=-3.0))
    assert np.max(np.abs(loud)) <= 10 ** (-1 / 20)
    assert np.max(np.abs(loud)) > 10 ** (-2 / 20)


def test_ambience_for_a_harbour_in_a_storm_at_night() -> None:
    layers = ambience_for("a harbour in a storm", "Waves smash the quay.", interior=False, time_of_day="night")
    assert {layer.kind for layer in layers} == {AmbienceKind.RAIN, AmbienceKind.SEA, AmbienceKind.WIND}
    levels = [layer.level_db for layer in layers]
    assert levels == sorted(levels, reverse=True) and all(-40 <= level <= -20 for level in levels)


def test_ambience_for_words_and_times() -> None:
    assert [layer.kind for layer in ambience_for("a bare white room", "", interior=True, time_of_day="day")] == [
        AmbienceKind.ROOM
    ]
    assert [layer.kind for layer in ambience_for("an empty field", "", interior=False, time_of_day="day")] == [
        AmbienceKind.WIND
    ]
    night_park = ambience_for("a park", "They sit on a bench.", interior=False, time_of_day="NIGHT")
    assert [layer.kind for layer in night_park] == [AmbienceKind.NIGHT]
    assert (
        ambience_for("a scarred barn", "Carts roll by.", interior=True, time_of_day="day")[0].kind == AmbienceKind.ROOM
    )
    pub = ambience_for(
        "a crowded bar", "Rain on the windows; a fire in the hearth.", interior=True, time_of_day="night"
    )
    assert [layer.kind for layer in pub] == [AmbienceKind.FIRE, AmbienceKind.CROWD, AmbienceKind.RAIN]
    outside_rain = ambience_for("a street", "rain", interior=False, time_of_day="day")
    inside_rain = ambience_for("a kitchen", "rain", interior=True, time_of_day="day")
    assert inside_rain[0].level_db < outside_rain[0].level_db


def test_cached_bed_is_reused_and_keyed_by_every_field(tmp_path: Path) -> None:
    spec = AmbienceSpec(
        layers=(AmbienceLayer(kind=AmbienceKind.WIND, level_db=-30),), seconds=2.0, seed=1, sample_rate=RATE
    )
    path = cached_ambience(spec, tmp_path)
    rate, pcm = wavfile.read(path)
    assert rate == RATE and pcm.shape == (2 * RATE, 2) and pcm.dtype == np.int16
    os.utime(path, (1_000_000, 1_000_000))
    assert cached_ambience(spec, tmp_path) == path and path.stat().st_mtime == 1_000_000
    variants = [
        spec.model_copy(update={"seed": 2}),
        spec.model_copy(update={"seconds": 2.5}),
        spec.model_copy(update={"sample_rate": 48000}),
        spec.model_copy(update={"layers": (AmbienceLayer(kind=AmbienceKind.WIND, level_db=-31),)}),
        spec.model_copy(update={"layers": (AmbienceLayer(kind=AmbienceKind.RAIN, level_db=-30),)}),
    ]
    keys = {spec.cache_key(), *(variant.cache_key() for variant in variants)}
    assert len(keys) == len(variants) + 1
    assert [file.name for file in tmp_path.iterdir()] == [path.name]


def test_a_long_bed_is_made_in_blocks_that_join_without_a_dip_or_a_change_of_pitch() -> None:
    def long_bed(kind: AmbienceKind) -> np.ndarray:
        layers = (AmbienceLayer(kind=kind, level_db=LEVEL_DB),)
        return synthesise(AmbienceSpec(layers=layers, seconds=100.0, seed=3, sample_rate=RATE))

    rain = long_bed(AmbienceKind.RAIN)
    join = rain.shape[0] // 2
    windows = [_db(rain[start : start + RATE // 2]) for start in range(join - 3 * RATE, join + 4 * RATE, RATE // 2)]
    assert max(windows) - min(windows) < 1.5, windows
    before, after = rain[join - 6 * RATE : join - RATE, 0], rain[join + 2 * RATE : join + 7 * RATE, 0]
    assert abs(np.corrcoef(before, after)[0, 1]) < 0.1
    engine = long_bed(AmbienceKind.ENGINE)[:, 0].astype(np.float64)

    def pitch(stretch: np.ndarray) -> float:
        return float(np.fft.rfftfreq(stretch.size, 1 / RATE)[np.argmax(np.abs(np.fft.rfft(stretch)))])

    assert abs(pitch(engine[5 * RATE : 25 * RATE]) - pitch(engine[-25 * RATE : -5 * RATE])) < 1.0
