"""Shared fixtures: one MiniLM embedding per session, and a run context on real parts with a chosen LLM."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
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
    from agents.context import Context
    from agents.project import Project
    from memory.store import MemoryStore
    from tools.backends import image_backend_from_settings, video_backend_from_settings
    from tools.settings import Settings

    stores: list[MemoryStore] = []

    def build(llm, project: Project, settings: Settings | None = None) -> Context:
        settings = settings or Settings(projects_dir=tmp_path / "projects")
        memory = MemoryStore.embedded(project.memory_dir, embedding_function=minilm)
        stores.append(memory)
        return Context(
            settings=settings,
            project=project,
            llm=llm,
            memory=memory,
            images=image_backend_from_settings(settings),
            video=video_backend_from_settings(settings),
        )

    yield build
    for store in stores:
        store.close()
