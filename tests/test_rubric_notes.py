"""What the small model writes is checked before a person reads it: a rubric note and a premise character's look."""

from __future__ import annotations

from agents.critic import says_something
from agents.writing.premise import Being
from agents.writing.premise_film import being_look


def test_a_rubric_note_must_judge_not_list() -> None:
    assert says_something("the middle of the film drags")
    assert says_something("Said in a voice that was too loud, for the night")
    assert not says_something("the end of the day shift nurse, the lost boy"), "names listed, nothing judged"
    assert not says_something("new-prompt, new-framing")
    assert not says_something("The Story of the Daughter"), "a title judges nothing"
    assert not says_something("A List Of Names Not A Sentence")
    assert says_something("The ferry scenes drag"), "a sentence may open on a capital"


def test_a_rubric_note_that_tells_the_story_again_judges_nothing() -> None:
    from agents.critic import retells_the_story
    from agents.state import Film

    premise = "A street violinist plays for a deaf girl who feels the music through the pavement"
    film = Film(id="f", title="The Music", logline=f"{premise}.", premise=premise)
    assert retells_the_story("A street violinist played for a deaf girl that felt her music through the t of l", film)
    assert not retells_the_story("the middle of the film drags", film)
    assert not retells_the_story("the street scenes drag and the music is too quiet", film), "it names, and judges"


def test_a_rubric_note_that_speaks_to_someone_is_discarded() -> None:
    from types import SimpleNamespace

    from fake_crew import crew

    from agents.critic import ask_rubric
    from agents.state import Film

    film = Film(id="f", title="The Tailor", logline="An old tailor sews a wedding dress.")
    spoken = {"story": 2, "continuity": 3, "note": "a tale that has been told many times before in your life"}
    rubric, _, discarded = ask_rubric(film, SimpleNamespace(llm=crew({"rubric": [spoken]})), 1)
    assert rubric is None and discarded == 1


def test_a_look_after_the_premise_phrase_reads_as_one_phrase() -> None:
    grandfather = Being(phrase="grandfather", kind="person")
    assert being_look(grandfather, "A man with a red shirt.") == "grandfather, a man with a red shirt"
    assert being_look(grandfather, "Anna's old coat") == "grandfather, Anna's old coat", "a name keeps its capital"


def test_a_weakest_shot_reason_that_speaks_to_someone_judges_no_shot() -> None:
    from types import SimpleNamespace

    from fake_crew import crew

    from agents.critic import ask_rubric
    from agents.state import Film, Scene, Shot

    film = Film(
        id="f",
        title="The Music",
        scenes=[Scene(id="s01", number=1, setting_id="street", shots=[Shot(id="s01-01", scene_id="s01", order=1)])],
    )
    low = {"story": 1, "continuity": 2, "note": "the middle of the film drags"}
    for reason, flagged in (("You got 'It' wrong.", False), ("too dark to read", True)):
        llm = crew({"rubric": [low], "weakest_shot": [{"shot": "s01-01", "change": "new_seed", "reason": reason}]})
        _, verdict, discarded = ask_rubric(film, SimpleNamespace(llm=llm), 2)
        assert (verdict is not None) == flagged and discarded == (0 if flagged else 1), reason
