"""The score played by a General MIDI SoundFont: one cached WAV per scene cue, for the music stem's cross-fades.

`render_cues` writes the plan once as MIDI, reads it back and plays each cue's notes on `tinysoundfont`, so what
is heard is exactly what score.mid says. Each file is named by a content key of what is heard in it (its notes
in samples from the file's start, the programs, the SoundFont, the rates and this module's version), so a note
on one scene re-renders that scene's cue only: every other cue's file is found under its key and reused.
The SoundFont is loaded only when a cue must be played, cut down to that cue's programs (`soundfont_subset`):
the whole FluidR3_GM (148 MB) takes about 0.3 s and 285 MiB to load, a cue's few programs about 0.05 to 0.1 s and
a fraction of the memory; a minute of score then plays in about 0.2 to 0.3 s on one core.
"""

from __future__ import annotations

import bisect
import importlib.metadata
import tempfile
from collections import defaultdict, deque
from collections.abc import Collection
from pathlib import Path
from types import ModuleType
from typing import NamedTuple

import mido
import numpy as np
from pydantic import BaseModel, ConfigDict
from scipy.io import wavfile

from tools.files import atomic_path, content_key
from tools.sound.score import ScorePlan, cue_spans, write_score
from tools.sound.soundfont import SoundError, SoundFont, soundfont_identity
from tools.sound.soundfont_subset import subset_soundfont

SYNTH_VERSION = 2
"""Raise when the way a cue is played changes (gain, voices, release), so every cached cue is played again."""

GAIN_DB = -12.0
"""Global gain of the synthesizer, measured with FluidR3_GM at 48 kHz: see `render_cues`."""

MAX_VOICES = 256
CHANNELS = 2
BYTES_PER_FRAME = CHANNELS * 4
DRAIN_FRAMES = 4096
DRAIN_CHUNKS = 200
TIME_EPSILON = 1e-6


class CueAudio(BaseModel):
    """One cue's WAV (None for a muted cue) and the film second where its sample 0 plays."""

    model_config = ConfigDict(frozen=True)

    scene_id: str
    path: Path | None
    starts_at: float
    reused: bool


class _Note(NamedTuple):
    channel: int
    program: int
    pitch: int
    velocity: int
    on: float
    off: float


class _CueSound(BaseModel):
    """What is heard in one cue's file: notes as [channel, program, pitch, velocity, on, off] in samples."""

    model_config = ConfigDict(frozen=True)

    frames: int
    end_frame: int
    notes: list[tuple[int, int, int, int, int, int]]


def _score_notes(plan: ScorePlan) -> list[_Note]:
    """The notes of the plan's score.mid, in absolute seconds through its tempo map, with the program of each."""
    with tempfile.TemporaryDirectory(prefix="score-") as folder:
        path = Path(folder) / "score.mid"
        write_score(plan, path)
        midi = mido.MidiFile(path)
    tick, tempo, tempo_tick, tempo_seconds = 0, mido.bpm2tempo(120), 0, 0.0
    programs: dict[int, int] = defaultdict(int)
    sounding: dict[tuple[int, int], deque[tuple[float, int, int]]] = defaultdict(deque)
    notes: list[_Note] = []
    for message in mido.merge_tracks(midi.tracks):
        tick += message.time
        now = tempo_seconds + mido.tick2second(tick - tempo_tick, midi.ticks_per_beat, tempo)
        if message.type == "set_tempo":
            tempo, tempo_tick, tempo_seconds = message.tempo, tick, now
        elif message.type == "program_change":
            programs[message.channel] = message.program
        elif message.type == "note_on" and message.velocity > 0:
            sounding[(message.channel, message.note)].append((now, message.velocity, programs[message.channel]))
        elif message.type in ("note_on", "note_off") and sounding[(message.channel, message.note)]:
            on, velocity, program = sounding[(message.channel, message.note)].popleft()
            notes.append(_Note(message.channel, program, message.note, velocity, on, now))
    return notes


def _cue_sounds(plan: ScorePlan, notes: list[_Note], sample_rate: int, lead: float, tail: float) -> list[_CueSound]:
    """Each cue's notes in frames from its file's start, released at the cue's end, and the file's length."""
    starts = [start for start, _end in cue_spans(plan)]
    by_cue: list[list[_Note]] = [[] for _ in plan.cues]
    for note in notes:
        by_cue[max(0, bisect.bisect_right(starts, note.on + TIME_EPSILON) - 1)].append(note)
    sounds = []
    for index, (cue, cue_notes) in enumerate(zip(plan.cues, by_cue, strict=True)):
        starts_at = _starts_at(plan, index, lead)
        end_frame = round((cue.end - starts_at) * sample_rate)
        played = []
        for note in cue_notes:
            on = max(0, round((note.on - starts_at) * sample_rate))
            off = min(round((note.off - starts_at) * sample_rate), end_frame)
            if off > on:
                played.append((note.channel, note.program, note.pitch, note.velocity, on, off))
        frames = end_frame + round(tail * sample_rate)
        sounds.append(_CueSound(frames=frames, end_frame=end_frame, notes=sorted(played, key=lambda n: (n[4], n))))
    return sounds


def _starts_at(plan: ScorePlan, index: int, lead: float) -> float:
    """The first cue's file starts at 0, under the title that plays its opening; the others `lead` early."""
    return 0.0 if index == 0 else plan.cues[index].start - lead


def _tinysoundfont() -> ModuleType:
    try:
        import tinysoundfont
    except ImportError as error:
        raise SoundError(
            "the score's synthesizer is not installed: run `pip install --no-deps tinysoundfont` (make install does it)"
        ) from error
    return tinysoundfont


class _Player:
    """One synthesizer with the SoundFont loaded once, played from a clean state for each cue."""

    def __init__(self, soundfont: SoundFont, sample_rate: int, programs: Collection[int]) -> None:
        """Load only the presets of `programs` (a fraction of the memory: see soundfont_subset), else the whole file.

        Where a sample sits in the loaded font moves its audio by float rounding, so a cue is played on the font of
        its own programs (which its content key holds): its file is then the same whatever else is rendered with
        it. No programs (a cue without notes, whose audio is silence on any preset) load program 0 only.
        """
        tinysoundfont = _tinysoundfont()
        self.programs = frozenset(programs)
        self.synth = tinysoundfont.Synth(gain=GAIN_DB, samplerate=sample_rate)
        try:
            subset = subset_soundfont(soundfont.path, self.programs or {0})
            self.sfid = self.synth.sfload(subset or str(soundfont.path), max_voices=MAX_VOICES)
        except Exception as error:
            raise SoundError(
                f"the SoundFont {soundfont.path} could not be loaded ({error}): set DIRECTOR_SOUND__SOUNDFONT to "
                "a working .sf2/.sf3, or reinstall fluid-soundfont-gm"
            ) from error

    def _clean(self) -> None:
        """Stop every voice and forget every channel, then play on until the last release has died away."""
        self.synth.soundfonts[self.sfid].reset()
        scratch = np.zeros(DRAIN_FRAMES * CHANNELS, dtype=np.float32)
        for _ in range(DRAIN_CHUNKS):
            self.synth.generate(DRAIN_FRAMES, buffer=memoryview(scratch).cast("B"))
            if not scratch.any():
                return

    def play(self, sound: _CueSound) -> np.ndarray:
        """The cue as float32 frames x 2: notes at their frames, all released at the cue's end, then the tail."""
        self._clean()
        audio = np.zeros(sound.frames * CHANNELS, dtype=np.float32)
        view = memoryview(audio).cast("B")
        events = [(note[4], 1, note) for note in sound.notes] + [(note[5], 0, note) for note in sound.notes]
        events.sort(key=lambda event: (event[0], event[1], event[2]))
        programs: dict[int, int] = {}
        position = 0
        for frame, is_on, (channel, program, pitch, velocity, _on, _off) in events:
            position = self._generate(view, position, frame)
            if not is_on:
                self.synth.noteoff(channel, pitch)
                continue
            if programs.get(channel) != program:
                self.synth.program_select(channel, self.sfid, 0, program)
                programs[channel] = program
            self.synth.noteon(channel, pitch, velocity)
        position = self._generate(view, position, sound.end_frame)
        self.synth.notes_off()
        self._generate(view, position, sound.frames)
        return audio.reshape(-1, CHANNELS)

    def _generate(self, view: memoryview, position: int, until: int) -> int:
        if until > position:
            self.synth.generate(until - position, buffer=view[position * BYTES_PER_FRAME : until * BYTES_PER_FRAME])
        return max(position, until)


def render_cues(
    plan: ScorePlan,
    soundfont: SoundFont,
    folder: Path,
    *,
    sample_rate: int = 48000,
    lead: float = 0.5,
    tail: float = 2.0,
) -> list[CueAudio]:
    """One 32-bit float stereo WAV per cue in `folder`, reusing any file already there under its content key.

    A cue's file starts `lead` seconds before the cue (the first cue's at 0, since the title plays its opening),
    every note is released at the cue's end and the file runs `tail` seconds on, so cross-fades at the cuts get a
    natural decay. A muted cue gets no file. Levels measured over a cue's span with two motifs playing, across the
    seven instrumentations at 48 kHz: FluidR3_GM at -30 to -26 dBFS RMS at intensity 1, -27 to -22 at 3 and -25
    to -17.5 at 5, peaking at most -11, -7 and -2.6 dBFS; TimGM6mb within a few dB of that (peaks at most -6.7).

    Raises:
        SoundError: tinysoundfont is not installed or the SoundFont does not load.
    """
    sounds = _cue_sounds(plan, _score_notes(plan), sample_rate, lead, tail)
    _tinysoundfont()
    version = importlib.metadata.version("tinysoundfont")
    identity = soundfont_identity(soundfont)
    player: _Player | None = None
    cues: list[CueAudio] = []
    for index, (cue, sound) in enumerate(zip(plan.cues, sounds, strict=True)):
        starts_at = _starts_at(plan, index, lead)
        if cue.muted:
            cues.append(CueAudio(scene_id=cue.scene_id, path=None, starts_at=starts_at, reused=False))
            continue
        key = content_key(
            {
                "heard": sound.model_dump(mode="json"),
                "soundfont": identity,
                "sample_rate": sample_rate,
                "lead": 0.0 if index == 0 else lead,
                "tail": tail,
                "gain_db": GAIN_DB,
                "tinysoundfont": version,
                "synth_version": SYNTH_VERSION,
            }
        )
        path = folder / f"cue-{key}.wav"
        reused = path.is_file()
        if not reused:
            programs = frozenset(note[1] for note in sound.notes)
            if player is None or (programs and programs != player.programs):
                player = None  # the previous font's samples go before the next font's come
                player = _Player(soundfont, sample_rate, programs)
            audio = player.play(sound)
            with atomic_path(path) as temporary:
                wavfile.write(temporary, sample_rate, audio)
        cues.append(CueAudio(scene_id=cue.scene_id, path=path, starts_at=starts_at, reused=reused))
    return cues
