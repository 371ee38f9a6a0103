"""The writer's judgement of weak answers: colours from looks, echoes refused, script descriptions first."""

from __future__ import annotations

from pathlib import Path

from agents.screenplay import read_screenplay
from agents.writer import acceptable_text, script_description, signature_colour

EXAMPLE = Path(__file__).parents[1] / "examples" / "the_last_ferry.fountain"


def test_a_characters_colour_comes_from_the_colour_their_look_names():
    assert signature_colour("60s, yellow oilskin coat, silver braid", "red", set()) == "yellow"
    assert signature_colour("grey city coat", "black", set()) == "grey"
    assert signature_colour("a plain coat", "navy", {"yellow", "grey"}) not in {"navy", "black", "yellow", "grey"}


def test_answers_that_echo_the_question_are_refused():
    assert not acceptable_text("The Last Ferry", "The Last Ferry")
    assert not acceptable_text(
        "Mara, harbour control.", "Marta, harbour control. They switch off the buoys", "Mara, harbour control."
    )
    assert not acceptable_text("tall", "The Last Ferry")
    assert acceptable_text("short grey hair, navy wool coat", "The Last Ferry", "Benno")


def test_the_script_describes_its_people_at_first_mention():
    script = read_screenplay(EXAMPLE)
    assert script_description(script, "MARGIT") == "60s, yellow oilskin coat, silver braid"
    assert script_description(script, "BENNO") == ""
