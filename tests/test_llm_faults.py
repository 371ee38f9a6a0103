"""LLM faults over a real socket: a faulty OpenAI-compatible endpoint on 127.0.0.1 that is down, drops answers,
stalls, answers garbage or rate-limits, talked to by the real `LLMClient` and by whole runs and the CLI.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path

import pytest
from fake_crew import GOOD, PREMISE, scene_answer
from pydantic import BaseModel, Field
from typer.testing import CliRunner

from agents.answers import scene_answer_model
from agents.prompting import PromptTemplate
from agents.run import new_run, open_context, run_film
from tools.llm.asking import complete_structured_or
from tools.llm.client import LLMClient
from tools.llm.errors import LLMAnswerError, LLMUnavailableError
from tools.settings import LLMSettings, Settings

# --- the faulty endpoint ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """200 with this message content."""

    content: str


@dataclass(frozen=True)
class Drop:
    """200 with a Content-Length for the whole completion, half of it, then the socket closes."""


@dataclass(frozen=True)
class Truncate:
    """200 with no length (the body ends when the connection does), half the completion, then the socket closes."""


@dataclass(frozen=True)
class Stall:
    """Say nothing for `seconds` (longer than the client waits), then answer."""

    seconds: float


@dataclass(frozen=True)
class RateLimit:
    """429 with this `retry-after`, or none."""

    retry_after: str | None = None


@dataclass(frozen=True)
class WebPage:
    """200 with an HTML page, as a base URL that points at a web UI instead of the API gets."""


Fault = Answer | Drop | Truncate | Stall | RateLimit | WebPage


@dataclass
class Received:
    at: float
    task: str
    messages: list[dict]


def agent_prompts() -> dict[str, tuple[str, str]]:
    """Each agent prompt's system part and the fixed start of its user part, by task: who is asking."""
    files = resources.files("agents").joinpath("prompts").iterdir()
    names = [entry.name.removesuffix(".txt") for entry in files if entry.name.endswith(".txt")]
    templates = [PromptTemplate.load(name) for name in names]
    return {template.name: (template.system, template.user.partition("{")[0]) for template in templates}


def choices(schema: dict) -> list[str]:
    """The values a JSON-schema enum allows: pydantic writes a one-value `Literal` as `const`."""
    return list(schema["enum"]) if "enum" in schema else [schema["const"]]


def completion(content: str) -> bytes:
    return json.dumps(
        {
            "id": "faulty-1",
            "object": "chat.completion",
            "created": 0,
            "model": "faulty-model",
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}],
            "usage": {"prompt_tokens": 9, "completion_tokens": 5, "total_tokens": 14},
        }
    ).encode()


@dataclass
class FaultyEndpoint:
    """A fake OpenAI-compatible chat endpoint that misbehaves on purpose.

    Each chat request takes the next fault of `script`; once the script is spent, every request gets `always`
    if set, a request whose task (found from its system prompt) is in `task_faults` gets that fault, and any
    other gets the fake crew's good answer (`{"title": "Dawn"}` for prompts that are no agent's). Every
    request is recorded with its arrival time.
    """

    script: list[Fault] = field(default_factory=list)
    always: Fault | None = None
    task_faults: dict[str, Fault] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._prompts = agent_prompts()
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                models = {"object": "list", "data": [{"id": "faulty-model", "object": "model", "created": 0}]}
                self.send_body(200, json.dumps(models).encode())

            def do_POST(self) -> None:
                arrived = time.monotonic()
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                self.act(endpoint.next_fault(arrived, body))

            def act(self, fault: Fault) -> None:
                if isinstance(fault, Answer):
                    self.send_body(200, completion(fault.content))
                elif isinstance(fault, Stall):
                    endpoint._closing.wait(fault.seconds)
                    self.send_body(200, completion('{"title": "Too late"}'))
                elif isinstance(fault, RateLimit):
                    headers = {"retry-after": fault.retry_after} if fault.retry_after is not None else {}
                    error = {"error": {"message": "Rate limit reached", "type": "rate_limit_exceeded"}}
                    self.send_body(429, json.dumps(error).encode(), headers)
                elif isinstance(fault, WebPage):
                    self.send_body(200, b"<html><body>Chat UI</body></html>", {"content-type": "text/html"})
                else:
                    data = completion('{"title": "Dawn"}')
                    self.send_response(200)
                    self.send_header("content-type", "application/json")
                    if isinstance(fault, Drop):
                        self.send_header("content-length", str(len(data)))
                    else:
                        self.send_header("connection", "close")
                    self.end_headers()
                    self.wfile.write(data[: len(data) // 2])
                    self.wfile.flush()
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True

            def send_body(self, status: int, data: bytes, headers: dict[str, str] | None = None) -> None:
                headers = {"content-type": "application/json", **(headers or {})}
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: object, client_address: object) -> None:
                pass  # a client that gave up on a stalled answer closes the socket under our reply

        self._server = Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def task_of(self, messages: list[dict]) -> str:
        system, user = messages[0]["content"], messages[1]["content"]
        matches = {
            name: len(start) + len(opening)
            for name, (start, opening) in self._prompts.items()
            if system.startswith(start + "\n") and user.startswith(opening)
        }
        return max(matches, key=matches.__getitem__, default="")

    def next_fault(self, arrived: float, body: dict) -> Fault:
        task = self.task_of(body["messages"])
        with self._lock:
            self.received.append(Received(arrived, task, body["messages"]))
            if self.script:
                return self.script.pop(0)
            if self.always is not None:
                return self.always
            if task in self.task_faults:
                return self.task_faults[task]
        if task == "scene":
            properties = body["response_format"]["json_schema"]["schema"]["properties"]
            speakers = choices(properties["speaker"]) if "speaker" in properties else []
            schema = scene_answer_model(
                choices(properties["setting"]), choices(properties["characters"]["items"]), speakers
            )
            return Answer(json.dumps(scene_answer(schema)))
        return Answer(json.dumps(GOOD.get(task, {"title": "Dawn"})))

    def gaps(self) -> list[float]:
        return [later.at - earlier.at for earlier, later in zip(self.received, self.received[1:], strict=False)]

    def tasks(self) -> list[str]:
        return [request.task for request in self.received]

    def close(self) -> None:
        self._closing.set()
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def endpoint() -> Iterator[FaultyEndpoint]:
    served = FaultyEndpoint()
    yield served
    served.close()


@pytest.fixture
def dead_url() -> str:
    """A port nothing listens on: bound, then freed."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}/v1"


class Title(BaseModel):
    title: str = Field(min_length=2, max_length=40)


def client(url: str, *, retries: int = 2, timeout: float = 5.0, model: str = "faulty-model") -> LLMClient:
    """The client exactly as a run builds it from its settings."""
    settings = LLMSettings(base_url=url, model=model, max_retries=retries, timeout=timeout)
    return LLMClient.from_settings(settings)


def ask_title(llm: LLMClient) -> Title:
    return llm.structured(system="Name the film.", user="A dog and a storm.", schema=Title, task="title")


# Between retries the SDK waits 0.5 s doubling, less up to 25 % jitter: retry n waits at least this long.
def least_backoff(retry: int) -> float:
    return 0.5 * 2**retry * 0.75


# --- endpoint down at start -------------------------------------------------------------------------------


def test_an_endpoint_down_at_start_is_retried_with_backoff_then_named(dead_url: str) -> None:
    begun = time.monotonic()
    with pytest.raises(LLMUnavailableError) as caught, client(dead_url, retries=0, model="") as llm:
        ask_title(llm)
    without_retries = time.monotonic() - begun
    begun = time.monotonic()
    with pytest.raises(LLMUnavailableError) as retried, client(dead_url, retries=2, model="") as llm:
        ask_title(llm)
    with_retries = time.monotonic() - begun

    assert with_retries - without_retries >= least_backoff(0) + least_backoff(1) - 0.05
    message = str(retried.value)
    assert f"Could not connect to the LLM endpoint {dead_url}/ (3 tries)" in message
    assert "DIRECTOR_LLM__BASE_URL" in message and "bundled model" in message
    assert retried.value.endpoint == f"{dead_url}/"
    assert "(1 try)" in str(caught.value)


# --- dropped mid-answer -----------------------------------------------------------------------------------


@pytest.mark.parametrize("fault", [Drop(), Truncate()], ids=["with-length", "close-delimited"])
def test_an_answer_dropped_mid_body_is_asked_for_again(endpoint: FaultyEndpoint, fault: Fault) -> None:
    endpoint.script = [fault, fault]
    with client(endpoint.url, retries=2) as llm:
        assert ask_title(llm) == Title(title="Dawn")
        usage = llm.usage
    assert len(endpoint.received) == 3
    assert all(gap >= least_backoff(0) for gap in endpoint.gaps())
    assert (usage.calls, usage.retries, usage.failures) == (1, 0, 0)


@pytest.mark.parametrize(
    ("fault", "says"),
    [(Drop(), "broke off before the answer was complete"), (Truncate(), "sent an answer that broke off")],
    ids=["with-length", "close-delimited"],
)
def test_an_answer_that_keeps_breaking_off_is_a_clear_error(endpoint: FaultyEndpoint, fault: Fault, says: str) -> None:
    endpoint.script = [fault] * 3
    with pytest.raises(LLMUnavailableError) as caught, client(endpoint.url, retries=1) as llm:
        ask_title(llm)
    message = str(caught.value)
    assert says in message and "2 tries)" in message and endpoint.url in message
    assert "Could not connect" not in message
    assert len(endpoint.received) == 2
    assert llm.usage.failures == 1


def test_a_web_page_instead_of_the_api_is_named_not_crashed_on(endpoint: FaultyEndpoint) -> None:
    endpoint.script = [WebPage()]
    with (
        pytest.raises(LLMUnavailableError, match=r"not a chat completion \('<html>.*ends in /v1"),
        client(endpoint.url) as llm,
    ):
        ask_title(llm)


# --- timeouts ---------------------------------------------------------------------------------------------


def test_a_stalled_answer_times_out_and_is_asked_for_again(endpoint: FaultyEndpoint) -> None:
    endpoint.script = [Stall(5)]
    begun = time.monotonic()
    with client(endpoint.url, retries=1, timeout=0.4) as llm:
        assert ask_title(llm) == Title(title="Dawn")
    assert 0.4 + least_backoff(0) <= time.monotonic() - begun < 3
    assert len(endpoint.received) == 2


def test_an_endpoint_that_never_answers_in_time_says_which_setting_to_raise(endpoint: FaultyEndpoint) -> None:
    endpoint.always = Stall(5)
    begun = time.monotonic()
    with pytest.raises(LLMUnavailableError) as caught, client(endpoint.url, retries=1, timeout=0.4) as llm:
        ask_title(llm)
    assert time.monotonic() - begun < 3
    message = str(caught.value)
    assert "did not answer within the 0.4 s timeout (2 tries)" in message
    assert "DIRECTOR_LLM__TIMEOUT" in message
    assert len(endpoint.received) == 2


# --- 429 --------------------------------------------------------------------------------------------------


def test_a_429_waits_as_long_as_retry_after_asks_then_succeeds(endpoint: FaultyEndpoint) -> None:
    endpoint.script = [RateLimit("1"), RateLimit("1")]
    with client(endpoint.url, retries=2) as llm:
        assert ask_title(llm) == Title(title="Dawn")
    assert len(endpoint.received) == 3
    assert all(gap >= 1.0 for gap in endpoint.gaps()), endpoint.gaps()


def test_a_429_without_retry_after_backs_off_longer_each_time(endpoint: FaultyEndpoint) -> None:
    endpoint.script = [RateLimit(), RateLimit()]
    with client(endpoint.url, retries=2) as llm:
        assert ask_title(llm) == Title(title="Dawn")
    first, second = endpoint.gaps()
    assert first >= least_backoff(0) and second >= least_backoff(1) and second > first


def test_a_429_that_persists_is_a_clear_rate_limit_error(endpoint: FaultyEndpoint) -> None:
    endpoint.always = RateLimit("1")
    with pytest.raises(LLMUnavailableError) as caught, client(endpoint.url, retries=1) as llm:
        ask_title(llm)
    message = str(caught.value)
    assert "kept rate-limiting us (HTTP 429, asking for 1 s between tries) through 2 tries" in message
    assert "DIRECTOR_LLM__MAX_RETRIES" in message and endpoint.url in message
    assert len(endpoint.received) == 2 and endpoint.gaps()[0] >= 1.0


def test_a_429_asking_for_a_longer_wait_than_the_sdk_honours_is_not_retried(endpoint: FaultyEndpoint) -> None:
    endpoint.script = [RateLimit("300")]
    with pytest.raises(LLMUnavailableError, match="asked us to wait 300 s"), client(endpoint.url) as llm:
        ask_title(llm)
    assert len(endpoint.received) == 1


# --- invalid JSON in the answer ---------------------------------------------------------------------------


def test_an_invalid_answer_is_asked_again_and_one_never_valid_falls_back(endpoint: FaultyEndpoint) -> None:
    endpoint.script = [Answer('Sure! {"title": "Da'), Answer('{"title": "Dawn"}')]
    with client(endpoint.url, retries=1) as llm:
        assert ask_title(llm) == Title(title="Dawn")
        second = endpoint.received[1].messages
        assert second[-2] == {"role": "assistant", "content": 'Sure! {"title": "Da'}
        assert "not valid JSON" in second[-1]["content"]

        endpoint.script = [Answer("no JSON here"), Answer('{"title": ""}')]
        with pytest.raises(LLMAnswerError) as caught:
            ask_title(llm)
        assert caught.value.raw_answer == '{"title": ""}' and caught.value.attempts == 2

        endpoint.script = [Answer("{{{"), Answer("[]")]
        value, used_default = complete_structured_or(
            llm, lambda: Title(title="Untitled"), system="s", user="u", schema=Title, task="title"
        )
        assert (value, used_default) == (Title(title="Untitled"), True)
        usage = llm.usage
    assert (usage.calls, usage.retries, usage.failures) == (6, 3, 2)


# --- whole runs -------------------------------------------------------------------------------------------


def small_settings(projects: Path, **llm: object) -> Settings:
    return Settings(
        projects_dir=projects,
        target_seconds=8,
        max_review_rounds=1,
        llm=LLMSettings(**llm),
        render={"width": 160, "fps": 6, "speech_backend": "none"},
    )


def test_a_run_falls_back_on_bad_answers_stops_at_a_broken_endpoint_and_resumes_from_its_checkpoint(
    tmp_path: Path, endpoint: FaultyEndpoint, minilm
) -> None:
    endpoint.task_faults = {"character": Answer("I'd rather not say."), "rubric": Drop()}
    settings = small_settings(tmp_path / "projects", base_url=endpoint.url, max_retries=1, timeout=5)
    project = new_run(settings, premise=PREMISE)

    with pytest.raises(LLMUnavailableError, match="broke off before the answer was complete") as caught:
        with open_context(settings, project, embedding_function=minilm) as context:
            run_film(settings, project, context=context)
    assert endpoint.url in str(caught.value)
    assert endpoint.tasks().count("character") == 4, "each of the two beings asked, then asked once more"
    assert endpoint.tasks().count("rubric") == 2
    stopped = project.load_film()
    assert stopped is not None and stopped.scenes and not stopped.review_rounds
    assert [c.name for c in stopped.characters] == ["The Lighthouse Keeper", "The Stray Dog"]
    (failed,) = project.run_records()
    assert failed.kind == "start" and failed.error.startswith("LLMUnavailableError: ")
    assert failed.llm_usage.calls >= 4 and "write_script" in failed.timings
    calls_before = len(endpoint.received)
    takes_before = {shot.id: [take.content_hash for take in shot.takes] for shot in stopped.shots()}

    endpoint.task_faults = {}
    with open_context(settings, project, embedding_function=minilm) as context:
        outcome = run_film(settings, project, context=context)

    assert outcome.finished and outcome.cut is not None
    assert set(endpoint.tasks()[calls_before:]) <= {"rubric", "weakest_shot"}
    assert "rubric" in endpoint.tasks()[calls_before:]
    assert not {"write_script", "plan_shots", "design_shots", "render_shot"} & set(outcome.timings)
    assert "review_cut" in outcome.timings
    film = outcome.film
    assert [c.name for c in film.characters] == ["The Lighthouse Keeper", "The Stray Dog"]
    assert {shot.id: [take.content_hash for take in shot.takes] for shot in film.shots()} == takes_before
    assert len(film.review_rounds) == 1
    assert project.run_records()[-1].kind == "resume"
    assert (project.logs_dir / "llm-calls.jsonl").is_file()


def test_director_make_with_the_endpoint_down_says_so_and_resume_finishes_once_it_answers(
    tmp_path: Path, endpoint: FaultyEndpoint, dead_url: str, minilm, monkeypatch: pytest.MonkeyPatch
) -> None:
    from memory.store import MemoryStore
    from ui.cli import app

    # The CLI loads its own MiniLM (seconds); lend it the session's, which has nothing to do with the LLM.
    embedded = MemoryStore.from_settings
    monkeypatch.setattr(
        MemoryStore,
        "from_settings",
        lambda memory, root, embedding_function=None: embedded(memory, root, embedding_function or minilm),
    )
    for name, value in {
        "DIRECTOR_TARGET_SECONDS": "8",
        "DIRECTOR_MAX_REVIEW_ROUNDS": "1",
        "DIRECTOR_RENDER__WIDTH": "160",
        "DIRECTOR_RENDER__FPS": "6",
        "DIRECTOR_RENDER__SPEECH_BACKEND": "none",
        "DIRECTOR_LLM__MAX_RETRIES": "1",
        "DIRECTOR_CONFIG": str(tmp_path / "none.toml"),
    }.items():
        monkeypatch.setenv(name, value)
    projects = tmp_path / "projects"
    runner = CliRunner()

    monkeypatch.setenv("DIRECTOR_LLM__BASE_URL", dead_url)
    made = runner.invoke(app, ["make", PREMISE, "--projects-dir", str(projects)])
    (root,) = projects.iterdir()
    said = " ".join(made.output.split())  # Rich wraps the message at the terminal's width
    assert made.exit_code == 1, made.output
    assert f"error: Could not connect to the LLM endpoint {dead_url}/ (2 tries)" in said
    assert "DIRECTOR_LLM__BASE_URL" in said
    assert f"resume with: director resume {root.name}" in said
    assert "Traceback" not in said and isinstance(made.exception, SystemExit)
    assert not (root / "film.json").exists()

    monkeypatch.setenv("DIRECTOR_LLM__BASE_URL", endpoint.url)
    resumed = runner.invoke(app, ["resume", root.name, "--projects-dir", str(projects)])
    assert resumed.exit_code == 0, resumed.output
    assert f"Resuming run {root.name}" in resumed.output
    assert (root / "cut" / "film.mp4").stat().st_size > 0
    assert {"title", "character", "settings", "scene", "shots", "rubric"} <= set(endpoint.tasks())
    assert "Traceback" not in resumed.output
