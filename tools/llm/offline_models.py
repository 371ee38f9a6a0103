"""The offline LLMs Director can serve itself, and how a model shipped in parts becomes one GGUF file.

PyPI limits a file's size, so a larger model comes as several packages that each hold one slice of the GGUF
file. Installing them (an extra: `pip install 'agent-director[writer]'`) puts the slices in site-packages;
the first run joins them, in order, into one file in a cache folder, checks its SHA-256 against the
catalogue, and only then puts it in place. Later runs find it there. Only the standard library is used.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.util
import json
import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from tools.files import open_atomic, sha256_of, write_atomic
from tools.llm.llama_server import BundledModelServer, BundledServerError
from tools.llm.offline_catalogue import OFFLINE_MODELS, Engine, ModelPart, OfflineModel

if TYPE_CHECKING:
    from tools.llm.torch_server import TorchModelServer
    from tools.settings import LLMSettings

CHUNK = 8 * 1024 * 1024

PartLocator = Callable[[str, str], Path | None]
"""Finds `relative_path` inside the installed package `module`; None when it is not there."""


class OfflineModelError(BundledServerError):
    """An offline model is unknown, not installed, or its reassembled file is not the one the catalogue names."""


def offline_model(name: str) -> OfflineModel:
    """The catalogue entry called `name`, or an error listing the names there are."""
    try:
        return OFFLINE_MODELS[name]
    except KeyError:
        raise OfflineModelError(
            f"There is no offline model called {name!r}; DIRECTOR_LLM__OFFLINE_MODEL takes one of: "
            f"{', '.join(OFFLINE_MODELS)}."
        ) from None


def model_cache_dir() -> Path:
    """Where reassembled models live: `$XDG_CACHE_HOME/director/models` (by default `~/.cache/director/models`).

    One copy per user, shared by every project and studio session and rebuilt from the installed parts if it
    is deleted: not in site-packages (often read-only, and a second 1.1 GB copy per environment) and not in a
    project folder (which holds only what its film made, and is copied and deleted with the film).
    """
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "director" / "models"


def installed_file(module: str, relative_path: str) -> Path | None:
    """`relative_path` inside the installed package `module`, found without importing it."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    for folder in list(spec.submodule_search_locations or []) if spec else []:
        path = Path(folder) / relative_path
        if path.is_file():
            return path
    return None


@dataclass(frozen=True)
class ModelStatus:
    """Whether an offline model can be served here, and from where; cheap to compute (nothing is hashed)."""

    model: OfflineModel
    state: Literal["packaged", "assembled", "parts installed", "missing"]
    path: Path | None
    missing: tuple[ModelPart, ...] = ()

    @property
    def ready(self) -> bool:
        return self.state != "missing"


def model_status(
    model: OfflineModel, cache_dir: Path | None = None, locate: PartLocator = installed_file
) -> ModelStatus:
    """Where `model`'s file is, or whether its parts are installed so it can be assembled on first use."""
    if model.packaged_in:
        path = locate(model.packaged_in, model.file)
        return ModelStatus(model, "packaged" if path else "missing", path)
    target = (cache_dir or model_cache_dir()) / model.file
    if target.is_file() and target.stat().st_size == model.size:
        return ModelStatus(model, "assembled", target)
    missing = tuple(part for part in model.parts if locate(part.module, part.file) is None)
    return ModelStatus(model, "missing" if missing else "parts installed", target, missing)


def _missing_error(model: OfflineModel, missing: Sequence[ModelPart], what: str) -> OfflineModelError:
    extra = f" (or the whole `{model.extra}` extra: pip install 'agent-director[{model.extra}]')" if model.extra else ""
    return OfflineModelError(
        f"The offline model {model.name} ({model.title}) is not installed: {what}. "
        f"Install it with: {model.install_command(missing)}{extra}; "
        f"or choose another with DIRECTOR_LLM__OFFLINE_MODEL ({', '.join(OFFLINE_MODELS)}), "
        "or set DIRECTOR_LLM__BASE_URL to an OpenAI-compatible endpoint."
    )


def model_file(model: OfflineModel, cache_dir: Path | None = None, locate: PartLocator = installed_file) -> Path:
    """The model's GGUF file, reassembled from its installed parts the first time (about a minute for 1.1 GB).

    A file already in the cache is used as it is when the record written beside it after its check still
    matches its size and modification time; otherwise it is hashed again, and reassembled if it is wrong.

    Raises:
        OfflineModelError: The model (or some of its parts) is not installed, the parts do not add up to the
            file the catalogue names, or the disk has no room for it.
    """
    if model.packaged_in:
        path = locate(model.packaged_in, model.file)
        if path is None:
            raise _missing_error(model, (), f"the package {model.packaged_in!r} is not installed or lacks {model.file}")
        return path
    target = (cache_dir or model_cache_dir()) / model.file
    if _verified(model, target):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with (target.parent / f".{model.file}.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process may be assembling the same file: wait for it
        if _verified(model, target):
            return target
        for leftover in target.parent.glob(f".{model.file}.*.tmp"):  # from an assembly that was killed
            leftover.unlink(missing_ok=True)
        _assemble(model, target, locate)
    return target


def _stamp_path(target: Path) -> Path:
    return target.with_name(f".{target.name}.verified.json")


def _stamp_of(target: Path) -> dict:
    stat = target.stat()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def _verified(model: OfflineModel, target: Path) -> bool:
    """True when `target` is the catalogue's file: by the record of an earlier check, or by hashing it now."""
    if not target.is_file() or target.stat().st_size != model.size:
        return False
    stamp = _stamp_path(target)
    try:
        if json.loads(stamp.read_text(encoding="utf-8")) == {**_stamp_of(target), "sha256": model.sha256}:
            return True
    except (OSError, ValueError):
        pass
    if sha256_of(target) != model.sha256:
        return False
    write_atomic(stamp, json.dumps({**_stamp_of(target), "sha256": model.sha256}))
    return True


def _assemble(model: OfflineModel, target: Path, locate: PartLocator) -> None:
    found = [(part, locate(part.module, part.file)) for part in model.parts]
    missing = [part for part, path in found if path is None]
    if missing:
        names = ", ".join(part.distribution for part in missing)
        raise _missing_error(model, missing, f"{len(missing)} of its {len(model.parts)} parts are missing ({names})")
    paths = [path for _, path in found if path is not None]
    total = sum(path.stat().st_size for path in paths)
    reinstall = f"{model.install_command().replace(' install ', ' install --force-reinstall ', 1)}"
    if total != model.size:
        raise OfflineModelError(
            f"The installed parts of {model.name} add up to {total:,} bytes, not the {model.size:,} of {model.file}: "
            f"they are other versions than the pinned ones, or damaged. Reinstall them: {reinstall}"
        )
    free = shutil.disk_usage(target.parent).free
    if free < model.size:
        raise OfflineModelError(
            f"Assembling {model.file} needs {model.size / 1e9:.2f} GB in {target.parent}, which has "
            f"{free / 1e9:.2f} GB free: free some space, or point XDG_CACHE_HOME at a disk with room."
        )
    digest = hashlib.sha256()
    with open_atomic(target) as out:
        for path in paths:
            with path.open("rb") as part:
                while chunk := part.read(CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
        if digest.hexdigest() != model.sha256:
            raise OfflineModelError(
                f"The parts of {model.name} reassemble into a file with SHA-256 {digest.hexdigest()}, not the "
                f"expected {model.sha256}; nothing was kept. The installed parts are not the pinned versions or are "
                f"damaged: reinstall them with {reinstall}"
            )
    write_atomic(_stamp_path(target), json.dumps({**_stamp_of(target), "sha256": model.sha256}))


class LlamaCppMissingError(OfflineModelError):
    """The llama.cpp engine was chosen, but llama-cpp-python is not installed."""


def llama_cpp_installed() -> bool:
    """Whether llama-cpp-python can be imported here (found without importing it)."""
    try:
        return importlib.util.find_spec("llama_cpp") is not None
    except (ImportError, ValueError):
        return False


def offline_engine(settings: LLMSettings) -> Engine:
    """The engine that serves the chosen offline model: the setting, or the model's own when it is `auto`."""
    return offline_model(settings.offline_model).engine if settings.engine == "auto" else settings.engine


def offline_server(settings: LLMSettings, log_path: Path | None = None) -> BundledModelServer | TorchModelServer:
    """A (not yet started) server for the offline model the settings choose, with that model's threads and n_ctx.

    The file is found, or reassembled, here: this may take a minute the first time.

    Raises:
        OfflineModelError: The model is unknown or not installed.
        LlamaCppMissingError: The llama.cpp engine was chosen and llama-cpp-python is not installed.
    """
    model = offline_model(settings.offline_model)
    context_size = settings.context_size
    if model.context_size is not None and "context_size" not in settings.model_fields_set:
        context_size = model.context_size
    engine = offline_engine(settings)
    if engine == "torch":
        from tools.llm.torch_server import TorchModelServer

        return TorchModelServer(
            model_path=model_file(model),
            context_size=context_size,
            n_threads=model.n_threads,
            log_path=log_path,
            alias=model.alias,
        )
    path = model_file(model)  # a model whose parts are missing says so first: its extra brings llama.cpp too
    if not llama_cpp_installed():
        raise LlamaCppMissingError(
            f"The llama.cpp engine (for {model.name}) needs llama-cpp-python, which is not installed. "
            "Install the llama extra: pip install -e '.[llama]' (it compiles llama.cpp, several minutes), "
            "or set DIRECTOR_LLM__ENGINE=torch to run the model in torch"
            + (" (slow and about 6 GB of memory for this model)." if model.size > 500_000_000 else ".")
        )
    return BundledModelServer(
        model_path=path,
        context_size=context_size,
        n_threads=model.n_threads,
        start_timeout=settings.server_start_timeout,
        log_path=log_path,
        alias=model.alias,
    )


def request_timeout(settings: LLMSettings) -> float:
    """Seconds one answer may take: the setting when given (or for an endpoint), else the offline model's own."""
    if settings.base_url is not None or "timeout" in settings.model_fields_set:
        return settings.timeout
    model = offline_model(settings.offline_model)
    return max(settings.timeout, model.request_timeout or 0.0)
