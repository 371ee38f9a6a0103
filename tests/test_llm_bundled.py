"""The real bundled SmolLM2 on each engine (torch in-process; llama-cpp-python's server where it is installed),
and one contract shared with the fake."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import pytest
from fake_llm import FakeLLM
from pydantic import BaseModel, Field

from tools.llm.asking import StructuredLLM, complete_structured_or
from tools.llm.client import LLMClient
from tools.llm.errors import LLMAnswerError, LLMUnavailableError
from tools.llm.llama_server import BundledModelServer, BundledServerError, free_loopback_port
from tools.llm.offline_models import llama_cpp_installed
from tools.llm.torch_server import TorchModelServer
from tools.settings import LLMSettings

pytestmark = [pytest.mark.llm, pytest.mark.timeout(300)]

needs_llama_cpp = pytest.mark.skipif(
    not llama_cpp_installed(),
    reason="llama-cpp-python is not installed (the opt-in `llama` extra: pip install -e '.[llama]')",
)

SYSTEM = "You are the casting director of a short film. You invent vivid, concrete characters."
USER = "Invent the lighthouse keeper of a stormy island."


class Role(StrEnum):
    hero = "hero"
    villain = "villain"
    mentor = "mentor"
    sidekick = "sidekick"


class Character(BaseModel):
    name: str = Field(min_length=2, max_length=30)
    look: str = Field(min_length=8, max_length=120)
    role: Role
    traits: list[Annotated[str, Field(min_length=2, max_length=24)]] = Field(min_length=1, max_length=3)


class Impossible(BaseModel):
    """A number the grammar allows but validation refuses, so every answer is invalid."""

    code: int = Field(ge=987_654_321_987, le=987_654_321_987)


def _alive(pid: int) -> bool:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return fields[0] not in ("Z", "X")
    except FileNotFoundError:
        return False
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True


def _wait_gone(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.1)
    return not _alive(pid)


ENGINES = ["torch", pytest.param("llama.cpp", marks=needs_llama_cpp)]


def _bundled_client(engine: str, tmp_path_factory: pytest.TempPathFactory) -> LLMClient:
    settings = LLMSettings(max_retries=3, temperature=0.3, max_tokens=256, engine=engine)
    return LLMClient.from_settings(settings, log_dir=tmp_path_factory.mktemp("llm-logs"))


@pytest.fixture(scope="module")
def bundled_torch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LLMClient]:
    with _bundled_client("torch", tmp_path_factory) as client:
        yield client


@pytest.fixture(scope="module")
def bundled_llama_cpp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LLMClient]:
    with _bundled_client("llama.cpp", tmp_path_factory) as client:
        yield client


@pytest.fixture(scope="module", params=ENGINES)
def bundled(request: pytest.FixtureRequest) -> LLMClient:
    return request.getfixturevalue(f"bundled_{request.param.replace('.', '_')}")


@pytest.fixture(params=["fake", *ENGINES])
def structured_llm(request: pytest.FixtureRequest) -> StructuredLLM:
    if request.param == "fake":
        scripted = Character(name="Maren Holt", look="weathered face, grey braid, yellow oilskin", role=Role.mentor,
                             traits=["stubborn", "kind"])  # fmt: skip
        return FakeLLM({"contract": [scripted], "impossible": ['{"code": 7}'] * 4}, max_retries=3)
    return request.getfixturevalue(f"bundled_{request.param.replace('.', '_')}")


def test_bundled_server_runs_the_packaged_model(bundled: LLMClient) -> None:
    assert bundled.server is not None and bundled.server.running
    assert bundled.flavour == "llama.cpp"
    assert bundled.model == "smollm2-135m-instruct"
    if isinstance(bundled.server, TorchModelServer):
        assert bundled.endpoint.rstrip("/") == "http://smollm2-135m-instruct.in-process/v1"
        assert bundled.server.pid is None
    else:
        assert bundled.endpoint.startswith("http://127.0.0.1:")
    assert bundled.server.started_in is not None and bundled.server.started_in < 120
    assert bundled.server.log_path is not None and bundled.server.log_path.name == "llm-server.log"


def test_bundled_model_fills_a_tight_schema(bundled: LLMClient) -> None:
    before = bundled.usage
    character = bundled.structured(system=SYSTEM, user=USER, schema=Character, task="cast")

    assert isinstance(character, Character)
    assert 2 <= len(character.name) <= 30 and 1 <= len(character.traits) <= 3
    usage = bundled.usage
    assert usage.calls > before.calls
    assert usage.prompt_tokens > before.prompt_tokens + 20
    assert usage.completion_tokens > before.completion_tokens + 5
    assert usage.seconds > before.seconds
    assert usage.tasks["cast"].calls == usage.calls - before.calls
    assert bundled.call_log is not None and '"task": "cast"' in bundled.call_log.read_text()


def test_bundled_model_serves_threads(bundled: LLMClient) -> None:
    results: list[object] = []

    def ask(index: int) -> None:
        try:
            results.append(bundled.structured(system=SYSTEM, user=USER, schema=Character, task=f"thread-{index}"))
        except Exception as error:  # noqa: BLE001
            results.append(error)

    threads = [threading.Thread(target=ask, args=(index,)) for index in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(isinstance(result, Character) for result in results), results
    usage = bundled.usage
    assert sum(usage.tasks[f"thread-{index}"].calls for index in range(3)) >= 3


def test_contract_answer_and_accounting(structured_llm: StructuredLLM) -> None:
    assert isinstance(structured_llm, StructuredLLM)
    before = structured_llm.usage
    answer = structured_llm.structured(system=SYSTEM, user=USER, schema=Character, task="contract")

    assert type(answer) is Character
    after = structured_llm.usage
    calls = after.calls - before.calls
    assert calls >= 1
    assert after.tasks["contract"].calls == calls
    assert after.prompt_tokens - before.prompt_tokens > 0
    assert after.completion_tokens - before.completion_tokens > 0
    assert after.seconds >= before.seconds
    assert after.failures == before.failures
    assert after.tasks["contract"].retries == calls - 1


def test_contract_invalid_answers_end_in_answer_error_or_default(structured_llm: StructuredLLM) -> None:
    before = structured_llm.usage
    with pytest.raises(LLMAnswerError) as caught:
        structured_llm.structured(
            system="Answer with a number.", user="Pick a code.", schema=Impossible, task="impossible"
        )
    assert caught.value.task == "impossible" and caught.value.attempts == 4
    assert '"code"' in caught.value.raw_answer.replace(" ", "") or "code" in caught.value.raw_answer
    after = structured_llm.usage
    assert after.tasks["impossible"].calls == 4 and after.tasks["impossible"].retries == 3
    assert after.failures == before.failures + 1

    value, used_default = complete_structured_or(
        FakeLLM(), lambda: Impossible(code=987_654_321_987), system="", user="", schema=Impossible, task="x"
    )
    assert used_default and value.code == 987_654_321_987


def test_the_default_engine_is_torch_in_process() -> None:
    client = LLMClient.from_settings(LLMSettings())
    assert isinstance(client.server, TorchModelServer) and client.server.running
    client.close()
    assert not client.server.running


@needs_llama_cpp
def test_closing_the_client_stops_its_server() -> None:
    client = LLMClient.from_settings(LLMSettings(server_start_timeout=60, engine="llama.cpp"))
    assert client.server is not None
    pid = client.server.pid
    assert pid is not None and _alive(pid)
    client.close()
    assert _wait_gone(pid, 10)
    assert not client.server.running
    client.close()


@needs_llama_cpp
def test_server_dies_with_a_killed_parent(tmp_path: Path) -> None:
    script = (
        "import os, signal, sys\n"
        "from pathlib import Path\n"
        "from tools.llm.llama_server import BundledModelServer\n"
        "server = BundledModelServer(start_timeout=60, log_path=Path(sys.argv[1])).start()\n"
        "print(server.pid, flush=True)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "server.log")],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).parents[1],
    )
    assert result.returncode == -9, result.stderr
    pid = int(result.stdout.strip())
    assert _wait_gone(pid, 15), f"llama server {pid} outlived its killed parent"


@needs_llama_cpp
def test_a_broken_model_file_fails_fast_with_the_server_log(tmp_path: Path) -> None:
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"not a gguf file")
    server = BundledModelServer(model_path=broken, start_timeout=60, log_path=tmp_path / "server.log")
    with pytest.raises(BundledServerError, match="exited with code") as caught:
        server.start()
    assert str(tmp_path / "server.log") in str(caught.value)
    assert not server.running


def test_closed_port_is_a_clear_unavailable_error() -> None:
    port = free_loopback_port()
    settings = LLMSettings(base_url=f"http://127.0.0.1:{port}/v1", model="any", max_retries=1, timeout=5)
    with LLMClient.from_settings(settings) as client:
        assert client.flavour == "openai"
        started = time.monotonic()
        with pytest.raises(
            LLMUnavailableError, match=rf"Could not connect to the LLM endpoint http://127.0.0.1:{port}"
        ):
            client.structured(system=SYSTEM, user=USER, schema=Character, task="cast")
        assert time.monotonic() - started < 20
        assert client.usage.failures == 1

    unnamed = LLMSettings(base_url=f"http://127.0.0.1:{port}/v1", max_retries=0, timeout=5)
    with LLMClient.from_settings(unnamed) as client, pytest.raises(LLMUnavailableError, match="DIRECTOR_LLM__BASE_URL"):
        client.structured(system=SYSTEM, user=USER, schema=Character, task="cast")
