"""The two ways an LLM call ends badly: a model that never answered validly, or an endpoint that can't be used.

Both survive pickling (a Ray worker or a subprocess may raise them), hence their `__reduce__`.
"""

from __future__ import annotations

from typing import Any

from tools.errors import DirectorError


class LLMError(DirectorError):
    """Base of the two errors an LLM call can end with."""


class LLMAnswerError(LLMError):
    """The model answered, but no answer fit the schema after every retry; the caller may use a default.

    Attributes:
        task: The task name given to `structured`.
        last_error: Why the last answer was rejected.
        raw_answer: The last answer, verbatim.
    """

    def __init__(self, task: str, last_error: str, raw_answer: str, *, attempts: int = 1) -> None:
        self.task = task
        self.last_error = last_error
        self.raw_answer = raw_answer
        self.attempts = attempts
        shown = raw_answer if len(raw_answer) <= 300 else raw_answer[:300] + "…"
        super().__init__(
            f"The LLM gave no valid answer for task {task!r} after {attempts} attempt(s): {last_error}. "
            f"Last answer: {shown!r}"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_answer_error, (self.task, self.last_error, self.raw_answer, self.attempts))


def _rebuild_answer_error(task: str, last_error: str, raw_answer: str, attempts: int) -> LLMAnswerError:
    return LLMAnswerError(task, last_error, raw_answer, attempts=attempts)


class LLMUnavailableError(LLMError):
    """The endpoint could not be used (down, unreachable, refused, misconfigured); the run should stop.

    Attributes:
        endpoint: The base URL that failed, or None for the bundled server before it had one.
    """

    def __init__(self, message: str, *, endpoint: str | None = None) -> None:
        self.endpoint = endpoint
        super().__init__(message)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_unavailable_error, (str(self), self.endpoint))


def _rebuild_unavailable_error(message: str, endpoint: str | None) -> LLMUnavailableError:
    return LLMUnavailableError(message, endpoint=endpoint)
