"""An answer about a film being written, the records it is written from, and the words it is written in.

Every fact comes from the project's files (film.json, review.json, manifest.json, run.json, runs.json), read
and never written.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TypeVar

from pydantic import BaseModel, Field

from agents.chat.mentions import (
    shot_label,
)
from agents.manifest import Manifest
from agents.project import Project, RunRecord
from agents.state import Film, Review, RunInput, Scene, Shot


class Topic(StrEnum):
    TIME_OF_DAY = "time_of_day"
    REVIEW = "review"
    COST = "cost"
    VOICE = "voice"
    SOUND = "sound"
    CHARACTER = "character"
    PLACE = "place"
    SCENE = "scene"
    SHOT = "shot"
    COUNTS = "counts"
    NOTES = "notes"
    OVERVIEW = "overview"


class FilmAnswer(BaseModel):
    """An answer for the chat or the terminal, with what it talks about, so the UI can point at it."""

    text: str = Field(description="Plain sentences, **bold** sparingly; 'scene 2', 'shot 3 (s02-01)'.")
    scenes: list[int] = Field(default_factory=list, description="Scene numbers the answer talks about.")
    shots: list[str] = Field(default_factory=list, description="Shot ids the answer talks about.")
    topic: str = Field(description="Which kind of question it answered: a `Topic` value.")


@dataclass(frozen=True)
class FilmRecords:
    """What the project's files say, read once: missing or unreadable files are None."""

    film: Film | None
    review: Review | None
    manifest: Manifest | None
    run_input: RunInput | None
    runs: list[RunRecord]


_DOUBLE_STOP = re.compile(r"([.!?…])”\.$")


@dataclass
class Draft:
    """An answer being written: its sentences, and the scenes and shots they name."""

    film: Film
    sentences: list[str] = field(default_factory=list)
    scenes: list[int] = field(default_factory=list)
    shots: list[str] = field(default_factory=list)

    def say(self, sentence: str) -> None:
        self.sentences.append(_DOUBLE_STOP.sub(r"\1”", sentence))

    def scene(self, scene: Scene) -> str:
        if scene.number not in self.scenes:
            self.scenes.append(scene.number)
        return f"scene {scene.number}"

    def shot(self, shot: Shot) -> str:
        if shot.id not in self.shots:
            self.shots.append(shot.id)
        return shot_label(self.film, shot)

    def answer(self, topic: Topic) -> FilmAnswer:
        return FilmAnswer(text=" ".join(self.sentences), scenes=self.scenes, shots=self.shots, topic=topic.value)


R = TypeVar("R")


def _read(reader: Callable[[], R | None]) -> R | None:
    """A record, or None when its file is missing or unreadable."""
    try:
        return reader()
    except (OSError, ValueError):
        return None


def read_records(project: Project) -> FilmRecords:
    """Every record an answer may use, read only."""
    return FilmRecords(
        film=_read(project.load_film),
        review=_read(lambda: Review.model_validate_json(project.review_file.read_bytes())),
        manifest=_read(lambda: Manifest.model_validate_json(project.manifest_file.read_bytes())),
        run_input=_read(project.run_input),
        runs=project.run_records(),
    )


def quoted(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return f"“{text if len(text) <= limit else text[: limit - 1].rstrip() + '…'}”"


def listing(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


_LEADING_ARTICLE = re.compile(r"^(A|An|The)\s(?=[a-z])")


def within_sentence(name: str) -> str:
    """A place called "A small room" reads "a small room" mid-sentence; "The Marta" keeps its capital."""
    return _LEADING_ARTICLE.sub(lambda match: f"{match[1].lower()} ", name)


_LEADING_PLACE_WORD = re.compile(r"^(Inside|Outside|In|On|At|Under|Behind|Near|Beside|Above|Below)\s(?=[a-zA-Z])")


def where_in_sentence(name: str) -> str:
    """Where a scene plays, mid-sentence: "in a small room"; "Inside the lighthouse" is not "in Inside the ..."."""
    if found := _LEADING_PLACE_WORD.match(name):
        return f"{found[1].lower()} {within_sentence(name[found.end() :])}"
    return f"in {within_sentence(name)}"
