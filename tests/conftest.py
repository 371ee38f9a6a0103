"""Shared fixtures: one MiniLM embedding per session, and a run context on real parts with a chosen LLM."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session")
def minilm():
    from memory.store import MiniLMEmbedding

    return MiniLMEmbedding()


@pytest.fixture
def make_context(tmp_path: Path, minilm) -> Iterator[Callable]:
    """Build a run's `Context` on real Chroma, real animatic backends and real ffmpeg, with the given LLM."""
    from agents.project import Project
    from agents.run import open_context
    from tools.settings import Settings

    with ExitStack() as stack:

        def build(llm, project: Project, settings: Settings | None = None, unattended: bool = True):
            settings = settings or Settings(projects_dir=tmp_path / "projects")
            return stack.enter_context(
                open_context(settings, project, llm=llm, embedding_function=minilm, unattended=unattended)
            )

        yield build


@pytest.fixture(scope="session")
def fake_crew_film(tmp_path_factory: pytest.TempPathFactory, minilm):
    """One finished 12-second film made by the fake crew on real parts, shared read-only: copy it to change it."""
    from fake_crew import PREMISE, crew

    from agents.run import new_run, open_context, run_film
    from tools.settings import Settings

    settings = Settings(
        projects_dir=Path(tmp_path_factory.mktemp("fake-crew-film")) / "projects",
        target_seconds=12,
        max_review_rounds=1,
    )
    project = new_run(settings, premise=PREMISE)
    with open_context(settings, project, llm=crew(), embedding_function=minilm) as context:
        run_film(settings, project, context=context)
    return project


@pytest.fixture(scope="session")
def tiny(tmp_path_factory: pytest.TempPathFactory):
    """Tiny random-weight diffusers pipelines (SD 1.5-shaped, its IP-Adapter, SVD, text-to-video), built offline."""
    from tiny_pipelines import build_tiny_models

    return build_tiny_models(tmp_path_factory.mktemp("tiny-models"))
