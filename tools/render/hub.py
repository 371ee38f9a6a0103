"""Where a model comes from: a local folder, the local Hugging Face cache, or (when allowed) the hub.

Loading code asks `locate_model` first, so an offline machine gets an error naming the model and how to
get it, at once, instead of a download that hangs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from tools.render.base import BackendError

_TRUTHY = {"1", "true", "yes", "on"}
INDEX_FILES = ("model_index.json", "config.json")


@dataclass(frozen=True)
class ModelSource:
    """What to hand `from_pretrained`: the id or folder, and whether it may reach the hub."""

    model_id: str
    local_files_only: bool
    where: str
    """'folder', 'cache' or 'hub'."""


def hub_offline(offline_setting: bool = False) -> bool:
    """True when the hub must not be reached: the setting, or HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE."""
    return offline_setting or any(
        os.environ.get(name, "").strip().lower() in _TRUTHY for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    )


def is_local_folder(model_id: str) -> bool:
    return bool(model_id) and Path(model_id).expanduser().is_dir()


def cached_file(model_id: str) -> Path | None:
    """The cached index file of a hub model (model_index.json or config.json), or None when not cached."""
    from huggingface_hub import try_to_load_from_cache

    if not model_id or "/" not in model_id or is_local_folder(model_id):
        return None
    for filename in INDEX_FILES:
        try:
            found = try_to_load_from_cache(model_id, filename)
        except ValueError:
            return None
        if isinstance(found, str):
            return Path(found)
    return None


def download_hint(model_id: str) -> str:
    return (
        f"get it on a connected machine with `hf download {model_id}` (it lands in the Hugging Face cache, "
        f"HF_HOME), or save it to a folder and give that folder as the model"
    )


def locate_model(model_id: str, *, offline: bool, role: str) -> ModelSource:
    """Where `model_id` will be loaded from.

    Raises:
        BackendError: no model is set, a path-like id names no folder, or the hub is off limits and the model
            is not in the local cache.
    """
    if not model_id:
        raise BackendError(
            f"no {role} model is set: set DIRECTOR_RENDER__{role.upper()}_MODEL to a hub id or a folder, "
            "or choose a preset (DIRECTOR_RENDER__PRESET; `director models` lists them)"
        )
    if is_local_folder(model_id):
        return ModelSource(str(Path(model_id).expanduser()), local_files_only=True, where="folder")
    if model_id.startswith((".", "/", "~")) or model_id.count("/") != 1:
        raise BackendError(
            f"{role} model {model_id!r} is neither a folder that exists nor a hub id like 'owner/name'; check the path"
        )
    if cached_file(model_id) is not None:
        return ModelSource(model_id, local_files_only=True, where="cache")
    if hub_offline(offline):
        raise BackendError(
            f"{role} model {model_id!r} is not in the local Hugging Face cache and the hub is off "
            f"(HF_HUB_OFFLINE or offline mode): {download_hint(model_id)}"
        )
    return ModelSource(model_id, local_files_only=False, where="hub")
