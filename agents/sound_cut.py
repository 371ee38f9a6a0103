"""What the cut lays under the lines: the score played scene by scene, and each scene's ambience bed.

The editor times the film first (`tools.edit.cut.scene_starts`), so each scene's cue starts at its cut and the
score starts with the title. The cues and the beds are rendered into the project's `sound/` folder under keys of
what they hold: a note that changes one scene's music renders that scene's cue again and reuses every other.
A scene the composer or the sound designer never reached (a scene a note added) gets the rules' choice.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from pathlib import Path

from agents.context import Context
from agents.sound_rules import default_ambience, default_music, marked_changes
from agents.state import Film, Scene
from tools.edit.cut import scene_starts
from tools.edit.film_sound import PlacedSound, SoundDesign
from tools.edit.plan import CutPlan
from tools.settings import Settings
from tools.sound.ambience import AmbienceSpec, cached_ambience
from tools.sound.mix import MixPlan
from tools.sound.score import CueChoice, Motif, SceneCue, ScoreFacts, ScorePlan, motif_for, write_score
from tools.sound.score_harmony import LEAD_PROGRAMS
from tools.sound.soundfont import SoundFont, find_soundfont
from tools.sound.stable_audio import StableAudioBeds, prompt_for
from tools.sound.synth import render_cues

SOUND_FOLDER = "sound"
SCORE_NAME = "score.mid"


@dataclass(frozen=True)
class CutSound:
    """The design the cut mixes, the score it came from and what was rendered for it now."""

    design: SoundDesign
    score: ScoreFacts | None = None
    soundfont: SoundFont | None = None
    cues_rendered: int = 0
    cues_reused: int = 0


def cut_scenes(film: Film, plan: CutPlan) -> list[Scene]:
    """The scenes in the order the cut plays them (a scene with no shot cut is not in it)."""
    numbers: list[int] = []
    for item in plan.items:
        if not numbers or numbers[-1] != item.scene_number:
            numbers.append(item.scene_number)
    by_number = {scene.number: scene for scene in film.scenes}
    return [by_number[number] for number in numbers]


def sound_for_cut(film: Film, plan: CutPlan, context: Context) -> CutSound:
    """Render what the cut needs (score cues, beds) and place it on the film's clock."""
    settings = context.settings.sound
    title, starts, duration = scene_starts(plan)
    scenes = cut_scenes(film, plan)
    ends = [*starts[1:], duration]
    spans = MixPlan(duration=duration, scene_cuts=starts[1:], crossfade=settings.crossfade).scene_spans()
    folder = context.project.root / SOUND_FOLDER
    design = SoundDesign(
        target_lufs=settings.target_lufs,
        true_peak=settings.true_peak,
        duck_db=settings.duck_db,
        crossfade=settings.crossfade,
        ambience=_beds(film, scenes, spans, folder / "ambience", context.ambience_model) if settings.ambience else [],
    )
    if not settings.music:
        return CutSound(design=design)
    score = score_plan(film, scenes, starts, ends, title)
    soundfont = find_soundfont(settings.soundfont)
    facts = write_score(score, context.project.cut_dir / SCORE_NAME)
    cues = render_cues(score, soundfont, folder / "music", lead=settings.crossfade / 2)
    music = [PlacedSound(path=cue.path, starts_at=cue.starts_at) for cue in cues]
    return CutSound(
        design=design.model_copy(update={"music": music}),
        score=facts,
        soundfont=soundfont,
        cues_rendered=sum(1 for cue in cues if cue.path is not None and not cue.reused),
        cues_reused=sum(1 for cue in cues if cue.reused),
    )


def score_plan(film: Film, scenes: list[Scene], starts: list[float], ends: list[float], title: float) -> ScorePlan:
    """The score for the cut: one cue per scene from its decided music, the themes of those who have one."""
    decided = marked_changes([film.sound.music_for(scene.id) or default_music(film, scene) for scene in scenes])
    themes = [cid for cid in film.sound.themes if any(c.id == cid for c in film.characters)]
    cues = [
        SceneCue(
            **music.model_dump(include=set(CueChoice.model_fields)),
            scene_id=scene.id,
            start=start,
            end=end,
            characters=[cid for cid in themes if cid in present(scene)],
        )
        for scene, music, start, end in zip(scenes, decided, starts, ends, strict=True)
    ]
    home_mode = decided[0].mode if decided else "major"
    return ScorePlan(cues=cues, motifs=distinct_voices(themes, home_mode, film.id), title_seconds=title)


def distinct_voices(themes: list[str], mode: str, film_id: str) -> list[Motif]:
    """Each theme's motif, on an instrument no earlier theme plays, so two characters never sound alike."""
    motifs: list[Motif] = []
    for cid in themes:
        motif = motif_for(cid, mode, seed_of(film_id, cid))
        taken = {each.program for each in motifs}
        if motif.program in taken:
            free = [program for program in LEAD_PROGRAMS if program not in taken]
            motif = motif.model_copy(update={"program": free[0] if free else motif.program})
        motifs.append(motif)
    return motifs


def present(scene: Scene) -> set[str]:
    """Who is in a scene: those it lists, and those who speak in it."""
    return set(scene.character_ids) | {line.character_id for line in scene.dialogue}


def seed_of(*parts: str) -> int:
    return int.from_bytes(hashlib.sha256("/".join(parts).encode("utf-8")).digest()[:4], "big")


def ambience_model(settings: Settings) -> StableAudioBeds | None:
    """Stable Audio 3 for the beds when the settings ask for it (loaded on first use); None: synthesise them."""
    if settings.sound.ambience_backend != "stable-audio-3":
        return None
    return StableAudioBeds.from_settings(settings.sound, settings.render.diffusers)


def _beds(
    film: Film,
    scenes: list[Scene],
    spans: list[tuple[float, float]],
    folder: Path,
    model: StableAudioBeds | None,
) -> list[PlacedSound]:
    """Each scene's ambience as long as its span (cross-fades included), or silence where it is muted.

    With a model, it makes each bed from a prompt of the scene's layers and its setting's look; else the beds
    are synthesised. Either way a bed is kept under a key of what it holds.
    """
    placed = []
    for scene, (begin, finish) in zip(scenes, spans, strict=True):
        bed = film.sound.ambience_for(scene.id) or default_ambience(film, scene)
        if bed.muted or not bed.layers:
            placed.append(PlacedSound())
            continue
        seconds = math.ceil((finish - begin) * 1000) / 1000
        spec = AmbienceSpec(layers=tuple(bed.layers), seconds=seconds, seed=seed_of(film.id, scene.id))
        if model is not None:
            look = next((each.look for each in film.settings if each.id == scene.setting_id), "")
            path = model.bed(spec, prompt_for(bed.layers, look), folder)
        else:
            path = cached_ambience(spec, folder)
        placed.append(PlacedSound(path=path, starts_at=begin))
    return placed
