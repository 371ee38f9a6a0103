"""Whether this machine has a preset's models, and what licence each model a film used is under.

The presets themselves are data in `tools.render.preset_catalogue`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel

from tools.render.hub import cached_file, download_hint, is_local_folder
from tools.render.preset_catalogue import Preset
from tools.render.registry import BACKENDS, MEDIA, BackendRegistry

if TYPE_CHECKING:
    from tools.settings import RenderSettings


ModelState = Literal["cached", "folder", "missing", "api key set", "no api key"]


class PresetStatus(BaseModel):
    name: str
    summary: str
    needs: str
    models: dict[str, ModelState]

    @property
    def ready(self) -> bool:
        return all(state in ("cached", "folder", "api key set") for state in self.models.values())


def model_state(model_id: str) -> ModelState:
    if is_local_folder(model_id):
        return "folder"
    return "cached" if cached_file(model_id) is not None else "missing"


def preset_status(
    preset: Preset, render: RenderSettings | None = None, registry: BackendRegistry = BACKENDS
) -> PresetStatus:
    """Which of the preset's models this machine has (in a folder, the Hugging Face cache, or missing), and keys.

    A hosted service counts as present when its key is in the environment or in its settings section (the one
    named like its backend, e.g. `render.openai.api_key`).
    """
    models: dict[str, ModelState] = {model_id: model_state(model_id) for model_id in preset.models}
    for medium in MEDIA:
        entry = registry.find(medium, preset.render.get(f"{medium}_backend", ""))
        if entry is None or not entry.service or entry.service in models:
            continue
        section = getattr(render, entry.name, None) if render is not None else None
        key_set = bool(entry.key_env and os.environ.get(entry.key_env)) or bool(getattr(section, "api_key", None))
        models[entry.service] = "api key set" if key_set else "no api key"
    return PresetStatus(name=preset.name, summary=preset.summary, needs=preset.needs, models=models)


def how_to_get(model_id: str) -> str:
    return download_hint(model_id)


LICENCES: dict[str, str] = {
    "stabilityai/sd-turbo": "other (Stability AI Community License)",
    "stabilityai/sdxl-turbo": "other (Stability AI Community License)",
    "black-forest-labs/FLUX.1-schnell": "apache-2.0",
    "Qwen/Qwen-Image-Edit-2511": "apache-2.0",
    "black-forest-labs/FLUX.2-klein-4B": "apache-2.0",
    "Lightricks/LTX-Video": "other (LTX-Video Open Weights License)",
    "Wan-AI/Wan2.1-I2V-14B-480P-Diffusers": "apache-2.0",
    "Lightricks/LTX-2": "other (LTX-2 Community License Agreement)",
    "Wan-AI/Wan2.2-TI2V-5B-Diffusers": "apache-2.0",
    "hunyuanvideo-community/HunyuanVideo-1.5-Diffusers-480p_i2v": "other (Tencent Hunyuan Community License)",
    "smollm2-135m-instruct": "apache-2.0",
    "qwen2.5-coder-1.5b-instruct": "apache-2.0",
    "all-MiniLM-L6-v2": "apache-2.0",
    "animatic-1": "Apache-2.0 (Director's own procedural renderer)",
    "espeak-ng": "GPL-3.0-or-later",
}
"""Licence identifiers as the model cards publish them (Hugging Face's `license:` field)."""


def licence_of(backend: str, model: str, registry: BackendRegistry = BACKENDS) -> str:
    """The backend's service terms, else the model's licence as published (known models, a folder's model card)."""
    if terms := registry.terms_of(backend):
        return terms
    name = model.split(" + ")[0].strip()
    for known, licence in LICENCES.items():
        if name == known or name.startswith(known):
            return licence
    card = Path(name).expanduser() / "README.md"
    if is_local_folder(name) and card.is_file():
        match = re.search(r"^license:\s*(\S.*)$", card.read_text(encoding="utf-8", errors="replace"), re.MULTILINE)
        if match:
            return match.group(1).strip()
    return "unknown: see the model card"
