"""A logline must hold something of its story, and a title no made-up word: what a small model writes is checked."""

from __future__ import annotations

from fake_crew import crew

from agents.state import RunState
from agents.writing.screenplay import parse_fountain
from agents.writing.script_film import film_from_screenplay, script_logline
from agents.writing.text_checks import about_the_story, invented_words

STORY = "The island ferry makes its final crossing tonight. Margit steers the Marta through the fog to the jetty."
SCRIPT = """Title: The Last Ferry

EXT. FERRY RAMP - NIGHT

The island ferry idles at the ramp. Fog rolls over the black water.

MARGIT (60s, yellow oilskin coat) coils a rope.

MARGIT
Last crossing. Nobody else is coming.
"""


def test_a_logline_that_names_the_story_or_its_people_is_about_it() -> None:
    assert about_the_story("A ferry captain makes one last crossing before the bridge opens.", STORY)
    assert about_the_story("Margit says goodbye to the sea.", STORY, ("Margit",))
    assert not about_the_story("A line of text in a paragraph.", STORY)
    assert not about_the_story("A story about a new life.", STORY), "words the question uses say nothing"
    assert not about_the_story("Margaret wins the lottery.", STORY, ("Margit",)), "a name is matched whole"


def test_a_screenplay_keeps_its_own_logline_when_the_model_writes_about_nothing() -> None:
    script = parse_fountain(SCRIPT)
    llm = crew({"logline": [{"logline": "A line of text in a paragraph."}]})
    film = film_from_screenplay(script, RunState(film_id="ferry", screenplay=SCRIPT), llm)
    assert film.logline == " ".join(script_logline(script, film.title).split())
    grounded = crew({"logline": [{"logline": "Margit takes the island ferry across one last time."}]})
    assert film_from_screenplay(script, RunState(film_id="ferry", screenplay=SCRIPT), grounded).logline == (
        "Margit takes the island ferry across one last time."
    )


def test_a_title_with_a_word_nobody_said_is_made_up() -> None:
    premise = "A night-shift nurse and a lost boy look for his grandfather's house before the storm floods the valley"
    assert invented_words("A Night-Shaftonan 21", premise) == ["Shaftonan"]
    assert invented_words("Before the Flood", premise) == []
    assert invented_words("Grandfather's House", premise) == []
    assert invented_words("Noor Remembers", "Noor keeps the lighthouse") == [], "a name the premise gives is kept"
