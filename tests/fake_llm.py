"""A scripted fake LLM for tests, in the manner of simonw/llm's `tests/conftest.py` mock model.

It replays queued answers and records every call. Raw-string answers go through the same parse, repair and
retry loop as the real `LLMClient` (`tools.llm.client.answer_structured`), so a test can script a broken answer and
watch it be repaired or re-asked.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel

from tools.llm.asking import answer_structured, complete_structured_or
from tools.llm.errors import LLMAnswerError
from tools.llm.structured_output import Message, estimate_tokens
from tools.llm.usage import LLMUsage, UsageMeter

T = TypeVar("T", bound=BaseModel)
D = TypeVar("D")
ScriptedAnswer = BaseModel | Mapping[str, Any] | str
"""A model instance or a dict (sent as its JSON), or a raw string sent verbatim, fences and typos included."""
Responder = Callable[[str, type[BaseModel]], ScriptedAnswer | None]
"""Called with (task, schema) for every attempt; None means the script has nothing more for that task."""


@dataclass
class FakeCall:
    """One `structured` call as the fake saw it."""

    task: str
    system: str
    user: str
    schema: str
    answers: list[str] = field(default_factory=list)
    messages: list[list[Message]] = field(default_factory=list)


def _as_text(answer: ScriptedAnswer) -> str:
    if isinstance(answer, BaseModel):
        return answer.model_dump_json()
    if isinstance(answer, Mapping):
        return json.dumps(answer, default=str)
    return answer


class FakeLLM:
    """A scripted stand-in for `LLMClient`: a `StructuredLLM` that never touches a model.

    Args:
        script: One of: a sequence of answers consumed in order by any task; a mapping from task name to its
            own sequence of answers; or a callable `(task, schema) -> answer | None`. Each attempt (first ask
            and every re-ask) consumes one answer.
        max_retries: Re-asks after an invalid answer, as in `LLMSettings.max_retries`.

    Attributes:
        history: Every `structured` call, in order, with the answers it consumed.
    """

    def __init__(
        self,
        script: Iterable[ScriptedAnswer] | Mapping[str, Iterable[ScriptedAnswer]] | Responder = (),
        *,
        max_retries: int = 2,
    ) -> None:
        self.max_retries = max_retries
        self.history: list[FakeCall] = []
        self._meter = UsageMeter()
        self._lock = threading.Lock()
        self._responder: Responder | None = None
        self._queue: deque[ScriptedAnswer] = deque()
        self._per_task: dict[str, deque[ScriptedAnswer]] | None = None
        if callable(script) and not isinstance(script, Mapping):
            self._responder = script
        elif isinstance(script, Mapping):
            self._per_task = {task: deque(answers) for task, answers in script.items()}
        else:
            self._queue = deque(script)

    @property
    def usage(self) -> LLMUsage:
        return self._meter.snapshot()

    def remaining(self, task: str | None = None) -> int:
        """Scripted answers not yet consumed (for one task, or all); 0 for a callable script."""
        with self._lock:
            if self._per_task is not None:
                if task is not None:
                    return len(self._per_task.get(task, ()))
                return sum(len(answers) for answers in self._per_task.values())
            return len(self._queue)

    def add(self, *answers: ScriptedAnswer, task: str | None = None) -> None:
        """Queue more answers, for one task when the script is per task."""
        with self._lock:
            if self._per_task is not None:
                if task is None:
                    raise ValueError("this FakeLLM is scripted per task; name the task")
                self._per_task.setdefault(task, deque()).extend(answers)
            else:
                self._queue.extend(answers)

    def _next(self, task: str, schema: type[BaseModel]) -> ScriptedAnswer | None:
        if self._responder is not None:
            return self._responder(task, schema)
        with self._lock:
            queue = self._queue if self._per_task is None else self._per_task.get(task)
            return queue.popleft() if queue else None

    def structured(self, *, system: str, user: str, schema: type[T], task: str) -> T:
        call = FakeCall(task=task, system=system, user=user, schema=schema.__name__)
        with self._lock:
            self.history.append(call)

        def ask(messages: list[Message], attempt: int) -> str:
            begun = time.monotonic()
            answer = self._next(task, schema)
            if answer is None:
                raise LLMAnswerError(task, "the FakeLLM script has no more answers for this task", "")
            raw = _as_text(answer)
            call.messages.append(messages)
            call.answers.append(raw)
            self._meter.record_call(
                task,
                prompt_tokens=estimate_tokens("".join(message["content"] for message in messages)),
                completion_tokens=estimate_tokens(raw),
                seconds=time.monotonic() - begun,
            )
            return raw

        return answer_structured(
            ask, system=system, user=user, schema=schema, task=task, max_retries=self.max_retries, meter=self._meter
        )

    def complete_structured_or(
        self, default_factory: Callable[[], D], *, system: str, user: str, schema: type[T], task: str
    ) -> tuple[T | D, bool]:
        return complete_structured_or(self, default_factory, system=system, user=user, schema=schema, task=task)

    def tasks(self) -> list[str]:
        """The task of every call so far, in order."""
        return [call.task for call in self.history]
