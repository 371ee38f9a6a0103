"""The finished sound of a cut: the spoken lines over the score and the ambience, mixed to a loudness, with stems.

The crew decides the sound (`SoundDesign`: one music file and one ambience file per scene, each placed on the
film's clock); this module lays them under the lines (`tools.sound.mix`: ducking, cross-fades at the scene cuts,
two-pass loudness with a true-peak limiter), encodes the AAC track the film carries, checks that track's own
loudness (AAC's low-pass takes a little off the top), and keeps the three stems beside it.
"""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Sequence
from pathlib import Path

import imageio_ffmpeg
from pydantic import BaseModel, ConfigDict, Field

from tools.edit.segments import run_ffmpeg
from tools.edit.sound import AAC_CODER, AUDIO_BITRATE, Line, mix_dialogue
from tools.files import content_key, sha256_of
from tools.sound.loudness import Loudness, measure_loudness
from tools.sound.mix import STEM_NAMES, MixPlan, Stems, assemble_bed, mix

MIX_RATE = 48000
ENCODED_TOLERANCE_LU = 0.5
"""How far the encoded track's loudness may sit from the target before the mix is made again, corrected."""
ENCODE_TRIES = 3
STEM_SUFFIXES = {name: f".{name}.wav" for name in STEM_NAMES}
FACTS_SUFFIX = ".mix.json"


class PlacedSound(BaseModel):
    """A scene's music or ambience file and where its first sample plays, in film seconds (None: silence)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: Path | None = None
    starts_at: float = 0.0


class SoundDesign(BaseModel):
    """What the cut lays under the lines, one entry per scene in cut order, and how it is mixed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    music: list[PlacedSound] = Field(default_factory=list, description="Empty: no score.")
    ambience: list[PlacedSound] = Field(default_factory=list, description="Empty: no ambience.")
    target_lufs: float = -16.0
    true_peak: float = -1.5
    duck_db: float = 12.0
    crossfade: float = 1.0


class SoundFacts(BaseModel):
    """What the mix measured: the encoded track's loudness and the master gain that got it there."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    integrated_lufs: float
    true_peak_dbtp: float
    lra: float
    gain_db: float
    target_lufs: float


def design_key(design: SoundDesign, lines_key: str, scene_cuts: Sequence[float], duration: float) -> str:
    """The key of a mixed track: the lines' own key, every placed file's bytes and place, the cuts, the settings."""

    def placed(sounds: list[PlacedSound]) -> list[object]:
        return [[sha256_of(s.path), round(s.starts_at, 6)] if s.path else None for s in sounds]

    return content_key(
        {
            "lines": lines_key,
            "music": placed(design.music),
            "ambience": placed(design.ambience),
            "cuts": [round(cut, 6) for cut in scene_cuts],
            "duration": round(duration, 6),
            "settings": design.model_dump(mode="json", include={"target_lufs", "true_peak", "duck_db", "crossfade"}),
            "rate": MIX_RATE,
            "bitrate": AUDIO_BITRATE,
            "mix": 1,
        }
    )


def stem_paths(track: Path) -> dict[str, Path]:
    """Where the stems of a stored track live, beside it under the same key."""
    key = track.name.split(".", 1)[0]
    return {name: track.with_name(key + suffix) for name, suffix in STEM_SUFFIXES.items()}


def stored_facts(track: Path) -> SoundFacts | None:
    """The facts of a stored track, if they and its stems are all there."""
    facts = track.with_name(track.name.split(".", 1)[0] + FACTS_SUFFIX)
    if not facts.is_file() or not all(path.is_file() for path in stem_paths(track).values()):
        return None
    try:
        return SoundFacts.model_validate_json(facts.read_text(encoding="utf-8"))
    except ValueError:
        return None


def mix_film_sound(
    lines: Sequence[Line],
    design: SoundDesign,
    scene_cuts: Sequence[float],
    duration: float,
    out: Path,
    final: Path,
) -> SoundFacts:
    """Mix the film's sound into the AAC track `out` (a temporary name of `final`); stems and facts beside `final`.

    Spoken lines are the dialogue stem; a clip's own sound (LTX-2's) joins the ambience stem where its shot plays.

    Raises:
        SegmentError: ffmpeg could not read a line or encode the track.
        MixError, LoudnessError: the mix could not meet its targets, or a file is unreadable.
    """
    work = final.with_name(f".{final.name}.work")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    try:
        plan = MixPlan(
            duration=duration,
            sample_rate=MIX_RATE,
            lines=[(line.start, line.end) for line in lines if not line.is_ambience and line.end > line.start],
            scene_cuts=list(scene_cuts),
            duck_db=design.duck_db,
            crossfade=design.crossfade,
            target_lufs=design.target_lufs,
            true_peak=design.true_peak,
        )
        stems = _bed_stems(lines, design, plan, work)
        facts = _mixed_and_encoded(stems, plan, out, work)
        for name, path in stem_paths(final).items():
            (work / "stems" / f"{name}.wav").replace(path)
        facts_file = final.with_name(final.name.split(".", 1)[0] + FACTS_SUFFIX)
        facts_file.write_text(json.dumps(facts.model_dump(mode="json")) + "\n", encoding="utf-8")
        return facts
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _bed_stems(lines: Sequence[Line], design: SoundDesign, plan: MixPlan, work: Path) -> Stems:
    """The dialogue, music and ambience stems before ducking, each the film's length."""
    dialogue = work / "dialogue.wav"
    spoken = [line for line in lines if not line.is_ambience]
    mix_dialogue(spoken, plan.samples, dialogue, rate=MIX_RATE, wav=True)
    music = _assembled(design.music, plan, work / "music.wav")
    ambience = _assembled(design.ambience, plan, work / "ambience.wav")
    clip_sounds = [line for line in lines if line.is_ambience]
    if clip_sounds:
        ambience = _with_clip_sounds(ambience, clip_sounds, plan, work)
    return Stems(dialogue=dialogue, music=music, ambience=ambience)


def _assembled(sounds: list[PlacedSound], plan: MixPlan, out: Path) -> Path | None:
    if not any(sound.path for sound in sounds):
        return None
    return assemble_bed([s.path for s in sounds], plan, out, starts=[s.starts_at for s in sounds])


def _with_clip_sounds(bed: Path | None, clip_sounds: list[Line], plan: MixPlan, work: Path) -> Path:
    """The ambience stem with each clip's own sound where its shot plays (at the level `Line.gain_db` says)."""
    clips = work / "clip-sounds.wav"
    mix_dialogue(clip_sounds, plan.samples, clips, rate=MIX_RATE, wav=True)
    if bed is None:
        return clips
    summed = work / "ambience-with-clips.wav"
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "error", "-y"]
    command += ["-i", str(bed), "-i", str(clips), "-filter_complex", "amix=inputs=2:duration=first:normalize=0"]
    command += ["-c:a", "pcm_f32le", "-ar", str(MIX_RATE), str(summed)]
    run_ffmpeg(command, "laying the clips' own sound on the ambience")
    return summed


def _mixed_and_encoded(stems: Stems, plan: MixPlan, out: Path, work: Path) -> SoundFacts:
    """Mix, encode to AAC and measure the encoded track; correct the target and mix again while it is off."""
    target, ceiling = plan.target_lufs, plan.true_peak
    (work / "stems").mkdir(exist_ok=True)
    for attempt in range(ENCODE_TRIES):
        result = mix(
            stems,
            plan.model_copy(update={"target_lufs": target, "true_peak": ceiling}),
            work / "mix.wav",
            stems_folder=(work / "stems") if attempt == 0 else None,
        )
        _encode(work / "mix.wav", out)
        loudness = measure_loudness(out)
        if math.isinf(loudness.integrated_lufs):
            break
        off = plan.target_lufs - loudness.integrated_lufs
        over = loudness.true_peak_dbtp - (plan.true_peak + 0.4)
        if abs(off) <= ENCODED_TOLERANCE_LU and over < 0:
            break
        target = max(-40.0, min(-5.0, target + off))
        ceiling = max(-20.0, ceiling - max(0.0, over + 0.2))
    return _facts(loudness, result.gain_db, plan.target_lufs)


def _facts(loudness: Loudness, gain_db: float, target: float) -> SoundFacts:
    return SoundFacts(
        integrated_lufs=loudness.integrated_lufs,
        true_peak_dbtp=loudness.true_peak_dbtp,
        lra=loudness.lra,
        gain_db=round(gain_db, 3),
        target_lufs=target,
    )


def _encode(wav: Path, out: Path) -> None:
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "error", "-y", "-i", str(wav)]
    command += ["-c:a", "aac", "-aac_coder", AAC_CODER, "-b:a", AUDIO_BITRATE, "-ar", str(MIX_RATE), "-f", "mp4"]
    run_ffmpeg([*command, str(out)], "encoding the mixed sound")
