"""Reading a chat message: rules decide where the words do, the model only proposes, nothing unclear is a note."""

from __future__ import annotations

import pytest
from fake_llm import FakeLLM

from agents.chat.converse import MessageKind, classify_message
from agents.state import Film


@pytest.fixture(scope="module")
def film(fake_crew_film) -> Film:
    film = fake_crew_film.load_film()
    assert film is not None and len(film.shots()) >= 3
    return film


@pytest.mark.parametrize(
    "text",
    [
        "Why did you set the second scene at night?",
        "What do you think is the weakest shot?",
        "🌊🐕⚡🕯️",
        "<img src=x onerror=alert(1)>",
        "<script>alert(1)</script>",
        "https://example.com/picture.png",
        "what if scene 2 were at night?",
        "Warum ist die zweite Szene nachts?",
        "pourquoi la nuit ?",
        "hello",
        "12345",
        "",
    ],
)
def test_questions_and_noise_are_never_notes(film, text):
    intent = classify_message(text, film, None)
    assert intent.kind != MessageKind.NOTE
    assert intent.decided_by == "rules" and intent.reason


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Why did you set the second scene at night?", MessageKind.QUESTION),
        ("What do you think is the weakest shot?", MessageKind.QUESTION),
        ("what if scene 2 were at night?", MessageKind.QUESTION),
        ("🌊🐕⚡🕯️", MessageKind.CHAT),
        ("<img src=x onerror=alert(1)>", MessageKind.CHAT),
        ("thanks!", MessageKind.CHAT),
        ("make scene 2 a night scene", MessageKind.NOTE),
        ("closer on her hands", MessageKind.NOTE),
        ("can you make the sky red?", MessageKind.NOTE),
        ("Could you please add more fog", MessageKind.NOTE),
        ("more fog in scene 3", MessageKind.NOTE),
        ("Agnes should wear red", MessageKind.NOTE),
        ("undo", MessageKind.UNDO),
        ("go back", MessageKind.UNDO),
        ("take that back", MessageKind.UNDO),
        ("use the earlier take of shot 3", MessageKind.UNDO),
        ("go", MessageKind.APPROVAL),
        ("looks good", MessageKind.APPROVAL),
        ("Ship it!", MessageKind.APPROVAL),
        ("👍", MessageKind.APPROVAL),
    ],
)
def test_the_rules_read_the_plain_cases(film, text, kind):
    intent = classify_message(text, film, None)
    assert intent.kind == kind, intent.reason
    assert intent.decided_by == "rules" and intent.certain


def test_the_earlier_take_names_the_shot_from_the_film(film):
    third = film.shots()[2].id
    assert classify_message("use the earlier take of shot 3", film, None).shot == third
    first = film.shots()[0].id
    assert classify_message(f"please use the previous take of {first.upper()}", film, None).shot == first
    assert classify_message("use the earlier take of shot 99", film, None).shot is None


def test_a_model_note_is_only_a_proposal(film):
    llm = FakeLLM({"converse": [{"kind": "note"}]})
    intent = classify_message("the sea feels too calm", film, llm)
    assert intent.kind == MessageKind.NOTE and intent.decided_by == "model"
    assert not intent.certain
    assert llm.tasks() == ["converse"]
    assert "the sea feels too calm" in llm.history[0].user


def test_the_model_is_not_asked_when_the_rules_decide(film):
    llm = FakeLLM({"converse": [{"kind": "note"}]})
    assert classify_message("why is it dark?", film, llm).kind == MessageKind.QUESTION
    assert llm.history == []


def test_a_model_question_is_certain(film):
    intent = classify_message("the sea feels too calm", film, FakeLLM({"converse": [{"kind": "question"}]}))
    assert intent.kind == MessageKind.QUESTION and intent.certain


@pytest.mark.parametrize("answers", [[], ["not json"] * 3, [{"kind": "explode"}] * 3])
def test_no_model_or_a_bad_answer_makes_a_question(film, answers):
    llm = FakeLLM({"converse": answers}) if answers else None
    intent = classify_message("the sea feels too calm", film, llm)
    assert intent.kind == MessageKind.QUESTION and intent.certain


def test_a_huge_message_is_read_quickly_and_not_as_a_certain_note(film):
    intent = classify_message("storm " * 50_000, film, None)
    assert not (intent.kind == MessageKind.NOTE and intent.certain)
