"""One answer per question in a run: the scene stream asks ahead, and the graph's node gets the same answer.

When a scene streams through the crew (`agents.scene_stream`), its shots are planned in a background worker
before the director's node plans them again in the graph. Both ask the same narrow question; the model is
asked once, and whichever asks second waits for the first answer instead of spending seconds on it again.
The node's answer is therefore the streamed one, so the shots a node checkpoints are the shots rendered ahead.
"""

from __future__ import annotations

import hashlib
import json
import threading
from typing import TypeVar

from pydantic import BaseModel

from tools.llm.asking import StructuredLLM
from tools.llm.usage import LLMUsage

T = TypeVar("T", bound=BaseModel)


class RememberedAnswers:
    """A `StructuredLLM` that keeps each answer for the run, keyed by everything the question holds.

    Only the `tasks` named are kept (those the stream asks ahead); any other question goes to the model every
    time, as a critic's second round must. Only answers are kept: an error (an unreachable endpoint, an answer
    never valid) is raised to every asker and asked again by the next, exactly as without the memo.
    """

    def __init__(self, llm: StructuredLLM, tasks: frozenset[str]) -> None:
        self.llm = llm
        self.tasks = tasks
        self._answers: dict[str, BaseModel] = {}
        self._asking: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    @property
    def usage(self) -> LLMUsage:
        return self.llm.usage

    def structured(self, *, system: str, user: str, schema: type[T], task: str) -> T:
        if task not in self.tasks:
            return self.llm.structured(system=system, user=user, schema=schema, task=task)
        key = question_key(system, user, schema, task)
        with self._guard:
            asking = self._asking.setdefault(key, threading.Lock())
        with asking:
            known = self._answers.get(key)
            if known is not None:
                return known.model_copy(deep=True)  # type: ignore[return-value]
            answer = self.llm.structured(system=system, user=user, schema=schema, task=task)
            self._answers[key] = answer.model_copy(deep=True)
            return answer

    def __getattr__(self, name: str) -> object:
        return getattr(self.llm, name)


def question_key(system: str, user: str, schema: type[BaseModel], task: str) -> str:
    shape = json.dumps(schema.model_json_schema(), sort_keys=True)
    text = "\x1f".join((task, system, user, schema.__qualname__, shape))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
