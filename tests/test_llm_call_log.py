"""A shared LLM client's views: each logs its calls to its own file and counts its own usage."""

from __future__ import annotations

import json
from pathlib import Path

import httpx2
import openai
from pydantic import BaseModel

from tools.llm.client import LLMClient


class Title(BaseModel):
    title: str


def completion(content: str) -> dict[str, object]:
    return {
        "id": "c1",
        "object": "chat.completion",
        "created": 0,
        "model": "m",
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}],
        "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18},
    }


def shared_client(tmp_path: Path) -> LLMClient:
    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, json=completion('{"title": "Dawn"}'))

    sdk = openai.OpenAI(
        base_url="http://llm.test/v1",
        api_key="k",
        max_retries=0,
        http_client=httpx2.Client(transport=httpx2.MockTransport(handler)),
    )
    (tmp_path / "shared").mkdir()
    return LLMClient(sdk, model="m", call_log=tmp_path / "shared" / "llm-calls.jsonl")


def test_views_log_to_their_own_files_and_count_their_own_usage(tmp_path: Path):
    client = shared_client(tmp_path)
    ana = client.with_call_log(tmp_path / "ana" / "logs" / "llm-calls.jsonl")
    ben = client.with_call_log(tmp_path / "ben" / "logs" / "llm-calls.jsonl")
    ana.structured(system="s", user="ana's premise", schema=Title, task="title")
    ana.structured(system="s", user="ana's premise", schema=Title, task="title")
    ben.structured(system="s", user="ben's premise", schema=Title, task="title")

    ana_lines = (tmp_path / "ana" / "logs" / "llm-calls.jsonl").read_text().splitlines()
    ben_lines = (tmp_path / "ben" / "logs" / "llm-calls.jsonl").read_text().splitlines()
    assert len(ana_lines) == 2 and all("ben" not in line for line in ana_lines)
    assert len(ben_lines) == 1 and "ben's premise" in json.loads(ben_lines[0])["messages"][1]["content"]
    assert not (tmp_path / "shared" / "llm-calls.jsonl").exists()
    assert (ana.usage.calls, ben.usage.calls, client.usage.calls) == (2, 1, 3)
    assert client.usage.tasks["title"].prompt_tokens == 33


def test_closing_a_view_leaves_the_client_open(tmp_path: Path):
    client = shared_client(tmp_path)
    with client.with_call_log(tmp_path / "run" / "llm-calls.jsonl") as view:
        view.structured(system="s", user="u", schema=Title, task="title")
    assert client.structured(system="s", user="u", schema=Title, task="title") == Title(title="Dawn")
    client.close()
