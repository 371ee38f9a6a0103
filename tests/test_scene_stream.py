"""Scenes stream through the crew: a scene's takes render while the writer is still writing the next scenes.

Real parts: the graph with its SQLite checkpoints, Chroma with MiniLM, the animatic and eSpeak NG; the scripted
fake crew answers the questions, and one wrapper holds the logline (the writer's last question) until a take
has been rendered, or 60 s have passed, so the test sees whether rendering began before writing ended.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from fake_crew import crew
from pydantic import BaseModel

from agents.events import RenderEvent, read_event
from agents.run import new_run, open_context, run_film
from agents.state import Film
from agents.work_ahead import WorkAhead
from tools.llm.asking import StructuredLLM
from tools.llm.usage import LLMUsage
from tools.settings import Settings

SCRIPT = """Title: The Night Ferry

EXT. FERRY DOCK - NIGHT

Fog rolls over the black water. A bell rings twice.

MARGIT (60s, yellow oilskin coat) coils a rope by the gangway.

MARGIT
Last crossing. Nobody else is coming.

INT. FERRY CABIN - NIGHT

A lamp swings over an empty bench.

JONAS (a boy of ten, red scarf) presses his face to the window.

JONAS
Can you see the other side?

EXT. FERRY DECK - DAWN

The fog lifts. Gulls circle the mast. Margit and Jonas watch the harbour come near.
"""


class LoglineAfterFirstTake:
    """The crew, except that the logline waits for the first take (at most 60 s) and says whether it came."""

    def __init__(self, llm: StructuredLLM) -> None:
        self.llm = llm
        self.first_take = threading.Event()
        self.take_before_logline: bool | None = None

    @property
    def usage(self) -> LLMUsage:
        return self.llm.usage

    def structured(self, *, system: str, user: str, schema: type[BaseModel], task: str) -> BaseModel:
        if task == "logline" and self.take_before_logline is None:
            self.take_before_logline = self.first_take.wait(60)
        return self.llm.structured(system=system, user=user, schema=schema, task=task)


def film_made(root: Path, minilm, stream: bool) -> tuple[Film, LoglineAfterFirstTake, list[RenderEvent]]:
    settings = Settings(
        projects_dir=root / "projects", target_seconds=15, max_review_rounds=1, render={"stream_scenes": stream}
    )
    project = new_run(settings, screenplay=SCRIPT, film_id="the-night-ferry")
    llm = LoglineAfterFirstTake(crew())
    renders: list[RenderEvent] = []

    def on_event(data: dict) -> None:
        event = read_event(data)
        if isinstance(event, RenderEvent):
            renders.append(event)
            if event.status == "done":
                llm.first_take.set()

    with open_context(settings, project, llm=llm, embedding_function=minilm) as context:
        outcome = run_film(settings, project, on_event=on_event, context=context)
    assert outcome.finished, outcome.log
    assert outcome.film is not None
    return outcome.film, llm, renders


@pytest.fixture(scope="module")
def streamed(tmp_path_factory: pytest.TempPathFactory, minilm) -> tuple[Film, LoglineAfterFirstTake, list]:
    return film_made(tmp_path_factory.mktemp("streamed"), minilm, stream=True)


def take_keys(film: Film) -> dict[str, str]:
    return {shot.id: shot.take.content_hash for shot in film.shots() if shot.take is not None}


def test_a_scene_renders_while_the_writer_is_still_writing(streamed) -> None:
    _, llm, _ = streamed
    assert llm.take_before_logline is True, "no take was rendered before the writer's last question"


def test_streaming_changes_when_not_what_and_renders_nothing_twice(streamed, tmp_path, minilm) -> None:
    film, _, renders = streamed
    started = [event.shot for event in renders if event.status == "start"]
    assert len(started) == len(set(started)), f"a take was rendered twice: {sorted(started)}"
    assert sorted(started) == sorted(shot.id for shot in film.shots()), "every shot is rendered once"
    made = [shot.take for shot in film.shots() if shot.take is not None]
    assert made and not any(take.cache_hit for take in made), "a take made ahead is recorded as made, not reused"
    assert all(take.render_seconds > 0 for take in made), "its render time counts in the film's costs"
    unstreamed, llm, _ = film_made(tmp_path, minilm, stream=False)
    assert llm.take_before_logline is False
    assert take_keys(unstreamed) == take_keys(film), "the same takes with and without streaming"
    assert len(take_keys(film)) == len(film.shots())


def test_a_take_the_graph_claimed_is_never_started_ahead_after() -> None:
    """A lane that reaches a scene late must not write into the take folder the render node is writing."""
    work = WorkAhead(parallel=1)
    started: list[str] = []
    try:
        assert work.claim("late") is None, "nothing was made ahead: the node renders it"
        assert work.take("late", lambda: started.append("late")) is False
        assert work.take("early", lambda: {"made": "early"}) is True
        assert work.claim("early") == {"made": "early"}, "a take made ahead is the node's outcome"
    finally:
        work.close()
    assert started == []
