"""The composer's tables: keys, scales, progressions by mood and mode, voicings and GM programs per instrumentation.

The model picks a mood, a mode and an instrumentation; these tables turn the picks into chords and registers, so
a weak model never writes a note.
"""

from __future__ import annotations

import hashlib
import random

from pydantic import BaseModel, ConfigDict

KEY_PITCH_CLASSES: dict[str, int] = {
    "C": 0, "C#": 1, "D": 2, "Eb": 3, "E": 4, "F": 5, "F#": 6, "G": 7, "Ab": 8, "A": 9, "Bb": 10, "B": 11,
}  # fmt: skip

SCALES: dict[str, tuple[int, ...]] = {"major": (0, 2, 4, 5, 7, 9, 11), "minor": (0, 2, 3, 5, 7, 8, 10)}

MAJOR = (0, 4, 7)
MINOR = (0, 3, 7)
ADD9 = 14


class Chord(BaseModel):
    """A chord as its root (semitones above the key's tonic) and its tones (semitones above the root)."""

    model_config = ConfigDict(frozen=True)

    root: int
    tones: tuple[int, ...]


class Progression(BaseModel):
    """Chords played one per bar, looped; `pedal` keeps the bass on the tonic under every chord."""

    model_config = ConfigDict(frozen=True)

    chords: tuple[Chord, ...]
    pedal: bool = False


def _chords(*spec: tuple[int, tuple[int, ...]], add9: bool = False) -> tuple[Chord, ...]:
    return tuple(Chord(root=root, tones=(*tones, ADD9) if add9 else tones) for root, tones in spec)


PROGRESSIONS: dict[tuple[str, str], Progression] = {
    ("tender", "major"): Progression(chords=_chords((0, MAJOR), (9, MINOR), (5, MAJOR), (7, MAJOR))),
    ("hopeful", "major"): Progression(chords=_chords((0, MAJOR), (7, MAJOR), (9, MINOR), (5, MAJOR))),
    ("tense", "major"): Progression(chords=_chords((0, MAJOR), (1, MAJOR), (0, MAJOR), (1, MAJOR)), pedal=True),
    ("sad", "major"): Progression(chords=_chords((9, MINOR), (5, MAJOR), (0, MAJOR), (7, MAJOR))),
    ("mysterious", "major"): Progression(chords=_chords((0, MAJOR), (2, MAJOR), add9=True), pedal=True),
    ("triumphant", "major"): Progression(chords=_chords((0, MAJOR), (5, MAJOR), (10, MAJOR), (7, MAJOR))),
    ("playful", "major"): Progression(chords=_chords((0, MAJOR), (2, MINOR), (7, MAJOR), (0, MAJOR))),
    ("calm", "major"): Progression(chords=_chords((0, MAJOR), (5, MAJOR), add9=True)),
    ("tender", "minor"): Progression(chords=_chords((0, MINOR), (5, MINOR), (8, MAJOR), (7, MAJOR))),
    ("hopeful", "minor"): Progression(chords=_chords((8, MAJOR), (10, MAJOR), (0, MINOR), (3, MAJOR))),
    ("tense", "minor"): Progression(chords=_chords((0, MINOR), (1, MAJOR)), pedal=True),
    ("sad", "minor"): Progression(chords=_chords((0, MINOR), (8, MAJOR), (3, MAJOR), (10, MAJOR))),
    ("mysterious", "minor"): Progression(chords=_chords((0, MINOR), (5, MINOR), add9=True)),
    ("triumphant", "minor"): Progression(chords=_chords((0, MINOR), (8, MAJOR), (10, MAJOR), (0, MINOR))),
    ("playful", "minor"): Progression(chords=_chords((0, MINOR), (5, MINOR), (7, MAJOR), (0, MINOR))),
    ("calm", "minor"): Progression(chords=_chords((0, MINOR), (8, MAJOR), add9=True)),
}

CHORD_PROGRAMS: dict[str, int] = {
    "strings": 48, "piano": 0, "woodwinds": 71, "brass": 61, "guitar": 24, "pad": 89, "choir": 52,
}  # fmt: skip
"""GM programs for the chords: string ensemble, grand piano, clarinet, brass section, nylon guitar, warm pad, choir."""

BASS_PROGRAMS: dict[str, int] = {
    "strings": 43, "piano": 0, "woodwinds": 70, "brass": 58, "guitar": 32, "pad": 38, "choir": 42,
}  # fmt: skip
"""GM programs for the bass line under each instrumentation: contrabass, piano, bassoon, tuba, acoustic bass,
synth bass, cello."""

CHORD_FLOORS: dict[str, int] = {
    "strings": 55, "piano": 57, "woodwinds": 62, "brass": 53, "guitar": 52, "pad": 55, "choir": 57,
}  # fmt: skip
"""The lowest note (MIDI number) of a chord's root per instrumentation: each section sits in its own register."""

BASS_FLOOR = 36
MOTIF_FLOOR = 67
"""A motif's tonic sits at or above G4, over the chords."""

LEAD_PROGRAMS: tuple[int, ...] = (73, 68, 71, 40, 42, 60, 56, 11)
"""GM lead instruments for motifs: flute, oboe, clarinet, violin, cello, French horn, trumpet, vibraphone."""

BEATS_PER_BAR = 4

CHORD_STEPS: dict[int, float] = {1: 4.0, 2: 2.0, 3: 1.0, 4: 1.0, 5: 0.5}
"""Beats between chord attacks by intensity: sustained bars at 1, eighth notes at 5."""

BASS_STEPS: dict[int, float] = {1: 4.0, 2: 4.0, 3: 2.0, 4: 1.0, 5: 1.0}


def velocity_for(intensity: int) -> int:
    """MIDI velocity for an intensity of 1..5: 55 (quiet) to 115 (full)."""
    return 40 + 15 * intensity


def pitch_at_or_above(pitch_class: int, floor: int) -> int:
    """The lowest MIDI note of `pitch_class` that is at or above `floor`."""
    return floor + (pitch_class - floor) % 12


def voice_chord(tonic: int, chord: Chord, instrumentation: str, intensity: int) -> list[int]:
    """The chord's MIDI notes in close position in the section's register, doubled an octave up at intensity 4-5."""
    root = pitch_at_or_above((tonic + chord.root) % 12, CHORD_FLOORS[instrumentation])
    notes = [root + tone for tone in chord.tones]
    if intensity >= 4:
        notes.append(root + 12)
    return sorted(set(notes))


def bass_note(tonic: int, chord: Chord, pedal: bool) -> int:
    """The bass under a chord: its root, or the tonic under a pedal."""
    return pitch_at_or_above((tonic if pedal else tonic + chord.root) % 12, BASS_FLOOR)


RHYTHMS: tuple[tuple[float, ...], ...] = (
    (1.0, 1.0, 2.0),
    (0.5, 0.5, 1.0, 2.0),
    (1.0, 0.5, 0.5, 2.0),
    (1.5, 0.5, 1.0, 1.0, 2.0),
    (0.5, 0.5, 0.5, 0.5, 2.0),
    (1.0, 1.0, 1.0, 0.5, 0.5, 2.0),
)


def motif_seed(character_id: str, seed: int) -> int:
    """A seed from the character id and the film's seed, stable across processes (unlike `hash`)."""
    return int.from_bytes(hashlib.sha256(f"{seed}:{character_id}".encode()).digest()[:8], "big")


def motif_notes(character_id: str, mode: str, seed: int) -> tuple[tuple[int, ...], tuple[float, ...], int]:
    """Intervals (semitones from the tonic), rhythm (beats) and GM program of a character's motif.

    The line starts on a tonic-triad tone, moves by step with one leap of a fourth or fifth (in scale degrees,
    3 or 4) and ends on a tonic-triad tone, within a tenth: short and singable.
    """
    rng = random.Random(motif_seed(character_id, seed))
    scale = SCALES[mode]
    rhythm = rng.choice(RHYTHMS)
    count = len(rhythm)
    leap_at = rng.randrange(1, count - 1)
    degrees = [rng.choice((0, 2, 4))]
    for index in range(1, count):
        size = rng.choice((3, 4)) if index == leap_at else 1
        direction = rng.choice((-1, 1))
        step = degrees[-1] + direction * size
        if not -2 <= step <= 9:
            step = degrees[-1] - direction * size
        degrees.append(step)
    degrees[-1] = min(
        (degree for degree in range(-3, 11) if degree % 7 in (0, 2, 4)), key=lambda d: abs(d - degrees[-2])
    )
    if degrees[-1] == degrees[-2]:
        degrees[-1] = min(
            (degree for degree in range(-3, 11) if degree % 7 in (0, 2, 4) and degree != degrees[-2]),
            key=lambda d: abs(d - degrees[-2]),
        )
    intervals = tuple(12 * (degree // 7) + scale[degree % 7] for degree in degrees)
    return intervals, rhythm, rng.choice(LEAD_PROGRAMS)
