"""Asking for and reading schema-shaped answers, whatever transport carries them.

The asking side says how to request JSON matching a pydantic schema from each kind of server
(`resolve_flavour`, `structured_request_options`, `structured_messages`, `grammar_safe_schema`); the reading side
turns a raw answer back into that schema, past fences and chatter, repairing small-model slips and describing what
was wrong in words the model can act on (`parse_answer`, `InvalidAnswer`, `retry_message`). Pure functions of text
and schemas: no network, no accounting, no error but `InvalidAnswer`; the retry loop lives in `tools.llm.client`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, Literal, TypeVar, get_origin
from urllib.parse import urlsplit

from pydantic import BaseModel, ValidationError

T = TypeVar("T", bound=BaseModel)
Flavour = Literal["openai", "llama.cpp", "ollama", "vllm"]
Message = dict[str, str]


class InvalidAnswer(ValueError):
    """One answer that does not parse or validate; its message is shown to the model when re-asking.

    `not_prose` is true when a field failed the prose gate (`tools.prose`): the answer had the right shape but
    words that must not reach a film.
    """

    def __init__(self, message: str, *, not_prose: bool = False) -> None:
        super().__init__(message)
        self.not_prose = not_prose


NOT_PROSE = "not_prose"
"""The pydantic error type a prose-gated field raises (`PydanticCustomError(NOT_PROSE, ...)`)."""


_SCHEMA_KEYWORDS = frozenset(
    {
        "type", "properties", "required", "additionalProperties", "items", "prefixItems", "minItems", "maxItems",
        "enum", "const", "anyOf", "oneOf", "allOf", "minLength", "maxLength", "pattern", "format", "description",
    }
)  # fmt: skip
_GRAMMAR_FORMATS = frozenset({"date", "time", "date-time", "uuid", "uuid1", "uuid2", "uuid3", "uuid4", "uuid5"})


def grammar_safe_schema(
    schema: type[BaseModel] | Mapping[str, Any], *, max_length_cap: int = 400, max_items_cap: int = 64
) -> dict[str, Any]:
    """A JSON schema that llama.cpp's schema-to-grammar converter turns into the intended grammar.

    `$ref`s are inlined (a recursive reference becomes a plain object), and only keywords the converter uses
    are kept: `minimum`/`maximum`, `multipleOf`, `uniqueItems`, titles and defaults go, as do patterns it cannot
    parse (unanchored or with `(?` groups) and formats it does not know, which would otherwise make it throw and
    silently fall back to unconstrained JSON. Very large `maxLength`/`maxItems` are dropped too, since each unit
    becomes one nested grammar rule. Pydantic still validates the full constraints afterwards.
    """
    root = schema.model_json_schema() if isinstance(schema, type) else dict(schema)
    definitions = {**root.get("definitions", {}), **root.get("$defs", {})}

    def resolve(reference: str, seen: frozenset[str]) -> dict[str, Any]:
        match = re.fullmatch(r"#/(?:\$defs|definitions)/(.+)", reference)
        if not match or match.group(1) not in definitions:
            raise ValueError(f"cannot inline the JSON-schema reference {reference!r}")
        name = match.group(1)
        if name in seen:
            return {"type": "object"}
        return simplify(definitions[name], seen | {name})

    def simplify(node: Any, seen: frozenset[str]) -> Any:
        if isinstance(node, list):
            return [simplify(item, seen) for item in node]
        if not isinstance(node, Mapping):
            return node
        out: dict[str, Any] = {}
        if isinstance(node.get("$ref"), str):
            out.update(resolve(node["$ref"], seen))
        for key, value in node.items():
            if key not in _SCHEMA_KEYWORDS:
                continue
            if key == "properties":
                out[key] = {name: simplify(sub, seen) for name, sub in value.items()}
            elif key in ("items", "additionalProperties", "prefixItems", "anyOf", "oneOf", "allOf"):
                out[key] = simplify(value, seen)
            elif key == "pattern":
                if isinstance(value, str) and value.startswith("^") and value.endswith("$") and "(?" not in value:
                    out[key] = value
            elif key == "format":
                if value in _GRAMMAR_FORMATS:
                    out[key] = value
            elif key == "maxLength" and value > max_length_cap or key == "maxItems" and value > max_items_cap:
                continue
            else:
                out[key] = value
        if out.get("additionalProperties") is True and "properties" in out:
            del out["additionalProperties"]
        for combinator in ("allOf", "anyOf", "oneOf"):
            parts = out.get(combinator)
            if isinstance(parts, list) and len(parts) == 1 and isinstance(parts[0], dict):
                del out[combinator]
                out = {**parts[0], **out}
        return out

    return simplify({key: value for key, value in root.items() if key not in ("$defs", "definitions")}, frozenset())


def resolve_flavour(flavour: str, base_url: str | None) -> Flavour:
    """The structured-output dialect to speak: as configured, else guessed from the URL.

    No URL means the bundled llama-cpp-python server; port 11434 or "ollama" in the host means Ollama;
    anything else is treated as OpenAI (`json_schema`), which vLLM and llama.cpp's own server also accept.
    """
    if flavour != "auto":
        if flavour not in ("openai", "llama.cpp", "ollama", "vllm"):
            raise ValueError(f"unknown LLM flavour {flavour!r}; use auto, openai, llama.cpp, ollama or vllm")
        return flavour  # type: ignore[return-value]
    if base_url is None:
        return "llama.cpp"
    parts = urlsplit(base_url if "//" in base_url else f"http://{base_url}")
    host = (parts.hostname or "").lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    if host == "api.openai.com" or host.endswith(".openai.com"):
        return "openai"
    if port == 11434 or "ollama" in host:
        return "ollama"
    return "openai"


def _schema_name(schema: type[BaseModel]) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", schema.__name__)[:64] or "answer"


def structured_request_options(flavour: Flavour, schema: type[BaseModel]) -> dict[str, Any]:
    """The keyword arguments for `chat.completions.create` that ask `flavour` for JSON matching `schema`."""
    if flavour == "llama.cpp":
        return {"response_format": {"type": "json_object", "schema": grammar_safe_schema(schema)}}
    if flavour == "ollama":
        json_schema = {"name": _schema_name(schema), "schema": grammar_safe_schema(schema)}
        return {"response_format": {"type": "json_schema", "json_schema": json_schema}}
    if flavour == "vllm":
        return {"extra_body": {"guided_json": schema.model_json_schema()}}
    json_schema = {"name": _schema_name(schema), "schema": schema.model_json_schema(), "strict": False}
    return {"response_format": {"type": "json_schema", "json_schema": json_schema}}


def structured_messages(
    *, system: str, user: str, schema: type[BaseModel], include_schema: bool = False
) -> list[Message]:
    """The conversation for one structured question: the caller's prompts plus an instruction to answer in JSON.

    The schema is written into the prompt only where the endpoint constrains output without showing the model
    the schema (Ollama, vLLM, most OpenAI-compatible servers). A grammar-constrained small model does better
    without it: SmolLM2 135M copies schema words ("type", "items", field descriptions) into its answers.
    """
    instructions = "Answer with one JSON object, and nothing else."
    if include_schema:
        compact = json.dumps(grammar_safe_schema(schema), separators=(",", ":"), ensure_ascii=False)
        instructions = f"Answer with one JSON object, and nothing else, that matches this JSON schema:\n{compact}"
    system = system.strip()
    return [
        {"role": "system", "content": f"{system}\n\n{instructions}" if system else instructions},
        {"role": "user", "content": user},
    ]


_FENCE = re.compile(r"```[A-Za-z0-9_-]*[ \t]*\n?(.*?)(?:```|\Z)", re.DOTALL)


def _balanced_object(text: str, start: int) -> str | None:
    depth = 0
    in_string = False
    escaped = False
    for index in range(start, len(text)):
        char = text[index]
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return text[start : index + 1]
    return None


def extract_json(text: str) -> str:
    """The JSON object in a model's answer, past ```json fences and any chatter before or after it.

    Returns the first balanced `{...}` that parses, else the first balanced one, else the text from the first
    `{` (a truncated answer), else the stripped text.
    """
    stripped = text.strip()
    fence = _FENCE.search(stripped)
    if fence and "{" in fence.group(1):
        stripped = fence.group(1).strip()
    first: str | None = None
    start = stripped.find("{")
    while start != -1:
        candidate = _balanced_object(stripped, start)
        if candidate is not None:
            try:
                json.loads(candidate, strict=False)
                return candidate
            except json.JSONDecodeError:
                first = first or candidate
        start = stripped.find("{", start + 1)
    if first is not None:
        return first
    brace = stripped.find("{")
    return stripped[brace:] if brace != -1 else stripped


def describe_validation_error(error: ValidationError, *, limit: int = 6) -> str:
    """A short, model-readable list of what was wrong, without pydantic's URLs."""
    lines = []
    for item in error.errors(include_url=False)[:limit]:
        where = ".".join(str(part) for part in item["loc"]) or "(the object)"
        got = json.dumps(item.get("input"), ensure_ascii=False, default=str)
        got = got if len(got) <= 60 else got[:57] + "..."
        lines.append(f"{where}: {item['msg']} (got {got})")
    more = error.error_count() - limit
    if more > 0:
        lines.append(f"and {more} more")
    return "; ".join(lines)


def _repairs(data: Any, schema: type[BaseModel]) -> list[Any]:
    """Common small-model slips: a bare list for a one-list object, or the object wrapped under one key."""
    fields = schema.model_fields
    candidates = []
    if isinstance(data, list):
        lists = [name for name, field in fields.items() if get_origin(field.annotation) is list]
        if len(lists) == 1:
            candidates.append({lists[0]: data})
    if isinstance(data, dict) and len(data) == 1:
        ((key, inner),) = data.items()
        if key not in fields and isinstance(inner, dict):
            candidates.append(inner)
    return candidates


def parse_answer(raw: str, schema: type[T], *, question: str = "") -> T:
    """Parse one raw answer into `schema`, raising `InvalidAnswer` with a message fit to show the model.

    `question` reaches the schema's validators as `info.context["question"]`, so a field can refuse an answer
    that copies it.
    """
    context = {"question": question}
    candidate = extract_json(raw)
    if not candidate:
        raise InvalidAnswer("the answer was empty")
    try:
        data = json.loads(candidate, strict=False)
    except json.JSONDecodeError as error:
        truncated = candidate.startswith("{") and _balanced_object(candidate, 0) is None
        cut = "; it looks cut off, so keep it shorter" if truncated else ""
        raise InvalidAnswer(f"it is not valid JSON ({error.msg}, character {error.pos}){cut}") from None
    try:
        return schema.model_validate_json(json.dumps(data), context=context)
    except ValidationError as error:
        for repaired in _repairs(data, schema):
            try:
                return schema.model_validate_json(json.dumps(repaired), context=context)
            except ValidationError:
                pass
        not_prose = any(item["type"] == NOT_PROSE for item in error.errors(include_url=False))
        raise InvalidAnswer(describe_validation_error(error), not_prose=not_prose) from None


def retry_message(problem: str) -> str:
    return f"Your answer was invalid: {problem.rstrip('. ')}. Answer again with JSON only."


def estimate_tokens(text: str) -> int:
    """A rough token count (four characters a token) for endpoints and fakes that report none."""
    return max(1, (len(text) + 3) // 4) if text else 0
