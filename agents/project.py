"""A film's folder: where every file of a project lives, and atomic reads and writes of its state.

A surface saves its own files in a project (the studio's chat) with `write_atomic` and `write_model`, and
stores a reference picture with `store_reference`, both handed on from `tools` so the surfaces need no more.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, Field, TypeAdapter

from agents.ids import is_safe_id, slugify
from agents.state import Feedback, Film, RunInput
from tools.errors import DirectorError
from tools.files import write_atomic
from tools.llm.usage import LLMUsage
from tools.references import StoredReference, store_reference

__all__ = [
    "PendingNote",
    "Project",
    "ProjectError",
    "ProjectSummary",
    "RunRecord",
    "StoredReference",
    "list_projects",
    "new_film_id",
    "read_json",
    "store_reference",
    "write_atomic",
    "write_model",
]


class RunRecord(BaseModel):
    """One `run_film` call on a film: what kind, when, seconds per node, and the LLM use it added."""

    kind: str
    started_at: str
    timings: dict[str, float] = Field(default_factory=dict)
    llm_usage: LLMUsage = Field(default_factory=LLMUsage)
    error: str = Field(default="", description="Why the run stopped, when it failed; it resumes from there.")


class ProjectError(DirectorError, ValueError):
    """A project id or folder that cannot be used, with what to do instead."""


_RUN_RECORDS = TypeAdapter(list[RunRecord])


class PendingNote(BaseModel):
    """A note a run has accepted but may not have checkpointed yet, kept on disk so that a crash cannot lose it."""

    feedback: Feedback
    accepted_at: str = Field(description="UTC, to the second: a revision of the note is stamped at or after it.")


def write_model(path: Path, model: BaseModel) -> None:
    write_atomic(path, model.model_dump_json(indent=2))


def new_film_id(hint: str) -> str:
    """A readable, unique id: a slug of the premise or title plus a short random tail."""
    return f"{slugify(hint, fallback='film', max_length=32)}-{secrets.token_hex(3)}"


@dataclass(frozen=True)
class Project:
    """The folder `projects/<film-id>/` and the names of everything in it."""

    root: Path

    @classmethod
    def open(cls, projects_dir: Path, film_id: str) -> Project:
        if not is_safe_id(film_id):
            raise ProjectError(
                f"{film_id!r} is not a run id: ids are lowercase letters, digits and hyphens, "
                "as printed by `director make` and listed by `director list`."
            )
        return cls(projects_dir.resolve() / film_id)

    @property
    def film_id(self) -> str:
        return self.root.name

    @property
    def exists(self) -> bool:
        return self.run_input_file.is_file()

    @property
    def run_input_file(self) -> Path:
        return self.root / "run.json"

    @property
    def film_file(self) -> Path:
        return self.root / "film.json"

    @property
    def runs_file(self) -> Path:
        return self.root / "runs.json"

    def run_records(self) -> list[RunRecord]:
        """Every finished `run_film` call on this film, oldest first; none when the file is missing or unreadable."""
        try:
            return _RUN_RECORDS.validate_json(self.runs_file.read_bytes())
        except (OSError, ValueError):
            return []

    def record_run(self, record: RunRecord) -> None:
        write_atomic(self.runs_file, _RUN_RECORDS.dump_json([*self.run_records(), record], indent=2).decode())

    @property
    def pending_note_file(self) -> Path:
        return self.root / "note.json"

    def keep_pending_note(self, feedback: Feedback) -> PendingNote:
        note = PendingNote(feedback=feedback, accepted_at=datetime.now(UTC).isoformat(timespec="seconds"))
        write_model(self.pending_note_file, note)
        return note

    def pending_note(self) -> PendingNote | None:
        """The note of a run that ended without finishing its call (killed, crashed), if there is one."""
        try:
            return PendingNote.model_validate_json(self.pending_note_file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None

    def drop_pending_note(self) -> None:
        self.pending_note_file.unlink(missing_ok=True)

    @property
    def memory_dir(self) -> Path:
        return self.root / "memory"

    @property
    def checkpoints_file(self) -> Path:
        return self.root / "checkpoints.sqlite"

    @property
    def takes_dir(self) -> Path:
        return self.root / "takes"

    @property
    def cut_dir(self) -> Path:
        return self.root / "cut"

    @property
    def manifest_file(self) -> Path:
        return self.root / "manifest.json"

    @property
    def review_file(self) -> Path:
        return self.root / "review.json"

    @property
    def logs_dir(self) -> Path:
        return self.root / "logs"

    @property
    def lines_dir(self) -> Path:
        """Every distinct line, spoken once (`tools.render.line_store`)."""
        return self.root / "lines"

    def take_dir(self, content_hash: str) -> Path:
        return self.takes_dir / content_hash[:2] / content_hash

    def create(self, run_input: RunInput) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        write_model(self.run_input_file, run_input)

    def run_input(self) -> RunInput:
        try:
            return RunInput.model_validate_json(self.run_input_file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ProjectError(
                f"no run {self.film_id!r} in {self.root.parent}: see `director list` for the runs there."
            ) from None

    def save_film(self, film: Film) -> None:
        write_model(self.film_file, film)

    def load_film(self) -> Film | None:
        if not self.film_file.is_file():
            return None
        return Film.model_validate_json(self.film_file.read_text(encoding="utf-8"))


class ProjectSummary(BaseModel):
    film_id: str
    title: str
    shots: int
    finished: bool
    note_waiting: bool = False
    """A note was accepted but its run did not end (killed, crashed, or running now)."""
    modified: datetime


def list_projects(projects_dir: Path) -> list[ProjectSummary]:
    """Every run in `projects_dir`, newest first."""
    summaries = []
    if not projects_dir.is_dir():
        return summaries
    for folder in projects_dir.iterdir():
        project = Project(folder.resolve())
        if not project.exists:
            continue
        try:
            film = project.load_film()
        except ValueError:
            film = None
        modified = datetime.fromtimestamp(project.run_input_file.stat().st_mtime, tz=UTC)
        if project.film_file.is_file():
            modified = datetime.fromtimestamp(project.film_file.stat().st_mtime, tz=UTC)
        summaries.append(
            ProjectSummary(
                film_id=project.film_id,
                title=film.title if film else "(not written yet)",
                shots=len(film.shots()) if film else 0,
                finished=(project.cut_dir / "film.mp4").is_file() and project.review_file.is_file(),
                note_waiting=project.pending_note_file.is_file(),
                modified=modified,
            )
        )
    return sorted(summaries, key=lambda s: s.modified, reverse=True)


def read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))
