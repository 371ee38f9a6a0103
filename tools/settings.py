"""Every setting of Director in one pydantic-settings class.

Read from `DIRECTOR_*` environment variables and an optional TOML file (`director.toml` in the working
directory, or the file named by `DIRECTOR_CONFIG`). Nested fields use `__`: `DIRECTOR_LLM__BASE_URL`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


class LLMSettings(BaseModel):
    """The one LLM path: any OpenAI-compatible endpoint, or the bundled model when none is set."""

    base_url: str | None = Field(
        default=None, description="OpenAI-compatible endpoint; unset serves the bundled SmolLM2 locally."
    )
    api_key: SecretStr = SecretStr("not-needed")
    model: str = Field(default="", description="Model name at the endpoint; empty picks the bundled one.")
    flavour: Literal["auto", "openai", "llama.cpp", "ollama", "vllm"] = Field(
        default="auto", description="How structured output is requested; auto guesses from the URL."
    )
    temperature: float = Field(default=0.4, ge=0.0, le=2.0)
    timeout: float = Field(default=120.0, gt=0)
    max_retries: int = Field(default=2, ge=0, le=10, description="Re-asks after an invalid answer.")
    max_tokens: int = Field(default=512, ge=16, le=8192)
    context_size: int = Field(default=2048, ge=512, description="n_ctx of the bundled llama.cpp server.")
    server_start_timeout: float = Field(default=120.0, gt=0)


class MemorySettings(BaseModel):
    chroma_url: str | None = Field(default=None, description="A Chroma server; unset embeds Chroma in the project.")


class RenderSettings(BaseModel):
    image_backend: str = "animatic"
    video_backend: str = "animatic"
    width: int = Field(default=640, ge=64, le=4096, description="Frame width; the height follows the aspect.")
    aspect: Literal["16:9", "2.39:1", "1.85:1", "4:3", "1:1", "9:16"] = "16:9"
    fps: int = Field(default=12, ge=6, le=60)
    max_parallel: int = Field(default=2, ge=1, le=64, description="Shots rendered at once.")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="DIRECTOR_", env_nested_delimiter="__", extra="ignore", toml_file="director.toml"
    )

    projects_dir: Path = Path("projects")
    max_review_rounds: int = Field(default=2, ge=1, le=10)
    target_seconds: float = Field(default=45.0, ge=5.0, le=1800.0)
    llm: LLMSettings = Field(default_factory=LLMSettings)
    memory: MemorySettings = Field(default_factory=MemorySettings)
    render: RenderSettings = Field(default_factory=RenderSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_file = os.environ.get("DIRECTOR_CONFIG", "director.toml")
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, toml_file=toml_file))
