"""The bundled SmolLM2 on the torch engine: its converted cache, the OpenAI protocol it answers, and the engines."""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
from pydantic import BaseModel

import agents
from tools.llm.client import LLMClient
from tools.llm.errors import LLMAnswerError, LLMUnavailableError
from tools.llm.llama_server import BUNDLED_ALIAS, BundledServerError, bundled_model_path
from tools.llm.offline_models import LlamaCppMissingError, offline_engine, offline_server
from tools.llm.structured_output import grammar_safe_schema
from tools.llm.torch_model import NUMBER_BOUND, converted_folder, llama_cpp_defaults
from tools.llm.torch_server import TorchModelServer
from tools.settings import LLMSettings, Settings

pytestmark = [pytest.mark.llm, pytest.mark.timeout(600)]

SCHEMA = {
    "type": "object",
    "properties": {
        "title": {"type": "string", "maxLength": 60},
        "scenes": {
            "type": "array",
            "minItems": 3,
            "maxItems": 3,
            "items": {
                "type": "object",
                "properties": {
                    "place": {"type": "string", "maxLength": 40},
                    "action": {"type": "string", "maxLength": 120},
                },
                "required": ["place", "action"],
            },
        },
    },
    "required": ["title", "scenes"],
}
"""As pydantic writes schemas: no `additionalProperties`, which llama.cpp's grammar takes as false."""
MESSAGES = [
    {"role": "system", "content": "You plan short films. Answer with one JSON object, and nothing else."},
    {"role": "user", "content": "Plan a three-scene film about a lighthouse keeper who finds a lost robot."},
]
PLAN = {"type": "json_object", "schema": SCHEMA}

KILLED_CONVERSION = """
import os, signal, sys
from pathlib import Path
import safetensors.torch
from tools.llm.torch_model import load_torch_model

def save_half_then_die(model, filename, *args, **kwargs):
    Path(filename).write_bytes(b"half a file")
    os.kill(os.getpid(), signal.SIGKILL)

safetensors.torch.save_model = save_half_then_die
load_torch_model(Path(sys.argv[1]), cache_root=Path(sys.argv[2]))
"""


@pytest.fixture(scope="module")
def cache_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("converted")


@pytest.fixture(scope="module")
def killed_conversion(cache_root: Path) -> list[str]:
    """A first conversion SIGKILLed while writing the weights; what it left in the cache."""
    result = subprocess.run(
        [sys.executable, "-c", KILLED_CONVERSION, str(bundled_model_path()), str(cache_root)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=Path(__file__).parents[1],
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    assert result.returncode == -signal.SIGKILL, result.stderr[-2000:]
    return sorted(path.name for path in cache_root.iterdir())


@pytest.fixture(scope="module")
def server(
    cache_root: Path, killed_conversion: list[str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TorchModelServer]:
    """The bundled model on the torch engine, converted into `cache_root` after the killed first try."""
    log = tmp_path_factory.mktemp("log") / "llm-server.log"
    with TorchModelServer(cache_root=cache_root, log_path=log) as started:
        yield started


@pytest.fixture(scope="module")
def sdk(server: TorchModelServer) -> Iterator[openai.OpenAI]:
    client = openai.OpenAI(base_url=server.base_url, api_key=server.api_key, http_client=server.http_client())
    yield client
    client.close()


def test_a_killed_first_conversion_leaves_no_broken_cache(
    killed_conversion: list[str], cache_root: Path, server: TorchModelServer
) -> None:
    folder = converted_folder(bundled_model_path(), "float32", cache_root)
    assert folder.name not in killed_conversion
    assert any(name.endswith(".tmp") for name in killed_conversion), killed_conversion
    assert sorted(path.name for path in cache_root.iterdir() if not path.name.endswith(".lock")) == [folder.name]
    assert (folder / "model.safetensors").stat().st_size > 400_000_000
    assert server.chat_model.folder == folder
    assert "loaded SmolLM2-135M-Instruct.Q4_1.gguf in torch" in server.log_path.read_text()


def test_the_model_fills_a_tight_schema_and_counts_tokens(server: TorchModelServer, sdk: openai.OpenAI) -> None:
    assert [model.id for model in sdk.models.list()] == [BUNDLED_ALIAS]
    answer = sdk.chat.completions.create(
        model=BUNDLED_ALIAS, messages=MESSAGES, max_tokens=200, temperature=0.0, response_format=PLAN
    )
    plan = json.loads(answer.choices[0].message.content)
    assert set(plan) == {"title", "scenes"} and len(plan["scenes"]) == 3
    assert all(set(scene) == {"place", "action"} for scene in plan["scenes"])
    assert answer.choices[0].finish_reason == "stop"
    assert answer.usage.prompt_tokens == len(server.chat_model.prompt_ids(MESSAGES))
    direct = server.chat_model.complete(MESSAGES, schema=SCHEMA, max_tokens=200, temperature=0.0)
    assert direct.text == answer.choices[0].message.content
    assert answer.usage.completion_tokens == direct.completion_tokens > 20


def test_forced_tokens_are_fed_together_and_the_answer_stays_valid(server: TorchModelServer) -> None:
    model = server.chat_model
    batched = model.complete(MESSAGES, schema=SCHEMA, max_tokens=200, temperature=0.0)
    single = model.complete(MESSAGES, schema=SCHEMA, max_tokens=200, temperature=0.0, batch_forced=False)
    for completion in (batched, single):
        assert len(json.loads(completion.text)["scenes"]) == 3 and completion.finish_reason == "stop"
    assert single.forward_passes >= single.completion_tokens - 1  # the end-of-turn token may come without a pass
    assert batched.forward_passes < batched.completion_tokens - 5


def test_the_same_request_gets_the_same_answer(sdk: openai.OpenAI) -> None:
    def ask(**options: object) -> str:
        answer = sdk.chat.completions.create(
            model=BUNDLED_ALIAS, messages=MESSAGES, max_tokens=40, temperature=0.9, response_format=PLAN, **options
        )
        return answer.choices[0].message.content

    assert ask() == ask()
    assert ask(seed=5) == ask(seed=5)
    assert len({ask(seed=seed) for seed in (1, 2, 3)}) > 1


def test_max_tokens_cuts_the_answer(sdk: openai.OpenAI) -> None:
    answer = sdk.chat.completions.create(
        model=BUNDLED_ALIAS, messages=MESSAGES, max_tokens=6, temperature=0.0, response_format=PLAN
    )
    assert answer.choices[0].finish_reason == "length" and answer.usage.completion_tokens == 6
    assert answer.choices[0].message.content.startswith('{"')


def test_threads_are_answered_one_at_a_time(sdk: openai.OpenAI) -> None:
    answers: list[object] = []

    def ask() -> None:
        try:
            answer = sdk.chat.completions.create(
                model=BUNDLED_ALIAS, messages=MESSAGES, max_tokens=40, temperature=0.0, response_format=PLAN
            )
            answers.append(answer.choices[0].message.content)
        except Exception as error:  # noqa: BLE001
            answers.append(error)

    threads = [threading.Thread(target=ask) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(answers) == 3 and len(set(answers)) == 1, answers
    assert str(answers[0]).startswith('{"title":"')


def test_a_prompt_over_the_context_is_an_answer_error(server: TorchModelServer) -> None:
    small = TorchModelServer(context_size=64, cache_root=server.cache_root).start()
    try:
        client = openai.OpenAI(base_url=small.base_url, api_key=small.api_key, http_client=small.http_client())
        with LLMClient(client, model=BUNDLED_ALIAS, flavour="llama.cpp", server=small) as llm:
            with pytest.raises(LLMAnswerError, match="context window of 64 tokens"):
                llm.structured(system="You plan films. " * 20, user="Plan one.", schema=Scene, task="plan")
        assert not small.running
        assert server.running, "stopping one server let go of the model another one uses"
    finally:
        small.stop()


class Scene(BaseModel):
    place: str
    action: str


def test_requests_it_does_not_serve_are_refused_in_words(sdk: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError, match="streaming is not supported"):
        sdk.chat.completions.create(model=BUNDLED_ALIAS, messages=MESSAGES, stream=True)
    with pytest.raises(openai.BadRequestError, match="cannot be used as a grammar"):
        sdk.chat.completions.create(
            model=BUNDLED_ALIAS, messages=MESSAGES, response_format={"type": "json_object", "schema": {"type": "nope"}}
        )


def test_every_agent_schema_compiles_into_a_grammar(server: TorchModelServer) -> None:
    classes: set[type[BaseModel]] = set()
    for module in pkgutil.walk_packages(agents.__path__, "agents."):
        loaded = importlib.import_module(module.name)
        classes |= {
            value
            for value in vars(loaded).values()
            if isinstance(value, type) and issubclass(value, BaseModel) and value.__module__.startswith("agents")
        }
    assert len(classes) > 40
    refused = {}
    for schema in classes:
        try:
            server.chat_model._matcher(grammar_safe_schema(schema))
        except ValueError as error:
            refused[schema.__name__] = str(error)[:200]
    assert not refused


def test_the_engine_is_the_models_own_unless_set(monkeypatch: pytest.MonkeyPatch) -> None:
    assert offline_engine(LLMSettings()) == "torch"
    assert offline_engine(LLMSettings(offline_model="qwen2.5-coder-1.5b")) == "llama.cpp"
    assert offline_engine(LLMSettings(offline_model="qwen2.5-coder-1.5b", engine="torch")) == "torch"
    monkeypatch.setenv("DIRECTOR_LLM__ENGINE", "llama.cpp")
    assert Settings().llm.engine == "llama.cpp" and offline_engine(Settings().llm) == "llama.cpp"
    assert isinstance(offline_server(LLMSettings()), TorchModelServer)


def test_llama_cpp_chosen_but_not_installed_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # as if llama-cpp-python were not installed
    with pytest.raises(LlamaCppMissingError, match=r"pip install -e '\.\[llama\]'.*DIRECTOR_LLM__ENGINE=torch"):
        offline_server(LLMSettings(engine="llama.cpp"))
    with pytest.raises(LLMUnavailableError, match=r"Install the llama extra: pip install -e '\.\[llama\]'"):
        LLMClient.from_settings(LLMSettings(engine="llama.cpp"))


def test_a_broken_model_file_is_a_clear_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"not a gguf file")
    server = TorchModelServer(model_path=broken, cache_root=tmp_path / "cache", log_path=tmp_path / "llm.log")
    with pytest.raises(BundledServerError, match="is not a GGUF model transformers can read"):
        server.start()
    assert not server.running
    assert "could not load" in (tmp_path / "llm.log").read_text()
    assert not list((tmp_path / "cache").glob("*/complete.json"))


def test_objects_are_closed_and_numbers_get_sixteen_digits_at_most(server: TorchModelServer) -> None:
    schema = {"type": "object", "properties": {"code": {"type": "integer"}}, "required": ["code"]}
    messages = [{"role": "system", "content": "Answer with a number."}, {"role": "user", "content": "Pick a code."}]
    answer = server.chat_model.complete(messages, schema=schema, max_tokens=64, temperature=0.3)
    assert answer.finish_reason == "stop" and abs(json.loads(answer.text)["code"]) <= 10**16
    assert llama_cpp_defaults({"properties": {"type": {"type": ["number", "null"], "maximum": 3}}}) == {
        "properties": {"type": {"type": ["number", "null"], "maximum": 3, "minimum": -NUMBER_BOUND}},
        "additionalProperties": False,
    }
    assert llama_cpp_defaults({"type": "object", "additionalProperties": {"type": "string"}}) == {
        "type": "object",
        "additionalProperties": {"type": "string"},
    }
