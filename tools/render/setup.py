"""The backends a run renders with, built from the settings through the backend registry."""

from __future__ import annotations

from dataclasses import dataclass

from tools.render.base import BackendError, ImageBackend, SpeechBackend, VideoBackend
from tools.render.executors import ShotExecutor
from tools.render.registry import BACKENDS, BackendRegistry
from tools.settings import Settings


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
    def from_settings(cls, settings: Settings, registry: BackendRegistry = BACKENDS) -> RenderBackends:
        """The backends the settings name, from `registry`. No model is loaded yet, but a missing model or key fails.

        Raises:
            BackendError: a backend is unknown, its model cannot be found, or its service has no key; or the
                executor's cluster cannot be reached.
        """
        images = image_backend_from_settings(settings, registry)
        video = video_backend_from_settings(settings, registry)
        speech = speech_backend_from_settings(settings, registry)
        return cls(images=images, video=video, speech=speech, executor=executor_from_settings(settings, registry))

    def close(self) -> None:
        """Give back the executor's workers; loaded pipelines go with the process."""
        if self.executor is not None:
            self.executor.close()


def image_backend_from_settings(settings: Settings, registry: BackendRegistry = BACKENDS) -> ImageBackend:
    """The image backend named in settings (after its preset)."""
    return registry.build(settings, "image")


def video_backend_from_settings(settings: Settings, registry: BackendRegistry = BACKENDS) -> VideoBackend:
    """The video backend named in settings (after its preset)."""
    return registry.build(settings, "video")


def speech_backend_from_settings(settings: Settings, registry: BackendRegistry = BACKENDS) -> SpeechBackend | None:
    """The speech backend named in settings, or None when dialogue is left silent (`none`)."""
    return registry.build_speech(settings)


def executor_from_settings(settings: Settings, registry: BackendRegistry = BACKENDS) -> ShotExecutor | None:
    """The executor `settings.executor` names; None renders in this process with the run's backends.

    Raises:
        BackendError: Ray is asked for but not installed, or its cluster cannot be reached or lacks resources.
    """
    if settings.executor == "local":
        return None
    try:
        from tools.render.ray_executor import RayExecutor
    except ImportError as error:
        raise BackendError(
            f"DIRECTOR_EXECUTOR=ray needs Ray ({error.name} is not installed): "
            "pip install 'agent-director[ray]', or set DIRECTOR_EXECUTOR=local"
        ) from None
    return RayExecutor.from_settings(settings, registry)
