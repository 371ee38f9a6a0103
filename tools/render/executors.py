"""Who runs a shot's render: this process (the default), or a Ray cluster (`tools/render/ray_executor.py`).

An executor takes a spec whose picture paths are absolute and a take folder, and leaves the keyframe, the clip
and the spoken line in that folder. Deciding whether a take is needed, and recording it, stay with the graph.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import ClassVar, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from tools.render.base import (
    ClipResult,
    ImageBackend,
    ImageResult,
    SpeechBackend,
    SpeechResult,
    VideoBackend,
)
from tools.render.spec import ShotSpec

SPEECH_MARGIN = 0.3
"""Seconds of a shot kept free of speech: the cross-fades at its ends and a breath after the line."""
MAX_SPEECH_SPEED = 1.6
"""The fastest a line is spoken to fit its shot; beyond that the line overruns and the cut fades it out."""


class RenderedShot(BaseModel):
    """What one render left in the take folder, with the seconds per stage and where it ran."""

    model_config = ConfigDict(frozen=True)

    image: ImageResult
    clip: ClipResult
    speech: SpeechResult | None = None
    timings: dict[str, float] = Field(default_factory=dict)
    worker: str = Field(default="", description="Where it rendered: empty for this process, else the executor's.")


@runtime_checkable
class ShotExecutor(Protocol):
    """Renders shots somewhere; thread-safe, as several render tasks call it at once."""

    name: ClassVar[str]

    def render(self, spec: ShotSpec, folder: Path) -> RenderedShot:
        """Render `spec` (picture paths absolute) into `folder` as keyframe.png, clip.mp4 and line.wav.

        Raises:
            Exception: whatever the backends raise; the render task turns it into a failed shot.
        """
        ...

    def close(self) -> None:
        """Give back what the executor holds (workers, connections)."""
        ...


class LocalExecutor:
    """Renders in this process with the given backends, which guard their own shared state."""

    name: ClassVar[str] = "local"

    def __init__(self, images: ImageBackend, video: VideoBackend, speech: SpeechBackend | None) -> None:
        self.images = images
        self.video = video
        self.speech = speech

    def render(self, spec: ShotSpec, folder: Path) -> RenderedShot:
        return render_with(spec, folder, self.images, self.video, self.speech)

    def close(self) -> None:
        return None


def render_with(
    spec: ShotSpec, folder: Path, images: ImageBackend, video: VideoBackend, speech: SpeechBackend | None
) -> RenderedShot:
    """Keyframe, then clip from it, then the line: the one way a shot is rendered, wherever that happens."""
    timings: dict[str, float] = {}
    with timed(timings, "image"):
        image = images.generate(spec, folder / "keyframe.png")
    with timed(timings, "video"):
        clip = video.animate(spec, image.path, folder / "clip.mp4")
    spoken = None
    if spec.line is not None and speech is not None:
        with timed(timings, "speech"):
            spoken = speak_line(speech, spec, folder / "line.wav")
    return RenderedShot(image=image, clip=clip, speech=spoken, timings=timings)


def speak_line(speech: SpeechBackend, spec: ShotSpec, out: Path) -> SpeechResult:
    """Speak the shot's line, faster (up to `MAX_SPEECH_SPEED`) when it would not fit the shot."""
    assert spec.line is not None
    room = max(0.5, spec.duration - SPEECH_MARGIN)
    result = speech.speak(spec.line.text, spec.line.voice, out)
    if result.duration > room:
        speed = min(MAX_SPEECH_SPEED, result.duration / room * 1.03)
        result = speech.speak(spec.line.text, spec.line.voice, out, speed=speed)
    return result


@contextmanager
def timed(timings: dict[str, float], stage: str) -> Iterator[None]:
    """Record the seconds the block takes under `stage`."""
    started = time.perf_counter()
    try:
        yield
    finally:
        timings[stage] = round(time.perf_counter() - started, 4)
