"""What LLM calls cost: requests, tokens, seconds, retries and refusals, per task, counted thread-safely."""

from __future__ import annotations

import threading

from pydantic import BaseModel, Field


class TaskUsage(BaseModel):
    calls: int = Field(default=0, description="Requests sent to the model, re-asks included.")
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = Field(default=0.0, description="Wall time spent waiting for answers.")
    retries: int = Field(default=0, description="Re-asks after an invalid answer.")
    failures: int = Field(default=0, description="`structured` calls that raised instead of answering.")
    rejected: int = Field(default=0, description="Answers refused by the prose gate (`tools.prose`).")

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


class LLMUsage(TaskUsage):
    """Token and time accounting for one client, in total and per task."""

    tasks: dict[str, TaskUsage] = Field(default_factory=dict)

    def combined(self, other: LLMUsage, sign: int = 1) -> LLMUsage:
        """This usage plus `other` (or minus it, with `sign=-1`: what a run added to a shared client)."""
        fields = ("calls", "prompt_tokens", "completion_tokens", "seconds", "retries", "failures", "rejected")

        def add(a: TaskUsage, b: TaskUsage) -> dict:
            return {name: getattr(a, name) + sign * getattr(b, name) for name in fields}

        tasks = {
            task: TaskUsage(**add(self.tasks.get(task, TaskUsage()), other.tasks.get(task, TaskUsage())))
            for task in dict.fromkeys([*self.tasks, *other.tasks])
        }
        return LLMUsage(**add(self, other), tasks={task: used for task, used in tasks.items() if used.calls})


class UsageMeter:
    """Thread-safe accumulation of `LLMUsage`; renders may call the model from several threads.

    A meter with a `parent` also counts everything into it, so a view of a shared client sees its own calls
    while the client's meter still sees them all.
    """

    def __init__(self, parent: UsageMeter | None = None) -> None:
        self._lock = threading.Lock()
        self._usage = LLMUsage()
        self._parent = parent

    def _add(self, task: str, **amounts: float) -> None:
        with self._lock:
            per_task = self._usage.tasks.setdefault(task, TaskUsage())
            for target in (self._usage, per_task):
                for name, amount in amounts.items():
                    setattr(target, name, getattr(target, name) + amount)
        if self._parent is not None:
            self._parent._add(task, **amounts)

    def record_call(self, task: str, *, prompt_tokens: int, completion_tokens: int, seconds: float) -> None:
        self._add(task, calls=1, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens, seconds=seconds)

    def record_retry(self, task: str) -> None:
        self._add(task, retries=1)

    def record_failure(self, task: str) -> None:
        self._add(task, failures=1)

    def record_rejection(self, task: str) -> None:
        self._add(task, rejected=1)

    def snapshot(self) -> LLMUsage:
        with self._lock:
            return self._usage.model_copy(deep=True)
