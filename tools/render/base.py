"""The one protocol per medium that every image, video and speech backend implements.

A backend takes its model or client in the constructor (plus `from_settings`), states what it can do as
flags, and has one call that returns a typed result holding paths, never pixels. Backends are called from
several render tasks at once, so each one guards what it shares (a loaded pipeline, a client) itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict

from tools.render.spec import ShotSpec, Voice
from tools.settings import Settings

if TYPE_CHECKING:
    from tools.render.executors import ShotExecutor


class ImageResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    path: Path
    width: int
    height: int
    backend: str
    model: str = ""


class ClipResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    path: Path
    width: int
    height: int
    fps: int
    num_frames: int
    duration: float
    backend: str
    model: str = ""

    @classmethod
    def of_shot(cls, spec: ShotSpec, path: Path, backend: str, model: str) -> ClipResult:
        """The result for a clip made exactly as `spec` asks: its size, rate and frame count."""
        return cls(
            path=path,
            width=spec.width,
            height=spec.height,
            fps=spec.fps,
            num_frames=spec.num_frames,
            duration=spec.num_frames / spec.fps,
            backend=backend,
            model=model,
        )


class SpeechResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    path: Path
    duration: float
    sample_rate: int
    backend: str
    model: str = ""


@runtime_checkable
class ImageBackend(Protocol):
    """Makes a shot's keyframe."""

    name: ClassVar[str]
    supports_reference_image: ClassVar[bool]

    @property
    def max_prompt_tokens(self) -> int | None:
        """The prompt tokens the model reads (`tools.render.prompt_budget.estimate_tokens`); None: no limit to speak of.

        The designer fits every prompt to it by leaving out whole clauses, so the model never cuts one.
        """
        ...

    @property
    def model(self) -> str: ...

    @property
    def parameters(self) -> dict[str, str | int | float | bool]:
        """Everything besides the model that changes the output (steps, guidance, ...): part of the cache key."""
        ...

    def generate(self, spec: ShotSpec, out: Path) -> ImageResult:
        """Render `spec`'s keyframe to the PNG file `out`."""
        ...


@runtime_checkable
class VideoBackend(Protocol):
    """Turns a keyframe into a clip that realises the shot's camera move."""

    name: ClassVar[str]
    supports_reference_image: ClassVar[bool]

    @property
    def max_prompt_tokens(self) -> int | None:
        """As the image backend's: a video model reads the same prompt; None when it reads no prompt."""
        ...

    @property
    def model(self) -> str: ...

    @property
    def parameters(self) -> dict[str, str | int | float | bool]:
        """Everything besides the model that changes the output (steps, guidance, ...): part of the cache key."""
        ...

    def animate(self, spec: ShotSpec, keyframe: Path, out: Path) -> ClipResult:
        """Render `spec` as an H.264 MP4 at `out`, `spec.num_frames` frames at `spec.fps`."""
        ...


@runtime_checkable
class SpeechBackend(Protocol):
    """Speaks a character's line."""

    name: ClassVar[str]

    @property
    def model(self) -> str: ...

    @property
    def parameters(self) -> dict[str, str | int | float | bool]:
        """Everything besides the model that changes the output (steps, guidance, ...): part of the cache key."""
        ...

    def speak(self, text: str, voice: Voice, out: Path, *, speed: float = 1.0) -> SpeechResult:
        """Speak `text` in `voice` into the mono WAV file `out`; `speed` above 1 talks faster."""
        ...


class BackendError(RuntimeError):
    """A backend could not make a take; the critic treats it as a failed shot, never a crash."""


class ContentRefusedError(BackendError):
    """The service refused the prompt or picture as against its content policy: a new seed will not help."""


@dataclass(frozen=True)
class RenderBackends:
    """The three backends a run renders with. Built once and shared: a studio keeps its pipelines loaded."""

    images: ImageBackend
    video: VideoBackend
    speech: SpeechBackend | None
    executor: ShotExecutor | None = None
    """Renders the shots elsewhere (a Ray cluster); None renders them here with the three backends.

    The three backends are built here in any case: their names, models and parameters key the take store.
    """

    @classmethod
    def from_settings(cls, settings: Settings) -> RenderBackends:
        """The backends the settings name. No model is loaded yet, but a missing model or key fails here.

        Raises:
            BackendError: a backend is unknown, its model cannot be found, or its service has no key; or the
                executor's cluster cannot be reached.
        """
        from tools.render.executors import executor_from_settings

        images = image_backend_from_settings(settings)
        video = video_backend_from_settings(settings)
        speech = speech_backend_from_settings(settings)
        return cls(images=images, video=video, speech=speech, executor=executor_from_settings(settings))

    def close(self) -> None:
        """Give back the executor's workers; loaded pipelines go with the process."""
        if self.executor is not None:
            self.executor.close()


def image_backend_from_settings(settings: Settings) -> ImageBackend:
    """The image backend named in settings (after its preset); heavy backends are imported only when chosen."""
    render = settings.render.resolved()
    name = render.image_backend
    if name == "animatic":
        from tools.render.animatic.keyframe import AnimaticImageBackend

        return AnimaticImageBackend.from_settings(settings)
    if name == "diffusers":
        from tools.render.diffusers.images import DiffusersImageBackend

        return DiffusersImageBackend.from_settings(settings)
    if name == "openai":
        from tools.render.openai.media import OpenAIImageBackend

        return OpenAIImageBackend.from_settings(settings)
    raise BackendError(
        f"unknown image backend {name!r}: set DIRECTOR_RENDER__IMAGE_BACKEND to animatic, diffusers or openai"
    )


def video_backend_from_settings(settings: Settings) -> VideoBackend:
    """The video backend named in settings (after its preset); heavy backends are imported only when chosen."""
    render = settings.render.resolved()
    name = render.video_backend
    if name == "animatic":
        from tools.render.animatic.clip import AnimaticVideoBackend

        return AnimaticVideoBackend.from_settings(settings)
    if name == "diffusers":
        from tools.render.diffusers.video import DiffusersVideoBackend

        return DiffusersVideoBackend.from_settings(settings)
    if name == "openai":
        from tools.render.openai.media import OpenAIVideoBackend

        return OpenAIVideoBackend.from_settings(settings)
    raise BackendError(
        f"unknown video backend {name!r}: set DIRECTOR_RENDER__VIDEO_BACKEND to animatic, diffusers or openai"
    )


def speech_backend_from_settings(settings: Settings) -> SpeechBackend | None:
    """The speech backend named in settings, or None when dialogue is left silent (`none`)."""
    render = settings.render.resolved()
    name = render.speech_backend
    if name == "none":
        return None
    if name == "espeak":
        from tools.render.espeak import EspeakSpeechBackend

        return EspeakSpeechBackend.from_settings(settings)
    if name == "openai":
        from tools.render.openai.media import OpenAISpeechBackend

        return OpenAISpeechBackend.from_settings(settings)
    raise BackendError(
        f"unknown speech backend {name!r}: set DIRECTOR_RENDER__SPEECH_BACKEND to espeak, openai or none"
    )
