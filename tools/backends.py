"""The one protocol per medium that every image and video backend implements.

A backend takes its model or client in the constructor (plus `from_settings`), states what it can do as
flags, and has one call that returns a typed result holding paths, never pixels.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict

from tools.settings import Settings
from tools.spec import ShotSpec


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


@runtime_checkable
class ImageBackend(Protocol):
    """Makes a shot's keyframe."""

    name: ClassVar[str]
    supports_reference_image: ClassVar[bool]

    @property
    def model(self) -> str: ...

    def generate(self, spec: ShotSpec, out: Path) -> ImageResult:
        """Render `spec`'s keyframe to the PNG file `out`."""
        ...


@runtime_checkable
class VideoBackend(Protocol):
    """Turns a keyframe into a clip that realises the shot's camera move."""

    name: ClassVar[str]
    supports_reference_image: ClassVar[bool]

    @property
    def model(self) -> str: ...

    def animate(self, spec: ShotSpec, keyframe: Path, out: Path) -> ClipResult:
        """Render `spec` as an H.264 MP4 at `out`, `spec.num_frames` frames at `spec.fps`."""
        ...


class BackendError(RuntimeError):
    """A backend could not make a take; the critic treats it as a failed shot, never a crash."""


def image_backend_from_settings(settings: Settings) -> ImageBackend:
    """The image backend named in settings; heavy backends are imported only when chosen."""
    name = settings.render.image_backend
    if name == "animatic":
        from tools.images import AnimaticImageBackend

        return AnimaticImageBackend.from_settings(settings)
    raise BackendError(f"unknown image backend {name!r}: set DIRECTOR_RENDER__IMAGE_BACKEND to one of: animatic")


def video_backend_from_settings(settings: Settings) -> VideoBackend:
    """The video backend named in settings; heavy backends are imported only when chosen."""
    name = settings.render.video_backend
    if name == "animatic":
        from tools.video import AnimaticVideoBackend

        return AnimaticVideoBackend.from_settings(settings)
    raise BackendError(f"unknown video backend {name!r}: set DIRECTOR_RENDER__VIDEO_BACKEND to one of: animatic")
