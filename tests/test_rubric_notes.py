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


def test_a_look_after_the_premise_phrase_reads_as_one_phrase() -> None:
    grandfather = Being(phrase="grandfather", kind="person")
    assert being_look(grandfather, "A man with a red shirt.") == "grandfather, a man with a red shirt"
    assert being_look(grandfather, "Anna's old coat") == "grandfather, Anna's old coat", "a name keeps its capital"
