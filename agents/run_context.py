"""What a run opens before its first node and closes after its last: the context every node receives."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from agents.answer_memo import RememberedAnswers
from agents.context import Context
from agents.look_review import vision_reviewer
from agents.project import Project
from agents.scene_stream import STREAMED_TASKS
from agents.sound_cut import ambience_model
from agents.work_ahead import WorkAhead
from memory.store import MemoryStore, MiniLMEmbedding
from tools.llm.asking import StructuredLLM
from tools.llm.client import LLMClient
from tools.look.faces import FaceModels
from tools.process_memory import keep_large_blocks_apart
from tools.render.line_store import LineStore
from tools.render.setup import RenderBackends
from tools.settings import Settings


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
    keep_large_blocks_apart()
    with ExitStack() as stack:
        if backends is None:
            backends = RenderBackends.from_settings(settings)
            stack.callback(backends.close)
        project.logs_dir.mkdir(parents=True, exist_ok=True)
        if llm is None:
            llm = stack.enter_context(LLMClient.from_settings(settings.llm, log_dir=project.logs_dir))
        memory = MemoryStore.from_settings(settings.memory, project.root, embedding_function=embedding_function)
        stack.callback(memory.close)
        work_ahead = WorkAhead(settings.render.max_parallel, enabled=settings.render.stream_scenes)
        stack.callback(work_ahead.close)
        work_ahead.warm(memory.embedding_function.load)
        yield Context(
            settings=settings,
            project=project,
            llm=RememberedAnswers(llm, STREAMED_TASKS) if work_ahead.enabled else llm,
            memory=memory,
            images=backends.images,
            video=backends.video,
            speech=LineStore(backends.speech, project.lines_dir) if backends.speech is not None else None,
            unattended=unattended,
            render_slots=threading.BoundedSemaphore(settings.render.max_parallel),
            executor=backends.executor,
            faces=FaceModels(),
            vision=vision_reviewer(settings, project),
            ambience_model=ambience_model(settings),
            work_ahead=work_ahead,
        )


@contextmanager
def open_llm(settings: Settings, log_dir: Path | None, call_log: bool = True) -> Iterator[StructuredLLM]:
    """The LLM the settings name, started (the bundled server when no endpoint is set) and stopped after."""
    with LLMClient.from_settings(settings.llm, log_dir=log_dir, call_log=call_log) as llm:
        yield llm


def llm_for_run(llm: StructuredLLM, project: Project) -> StructuredLLM:
    """A shared LLM that logs this run's calls in its own project, so no call log mixes owners."""
    if isinstance(llm, LLMClient):
        return llm.with_call_log(project.logs_dir / "llm-calls.jsonl")
    return llm
