"""The composer's rules: a scene's own words choose its mood, the model only where they name none, and never
against words that clearly name another; keys, tempi, instruments, marked cuts and themes follow by rule.

Pure logic on a film built here, with the scripted fake LLM.
"""

from __future__ import annotations

from types import SimpleNamespace

from fake_llm import FakeLLM

from agents.composer import score_scene
from agents.sound_rules import default_ambience, default_music, key_for, main_characters, marked_changes
from agents.state import Character, DialogueLine, Film, Scene, Setting
from tools.render.spec import TimeOfDay
from tools.sound.ambience import AmbienceKind

SCENES = {
    1: "Rain hammers the pier. The storm drives Noor to run for the shelter in fear.",
    2: "Noor sits at the kitchen table with a cup.",
    3: "At the funeral Noor cries; it is the last goodbye and she is alone.",
    4: "Tom and Noor stand by the window.",
}


def film() -> Film:
    lines = {1: ("noor", "Wait for me."), 2: ("tom", "Sit down."), 4: ("noor", "We made it."), 3: ("tom", "Go.")}
    scenes = [
        Scene(
            id=f"s0{number}",
            number=number,
            setting_id="pier" if number in (1, 3) else "kitchen",
            summary=text,
            character_ids=["noor", "tom"] if number != 1 else ["noor"],
            dialogue=[DialogueLine(character_id=lines[number][0], text=lines[number][1])],
        )
        for number, text in SCENES.items()
    ]
    return Film(
        id="storm-film",
        title="Storm",
        characters=[Character(id="noor", name="Noor", look="red coat"), Character(id="tom", name="Tom", look="cap")],
        settings=[
            Setting(id="pier", name="The pier", look="wet planks, grey sea", time_of_day=TimeOfDay.NIGHT),
            Setting(id="kitchen", name="Kitchen", look="a small warm kitchen", interior=True),
        ],
        scenes=scenes,
    )


def context(llm: FakeLLM) -> SimpleNamespace:
    return SimpleNamespace(llm=llm)


def test_a_scene_whose_words_name_a_mood_gets_it_and_the_model_is_not_asked() -> None:
    story = film()
    llm = FakeLLM({"score": [{"mood": "playful", "intensity": 5}]})
    cue, by_model = score_scene(story, story.scenes[0], context(llm))
    assert (cue.mood, cue.mode, by_model, cue.by) == ("tense", "minor", False, "rules")
    funeral, _ = score_scene(story, story.scenes[2], context(llm))
    assert (funeral.mood, funeral.mode, funeral.instrumentation) == ("sad", "minor", "piano")
    assert llm.tasks() == [], "words that name a mood leave nothing to ask"


def test_the_model_chooses_only_where_the_words_are_silent_within_the_enums() -> None:
    story = film()
    llm = FakeLLM({"score": [{"mood": "hopeful", "intensity": 5}]})
    cue, by_model = score_scene(story, story.scenes[1], context(llm))
    assert by_model and cue.by == "composer" and cue.mood == "hopeful" and cue.mode == "major"
    assert cue.key == key_for(story, "major") and cue.intensity in (3, 4), "the model's 5 meets the arc's 2"
    assert llm.tasks() == ["score"]
    broken = FakeLLM({"score": ['{"mood": "jazzy", "intensity": 9}'] * 3})
    cue, by_model = score_scene(story, story.scenes[1], context(broken))
    assert not by_model and cue == default_music(story, story.scenes[1]), "an answer outside the enums is refused"


def test_keys_are_related_tempo_follows_the_mood_and_a_change_of_mood_marks_the_cut() -> None:
    story = film()
    cues = marked_changes([default_music(story, scene) for scene in story.scenes])
    assert [cue.mood for cue in cues] == ["tense", "calm", "sad", "calm"]
    assert cues[0].key == key_for(story, "minor") and cues[1].key == key_for(story, "major")
    assert [cue.mark_change for cue in cues] == [True, True, True, True]
    assert cues[0].tempo > cues[1].tempo > cues[2].tempo
    same = marked_changes([cues[1], cues[1].model_copy(update={"scene_id": "s05"})])
    assert same[1].mark_change is False, "the same mood, mode and instruments carry on across the cut"


def test_who_speaks_in_two_scenes_has_a_theme_and_beds_follow_the_place() -> None:
    story = film()
    assert main_characters(story) == ["noor", "tom"]
    pier = default_ambience(story, story.scenes[0])
    assert pier.layers[0].kind == AmbienceKind.RAIN and AmbienceKind.SEA in {layer.kind for layer in pier.layers}
    kitchen = default_ambience(story, story.scenes[1])
    assert [layer.kind for layer in kitchen.layers] == [AmbienceKind.ROOM]
