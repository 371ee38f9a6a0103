"""A GGUF chat model run in torch, with llguidance holding its answers to a JSON schema.

`load_torch_model` reads the GGUF through transformers (dequantising it, about 17 s for SmolLM2-135M) the first
time and keeps a converted safetensors copy (config, weights, tokenizer) in a cache folder, so later starts take
about 2 s. `TorchChatModel.complete` turns one chat request into tokens with a short decode loop of its own:
one forward pass per sampled token, and the tokens the grammar forces (JSON punctuation, key names) fed in one
pass together. torch, transformers and llguidance are imported here only, and only when a model is loaded.
"""

from __future__ import annotations

import fcntl
import gc
import hashlib
import inspect
import os
import shutil
import tempfile
import threading
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy

from tools.errors import DirectorError
from tools.process_memory import give_back_freed_memory

DEFAULT_SEED = 0
"""The seed of a request that names none, so the same request always gets the same answer."""

DEFAULT_TOP_P = 0.95
DEFAULT_TOP_K = 40
MIN_P = 0.05
REPEAT_PENALTY = 1.1
REPEAT_WINDOW = 64
"""llama-cpp-python's server defaults, which Director's prompts were tuned on: a repeat penalty of 1.1 over the
last 64 tokens (at any temperature; without it SmolLM2 loops, "123 123 123 ..."), then, when sampling, top-k 40,
top-p 0.95 and min-p 0.05 before the temperature."""

Dtype = Literal["int8", "bfloat16", "float32"]
"""How the weights are held: "int8" is the float32 model with its linear layers quantized dynamically to int8
(the embedding, tied to the output head, stays float32): measured 2.3-2.7x the tokens a second of float32 on
this 2-core CPU and about 360 MB less resident, answers as valid. The GGUF itself is 4-bit, so int8 loses
little of what it holds."""
_COMPLETE = "complete.json"


class TorchModelError(DirectorError):
    """The bundled model could not be loaded in torch."""


class ContextOverflowError(ValueError):
    """The prompt does not fit the model's context window."""


@dataclass(frozen=True)
class Completion:
    """One answer: its text, token counts and why it ended ("stop" at end of turn, "length" at max_tokens)."""

    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: Literal["stop", "length"]
    forward_passes: int


def converted_cache_root() -> Path:
    """Where converted models live: `$XDG_CACHE_HOME/director/llm` (by default `~/.cache/director/llm`)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "director" / "llm"


def converted_folder(gguf_path: Path, dtype: Dtype, cache_root: Path | None = None) -> Path:
    """The cache folder for `gguf_path` converted to `dtype`: named by the file's name, size and mtime."""
    stat = gguf_path.stat()
    key = hashlib.sha256(f"{gguf_path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()[:16]
    return (cache_root or converted_cache_root()) / f"{gguf_path.stem}-{dtype}-{key}"


def _import_runtime() -> tuple[Any, Any, Any]:
    try:
        import llguidance
        import llguidance.hf
        import torch
        import transformers
    except ImportError as error:
        raise TorchModelError(
            f"The bundled model needs torch, transformers, gguf and llguidance ({error}); install them with: "
            "pip install -e . (or pip install gguf llguidance)"
        ) from error
    return torch, transformers, llguidance


def load_torch_model(
    gguf_path: Path, *, dtype: Dtype = "float32", n_threads: int | None = None, cache_root: Path | None = None
) -> TorchChatModel:
    """The GGUF model at `gguf_path` in torch, from the converted cache when it is there, else converted into it.

    The converted copy is written into a temporary folder and renamed into place only once whole, so a run killed
    while converting leaves no folder that a later run would trust; a lock lets one process convert while another
    waits for it.

    Raises:
        TorchModelError: The runtime packages are missing, or the file is not a model transformers can read.
    """
    torch, transformers, _ = _import_runtime()
    stored: Dtype = "float32" if dtype == "int8" else dtype
    torch_dtype = getattr(torch, stored)
    folder = converted_folder(gguf_path, stored, cache_root)
    begun = time.monotonic()
    if not (folder / _COMPLETE).is_file():
        folder.parent.mkdir(parents=True, exist_ok=True)
        with (folder.parent / f".{folder.name}.lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not (folder / _COMPLETE).is_file():
                _convert(gguf_path, folder, torch_dtype, transformers)
    try:
        tokenizer = transformers.PreTrainedTokenizerFast.from_pretrained(folder)
        config = transformers.AutoConfig.from_pretrained(folder)
        model_class = getattr(transformers, (config.architectures or ["AutoModelForCausalLM"])[0])
        model = model_class.from_pretrained(folder, config=config, dtype=torch_dtype).eval()
    except (OSError, ValueError) as error:
        raise TorchModelError(
            f"The converted model in {folder} could not be read ({error}); delete that folder and start again."
        ) from error
    if dtype == "int8":
        model = _linear_layers_in_int8(torch, model)
    return TorchChatModel(model, tokenizer, n_threads=n_threads, loaded_in=time.monotonic() - begun, folder=folder)


def _linear_layers_in_int8(torch: Any, model: Any) -> Any:
    """Quantize every linear layer but the output head (it shares the embedding's weights) to int8, in place."""
    from torch.ao.quantization import default_dynamic_qconfig, quantize_dynamic

    layers = {
        name: default_dynamic_qconfig
        for name, module in model.named_modules()
        if isinstance(module, torch.nn.Linear) and not name.endswith("lm_head")
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao's eager quantization names torchao as its successor
        model = quantize_dynamic(model, layers, dtype=torch.qint8, inplace=True)
    for tensor in [*model.parameters(), *model.buffers()]:
        tensor.data = tensor.data.clone()  # off the loaded file's memory map, so its float32 pages are let go
    gc.collect()
    give_back_freed_memory()
    return model


def _convert(gguf_path: Path, folder: Path, torch_dtype: Any, transformers: Any) -> None:
    """Dequantise the GGUF and save config, weights and tokenizer into `folder`, atomically."""
    from safetensors.torch import save_model

    for leftover in folder.parent.glob(f".{folder.name}.*.tmp"):
        shutil.rmtree(leftover, ignore_errors=True)
    # Newer transformers may keep GGUF blocks packed (with the `kernels` package); the copy must be plain weights.
    unpacked = (
        {"quantization_config": transformers.GgufConfig(dequantize=True)} if hasattr(transformers, "GgufConfig") else {}
    )
    try:
        tokenizer = transformers.AutoTokenizer.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name)
        model = transformers.AutoModelForCausalLM.from_pretrained(
            gguf_path.parent, gguf_file=gguf_path.name, dtype=torch_dtype, **unpacked
        )
    except (OSError, ValueError, RuntimeError) as error:
        raise TorchModelError(f"{gguf_path} is not a GGUF model transformers can read: {error}") from error
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".tmp", dir=folder.parent))
    try:
        model.config.save_pretrained(staging)
        if model.generation_config is not None:
            model.generation_config.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        save_model(model, str(staging / "model.safetensors"))
        (staging / _COMPLETE).write_text(f'{{"source": "{gguf_path.name}"}}\n', encoding="utf-8")
        shutil.rmtree(folder, ignore_errors=True)
        staging.rename(folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


NUMBER_BOUND = 10**16 - 1
"""The largest integral part a number may have in an answer: 16 digits, as llama.cpp's JSON grammar allows."""


def llama_cpp_defaults(schema: Any) -> Any:
    """`schema` with the defaults llama.cpp's JSON-schema grammar assumes, which llguidance does not.

    An object that lists its `properties` takes no others unless `additionalProperties` says so (else a small
    model invents keys and loops in them, `"look_on_him_alone_alone_..."`, until `max_tokens`), and an integer or
    number without bounds gets +-`NUMBER_BOUND` (else it writes digits until `max_tokens`: 256 where llama.cpp
    stops at 16). Pydantic validates the answer afterwards either way.
    """
    if isinstance(schema, list):
        return [llama_cpp_defaults(item) for item in schema]
    if not isinstance(schema, Mapping):
        return schema
    out = {key: llama_cpp_defaults(value) for key, value in schema.items()}
    if isinstance(out.get("properties"), Mapping):
        out["properties"] = {name: llama_cpp_defaults(sub) for name, sub in schema["properties"].items()}
        out.setdefault("additionalProperties", False)
    declared = out.get("type")
    kinds = {kind for kind in (declared if isinstance(declared, list) else [declared]) if isinstance(kind, str)}
    if kinds & {"integer", "number"}:
        if "minimum" not in out and "exclusiveMinimum" not in out:
            out["minimum"] = -NUMBER_BOUND
        if "maximum" not in out and "exclusiveMaximum" not in out:
            out["maximum"] = NUMBER_BOUND
    return out


class TorchChatModel:
    """A causal LM and its tokenizer answering chat requests, one at a time (a lock serialises callers).

    Args:
        model: A transformers causal LM in eval mode.
        tokenizer: Its tokenizer, with a chat template.
        n_threads: torch threads while answering (set for the answer, then put back, since the setting is the
            process's); None: half the cores, at most 4. On two busy cores a second thread makes it slower.
        loaded_in: Seconds the load took, for the record.
        folder: Where it was loaded from.
    """

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        *,
        n_threads: int | None = None,
        loaded_in: float = 0.0,
        folder: Path | None = None,
    ) -> None:
        torch, _, llguidance = _import_runtime()
        self._torch = torch
        self._llguidance = llguidance
        self.model = model
        self.tokenizer = tokenizer
        self.loaded_in = loaded_in
        self.n_threads = max(1, n_threads if n_threads is not None else min(4, (os.cpu_count() or 2) // 2))
        self.folder = folder
        self.eos_token_id = int(tokenizer.eos_token_id)
        self.vocab_size = int(model.config.vocab_size)
        self.context_size = int(getattr(model.config, "max_position_embeddings", 2048))
        self._tokenizer_info = llguidance.hf.from_tokenizer(tokenizer, n_vocab=self.vocab_size)
        self._grammars: dict[str, str] = {}
        parameters = inspect.signature(model.forward).parameters
        self._cache_argument = "cache" if "cache" in parameters else "past_key_values"
        self._lock = threading.Lock()

    def prompt_ids(self, messages: Sequence[Mapping[str, str]]) -> list[int]:
        """The token ids of `messages` under the model's chat template, ready for the assistant's answer."""
        encoded = self.tokenizer.apply_chat_template(
            [dict(message) for message in messages], add_generation_prompt=True, tokenize=True, return_dict=True
        )
        return list(encoded["input_ids"])

    def complete(
        self,
        messages: Sequence[Mapping[str, str]],
        *,
        schema: Mapping[str, Any] | None = None,
        max_tokens: int = 256,
        temperature: float = 0.0,
        top_p: float = DEFAULT_TOP_P,
        seed: int | None = None,
        context_size: int | None = None,
        batch_forced: bool = True,
    ) -> Completion:
        """Answer `messages`; with `schema`, the answer is JSON that matches it (or is cut at `max_tokens`).

        Greedy at temperature 0, else sampled from a generator seeded with `seed` (`DEFAULT_SEED` when None),
        so one request always gets one answer.

        Raises:
            ContextOverflowError: The prompt leaves no room for an answer in the context window.
            ValueError: The schema is not one llguidance can compile.
        """
        prompt = self.prompt_ids(messages)
        window = min(context_size or self.context_size, self.context_size)
        if len(prompt) >= window:
            raise ContextOverflowError(
                f"the prompt ({len(prompt)} tokens) exceeds the context window of {window} tokens"
            )
        budget = max(1, min(max_tokens, window - len(prompt)))
        matcher = self._matcher(schema) if schema is not None else None
        with self._lock:
            threads = self._torch.get_num_threads()
            self._torch.set_num_threads(self.n_threads)
            try:
                generated, passes = self._decode(prompt, matcher, budget, temperature, top_p, seed, batch_forced)
            finally:
                self._torch.set_num_threads(threads)
        stopped = bool(generated) and generated[-1] == self.eos_token_id
        if stopped:
            generated = generated[:-1]
        text = self.tokenizer.decode(generated, skip_special_tokens=True)
        return Completion(
            text=text,
            prompt_tokens=len(prompt),
            completion_tokens=len(generated) + (1 if stopped else 0),
            finish_reason="stop" if stopped or (matcher is not None and matcher.is_stopped()) else "length",
            forward_passes=passes,
        )

    def _matcher(self, schema: Mapping[str, Any]) -> Any:
        import json

        schema = llama_cpp_defaults(schema)
        key = json.dumps(schema, sort_keys=True)
        grammar = self._grammars.get(key)
        if grammar is None:
            try:
                grammar = self._llguidance.LLMatcher.grammar_from_json_schema(
                    dict(schema), defaults={"whitespace_flexible": False}
                )
            except (TypeError, ValueError, RuntimeError) as error:
                raise ValueError(f"the JSON schema cannot be used as a grammar: {error}") from error
            if len(self._grammars) > 256:
                self._grammars.clear()
            self._grammars[key] = grammar
        matcher = self._llguidance.LLMatcher(self._tokenizer_info, grammar)
        if matcher.is_error():
            raise ValueError(f"the JSON schema cannot be used as a grammar: {matcher.get_error()}")
        return matcher

    def _decode(
        self,
        prompt: list[int],
        matcher: Any,
        budget: int,
        temperature: float,
        top_p: float,
        seed: int | None,
        batch_forced: bool,
    ) -> tuple[list[int], int]:
        """The decode loop: returns the new tokens (the end-of-turn token included if reached) and forward passes."""
        torch = self._torch
        from transformers import DynamicCache

        generator = torch.Generator().manual_seed(DEFAULT_SEED if seed is None else int(seed))
        cache = DynamicCache(config=self.model.config)
        feed = prompt
        generated: list[int] = []
        passes = 0
        with torch.inference_mode():
            while True:
                output = self.model(
                    input_ids=torch.tensor([feed], dtype=torch.long),
                    **{self._cache_argument: cache},
                    use_cache=True,
                    logits_to_keep=1,
                )
                passes += 1
                logits = self._penalise_repeats(output.logits[0, -1].float(), [*prompt, *generated])
                if matcher is not None:
                    logits = self._constrain(logits, matcher)
                token = self._pick(logits, temperature, top_p, generator)
                generated.append(token)
                if token == self.eos_token_id or len(generated) >= budget:
                    break
                feed = [token]
                if matcher is not None:
                    if not matcher.consume_token(token):
                        raise ValueError(f"the grammar refused token {token}: {matcher.get_error()}")
                    if matcher.is_stopped():
                        generated.append(self.eos_token_id)
                        break
                    if batch_forced:
                        forced = list(matcher.compute_ff_tokens())[: budget - len(generated)]
                        if forced:
                            if not matcher.consume_tokens(forced):
                                raise ValueError(f"the grammar refused its own forced tokens: {matcher.get_error()}")
                            generated.extend(forced)
                            feed = [token, *forced]
                            if len(generated) >= budget:
                                break
        return generated, passes

    def _constrain(self, logits: Any, matcher: Any) -> Any:
        """`logits` with every token the grammar refuses next set to -inf.

        Unpacks llguidance's bitmask with numpy: `llguidance.torch.apply_token_bitmask_inplace` runs through
        `torch.compile`, which needs a C compiler on the CPU and costs seconds on first use.
        """
        bits = numpy.unpackbits(numpy.frombuffer(matcher.compute_bitmask(), dtype=numpy.uint8), bitorder="little")
        allowed = self._torch.from_numpy(bits[: logits.shape[-1]].astype(bool))
        return logits.masked_fill(~allowed, float("-inf"))

    def _penalise_repeats(self, logits: Any, history: list[int]) -> Any:
        """`logits` with every token of the last `REPEAT_WINDOW` made less likely, as llama.cpp does."""
        torch = self._torch
        recent = torch.tensor(sorted(set(history[-REPEAT_WINDOW:])), dtype=torch.long)
        values = logits[recent]
        logits[recent] = torch.where(values > 0, values / REPEAT_PENALTY, values * REPEAT_PENALTY)
        return logits

    def _pick(self, logits: Any, temperature: float, top_p: float, generator: Any) -> int:
        torch = self._torch
        if temperature <= 0:
            return int(torch.argmax(logits))
        top = torch.topk(logits, min(DEFAULT_TOP_K, logits.shape[-1]))
        plain = torch.softmax(top.values, dim=-1)
        keep = plain >= MIN_P * plain[0]
        if 0 < top_p < 1:
            keep &= torch.cumsum(plain, dim=-1) - plain < top_p
        keep[0] = True
        values = torch.where(keep, top.values / temperature, torch.full_like(top.values, float("-inf")))
        choice = torch.multinomial(torch.softmax(values, dim=-1), 1, generator=generator)
        return int(top.indices[choice])
