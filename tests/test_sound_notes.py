"""Notes about the sound: each changes exactly its scenes' cue or bed, or the themes, and never a shot.

Pure logic on a film built here: no model is asked (the fake LLM has no answers), nothing renders.
"""

from __future__ import annotations

import pytest
from fake_llm import FakeLLM

from agents.chat.converse import MessageKind, classify_by_rules
from agents.notes.sound_words import sound_aim
from agents.notes.targets import RevisionError
from agents.revise import revise
from agents.sound_rules import default_ambience as rules_ambience
from agents.sound_rules import default_music as rules_music
from agents.soundtrack import SceneAmbience, SceneMusic, Soundtrack
from agents.state import Character, Feedback, Film, Revision, Scene, Setting, Shot
from tools.render.spec import TimeOfDay
from tools.sound.ambience import AmbienceKind, AmbienceLayer


def layer(kind: AmbienceKind, level_db: float) -> AmbienceLayer:
    return AmbienceLayer(kind=kind, level_db=level_db)


def cue(scene_id: str, **changes: object) -> SceneMusic:
    fields = {"key": "D", "mode": "major", "tempo": 100, "mood": "calm", "instrumentation": "strings", "intensity": 3}
    return SceneMusic(scene_id=scene_id, **{**fields, **changes})


@pytest.fixture
def film() -> Film:
    """Four scenes: the composer and sound designer decided 1 to 3; scene 4 (an old film's) has nothing yet."""
    scenes = [
        Scene(
            id=f"s0{number}",
            number=number,
            setting_id="harbour" if number != 2 else "cafe",
            summary="Noor waits for the ferry" if number != 4 else "Noor says goodbye alone at night",
            character_ids=["noor"],
            shots=[Shot(id=f"s0{number}-0{order}", scene_id=f"s0{number}", order=order, seed=7) for order in (1, 2)],
        )
        for number in (1, 2, 3, 4)
    ]
    sound = Soundtrack(
        music=[cue("s01", tempo=100), cue("s02", mood="tender", tempo=60), cue("s03", intensity=5, tempo=150)],
        themes=["tom"],
        ambience=[
            SceneAmbience(scene_id="s01", layers=[layer(AmbienceKind.RAIN, -30), layer(AmbienceKind.SEA, -33)]),
            SceneAmbience(scene_id="s02", layers=[layer(AmbienceKind.ROOM, -38)]),
            SceneAmbience(
                scene_id="s03",
                layers=[layer(AmbienceKind.RAIN, -3), layer(AmbienceKind.WIND, -33), layer(AmbienceKind.SEA, -36)],
            ),
        ],
    )
    return Film(
        id="tide",
        title="Tide",
        characters=[
            Character(id="noor", name="Noor", look="short black hair, green coat"),
            Character(id="tom", name="Tom Berg", look="tall, beard"),
        ],
        settings=[
            Setting(id="harbour", name="Harbour", look="wet stones, rain, waves", time_of_day=TimeOfDay.DUSK),
            Setting(id="cafe", name="Corner Café", look="red booths", interior=True),
        ],
        scenes=scenes,
        sound=sound,
    )


def no_model() -> FakeLLM:
    return FakeLLM(lambda task, schema: None)


def note(film: Film, text: str, **selection: object) -> tuple[Film, Revision]:
    llm = no_model()
    revised, revision = revise(film, Feedback(text=text, **selection), llm)
    assert llm.tasks() == [], "a sound note is read by rules, never by the model"
    assert revision.kind == "sound" and revision.remade == [] and revision.removed == []
    assert revised.feedback[-1] == revision
    assert [s.model_dump() for s in revised.shots()] == [s.model_dump() for s in film.shots()], "no shot changes"
    assert [s.id for s in revised.scenes] == [s.id for s in film.scenes]
    return revised, revision


def music_changed(before: Film, after: Film) -> set[str]:
    ids = {scene.id for scene in before.scenes}
    return {i for i in ids if before.sound.music_for(i) != after.sound.music_for(i)}


def ambience_changed(before: Film, after: Film) -> set[str]:
    ids = {scene.id for scene in before.scenes}
    return {i for i in ids if before.sound.ambience_for(i) != after.sound.ambience_for(i)}


def test_sadder_music_in_the_last_scene_changes_only_its_cue(film):
    film.sound.music.append(cue("s04", tempo=80))
    revised, revision = note(film, "sadder music in the last scene")
    assert revision.target == "s04"
    assert music_changed(film, revised) == {"s04"} and ambience_changed(film, revised) == set()
    last = revised.sound.music_for("s04")
    assert (last.mood, last.mode, last.tempo, last.by) == ("sad", "minor", 68, "filmmaker")
    assert revised.sound.themes == film.sound.themes
    assert revision.changes == ["scene 4 music: mood calm → sad, major → minor, tempo 80 → 68 bpm"]


@pytest.mark.parametrize(
    ("text", "mood", "mode", "tempo"),
    [
        ("happier music in scene 1", "hopeful", "major", 115),
        ("make the music in scene 1 tenser", "tense", "minor", 115),
        ("more suspense in the score of scene 1", "tense", "minor", 115),
        ("calmer, gentler music in scene 1", "calm", "major", 85),
        ("more mysterious music in scene 1", "mysterious", "minor", 100),
        ("epic music in scene 1", "triumphant", "major", 115),
        ("playful music in the first scene", "playful", "major", 115),
        ("romantic music in the opening scene", "tender", "major", 85),
    ],
)
def test_a_mood_sets_mood_mode_and_a_tempo_step(film, text, mood, mode, tempo):
    revised, _ = note(film, text)
    first = revised.sound.music_for("s01")
    assert (first.mood, first.mode, first.tempo) == (mood, mode, tempo)
    assert music_changed(film, revised) == {"s01"}


def test_intensity_and_tempo_keep_within_their_limits(film):
    revised, revision = note(film, "louder music")
    assert [revised.sound.music_for(i).intensity for i in ("s01", "s02", "s03")] == [4, 4, 5]
    assert music_changed(film, revised) == {"s01", "s02", "s04"}, "scene 3 is at 5 already; scene 4 gets a cue"
    assert revised.sound.music_for("s04").by == "filmmaker" and revision.target == "film"
    revised, _ = note(film, "quieter music in scene 2")
    assert revised.sound.music_for("s02").intensity == 2
    revised, _ = note(film, "faster music in scene 3")
    assert revised.sound.music_for("s03").tempo == 160
    revised, _ = note(film, "slower music in scene 2")
    assert revised.sound.music_for("s02").tempo == 51
    with pytest.raises(RevisionError, match="intensity 1 to 5"):
        note(film, "bigger music in scene 3")


@pytest.mark.parametrize(
    ("text", "instrument"),
    [
        ("music on piano in scene 2", "piano"),
        ("scene 2 music with a flute", "woodwinds"),
        ("swap the strings for horns in the music of scene 2", "brass"),
        ("guitar music in scene 2", "guitar"),
        ("synth music in scene 2", "pad"),
        ("a choir in the score for scene 2", "choir"),
    ],
)
def test_an_instrument_named_becomes_the_cues_instrumentation(film, text, instrument):
    revised, _ = note(film, text)
    assert revised.sound.music_for("s02").instrumentation == instrument
    assert music_changed(film, revised) == {"s02"}


def test_no_music_mutes_and_bring_it_back_unmutes(film):
    revised, revision = note(film, "no music in scene 3")
    assert revised.sound.music_for("s03").muted and music_changed(film, revised) == {"s03"}
    assert revision.changes == ["scene 3 music: none (muted)"]
    assert [scene.id for scene in revised.scenes] == ["s01", "s02", "s03", "s04"], "scene 3 is not cut"
    back, _ = note(revised, "bring the music back in scene 3")
    assert back.sound.music_for("s03") == revised.sound.music_for("s03").model_copy(update={"muted": False})
    silent, _ = note(film, "no music")
    assert all(silent.sound.music_for(scene.id).muted for scene in film.scenes)


def test_a_selected_scene_or_shot_scopes_the_note_and_words_win(film):
    revised, revision = note(film, "sadder music", scene=2)
    assert revision.target == "s02" and music_changed(film, revised) == {"s02"}
    revised, revision = note(film, "sadder music", shot="s03-02")
    assert revision.target == "s03" and music_changed(film, revised) == {"s03"}
    revised, revision = note(film, "sadder music in scene 1", scene=2)
    assert revision.target == "s01" and music_changed(film, revised) == {"s01"}
    revised, revision = note(film, "sadder music throughout", scene=2)
    assert revision.target == "film" and len(music_changed(film, revised)) == 4


def test_louder_and_quieter_beds_move_by_6_db_within_limits(film):
    revised, revision = note(film, "louder rain")
    assert revised.sound.ambience_for("s01").layers[0] == layer(AmbienceKind.RAIN, -24)
    assert revised.sound.ambience_for("s03").layers[0] == layer(AmbienceKind.RAIN, 0)
    assert revised.sound.ambience_for("s01").layers[1] == film.sound.ambience_for("s01").layers[1]
    assert ambience_changed(film, revised) == {"s01", "s03", "s04"}, "scene 2 has no rain"
    fallback = next(each for each in rules_ambience(film, film.scenes[3]).layers if each.kind == AmbienceKind.RAIN)
    rain = next(each for each in revised.sound.ambience_for("s04").layers if each.kind == AmbienceKind.RAIN)
    assert rain == layer(AmbienceKind.RAIN, fallback.level_db + 6), "from the fallback's level"
    assert music_changed(film, revised) == set()
    assert revision.changes[:2] == ["scene 1 ambience: rain -30 → -24 dB", "scene 3 ambience: rain -3 → 0 dB"]
    revised, _ = note(film, "quieter wind in scene 3")
    assert revised.sound.ambience_for("s03").layers[1] == layer(AmbienceKind.WIND, -39)
    assert ambience_changed(film, revised) == {"s03"}


def test_a_bed_missing_from_the_scenes_in_scope_is_an_actionable_error(film):
    with pytest.raises(RevisionError, match="no wind in scene 1: to add it, say “add wind to scene 1”"):
        note(film, "louder wind in scene 1")
    with pytest.raises(RevisionError, match="no crowd in any scene"):
        note(film, "quieter crowd")


def test_no_rain_drops_the_layer_and_no_ambience_mutes_the_scene(film):
    revised, _ = note(film, "no rain in scene 1")
    assert revised.sound.ambience_for("s01").layers == [layer(AmbienceKind.SEA, -33)]
    assert ambience_changed(film, revised) == {"s01"}
    revised, revision = note(film, "no ambience in scene 2")
    assert revised.sound.ambience_for("s02").muted and ambience_changed(film, revised) == {"s02"}
    assert revised.sound.ambience_for("s02").layers == film.sound.ambience_for("s02").layers
    assert revision.changes == ["scene 2 ambience: no ambience"]


def test_a_muted_bed_wakes_only_for_a_note_that_touches_it(film):
    film.sound.ambience = [each.model_copy(update={"muted": True}) for each in film.sound.ambience]
    revised, revision = note(film, "louder rain")
    assert revised.sound.ambience_for("s02") == film.sound.ambience_for("s02"), "no rain there: it stays muted"
    assert not revised.sound.ambience_for("s01").muted
    assert revision.changes[0] == "scene 1 ambience: rain -30 → -24 dB; ambience back on"
    revised, revision = note(film, "add rain to scene 3")
    assert revision.changes == ["scene 3 ambience: ambience back on"]
    assert revised.sound.ambience_for("s03").layers == film.sound.ambience_for("s03").layers
    with pytest.raises(RevisionError, match="no wind in scene 2 to take out"):
        note(film, "no wind in scene 2")


def test_adding_a_bed_lays_it_at_minus_20_db_replacing_the_quietest_of_three(film):
    revised, revision = note(film, "add rain to scene 2")
    assert revised.sound.ambience_for("s02").layers == [layer(AmbienceKind.ROOM, -38), layer(AmbienceKind.RAIN, -20)]
    assert revised.sound.ambience_for("s02").by == "filmmaker" and ambience_changed(film, revised) == {"s02"}
    revised, revision = note(film, "birds in scene 3")
    assert revised.sound.ambience_for("s03").layers == [
        layer(AmbienceKind.RAIN, -3),
        layer(AmbienceKind.WIND, -33),
        layer(AmbienceKind.BIRDS, -20),
    ]
    assert revision.changes == ["scene 3 ambience: birds added at -20 dB in place of sea (-36 dB)"]
    with pytest.raises(RevisionError, match="already"):
        note(film, "add rain to scene 1")


def test_a_scene_without_a_cue_or_bed_starts_from_the_fallback_given(film):
    revised, _ = note(film, "sadder music in scene 4")
    fallback = rules_music(film, film.scenes[3])
    assert fallback.mood == "sad" and fallback.by == "rules", "“goodbye alone at night” is sad"
    cue = revised.sound.music_for("s04")
    assert cue is not None and cue.mood == "sad" and cue.mode == "minor" and cue.by == "filmmaker"
    assert cue.tempo < fallback.tempo and cue.scene_id == "s04"
    assert [each.scene_id for each in revised.sound.music] == ["s01", "s02", "s03", "s04"]
    bed = rules_ambience(film, film.scenes[3])
    assert {each.kind for each in bed.layers} >= {AmbienceKind.RAIN, AmbienceKind.SEA}
    revised, _ = note(film, "louder sea in scene 4")
    sea = next(each for each in revised.sound.ambience_for("s04").layers if each.kind == AmbienceKind.SEA)
    assert sea.level_db == next(each for each in bed.layers if each.kind == AmbienceKind.SEA).level_db + 6


def test_a_theme_is_given_and_taken_away_without_touching_the_character(film):
    revised, revision = note(film, "give Noor a theme")
    assert revised.sound.themes == ["tom", "noor"] and revision.changes == ["Noor now has a theme"]
    assert revision.target == "film" and revised.characters == film.characters
    assert revised.sound.music == film.sound.music and revised.sound.ambience == film.sound.ambience
    again, revision = note(revised, "give Noor a theme")
    assert again.sound.themes == ["tom", "noor"] and revision.changes == ["Noor already has a theme"]
    revised, revision = note(again, "no theme for Noor")
    assert revised.sound.themes == ["tom"] and revision.changes == ["Noor's theme dropped"]
    revised, _ = note(film, "drop Tom Berg's theme")
    assert revised.sound.themes == []
    with pytest.raises(RevisionError, match="say whose theme it is, e.g. “give Noor a theme”"):
        note(film, "give the hero a theme")


def test_a_sound_note_that_says_nothing_to_do_is_refused_with_examples(film):
    with pytest.raises(RevisionError, match="sadder, happier"):
        note(film, "the music in scene 2")
    with pytest.raises(RevisionError, match="louder or quieter"):
        note(film, "the ambience in scene 2")


@pytest.mark.parametrize(
    "text",
    ["make scene 2 a night scene", "Noor should wear a red coat", "cut scene 3", "make the sea stormier in scene 1"],
)
def test_picture_notes_are_not_sound_notes(text):
    assert sound_aim(text) is None


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("sadder music in the last scene", MessageKind.NOTE),
        ("no music in scene 3", MessageKind.NOTE),
        ("louder rain", MessageKind.NOTE),
        ("give Noor a theme", MessageKind.NOTE),
        ("no theme for Noor", MessageKind.NOTE),
        ("what music plays in scene 2?", MessageKind.QUESTION),
        ("is there rain?", MessageKind.QUESTION),
    ],
)
def test_the_studio_reads_sound_notes_as_notes_and_sound_questions_as_questions(film, text, kind):
    intent = classify_by_rules(text, film)
    assert intent is not None and intent.kind == kind
