"""The ambience beds themselves: each a stereo texture made from filtered noise and modulated tones.

Every bed takes a seeded generator, a length in samples, a sample rate and a second generator, `character`,
that is the same for every block of a long bed (`tools.sound.ambience` makes long beds in blocks): what must not
change at a join, such as an engine's pitch, the mains frequency or which crickets sing, is drawn from it. A
bed returns an `(n, 2)` array at no particular level: `tools.sound.ambience` sets each bed's level, limits its
peaks and fades the sum.
Slow movement (gusts, waves, passing cars, syllables) is drawn on a coarse control grid and interpolated, and
left and right share only part of their noise, so a bed is wide without sounding like two unrelated recordings.
"""

from __future__ import annotations

import numpy as np
from scipy import signal

CONTROL_RATE = 50
"""Points per second of the slow curves that move a bed: gusts, swells, syllables are all slower than this."""


def _hz(frequency: float, rate: int) -> float:
    """A filter frequency kept below Nyquist, so every bed works at 16 kHz as well as at 48 kHz."""
    return min(frequency, 0.45 * rate)


def _filtered(noise: np.ndarray, rate: int, low: float | None, high: float | None, order: int = 2) -> np.ndarray:
    """Butterworth band-, low- or high-pass along time."""
    if low is not None and high is not None:
        sos = signal.butter(order, [_hz(low, rate), _hz(high, rate)], btype="bandpass", fs=rate, output="sos")
    elif high is not None:
        sos = signal.butter(order, _hz(high, rate), btype="lowpass", fs=rate, output="sos")
    else:
        sos = signal.butter(order, _hz(low or 20.0, rate), btype="highpass", fs=rate, output="sos")
    return signal.sosfilt(sos, noise, axis=0)


_SUM_OF_SQUARES = {1: "i,i->", 2: "ij,ij->"}


def _unit(samples: np.ndarray) -> np.ndarray:
    """Scaled to RMS 1, so a bed's parts are balanced by explicit weights; silence stays silence."""
    if not samples.size:
        return samples
    rms = float(np.sqrt(np.einsum(_SUM_OF_SQUARES[samples.ndim], samples, samples) / samples.size))
    return samples / rms if rms > 0 else samples


def _stereo_noise(rng: np.random.Generator, n: int, correlation: float) -> np.ndarray:
    """White noise, left and right sharing `correlation` of their content."""
    raw = rng.standard_normal((n, 2))
    raw[:, 1] = correlation * raw[:, 0] + float(np.sqrt(1.0 - correlation**2)) * raw[:, 1]
    return raw


def _control_grid(n: int, rate: int) -> np.ndarray:
    """The times, in seconds, of the control points that cover `n` samples."""
    return np.arange(int(np.ceil(n / rate * CONTROL_RATE)) + 2) / CONTROL_RATE


def _slow_control(rng: np.random.Generator, n: int, rate: int, hz: float) -> np.ndarray:
    """A smooth random curve in -1..1 that changes about `hz` times a second, on the control grid."""
    position = _control_grid(n, rate) * hz
    points = int(position[-1]) + 2
    knots = rng.uniform(-1.0, 1.0, points)
    index = np.minimum(position.astype(int), points - 2)
    ease = 0.5 - 0.5 * np.cos(np.pi * (position - index))
    return knots[index] * (1.0 - ease) + knots[index + 1] * ease


def _slow_curve(rng: np.random.Generator, n: int, rate: int, hz: float) -> np.ndarray:
    """`_slow_control` at audio rate."""
    return _to_audio(_slow_control(rng, n, rate, hz), n, rate)


def _to_audio(control: np.ndarray, n: int, rate: int) -> np.ndarray:
    """A control-rate curve interpolated to `n` audio samples."""
    return np.interp(np.arange(n) * (CONTROL_RATE / rate), np.arange(control.size), control)


def _pan(mono: np.ndarray, pan: float | np.ndarray) -> np.ndarray:
    """Constant-power panning: -1 is left, 1 is right."""
    angle = (np.asarray(pan) + 1.0) * np.pi / 4.0
    return np.stack([mono * np.cos(angle), mono * np.sin(angle)], axis=-1)


def _impulses(rng: np.random.Generator, n: int, rate: int, per_second: float) -> np.ndarray:
    """Sparse stereo clicks at random times with varied but capped sizes: a band-pass then rings each one."""
    clicks = np.zeros((n, 2))
    for channel in range(2):
        count = rng.poisson(per_second * n / rate)
        where = rng.integers(0, n, count)
        size = np.minimum(rng.pareto(3.0, count) + 0.5, 3.0) * rng.choice([-1.0, 1.0], count)
        np.add.at(clicks[:, channel], where, size)
    return clicks


def rain(rng: np.random.Generator, n: int, rate: int, character: np.random.Generator) -> np.ndarray:
    """Band-passed hiss that breathes a little, with droplets: clicks ringing through a bright band-pass."""
    hiss = _filtered(_stereo_noise(rng, n, 0.3), rate, 900.0, 9000.0)
    intensity = 1.0 + 0.15 * _slow_curve(rng, n, rate, 0.2)
    drops = _filtered(_impulses(rng, n, rate, 80.0), rate, 2500.0, 6000.0)
    return (_unit(hiss) + 0.5 * _unit(drops)) * intensity[:, None]


def wind(rng: np.random.Generator, n: int, rate: int, character: np.random.Generator) -> np.ndarray:
    """Low-passed rumble with gusts: a gust raises the level and opens a brighter band, as a cutoff sweep would."""
    noise = _stereo_noise(rng, n, 0.6)
    dark = _unit(_filtered(noise, rate, None, 300.0))
    bright = _unit(_filtered(noise, rate, 300.0, 1400.0))
    gust = 0.5 + 0.5 * _slow_curve(rng, n, rate, 0.15)
    return (0.45 + 0.55 * gust)[:, None] * (dark + (0.8 * gust)[:, None] * bright)


def _wave_envelope(rng: np.random.Generator, seconds: float) -> np.ndarray:
    """The sea's swell on the control grid: one slow rise and quicker fall every 6 to 10 seconds."""
    grid = np.arange(int(np.ceil(seconds * CONTROL_RATE)) + 1) / CONTROL_RATE
    envelope = np.empty_like(grid)
    start = -rng.uniform(0.0, 8.0)
    while start < grid[-1] + 1.0:
        period = rng.uniform(6.0, 10.0)
        inside = (grid >= start) & (grid < start + period)
        phase = (grid[inside] - start) / period
        shape = np.where(phase < 0.65, np.sin(np.pi / 2 * phase / 0.65) ** 2, np.cos(np.pi / 2 * (phase - 0.65) / 0.35))
        envelope[inside] = 0.25 + rng.uniform(0.55, 0.9) * shape
        start += period
    return envelope


def sea(rng: np.random.Generator, n: int, rate: int, character: np.random.Generator) -> np.ndarray:
    """Low noise swelling with each wave, and a wash of brighter noise as the wave breaks."""
    envelope = _wave_envelope(rng, n / rate + 1.0)
    left = _to_audio(envelope, n, rate)
    right = _to_audio(np.roll(envelope, int(0.3 * CONTROL_RATE)), n, rate)
    swell = np.stack([left, right], axis=-1)
    rumble = _unit(_filtered(_stereo_noise(rng, n, 0.5), rate, None, 450.0))
    wash = _unit(_filtered(_stereo_noise(rng, n, 0.2), rate, 500.0, 4000.0))
    return swell * rumble + 0.5 * swell**4 * wash


def engine(rng: np.random.Generator, n: int, rate: int, character: np.random.Generator) -> np.ndarray:
    """A low harmonic hum around 30-48 Hz with a slight wobble in pitch, over a rumble below 150 Hz."""
    fundamental = character.uniform(32.0, 48.0)
    wobble = 1.0 + 0.01 * _slow_curve(rng, n, rate, 0.3) + 0.003 * _slow_curve(rng, n, rate, 3.0)
    phase = 2 * np.pi * np.cumsum(fundamental * wobble) / rate
    offsets = character.uniform(0, 2 * np.pi, 6)
    hum = _unit(sum(np.sin(k * phase + offsets[k - 1]) / k**1.2 for k in range(1, 7)))
    rumble = _unit(_filtered(_stereo_noise(rng, n, 0.4), rate, None, 150.0))
    return np.stack([hum, np.roll(hum, int(0.004 * rate))], axis=-1) + 0.4 * rumble


def traffic(rng: np.random.Generator, n: int, rate: int, character: np.random.Generator) -> np.ndarray:
    """A distant city's band of noise, and cars passing: swells that travel from one side to the other."""
    seconds = n / rate
    grid = _control_grid(n, rate)
    passes = np.zeros((grid.size, 2))
    for _ in range(rng.poisson(seconds / 4.0) + 1):
        centre, width = rng.uniform(-2.0, seconds + 2.0), rng.uniform(0.8, 2.0)
        near = np.abs(grid - centre) < 4 * width
        swell = rng.uniform(0.5, 1.2) * np.exp(-0.5 * ((grid[near] - centre) / width) ** 2)
        passes[near] += _pan(swell, rng.choice([-1.0, 1.0]) * np.tanh((grid[near] - centre) / width))
    swells = np.stack([_to_audio(passes[:, 0], n, rate), _to_audio(passes[:, 1], n, rate)], axis=-1)
    city = _unit(_filtered(_stereo_noise(rng, n, 0.5), rate, 150.0, 1500.0))
    cars = _unit(_filtered(_stereo_noise(rng, n, 0.7), rate, 80.0, 2500.0))
    return 0.5 * city + swells * cars


def room(rng: np.random.Generator, n: int, rate: int, character: np.random.Generator) -> np.ndarray:
    """Pink-ish noise kept dull under 3 kHz, with a faint mains hum (50 or 60 Hz and two harmonics)."""
    pinking = ([0.049922035, -0.095993537, 0.050612699, -0.004408786], [1.0, -2.494956002, 2.017265875, -0.5221894])
    pink = signal.lfilter(*pinking, _stereo_noise(rng, n, 0.8), axis=0)
    air = _unit(_filtered(pink, rate, None, 3000.0))
    mains = 2 * np.pi * character.choice([50.0, 60.0]) * np.arange(n) / rate
    hum = np.sin(mains) + 0.5 * np.sin(2 * mains) + 0.25 * np.sin(3 * mains)
    return air + 0.3 * _unit(hum)[:, None]


CROWD_FORMANTS = ((300.0, 800.0), (700.0, 1400.0), (1200.0, 2400.0), (2200.0, 3500.0))
"""Bands where voices' formants sit: babble is these bands rising and falling independently, syllable by syllable."""


def crowd(rng: np.random.Generator, n: int, rate: int, character: np.random.Generator) -> np.ndarray:
    """Babble: many voices, each a syllable-rate envelope in phrases, placed in formant bands across the stereo field.

    Voices that share a formant band share its filtered noise: summing independently modulated noises in one band
    sounds the same as modulating one noise by their summed envelopes, at a quarter of the filtering.
    """
    bands = []
    for low, high in CROWD_FORMANTS:
        envelope = np.zeros((_control_grid(n, rate).size, 2))
        for _ in range(3):
            syllables = np.maximum(_slow_control(rng, n, rate, rng.uniform(3.0, 6.0)), 0.0)
            phrases = _slow_control(rng, n, rate, 0.3) > -0.3
            envelope += _pan(syllables * phrases, rng.uniform(-0.9, 0.9))
        on_audio = np.stack([_to_audio(envelope[:, 0], n, rate), _to_audio(envelope[:, 1], n, rate)], axis=-1)
        bands.append(_unit(_filtered(_stereo_noise(rng, n, 0.0), rate, low, high)) * on_audio)
    murmur = _unit(_filtered(_stereo_noise(rng, n, 0.5), rate, 150.0, 1000.0))
    return _unit(sum(bands)) + 0.35 * murmur


def fire(rng: np.random.Generator, n: int, rate: int, character: np.random.Generator) -> np.ndarray:
    """A flickering low rumble with crackles (bright clicks) and pops (duller ones), and a little hiss."""
    flicker = 1.0 + 0.3 * _slow_curve(rng, n, rate, 0.5)
    noise = _stereo_noise(rng, n, 0.4)
    rumble = _unit(_filtered(noise, rate, None, 200.0)) * flicker[:, None]
    hiss = _unit(_filtered(noise, rate, 2000.0, 6000.0))
    crackles = _unit(_filtered(_impulses(rng, n, rate, 25.0), rate, 1500.0, 6000.0))
    pops = _unit(_filtered(_impulses(rng, n, rate, 4.0), rate, 300.0, 1200.0))
    return 0.8 * rumble + 0.7 * crackles + 0.4 * pops + 0.15 * hiss


def birds(rng: np.random.Generator, n: int, rate: int, character: np.random.Generator) -> np.ndarray:
    """Sparse phrases of chirps (short frequency sweeps between 2 and 7 kHz) over quiet high air."""
    song = np.zeros((n, 2))
    phrase_start = rng.exponential(1.5)
    while phrase_start * rate < n:
        at = int(phrase_start * rate)
        base, loudness, pan = rng.uniform(2500.0, 5000.0), rng.uniform(0.3, 1.0), rng.uniform(-0.9, 0.9)
        for _ in range(rng.integers(2, 7)):
            length = int(rng.uniform(0.04, 0.15) * rate)
            u = np.arange(min(length, n - at)) / max(length, 1)
            if u.size == 0:
                break
            sweep = base + (base * rng.uniform(0.6, 1.5) - base) * u
            chirp = np.sin(2 * np.pi * np.cumsum(sweep) / rate) * np.sin(np.pi * u) ** 2 * loudness
            song[at : at + u.size] += _pan(chirp, pan)
            at += u.size + int(rng.uniform(0.03, 0.1) * rate)
        phrase_start += rng.exponential(2.5) + 0.5
    air = _unit(_filtered(_stereo_noise(rng, n, 0.3), rate, 2000.0, 8000.0))
    return _unit(song) + 0.25 * air


def _cricket_chirp(rng: np.random.Generator, rate: int) -> np.ndarray:
    """One cricket's chirp: three to five 15 ms pulses of a 4-5 kHz tone."""
    carrier, pulses, period, pulse = rng.uniform(3800.0, 5200.0), rng.integers(3, 6), rng.uniform(0.03, 0.04), 0.015
    time = np.arange(int(pulses * period * rate)) / rate
    within = time % period
    envelope = np.where(within < pulse, np.sin(np.pi * within / pulse) ** 2, 0.0)
    return np.sin(2 * np.pi * carrier * time) * envelope


def night(rng: np.random.Generator, n: int, rate: int, character: np.random.Generator) -> np.ndarray:
    """Crickets: three to five, each repeating its chirp a few times a second with a little jitter, over dark air."""
    song = np.zeros((n, 2))
    for _ in range(character.integers(3, 6)):
        chirp, interval = _cricket_chirp(character, rate), character.uniform(0.33, 0.66)
        voiced = _pan(chirp * character.uniform(0.4, 1.0), character.uniform(-0.9, 0.9))
        at = rng.uniform(0.0, interval)
        while at * rate < n:
            start = int(at * rate)
            piece = voiced[: n - start]
            song[start : start + piece.shape[0]] += piece
            at += interval * rng.uniform(0.95, 1.05)
    air = _unit(_filtered(_stereo_noise(rng, n, 0.5), rate, None, 600.0))
    return _unit(song) + 0.2 * air
