"""Starting, streaming and resuming one film run: the only entry the CLI and the studio use.

Each run is a LangGraph thread named by the film id, checkpointed in the project folder; `film.json` is
rewritten after every step, and the manifest gets the per-node timings at the end. Besides the run itself,
this module hands the surfaces what they do with a run between runs (`agents.chat.conversation`): answer a
question, read a message, propose a note, undo one, bring back an earlier take; and what a studio shares
between its runs (the LLM, the embedding model, the render backends).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from langgraph.graph.state import CompiledStateGraph
from pydantic import BaseModel, Field

from agents.chat.conversation import (
    MAX_NOTE_CHARACTERS,
    FilmAnswer,
    MessageIntent,
    MessageKind,
    NoteProposal,
    StoryboardFiles,
    UndoResult,
    answer_question,
    check_feedback,
    classify_by_rules,
    classify_message,
    film_storyboard,
    needs_confirmation,
    propose_note,
    read_manifest,
    topic_by_rules,
    undo_last_note,
    use_earlier_take,
    use_take,
)
from agents.chat.history import keep_after_note, keep_before_note
from agents.context import Context
from agents.editor import manifest_for, usage_of
from agents.events import Emitter, GateEvent, RunEvent
from agents.gates import waiting_gate
from agents.graph import build_graph
from agents.manifest import Manifest, write_manifest
from agents.models_report import ModelsReport, models_report
from agents.project import Project, ProjectError, RunRecord, new_film_id
from agents.resuming import NOTHING_TO_DO, RunBusyError, lost_note, next_input
from agents.run_context import llm_for_run, open_context, open_llm
from agents.state import (
    CHECKPOINTED_MODULES,
    CutFiles,
    Feedback,
    Film,
    GateDecision,
    GatePrompt,
    Review,
    RunInput,
    RunState,
)
from agents.writing.screenplay import parse_fountain, read_screenplay
from memory.checkpoints import open_checkpointer
from memory.store import MiniLMEmbedding
from tools.llm.asking import StructuredLLM
from tools.process_memory import give_back_freed_memory
from tools.render.setup import RenderBackends
from tools.settings import Settings

__all__ = [
    "MAX_NOTE_CHARACTERS",
    "FilmAnswer",
    "Manifest",
    "MessageIntent",
    "MessageKind",
    "MiniLMEmbedding",
    "ModelsReport",
    "NoteProposal",
    "ProgressCallback",
    "RenderBackends",
    "RunBusyError",
    "RunOutcome",
    "RunStatus",
    "StoryboardFiles",
    "StructuredLLM",
    "UndoResult",
    "answer_question",
    "check_feedback",
    "classify_by_rules",
    "classify_message",
    "film_storyboard",
    "llm_for_run",
    "models_report",
    "needs_confirmation",
    "new_run",
    "open_context",
    "open_llm",
    "propose_note",
    "read_manifest",
    "read_screenplay",
    "run_film",
    "run_status",
    "topic_by_rules",
    "undo_last_note",
    "use_earlier_take",
    "use_take",
]

ProgressCallback = Callable[[dict[str, Any]], None]
"""Receives each progress event as a JSON dict; `agents.events.read_event` types it again."""


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
            takes=settings.render.takes,
        )
    )
    return project


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
    emit = Emitter(on_event or _ignore)
    config = run_config(settings, project, run_input)
    with ExitStack() as stack:
        graph = build_graph(stack.enter_context(open_checkpointer(project.root, CHECKPOINTED_MODULES)))
        unattended = context.unattended if context is not None else unattended
        request = RunRequest.read(project, graph.get_state(config), run_input, decision, feedback, unattended)
        if request.graph_input is NOTHING_TO_DO:
            return outcome(project, graph, config, {})
        request.keep_note(project)
        if context is None:
            context = stack.enter_context(open_context(settings, project, unattended=unattended, backends=backends))
        emit(RunEvent(status=request.kind, film_id=project.film_id))
        record = RunBook(project, context, request.kind)
        try:
            cancelled = stream_run(graph, request.graph_input, config, context, emit, record.timings, should_stop)
        except Exception as error:
            record.failed(error)
            raise
        finally:
            context.work_ahead.settle()
            give_back_freed_memory()  # a studio waits between runs: what the run freed goes back meanwhile
        result = outcome(project, graph, config, record.timings, cancelled=cancelled)
        request.settle_note(project, graph.get_state(config), cancelled)
        record.finished()
        if result.film is not None and result.cut is not None:
            write_manifest(project, manifest_for(result.film, result.cut, context))
        emit(closing_event(project, result))
        return result


def _ignore(event: dict[str, Any]) -> None:
    """The progress callback of a caller that does not listen."""


def run_config(settings: Settings, project: Project, run_input: RunInput) -> dict[str, Any]:
    """LangGraph's config for the run's thread: its id, its worker pool and how many steps it may take."""
    return {
        "configurable": {"thread_id": project.film_id},
        # LangGraph's stream can hold a worker of this pool; `render_slots` bounds the renders themselves.
        "max_concurrency": settings.render.max_parallel + 1,
        "recursion_limit": 16 + 6 * run_input.max_review_rounds,
    }


@dataclass
class RunRequest:
    """What this call asks of the run: its input to the graph, the note it carries, and a note lost before it."""

    graph_input: object
    feedback: Feedback | None
    lost: Feedback | None
    snapshot: Any

    @classmethod
    def read(
        cls,
        project: Project,
        snapshot: Any,
        run_input: RunInput,
        decision: GateDecision | None,
        feedback: Feedback | None,
        unattended: bool,
    ) -> RunRequest:
        """A note a killed run lost is given again, unless this call brings its own note or decision."""
        lost = lost_note(project, snapshot)
        if lost is not None and feedback is None and decision is None:
            feedback = lost
        graph_input = next_input(project, snapshot, run_input, decision, feedback, unattended)
        return cls(graph_input=graph_input, feedback=feedback, lost=lost, snapshot=snapshot)

    @property
    def kind(self) -> str:
        if isinstance(self.graph_input, RunInput):
            return "start"
        return "revise" if self.feedback else "resume"

    def keep_note(self, project: Project) -> None:
        """Keep the note on disk and the film's files as they stand, before the run applies the note."""
        if self.feedback is not None:
            project.keep_pending_note(self.feedback)
            keep_before_note(project, self.snapshot, self.feedback)

    def settle_note(self, project: Project, snapshot: Any, cancelled: bool) -> None:
        """Record where the note's run ended, and drop the kept note once the run took it."""
        if self.feedback is not None and not cancelled:
            keep_after_note(project, snapshot)
        if self.feedback is not None or self.lost is None:
            project.drop_pending_note()


@dataclass
class RunBook:
    """The run's entry in `runs.json`: its kind, start, seconds per node and the LLM use it added."""

    project: Project
    context: Context
    kind: str
    timings: dict[str, float] = field(default_factory=dict)
    started_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    def __post_init__(self) -> None:
        self.usage_before = usage_of(self.context)

    def record(self, error: str = "") -> RunRecord:
        used = usage_of(self.context).combined(self.usage_before, sign=-1)
        return RunRecord(kind=self.kind, started_at=self.started_at, timings=self.timings, llm_usage=used, error=error)

    def failed(self, error: Exception) -> None:
        with contextlib.suppress(OSError):
            self.project.record_run(self.record(f"{type(error).__name__}: {error}"))

    def finished(self) -> None:
        self.project.record_run(self.record())


def stream_run(
    graph: CompiledStateGraph,
    graph_input: object,
    config: dict[str, Any],
    context: Context,
    emit: Emitter,
    timings: dict[str, float],
    should_stop: Callable[[], bool] | None,
) -> bool:
    """Stream the graph: pass its events on, time its nodes into `timings`, save the film after every step.

    Returns:
        Whether `should_stop` stopped the run before the graph ended or reached a gate.
    """
    last = time.perf_counter()
    for mode, payload in graph.stream(
        graph_input, config, context=context, stream_mode=["custom", "updates", "values"]
    ):
        if mode == "custom":
            emit.sink(payload)
        elif mode == "updates":
            now = time.perf_counter()
            for node in payload:
                if not node.startswith("__"):
                    timings[node] = round(timings.get(node, 0.0) + now - last, 3)
            give_back_freed_memory()
            last = now
        elif mode == "values":
            state = payload if isinstance(payload, RunState) else RunState.model_validate(payload)
            if state.film is not None:
                context.project.save_film(state.film)
        if should_stop is not None and should_stop():
            return True
    return False


def closing_event(project: Project, result: RunOutcome) -> RunEvent | GateEvent:
    """How the call ended, as the surfaces hear it: cancelled, waiting at a gate, or done."""
    if result.cancelled:
        return RunEvent(status="cancelled", film_id=project.film_id)
    if result.gate is not None:
        return GateEvent.waiting(result.gate)
    return RunEvent(status="done", film_id=project.film_id)


class RunStatus(BaseModel):
    """Where a run stands, read from its checkpoint without starting anything."""

    started: bool
    finished: bool
    gate: GatePrompt | None = None
    frames: dict[str, str] = Field(default_factory=dict, description="Keyframes rendered so far, by shot id.")


def run_status(project: Project) -> RunStatus:
    with open_checkpointer(project.root, CHECKPOINTED_MODULES) as checkpointer:
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
