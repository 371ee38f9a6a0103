"""The studio's state, kept apart from Gradio: what the server shares, and what each browser session owns.

A `Studio` holds what every session shares (settings, the LLM endpoint, the embedding model, one lock per
film). A `StudioSession` belongs to one browser: it sees only its owner's folder of projects, runs one job at
a time in a worker thread, and keeps its chat in the project so a reopened film shows its conversation.
"""

from __future__ import annotations

import hashlib
import hmac
import queue
import re
import secrets
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from agents.errors import DirectorError
from agents.events import ProgressEvent, RenderEvent, Stage, read_event
from agents.project import (
    Project,
    ProjectError,
    ProjectSummary,
    list_projects,
    store_reference,
    write_atomic,
    write_model,
)
from agents.run import (
    MiniLMEmbedding,
    NoteProposal,
    RenderBackends,
    RunOutcome,
    RunStatus,
    StructuredLLM,
    check_feedback,
    llm_for_run,
    new_run,
    open_context,
    open_llm,
    run_film,
    run_status,
    undo_last_note,
    use_earlier_take,
    use_take,
)
from agents.state import Feedback, Film, GateDecision, GatePrompt, ReferenceImage
from tools.settings import Settings
from ui.crew_chat import ChatLine, CrewChat, crew_line

_TOKEN = re.compile(r"[0-9a-f]{32}")
_CHAT = TypeAdapter(list[ChatLine])


class StudioBusyError(DirectorError, RuntimeError):
    """A request that must wait: the session or the film is already being worked on."""


class Studio:
    """What all sessions of one studio server share. Built once per server by `Studio.open`."""

    def __init__(
        self,
        settings: Settings,
        llm: StructuredLLM,
        embedding: MiniLMEmbedding,
        secret: bytes,
        backends: RenderBackends | None = None,
    ) -> None:
        self.settings = settings
        self.llm = llm
        self.embedding = embedding
        self.backends = backends or RenderBackends.from_settings(settings)
        self._secret = secret
        self._locks: dict[Path, threading.Lock] = {}
        self._guard = threading.Lock()

    @classmethod
    @contextmanager
    def open(cls, settings: Settings, llm: StructuredLLM | None = None) -> Iterator[Studio]:
        """Start the shared LLM (the bundled server when no endpoint is set), the embedding model and backends.

        The bundled server's log stays in the studio's `logs/`; each run's LLM calls are logged in its own
        project (`StudioSession._start`), so no file mixes owners.

        Raises:
            BackendError: a render backend's model or key is missing; nothing is started.
        """
        backends = RenderBackends.from_settings(settings)
        root = studio_root(settings)
        root.mkdir(parents=True, exist_ok=True)
        with ExitStack() as stack:
            stack.callback(backends.close)
            if llm is None:
                llm = stack.enter_context(open_llm(settings, log_dir=root / "logs", call_log=False))
            yield cls(settings, llm, MiniLMEmbedding(), studio_secret(root), backends)

    def owner_key(self, username: str | None, token: str | None) -> str:
        """A folder name for a login or a browser, keyed with the server's secret so it cannot be guessed."""
        if username:
            subject = f"user:{username}"
        elif token and _TOKEN.fullmatch(token):
            subject = f"browser:{token}"
        else:
            raise ValueError("this browser session has no studio token; reload the page.")
        return hmac.new(self._secret, subject.encode(), hashlib.sha256).hexdigest()[:24]

    def lock_for(self, project: Project) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(project.root, threading.Lock())


def studio_root(settings: Settings) -> Path:
    return settings.projects_dir.resolve() / "studio"


def studio_secret(root: Path) -> bytes:
    """The server's key for owner folders, made once and kept beside them (readable by the owner only)."""
    path = root / ".secret"
    if not path.is_file():
        write_atomic(path, secrets.token_hex(32))
        path.chmod(0o600)
    return bytes.fromhex(path.read_text().strip())


def new_browser_token() -> str:
    return secrets.token_hex(16)


@dataclass
class Job:
    """One run of the graph in a worker thread, streaming its events through a queue."""

    thread: threading.Thread
    events: queue.Queue = field(default_factory=queue.Queue)
    stop: threading.Event = field(default_factory=threading.Event)
    outcome: RunOutcome | None = None
    error: BaseException | None = None

    @property
    def running(self) -> bool:
        return self.thread.is_alive()


class StudioSession:
    """One browser's studio: its own projects folder, the open film, the chat and at most one running job."""

    def __init__(self, studio: Studio, owner: str) -> None:
        self.studio = studio
        self.owner = owner
        self.root = studio_root(studio.settings) / owner
        self.project: Project | None = None
        self.chat: list[ChatLine] = []
        self.crew = CrewChat()
        self.gate: GatePrompt | None = None
        self.frames: dict[str, str] = {}
        self.job: Job | None = None
        self.finished = False
        self.proposal: NoteProposal | None = None
        self.wants_premise = False
        """Set by "New film": the next message is a premise. Otherwise a message never starts a film."""

    @property
    def settings(self) -> Settings:
        return self.studio.settings.model_copy(update={"projects_dir": self.root})

    @property
    def busy(self) -> bool:
        return self.job is not None and self.job.running

    def projects(self) -> list[ProjectSummary]:
        return list_projects(self.root)

    def film(self) -> Film | None:
        return self.project.load_film() if self.project is not None else None

    def say(self, stage: Stage, text: str) -> None:
        self.chat.append(crew_line(stage, text))

    def open(self, film_id: str) -> None:
        """Open one of this owner's films; ids outside the owner's folder do not exist for this session."""
        self.refuse_if_busy()
        project = Project.open(self.root, film_id)
        if not project.exists:
            raise ProjectError(f"there is no film {film_id!r} in your studio; pick one from your projects.")
        self.project = project
        self.chat = load_chat(project)
        self.proposal = load_proposal(project)
        self.wants_premise = False
        started = self.refresh().started
        self.remember_open_film()
        if self.job is None and not self.finished and self.gate is None and started:
            self.say(Stage.RUN, "This film stopped before it finished. Press Resume to go on from where it stopped.")

    def reopen_last(self) -> None:
        """After a reload or a server restart: the film this owner had open, with its chat."""
        try:
            film_id = last_film_file(self.root).read_text(encoding="utf-8").strip()
            self.open(film_id)
        except (OSError, ProjectError):
            return

    def refresh(self) -> RunStatus:
        """Where the open film's run stands, read again from its checkpoint."""
        assert self.project is not None
        status = run_status(self.project)
        self.gate, self.finished, self.frames = status.gate, status.finished, status.frames
        return status

    def remember_open_film(self) -> None:
        if self.project is not None and self.root.is_dir():
            write_atomic(last_film_file(self.root), self.project.film_id)

    def new_film(self) -> None:
        self.refuse_if_busy()
        self.project, self.chat, self.gate, self.frames, self.finished = None, [], None, {}, False
        self.proposal, self.wants_premise = None, True

    def start_film(self, premise: str, target_seconds: float, unattended: bool) -> Job:
        self.refuse_if_busy()
        settings = self.settings.model_copy(update={"target_seconds": target_seconds})
        project = new_run(settings, premise=premise)
        self.project, self.chat, self.gate, self.frames, self.finished = project, [], None, {}, False
        self.proposal, self.wants_premise = None, False
        self.remember_open_film()
        self.chat.append(ChatLine(role="user", content=premise))
        return self._start(unattended)

    def start_note(self, feedback: Feedback, unattended: bool, say: bool = True) -> Job:
        """A note to the open film: checked first, so a bad note changes nothing and says why."""
        self.refuse_if_busy()
        if self.project is None:
            raise ProjectError("open a film or start one with a premise before giving notes.")
        check_feedback(self.film(), feedback)
        if say:
            self.chat.append(ChatLine(role="user", content=aimed(feedback)))
        self.proposal = None
        return self._start(unattended, feedback=feedback)

    def start_undo(self, shot: str | None, unattended: bool, take: int | None = None) -> Job | None:
        """Back to the film before the last note (or a shot's earlier take, or take `take` of its coverage).

        Everything comes from kept files: nothing renders.

        When the film waited at a gate before the note, the run resumes to that gate (or past it, unattended).
        """
        self.refuse_if_busy()
        if self.project is None:
            raise ProjectError("open a film first; there is nothing to undo.")
        lock = self.studio.lock_for(self.project)
        if not lock.acquire(blocking=False):
            raise StudioBusyError("this film is being worked on in another tab; wait for it to finish there.")
        try:
            if shot and take is not None:
                result = use_take(self.project, shot, take)
            elif shot:
                result = use_earlier_take(self.project, shot)
            else:
                result = undo_last_note(
                    self.project, embedding_function=self.studio.embedding, memory_settings=self.settings.memory
                )
        finally:
            lock.release()
        self.proposal = None
        self.say(Stage.REVISE, result.message)
        if result.needs_resume:
            return self._start(unattended)
        self.refresh()
        self.save()
        return None

    def save(self) -> None:
        """The chat and any proposed note, kept in the project so a reload shows them."""
        if self.project is not None:
            save_chat(self.project, self.chat)
            save_proposal(self.project, self.proposal)

    def start_reference(
        self, upload: Path, original_name: str, kind: str, owner_id: str, source: str, unattended: bool
    ) -> Job:
        """Store an uploaded picture in the project, then revise the film with it as a note."""
        self.refuse_if_busy()
        if self.project is None:
            raise ProjectError("open a film before adding reference pictures to its characters and places.")
        film = self.film()
        check_feedback(film, Feedback(reference=ReferenceImage(kind=kind, owner_id=owner_id, path="-")))
        stored = store_reference(self.project.root, kind, owner_id, upload, original_name)
        reference = ReferenceImage(
            kind=kind, owner_id=owner_id, path=stored.path, palette=stored.palette, source=source[:200]
        )
        self.chat.append(ChatLine(role="user", content=f"Reference picture for {owner_id}: {stored.original_name}"))
        return self._start(unattended, feedback=Feedback(reference=reference))

    def start_decision(self, decision: GateDecision, unattended: bool) -> Job:
        self.refuse_if_busy()
        if self.project is None or self.gate is None:
            raise ProjectError("nothing is waiting for approval.")
        self.chat.append(ChatLine(role="user", content=f"Approved the {self.gate.gate}."))
        return self._start(unattended, decision=decision)

    def start_resume(self, unattended: bool) -> Job:
        self.refuse_if_busy()
        if self.project is None:
            raise ProjectError("open a film first.")
        return self._start(unattended)

    def cancel(self) -> bool:
        if self.busy and self.job is not None:
            self.job.stop.set()
            return True
        return False

    def absorb(self, data: ProgressEvent | dict[str, Any]) -> None:
        """One progress event (as it comes off the run's queue) into the chat and the live storyboard."""
        event = read_event(data)
        if event is None:
            return
        if isinstance(event, RenderEvent) and event.keyframe:
            self.frames[event.shot] = event.keyframe
        for line in self.crew.lines_for(event):
            if line.key and self.chat and self.chat[-1].key == line.key:
                self.chat[-1] = line
            else:
                self.chat.append(line)

    def finish(self, job: Job) -> None:
        """Fold a finished job into the session: its outcome, or its error as a chat message."""
        if job.error is not None:
            hint = " Everything finished is kept; press Resume to go on." if self.project else ""
            self.say(Stage.RUN, f"The run stopped: {job.error}.{hint}")
        elif job.outcome is not None:
            self.gate = job.outcome.gate
            self.finished = job.outcome.finished
        self.save()

    def _start(self, unattended: bool, **request: Any) -> Job:
        assert self.project is not None
        project, settings, studio = self.project, self.settings, self.studio
        lock = studio.lock_for(project)
        if not lock.acquire(blocking=False):
            raise StudioBusyError("this film is being worked on in another tab; wait for it to finish there.")
        self.gate = None
        save_chat(project, self.chat)
        llm = llm_for_run(studio.llm, project)

        def work() -> None:
            try:
                with open_context(
                    settings,
                    project,
                    llm=llm,
                    embedding_function=studio.embedding,
                    unattended=unattended,
                    backends=studio.backends,
                ) as context:
                    job.outcome = run_film(
                        settings, project, job.events.put, context, should_stop=job.stop.is_set, **request
                    )
            except Exception as error:  # noqa: BLE001 - reported in the chat; the run stays resumable
                job.error = error
            finally:
                lock.release()

        job = Job(thread=threading.Thread(target=work, name=f"film-{project.film_id}", daemon=True))
        self.job = job
        job.thread.start()
        return job

    def refuse_if_busy(self) -> None:
        if self.busy:
            raise StudioBusyError("the crew is still working; wait for it, or press Cancel.")


def aimed(feedback: Feedback) -> str:
    """A note as the chat shows it, with the scene or shot it was aimed at."""
    aim = f" (scene {feedback.scene})" if feedback.scene else f" (shot {feedback.shot})" if feedback.shot else ""
    return f"{feedback.text}{aim}"


def last_film_file(owner_root: Path) -> Path:
    return owner_root / "last-film.txt"


def proposal_file(project: Project) -> Path:
    return project.root / "proposal.json"


def load_proposal(project: Project) -> NoteProposal | None:
    try:
        return NoteProposal.model_validate_json(proposal_file(project).read_bytes())
    except (OSError, ValueError):
        return None


def save_proposal(project: Project, proposal: NoteProposal | None) -> None:
    if proposal is None:
        proposal_file(project).unlink(missing_ok=True)
    elif project.root.is_dir():
        write_model(proposal_file(project), proposal)


def chat_file(project: Project) -> Path:
    return project.root / "chat.json"


def load_chat(project: Project) -> list[ChatLine]:
    try:
        return _CHAT.validate_json(chat_file(project).read_bytes())
    except (OSError, ValueError):
        return []


def save_chat(project: Project, chat: list[ChatLine]) -> None:
    if project.root.is_dir():
        write_atomic(chat_file(project), _CHAT.dump_json(chat[-500:], indent=1).decode())
