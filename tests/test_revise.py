"""Revision by note, with a scripted fake LLM: what each note touches, and exactly which shots become dirty."""

from __future__ import annotations

import pytest
from fake_llm import FakeLLM

from agents.notes.targets import RevisionError, check_feedback
from agents.revise import revise
from agents.state import Character, DialogueLine, Feedback, Film, ReferenceImage, Scene, Setting, Shot
from tools.render.spec import Framing, TimeOfDay, Voice

GOOD_ANSWERS = {
    "revise_target": {"target": "the whole film"},
    "revise_style": {"direction": "warm orange light in every shot"},
    "revise_character": {"look": "red raincoat, short black hair, silver earrings", "color": "red"},
    "revise_setting": {"look": "thick fog, wet stones, a dim lantern", "colors": ["grey", "blue"]},
}


def fake(**overrides: list) -> FakeLLM:
    queued = {task: list(answers) for task, answers in overrides.items()}

    def respond(task: str, schema: type):
        return queued[task].pop(0) if queued.get(task) else GOOD_ANSWERS[task]

    return FakeLLM(respond)


def shot(shot_id: str, scene_id: str, order: int, *cast: str, framing: Framing = Framing.MEDIUM) -> Shot:
    return Shot(id=shot_id, scene_id=scene_id, order=order, framing=framing, character_ids=list(cast), seed=11)


@pytest.fixture
def film() -> Film:
    """Three scenes: Mai at the harbour, Mai and Tom in the café, Tom back at the harbour."""
    return Film(
        id="rain",
        title="Rain",
        characters=[
            Character(id="mai", name="Mai", look="short black hair, grey coat"),
            Character(id="tom", name="Tom Berg", look="tall, beard, blue overalls"),
        ],
        settings=[
            Setting(id="harbour", name="Harbour", look="wet stones, moored boats", time_of_day=TimeOfDay.DUSK),
            Setting(id="cafe", name="Corner Café", look="steamy windows, red booths", interior=True),
        ],
        scenes=[
            Scene(
                id="s01",
                number=1,
                setting_id="harbour",
                shots=[shot("s01-01", "s01", 1, "mai"), shot("s01-02", "s01", 2, "mai")],
            ),
            Scene(
                id="s02",
                number=2,
                setting_id="cafe",
                shots=[
                    shot("s02-01", "s02", 1, "mai", "tom"),
                    shot("s02-02", "s02", 2, "tom", framing=Framing.CLOSE_UP),
                ],
            ),
            Scene(id="s03", number=3, setting_id="harbour", shots=[shot("s03-01", "s03", 1, "tom")]),
        ],
    )


def test_a_note_on_the_whole_film_touches_every_shot(film):
    llm = fake()
    revised, revision = revise(film, Feedback(text="make it feel like the 1970s, warm and orange"), llm)
    assert (revision.kind, revision.target) == ("film", "film")
    assert revision.remade == ["s01-01", "s01-02", "s02-01", "s02-02", "s03-01"]
    assert revised.style.era == "1970s"
    assert revised.style.palette[0] == "#f77f00"
    assert "orange" in revised.style.direction
    assert llm.tasks() == ["revise_target", "revise_style"]


def test_a_changed_look_dirties_exactly_the_characters_shots_and_keeps_the_notes_words(film):
    revised, revision = revise(film, Feedback(text="Mai keeps the red raincoat"), fake())
    assert (revision.kind, revision.target) == ("character", "mai")
    assert revision.remade == ["s01-01", "s01-02", "s02-01"]
    assert revised.character("mai").look == "red raincoat, short black hair, silver earrings"
    assert revised.character("mai").signature_color == "#d62828"
    assert revised.character("tom") == film.character("tom")
    assert film.character("mai").look == "short black hair, grey coat", "the given film is not modified"


def test_a_rewrite_that_drops_the_note_is_replaced_by_the_note_merged_into_the_look(film):
    llm = fake(revise_character=[{"look": "a nice person with hair", "color": "blue"}])
    revised, revision = revise(film, Feedback(text="Tom Berg wears a yellow fishing hat"), llm)
    assert revision.target == "tom"
    assert revision.remade == ["s02-01", "s02-02", "s03-01"]
    look = revised.character("tom").look
    assert look.startswith("yellow fishing hat") and "beard" in look


def test_a_note_that_names_nobody_is_placed_by_the_llm_among_the_films_own_people(film):
    llm = fake(
        revise_target=[{"target": "Tom Berg"}],
        revise_character=[{"look": "green scarf, tall, beard", "color": "green"}],
    )
    revised, revision = revise(film, Feedback(text="give him a green scarf"), llm)
    assert (revision.kind, revision.target) == ("character", "tom")
    assert revision.remade == ["s02-01", "s02-02", "s03-01"]
    assert "green scarf" in revised.character("tom").look


def test_a_place_note_dirties_every_shot_set_there(film):
    revised, revision = revise(film, Feedback(text="the harbour is foggy at dawn"), fake())
    assert (revision.kind, revision.target) == ("setting", "harbour")
    assert revision.remade == ["s01-01", "s01-02", "s03-01"]
    harbour = revised.setting("harbour")
    assert harbour.time_of_day == TimeOfDay.DAWN
    assert "fog" in harbour.look
    assert revised.setting("cafe") == film.setting("cafe")


def test_a_scene_note_dirties_only_that_scene_even_when_its_place_is_shared(film):
    revised, revision = revise(film, Feedback(text="make scene 1 a night scene"), fake())
    assert (revision.kind, revision.target) == ("scene", "s01")
    assert revision.remade == ["s01-01", "s01-02"]
    assert revised.scenes[0].time_of_day == TimeOfDay.NIGHT
    assert revised.setting("harbour").time_of_day == TimeOfDay.DUSK, "scene 3 shares the harbour and stays at dusk"


def test_a_note_that_says_the_whole_film_is_for_the_whole_film_even_with_a_shot_selected(film):
    llm = fake()
    _, revision = revise(film, Feedback(text="make the whole film warmer, with golden light", shot="s02-01"), llm)
    assert (revision.kind, revision.target) == ("film", "film")
    assert "revise_target" not in llm.tasks(), "the note's own words decide; the model is not asked"
    _, revision = revise(film, Feedback(text="make every shot in scene 2 warmer"), fake())
    assert (revision.kind, revision.remade) == ("scene", ["s02-01", "s02-02"])


def test_a_selected_scene_takes_the_note(film):
    _, revision = revise(film, Feedback(text="more rain on the windows", scene=2), fake())
    assert (revision.kind, revision.remade) == ("scene", ["s02-01", "s02-02"])


def test_a_shot_note_reframes_only_that_shot(film):
    revised, revision = revise(film, Feedback(text="closer on her hands", shot="s01-02"), fake())
    assert (revision.kind, revision.remade) == ("shot", ["s01-02"])
    changed = revised.shot("s01-02")
    assert changed.framing == Framing.CLOSE_UP
    assert "hands" in changed.direction
    assert [s.model_dump() for s in revised.shots() if s.id != "s01-02"] == [
        s.model_dump() for s in film.shots() if s.id != "s01-02"
    ]


def test_shot_numbers_count_through_the_film(film):
    revised, revision = revise(film, Feedback(text="shot 4 closer on her hands"), fake())
    assert revision.remade == ["s02-02"]
    assert revised.shot("s02-02").framing == Framing.INSERT


def test_a_new_take_changes_only_the_seed(film):
    revised, revision = revise(film, Feedback(text="try again", shot="s03-01"), fake())
    assert revision.remade == ["s03-01"]
    assert revised.shot("s03-01").seed != 11 and revised.shot("s03-01").framing == Framing.MEDIUM


def test_cutting_the_last_scene_removes_it_and_remakes_nothing(film):
    revised, revision = revise(film, Feedback(text="cut the last scene"), fake())
    assert revision.kind == "removal"
    assert revision.removed == ["s03-01"] and revision.remade == []
    assert [scene.id for scene in revised.scenes] == ["s01", "s02"]


def test_removing_a_selected_shot(film):
    revised, revision = revise(film, Feedback(text="remove this", shot="s02-02"), fake())
    assert (revision.kind, revision.removed, revision.remade) == ("removal", ["s02-02"], [])
    assert [s.id for s in revised.shots()] == ["s01-01", "s01-02", "s02-01", "s03-01"]


def test_a_reference_picture_colours_the_character_and_dirties_their_shots(film):
    reference = ReferenceImage(
        kind="character", owner_id="tom", path="references/characters/tom/ab.png", palette=["#f0f0f0", "#1d4e89"]
    )
    revised, revision = revise(film, Feedback(reference=reference), fake())
    assert (revision.kind, revision.remade) == ("reference", ["s02-01", "s02-02", "s03-01"])
    tom = revised.character("tom")
    assert tom.reference_images == ["references/characters/tom/ab.png"]
    assert tom.signature_color == "#1d4e89"


def test_every_note_is_kept_in_the_history(film):
    once, _ = revise(film, Feedback(text="make scene 2 a night scene"), fake())
    twice, _ = revise(once, Feedback(text="closer", shot="s01-01"), fake())
    assert [(r.text, r.kind) for r in twice.feedback] == [("make scene 2 a night scene", "scene"), ("closer", "shot")]


@pytest.mark.parametrize(
    ("feedback", "message"),
    [
        (Feedback(text=""), "empty"),
        (Feedback(text="   \n "), "empty"),
        (Feedback(text="x" * 2001), "characters"),
        (Feedback(text="closer", shot="s09-09"), "no shot 's09-09'"),
        (Feedback(text="closer", scene=7), "no scene 7"),
        (Feedback(text="make shot 42 wider"), "no shot 42"),
        (Feedback(text="cut it"), "say what to cut"),
        (Feedback(text="reframe s04-01 please"), "no shot 's04-01'"),
    ],
)
def test_bad_notes_get_a_clear_message_and_change_nothing(film, feedback, message):
    before = film.model_dump()
    llm = fake()
    with pytest.raises(RevisionError, match=message):
        revise(film, feedback, llm)
    assert film.model_dump() == before
    assert llm.history == []


def test_a_film_keeps_at_least_one_scene():
    single = Film(
        id="one",
        settings=[Setting(id="room", name="Room", look="bare walls")],
        scenes=[Scene(id="s01", number=1, setting_id="room", shots=[shot("s01-01", "s01", 1)])],
    )
    with pytest.raises(RevisionError, match="only"):
        revise(single, Feedback(text="cut scene 1"), fake())


def test_a_100_kb_note_is_refused_before_any_work():
    with pytest.raises(RevisionError, match="102,400 characters"):
        check_feedback(None, Feedback(text="a" * 102_400))


def test_a_voice_note_changes_the_voice_and_remakes_only_the_lines_they_speak(film):
    film.scenes[1].shots[0].dialogue = DialogueLine(character_id="tom", text="Two coffees.")
    film.scenes[1].shots[1].dialogue = DialogueLine(character_id="mai", text="Make it three.")
    film.scenes[2].shots[0].dialogue = DialogueLine(character_id="tom", text="The boat is late.")
    film.character("tom").voice = Voice(espeak="en-us+m3", pitch=50, words_per_minute=170)
    llm = fake()
    revised, revision = revise(film, Feedback(text="give Tom Berg a deeper, slower voice"), llm)
    assert (revision.kind, revision.target) == ("character", "tom")
    assert revision.remade == ["s02-01", "s03-01"], "only Tom's lines, not every shot Tom is in"
    voice = revised.character("tom").voice
    assert (voice.pitch, voice.words_per_minute) == (35, 144)
    assert voice.instructions == "give Tom Berg a deeper, slower voice"
    assert revised.character("tom").look == film.character("tom").look
    assert llm.tasks() == []


def test_a_voice_note_casts_a_voice_first_and_whispers(film):
    film.scenes[0].shots[0].dialogue = DialogueLine(character_id="mai", text="Listen.")
    revised, revision = revise(film, Feedback(text="Mai whispers"), fake())
    assert revised.character("mai").voice.espeak.endswith("+whisper")
    assert revision.remade == ["s01-01"]


def test_a_voice_note_that_asks_for_nothing_a_voice_can_do_is_refused(film):
    with pytest.raises(RevisionError, match="deeper or higher"):
        revise(film, Feedback(text="Mai's voice should be purple"), fake())
