"""A FAKE OpenAI-compatible vision model on 127.0.0.1, for tests: it checks the pictures a client sends and
answers a scripted verdict, so the vision reviewer is tested through the real `openai` client over real HTTP.

Every chat request is recorded with its text and its decoded pictures (`requests`); a picture that is not a PNG
data URL Pillow can open is listed in that request's `problems` and answered 400. `vision=False` plays a
text-only model, refusing any picture as vLLM does.
"""

from __future__ import annotations

import base64
import io
import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from PIL import Image

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
DATA_URL_PREFIX = "data:image/png;base64,"


@dataclass(frozen=True)
class RecordedPicture:
    width: int
    height: int
    mode: str
    mean_colour: tuple[float, float, float]


@dataclass
class RecordedRequest:
    """One chat request as the fake received it."""

    path: str
    body: dict[str, Any]
    pictures: list[RecordedPicture] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def messages(self) -> list[dict[str, Any]]:
        return self.body.get("messages", [])

    @property
    def text(self) -> str:
        """Every text in the conversation, joined by newlines (string contents and text parts alike)."""
        texts = []
        for message in self.messages:
            content = message.get("content")
            if isinstance(content, str):
                texts.append(content)
            elif isinstance(content, list):
                texts += [part.get("text", "") for part in content if part.get("type") == "text"]
        return "\n".join(texts)

    @property
    def response_format(self) -> dict[str, Any] | None:
        return self.body.get("response_format")


def _decode_picture(part: dict[str, Any]) -> RecordedPicture:
    """The picture in one `image_url` part; ValueError says what is wrong with it."""
    url = (part.get("image_url") or {}).get("url", "")
    if not url.startswith(DATA_URL_PREFIX):
        raise ValueError(f"not a PNG data URL: {url[:40]!r}")
    data = base64.b64decode(url[len(DATA_URL_PREFIX) :], validate=True)
    if not data.startswith(PNG_MAGIC):
        raise ValueError("the data is not a PNG (wrong magic bytes)")
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        if image.format != "PNG":
            raise ValueError(f"Pillow reads it as {image.format}, not PNG")
        rgb = image.convert("RGB")
        pixels = rgb.width * rgb.height
        sums = [sum(index * count for index, count in enumerate(rgb.histogram()[band * 256 : (band + 1) * 256]))
                for band in range(3)]  # fmt: skip
        mean = (sums[0] / pixels, sums[1] / pixels, sums[2] / pixels)
        return RecordedPicture(width=image.width, height=image.height, mode=image.mode, mean_colour=mean)


class FakeVisionEndpoint:
    """A FAKE vision model's chat endpoint on a free port of 127.0.0.1; use as a context manager.

    Args:
        answer: The verdict (a dict, sent as JSON) or raw text to answer a request with.
        vision: False plays a text-only model: any request with a picture is refused with HTTP 400.
        models: The model names it serves; a request for another is answered 404.
    """

    def __init__(
        self,
        answer: Callable[[RecordedRequest], dict[str, Any] | str] = lambda request: "Red",
        *,
        vision: bool = True,
        models: tuple[str, ...] = ("fake-vision",),
    ) -> None:
        self.answer = answer
        self.vision = vision
        self.models = models
        self.requests: list[RecordedRequest] = []
        self._failures: list[int] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        assert self._httpd is not None, "start the fake endpoint first"
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def fail_next(self, status: int, times: int = 1) -> None:
        """Answer the next `times` chat requests with HTTP `status` (retry after 10 ms) instead."""
        with self._lock:
            self._failures += [status] * times

    def start(self) -> FakeVisionEndpoint:
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        httpd.daemon_threads = True
        httpd.fake = self  # type: ignore[attr-defined]
        self._httpd = httpd
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeVisionEndpoint:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def chat(self, request: RecordedRequest) -> tuple[int, dict[str, Any]]:
        """The status and JSON body answering one chat request."""
        with self._lock:
            self.requests.append(request)
            failure = self._failures.pop(0) if self._failures else None
        if failure is not None:
            return failure, _error(f"scripted failure {failure}", "server_error")
        model = request.body.get("model")
        if model not in self.models:
            return 404, _error(f"The model `{model}` does not exist.", "invalid_request_error", "model_not_found")
        parts = [part for message in request.messages if isinstance(message.get("content"), list)
                 for part in message["content"]]  # fmt: skip
        images = [part for part in parts if part.get("type") == "image_url"]
        if images and not self.vision:
            return 400, {
                "object": "error",
                "message": f"{model} is a text-only model and does not support image input",
                "type": "BadRequestError",
                "param": None,
                "code": 400,
            }
        for index, part in enumerate(images):
            try:
                request.pictures.append(_decode_picture(part))
            except (ValueError, OSError) as error:
                request.problems.append(f"picture {index + 1}: {error}")
        if request.problems:
            return 400, _error("; ".join(request.problems), "invalid_request_error")
        answer = self.answer(request)
        content = answer if isinstance(answer, str) else json.dumps(answer)
        prompt_tokens = len(request.text) // 4 + 85 * len(images)
        completion_tokens = max(1, len(content) // 4)
        return 200, {
            "id": f"chatcmpl-fake-{next(self._ids)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }


def _error(message: str, kind: str, code: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    @property
    def fake(self) -> FakeVisionEndpoint:
        return self.server.fake  # type: ignore[attr-defined]

    def _send(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if status == 429 or status >= 500:
            self.send_header("retry-after-ms", "10")
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path.rstrip("/") == "/v1/models":
            data = [{"id": name, "object": "model", "created": 0, "owned_by": "fake"} for name in self.fake.models]
            self._send(200, {"object": "list", "data": data})
        else:
            self._send(404, _error(f"no route {self.path}", "invalid_request_error"))

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._send(404, _error(f"no route {self.path}", "invalid_request_error"))
            return
        try:
            body = json.loads(raw)
        except json.JSONDecodeError as error:
            self._send(400, _error(f"the body is not JSON: {error}", "invalid_request_error"))
            return
        self._send(*self.fake.chat(RecordedRequest(path=self.path, body=body)))
