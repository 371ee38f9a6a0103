"""Where a run survives a crash or a pause: LangGraph checkpoints in `checkpoints.sqlite` of the project.

LangGraph's serializer revives any class named in a checkpoint, with a warning, and will block unlisted
classes in a future release (or now, under `LANGGRAPH_STRICT_MSGPACK=true`). The caller names the modules of
its state types (`agents.state.CHECKPOINTED_MODULES`) so they revive as themselves, silently, in both modes;
memory knows nothing of the agents' models.
"""

from __future__ import annotations

import importlib
import sqlite3
import types
from collections.abc import Iterable, Iterator
from contextlib import closing, contextmanager
from enum import Enum
from pathlib import Path
from typing import Any, get_args

from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.checkpoint.sqlite import SqliteSaver
from pydantic import BaseModel

CHECKPOINT_FILE = "checkpoints.sqlite"


def checkpoint_path(project_dir: Path) -> Path:
    return Path(project_dir) / CHECKPOINT_FILE


def revivable_types(modules: Iterable[str]) -> set[type]:
    """Pydantic models and enums defined in `modules`, and every such type their fields reach."""
    found: set[type] = set()
    pending: list[Any] = []
    for name in modules:
        module = importlib.import_module(name)
        pending.extend(value for value in vars(module).values() if getattr(value, "__module__", None) == name)
    while pending:
        candidate = pending.pop()
        if isinstance(candidate, type) and issubclass(candidate, BaseModel) and candidate is not BaseModel:
            if candidate not in found:
                found.add(candidate)
                pending.extend(field.annotation for field in candidate.model_fields.values())
        elif isinstance(candidate, type) and issubclass(candidate, Enum):
            found.add(candidate)
        elif isinstance(candidate, types.GenericAlias | types.UnionType) or get_args(candidate):
            pending.extend(get_args(candidate))
    return found


def make_serializer(modules: Iterable[str]) -> JsonPlusSerializer:
    """LangGraph's serializer with our state types on its msgpack allow-list."""
    return JsonPlusSerializer(allowed_msgpack_modules=sorted(revivable_types(modules), key=_qualified_name))


@contextmanager
def open_checkpointer(project_dir: Path, modules: Iterable[str]) -> Iterator[SqliteSaver]:
    """A SqliteSaver on `project_dir / "checkpoints.sqlite"`, closed on exit.

    The connection is shared across threads because LangGraph runs parallel tasks in a pool (SqliteSaver
    serialises access with its own lock); WAL lets a reader, such as the studio, look while a run writes.
    """
    path = checkpoint_path(project_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(path, check_same_thread=False, timeout=30.0)) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        saver = SqliteSaver(conn, serde=make_serializer(modules))
        saver.setup()
        yield saver


def latest_checkpoint_exists(project_dir: Path, thread_id: str) -> bool:
    """Whether `thread_id` has a checkpoint to resume from; reads only, and revives nothing."""
    path = checkpoint_path(project_dir)
    if not path.is_file():
        return False
    with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30.0)) as conn:
        try:
            row = conn.execute(
                "SELECT 1 FROM checkpoints WHERE thread_id = ? AND checkpoint_ns = '' LIMIT 1", (thread_id,)
            ).fetchone()
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                return False
            raise
    return row is not None


def _qualified_name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"
