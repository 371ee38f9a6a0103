"""Starting, streaming and resuming one film run: the only entry the CLI and the studio use.

Each run is a LangGraph thread named by the film id, checkpointed in the project folder; `film.json` is
rewritten after every step, and the manifest gets the per-node timings at the end.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from pydantic import BaseModel, Field

from agents.context import Context
from agents.editor import models_used, usage_of
from agents.graph import build_graph
from agents.manifest import build_manifest, write_manifest
from agents.project import Project, ProjectError, new_film_id
from agents.screenplay import parse_fountain
from agents.state import CutFiles, Film, Review, RunInput, RunState
from memory.checkpoints import open_checkpointer
from memory.store import MemoryStore, MiniLMEmbedding
from tools.backends import image_backend_from_settings, video_backend_from_settings
from tools.llm import LLMClient, StructuredLLM
from tools.settings import Settings

ProgressEvent = dict[str, Any]
ProgressCallback = Callable[[ProgressEvent], None]


class RunOutcome(BaseModel):
    film_id: str
    project_dir: str
    finished: bool
    film: Film | None = None
    cut: CutFiles | None = None
    review: Review | None = None
    timings: dict[str, float] = Field(default_factory=dict)
    log: list[str] = Field(default_factory=list)


@contextmanager
def open_context(
    settings: Settings,
    project: Project,
    llm: StructuredLLM | None = None,
    embedding_function: MiniLMEmbedding | None = None,
) -> Iterator[Context]:
    """Start what a run needs (the LLM endpoint or bundled server, memory, backends) and stop it after.

    A given `llm` or `embedding_function` is used as is, so an embedding app or a test can share them.
    """
    with ExitStack() as stack:
        project.logs_dir.mkdir(parents=True, exist_ok=True)
        if llm is None:
            llm = stack.enter_context(LLMClient.from_settings(settings.llm, log_dir=project.logs_dir))
        memory = MemoryStore.from_settings(settings.memory, project.root, embedding_function=embedding_function)
        stack.callback(memory.close)
        yield Context(
            settings=settings,
            project=project,
            llm=llm,
            memory=memory,
            images=image_backend_from_settings(settings),
            video=video_backend_from_settings(settings),
        )


def new_run(settings: Settings, *, premise: str = "", screenplay: str = "", film_id: str | None = None) -> Project:
    """Validate the input and create the project folder; nothing is generated yet."""
    premise = " ".join(premise.split())
    if screenplay.strip():
        hint = parse_fountain(screenplay).title or "screenplay"
    elif premise:
        if len(premise) < 8:
            raise ValueError(f"the premise {premise!r} is too short: say who wants what, in a sentence.")
        if len(premise) > 2000:
            raise ValueError("the premise is longer than 2000 characters: give a short premise, or a screenplay.")
        hint = premise
    else:
        raise ValueError("nothing to film: give a premise in a sentence, or a Fountain screenplay with --script.")
    project = Project.open(settings.projects_dir, film_id or new_film_id(hint))
    if project.exists:
        raise ProjectError(
            f"run {project.film_id!r} already exists; resume it with `director resume {project.film_id}`."
        )
    project.create(
        RunInput(
            film_id=project.film_id,
            premise=premise,
            screenplay=screenplay,
            target_seconds=settings.target_seconds,
            max_review_rounds=settings.max_review_rounds,
            width=settings.render.width,
            aspect=settings.render.aspect,
            fps=settings.render.fps,
        )
    )
    return project


def run_film(
    settings: Settings,
    project: Project,
    on_event: ProgressCallback | None = None,
    context: Context | None = None,
) -> RunOutcome:
    """Run the graph for `project` to the end, starting fresh or resuming from its last checkpoint.

    Resuming re-runs only unfinished work: finished steps come from the checkpoint and finished takes from
    the content-addressed take store.
    """
    run_input = project.run_input()
    on_event = on_event or (lambda event: None)
    config = {
        "configurable": {"thread_id": project.film_id},
        "max_concurrency": settings.render.max_parallel,
        "recursion_limit": 12 + 6 * run_input.max_review_rounds,
    }
    with ExitStack() as stack:
        checkpointer = stack.enter_context(open_checkpointer(project.root))
        graph = build_graph(checkpointer)
        snapshot = graph.get_state(config)
        if snapshot.values and not snapshot.next:
            return outcome(project, RunState.model_validate(snapshot.values), {}, finished=True)
        graph_input = None if snapshot.values else run_input
        on_event({"stage": "run", "status": "resume" if graph_input is None else "start", "film_id": project.film_id})
        if context is None:
            context = stack.enter_context(open_context(settings, project))
        timings: dict[str, float] = {}
        last = time.perf_counter()
        state: RunState | None = None
        for mode, payload in graph.stream(
            graph_input, config, context=context, stream_mode=["custom", "updates", "values"]
        ):
            if mode == "custom":
                on_event(payload)
            elif mode == "updates":
                now = time.perf_counter()
                for node in payload:
                    timings[node] = round(timings.get(node, 0.0) + now - last, 3)
                last = now
            elif mode == "values":
                state = payload if isinstance(payload, RunState) else RunState.model_validate(payload)
                if state.film is not None:
                    project.save_film(state.film)
        final = RunState.model_validate(graph.get_state(config).values)
        if final.film is not None:
            manifest = build_manifest(final.film, final.cut, models_used(context), usage_of(context), timings)
            write_manifest(project, manifest)
        on_event({"stage": "run", "status": "done", "film_id": project.film_id})
        return outcome(project, final, timings, finished=True)


def outcome(project: Project, state: RunState, timings: dict[str, float], finished: bool) -> RunOutcome:
    return RunOutcome(
        film_id=project.film_id,
        project_dir=str(project.root),
        finished=finished,
        film=state.film,
        cut=state.cut,
        review=state.review,
        timings=timings,
        log=state.log,
    )
