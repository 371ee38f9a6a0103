"""The LLM path without a model: answer extraction, repair and retry, schemas, flavours, the fake, the SDK glue."""

from __future__ import annotations

import json
import threading
from enum import StrEnum
from typing import Annotated, Literal

import httpx2
import openai
import pytest
from fake_llm import FakeLLM
from pydantic import BaseModel, Field

from tools.llm.asking import StructuredLLM, complete_structured_or
from tools.llm.client import LLMClient
from tools.llm.errors import LLMAnswerError, LLMUnavailableError
from tools.llm.structured_output import (
    InvalidAnswer,
    extract_json,
    grammar_safe_schema,
    parse_answer,
    resolve_flavour,
    structured_messages,
    structured_request_options,
)
from tools.llm.usage import UsageMeter


class Mood(StrEnum):
    calm = "calm"
    tense = "tense"


class Wardrobe(BaseModel):
    colour: Literal["red", "blue"]
    items: list[Annotated[str, Field(max_length=20)]] = Field(min_length=1, max_length=3)


class Person(BaseModel):
    name: str = Field(min_length=2, max_length=30)
    mood: Mood = Field(description="How they feel.")
    wardrobe: Wardrobe
    spare: Wardrobe | None = None
    age: int = Field(default=30, ge=1, le=120)
    code: str = Field(default="ab", pattern="[a-z]+")
    slug: str = Field(default="ab", pattern="^[a-z]+$")
    notes: str = Field(default="", max_length=5000)


class Node(BaseModel):
    label: str
    children: list[Node] = Field(default_factory=list)


class Cast(BaseModel):
    people: list[str] = Field(min_length=1, max_length=3)


class Title(BaseModel):
    title: str = Field(min_length=2, max_length=40)


# --- extracting the JSON object -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ('{"title": "Dawn"}', '{"title": "Dawn"}'),
        ('```json\n{"title": "Dawn"}\n```', '{"title": "Dawn"}'),
        ('```\n{"title": "Dawn"}\n```\nHope this helps!', '{"title": "Dawn"}'),
        ('Sure! Here is the JSON:\n{"title": "Dawn"} Enjoy.', '{"title": "Dawn"}'),
        ('{"title": "a } brace and a \\" quote"}', '{"title": "a } brace and a \\" quote"}'),
        ('Use {curly} words: {"title": "Dawn"}', '{"title": "Dawn"}'),
        ('{"a": {"b": [1, {"c": 2}]}} trailing {"x": 1}', '{"a": {"b": [1, {"c": 2}]}}'),
        ('prefix {"title": "cut off', '{"title": "cut off'),
        ("no json at all", "no json at all"),
    ],
)
def test_extract_json(raw: str, expected: str) -> None:
    assert extract_json(raw) == expected


def test_parse_answer_accepts_fences_leading_text_and_raw_newlines() -> None:
    assert parse_answer('Here you go:\n```json\n{"title": "Dawn"}\n```', Title).title == "Dawn"
    assert parse_answer('{"title": "two\nlines"}', Title).title == "two\nlines"


def test_parse_answer_repairs_common_slips() -> None:
    assert parse_answer('["Ana", "Ben"]', Cast).people == ["Ana", "Ben"]
    assert parse_answer('{"Title": {"title": "Dawn"}}', Title).title == "Dawn"


def test_parse_answer_explains_what_is_wrong() -> None:
    with pytest.raises(InvalidAnswer, match=r"title: String should have at most 40 characters"):
        parse_answer(json.dumps({"title": "x" * 50}), Title)
    with pytest.raises(InvalidAnswer, match="not valid JSON.*cut off"):
        parse_answer('{"title": "Da', Title)
    with pytest.raises(InvalidAnswer, match="empty"):
        parse_answer("   ", Title)
    with pytest.raises(InvalidAnswer) as caught:
        parse_answer('{"name": "Al", "mood": "angry", "wardrobe": {"colour": "red", "items": []}}', Person)
    message = str(caught.value)
    assert "mood" in message and "wardrobe.items" in message and "errors.pydantic.dev" not in message


# --- the retry loop, through the fake -------------------------------------------------------------------


def test_invalid_answer_is_re_asked_with_the_error_appended() -> None:
    llm = FakeLLM(['{"title": "x"}', '```json\n{"title": "Dawn"}\n```'])
    answer = llm.structured(system="You name films.", user="Name it.", schema=Title, task="title")

    assert answer == Title(title="Dawn")
    call = llm.history[0]
    assert call.answers == ['{"title": "x"}', '```json\n{"title": "Dawn"}\n```']
    first, second = call.messages
    assert [m["role"] for m in first] == ["system", "user"]
    assert [m["role"] for m in second] == ["system", "user", "assistant", "user"]
    assert second[2]["content"] == '{"title": "x"}'
    assert second[3]["content"].startswith("Your answer was invalid: title: String should have at least 2")
    assert second[3]["content"].endswith("Answer again with JSON only.")
    usage = llm.usage
    assert (usage.calls, usage.retries, usage.failures) == (2, 1, 0)


def test_retry_conversation_does_not_grow_without_bound() -> None:
    llm = FakeLLM(["nope", "still no", '{"title": "Dawn"}'], max_retries=2)
    llm.structured(system="s", user="u", schema=Title, task="title")
    assert [len(messages) for messages in llm.history[0].messages] == [2, 4, 4]
    assert llm.history[0].messages[2][2]["content"] == "still no"


def test_answer_error_after_retries_carries_task_error_and_raw_answer() -> None:
    llm = FakeLLM(['{"title": ""}'] * 3, max_retries=2)
    with pytest.raises(LLMAnswerError) as caught:
        llm.structured(system="s", user="u", schema=Title, task="title")
    error = caught.value
    assert error.task == "title"
    assert "at least 2 characters" in error.last_error
    assert error.raw_answer == '{"title": ""}'
    assert error.attempts == 3
    assert llm.usage.failures == 1
    assert llm.usage.tasks["title"].calls == 3


def test_exhausted_script_is_an_answer_error() -> None:
    llm = FakeLLM()
    with pytest.raises(LLMAnswerError, match="no more answers"):
        llm.structured(system="s", user="u", schema=Title, task="title")


def test_complete_structured_or_falls_back_only_on_bad_answers() -> None:
    llm = FakeLLM(["garbage"], max_retries=0)
    value, used_default = llm.complete_structured_or(
        lambda: Title(title="Untitled"), system="s", user="u", schema=Title, task="title"
    )
    assert (value, used_default) == (Title(title="Untitled"), True)

    llm.add(Title(title="Dawn"))
    value, used_default = complete_structured_or(
        llm, lambda: Title(title="Untitled"), system="s", user="u", schema=Title, task="title"
    )
    assert (value, used_default) == (Title(title="Dawn"), False)

    def unreachable(task: str, schema: type[BaseModel]) -> str:
        raise LLMUnavailableError("endpoint down")

    with pytest.raises(LLMUnavailableError):
        complete_structured_or(
            FakeLLM(unreachable), lambda: Title(title="Untitled"), system="s", user="u", schema=Title, task="t"
        )


def test_fake_scripts_per_task_and_by_callable_and_records_history() -> None:
    llm = FakeLLM({"title": [{"title": "Dawn"}], "cast": [Cast(people=["Ana"])]})
    assert isinstance(llm, StructuredLLM)
    assert llm.structured(system="c", user="who?", schema=Cast, task="cast").people == ["Ana"]
    assert llm.structured(system="t", user="what?", schema=Title, task="title").title == "Dawn"
    assert [(c.task, c.system, c.user, c.schema) for c in llm.history] == [
        ("cast", "c", "who?", "Cast"),
        ("title", "t", "what?", "Title"),
    ]
    assert llm.tasks() == ["cast", "title"]
    assert llm.remaining() == 0
    with pytest.raises(ValueError, match="name the task"):
        llm.add(Title(title="xy"))

    by_schema = FakeLLM(lambda task, schema: schema.model_validate({"title": task}))
    assert by_schema.structured(system="", user="", schema=Title, task="Dusk").title == "Dusk"


def test_fake_is_thread_safe_and_usage_adds_up() -> None:
    llm = FakeLLM({f"t{i}": [Title(title=f"n{i}")] for i in range(40)})
    threads = [
        threading.Thread(target=llm.structured, kwargs={"system": "", "user": "", "schema": Title, "task": f"t{i}"})
        for i in range(40)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    usage = llm.usage
    assert usage.calls == 40 and len(usage.tasks) == 40 and len(llm.history) == 40
    assert usage.prompt_tokens == sum(task.prompt_tokens for task in usage.tasks.values())


def test_usage_meter_is_exact_under_contention() -> None:
    meter = UsageMeter()

    def work() -> None:
        for _ in range(500):
            meter.record_call("a", prompt_tokens=2, completion_tokens=1, seconds=0.5)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    usage = meter.snapshot()
    assert (usage.calls, usage.prompt_tokens, usage.completion_tokens) == (4000, 8000, 4000)
    assert usage.tasks["a"].seconds == pytest.approx(2000.0)
    assert usage.total_tokens == 12000


# --- schemas for the llama.cpp grammar ------------------------------------------------------------------


def _keys(node: object) -> set[str]:
    if isinstance(node, dict):
        return set(node) | {key for value in node.values() for key in _keys(value)}
    if isinstance(node, list):
        return {key for value in node for key in _keys(value)}
    return set()


def test_grammar_safe_schema_inlines_and_keeps_what_the_grammar_uses() -> None:
    schema = grammar_safe_schema(Person)

    assert not _keys(schema) & {"$defs", "$ref", "title", "default", "minimum", "maximum"}
    props = schema["properties"]
    assert schema["required"] == ["name", "mood", "wardrobe"]
    assert props["name"] == {"type": "string", "minLength": 2, "maxLength": 30}
    assert props["mood"] == {"type": "string", "enum": ["calm", "tense"], "description": "How they feel."}
    wardrobe = props["wardrobe"]["properties"]
    assert wardrobe["colour"]["enum"] == ["red", "blue"]
    assert wardrobe["items"] == {
        "type": "array",
        "items": {"type": "string", "maxLength": 20},
        "minItems": 1,
        "maxItems": 3,
    }
    assert props["spare"]["anyOf"][0]["properties"]["colour"]["enum"] == ["red", "blue"]
    assert props["spare"]["anyOf"][1] == {"type": "null"}
    assert props["age"] == {"type": "integer"}
    assert "pattern" not in props["code"]
    assert props["slug"]["pattern"] == "^[a-z]+$"
    assert "maxLength" not in props["notes"]


def test_grammar_safe_schema_cuts_recursion() -> None:
    schema = grammar_safe_schema(Node)
    assert schema["properties"]["label"] == {"type": "string"}
    assert schema["properties"]["children"] == {"type": "array", "items": {"type": "object"}}


def test_grammar_safe_schema_converts_where_the_raw_schema_would_fall_back() -> None:
    llama_grammar = pytest.importorskip(
        "llama_cpp.llama_grammar", reason="llama-cpp-python is not installed (the opt-in `llama` extra)"
    )
    with pytest.raises(AssertionError, match="Pattern must start with"):
        llama_grammar.json_schema_to_gbnf(json.dumps(Person.model_json_schema()))
    grammar = llama_grammar.json_schema_to_gbnf(json.dumps(grammar_safe_schema(Person)))
    assert '"\\"calm\\"" | "\\"tense\\""' in grammar
    assert '"\\"red\\"" | "\\"blue\\""' in grammar
    llama_grammar.json_schema_to_gbnf(json.dumps(grammar_safe_schema(Node)))


# --- flavours and requests ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flavour", "url", "expected"),
    [
        ("auto", None, "llama.cpp"),
        ("auto", "https://api.openai.com/v1", "openai"),
        ("auto", "http://localhost:11434/v1", "ollama"),
        ("auto", "http://ollama.internal:8080/v1", "ollama"),
        ("auto", "http://gpu-box:8000/v1", "openai"),
        ("auto", "localhost:11434/v1", "ollama"),
        ("vllm", "http://gpu-box:8000/v1", "vllm"),
        ("llama.cpp", "http://gpu-box:8000/v1", "llama.cpp"),
    ],
)
def test_resolve_flavour(flavour: str, url: str | None, expected: str) -> None:
    assert resolve_flavour(flavour, url) == expected


def test_resolve_flavour_rejects_unknown_names() -> None:
    with pytest.raises(ValueError, match="unknown LLM flavour"):
        resolve_flavour("gemini", None)


def test_request_options_per_flavour() -> None:
    openai_options = structured_request_options("openai", Person)["response_format"]
    assert openai_options["type"] == "json_schema"
    assert openai_options["json_schema"]["name"] == "Person"
    assert openai_options["json_schema"]["strict"] is False
    assert "$defs" in openai_options["json_schema"]["schema"]

    llama = structured_request_options("llama.cpp", Person)["response_format"]
    assert llama == {"type": "json_object", "schema": grammar_safe_schema(Person)}

    ollama = structured_request_options("ollama", Person)["response_format"]
    assert ollama["type"] == "json_schema" and ollama["json_schema"]["schema"] == grammar_safe_schema(Person)

    assert structured_request_options("vllm", Person) == {"extra_body": {"guided_json": Person.model_json_schema()}}


def test_messages_show_the_schema_only_when_asked() -> None:
    plain = structured_messages(system="You cast films.", user="Who?", schema=Title)
    assert plain[0]["content"] == "You cast films.\n\nAnswer with one JSON object, and nothing else."
    assert plain[1] == {"role": "user", "content": "Who?"}
    shown = structured_messages(system="", user="Who?", schema=Title, include_schema=True)
    assert '"maxLength":40' in shown[0]["content"]


# --- the real client over a fake transport --------------------------------------------------------------


def _completion(content: str | None, *, usage: bool = True) -> dict[str, object]:
    body: dict[str, object] = {
        "id": "c1",
        "object": "chat.completion",
        "created": 0,
        "model": "m",
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}],
    }
    if usage:
        body["usage"] = {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}
    return body


def _client(handler, *, flavour: str = "openai", model: str = "m", retries: int = 0, url: str = "http://llm.test/v1"):
    sdk = openai.OpenAI(
        base_url=url,
        api_key="k",
        max_retries=retries,
        timeout=5,
        http_client=httpx2.Client(transport=httpx2.MockTransport(handler)),
    )
    return LLMClient(sdk, model=model, flavour=flavour, max_retries=1, max_tokens=64)  # type: ignore[arg-type]


@pytest.mark.parametrize("flavour", ["openai", "llama.cpp", "ollama", "vllm"])
def test_client_sends_the_flavours_format_and_counts_usage(flavour: str) -> None:
    bodies: list[dict[str, object]] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        bodies.append(json.loads(request.content))
        return httpx2.Response(200, json=_completion('{"title": "Dawn"}'))

    with _client(handler, flavour=flavour) as llm:
        assert llm.structured(system="s", user="u", schema=Title, task="title") == Title(title="Dawn")
        usage = llm.usage
    (body,) = bodies
    assert body["model"] == "m" and body["max_tokens"] == 64
    for key, value in structured_request_options(flavour, Title).get("extra_body", {}).items():  # type: ignore[union-attr]
        assert body[key] == value
    if "response_format" in structured_request_options(flavour, Title):
        assert body["response_format"] == structured_request_options(flavour, Title)["response_format"]
    assert (usage.calls, usage.prompt_tokens, usage.completion_tokens) == (1, 11, 7)
    assert usage.tasks["title"].calls == 1
    system = body["messages"][0]["content"]  # type: ignore[index]
    assert ('"maxLength":40' in system) == (flavour != "llama.cpp")


def test_client_re_asks_then_raises_answer_error() -> None:
    answers = iter(["not json", '{"title": ""}'])

    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, json=_completion(next(answers), usage=False))

    llm = _client(handler)
    with pytest.raises(LLMAnswerError) as caught:
        llm.structured(system="s", user="u", schema=Title, task="title")
    assert caught.value.raw_answer == '{"title": ""}'
    usage = llm.usage
    assert (usage.calls, usage.retries, usage.failures) == (2, 1, 1)
    assert usage.completion_tokens > 0


def test_client_asks_the_endpoint_for_a_model_when_none_is_set() -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        if request.url.path.endswith("/models"):
            return httpx2.Response(200, json={"object": "list", "data": [{"id": "only-model", "object": "model"}]})
        assert json.loads(request.content)["model"] == "only-model"
        return httpx2.Response(200, json=_completion('{"title": "Dawn"}'))

    llm = _client(handler, model="")
    llm.structured(system="s", user="u", schema=Title, task="title")
    assert llm.model == "only-model"


def test_openai_itself_gets_max_completion_tokens() -> None:
    seen: list[dict[str, object]] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(json.loads(request.content))
        return httpx2.Response(200, json=_completion('{"title": "Dawn"}'))

    _client(handler, url="https://api.openai.com/v1").structured(system="s", user="u", schema=Title, task="t")
    assert seen[0]["max_completion_tokens"] == 64 and "max_tokens" not in seen[0]
    assert "maxLength" not in seen[0]["messages"][0]["content"]  # type: ignore[index]


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (500, {"error": {"message": "boom"}}, "HTTP 500"),
        (503, {"error": {"message": "loading"}}, "HTTP 503"),
        (429, {"error": {"message": "slow down"}}, "rate-limiting"),
        (401, {"error": {"message": "bad key"}}, "DIRECTOR_LLM__API_KEY"),
        (404, {"error": {"message": "no such model"}}, "DIRECTOR_LLM__MODEL"),
        (400, {"error": {"message": "unknown field response_format"}}, "DIRECTOR_LLM__FLAVOUR"),
    ],
)
def test_transport_failures_become_unavailable_errors(status: int, body: dict[str, object], expected: str) -> None:
    llm = _client(lambda request: httpx2.Response(status, json=body))
    with pytest.raises(LLMUnavailableError, match=expected) as caught:
        llm.structured(system="s", user="u", schema=Title, task="title")
    assert caught.value.endpoint == "http://llm.test/v1/"
    assert "http://llm.test/v1/" in str(caught.value)
    assert not isinstance(caught.value, openai.OpenAIError)
    assert llm.usage.failures == 1


def test_connection_errors_become_unavailable_errors() -> None:
    def refuse(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ConnectError("Connection refused", request=request)

    with pytest.raises(LLMUnavailableError, match="Could not connect to the LLM endpoint http://llm.test/v1/"):
        _client(refuse).structured(system="s", user="u", schema=Title, task="title")


def test_a_prompt_too_long_for_the_context_is_an_answer_error() -> None:
    message = "This model's maximum context length is 512 tokens. However, you requested 2036 tokens."
    llm = _client(lambda request: httpx2.Response(400, json={"error": {"message": message}}))
    with pytest.raises(LLMAnswerError, match="does not fit the model's context"):
        llm.structured(system="s", user="u", schema=Title, task="title")


def test_answer_errors_survive_pickling() -> None:
    import pickle

    error = pickle.loads(pickle.dumps(LLMAnswerError("t", "bad", "raw", attempts=2)))
    assert (error.task, error.last_error, error.raw_answer, error.attempts) == ("t", "bad", "raw", 2)
    unavailable = pickle.loads(pickle.dumps(LLMUnavailableError("down", endpoint="http://x/v1")))
    assert (str(unavailable), unavailable.endpoint) == ("down", "http://x/v1")
