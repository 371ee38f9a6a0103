"""The critic's eyes: a take's pictures and its shot, shown to an OpenAI-compatible vision model, as a verdict.

`VisionReviewer.review` sends one chat completion whose user message carries the shot as text and each picture as
a PNG data URL, and reads the answer into a `VisionVerdict` through the same ask-parse-repair loop as every other
LLM answer (`tools.llm.asking`). Whether the endpoint takes pictures at all is asked once (`available`) and
remembered in a small JSON file, so runs do not pay for the probe again.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self
from urllib.parse import urlsplit

import openai
from openai.types.chat import ChatCompletion

from tools.errors import DirectorError
from tools.files import write_atomic
from tools.llm.asking import answer_structured
from tools.llm.errors import LLMAnswerError
from tools.llm.structured_output import Flavour, Message, estimate_tokens, resolve_flavour, structured_request_options
from tools.llm.usage import LLMUsage, UsageMeter
from tools.look.vision_verdict import (
    LabeledPicture,
    VisionShot,
    VisionVerdict,
    image_part,
    picture_data_url,
    probe_picture_url,
    strict_json_schema,
)
from tools.settings import CriticSettings, LLMSettings

VisionMode = Literal["auto", "on", "off"]
REVIEW_TASK = "vision_review"
PROBE_TASK = "vision_probe"
PROMPT_FILE = Path(__file__).with_name("prompts") / "vision_review.txt"
OFF_HINT = "or set DIRECTOR_CRITIC__VISION=off to judge takes without it"

_UNREACHED_THIS_PROCESS: set[str] = set()
"""Endpoints whose probe could not connect: not vision-capable for the rest of this process, never written down."""
_UNREACHED_LOCK = threading.Lock()


class VisionUnavailableError(DirectorError):
    """The vision model could not be used (down, refused, misconfigured); the caller may judge without it."""

    def __init__(self, message: str, *, endpoint: str | None = None) -> None:
        self.endpoint = endpoint
        super().__init__(message)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_unavailable, (str(self), self.endpoint))


def _rebuild_unavailable(message: str, endpoint: str | None) -> VisionUnavailableError:
    return VisionUnavailableError(message, endpoint=endpoint)


class VisionReviewer:
    """Asks a vision model what a take shows. Thread-safe; `usage` counts every request it sent.

    Args:
        mode: off never asks; on always asks; auto asks when the endpoint takes pictures (see `available`).
        base_url: The OpenAI-compatible endpoint; None is the bundled text-only model, which cannot see.
        model: The model name; empty asks the endpoint for its first model.
        api_key: The endpoint's key.
        flavour: How structured output is requested (see `tools.llm.structured_output.resolve_flavour`).
        probe_file: A JSON file remembering, per endpoint and model, whether it takes pictures.
        flag_below: A take whose normalised score is below this is reshot (`is_reshoot`).
        max_side: Pictures are downscaled to fit this many pixels before sending.
        timeout: Seconds one request may take.
        max_retries: Transport retries, with backoff, done by the `openai` SDK.
        max_tokens: Answer length limit.
        temperature: Sampling temperature of the first ask (a re-ask samples a little hotter).
    """

    def __init__(
        self,
        *,
        mode: VisionMode,
        base_url: str | None,
        model: str = "",
        api_key: str = "not-needed",
        flavour: Flavour = "openai",
        probe_file: Path | None = None,
        flag_below: float = 0.5,
        max_side: int = 512,
        timeout: float = 120.0,
        max_retries: int = 2,
        max_tokens: int = 1024,
        temperature: float = 0.2,
    ) -> None:
        self.mode: VisionMode = mode
        self.base_url = base_url
        self.flavour: Flavour = flavour
        self.probe_file = probe_file
        self.flag_below = flag_below
        self.max_side = max_side
        self.max_retries = max_retries
        self.max_tokens = max_tokens
        self.temperature = temperature
        self._configured_model = model
        self._model = model
        self._meter = UsageMeter()
        self._lock = threading.Lock()
        self._model_lock = threading.Lock()
        self._available: bool | None = None
        self._client = (
            openai.OpenAI(base_url=base_url, api_key=api_key, timeout=timeout, max_retries=max_retries)
            if base_url is not None and mode != "off"
            else None
        )
        host = (urlsplit(base_url or "").hostname or "").lower()
        is_openai = host == "openai.com" or host.endswith(".openai.com")
        self._length_parameter = "max_completion_tokens" if is_openai else "max_tokens"
        self.include_schema = flavour != "llama.cpp" and not is_openai

    @classmethod
    def from_settings(cls, critic: CriticSettings, llm: LLMSettings, *, probe_file: Path) -> VisionReviewer:
        """A reviewer for the critic's settings, falling back to the LLM's endpoint, model and key where unset."""
        base_url = critic.vision_base_url or llm.base_url
        key = critic.vision_api_key or llm.api_key
        own_endpoint = critic.vision_base_url is not None
        return cls(
            mode=critic.vision,
            base_url=base_url,
            model=critic.vision_model or llm.model,
            api_key=key.get_secret_value(),
            flavour=resolve_flavour("auto" if own_endpoint else llm.flavour, base_url),
            probe_file=probe_file,
            flag_below=critic.vision_flag_below,
            max_side=critic.vision_max_side,
            timeout=critic.vision_timeout,
            max_retries=llm.max_retries,
            max_tokens=max(llm.max_tokens, 1024),
        )

    @property
    def usage(self) -> LLMUsage:
        """A snapshot of the requests sent so far (the probe's included), for the run's costs."""
        return self._meter.snapshot()

    @property
    def model(self) -> str:
        """The model asked: as configured, or the endpoint's first once a request has needed it."""
        return self._model

    def is_reshoot(self, verdict: VisionVerdict) -> bool:
        """Whether `verdict` scores the take below `flag_below`."""
        return verdict.normalised_score < self.flag_below

    # Whether the endpoint can see

    @property
    def _probe_key(self) -> str:
        return f"{self.base_url} {self._configured_model}".strip()

    def available(self) -> bool:
        """Whether `review` will ask the model: on: yes; off: no; auto: whether the endpoint takes pictures.

        Auto with the bundled text model answers no without asking. Otherwise the answer comes from the probe
        file, or from one probe (a 16x16 picture and a one-word question): an answer means yes, a 4xx (a model
        that takes no pictures, or no such model) means no, and both are written down; an endpoint that cannot
        be reached means no for this process only. Delete the probe file to probe again.
        """
        if self.mode != "auto":
            return self.mode == "on"
        if self._client is None:
            return False
        with self._lock:
            if self._available is None:
                self._available = self._remembered()
            if self._available is None:
                self._available = self._probe()
            return self._available

    def _remembered(self) -> bool | None:
        with _UNREACHED_LOCK:
            if self._probe_key in _UNREACHED_THIS_PROCESS:
                return False
        entry = self._read_probes().get(self._probe_key)
        return entry.get("vision") if isinstance(entry, dict) and isinstance(entry.get("vision"), bool) else None

    def _read_probes(self) -> dict[str, Any]:
        if self.probe_file is None or not self.probe_file.is_file():
            return {}
        try:
            probes = json.loads(self.probe_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return probes if isinstance(probes, dict) else {}

    def _remember(self, vision: bool, why: str) -> None:
        if self.probe_file is None:
            return
        probes = self._read_probes()
        probes[self._probe_key] = {"vision": vision, "why": why[:300], "when": time.strftime("%Y-%m-%dT%H:%M:%S")}
        write_atomic(self.probe_file, json.dumps(probes, indent=2, ensure_ascii=False) + "\n")

    def _probe(self) -> bool:
        question: list[dict[str, Any]] = [
            {"type": "text", "text": "What colour is this square? Answer in one word."},
            image_part(probe_picture_url()),
        ]
        messages = [{"role": "user", "content": question}]
        try:
            self._complete(messages, {}, task=PROBE_TASK, attempt=0, max_tokens=16)
        except _Refused as refused:
            self._remember(False, refused.reason)
            return False
        except VisionUnavailableError:
            with _UNREACHED_LOCK:
                _UNREACHED_THIS_PROCESS.add(self._probe_key)
            return False
        self._remember(True, "answered a picture")
        return True

    # Reviewing a take

    def review(
        self, shot: VisionShot, pictures: Sequence[LabeledPicture], references: Sequence[LabeledPicture] = ()
    ) -> VisionVerdict | None:
        """The model's verdict on a take, or None when it is off, cannot see, or never answered validly.

        Args:
            shot: What the shot asked for.
            pictures: The take's pictures (frames), in order.
            references: Pictures of how the characters should look, sent after the take's.

        Raises:
            VisionUnavailableError: The endpoint could not be used after the SDK's retries.
            OSError: A picture could not be read.
        """
        if not self.available():
            return None
        if self._client is None:
            raise VisionUnavailableError(
                "The critic's vision is on, but no endpoint is set and the bundled model cannot see pictures; set "
                f"DIRECTOR_CRITIC__VISION_BASE_URL (or DIRECTOR_LLM__BASE_URL) to a vision model's endpoint, {OFF_HINT}"
            )
        images = [image_part(picture_data_url(item.path, self.max_side)) for item in [*pictures, *references]]
        text = shot.describe([item.label for item in pictures], [item.label for item in references])
        options = self._response_options()

        def ask(messages: list[Message], attempt: int) -> str:
            user = {"role": "user", "content": [{"type": "text", "text": messages[1]["content"]}, *images]}
            return self._complete([messages[0], user, *messages[2:]], options, task=REVIEW_TASK, attempt=attempt)

        try:
            return answer_structured(
                ask,
                system=PROMPT_FILE.read_text(encoding="utf-8"),
                user=text,
                schema=VisionVerdict,
                task=REVIEW_TASK,
                max_retries=1,
                meter=self._meter,
                include_schema=self.include_schema,
            )
        except LLMAnswerError:
            return None

    def _response_options(self) -> dict[str, Any]:
        if self.flavour in ("openai", "vllm"):
            json_schema = {"name": "VisionVerdict", "schema": strict_json_schema(VisionVerdict), "strict": True}
            return {"response_format": {"type": "json_schema", "json_schema": json_schema}}
        return structured_request_options(self.flavour, VisionVerdict)

    # Transport

    def _resolved_model(self) -> str:
        assert self._client is not None
        with self._model_lock:
            if not self._model:
                try:
                    models = [entry.id for entry in self._client.models.list()]
                except openai.OpenAIError as error:
                    raise self._unavailable(error) from error
                if not models:
                    raise VisionUnavailableError(
                        f"The vision endpoint {self.base_url} lists no models; set DIRECTOR_CRITIC__VISION_MODEL, "
                        f"{OFF_HINT}",
                        endpoint=self.base_url,
                    )
                self._model = models[0]
            return self._model

    def _complete(
        self, messages: list[Any], options: dict[str, Any], *, task: str, attempt: int, max_tokens: int | None = None
    ) -> str:
        """One chat completion (the SDK retries transport failures); its text, counted on the meter."""
        assert self._client is not None
        model = self._resolved_model()
        request: dict[str, Any] = {
            "model": model,
            "messages": messages,
            # The probe sends no temperature: some vision models refuse any but their own, and that is no blindness.
            **({} if task == PROBE_TASK else {"temperature": min(1.0, self.temperature + 0.25 * attempt)}),
            self._length_parameter: max_tokens or self.max_tokens,
            **({"seed": attempt} if attempt else {}),
            **options,
        }
        begun = time.monotonic()
        try:
            response = self._client.chat.completions.create(**request)
        except openai.OpenAIError as error:
            self._meter.record_failure(task)
            if task == PROBE_TASK and _is_refusal(error):
                raise _Refused(f"HTTP {error.status_code}: {error.message}") from error
            raise self._unavailable(error) from error
        except json.JSONDecodeError as error:
            self._meter.record_failure(task)
            raise VisionUnavailableError(
                f"The vision endpoint {self.base_url} sent an answer that broke off or is not JSON ({error}); "
                f"check that it is running, {OFF_HINT}",
                endpoint=self.base_url,
            ) from error
        if not isinstance(response, ChatCompletion) or response.choices is None:
            raise VisionUnavailableError(
                f"The vision endpoint {self.base_url} answered with something that is not a chat completion; check "
                f"that DIRECTOR_CRITIC__VISION_BASE_URL is the API's address (it usually ends in /v1), {OFF_HINT}",
                endpoint=self.base_url,
            )
        raw = (response.choices[0].message.content if response.choices else None) or ""
        usage = response.usage
        text = " ".join(part["text"] for part in _text_parts(messages))
        self._meter.record_call(
            task,
            prompt_tokens=usage.prompt_tokens if usage else estimate_tokens(text),
            completion_tokens=usage.completion_tokens if usage else estimate_tokens(raw),
            seconds=time.monotonic() - begun,
        )
        return raw

    def _unavailable(self, error: openai.OpenAIError) -> VisionUnavailableError:
        where = f"The vision endpoint {self.base_url}"
        tries = f"{self.max_retries + 1} tries"
        if isinstance(error, openai.APITimeoutError):
            message = f"{where} did not answer in time ({tries}); raise DIRECTOR_CRITIC__VISION_TIMEOUT, {OFF_HINT}"
        elif isinstance(error, openai.APIConnectionError):
            message = (
                f"Could not reach the vision endpoint {self.base_url} ({error.__cause__ or error}; {tries}); check "
                "that it is running and that DIRECTOR_CRITIC__VISION_BASE_URL (unset: DIRECTOR_LLM__BASE_URL) is "
                f"right, {OFF_HINT}"
            )
        elif isinstance(error, openai.AuthenticationError | openai.PermissionDeniedError):
            message = (
                f"{where} refused the API key ({error.message}); check DIRECTOR_CRITIC__VISION_API_KEY "
                f"(unset: DIRECTOR_LLM__API_KEY), {OFF_HINT}"
            )
        elif isinstance(error, openai.NotFoundError):
            message = (
                f"{where} has no model {self._model!r} or no chat endpoint ({error.message}); check "
                f"DIRECTOR_CRITIC__VISION_MODEL and that the URL ends in /v1, {OFF_HINT}"
            )
        elif isinstance(error, openai.RateLimitError):
            message = f"{where} kept rate-limiting us (HTTP 429, {tries}); wait a while and try again, {OFF_HINT}"
        elif isinstance(error, openai.BadRequestError | openai.UnprocessableEntityError):
            message = (
                f"{where} rejected the review ({error.message}); if model {self._model!r} takes no pictures, set "
                f"DIRECTOR_CRITIC__VISION_MODEL to one that does, {OFF_HINT}"
            )
        elif isinstance(error, openai.APIStatusError):
            message = f"{where} failed with HTTP {error.status_code} ({error.message}); {OFF_HINT[3:]}"
        else:
            message = f"{where} could not be used ({error}); {OFF_HINT[3:]}"
        return VisionUnavailableError(message, endpoint=self.base_url)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"VisionReviewer({self.mode}, {self.base_url}, model={self._model or '?'}, flavour={self.flavour})"


_PICTURE_WORDS = ("image", "vision", "multimodal", "multi-modal", "picture", "content")


def _is_refusal(error: openai.OpenAIError) -> bool:
    """Whether a probe's error means "this model does not see": a 4xx about the picture, or no such model."""
    if isinstance(error, openai.NotFoundError):
        return True
    text = str(error.message).lower() if isinstance(error, openai.APIStatusError) else ""
    refused = isinstance(error, openai.BadRequestError | openai.UnprocessableEntityError)
    return refused and any(word in text for word in _PICTURE_WORDS)


class _Refused(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _text_parts(messages: list[Any]) -> list[dict[str, str]]:
    parts: list[dict[str, str]] = []
    for message in messages:
        content = message["content"]
        parts += [{"text": content}] if isinstance(content, str) else [p for p in content if p.get("type") == "text"]
    return parts
