"""Starting, streaming and resuming one film run: the only entry the CLI and the studio use.

Each run is a LangGraph thread named by the film id, checkpointed in the project folder; `film.json` is
rewritten after every step, and the manifest gets the per-node timings at the end.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from typing import Any

from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command, StateSnapshot
from pydantic import BaseModel, Field

from agents.context import Context
from agents.editor import manifest_for, usage_of
from agents.gates import waiting_gate
from agents.graph import build_graph
from agents.history import keep_after_note, keep_before_note
from agents.manifest import write_manifest
from agents.project import Project, ProjectError, RunRecord, new_film_id
from agents.revise import check_feedback, clean_note
from agents.screenplay import parse_fountain
from agents.state import CutFiles, Feedback, Film, GateDecision, GatePrompt, Review, RunInput, RunState
from memory.checkpoints import open_checkpointer
from memory.store import MemoryStore, MiniLMEmbedding
from tools.llm.client import LLMClient, StructuredLLM
from tools.render.base import RenderBackends
from tools.settings import Settings

ProgressEvent = dict[str, Any]
ProgressCallback = Callable[[ProgressEvent], None]


class RunOutcome(BaseModel):
    film_id: str
    project_dir: str
    finished: bool
    cancelled: bool = False
    gate: GatePrompt | None = Field(default=None, description="The gate the run waits at for the filmmaker.")
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
    unattended: bool = True,
    backends: RenderBackends | None = None,
) -> Iterator[Context]:
    """Start what a run needs (the LLM endpoint or bundled server, memory, backends) and stop it after.

    A given `llm`, `embedding_function` or `backends` is used as is, so an embedding app (the studio) or a
    test can share them, and a loaded pipeline serves every run.
    """
    with ExitStack() as stack:
        if backends is None:
            backends = RenderBackends.from_settings(settings)
            stack.callback(backends.close)
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
            images=backends.images,
            video=backends.video,
            speech=backends.speech,
            unattended=unattended,
            render_slots=threading.BoundedSemaphore(settings.render.max_parallel),
            executor=backends.executor,
        )


def new_run(settings: Settings, *, premise: str = "", screenplay: str = "", film_id: str | None = None) -> Project:
    """Validate the input and create the project folder; nothing is generated yet."""
    for what, text in (("premise", premise), ("screenplay", screenplay)):
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as error:
            raise ValueError(
                f"the {what} holds bytes that are not text (at character {error.start}); "
                "save it as UTF-8 and give it again."
            ) from None
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


class RunBusyError(ProjectError):
    """The run is not where the request needs it: e.g. a gate answer when no gate is waiting."""


def run_film(
    settings: Settings,
    project: Project,
    on_event: ProgressCallback | None = None,
    context: Context | None = None,
    *,
    decision: GateDecision | None = None,
    feedback: Feedback | None = None,
    should_stop: Callable[[], bool] | None = None,
    unattended: bool = True,
    backends: RenderBackends | None = None,
) -> RunOutcome:
    """Run the graph for `project` until it ends or waits at a gate, starting fresh or from its last checkpoint.

    `decision` answers the gate the run waits at; `feedback` revises the film (at a gate, or after it ended).
    An unattended run (the context's flag, when a context is given) approves a waiting gate itself.
    Resuming re-runs only unfinished work: finished steps come from the checkpoint and finished takes from
    the content-addressed take store.
    `should_stop` is polled between events; when it says so, the run stops where it can be resumed.
    Without a `context`, one is opened for the run, on `backends` when given (the caller keeps them).
    """
    run_input = project.run_input()
    on_event = on_event or (lambda event: None)
    config = {
        "configurable": {"thread_id": project.film_id},
        # LangGraph's stream can hold a worker of this pool; `render_slots` bounds the renders themselves.
        "max_concurrency": settings.render.max_parallel + 1,
        "recursion_limit": 16 + 6 * run_input.max_review_rounds,
    }
    with ExitStack() as stack:
        checkpointer = stack.enter_context(open_checkpointer(project.root))
        graph = build_graph(checkpointer)
        unattended = context.unattended if context is not None else unattended
        snapshot = graph.get_state(config)
        lost = lost_note(project, snapshot)
        if lost is not None and feedback is None and decision is None:
            feedback = lost
        graph_input = next_input(project, snapshot, run_input, decision, feedback, unattended)
        if graph_input is _NOTHING_TO_DO:
            return outcome(project, graph, config, {})
        if feedback is not None:
            project.keep_pending_note(feedback)
            keep_before_note(project, snapshot, feedback)
        if context is None:
            context = stack.enter_context(open_context(settings, project, unattended=unattended, backends=backends))
        status = "start" if isinstance(graph_input, RunInput) else "revise" if feedback else "resume"
        on_event({"stage": "run", "status": status, "film_id": project.film_id})
        started_at = datetime.now(UTC).isoformat(timespec="seconds")
        usage_before = usage_of(context)
        timings: dict[str, float] = {}
        last = time.perf_counter()
        cancelled = False
        try:
            for mode, payload in graph.stream(
                graph_input, config, context=context, stream_mode=["custom", "updates", "values"]
            ):
                if mode == "custom":
                    on_event(payload)
                elif mode == "updates":
                    now = time.perf_counter()
                    for node in payload:
                        if not node.startswith("__"):
                            timings[node] = round(timings.get(node, 0.0) + now - last, 3)
                    last = now
                elif mode == "values":
                    state = payload if isinstance(payload, RunState) else RunState.model_validate(payload)
                    if state.film is not None:
                        project.save_film(state.film)
                if should_stop is not None and should_stop():
                    cancelled = True
                    break
        except Exception as error:
            used = usage_of(context).combined(usage_before, sign=-1)
            failed = RunRecord(
                kind=status,
                started_at=started_at,
                timings=timings,
                llm_usage=used,
                error=f"{type(error).__name__}: {error}",
            )
            with contextlib.suppress(OSError):
                project.record_run(failed)
            raise
        result = outcome(project, graph, config, timings, cancelled=cancelled)
        if feedback is not None and not cancelled:
            keep_after_note(project, graph.get_state(config))
        if feedback is not None or lost is None:
            project.drop_pending_note()
        used = usage_of(context).combined(usage_before, sign=-1)
        project.record_run(RunRecord(kind=status, started_at=started_at, timings=timings, llm_usage=used))
        if result.film is not None and result.cut is not None:
            write_manifest(project, manifest_for(result.film, result.cut, context))
        if cancelled:
            on_event({"stage": "run", "status": "cancelled", "film_id": project.film_id})
        elif result.gate is not None:
            on_event({"stage": "gate", "status": "waiting", **result.gate.model_dump()})
        else:
            on_event({"stage": "run", "status": "done", "film_id": project.film_id})
        return result


_NOTHING_TO_DO = object()


def lost_note(project: Project, snapshot: StateSnapshot) -> Feedback | None:
    """A note accepted by a run that was killed before its checkpoint took it, to be given again; else None.

    A note goes to a finished run or a waiting gate, so the checkpoint took it if the run now stands mid-way
    (its input checkpoint holds the note until the revise node applies it), or if the film's history has it.
    """
    pending = project.pending_note()
    if pending is None or (snapshot.next and waiting_gate(snapshot) is None):
        return None
    state = RunState.model_validate(snapshot.values) if snapshot.values else None
    note = pending.feedback
    history = state.film.feedback if state is not None and state.film is not None else []
    for revision in history:
        same = (revision.text, revision.scene, revision.shot) == (clean_note(note.text), note.scene, note.shot)
        if same and revision.at >= pending.accepted_at:
            return None
    return note


def next_input(
    project: Project,
    snapshot: StateSnapshot,
    run_input: RunInput,
    decision: GateDecision | None,
    feedback: Feedback | None,
    unattended: bool,
) -> object:
    """What to stream into the graph for this request, given where the run stands."""
    gate = waiting_gate(snapshot)
    if feedback is not None:
        film = Film.model_validate(snapshot.values["film"]) if snapshot.values.get("film") else None
        check_feedback(film, feedback)
        if gate is not None:
            return Command(resume=GateDecision(approve=False, feedback=feedback).model_dump(mode="json"))
        if snapshot.next:
            raise RunBusyError(
                f"run {project.film_id!r} stopped before it finished; resume it (`director resume "
                f"{project.film_id}`), then give the note."
            )
        return {"film_id": project.film_id, "feedback": feedback.model_dump(mode="json")}
    if decision is not None:
        if gate is None:
            raise RunBusyError(f"run {project.film_id!r} is not waiting at a gate; there is nothing to approve.")
        return Command(resume=decision.model_dump(mode="json"))
    if not snapshot.values:
        return run_input
    if gate is not None:
        return Command(resume=GateDecision().model_dump(mode="json")) if unattended else _NOTHING_TO_DO
    return None if snapshot.next else _NOTHING_TO_DO


class RunStatus(BaseModel):
    """Where a run stands, read from its checkpoint without starting anything."""

    started: bool
    finished: bool
    gate: GatePrompt | None = None
    frames: dict[str, str] = Field(default_factory=dict, description="Keyframes rendered so far, by shot id.")


def run_status(project: Project) -> RunStatus:
    with open_checkpointer(project.root) as checkpointer:
        snapshot = build_graph(checkpointer).get_state({"configurable": {"thread_id": project.film_id}})
    if not snapshot.values:
        return RunStatus(started=False, finished=False)
    state = RunState.model_validate(snapshot.values)
    return RunStatus(
        started=True,
        finished=not snapshot.next,
        gate=waiting_gate(snapshot),
        frames={shot_id: take.keyframe for shot_id, take in state.rendered.items()},
    )


def outcome(
    project: Project, graph: CompiledStateGraph, config: dict, timings: dict[str, float], cancelled: bool = False
) -> RunOutcome:
    snapshot = graph.get_state(config)
    state = RunState.model_validate(snapshot.values) if snapshot.values else None
    gate = waiting_gate(snapshot)
    return RunOutcome(
        film_id=project.film_id,
        project_dir=str(project.root),
        finished=bool(snapshot.values) and not snapshot.next,
        cancelled=cancelled,
        gate=gate,
        film=state.film if state else None,
        cut=state.cut if state else None,
        review=state.review if state else None,
        timings=timings,
        log=state.log if state else [],
    )
