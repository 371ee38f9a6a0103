"""The errors a surface shows to a person, under their one base `DirectorError`.

Every one of them says what went wrong and what to do, so the CLI and the studio catch `DirectorError` and show
its message. The few they must tell apart are named here: a refused request (`RevisionError`, `RunBusyError`)
ends differently from a run that failed on its way (`BackendError`, `LLMError`, `DiskFullError`, ...), and a
memory that cannot be opened is the machine's problem, not the request's.
"""

from __future__ import annotations

from agents.chat.history import HistoryError
from agents.notes.targets import RevisionError
from agents.project import ProjectError
from agents.resuming import RunBusyError
from agents.writing.script_models import ScreenplayError
from memory.store import MemoryStoreError
from tools.errors import DirectorError
from tools.files import DiskFullError
from tools.llm.errors import LLMAnswerError, LLMError, LLMUnavailableError
from tools.references import ReferenceUploadError
from tools.render.base import BackendError, ContentRefusedError

__all__ = [
    "BackendError",
    "ContentRefusedError",
    "DirectorError",
    "DiskFullError",
    "HistoryError",
    "LLMAnswerError",
    "LLMError",
    "LLMUnavailableError",
    "MemoryStoreError",
    "ProjectError",
    "ReferenceUploadError",
    "RevisionError",
    "RunBusyError",
    "ScreenplayError",
]
