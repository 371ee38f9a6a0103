"""The prose gate: the noise a 135M model wrote into real films is refused; real screenplay sentences pass."""

from __future__ import annotations

import pytest
from fake_llm import FakeLLM
from pydantic import ValidationError

from agents.answers import RubricAnswer, TitleAnswer
from tools.llm.structured_output import InvalidAnswer, parse_answer
from tools.prose import ProseKind, check_prose, detect_language, split_sentences, whole_sentences

NOISE = [
    # Shot actions and notes the bundled model wrote into `make demo` and a premise film (issue 12).
    "push-in,pull-out 3x100px,pan or tilt 256px,insert, pan or tilt,select all 2, insert pivot point 4x80px,shift,rel",
    "push-in 2018.jpg 'The wind and spray', noor stands alone at the rail, the bag...noir.com",
    "push-in 1080p video with no audio",
    "A vending machine hums. One",
    "pull-out 1234567890x12345 x 1234567890x12345",
    "push-out-360-pi2 1.8fcrrblkdzgvhj lnwc4b",
    "noir- noire- noire- noire- noire- noire- noire- noire-",
    "noir noire noire noire noire",
    "new-prompt, new-framing",
    # Markup, addresses, units and other shapes of noise.
    "<img src=x onerror=alert(1)>",
    "The storm **rises** over the tower.",
    "See https://example.org for the full story.",
    "She opens scene_04.png on the laptop.",
    "A 44 kHz hum fills the empty room.",
    "The camera pans 256 px to the left.",
    "Margit walks slowly to the",
    "Curly red hair, green apron, and",
    "The keeper climbs the stairs,",
    "the the the the the the",
    "He says (quietly and then",
    "xkcd qwrtplk zzgrt vbnm",
    "Answer with JSON only.",
]
PROSE = [
    ("A rust-streaked ferry, the MARTA, idles against a concrete ramp. Gulls wheel in a copper sky.", "en"),
    ("MARGIT (60s, yellow oilskin coat, silver braid) peels the timetable off the ticket window.", "en"),
    ("He played every crossing the summer of '86. Never paid once.", "en"),
    ("Rows of empty orange seats sway with the swell. A vending machine hums. One wall is a patchwork.", "en"),
    ("It's 11:45 and the 3rd bell rings over the harbour in 1986.", "en"),
    ("Mr. Okafor locks the shop at dusk and counts the takings twice.", "en"),
    ("Strengths and weaknesses: she names them all, one by one.", "en"),
    ("Ein Leuchtturmwärter und ein streunender Hund warten den letzten Sturm ab.", "de"),
    ("Angstschweiß steht ihm auf der Stirn, als die Tür aufgeht.", "de"),
    ("Le vieux pêcheur répare ses filets à l'aube, près du phare.", "fr"),
    ("El niño corre bajo la lluvia hacia la estación del tren.", "es"),
    ("La nonna stende il bucato mentre il temporale si avvicina.", "it"),
    ("Старик смотрит на море и ждёт возвращения лодки.", "ru"),
]


@pytest.mark.parametrize("text", NOISE)
def test_noise_is_refused_with_a_reason(text: str) -> None:
    verdict = check_prose(text, ProseKind.SENTENCE)
    assert not verdict.ok
    assert verdict.reason


@pytest.mark.parametrize(
    "title", ["Ein Leuchtturmwir der und eine Streunender Hund warten", "push-in 4x80px", "The Last and", "## Scene 1"]
)
def test_noisy_titles_are_refused(title: str) -> None:
    assert not check_prose(title, ProseKind.TITLE).ok


@pytest.mark.parametrize(("text", "language"), PROSE)
def test_screenplay_sentences_in_several_languages_pass(text: str, language: str) -> None:
    assert check_prose(text, ProseKind.SENTENCE).ok, check_prose(text, ProseKind.SENTENCE).reason
    assert check_prose(text, ProseKind.SENTENCE, language=language).ok


@pytest.mark.parametrize("name", ["Noor", "Zoë", "Margit", "Jean-Luc", "O'Brien", "Łucja", "Ögmundur", "The Stray Dog"])
def test_names_with_accents_and_other_letters_pass(name: str) -> None:
    assert check_prose(name, ProseKind.NAME).ok


@pytest.mark.parametrize("line", ["Hmm.", "Wait!", "I thought...", "Psst. Over here.", "Forty years, Benno.", "No."])
def test_short_spoken_lines_pass_as_lines(line: str) -> None:
    assert check_prose(line, ProseKind.LINE).ok


def test_a_trailing_ellipsis_is_a_line_trailing_off_but_a_summary_cut_short() -> None:
    assert check_prose("I thought we had more time...", ProseKind.LINE).ok
    assert not check_prose("The keeper climbs the stairs and...", ProseKind.SENTENCE).ok


def test_a_line_in_another_language_than_the_film_is_refused_when_asked() -> None:
    verdict = check_prose("Reseau de le Louvre et la Seine ce soir", ProseKind.LINE, language="en")
    assert not verdict.ok and "fr" in verdict.reason
    assert check_prose("We should go back before the tide turns.", ProseKind.LINE, language="en").ok


def test_short_texts_keep_the_films_language() -> None:
    assert detect_language("We wait.", default="de") == "de"
    assert detect_language("Ein Leuchtturmwärter und ein streunender Hund warten den letzten Sturm ab.") == "de"


def test_an_answer_copying_the_question_is_refused() -> None:
    question = "Premise: A lighthouse keeper and a stray dog wait out the last storm of the winter together."
    copy = "A lighthouse keeper and a stray dog wait out the last storm"
    assert not check_prose(copy, ProseKind.SENTENCE, echoes=[question]).ok
    assert check_prose("The keeper feeds the dog and lights the lamp.", ProseKind.SENTENCE, echoes=[question]).ok


def test_the_gate_is_part_of_the_answer_schemas_and_counted_as_not_prose() -> None:
    with pytest.raises(InvalidAnswer) as refused:
        parse_answer('{"story": 1, "continuity": 1, "note": "noir- noire- noire- noire- noire- noire-"}', RubricAnswer)
    assert refused.value.not_prose
    with pytest.raises(InvalidAnswer) as malformed:
        parse_answer('{"story": 9, "continuity": 1, "note": "A clear and steady little film."}', RubricAnswer)
    assert not malformed.value.not_prose
    question = "Premise: a baker and her rival share one oven on the night before the village fair."
    with pytest.raises(InvalidAnswer):
        parse_answer(
            '{"title": "One Oven", "logline": "a baker and her rival share one oven on the night before"}',
            TitleAnswer,
            question=question,
        )
    with pytest.raises(ValidationError):
        TitleAnswer(title="push-in 1080p", logline="A baker and her rival share one oven before the fair.")


def test_sentences_split_whole_and_captions_keep_whole_sentences() -> None:
    text = 'Mr. Okafor waits. She runs! "Go." Then 3 men come in from the rain.'
    assert split_sentences(text) == ["Mr. Okafor waits.", "She runs!", '"Go."', "Then 3 men come in from the rain."]
    assert whole_sentences(text, 5) == "Mr. Okafor waits. She runs!"
    assert whole_sentences(text, 4) == "Mr. Okafor waits."
    assert whole_sentences("One very long sentence that goes on and on past the budget.", 3).endswith("budget.")


def test_an_answer_the_gate_refuses_is_asked_for_once_more_then_the_default_stands() -> None:
    noise = {"story": 1, "continuity": 1, "note": "noir- noire- noire- noire- noire- noire-"}
    llm = FakeLLM({"rubric": [noise] * 3}, max_retries=2)
    answer, used_default = llm.complete_structured_or(
        lambda: RubricAnswer(story=3, continuity=3, note="no usable answer from the model"),
        system="critic",
        user="score the cut",
        schema=RubricAnswer,
        task="rubric",
    )
    assert used_default and answer.note == "no usable answer from the model"
    assert len(llm.history[0].answers) == 2
    assert llm.usage.tasks["rubric"].rejected == 2 and llm.usage.tasks["rubric"].failures == 1


def test_a_dash_between_words_is_punctuation_not_a_word_cut_off() -> None:
    prompt = "Marta - Wheelhouse (interior, night): brass fittings. Margit: 60s, yellow oilskin coat — silver braid."
    assert check_prose(prompt, ProseKind.PROMPT).ok
    assert not check_prose("noir- noire- and so it goes on", ProseKind.SENTENCE).ok


@pytest.mark.parametrize(
    "look",
    ["vieil homme, Sébastian-Marie-Bertrand de la Forê", "nieto, Alejandro Carmelo Pérez", "Alec Brown, a Red Goat"],
)
def test_a_look_that_is_names_is_refused(look: str) -> None:
    assert not check_prose(look, ProseKind.PHRASE).ok
    assert check_prose("60s, yellow oilskin coat, silver braid", ProseKind.PHRASE).ok


@pytest.mark.parametrize(
    ("text", "language", "ok"),
    [
        ("Alejandro is the last member of a family that has dedicated their life'swork.", "en", False),
        ("She won't say the fisherman's name out loud tonight.", "en", True),
        ("L'homme attend aujourd'hui le dernier bateau du port.", "fr", True),
        ("Dell'acqua non resta niente nel porto questa sera.", "it", True),
    ],
)
def test_two_words_glued_at_an_apostrophe_are_not_a_word(text: str, language: str, ok: bool) -> None:
    assert bool(check_prose(text, ProseKind.SENTENCE, language=language)) is ok


@pytest.mark.parametrize(
    ("look", "owned"),
    [
        ("Lena's kitchen in the city.", True),
        ("Alejandro's home town.", True),
        ("warm lamp light, worn wooden walls, a rain-streaked window", False),
        ("the keeper's brass lamp, salt-streaked glass", False),
    ],
)
def test_a_look_that_names_an_owner_instead_of_describing_is_seen(look: str, owned: bool) -> None:
    from tools.prose import names_an_owner

    assert names_an_owner(look) is owned


def test_a_word_said_twice_in_a_row_is_a_stutter_not_prose():
    assert not check_prose("Tower Tower, a cityscape with the sun shining in a tower.", ProseKind.SENTENCE)
    assert check_prose("The wind goes knock knock at the door.", ProseKind.SENTENCE)
    assert check_prose("The tower stands over the town, and the tower light turns.", ProseKind.SENTENCE)


@pytest.mark.parametrize(
    "text",
    [
        "The crisis: a difficult moment in a story.",
        "The scene where Rex and Ella face a difficult moment.",
        "The village fair scene, where Rex is standing his ground at the fair.",
        "A story about how they ended it with a single sentence.",
        "The tale of a keeper and her dog on the last night.",
    ],
)
def test_a_beat_that_describes_the_story_from_outside_is_not_an_action(text: str) -> None:
    assert not check_prose(text, ProseKind.SENTENCE)


def test_words_run_together_are_glued_but_names_with_inner_capitals_are_not():
    verdict = check_prose("The Boxer's Grandad: Stand Your Ground at thevillageFair", ProseKind.TITLE)
    assert not verdict and "thevillageFair" in verdict.reason
    assert check_prose("McDonald and LeBron meet DeShawn at the fair", ProseKind.SENTENCE)
    assert check_prose("She checks her iPhone and her old macOS laptop.", ProseKind.SENTENCE)


def test_a_sentence_that_stops_before_what_is_said_is_cut_off():
    verdict = check_prose("He looks at the keeper, holding his hand, and says", ProseKind.SENTENCE)
    assert not verdict and "before what is said" in verdict.reason
    assert check_prose("The keeper nods and says nothing.", ProseKind.SENTENCE)


def test_words_strung_together_with_hyphens_are_not_prose() -> None:
    """Seen in review.json: a rubric note of hyphenated name chains."""
    noise = "fizzle-laser-wilson-john emilyne-david-bruce-jack alice-marcel-alisa-maria jaclyn-sara-jennifer-jeh"
    verdict = check_prose(noise, ProseKind.NOTE)
    assert not verdict and "hyphens" in verdict.reason
    assert check_prose("Her mother-in-law waits on the twenty-two-year-old ferry.", ProseKind.SENTENCE)
