"""A FAKE of OpenAI's images, videos and speech API on 127.0.0.1, for tests: it checks what the SDK sends and
answers real media (PNG, H.264 MP4, WAV), so the backends are tested through the real `openai` client.

Every request is recorded (`requests`); what the fake found wrong with one is answered 400 and listed in
`problems`, so a test can tell a refused request from a backend bug. Scripted failures come from `fail_next`.
Response bodies follow the SDK's types (`openai/types/video.py`, `images_response.py`).
"""

from __future__ import annotations

import base64
import functools
import io
import itertools
import json
import math
import struct
import tempfile
import threading
import time
from dataclasses import dataclass, field
from email import policy
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

import imageio_ffmpeg
import numpy as np
from PIL import Image

FaultKind = Literal["quota", "rate_limit", "moderation", "server_error", "slow"]

IMAGE_MODELS = frozenset({"gpt-image-1", "gpt-image-1-mini", "gpt-image-1.5", "gpt-image-2"})
IMAGE_SIZES = frozenset({"1024x1024", "1536x1024", "1024x1536", "auto"})
IMAGE_QUALITIES = frozenset({"low", "medium", "high", "auto"})
VIDEO_MODELS = frozenset({"sora-2", "sora-2-pro"})
VIDEO_SIZES = frozenset({"720x1280", "1280x720", "1024x1792", "1792x1024"})
VIDEO_SECONDS = frozenset({"4", "8", "12"})
SPEECH_MODELS = frozenset({"gpt-4o-mini-tts", "tts-1", "tts-1-hd"})
VOICES = frozenset("alloy ash ballad coral echo fable onyx nova sage shimmer verse marin cedar".split())
SPEECH_RATE = 24000
LEFT_COLOUR, RIGHT_COLOUR, BAND_COLOUR = (200, 40, 40), (40, 60, 200), (40, 200, 40)


@dataclass(frozen=True)
class UploadedFile:
    filename: str
    content_type: str
    data: bytes


@dataclass
class RecordedRequest:
    """One request as the fake received it: JSON body, or multipart text fields and files (lists per name)."""

    method: str
    path: str
    headers: dict[str, str]
    query: dict[str, list[str]]
    json: dict[str, Any] | None = None
    fields: dict[str, list[str]] = field(default_factory=dict)
    files: dict[str, list[UploadedFile]] = field(default_factory=dict)

    def value(self, name: str) -> str | None:
        """A JSON or multipart value by name, as sent."""
        if self.json is not None:
            return self.json.get(name)
        values = self.fields.get(name)
        return values[0] if values else None


@dataclass
class Fault:
    kind: FaultKind
    path: str
    times: int
    delay: float


@dataclass
class FakeVideoJob:
    id: str
    model: str
    prompt: str
    seconds: str
    size: str
    created_at: int
    outcome: Literal["completed", "failed", "stuck"]
    polls_left: int
    status: str = "queued"
    progress: int = 0
    retrieves: int = 0
    remixed_from: str | None = None
    characters: list[str] = field(default_factory=list)
    error: dict[str, str] | None = None

    def as_json(self) -> dict[str, Any]:
        done = self.status in ("completed", "failed")
        return {
            "id": self.id,
            "object": "video",
            "model": self.model,
            "status": self.status,
            "progress": self.progress,
            "created_at": self.created_at,
            "completed_at": self.created_at + 1 if done else None,
            "expires_at": self.created_at + 3600 if self.status == "completed" else None,
            "prompt": self.prompt,
            "remixed_from_video_id": self.remixed_from,
            "seconds": self.seconds,
            "size": self.size,
            "error": self.error if self.status == "failed" else None,
        }


class FakeRequestRefused(Exception):
    """A request the fake will not serve, with the HTTP status and OpenAI-style error body to answer."""

    def __init__(self, status: int, message: str, *, code: str | None = None, kind: str = "invalid_request_error"):
        super().__init__(message)
        self.status = status
        self.body = {"error": {"message": message, "type": kind, "param": None, "code": code}}
        self.headers: dict[str, str] = {}


@functools.lru_cache(maxsize=8)
def fake_png(width: int, height: int) -> bytes:
    """A real PNG: red left half, blue right half, green bands along the top and bottom 6 %.

    A test can tell a centred crop (the bands go when a landscape shot is cut from 3:2) from a squash or a flip.
    """
    pixels = np.empty((height, width, 3), np.uint8)
    pixels[:, : width // 2] = LEFT_COLOUR
    pixels[:, width // 2 :] = RIGHT_COLOUR
    band = round(height * 0.06)
    pixels[:band] = BAND_COLOUR
    pixels[height - band :] = BAND_COLOUR
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


@functools.lru_cache(maxsize=8)
def fake_mp4(width: int, height: int, seconds: int, fps: int) -> bytes:
    """A real H.264 MP4 made with imageio-ffmpeg: a white bar sweeping across a dark gradient."""
    with tempfile.TemporaryDirectory(prefix="fake-openai-") as folder:
        path = Path(folder) / "video.mp4"
        writer = imageio_ffmpeg.write_frames(
            str(path),
            (width, height),
            fps=fps,
            codec="libx264",
            pix_fmt_out="yuv420p",
            quality=None,
            macro_block_size=1,
            ffmpeg_log_level="error",
            output_params=["-preset", "ultrafast", "-crf", "30"],
        )
        writer.send(None)
        base = np.zeros((height, width, 3), np.uint8)
        base[..., 0] = np.linspace(30, 120, width, dtype=np.uint8)
        base[..., 2] = 90
        frames = seconds * fps
        for index in range(frames):
            frame = base.copy()
            x = index * (width - width // 16) // max(1, frames - 1)
            frame[:, x : x + width // 16] = 250
            writer.send(frame)
        writer.close()
        return path.read_bytes()


def fake_wav(seconds: float, *, streamed: bool) -> bytes:
    """A real 24 kHz mono 16-bit WAV of a 440 Hz tone; `streamed` puts 0xFFFFFFFF sizes in it as OpenAI does."""
    count = max(1, round(seconds * SPEECH_RATE))
    tone = (np.sin(2 * np.pi * 440 * np.arange(count) / SPEECH_RATE) * 8000).astype("<i2").tobytes()
    riff = 0xFFFFFFFF if streamed else 36 + len(tone)
    data = 0xFFFFFFFF if streamed else len(tone)
    header = (
        b"RIFF"
        + struct.pack("<I", riff)
        + b"WAVEfmt "
        + struct.pack("<IHHIIHH", 16, 1, 1, SPEECH_RATE, 2 * SPEECH_RATE, 2, 16)
    )
    return header + b"data" + struct.pack("<I", data) + tone


class FakeOpenAIMediaServer:
    """A FAKE OpenAI media API on a free port of 127.0.0.1; use as a context manager.

    Args:
        api_key: The only bearer token it accepts.
        polls_before_done: Status checks a video job answers `in_progress` before it ends.
        video_outcome: How new video jobs end: `completed`, `failed` (with `video_error`), or `stuck` running.
        video_fps: The frame rate of the MP4s it serves.
        image_answer: Whether images come back as `b64_json` or as a `url` served by the fake itself.
        streamed_wav: Answer WAV with 0xFFFFFFFF chunk sizes, as OpenAI's streamed WAV has.
    """

    def __init__(
        self,
        *,
        api_key: str = "test-key",
        polls_before_done: int = 2,
        video_outcome: Literal["completed", "failed", "stuck"] = "completed",
        video_error: tuple[str, str] = ("video_generation_failed", "The video could not be generated."),
        video_fps: int = 24,
        image_answer: Literal["b64_json", "url"] = "b64_json",
        streamed_wav: bool = True,
    ) -> None:
        self.api_key = api_key
        self.polls_before_done = polls_before_done
        self.video_outcome = video_outcome
        self.video_error = video_error
        self.video_fps = video_fps
        self.image_answer = image_answer
        self.streamed_wav = streamed_wav
        self.requests: list[RecordedRequest] = []
        self.problems: list[str] = []
        self.jobs: dict[str, FakeVideoJob] = {}
        self.characters: dict[str, dict[str, Any]] = {}
        self.character_clip_seconds: list[float] = []
        self._faults: list[Fault] = []
        self._served_images: dict[str, bytes] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._released = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The base URL to give the SDK, with `/v1`."""
        assert self._httpd is not None, "start the fake server first"
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def fail_next(self, kind: FaultKind, path: str = "", *, times: int = 1, delay: float = 5.0) -> None:
        """Answer the next `times` requests whose path contains `path` with a failure instead.

        `quota`: 429 insufficient_quota; `rate_limit`: 429 rate_limit_exceeded (retry after 10 ms);
        `moderation`: 400 moderation_blocked; `server_error`: 500 (retry after 10 ms); `slow`: wait `delay`
        seconds, then answer normally (the client has usually timed out by then).
        """
        with self._lock:
            self._faults.append(Fault(kind=kind, path=path, times=times, delay=delay))

    def requests_to(self, method: str, path: str) -> list[RecordedRequest]:
        """The recorded requests with this method whose path starts with `path` (after `/v1`)."""
        return [r for r in self.requests if r.method == method and r.path.startswith("/v1" + path)]

    def start(self) -> FakeOpenAIMediaServer:
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        httpd.daemon_threads = True
        httpd.block_on_close = False
        httpd.fake = self  # type: ignore[attr-defined]
        self._httpd = httpd
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._released.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeOpenAIMediaServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # What the handler calls

    def take_fault(self, path: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.path in path:
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def refuse(self, message: str) -> FakeRequestRefused:
        """Note a malformed request and answer it 400, as OpenAI would."""
        with self._lock:
            self.problems.append(message)
        return FakeRequestRefused(400, message)

    def new_id(self, prefix: str) -> str:
        return f"{prefix}_{next(self._ids):06d}"

    def wait(self, seconds: float) -> None:
        self._released.wait(seconds)

    def serve_image(self, data: bytes) -> str:
        name = self.new_id("img")
        self._served_images[name] = data
        return f"{self.url}/fake-files/{name}.png"

    def served_image(self, name: str) -> bytes | None:
        return self._served_images.get(name)


class _Handler(BaseHTTPRequestHandler):
    server: ThreadingHTTPServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        return

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    @property
    def fake(self) -> FakeOpenAIMediaServer:
        return self.server.fake  # type: ignore[attr-defined]

    def _serve(self, method: str) -> None:
        fake = self.fake
        split = urlsplit(self.path)
        body = self._body()
        request = RecordedRequest(
            method=method,
            path=split.path,
            headers={k.lower(): v for k, v in self.headers.items()},
            query=parse_qs(split.query),
        )
        try:
            try:
                self._parse(request, body)
            finally:
                fake.record(request)
            if split.path.startswith("/v1/fake-files/"):
                data = fake.served_image(Path(split.path).stem)
                if data is None:
                    raise FakeRequestRefused(404, "no such file")
                self._answer(200, data, "image/png")
                return
            if request.headers.get("authorization") != f"Bearer {fake.api_key}":
                raise FakeRequestRefused(401, "Incorrect API key provided.", code="invalid_api_key")
            fault = fake.take_fault(split.path)
            if fault is not None:
                self._fault(fault)
            status, payload, content_type = _route(fake, request)
        except FakeRequestRefused as refused:
            self._answer(refused.status, json.dumps(refused.body).encode(), "application/json", refused.headers)
            return
        if isinstance(payload, bytes):
            self._answer(status, payload, content_type)
        else:
            self._answer(status, json.dumps(payload).encode(), "application/json")

    def _fault(self, fault: Fault) -> None:
        if fault.kind == "slow":
            self.fake.wait(fault.delay)
            return
        if fault.kind == "quota":
            raise FakeRequestRefused(
                429,
                "You exceeded your current quota, please check your plan and billing details.",
                code="insufficient_quota",
                kind="insufficient_quota",
            )
        if fault.kind == "moderation":
            raise FakeRequestRefused(
                400,
                "Your request was rejected as a result of our safety system.",
                code="moderation_blocked",
                kind="image_generation_user_error",
            )
        refused = (
            FakeRequestRefused(429, "Rate limit reached for requests.", code="rate_limit_exceeded", kind="requests")
            if fault.kind == "rate_limit"
            else FakeRequestRefused(500, "The server had an error while processing your request.", kind="server_error")
        )
        refused.headers["retry-after-ms"] = "10"
        raise refused

    def _body(self) -> bytes:
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("content-length") or 0)
        return self.rfile.read(length) if length else b""

    def _parse(self, request: RecordedRequest, body: bytes) -> None:
        content_type = self.headers.get("content-type", "")
        if not body:
            return
        if content_type.startswith("application/json"):
            try:
                request.json = json.loads(body)
            except ValueError as error:
                raise self.fake.refuse(f"body is not JSON: {error}") from error
            return
        if content_type.startswith("multipart/form-data"):
            message = BytesParser(policy=policy.HTTP).parsebytes(
                b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
            )
            for part in message.iter_parts():
                name = part.get_param("name", header="content-disposition")
                payload = part.get_payload(decode=True) or b""
                filename = part.get_filename()
                if filename is not None:
                    upload = UploadedFile(filename, part.get_content_type(), payload)
                    request.files.setdefault(name, []).append(upload)
                else:
                    request.fields.setdefault(name, []).append(payload.decode())
            return
        raise self.fake.refuse(f"unexpected content type {content_type!r}")

    def _answer(self, status: int, data: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("x-request-id", "req_fake")
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting (a timeout test)


def _route(fake: FakeOpenAIMediaServer, request: RecordedRequest) -> tuple[int, Any, str]:
    parts = request.path.removeprefix("/v1/").strip("/").split("/")
    method = request.method
    if method == "POST" and parts == ["images", "generations"]:
        return _image(fake, request, edit=False)
    if method == "POST" and parts == ["images", "edits"]:
        return _image(fake, request, edit=True)
    if method == "POST" and parts == ["audio", "speech"]:
        return _speech(fake, request)
    if parts[:2] == ["videos", "characters"]:
        if method == "POST" and len(parts) == 2:
            return _create_character(fake, request)
        if method == "GET" and len(parts) == 3:
            character = fake.characters.get(parts[2])
            if character is None:
                raise FakeRequestRefused(404, f"No character found with id '{parts[2]}'.")
            return 200, character, "application/json"
    if parts[0] == "videos":
        if method == "POST" and len(parts) == 1:
            return _create_video(fake, request)
        job = fake.jobs.get(parts[1]) if len(parts) > 1 else None
        if job is None:
            raise FakeRequestRefused(404, f"No video found with id '{parts[1] if len(parts) > 1 else ''}'.")
        if method == "GET" and len(parts) == 2:
            return 200, _advance(job), "application/json"
        if method == "GET" and parts[2:] == ["content"]:
            if job.status != "completed":
                raise FakeRequestRefused(404, f"Video {job.id} is not ready: it is {job.status}.")
            width, height = (int(v) for v in job.size.split("x"))
            return 200, fake_mp4(width, height, int(job.seconds), fake.video_fps), "video/mp4"
        if method == "POST" and parts[2:] == ["remix"]:
            return _remix(fake, request, job)
    raise FakeRequestRefused(404, f"Invalid URL ({method} {request.path})")


def _require(fake: FakeOpenAIMediaServer, request: RecordedRequest, name: str, allowed: frozenset[str] | None) -> str:
    value = request.value(name)
    if value is None or value == "":
        raise fake.refuse(f"{request.path}: missing required parameter {name!r}")
    if allowed is not None and str(value) not in allowed:
        raise fake.refuse(f"{request.path}: invalid {name} {value!r}, expected one of {sorted(allowed)}")
    return str(value)


def _image(fake: FakeOpenAIMediaServer, request: RecordedRequest, *, edit: bool) -> tuple[int, Any, str]:
    if edit and request.json is not None:
        raise fake.refuse("image edits must be multipart/form-data")
    _require(fake, request, "model", IMAGE_MODELS)
    _require(fake, request, "prompt", None)
    size = _require(fake, request, "size", IMAGE_SIZES)
    quality = _require(fake, request, "quality", IMAGE_QUALITIES)
    if str(request.value("n") or "1") != "1":
        raise fake.refuse(f"expected n=1, got {request.value('n')!r}")
    if edit:
        pictures = request.files.get("image[]", []) + request.files.get("image", [])
        if not pictures:
            raise fake.refuse("an image edit needs at least one `image`")
        for picture in pictures:
            if picture.content_type not in ("image/png", "image/jpeg", "image/webp"):
                raise fake.refuse(f"unsupported image type {picture.content_type!r} for {picture.filename}")
            try:
                Image.open(io.BytesIO(picture.data)).verify()
            except Exception as error:  # noqa: BLE001 - any decode failure is a bad upload
                raise fake.refuse(f"image {picture.filename} is not a picture: {error}") from error
    width, height = (1024, 1024) if size == "auto" else (int(v) for v in size.split("x"))
    png = fake_png(width, height)
    item = (
        {"b64_json": base64.b64encode(png).decode()}
        if fake.image_answer == "b64_json"
        else {"url": fake.serve_image(png)}
    )
    answer = {
        "created": int(time.time()),
        "data": [item],
        "size": f"{width}x{height}",
        "quality": quality if quality != "auto" else "medium",
        "output_format": "png",
        "usage": {
            "input_tokens": 50,
            "input_tokens_details": {"image_tokens": 0, "text_tokens": 50},
            "output_tokens": 1056,
            "total_tokens": 1106,
        },
    }
    return 200, answer, "application/json"


def _create_video(fake: FakeOpenAIMediaServer, request: RecordedRequest) -> tuple[int, Any, str]:
    if request.json is not None:
        raise fake.refuse("a video with an input_reference upload must be multipart/form-data")
    model = _require(fake, request, "model", VIDEO_MODELS)
    prompt = _require(fake, request, "prompt", None)
    seconds = _require(fake, request, "seconds", VIDEO_SECONDS)
    size = _require(fake, request, "size", VIDEO_SIZES)
    if model == "sora-2" and size not in ("1280x720", "720x1280"):
        raise fake.refuse(f"sora-2 does not render {size}")
    for reference in request.files.get("input_reference", []):
        try:
            with Image.open(io.BytesIO(reference.data)) as picture:
                found = f"{picture.width}x{picture.height}"
        except Exception as error:  # noqa: BLE001 - any decode failure is a bad upload
            raise fake.refuse(f"input_reference is not a picture: {error}") from error
        if found != size:
            raise fake.refuse(f"Inpaint image must match the requested width and height: got {found}, want {size}")
    characters = request.fields.get("characters[][id]", [])
    for character in characters:
        if character not in fake.characters:
            raise fake.refuse(f"unknown character {character!r}")
    return 200, _new_job(fake, model, prompt, seconds, size, characters=characters).as_json(), "application/json"


def _remix(fake: FakeOpenAIMediaServer, request: RecordedRequest, source: FakeVideoJob) -> tuple[int, Any, str]:
    prompt = _require(fake, request, "prompt", None)
    if source.status != "completed":
        raise fake.refuse(f"video {source.id} cannot be remixed: it is {source.status}")
    job = _new_job(fake, source.model, prompt, source.seconds, source.size, remixed_from=source.id)
    return 200, job.as_json(), "application/json"


def _new_job(
    fake: FakeOpenAIMediaServer,
    model: str,
    prompt: str,
    seconds: str,
    size: str,
    *,
    characters: list[str] | None = None,
    remixed_from: str | None = None,
) -> FakeVideoJob:
    job = FakeVideoJob(
        id=fake.new_id("video"),
        model=model,
        prompt=prompt,
        seconds=seconds,
        size=size,
        created_at=int(time.time()),
        outcome=fake.video_outcome,
        polls_left=fake.polls_before_done,
        remixed_from=remixed_from,
        characters=list(characters or []),
        error={"code": fake.video_error[0], "message": fake.video_error[1]},
    )
    fake.jobs[job.id] = job
    return job


def _advance(job: FakeVideoJob) -> dict[str, Any]:
    """One status check: queued, then in progress for `polls_before_done - 1` checks, then the outcome."""
    job.retrieves += 1
    if job.status in ("completed", "failed"):
        return job.as_json()
    job.polls_left -= 1
    if job.polls_left > 0 or job.outcome == "stuck":
        job.status = "in_progress"
        job.progress = min(99, job.progress + 33)
    elif job.outcome == "failed":
        job.status = "failed"
    else:
        job.status, job.progress = "completed", 100
    return job.as_json()


def _create_character(fake: FakeOpenAIMediaServer, request: RecordedRequest) -> tuple[int, Any, str]:
    name = _require(fake, request, "name", None)
    if not 1 <= len(name) <= 80:
        raise fake.refuse(f"character name must be 1 to 80 characters, got {len(name)}")
    videos = request.files.get("video", [])
    if len(videos) != 1:
        raise fake.refuse("a character needs exactly one `video` file")
    with tempfile.TemporaryDirectory(prefix="fake-openai-") as folder:
        path = Path(folder) / "character.mp4"
        path.write_bytes(videos[0].data)
        try:
            _, seconds = imageio_ffmpeg.count_frames_and_secs(str(path))
        except Exception as error:  # noqa: BLE001 - anything ffmpeg cannot read is a bad upload
            raise fake.refuse(f"character video is not a video: {error}") from error
    fake.character_clip_seconds.append(seconds)
    character = {"id": fake.new_id("char"), "name": name, "created_at": int(time.time())}
    fake.characters[character["id"]] = character
    return 200, character, "application/json"


def _speech(fake: FakeOpenAIMediaServer, request: RecordedRequest) -> tuple[int, Any, str]:
    if request.json is None:
        raise fake.refuse("speech requests are JSON")
    model = _require(fake, request, "model", SPEECH_MODELS)
    text = _require(fake, request, "input", None)
    _require(fake, request, "voice", VOICES)
    if request.value("response_format") != "wav":
        raise fake.refuse(f"the fake speaks only wav, asked for {request.value('response_format')!r}")
    speed = float(request.value("speed") or 1.0)
    if not 0.25 <= speed <= 4.0:
        raise fake.refuse(f"speed {speed} is outside 0.25 to 4.0")
    if request.value("instructions") and model.startswith("tts-1"):
        raise fake.refuse(f"{model} does not take instructions")
    seconds = max(0.3, 0.06 * len(text)) / speed
    return 200, fake_wav(math.ceil(seconds * 100) / 100, streamed=fake.streamed_wav), "audio/wav"
