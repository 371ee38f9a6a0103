"""Which models Director can use on this machine: the offline LLMs, the render presets, and the hub's mode.

Read for `director models`; plain data, so a surface lays it out as it likes.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from tools.llm.offline_catalogue import OFFLINE_MODELS
from tools.llm.offline_models import model_status
from tools.render.hub import hub_offline
from tools.render.preset_catalogue import PRESETS, Preset
from tools.render.presets import licence_of, preset_status
from tools.render.registry import BACKENDS
from tools.settings import Settings


class OfflineLLMRow(BaseModel):
    """One offline LLM: what it is, and whether this machine has it (`state`: packaged, assembled, parts, missing)."""

    name: str
    title: str
    size: int = Field(description="Bytes.")
    licence: str
    state: str
    path: str = ""
    install: str = Field(default="", description="How to get it, when it is missing.")
    chosen: bool = False


class PresetRow(BaseModel):
    """One render preset, its models with where each was found, and whether all are here."""

    name: str
    summary: str
    models: dict[str, str]
    licences: dict[str, str] = Field(default_factory=dict, description="Each model's licence as published.")
    ready: bool
    needs: str


class ModelsReport(BaseModel):
    llms: list[OfflineLLMRow]
    presets: list[PresetRow]
    endpoint: str = Field(default="", description="The OpenAI-compatible endpoint set, if any.")
    endpoint_model: str = ""
    offline_model: str
    active_preset: str = ""
    hub_offline: bool = False
    notices: list[str] = Field(
        default_factory=list, description="Retired services (`BackendEntry.retired`): what happened, what to use."
    )


def preset_licences(preset: Preset) -> dict[str, str]:
    """The licence of each model `preset` loads, under the backend that loads it (a service's terms for a service)."""
    licences = {}
    for medium in ("image", "video"):
        model, backend = preset.render.get(f"{medium}_model", ""), preset.render.get(f"{medium}_backend", "")
        if model:
            licences[model] = licence_of(backend, model)
    return licences


def models_report(settings: Settings) -> ModelsReport:
    """What `director models` shows for `settings`; nothing is downloaded or loaded."""
    llms = []
    for model in OFFLINE_MODELS.values():
        status = model_status(model)
        install = ""
        if status.state == "missing":
            install = f"pip install 'agent-director[{model.extra}]'" if model.extra else model.install_command()
        llms.append(
            OfflineLLMRow(
                name=model.name,
                title=model.title,
                size=model.size,
                licence=model.licence,
                state=status.state,
                path=str(status.path or ""),
                install=install,
                chosen=model.name == settings.llm.offline_model,
            )
        )
    presets = []
    for preset in PRESETS.values():
        status = preset_status(preset, settings.render)
        presets.append(
            PresetRow(
                name=preset.name,
                summary=preset.summary,
                models=dict(status.models),
                licences=preset_licences(preset),
                ready=status.ready,
                needs=preset.needs,
            )
        )
    return ModelsReport(
        llms=llms,
        presets=presets,
        endpoint=settings.llm.base_url or "",
        endpoint_model=settings.llm.model or "",
        offline_model=settings.llm.offline_model,
        active_preset=settings.render.preset or "",
        hub_offline=hub_offline(),
        notices=[entry.retired for entry in BACKENDS.entries if entry.retired],
    )
