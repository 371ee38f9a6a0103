"""Asking any LLM for a schema-shaped answer: the protocol agents depend on and the ask-parse-repair loop.

The loop (`answer_structured`) is shared by the real `LLMClient` and the scripted fake in `tests/`, so both
treat a broken answer the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar, runtime_checkable

from pydantic import BaseModel

from tools.llm.errors import LLMAnswerError, LLMError
from tools.llm.structured_output import InvalidAnswer, Message, parse_answer, retry_message, structured_messages
from tools.llm.usage import LLMUsage, UsageMeter

T = TypeVar("T", bound=BaseModel)
D = TypeVar("D")


@runtime_checkable
class StructuredLLM(Protocol):
    """What agents need from an LLM: one schema-shaped answer per question, and the bill."""

    @property
    def usage(self) -> LLMUsage: ...

    def structured(self, *, system: str, user: str, schema: type[T], task: str) -> T: ...


def complete_structured_or(
    llm: StructuredLLM,
    default_factory: Callable[[], D],
    *,
    system: str,
    user: str,
    schema: type[T],
    task: str,
) -> tuple[T | D, bool]:
    """Ask `llm`, falling back to `default_factory()` when it never answers validly.

    Returns:
        The answer (or the default) and whether the default was used. `LLMUnavailableError` still propagates:
        a run whose endpoint is down must stop resumably, not film defaults.
    """
    try:
        return llm.structured(system=system, user=user, schema=schema, task=task), False
    except LLMAnswerError:
        return default_factory(), True


PROSE_REASKS = 1
"""An answer the prose gate refused is asked for once more, then the caller's default stands in: a small model
that wrote noise twice seldom writes prose the third time, and every try costs seconds."""


def answer_structured(
    ask: Callable[[list[Message], int], str],
    *,
    system: str,
    user: str,
    schema: type[T],
    task: str,
    max_retries: int,
    meter: UsageMeter,
    include_schema: bool = False,
) -> T:
    """The ask-parse-repair loop shared by every `StructuredLLM`.

    Args:
        ask: Sends a conversation (with the attempt number, from 0) and returns the raw answer; it records the
            call on `meter` and raises `LLMError` when it cannot answer at all.
        system: The caller's system prompt.
        user: The caller's question.
        schema: The pydantic model to fill.
        task: A name for accounting and errors.
        max_retries: Re-asks after an invalid answer, each showing the model its previous answer and the error.
        meter: Where retries and failures are counted.
        include_schema: Write the JSON schema into the prompt (see `structured_messages`).

    Raises:
        LLMAnswerError: No answer validated.
        LLMUnavailableError: `ask` could not reach the model.
    """
    base = structured_messages(system=system, user=user, schema=schema, include_schema=include_schema)
    messages = base
    problem, raw = "no answer", ""
    attempts = max_retries + 1
    refused = tried = 0
    try:
        for attempt in range(attempts):
            tried = attempt + 1
            if attempt:
                meter.record_retry(task)
            raw = ask(messages, attempt)
            try:
                return parse_answer(raw, schema, question=user)
            except InvalidAnswer as error:
                problem = str(error)
                if error.not_prose:
                    meter.record_rejection(task)
                    refused += 1
                    if refused > PROSE_REASKS:
                        break
            messages = [
                *base,
                {"role": "assistant", "content": raw[:2000]},
                {"role": "user", "content": retry_message(problem)},
            ]
        raise LLMAnswerError(task, problem, raw, attempts=tried)
    except LLMError:
        meter.record_failure(task)
        raise
