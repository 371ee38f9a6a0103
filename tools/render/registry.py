"""Which backends exist for each medium, where their code lives, and what each one is: paid, GPU-hungry, ...

A backend is one module plus one line in `BACKENDS`. Its class is imported only when a run chooses it, so
a machine without torch or the OpenAI client can still render with the animatic. Code that treats backends
differently (costs, licences, GPU requests) reads the flags here instead of comparing names.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Literal

from tools.render.base import BackendError
from tools.settings import Settings

Medium = Literal["image", "video", "speech"]
MEDIA: tuple[Medium, ...] = ("image", "video", "speech")

NO_SPEECH = "none"
"""The speech backend name that leaves dialogue silent."""

OPENAI_TERMS = "proprietary (OpenAI Services Agreement; outputs owned by the user)"


@dataclass(frozen=True)
class BackendEntry:
    """One backend of one medium.

    Attributes:
        medium: What it makes: image (keyframes), video (clips) or speech (lines).
        name: The value of `DIRECTOR_RENDER__<MEDIUM>_BACKEND` that chooses it.
        target: Its class as `"module:Class"`, imported when chosen.
        paid: A hosted service billed by the unit (priced from `Settings.prices`).
        licence: The service's own terms, which cover its outputs whatever the model; empty: the model's licence.
        wants_gpu: Runs a model on this machine's accelerator when there is one (priced by `gpu_per_hour`,
            and given a GPU on a Ray cluster).
        supports_reference: Can take a character's reference picture.
        draws_animatic: Draws the animatic's own overscanned keyframes, with marks the clip may reuse.
        service: The hosted service it calls, as `director models` names it; empty: it runs here.
        key_env: The environment variable holding that service's API key.
        retired: When the service stopped answering and what to use instead; empty while it works. A retired
            backend still builds, for compatible servers that keep the API.
    """

    medium: Medium
    name: str
    target: str
    paid: bool = False
    licence: str = ""
    wants_gpu: bool = False
    supports_reference: bool = False
    draws_animatic: bool = False
    service: str = ""
    key_env: str = ""
    retired: str = ""

    def backend_class(self) -> type:
        """The backend's class, imported now.

        Raises:
            ImportError: its module, or a package the module needs, is not installed.
            AttributeError: the module has no such class.
        """
        module_name, _, class_name = self.target.partition(":")
        return getattr(importlib.import_module(module_name), class_name)


@dataclass(frozen=True)
class BackendRegistry:
    """An immutable table of backends; `with_backend` makes a new table with one more (or one replaced)."""

    entries: tuple[BackendEntry, ...]

    def find(self, medium: str, name: str) -> BackendEntry | None:
        """The entry for `name` in `medium`, or None when there is none."""
        return next((entry for entry in self.entries if entry.medium == medium and entry.name == name), None)

    def entry(self, medium: Medium, name: str) -> BackendEntry:
        """The entry for `name` in `medium`.

        Raises:
            KeyError: no backend of that medium has that name.
        """
        found = self.find(medium, name)
        if found is None:
            raise KeyError(f"no {medium} backend {name!r}; there are: {', '.join(self.names(medium))}")
        return found

    def names(self, medium: Medium) -> tuple[str, ...]:
        """The names of the medium's backends, in table order."""
        return tuple(entry.name for entry in self.entries if entry.medium == medium)

    def backend_class(self, medium: Medium, name: str) -> type:
        """The class of the backend `name` of `medium`, imported now."""
        return self.entry(medium, name).backend_class()

    def terms_of(self, name: str) -> str:
        """The service terms of any backend called `name`; empty when its outputs follow the model's licence."""
        return next((entry.licence for entry in self.entries if entry.name == name and entry.licence), "")

    def build(self, settings: Settings, medium: Medium) -> Any:
        """The `medium` backend the settings name, its class imported only now that it is chosen.

        Raises:
            BackendError: the name is not in the registry (the message names the variable and the choices), or
                the backend cannot be built.
        """
        name = getattr(settings.render, f"{medium}_backend")
        entry = self.find(medium, name)
        if entry is None:
            choices = [*self.names(medium), *([NO_SPEECH] if medium == "speech" else [])]
            listed = f"{', '.join(choices[:-1])} or {choices[-1]}" if len(choices) > 1 else "".join(choices)
            raise BackendError(
                f"unknown {medium} backend {name!r}: set DIRECTOR_RENDER__{medium.upper()}_BACKEND to {listed}"
            )
        return entry.backend_class().from_settings(settings)

    def build_speech(self, settings: Settings) -> Any:
        """The speech backend the settings name, or None when dialogue is left silent (`none`)."""
        return None if settings.render.speech_backend == NO_SPEECH else self.build(settings, "speech")

    def gpus_per_renderer(self, settings: Settings) -> float:
        """One GPU per renderer when a backend that wants one may run on CUDA, none for CPU and hosted backends."""
        render = settings.render
        chosen = (self.find("image", render.image_backend), self.find("video", render.video_backend))
        wants_gpu = any(entry is not None and entry.wants_gpu for entry in chosen)
        return 1.0 if wants_gpu and render.diffusers.device in ("auto", "cuda") else 0.0

    def with_backend(self, entry: BackendEntry) -> BackendRegistry:
        """A new registry holding `entry`, in place of any entry of the same medium and name."""
        kept = tuple(old for old in self.entries if (old.medium, old.name) != (entry.medium, entry.name))
        return BackendRegistry(entries=(*kept, entry))


_OPENAI_IMAGES = "tools.render.openai.images:OpenAIImageBackend"
_OPENAI_VIDEO = "tools.render.openai.video:OpenAIVideoBackend"
_OPENAI_SPEECH = "tools.render.openai.speech:OpenAISpeechBackend"
_OPENAI_KEY = "OPENAI_API_KEY"

BACKENDS = BackendRegistry(
    entries=(
        BackendEntry(
            "image",
            "animatic",
            "tools.render.animatic.keyframe:AnimaticImageBackend",
            supports_reference=True,
            draws_animatic=True,
        ),
        BackendEntry(
            "image",
            "diffusers",
            "tools.render.diffusers.images:DiffusersImageBackend",
            wants_gpu=True,
            supports_reference=True,
        ),
        BackendEntry(
            "image",
            "openai",
            _OPENAI_IMAGES,
            paid=True,
            licence=OPENAI_TERMS,
            supports_reference=True,
            service="OpenAI API",
            key_env=_OPENAI_KEY,
        ),
        BackendEntry("video", "animatic", "tools.render.animatic.clip:AnimaticVideoBackend", supports_reference=True),
        BackendEntry(
            "video",
            "diffusers",
            "tools.render.diffusers.video:DiffusersVideoBackend",
            wants_gpu=True,
            supports_reference=True,
        ),
        BackendEntry(
            "video",
            "openai",
            _OPENAI_VIDEO,
            paid=True,
            licence=OPENAI_TERMS,
            supports_reference=True,
            service="OpenAI API",
            key_env=_OPENAI_KEY,
            retired=(
                "OpenAI retired its hosted Sora video API on 2026-09-24: use camera moves (the animatic video "
                "backend, as the openai preset now does), or the ltx-2 or wan2.2-ti2v-5b preset on a GPU; "
                "DIRECTOR_RENDER__VIDEO_BACKEND=openai still works with a server that offers the videos API"
            ),
        ),
        BackendEntry("speech", "espeak", "tools.render.espeak:EspeakSpeechBackend"),
        BackendEntry(
            "speech",
            "openai",
            _OPENAI_SPEECH,
            paid=True,
            licence=OPENAI_TERMS,
            service="OpenAI API",
            key_env=_OPENAI_KEY,
        ),
    )
)
"""The built-in backends. `none` is no speech backend: dialogue is left silent."""
