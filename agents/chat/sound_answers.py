"""Answers about the film's sound: a scene's cue and ambience, the themes, the mix's loudness."""

from __future__ import annotations

from agents.chat.answer_drafts import Draft, FilmRecords, listing
from agents.chat.mentions import scene_in
from agents.soundtrack import SceneAmbience, SceneMusic, heard_as
from agents.state import Film, Scene

CHOSEN_BY = {"composer": "the composer's choice", "rules": "from the scene's words", "filmmaker": "your note"}


def music_words(cue: SceneMusic | None) -> str:
    if cue is None:
        return "no cue yet (the composer scores it at the next cut)"
    if cue.muted:
        return "no music (muted)"
    return (
        f"a {cue.mood} cue in {cue.key} {cue.mode} at {cue.tempo} beats a minute on {cue.instrumentation}, "
        f"intensity {cue.intensity} of 5 ({CHOSEN_BY[cue.by]})"
    )


def bed_words(bed: SceneAmbience | None) -> str:
    if bed is None:
        return "no bed yet (laid at the next cut)"
    if bed.muted or not bed.layers:
        return "no ambience"
    return listing([f"{heard_as(layer)} ({layer.level_db:.0f} dB)" for layer in bed.layers])


def themes_in(film: Film, scene: Scene) -> list[str]:
    present = set(scene.character_ids) | {line.character_id for line in scene.dialogue}
    return [film.name_of(cid) for cid in film.sound.themes if cid in present]


def sound(draft: Draft, records: FilmRecords, question: str) -> None:
    """One scene's music, themes and ambience when the question names a scene; else the whole score and mix."""
    film = draft.film
    scene = scene_in(question, film)
    if scene is not None:
        cue = film.sound.music_for(scene.id)
        draft.say(f"Under {draft.scene(scene)}: {music_words(cue)}.")
        themes = themes_in(film, scene)
        if themes and cue is not None and not cue.muted:
            draft.say(f"You hear the theme of {listing(themes)}.")
        draft.say(f"Ambience: {bed_words(film.sound.ambience_for(scene.id))}.")
        return
    if not film.sound.music and not film.sound.ambience:
        draft.say("The composer and the sound designer have not worked on this film yet: its sound is the lines.")
        return
    moods = [f"{cue.mood if not cue.muted else 'silent'} in scene {n}" for n, cue in _numbered(film)]
    if moods:
        draft.say(f"The score: {listing(moods)}.")
    themes = [film.name_of(cid) for cid in film.sound.themes]
    draft.say(f"Themes for {listing(themes)}." if themes else "No character has a theme; say “give Noor a theme”.")
    manifest = records.manifest
    loudness = manifest.cut.loudness if manifest is not None and manifest.cut is not None else None
    if loudness is not None:
        draft.say(
            f"The mix is at {loudness.integrated_lufs:.1f} LUFS, true peak {loudness.true_peak_dbtp:.1f} dBTP; "
            "the stems are in cut/stems and the score in cut/score.mid."
        )
    draft.say("Ask about one scene's music, or give a note such as “sadder music in the last scene” or “louder rain”.")


def _numbered(film: Film) -> list[tuple[int, SceneMusic]]:
    numbers = {scene.id: scene.number for scene in film.scenes}
    return [(numbers[cue.scene_id], cue) for cue in film.sound.music if cue.scene_id in numbers]
