"""The writer's judgement of weak answers: colours from looks, echoes refused, script descriptions first."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents import defaults
from agents.answers import scene_answer_model
from agents.writing.casting_notes import script_description
from agents.writing.colours import character_colour_name
from agents.writing.premise import beings_in, language_of, story_beat
from agents.writing.screenplay import read_screenplay
from agents.writing.text_checks import acceptable_text
from tools.prose import ProseKind, is_prose

EXAMPLE = Path(__file__).parents[1] / "examples" / "the_last_ferry.fountain"


def test_a_characters_colour_comes_from_the_colour_their_look_names():
    assert character_colour_name("60s, yellow oilskin coat, silver braid", "red", set()) == "yellow"
    assert character_colour_name("grey city coat", "black", set()) == "grey"
    assert character_colour_name("a plain coat", "navy", {"yellow", "grey"}) not in {"navy", "black", "yellow", "grey"}


def test_answers_that_echo_the_question_are_refused():
    assert not acceptable_text("The Last Ferry", "The Last Ferry")
    assert not acceptable_text(
        "Mara, harbour control.", "Marta, harbour control. They switch off the buoys", "Mara, harbour control."
    )
    assert not acceptable_text("tall", "The Last Ferry")
    assert acceptable_text("short grey hair, navy wool coat", "The Last Ferry", "Benno")


def test_a_list_of_colours_is_a_palette_not_a_look():
    assert not acceptable_text("blue, red, green", "A lighthouse keeper's daughter")
    assert not acceptable_text("blue and a red", "A lighthouse keeper's daughter")
    assert acceptable_text("a blue oilskin, red boots", "A lighthouse keeper's daughter")


def test_the_script_describes_its_people_at_first_mention():
    script = read_screenplay(EXAMPLE)
    assert script_description(script, "MARGIT") == "60s, yellow oilskin coat, silver braid"
    assert script_description(script, "BENNO") == ""


@pytest.mark.parametrize(
    "premise",
    [
        "A lighthouse keeper and a stray dog wait out the last storm",
        "Two rival bakers must share one oven on the night before the village fair, and neither will give an inch "
        "while the whole town waits for bread",
        "Ünïcødé — «quotes» & symbols #1: a robot, an owl, and 42 {braces} [brackets]!",
        "x" * 300,
        "12345 67890",
        "A film director loses the camera on the last day of the shoot.",
        "An empty theatre on the last night before it is torn down, its seats and curtains alone with the rain.",
        "Ein alter Uhrmacher in Leipzig repariert zum letzten Mal die Turmuhr seines Viertels.",
    ],
)
def test_defaults_derived_from_any_premise_are_valid_answers(premise):
    """The safety net must never fail itself: every default validates against the answer schemas."""
    titled = defaults.title_from_premise(premise)
    cast = defaults.cast_from_premise(premise)
    places = defaults.settings_from_premise(premise)
    names = [c.name for c in cast.characters]
    setting_names = [p.name for p in places.settings]
    language = language_of(premise)
    for speakers in (names, []):
        schema = scene_answer_model(setting_names, names, speakers)
        for number in (1, 2, 3):
            beat = story_beat(number, 3)
            opening = defaults.first_sentence(premise)
            schema.model_validate(
                defaults.scene_from_premise(opening, number, beat, setting_names, names, speakers, language)
            )
    for index, being in enumerate(beings_in(premise, language)):
        assert is_prose(defaults.being_idea(being, index).look, ProseKind.PHRASE)
    defaults.shots_for_scene(3)
    defaults.setting_look_for(premise[:60], True)
    defaults.setting_look_for(" ,".join(premise.split()[:3]), False)
    assert titled.title and cast.characters and places.settings
    assert is_prose(titled.logline, ProseKind.SENTENCE)


@pytest.mark.parametrize(
    ("line", "usable"),
    [
        ("Hold on, Biscuit.", True),
        ("We wait.", True),
        ("Inside the lighthouse", False),
        ("Ava", False),
        ("In one sentence: the fair begins", False),
        ("and then he said...", False),
    ],
)
def test_lines_that_read_back_the_question_are_not_spoken(line, usable):
    from agents.writing.premise_film import spoken_line_usable

    assert spoken_line_usable(line, ["Ava", "Ethan", "Inside the lighthouse"]) is usable


def test_a_line_that_tells_of_speech_is_not_a_line_and_a_person_is_not_a_place():
    from agents.answers import SettingIdea, SettingsAnswer
    from agents.writing.premise_film import settings_from_answer, spoken_line_usable

    assert not spoken_line_usable("She said: 'I'm going to the bathroom'.", ["Mirai"])
    assert not spoken_line_usable("He said to the father, you can't just leave your home alone.", ["Mirai"])
    assert spoken_line_usable("I'm going up to the lamp.", ["Mirai"])
    answer = SettingsAnswer(
        settings=[
            SettingIdea(name="Lighthouse keeper's daughter", look="a narrow stair, salt on glass", time_of_day="night",
                        interior=True, colors=["blue", "grey"]),
            SettingIdea(name="The lamp room", look="a great brass lamp, rain on the windows", time_of_day="night",
                        interior=True, colors=["yellow", "brown"]),
        ]
    )  # fmt: skip
    assert [setting.name for setting in settings_from_answer(answer)] == ["The lamp room"]


@pytest.mark.parametrize(
    ("premise", "title"),
    [
        ("A lighthouse keeper and her stray dog wait out the last storm before the lamp is switched off for good.",
         "The Lamp"),
        ("An empty theatre on the last night before it is torn down.", "The Last Night"),
    ],
)  # fmt: skip
def test_a_title_taken_from_the_premise_never_stops_inside_a_verb(premise: str, title: str) -> None:
    """Seen in a premise film: "The Lamp Is Switched", cut from "the lamp is switched off for good"."""
    assert defaults.title_from_premise(premise).title == title
