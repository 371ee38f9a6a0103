"""Answering a question about a film from its own records, without changing a byte of them.

Every fact comes from the project's files (film.json, review.json, manifest.json, run.json, runs.json), read
and never written; the model, when one is given, only picks which kind of question it is.
"""

from __future__ import annotations

import re

from pydantic import create_model

from agents.answers import Answer, choice_of
from agents.chat.answer_drafts import Draft, FilmAnswer, FilmRecords, Topic, read_records
from agents.chat.mentions import (
    character_in,
    scene_number,
    setting_in,
    shot_reference,
    time_in,
)
from agents.chat.topic_answers import ANSWERERS, overview
from agents.project import Project
from agents.prompting import ask
from agents.state import Film
from tools.llm.asking import StructuredLLM
from tools.llm.errors import LLMUnavailableError

_RULES: list[tuple[Topic, re.Pattern[str]]] = [
    (Topic.COST, re.compile(r"\b(cost|costs|price|money|spend|spent|paid|pay|tokens?|budget|compute|expensive|"
                            r"how\s+long\s+did|how\s+long\s+does\s+it\s+take|took|render(?:ing)?\s+time)\b")),
    (Topic.REVIEW, re.compile(r"\b(critic|critics|review|reviewed|verdicts?|scores?|scored|weakest|worst|best|"
                              r"strongest|flagged|flag|fail|failed|passed|pass|reshoots?|rubric|think\s+of)\b")),
    (Topic.SOUND, re.compile(r"\b(music|musical|soundtrack|themes?|motifs?|melody|ambiences?|ambient|atmosphere|"
                             r"loudness|lufs|stems?|mix|tempo|instruments?|soundfont|background\s+sound)\b")),
    (Topic.VOICE, re.compile(r"\b(voices?|sounds?|speaks?|speaking|accent|pitch|espeak)\b")),
    (Topic.NOTES, re.compile(r"\b(notes?|changes|changed|revisions?|edits|remade|history|undo)\b")),
]  # fmt: skip
_WHY_TIME = re.compile(r"\b(why|how\s+come|what\s+(?:made|set|makes)|who\s+(?:made|set|decided))\b|time\s+of\s+day")
_WHO = re.compile(r"\b(who|characters?|cast|people|person|look|looks|wear|wears|wearing)\b")
_PLACE = re.compile(r"\b(where|place|places|location|locations|settings?|set\s+in)\b")
_COUNTS = re.compile(r"\b(how\s+many|how\s+long|length|duration|runtime|minutes|seconds|count|number\s+of)\b")


def topic_by_rules(question: str, film: Film | None) -> Topic | None:
    """The kind of question the words decide, or None when only a model (or the overview) can."""
    text = question.lower()
    if film is None:
        return Topic.OVERVIEW
    if time_in(text) is not None and _WHY_TIME.search(text):
        return Topic.TIME_OF_DAY
    for topic, pattern in _RULES:
        if pattern.search(text):
            return topic
    if shot_reference(text):
        return Topic.SHOT
    if character_in(text, film) is not None:
        return Topic.CHARACTER
    if _PLACE.search(text) or setting_in(text, film) is not None:
        return Topic.PLACE
    if scene_number(text, film) is not None:
        return Topic.SCENE
    if _WHO.search(text):
        return Topic.CHARACTER
    if _COUNTS.search(text):
        return Topic.COUNTS
    if time_in(text) is not None:
        return Topic.TIME_OF_DAY
    return None


def topic_by_model(question: str, film: Film, llm: StructuredLLM) -> Topic:
    """The model's pick among the topics, or the overview when it cannot pick."""
    schema = create_model("TopicAnswer", __base__=Answer, topic=(choice_of([topic.value for topic in Topic]), ...))
    fallback = schema(topic=Topic.OVERVIEW.value)
    try:
        answer, _ = ask(llm, "answer_topic", schema, lambda: fallback, title=film.title, question=question[:2000])
    except LLMUnavailableError:
        answer = fallback
    return Topic(answer.topic)


def answer_question(project: Project, question: str, llm: StructuredLLM | None = None) -> FilmAnswer:
    """Answer `question` about the film in `project` from its files alone; nothing is written."""
    records = read_records(project)
    film = records.film
    if film is None:
        return _no_film(project, records)
    topic = topic_by_rules(question, film)
    if topic is None:
        topic = topic_by_model(question, film, llm) if llm is not None else Topic.OVERVIEW
    draft = Draft(film)
    ANSWERERS[topic](draft, records, question.lower())
    if not draft.sentences:
        overview(draft, records, question.lower())
        topic = Topic.OVERVIEW
    return draft.answer(topic)


def _no_film(project: Project, records: FilmRecords) -> FilmAnswer:
    if records.run_input is None:
        text = f"There is no run {project.film_id!r} here, so there is nothing to answer from."
    else:
        text = (
            "The crew has not written this film yet, so there is nothing to answer from. "
            f"Let it write first (director resume {project.film_id})."
        )
    return FilmAnswer(text=text, topic=Topic.OVERVIEW.value)
