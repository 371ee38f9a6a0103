"""Ambience made offline: which beds a scene calls for, and the beds synthesised, levelled, faded and cached.

A bed is a bed: it sits well under dialogue (around -30 dBFS RMS for the main layer, quieter for the others),
never clicks in or out (half-second fades at both ends) and never clips (the sum peaks at -1 dBFS at most).
The same `AmbienceSpec` always gives the same samples, so a spec's `cache_key` names its WAV file.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from scipy import signal
from scipy.io import wavfile

from tools.files import atomic_path, content_key
from tools.sound import ambience_beds

AMBIENCE_VERSION = 1
"""Bumped whenever a bed's sound changes, so cached WAVs of the old sound are not reused."""
FADE_SECONDS = 0.5
BLOCK_SECONDS = 60.0
BLOCK_OVERLAP_SECONDS = 1.0
PEAK_DBFS = -1.0
MAX_CREST_DB = 18.0
"""How far above its RMS a single layer may peak: rare loud crackles and drops are softened to this."""


class AmbienceKind(StrEnum):
    """The beds the sound designer can lay."""

    RAIN = "rain"
    WIND = "wind"
    SEA = "sea"
    ENGINE = "engine"
    TRAFFIC = "traffic"
    ROOM = "room"
    CROWD = "crowd"
    FIRE = "fire"
    BIRDS = "birds"
    NIGHT = "night"
    """Crickets and insects."""


class AmbienceLayer(BaseModel):
    """One bed at its level: RMS in dBFS over the bed's body (between its fades)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: AmbienceKind
    level_db: float = Field(ge=-40.0, le=0.0)


class AmbienceSpec(BaseModel):
    """Everything that decides a bed's samples: equal specs give identical audio."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    layers: tuple[AmbienceLayer, ...]
    seconds: float = Field(gt=0.0, le=1800.0)
    seed: int
    sample_rate: int = Field(default=48000, ge=16000, le=192000)

    def cache_key(self) -> str:
        """The content key of this spec and `AMBIENCE_VERSION`: the name of its cached WAV."""
        return content_key({"ambience_version": AMBIENCE_VERSION, "spec": self.model_dump(mode="json")})


BedMaker = Callable[[np.random.Generator, int, int, np.random.Generator], np.ndarray]
BEDS: dict[AmbienceKind, BedMaker] = {
    AmbienceKind.RAIN: ambience_beds.rain,
    AmbienceKind.WIND: ambience_beds.wind,
    AmbienceKind.SEA: ambience_beds.sea,
    AmbienceKind.ENGINE: ambience_beds.engine,
    AmbienceKind.TRAFFIC: ambience_beds.traffic,
    AmbienceKind.ROOM: ambience_beds.room,
    AmbienceKind.CROWD: ambience_beds.crowd,
    AmbienceKind.FIRE: ambience_beds.fire,
    AmbienceKind.BIRDS: ambience_beds.birds,
    AmbienceKind.NIGHT: ambience_beds.night,
}

KEYWORDS: dict[AmbienceKind, frozenset[str]] = {
    AmbienceKind.RAIN: frozenset({"rain", "storm", "drizzle", "downpour", "rainy"}),
    AmbienceKind.SEA: frozenset({"sea", "harbour", "harbor", "wave", "shore", "ferry", "beach", "ocean"}),
    AmbienceKind.WIND: frozenset({"wind", "gale", "storm", "windy", "blizzard"}),
    AmbienceKind.ENGINE: frozenset({"engine", "car", "train", "ferry", "boat", "bus", "truck", "plane"}),
    AmbienceKind.TRAFFIC: frozenset({"street", "city", "traffic", "road", "avenue"}),
    AmbienceKind.CROWD: frozenset({"crowd", "fair", "market", "party", "bar", "pub", "restaurant", "cafe"}),
    AmbienceKind.FIRE: frozenset({"fire", "hearth", "campfire", "fireplace", "bonfire"}),
    AmbienceKind.BIRDS: frozenset({"bird", "garden", "forest", "park", "morning", "woods"}),
}
"""Words (lowercase, whole words, singular: "waves" finds "wave") that call for each bed."""

BED_LEVELS_DB: dict[AmbienceKind, float] = {
    AmbienceKind.RAIN: -30.0,
    AmbienceKind.SEA: -30.0,
    AmbienceKind.CROWD: -31.0,
    AmbienceKind.ENGINE: -31.0,
    AmbienceKind.TRAFFIC: -32.0,
    AmbienceKind.FIRE: -32.0,
    AmbienceKind.WIND: -32.0,
    AmbienceKind.BIRDS: -34.0,
    AmbienceKind.NIGHT: -35.0,
    AmbienceKind.ROOM: -38.0,
}
"""Each bed's level when it leads, in dBFS RMS: under a line of dialogue at around -20 dBFS, by 10 dB or more.

The dict's order is also the tie-break between beds called for equally: the more prominent sound leads.
"""
OUTDOOR_KINDS = frozenset(
    {AmbienceKind.RAIN, AmbienceKind.WIND, AmbienceKind.SEA, AmbienceKind.TRAFFIC, AmbienceKind.BIRDS}
)
INDOOR_MUFFLE_DB = 8.0
"""How much quieter the weather, the sea and the street are when heard through walls and windows."""
LAYER_STEP_DB = 3.0
"""Each further layer sits at least this far under the one before it."""
MAX_LAYERS = 3
SOFT_WIND_DB = -36.0
NIGHT_TIMES = frozenset({"night", "midnight", "dusk", "evening"})
DAWN_TIMES = frozenset({"morning", "dawn", "sunrise"})
TIME_OF_DAY_WEIGHT = 0.5
"""A bed called for only by the time of day ranks under any bed the words name."""


def _words(text: str) -> set[str]:
    tokens = set(re.findall(r"[a-z]+", text.lower()))
    return tokens | {token[:-1] for token in tokens if len(token) > 3 and token.endswith("s")}


def ambience_for(look: str, words: str, *, interior: bool, time_of_day: str) -> list[AmbienceLayer]:
    """The beds a setting's look and a scene's words call for, strongest first, at most three.

    A bed is called for by its keywords in the look or the words; outdoors, the night brings crickets and the
    morning brings birds (and the night silences birds). Weather, sea and street heard from inside are quieter.
    An interior with nothing else gets room tone; an exterior with nothing else a soft wind.

    Args:
        look: the setting's look, as the designer wrote it.
        words: the scene's text: its heading, action and lines.
        interior: whether the scene is inside.
        time_of_day: the scene's time of day, in words ("night", "dawn", "day").
    """
    text_words = _words(f"{look} {words}")
    times = _words(time_of_day)
    is_night = bool(times & NIGHT_TIMES) or "night" in text_words
    scores: Counter[AmbienceKind] = Counter()
    for kind, keywords in KEYWORDS.items():
        scores[kind] = len(keywords & text_words)
    if not interior and is_night:
        scores[AmbienceKind.NIGHT] += TIME_OF_DAY_WEIGHT
        scores[AmbienceKind.BIRDS] = 0
    if not interior and times & DAWN_TIMES:
        scores[AmbienceKind.BIRDS] += TIME_OF_DAY_WEIGHT
    prominence = list(BED_LEVELS_DB)

    def heard_at(kind: AmbienceKind) -> float:
        return BED_LEVELS_DB[kind] - (INDOOR_MUFFLE_DB if interior and kind in OUTDOOR_KINDS else 0.0)

    called = (kind for kind, score in scores.items() if score > 0)
    chosen = sorted(called, key=lambda kind: (-scores[kind], -heard_at(kind), prominence.index(kind)))
    if not chosen:
        if interior:
            return [AmbienceLayer(kind=AmbienceKind.ROOM, level_db=BED_LEVELS_DB[AmbienceKind.ROOM])]
        return [AmbienceLayer(kind=AmbienceKind.WIND, level_db=SOFT_WIND_DB)]
    layers: list[AmbienceLayer] = []
    for kind in chosen[:MAX_LAYERS]:
        level = heard_at(kind)
        if layers:
            level = min(level, layers[-1].level_db - LAYER_STEP_DB)
        layers.append(AmbienceLayer(kind=kind, level_db=max(level, -40.0)))
    return layers


LOW_BAND_KINDS = frozenset(
    {
        AmbienceKind.WIND,
        AmbienceKind.SEA,
        AmbienceKind.ENGINE,
        AmbienceKind.TRAFFIC,
        AmbienceKind.ROOM,
        AmbienceKind.CROWD,
    }
)
"""Beds with nothing above about 4 kHz: made at a third of the rate (or half) and resampled, three times faster."""


def _bed(kind: AmbienceKind, seeds: tuple[int, int, int], block: int, n: int, rate: int) -> np.ndarray:
    """One block of a layer's bed, `n` samples at `rate`; low beds are made at a lower rate and resampled up.

    `seeds` are the spec's seed, the kind and the layer's occurrence of that kind: each layer has its own streams,
    so a rain bed sounds the same whatever else is laid with it. Block 0 is the layer's character.
    """
    rng = np.random.default_rng([*seeds, block + 1])
    character = np.random.default_rng([*seeds, 0])
    factor = (3 if rate % 3 == 0 else 2 if rate % 2 == 0 else 1) if kind in LOW_BAND_KINDS else 1
    if factor == 1:
        return BEDS[kind](rng, n, rate, character)
    low = BEDS[kind](rng, -(-n // factor), rate // factor, character)
    return signal.resample_poly(low, factor, 1, axis=0)[:n]


def _rms(samples: np.ndarray) -> float:
    if not samples.size:
        return 0.0
    return float(np.sqrt(np.einsum("ij,ij->", samples, samples, dtype=np.float64) / samples.size))


def _softened(bed: np.ndarray) -> np.ndarray:
    """The bed at RMS 1, its rare peaks (a loud crackle, a close drop) softened to `MAX_CREST_DB` above that."""
    rms = _rms(bed)
    if rms == 0.0:
        return bed
    knee = rms * 10 ** (MAX_CREST_DB / 20)
    if np.max(np.abs(bed)) > knee:
        bed = knee * np.tanh(bed / knee)
    return bed / _rms(bed)


def _layer(kind: AmbienceKind, seed: int, occurrence: int, n: int, rate: int) -> np.ndarray:
    """One layer's `n` samples at about RMS 1, made in blocks of about `BLOCK_SECONDS` so memory stays bounded.

    Consecutive blocks overlap by `BLOCK_OVERLAP_SECONDS` with an equal-power cross-fade: they are independent
    stretches of the same texture, so the join is not heard and the level holds through it.
    """
    seeds = (seed % 2**64, list(AmbienceKind).index(kind), occurrence)
    count = max(1, round(n / (BLOCK_SECONDS * rate)))
    if count == 1:
        return _softened(_bed(kind, seeds, 0, n, rate)).astype(np.float32)
    edges = np.linspace(0, n, count + 1).astype(int)
    overlap = round(BLOCK_OVERLAP_SECONDS * rate)
    rise = np.sin(np.pi / 2 * np.arange(overlap) / overlap)[:, None]
    samples = np.zeros((n, 2), dtype=np.float32)
    for block in range(count):
        start, end = edges[block], min(n, edges[block + 1] + overlap)
        piece = _softened(_bed(kind, seeds, block, end - start, rate))
        if block > 0:
            piece[:overlap] *= rise
        if end < n:
            piece[-overlap:] *= rise[::-1]
        samples[start:end] += piece
    return samples


def synthesise(spec: AmbienceSpec) -> np.ndarray:
    """The spec's bed: stereo float32 samples `(n, 2)` in -1..1, identical for equal specs.

    Each layer is made, its rare peaks softened to `MAX_CREST_DB` above its RMS, and scaled so its RMS between
    the fades is its `level_db`. Should the sum still peak above `PEAK_DBFS`, the whole bed is turned down
    together (levels keep their balance). Half-second raised-cosine fades open and close it.
    """
    rate = spec.sample_rate
    n = max(1, round(spec.seconds * rate))
    fade = min(round(FADE_SECONDS * rate), n // 2)
    body = slice(fade, n - fade) if n - 2 * fade > 0 else slice(0, n)
    mix = np.zeros((n, 2), dtype=np.float32)
    seen: Counter[AmbienceKind] = Counter()
    for layer in spec.layers:
        samples = _layer(layer.kind, spec.seed, seen[layer.kind], n, rate)
        seen[layer.kind] += 1
        rms = _rms(samples[body])
        if rms > 0.0:
            mix += samples * np.float32(10 ** (layer.level_db / 20) / rms)
    if fade:
        ramp = (0.5 - 0.5 * np.cos(np.pi * np.arange(fade) / fade)).astype(np.float32)
        mix[:fade] *= ramp[:, None]
        mix[n - fade :] *= ramp[::-1, None]
    peak, ceiling = float(np.max(np.abs(mix))), 10 ** (PEAK_DBFS / 20)
    if peak > ceiling:
        mix *= np.float32(ceiling * 0.9999 / peak)
    return mix


def write_ambience(spec: AmbienceSpec, path: Path) -> Path:
    """The spec's bed as a 16-bit stereo WAV at `path`, written whole or not at all."""
    pcm = np.round(synthesise(spec) * 32767.0).astype(np.int16)
    with atomic_path(path) as temporary:
        wavfile.write(temporary, spec.sample_rate, pcm)
    return path


def cached_ambience(spec: AmbienceSpec, folder: Path) -> Path:
    """`folder/<cache_key>.wav`, synthesised only when it is not there yet."""
    path = folder / f"{spec.cache_key()}.wav"
    if path.is_file():
        return path
    return write_ambience(spec, path)
