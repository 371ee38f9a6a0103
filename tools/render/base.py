"""The one protocol per medium that every image, video and speech backend implements.

A backend takes its model or client in the constructor (plus `from_settings`), states what it can do as
flags, and has one call that returns a typed result holding paths, never pixels. Backends are called from
several render tasks at once, so each one guards what it shares (a loaded pipeline, a client) itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict

from tools.errors import DirectorError
from tools.render.spec import ShotSpec, Voice


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
    audio: Path | None = None
    """The sound the model made with the picture (a WAV beside the clip), for models that make one."""

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


class BackendError(DirectorError, RuntimeError):
    """A backend could not make a take; the critic treats it as a failed shot, never a crash."""


class ContentRefusedError(BackendError):
    """The service refused the prompt or picture as against its content policy: a new seed will not help."""
