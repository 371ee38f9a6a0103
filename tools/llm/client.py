"""The one LLM path: structured answers from any OpenAI-compatible endpoint, or from the bundled SmolLM2.

Agents depend on `tools.llm.asking.StructuredLLM` only. `LLMClient` is the real implementation over the
`openai` SDK; it runs the ask-parse-repair loop of `tools.llm.asking` and counts calls, retries and failures on a
`UsageMeter` (`tools.llm.usage`). How to ask for and read a schema-shaped answer is `tools.llm.structured_output`'s
job. Two errors reach callers (`tools.llm.errors`): `LLMAnswerError` (the model answered, but never validly; fall
back to a default) and `LLMUnavailableError` (the endpoint cannot be used; stop, resumably).
"""

from __future__ import annotations

import copy
import json
import random
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar
from urllib.parse import urlsplit

import httpx2
import openai
from openai.types.chat import ChatCompletion
from pydantic import BaseModel

from tools.llm.asking import answer_structured, complete_structured_or
from tools.llm.errors import LLMAnswerError, LLMUnavailableError
from tools.llm.llama_server import BundledModelServer, BundledServerError
from tools.llm.offline_models import offline_server, request_timeout
from tools.llm.structured_output import (
    Flavour,
    Message,
    estimate_tokens,
    resolve_flavour,
    structured_request_options,
)
from tools.llm.torch_server import TorchModelServer
from tools.llm.usage import LLMUsage, UsageMeter
from tools.settings import LLMSettings

T = TypeVar("T", bound=BaseModel)
D = TypeVar("D")


class LLMClient:
    """Structured answers from an OpenAI-compatible endpoint, through the `openai` SDK.

    Thread-safe. Transport failures (refused, dropped, timeout, 429, 5xx) are retried with backoff by the SDK
    (`max_retries` of the `openai.OpenAI`; a 429's `retry-after` sets the wait), an answer body cut short is asked
    for again here, then they are raised as `LLMUnavailableError`; invalid answers are re-asked `max_retries`
    times, then raised as `LLMAnswerError`. No `openai` or transport exception leaves this class.

    Args:
        client: A configured `openai.OpenAI`.
        model: The model name; empty asks the endpoint for its first model.
        flavour: How to request structured output (see `resolve_flavour`).
        temperature: Sampling temperature.
        max_tokens: Answer length limit.
        max_retries: Re-asks after an invalid answer.
        server: A bundled server this client owns and stops on `close()`.
        call_log: A JSON-lines file receiving every request and answer, for debugging prompts.
        include_schema: Write the JSON schema into the prompt; None decides by endpoint: not for the
            grammar-constrained bundled model (it copies schema words) nor for OpenAI (which shows the model
            the schema itself), yes for everything else.
    """

    def __init__(
        self,
        client: openai.OpenAI,
        *,
        model: str = "",
        flavour: Flavour = "openai",
        temperature: float = 0.4,
        max_tokens: int = 512,
        max_retries: int = 2,
        server: BundledModelServer | TorchModelServer | None = None,
        call_log: Path | None = None,
        include_schema: bool | None = None,
    ) -> None:
        self._client = client
        self._model = model
        self.flavour: Flavour = flavour
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.max_retries = max_retries
        self.server = server
        self.call_log = call_log
        self._meter = UsageMeter()
        self._lock = threading.Lock()
        self._owns_resources = True
        is_openai = (urlsplit(self.endpoint).hostname or "").lower().endswith("openai.com")
        self._length_parameter = "max_completion_tokens" if is_openai else "max_tokens"
        if include_schema is None:
            include_schema = flavour != "llama.cpp" and not is_openai
        self.include_schema = include_schema

    @classmethod
    def from_settings(cls, settings: LLMSettings, log_dir: Path | None = None, call_log: bool = True) -> LLMClient:
        """Build a client for `settings`, starting (and owning) the bundled server when no URL is set.

        Args:
            settings: The LLM settings.
            log_dir: Where the bundled model's log (`llm-server.log`) and the call log (`llm-calls.jsonl`)
                go; None keeps the server log in a temporary file and writes no call log.
            call_log: False writes no call log in `log_dir` (a shared client whose views log per run).

        Raises:
            LLMUnavailableError: The bundled server could not be started.
        """
        server = None
        base_url = settings.base_url
        api_key = settings.api_key.get_secret_value()
        model = settings.model
        if base_url is None:
            try:
                server = offline_server(settings, log_path=log_dir / "llm-server.log" if log_dir else None)
                server.start()
            except BundledServerError as error:
                raise LLMUnavailableError(f"The bundled model could not be started. {error}") from error
            base_url, api_key, model = server.base_url, server.api_key, model or server.model
        client = openai.OpenAI(
            base_url=base_url,
            api_key=api_key,
            timeout=request_timeout(settings),
            max_retries=settings.max_retries,
            http_client=server.http_client() if isinstance(server, TorchModelServer) else None,
        )
        if log_dir is not None:
            log_dir.mkdir(parents=True, exist_ok=True)
        return cls(
            client,
            model=model,
            flavour=resolve_flavour(settings.flavour, settings.base_url),
            temperature=settings.temperature,
            max_tokens=settings.max_tokens,
            max_retries=settings.max_retries,
            server=server,
            call_log=log_dir / "llm-calls.jsonl" if log_dir and call_log else None,
        )

    def with_call_log(self, path: Path) -> LLMClient:
        """A view of this client that logs its calls to `path` instead: same endpoint, server and lock.

        The view counts its own usage (and adds it to this client's), so a run sees what it used even while
        other runs share the client. Closing the view closes nothing; the client owns the connection.
        """
        path.parent.mkdir(parents=True, exist_ok=True)
        view = copy.copy(self)
        view.call_log = path
        view._meter = UsageMeter(parent=self._meter)
        view._owns_resources = False
        return view

    @property
    def endpoint(self) -> str:
        return str(self._client.base_url)

    @property
    def usage(self) -> LLMUsage:
        """A snapshot of the accounting so far."""
        return self._meter.snapshot()

    @property
    def model(self) -> str:
        """The model name in use, asking the endpoint for its first model when none was configured."""
        with self._lock:
            if not self._model:
                try:
                    models = [entry.id for entry in self._client.models.list()]
                except openai.OpenAIError as error:
                    raise self._unavailable(error) from error
                if not models:
                    raise LLMUnavailableError(
                        f"The LLM endpoint {self.endpoint} lists no models; set DIRECTOR_LLM__MODEL.",
                        endpoint=self.endpoint,
                    )
                self._model = models[0]
            return self._model

    def structured(self, *, system: str, user: str, schema: type[T], task: str) -> T:
        """Ask one question and return the answer as a validated `schema` instance.

        Raises:
            LLMAnswerError: The model never answered validly (the caller may use a default).
            LLMUnavailableError: The endpoint could not be used (the run should stop).
        """
        options = structured_request_options(self.flavour, schema)

        def ask(messages: list[Message], attempt: int) -> str:
            return self._request(messages, options, task=task, attempt=attempt)

        return answer_structured(
            ask,
            system=system,
            user=user,
            schema=schema,
            task=task,
            max_retries=self.max_retries,
            meter=self._meter,
            include_schema=self.include_schema,
        )

    def complete_structured_or(
        self, default_factory: Callable[[], D], *, system: str, user: str, schema: type[T], task: str
    ) -> tuple[T | D, bool]:
        """`structured`, or `default_factory()` after an invalid answer; see `complete_structured_or`."""
        return complete_structured_or(self, default_factory, system=system, user=user, schema=schema, task=task)

    def _request(self, messages: list[Message], options: dict[str, Any], *, task: str, attempt: int) -> str:
        model = self.model
        begun = time.monotonic()
        # A re-ask at the same temperature and seed gets the same words back from a small model; sample anew.
        again = {"seed": attempt, "temperature": min(1.0, self.temperature + 0.25 * attempt)} if attempt else {}
        try:
            response = self._complete(
                model=model,
                messages=messages,
                **{"temperature": self.temperature, **again},
                **{self._length_parameter: self.max_tokens},
                **options,
            )
        except openai.BadRequestError as error:
            if _is_context_overflow(error):
                raise LLMAnswerError(
                    task, f"the prompt does not fit the model's context: {error.message}", ""
                ) from error
            raise self._unavailable(error) from error
        except openai.OpenAIError as error:
            raise self._unavailable(error) from error
        seconds = time.monotonic() - begun
        choice = response.choices[0] if response.choices else None
        raw = (choice.message.content if choice else None) or ""
        usage = response.usage
        prompt_tokens = usage.prompt_tokens if usage else estimate_tokens("".join(m["content"] for m in messages))
        completion_tokens = usage.completion_tokens if usage else estimate_tokens(raw)
        self._meter.record_call(task, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens, seconds=seconds)
        if self.call_log is not None:
            self._log_call(
                task=task, attempt=attempt, model=model, messages=messages, answer=raw, seconds=round(seconds, 3),
                prompt_tokens=prompt_tokens, completion_tokens=completion_tokens,
                finish_reason=choice.finish_reason if choice else None,
            )  # fmt: skip
        return raw

    def _complete(self, **request: Any) -> ChatCompletion:
        """One chat completion; an answer body that breaks off or is not JSON is asked for again, with backoff.

        The SDK retries what fails in transport; a body cut short on a connection that had no length to promise
        (the server closed it mid-answer) reaches us only as JSON that does not parse.
        """
        retry = 0
        while True:
            try:
                response = self._client.chat.completions.create(**request)
            except json.JSONDecodeError as error:
                if retry < self._client.max_retries:
                    time.sleep(_backoff(retry))
                    retry += 1
                    continue
                where, check = self._where_and_check()
                raise LLMUnavailableError(
                    f"{where} sent an answer that broke off or is not JSON ({error}; {_tries(retry + 1)}); {check}",
                    endpoint=self.endpoint,
                ) from error
            if not isinstance(response, ChatCompletion) or getattr(response, "choices", None) is None:
                where, _ = self._where_and_check()
                shown = "JSON without `choices`" if isinstance(response, ChatCompletion) else repr(str(response)[:120])
                raise LLMUnavailableError(
                    f"{where} answered with something that is not a chat completion ({shown}); check that "
                    "DIRECTOR_LLM__BASE_URL is the API's address (it usually ends in /v1)",
                    endpoint=self.endpoint,
                )
            return response

    def _log_call(self, **record: Any) -> None:
        assert self.call_log is not None
        line = json.dumps({"time": time.strftime("%Y-%m-%dT%H:%M:%S"), **record}, ensure_ascii=False, default=str)
        with self._lock, self.call_log.open("a", encoding="utf-8") as handle:
            handle.write(line + "\n")

    def _where_and_check(self) -> tuple[str, str]:
        """Which server failed, in words, and what the user should look at."""
        where = f"the bundled model server at {self.endpoint}" if self.server else f"the LLM endpoint {self.endpoint}"
        if self.server and self.server.log_path:
            check = f"see its log {self.server.log_path}"
        elif self.server:
            check = "the server may have crashed"
        else:
            check = (
                "check that it is running and that DIRECTOR_LLM__BASE_URL is right, "
                "or unset DIRECTOR_LLM__BASE_URL to use the bundled model"
            )
        return where, check

    def _unavailable(self, error: openai.OpenAIError) -> LLMUnavailableError:
        where, check = self._where_and_check()
        tries = _tries(self._client.max_retries + 1)
        if isinstance(error, openai.APITimeoutError):
            message = (
                f"{where} did not answer within {_seconds(self._client.timeout)} ({tries}); "
                f"raise DIRECTOR_LLM__TIMEOUT, or {check}"
            )
        elif isinstance(error, openai.APIConnectionError) and isinstance(error.__cause__, httpx2.ConnectError):
            message = f"Could not connect to {where} ({tries}); {check}"
        elif isinstance(error, openai.APIConnectionError) and isinstance(
            error.__cause__, httpx2.RemoteProtocolError | httpx2.ReadError
        ):
            message = (
                f"The connection to {where} broke off before the answer was complete ({error.__cause__}; {tries}); "
                f"{check}"
            )
        elif isinstance(error, openai.APIConnectionError):
            message = f"Could not reach {where} ({error.__cause__ or error}; {tries}); {check}"
        elif isinstance(error, openai.AuthenticationError | openai.PermissionDeniedError):
            message = f"{where} refused the API key ({error.message}); check DIRECTOR_LLM__API_KEY"
        elif isinstance(error, openai.NotFoundError):
            message = (
                f"{where} has no model {self._model!r} or no chat endpoint ({error.message}); check "
                "DIRECTOR_LLM__MODEL and that DIRECTOR_LLM__BASE_URL ends in /v1"
            )
        elif isinstance(error, openai.RateLimitError):
            wait = _retry_after(error.response.headers)
            if wait is not None and wait > _LONGEST_RETRY_AFTER:
                message = (
                    f"{where} is rate-limiting us (HTTP 429) and asked us to wait {wait:g} s, longer than Director "
                    "waits on its own; try again after that"
                )
            else:
                asked = f", asking for {wait:g} s between tries" if wait is not None else ""
                message = (
                    f"{where} kept rate-limiting us (HTTP 429{asked}) through {tries}; wait a while and try "
                    "again, or allow more retries with DIRECTOR_LLM__MAX_RETRIES"
                )
        elif isinstance(error, openai.BadRequestError | openai.UnprocessableEntityError):
            message = (
                f"{where} rejected the request ({error.message}); if it does not support the "
                f"{self.flavour!r} structured-output format, set DIRECTOR_LLM__FLAVOUR"
            )
        elif isinstance(error, openai.APIStatusError) and "response_format" in str(error.message):
            message = (
                f"{where} rejected the structured-output request (HTTP {error.status_code}: {error.message}); "
                f"set DIRECTOR_LLM__FLAVOUR to the server's kind (now {self.flavour!r})"
            )
        elif isinstance(error, openai.APIStatusError):
            message = f"{where} failed with HTTP {error.status_code} ({error.message}); {check}"
        else:
            message = f"{where} could not be used: {error}"
        return LLMUnavailableError(message, endpoint=self.endpoint)

    def close(self) -> None:
        """Close the HTTP client and stop the bundled server if this client owns one (a view owns neither)."""
        if not self._owns_resources:
            return
        self._client.close()
        if self.server is not None:
            self.server.stop()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"LLMClient({self.endpoint}, model={self._model or '?'}, flavour={self.flavour})"


def _is_context_overflow(error: openai.BadRequestError) -> bool:
    text = str(error.message).lower()
    return "context" in text and any(word in text for word in ("length", "window", "exceed", "too long"))


_LONGEST_RETRY_AFTER = 120.0
"""The longest `retry-after` the SDK honours (its MAX_RETRY_AFTER_DELAY); it does not retry a longer one."""


def _backoff(retry: int) -> float:
    """Seconds to wait before retry number `retry` (from 0), as the SDK does: 0.5 s doubling to 8 s, less jitter."""
    return min(0.5 * 2.0**retry, 8.0) * (1 - 0.25 * random.random())


def _tries(count: int) -> str:
    return "1 try" if count == 1 else f"{count} tries"


def _seconds(timeout: object) -> str:
    """The read timeout of an SDK client in words."""
    seconds = timeout.read if isinstance(timeout, httpx2.Timeout) else timeout
    return f"the {seconds:g} s timeout" if isinstance(seconds, int | float) else "the timeout"


def _retry_after(headers: httpx2.Headers) -> float | None:
    """The wait a 429 asked for, in seconds, from `retry-after-ms` or a numeric `retry-after`."""
    for name, divisor in (("retry-after-ms", 1000), ("retry-after", 1)):
        try:
            return float(headers[name]) / divisor
        except (KeyError, ValueError):
            continue
    return None
