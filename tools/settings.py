"""Every setting of Director in one pydantic-settings class.

Read from `DIRECTOR_*` environment variables and an optional TOML file (`director.toml` in the working
directory, or the file named by `DIRECTOR_CONFIG`). Nested fields use `__`: `DIRECTOR_LLM__BASE_URL`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from tools.llm.offline_catalogue import OFFLINE_MODELS
from tools.render.preset_catalogue import preset_named
from tools.render.spec import Aspect, Fps, Height, ModelFps, Width


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
    max_retries: int = Field(
        default=2,
        ge=0,
        le=10,
        description=(
            "Retries of a failed request (with backoff; a 429's retry-after sets the wait) "
            "and re-asks after an invalid answer."
        ),
    )
    max_tokens: int = Field(default=512, ge=16, le=8192)
    context_size: int = Field(default=2048, ge=512, description="Context window of the bundled model (tokens).")
    engine: Literal["auto", "torch", "llama.cpp"] = Field(
        default="auto",
        description=(
            "What runs the offline model: torch (in-process, nothing to compile), llama.cpp (faster; the "
            "`llama` extra compiles llama-cpp-python), or auto: the model's own (smollm2-135m: torch)."
        ),
    )
    server_start_timeout: float = Field(default=120.0, gt=0)
    offline_model: str = Field(
        default="smollm2-135m",
        description=(
            "The model served when no endpoint is set: smollm2-135m (bundled) or qwen2.5-coder-1.5b "
            "(the `writer` extra; `director models` lists them)."
        ),
    )

    @field_validator("offline_model")
    @classmethod
    def _known_offline_model(cls, name: str) -> str:
        if name.strip().lower() not in OFFLINE_MODELS:
            raise ValueError(f"unknown offline model {name!r}; choose one of: {', '.join(OFFLINE_MODELS)}")
        return name.strip().lower()


class MemorySettings(BaseModel):
    chroma_url: str | None = Field(default=None, description="A Chroma server; unset embeds Chroma in the project.")


MIN_FRAME_HEIGHT = 64


class DiffusersSettings(BaseModel):
    """How diffusers pipelines are loaded and run; `auto` picks what suits the device."""

    device: Literal["auto", "cuda", "mps", "cpu"] = "auto"
    dtype: Literal["auto", "float32", "float16", "bfloat16"] = Field(
        default="auto", description="auto: bfloat16 on CUDA, float16 on MPS, float32 on the CPU."
    )
    offload: Literal["none", "model", "sequential"] = Field(
        default="none", description="CPU offload: 'model' moves whole models in and out, 'sequential' layers."
    )
    vae_tiling: bool = Field(default=False, description="Decode large frames tile by tile to save memory.")
    attention_backend: str = Field(
        default="", description="diffusers attention backend, e.g. 'flash' or '_native_cudnn'; empty: PyTorch SDPA."
    )
    steps: int | None = Field(default=None, ge=1, le=500, description="Denoising steps; unset: the preset's.")
    guidance_scale: float | None = Field(default=None, ge=0.0, le=50.0)
    batch_size: int = Field(default=4, ge=1, le=64, description="Shots drawn in one pipeline call at most.")
    batch_wait: float = Field(
        default=0.05, ge=0.0, le=5.0, description="Seconds a shot waits for others to join its batch."
    )
    ip_adapter: str = Field(default="", description="IP-Adapter weights: hub id or folder; empty: no adapter.")
    ip_adapter_subfolder: str = ""
    ip_adapter_weight_name: str = ""
    ip_adapter_image_encoder: str = Field(
        default="", description="The adapter's image encoder folder, if not the adapter's own `image_encoder`."
    )
    ip_adapter_scale: float = Field(default=0.6, ge=0.0, le=1.0)
    reshoot_strength: float = Field(
        default=0.6, gt=0.0, le=1.0, description="How far an image-to-image reshoot moves from the last take."
    )
    video_pipeline: str = Field(
        default="", description="diffusers pipeline class for video, e.g. LTXImageToVideoPipeline; empty: the model's."
    )
    video_steps: int | None = Field(default=None, ge=1, le=500, description="Video denoising steps.")
    video_guidance_scale: float | None = Field(default=None, ge=0.0, le=50.0)
    video_frames: int | None = Field(default=None, ge=1, le=1024, description="Frames the video model makes.")
    video_fps: ModelFps | None = Field(default=None, description="The video model's own frame rate.")
    video_width: Width | None = Field(default=None, description="Video model width; unset: film's.")
    video_height: Height | None = None
    offline: bool = Field(
        default=False, description="Never reach the hub, as with HF_HUB_OFFLINE=1: a missing model is an error."
    )


class OpenAIMediaSettings(BaseModel):
    """OpenAI's images, videos and speech, or any server that speaks the same API."""

    base_url: str | None = Field(default=None, description="Unset: OPENAI_BASE_URL or api.openai.com.")
    api_key: SecretStr | None = Field(default=None, description="Unset: OPENAI_API_KEY.")
    image_model: str = "gpt-image-1"
    image_quality: Literal["low", "medium", "high", "auto"] = "medium"
    video_model: str = "sora-2"
    speech_model: str = "gpt-4o-mini-tts"
    poll_interval: float = Field(default=5.0, gt=0.0, le=60.0, description="Seconds between video status checks.")
    video_timeout: float = Field(default=900.0, gt=0.0, description="Seconds a video may take before it fails.")
    timeout: float = Field(default=120.0, gt=0.0, description="Seconds for one request.")
    max_retries: int = Field(default=2, ge=0, le=10)
    reuse_characters: bool = Field(
        default=True, description="Register a character with a reference picture once and reuse it in every video."
    )


class RenderSettings(BaseModel):
    preset: str = Field(default="", description="A named preset (see `director models`); explicit settings win.")
    image_backend: str = "animatic"
    video_backend: str = "animatic"
    speech_backend: str = Field(default="espeak", description="espeak (offline), openai, or none.")
    image_model: str = Field(default="", description="Hub id or local folder of the image model.")
    video_model: str = Field(default="", description="Hub id or local folder of the video model.")
    width: Width = Field(default=640, description="Frame width; the height follows the aspect.")
    aspect: Aspect = "16:9"
    fps: Fps = 12
    max_parallel: int = Field(default=2, ge=1, le=64, description="Shots rendered at once.")
    takes: int = Field(
        default=1, ge=1, le=8, description="Coverage: takes rendered per shot (new seeds); the critic cuts the best."
    )
    stream_scenes: bool = Field(
        default=True,
        description="Plan, design and render each scene as soon as it is written, while the crew writes the rest.",
    )
    diffusers: DiffusersSettings = Field(default_factory=DiffusersSettings)
    openai: OpenAIMediaSettings = Field(default_factory=OpenAIMediaSettings)

    @model_validator(mode="after")
    def _frame_tall_enough(self) -> RenderSettings:
        across, down = (float(part) for part in self.aspect.split(":"))
        if self.width * down / across < MIN_FRAME_HEIGHT - 1:
            raise ValueError(
                f"a {self.width} px wide {self.aspect} frame would be under {MIN_FRAME_HEIGHT} px high; "
                f"use a width of at least {round(MIN_FRAME_HEIGHT * across / down)}"
            )
        return self

    @model_validator(mode="after")
    def _fill_from_preset(self) -> RenderSettings:
        """Take the preset's values for every field not given explicitly (unknown presets are refused).

        The filled fields stay unset, so settings re-read with another preset take that preset's values.
        """
        if self.preset:
            preset = preset_named(self.preset)
            top = {key: value for key, value in preset.render.items() if key not in self.model_fields_set}
            inner = {
                key: value for key, value in preset.diffusers.items() if key not in self.diffusers.model_fields_set
            }
            for key, value in top.items():
                setattr(self, key, value)
            for key, value in inner.items():
                setattr(self.diffusers, key, value)
            self.__pydantic_fields_set__.difference_update(top)
            self.diffusers.__pydantic_fields_set__.difference_update(inner)
        return self


class Prices(BaseModel):
    """What the paid services charge, for a run's cost (US dollars by default; set your own rates).

    The defaults are OpenAI's published list prices as of late 2025; what runs on your own machine costs
    nothing unless you give your GPU an hourly rate.
    """

    currency: str = "USD"
    image_per_picture: dict[str, float] = Field(
        default_factory=lambda: {"gpt-image-1": 0.063, "gpt-image-1-mini": 0.015, "dall-e-3": 0.08},
        description="Per keyframe, by model (gpt-image-1: medium quality at 1536x1024).",
    )
    video_per_second: dict[str, float] = Field(
        default_factory=lambda: {"sora-2": 0.10, "sora-2-pro": 0.30}, description="Per second of clip, by model."
    )
    speech_per_minute: dict[str, float] = Field(
        default_factory=lambda: {"gpt-4o-mini-tts": 0.015, "tts-1": 0.015, "tts-1-hd": 0.03},
        description="Per minute of speech, by model.",
    )
    llm_per_million_tokens: dict[str, tuple[float, float]] = Field(
        default_factory=lambda: {"gpt-4o-mini": (0.15, 0.60), "gpt-4o": (2.50, 10.00), "gpt-4.1-mini": (0.40, 1.60)},
        description="(input, output) per million tokens, by model; models not listed (local ones) cost nothing.",
    )
    gpu_per_hour: float = Field(default=0.0, ge=0.0, description="What an hour of your own GPU costs, if anything.")


class ProvenanceSettings(BaseModel):
    """Signing every cut with a C2PA content credential; off until a certificate and key are given."""

    c2pa_certificate_chain: Path | None = Field(
        default=None, description="PEM chain: the signing certificate first, then intermediates, no root."
    )
    c2pa_private_key: Path | None = Field(default=None, description="The signing certificate's PKCS#8 PEM key.")
    c2pa_algorithm: Literal["es256", "es384", "es512", "ps256", "ps384", "ps512", "ed25519"] = "es256"
    c2pa_timestamp_url: str | None = Field(
        default=None, description="An RFC 3161 time-stamp server, so the credential outlives the certificate."
    )

    @property
    def signs(self) -> bool:
        return self.c2pa_certificate_chain is not None and self.c2pa_private_key is not None


class RaySettings(BaseModel):
    """Where `DIRECTOR_EXECUTOR=ray` sends shot renders, and what each renderer asks the cluster for."""

    address: str = Field(
        default="",
        description=(
            "The cluster: HOST:PORT of its head node, 'auto' for the cluster this machine belongs to, "
            "'ray://HOST:10001' through Ray Client; empty starts a Ray instance on this machine."
        ),
    )
    renderers: int = Field(
        default=0, ge=0, le=256, description="Renderers (Ray actors) kept on the cluster; 0: render.max_parallel."
    )
    num_gpus: float | None = Field(
        default=None,
        ge=0.0,
        description="GPUs per renderer; empty: 1 when the diffusers backend runs on a GPU, else 0.",
    )
    num_cpus: float = Field(default=1.0, ge=0.0, description="CPU cores per renderer.")
    runtime_env: dict[str, Any] = Field(
        default_factory=dict,
        description='Ray\'s runtime_env for the renderers, e.g. {"pip": ["agent-director"]} for bare nodes.',
    )
    connect_timeout: float = Field(default=60.0, gt=0.0, description="Seconds to wait for the renderers to start.")


class StudioSettings(BaseModel):
    """The studio server's rules: how often a login may fail, and when a note is proposed before it runs."""

    login_attempts_per_minute: int = Field(
        default=10, ge=1, le=1000, description="Wrong passwords per user name in a minute before logins are refused."
    )
    proposal_shots: int = Field(
        default=3,
        ge=0,
        description="A note that would remake more shots than this (or any that costs money) is proposed first.",
    )


class CriticSettings(BaseModel):
    """The critic's eyes: a vision model that looks at each take, when one can be reached."""

    vision: Literal["auto", "on", "off"] = Field(
        default="auto", description="auto: use the vision model if the endpoint takes pictures (probed once)."
    )
    vision_base_url: str | None = Field(default=None, description="OpenAI-compatible endpoint; unset: the LLM's.")
    vision_model: str = Field(default="", description="The vision model's name; empty: the LLM's.")
    vision_api_key: SecretStr | None = Field(default=None, description="Unset: the LLM's key.")
    vision_flag_below: float = Field(default=0.5, ge=0.0, le=1.0, description="A take scored below is reshot.")
    vision_max_side: int = Field(default=512, ge=64, le=4096, description="Pictures are downscaled to this first.")
    vision_timeout: float = Field(default=120.0, gt=0.0, description="Seconds one review may take.")


class SoundSettings(BaseModel):
    """The film's sound beyond its lines: the composer's score, the sound designer's ambience and the mix."""

    music: bool = Field(default=True, description="Score the film (a General MIDI SoundFont plays it).")
    ambience: bool = Field(default=True, description="Lay each scene's ambience (rain, wind, room tone...).")
    target_lufs: float = Field(
        default=-16.0, ge=-31.0, le=-9.0, description="Integrated loudness: -16 for the web, -23 for broadcast."
    )
    true_peak: float = Field(default=-1.5, ge=-9.0, le=-1.0, description="The mix's true-peak ceiling, dBTP.")
    duck_db: float = Field(default=12.0, ge=9.0, le=40.0, description="How far a line pulls the bed down, at least.")
    crossfade: float = Field(default=1.0, ge=0.0, le=4.0, description="Seconds the bed cross-fades at a scene cut.")
    soundfont: Path | None = Field(
        default=None, description="A .sf2/.sf3 to play the score; unset: Debian's FluidR3_GM, else pretty_midi's."
    )
    ambience_backend: Literal["synth", "stable-audio-3"] = Field(
        default="synth", description="Who makes the beds: synthesised offline, or Stable Audio 3 (diffusers, a GPU)."
    )
    ambience_model: str = Field(
        default="", description="Stable Audio 3 (diffusers format): folder or cached hub id; empty: the official."
    )
    ambience_steps: int | None = Field(default=None, ge=1, le=500, description="Its steps; unset: the model's own.")


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
    prices: Prices = Field(default_factory=Prices)
    provenance: ProvenanceSettings = Field(default_factory=ProvenanceSettings)
    executor: Literal["local", "ray"] = Field(
        default="local", description="Where shots render: in this process, or on a Ray cluster (`ray` extra)."
    )
    ray: RaySettings = Field(default_factory=RaySettings)
    studio: StudioSettings = Field(default_factory=StudioSettings)
    critic: CriticSettings = Field(default_factory=CriticSettings)
    sound: SoundSettings = Field(default_factory=SoundSettings)

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
