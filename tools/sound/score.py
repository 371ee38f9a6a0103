"""The film's score as a type-1 MIDI file, written by code from a small plan a model fills from enums.

Per scene a `SceneCue` names key, mode, tempo, mood, instrumentation and intensity; each main character has a
`Motif`. `write_score` turns the plan into chords, a bass line and the motifs, with tempo and key-signature meta
events on the conductor track at each cut the composer marks. The title plays the first cue's opening, so the
score starts at 0 and the first cut that can change anything is the second cue's start. A cue with
`mark_change=False` carries on in the previous key, mode and tempo, whatever it names. A `muted` cue writes no
notes but keeps its tempo and key events, so every other cue sounds at the same times as before.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Literal

import mido
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tools.files import atomic_path
from tools.sound.score_harmony import (
    BASS_PROGRAMS,
    BASS_STEPS,
    BEATS_PER_BAR,
    CHORD_PROGRAMS,
    CHORD_STEPS,
    KEY_PITCH_CLASSES,
    MOTIF_FLOOR,
    PROGRESSIONS,
    bass_note,
    motif_notes,
    pitch_at_or_above,
    velocity_for,
    voice_chord,
)

Key = Literal["C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"]
Mode = Literal["major", "minor"]
Mood = Literal["tender", "hopeful", "tense", "sad", "mysterious", "triumphant", "playful", "calm"]
Instrumentation = Literal["strings", "piano", "woodwinds", "brass", "guitar", "pad", "choir"]

TICKS_PER_BEAT = 480
CHORD_CHANNEL = 0
BASS_CHANNEL = 1
MOTIF_CHANNELS: tuple[int, ...] = (2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 14, 15)
"""Channels for motifs: all but the chords', the bass's and 9 (GM percussion)."""

CONTIGUITY_TOLERANCE = 1e-6


class CueChoice(BaseModel):
    """What a cue plays: the picks a composer makes for a scene, with no time yet."""

    key: Key
    mode: Mode
    tempo: int = Field(ge=50, le=160)
    mood: Mood
    instrumentation: Instrumentation
    intensity: int = Field(ge=1, le=5)
    mark_change: bool = Field(default=True, description="Change tempo and key at this cue's cut.")
    muted: bool = Field(default=False, description="No notes under this cue; its time, tempo and key stay.")


class SceneCue(CueChoice):
    """What the composer chose for one scene: times in seconds of the film."""

    model_config = ConfigDict(frozen=True)

    scene_id: str = Field(min_length=1)
    start: float = Field(ge=0)
    end: float
    characters: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _ends_after_start(self) -> SceneCue:
        if self.end <= self.start:
            raise ValueError(f"cue {self.scene_id!r} ends at {self.end} s, not after its start {self.start} s")
        return self


class Motif(BaseModel):
    """A character's theme: intervals in semitones from the key's tonic, with a duration in beats for each."""

    model_config = ConfigDict(frozen=True)

    character_id: str = Field(min_length=1)
    program: int = Field(ge=0, le=127)
    intervals: tuple[int, ...]
    rhythm: tuple[float, ...]

    @field_validator("intervals")
    @classmethod
    def _singable(cls, intervals: tuple[int, ...]) -> tuple[int, ...]:
        if not 3 <= len(intervals) <= 6:
            raise ValueError(f"a motif has 3 to 6 notes, not {len(intervals)}")
        if any(not -12 <= interval <= 24 for interval in intervals):
            raise ValueError(f"motif intervals must lie within -12..24 semitones of the tonic, got {intervals}")
        return intervals

    @model_validator(mode="after")
    def _one_duration_per_note(self) -> Motif:
        if len(self.rhythm) != len(self.intervals):
            raise ValueError(
                f"motif of {self.character_id!r} has {len(self.intervals)} notes but {len(self.rhythm)} durations"
            )
        if any(beats <= 0 for beats in self.rhythm):
            raise ValueError(f"motif of {self.character_id!r} has a duration that is not positive: {self.rhythm}")
        return self


class ScorePlan(BaseModel):
    """The whole score: cues back to back from the end of the title, and the characters' motifs."""

    model_config = ConfigDict(frozen=True)

    cues: list[SceneCue] = Field(min_length=1)
    motifs: list[Motif] = Field(default_factory=list)
    title_seconds: float = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _contiguous(self) -> ScorePlan:
        if abs(self.cues[0].start - self.title_seconds) > CONTIGUITY_TOLERANCE:
            raise ValueError(
                f"the first cue {self.cues[0].scene_id!r} starts at {self.cues[0].start} s but the title ends at "
                f"{self.title_seconds} s: start it where the title ends"
            )
        for previous, cue in zip(self.cues, self.cues[1:], strict=False):
            gap = cue.start - previous.end
            if abs(gap) > CONTIGUITY_TOLERANCE:
                what = f"a gap of {gap:.3f} s" if gap > 0 else f"an overlap of {-gap:.3f} s"
                raise ValueError(
                    f"cue {cue.scene_id!r} starts at {cue.start} s but {previous.scene_id!r} ends at {previous.end} s "
                    f"({what}): each cue must start where the previous one ends"
                )
        scene_ids = [cue.scene_id for cue in self.cues]
        if len(set(scene_ids)) != len(scene_ids):
            raise ValueError(f"scene ids repeat among the cues: {scene_ids}")
        character_ids = [motif.character_id for motif in self.motifs]
        if len(set(character_ids)) != len(character_ids):
            raise ValueError(f"a character has more than one motif: {character_ids}")
        if len(self.motifs) > len(MOTIF_CHANNELS):
            raise ValueError(f"at most {len(MOTIF_CHANNELS)} motifs fit the MIDI channels, not {len(self.motifs)}")
        return self


class ScoreFacts(BaseModel):
    """What `write_score` wrote, with times in seconds as the file's ticks place them."""

    model_config = ConfigDict(frozen=True)

    path: Path
    duration: float
    tempo_changes: list[tuple[float, float]]
    key_changes: list[tuple[float, str]]
    motif_cues: dict[str, list[str]]


def motif_for(character_id: str, mode: str, seed: int) -> Motif:
    """A short, singable motif for a character, the same for the same id, mode and seed."""
    intervals, rhythm, program = motif_notes(character_id, mode, seed)
    return Motif(character_id=character_id, program=program, intervals=intervals, rhythm=rhythm)


class _Sounding(BaseModel):
    """The key, mode and tempo a cue is played in: its own where it marks a change, the previous one's otherwise."""

    model_config = ConfigDict(frozen=True)

    key: Key
    mode: Mode
    tempo: int
    start_tick: int
    end_tick: int
    start_seconds: float


def _sounding(plan: ScorePlan) -> list[_Sounding]:
    """Each cue's key, mode, tempo and tick span; ticks follow the tempo map without drift."""
    spans: list[_Sounding] = []
    tick, seconds = 0, 0.0
    key, mode, tempo = plan.cues[0].key, plan.cues[0].mode, plan.cues[0].tempo
    for index, cue in enumerate(plan.cues):
        if index > 0 and cue.mark_change:
            key, mode, tempo = cue.key, cue.mode, cue.tempo
        end_tick = tick + max(1, round((cue.end - seconds) * tempo * TICKS_PER_BEAT / 60))
        spans.append(
            _Sounding(key=key, mode=mode, tempo=tempo, start_tick=tick, end_tick=end_tick, start_seconds=seconds)
        )
        seconds += (end_tick - tick) * 60 / (tempo * TICKS_PER_BEAT)
        tick = end_tick
    return spans


def cue_spans(plan: ScorePlan) -> list[tuple[float, float]]:
    """Each cue's start and end in seconds as the score's ticks place them: the first starts at 0, under the title."""
    spans = _sounding(plan)
    ends = [*(span.start_seconds for span in spans[1:]), _end_seconds(spans)]
    return [(span.start_seconds, end) for span, end in zip(spans, ends, strict=True)]


def _end_seconds(spans: list[_Sounding]) -> float:
    last = spans[-1]
    return last.start_seconds + (last.end_tick - last.start_tick) * 60 / (last.tempo * TICKS_PER_BEAT)


_Event = tuple[int, int, mido.Message | mido.MetaMessage]
"""Absolute tick, order at that tick, message: note-offs first (`pretty_midi` files a note under the program
sounding at its note-off), then meta events and program changes, then note-ons."""


def _note(events: list[_Event], channel: int, pitch: int, velocity: int, start: int, end: int) -> None:
    if end - start < 1 or not 0 <= pitch <= 127:
        return
    events.append((start, 3, mido.Message("note_on", channel=channel, note=pitch, velocity=velocity)))
    events.append((end, 0, mido.Message("note_off", channel=channel, note=pitch, velocity=0)))


def _accompaniment(cue: SceneCue, span: _Sounding, chords: list[_Event], bass: list[_Event]) -> None:
    """Chords and bass for one cue: one chord of the mood's progression per bar, attacked by intensity."""
    progression = PROGRESSIONS[(cue.mood, span.mode)]
    tonic = KEY_PITCH_CLASSES[span.key]
    velocity = velocity_for(cue.intensity)
    for lines, channel, programs in ((chords, CHORD_CHANNEL, CHORD_PROGRAMS), (bass, BASS_CHANNEL, BASS_PROGRAMS)):
        program = mido.Message("program_change", channel=channel, program=programs[cue.instrumentation])
        lines.append((span.start_tick, 1, program))
    chord_voicings = [voice_chord(tonic, chord, cue.instrumentation, cue.intensity) for chord in progression.chords]
    bar_ticks = BEATS_PER_BAR * TICKS_PER_BEAT
    for bar in range(math.ceil((span.end_tick - span.start_tick) / bar_ticks)):
        chord = progression.chords[bar % len(progression.chords)]
        bar_start = span.start_tick + bar * bar_ticks
        for lines, channel, step, pitches in (
            (chords, CHORD_CHANNEL, CHORD_STEPS[cue.intensity], chord_voicings[bar % len(progression.chords)]),
            (bass, BASS_CHANNEL, BASS_STEPS[cue.intensity], [bass_note(tonic, chord, progression.pedal)]),
        ):
            step_ticks = round(step * TICKS_PER_BEAT)
            for attack in range(bar_start, min(bar_start + bar_ticks, span.end_tick), step_ticks):
                for pitch in pitches:
                    _note(lines, channel, pitch, velocity, attack, min(attack + step_ticks, span.end_tick))


def _motif(motif: Motif, channel: int, cue: SceneCue, span: _Sounding, events: list[_Event]) -> None:
    """The motif in the cue's key: from the second beat, again every few bars, squeezed if the cue is short."""
    tonic = pitch_at_or_above(KEY_PITCH_CLASSES[span.key], MOTIF_FLOOR)
    span_beats = (span.end_tick - span.start_tick) / TICKS_PER_BEAT
    cue_beats = (cue.end - cue.start) * span.tempo / 60
    first_beat = span_beats - cue_beats
    length = sum(motif.rhythm)
    lead_in = 1.0 if first_beat + 1 + length <= span_beats else 0.0
    scale = min(1.0, (span_beats - first_beat) / length)
    every = BEATS_PER_BAR * (math.ceil(length / BEATS_PER_BAR) + 1)
    velocity = min(127, velocity_for(cue.intensity) + 10)
    beat = first_beat + lead_in
    while True:
        for interval, beats in zip(motif.intervals, motif.rhythm, strict=True):
            start = span.start_tick + round(beat * TICKS_PER_BEAT)
            beat += beats * scale
            end = min(span.start_tick + round(beat * TICKS_PER_BEAT), span.end_tick)
            _note(events, channel, tonic + interval, velocity, start, end)
        beat += every - length
        if beat + length > span_beats:
            return


def _track(name: str, events: list[_Event], end_tick: int) -> mido.MidiTrack:
    track = mido.MidiTrack([mido.MetaMessage("track_name", name=name, time=0)])
    tick = 0
    for at, _order, message in sorted(events, key=lambda event: (event[0], event[1], str(event[2]))):
        track.append(message.copy(time=at - tick))
        tick = at
    track.append(mido.MetaMessage("end_of_track", time=end_tick - tick))
    return track


def _key_name(key: str, mode: str) -> str:
    return key if mode == "major" else f"{key}m"


def write_score(plan: ScorePlan, path: Path) -> ScoreFacts:
    """Write the plan as a type-1 MIDI file at `path`, atomically, from 0 to the last cue's end.

    Tempo (`set_tempo`) and key (`key_signature`) meta events go on the conductor track at 0 and at each later
    cue start that marks a change. `pretty_midi` drops a tempo event equal to the one before it on reading, so a
    marked cut that keeps its tempo shows only as a key-signature change there.
    """
    spans = _sounding(plan)
    end_tick = spans[-1].end_tick
    conductor: list[_Event] = [(0, 0, mido.MetaMessage("time_signature", numerator=BEATS_PER_BAR, denominator=4))]
    tempo_changes: list[tuple[float, float]] = []
    key_changes: list[tuple[float, str]] = []
    chords: list[_Event] = []
    bass: list[_Event] = []
    motif_events: dict[str, list[_Event]] = {motif.character_id: [] for motif in plan.motifs}
    motif_cues: dict[str, list[str]] = {motif.character_id: [] for motif in plan.motifs}
    for index, (cue, span) in enumerate(zip(plan.cues, spans, strict=True)):
        if index == 0 or cue.mark_change:
            conductor.append((span.start_tick, 1, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(span.tempo))))
            key_signature = mido.MetaMessage("key_signature", key=_key_name(span.key, span.mode))
            conductor.append((span.start_tick, 1, key_signature))
            tempo_changes.append((span.start_seconds, float(span.tempo)))
            key_changes.append((span.start_seconds, f"{span.key} {span.mode}"))
        if cue.muted:
            continue
        _accompaniment(cue, span, chords, bass)
        for channel, motif in zip(MOTIF_CHANNELS, plan.motifs, strict=False):
            if motif.character_id in cue.characters:
                _motif(motif, channel, cue, span, motif_events[motif.character_id])
                motif_cues[motif.character_id].append(cue.scene_id)
    midi = mido.MidiFile(type=1, ticks_per_beat=TICKS_PER_BEAT)
    midi.tracks.append(_track("conductor", conductor, end_tick))
    midi.tracks.append(_track("chords", chords, end_tick))
    midi.tracks.append(_track("bass", bass, end_tick))
    for channel, motif in zip(MOTIF_CHANNELS, plan.motifs, strict=False):
        program = mido.Message("program_change", channel=channel, program=motif.program)
        midi.tracks.append(_track(motif.character_id, [(0, 1, program), *motif_events[motif.character_id]], end_tick))
    with atomic_path(path) as temporary:
        midi.save(temporary)
    return ScoreFacts(
        path=path,
        duration=_end_seconds(spans),
        tempo_changes=tempo_changes,
        key_changes=key_changes,
        motif_cues=motif_cues,
    )
