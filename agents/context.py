"""What every node receives besides the state: settings, the project folder, the LLM, memory, backends.

Passed through LangGraph's `context_schema`, never held in module globals.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from agents.project import Project
from agents.work_ahead import WorkAhead
from memory.store import MemoryStore
from tools.llm.asking import StructuredLLM
from tools.look.faces import FaceModels
from tools.look.vision import VisionReviewer
from tools.render.base import ImageBackend, SpeechBackend, VideoBackend
from tools.render.executors import LocalExecutor, ShotExecutor
from tools.settings import Settings
from tools.sound.stable_audio import StableAudioBeds


@dataclass(frozen=True)
class Context:
    settings: Settings
    project: Project
    llm: StructuredLLM
    memory: MemoryStore
    images: ImageBackend
    video: VideoBackend
    speech: SpeechBackend | None = None
    """Speaks the dialogue into the cut; None leaves the film silent, with subtitles only."""
    unattended: bool = True
    """Pass the human gates without stopping: the CLI's way, and the studio's "unattended" switch."""
    render_slots: threading.Semaphore = field(default_factory=lambda: threading.BoundedSemaphore(2))
    """At most `render.max_parallel` shots render at once, whatever LangGraph's own pool size."""
    executor: ShotExecutor | None = None
    """Renders the shots elsewhere (a Ray cluster); None renders them in this process with the backends above."""
    faces: FaceModels | None = None
    """Finds and compares faces for the critic (dlib, offline); None leaves consistency unmeasured."""
    vision: VisionReviewer | None = None
    """A vision model that looks at each take, when the endpoint takes pictures (`critic.vision`)."""
    ambience_model: StableAudioBeds | None = None
    """Makes the ambience beds with Stable Audio 3 (`sound.ambience_backend`); None synthesises them."""
    work_ahead: WorkAhead = field(default_factory=lambda: WorkAhead(enabled=False))
    """Scenes planned, designed and rendered ahead of the graph (`render.stream_scenes`); closed with the run."""

    @property
    def prompt_tokens(self) -> int | None:
        """The most prompt tokens every backend that reads the prompt takes in; None: no limit a shot reaches."""
        budgets = [backend.max_prompt_tokens for backend in (self.images, self.video)]
        return min((budget for budget in budgets if budget is not None), default=None)

    @property
    def renderer(self) -> ShotExecutor:
        """Who renders this run's shots."""
        return self.executor or LocalExecutor(self.images, self.video, self.speech)
