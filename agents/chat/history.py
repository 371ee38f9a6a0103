"""Undo: every note's before is kept, so the last note can be taken back, and a shot can have its earlier take.

When a run accepts a note, the checkpoint it is applied on top of is recorded in `history/notes.json`, and the
film's deliverables as they stood (film.json, the review, the manifest, the cut and its sidecars, the
storyboard) are copied to `history/<index>/before/`. Undoing the note forks the LangGraph thread back to that
checkpoint and puts those files back: the cut is the very file it was, and no take is rendered or deleted,
since takes are content-addressed and every shot keeps all of its own.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path

from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command, StateSnapshot
from pydantic import BaseModel, Field, TypeAdapter

from agents.gates import waiting_gate
from agents.graph import build_graph
from agents.memory_records import remember_looks, shot_record
from agents.project import Project, ProjectError
from agents.specs import scene_of
from agents.state import CHECKPOINTED_MODULES, Feedback, Film, GateName, RunState, Shot, Take
from memory.checkpoints import open_checkpointer
from memory.store import MemoryStore, MiniLMEmbedding
from tools.files import open_atomic, write_atomic
from tools.settings import MemorySettings

DELIVERABLE_FILES = (
    "film.json",
    "review.json",
    "review-takes.json",
    "manifest.json",
    "cut/film.mp4",
    "cut/film.srt",
    "cut/film.otio",
    "cut/film.xml",
    "cut/film.edl",
    "cut/timeline.json",
)
"""What a note can change besides the checkpoint, relative to the project; `cut/segments` is content-keyed."""
DELIVERABLE_FOLDERS = ("storyboard",)
SHOT_SPEC_FIELDS = (
    "framing",
    "camera_move",
    "seed",
    "direction",
    "reshoot_from",
    "reference_weight",
    "prompt",
    "negative_prompt",
)
"""The shot fields that made a take: brought back with the take by `use_earlier_take`."""


class HistoryError(ProjectError):
    """Nothing to undo, or the run is not where an undo can start; the message says what to do."""


class NoteHistoryEntry(BaseModel):
    """One accepted note, and where to go back to undo it."""

    index: int = Field(description="Its folder under history/: unique, never reused after an undo.")
    text: str
    scene: int | None = None
    shot: str | None = None
    accepted_at: str
    before_checkpoint: str = Field(description="The checkpoint the note was applied on top of.")
    after_checkpoint: str = Field(default="", description="The checkpoint its run ended on; empty until it ends.")
    gate: GateName | None = Field(default=None, description="The gate that was waiting when the note came.")
    undone_at: str = ""


class UndoResult(BaseModel):
    """What an undo changed back, and whether the run must resume to reach its gate or its cut."""

    note: str = Field(description="The undone note, or what was brought back.")
    shots: list[str] = Field(default_factory=list, description="Shots whose current take changed back.")
    needs_resume: bool = False
    message: str


_ENTRIES = TypeAdapter(list[NoteHistoryEntry])


def history_dir(project: Project) -> Path:
    return project.root / "history"


def notes_file(project: Project) -> Path:
    return history_dir(project) / "notes.json"


def undone_file(project: Project) -> Path:
    return history_dir(project) / "undone.json"


def before_dir(project: Project, entry: NoteHistoryEntry) -> Path:
    return history_dir(project) / str(entry.index) / "before"


def read_entries(path: Path) -> list[NoteHistoryEntry]:
    try:
        return _ENTRIES.validate_json(path.read_bytes())
    except FileNotFoundError:
        return []


def write_entries(path: Path, entries: list[NoteHistoryEntry]) -> None:
    write_atomic(path, _ENTRIES.dump_json(entries, indent=2).decode())


def note_history(project: Project) -> list[NoteHistoryEntry]:
    """The notes that can still be undone, oldest first."""
    return read_entries(notes_file(project))


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def checkpoint_id(snapshot: StateSnapshot) -> str:
    return str(snapshot.config["configurable"]["checkpoint_id"])


def keep_before_note(project: Project, snapshot: StateSnapshot, feedback: Feedback) -> NoteHistoryEntry:
    """Record the note and copy the film's deliverables as they stand before it is applied.

    A note given again on the same checkpoint (a run killed before its checkpoint took the note, then resumed)
    keeps the entry made the first time, whose files were copied before anything changed.
    """
    entries = note_history(project)
    before = checkpoint_id(snapshot)
    if entries and entries[-1].before_checkpoint == before:
        return entries[-1]
    gate = waiting_gate(snapshot)
    entry = NoteHistoryEntry(
        index=1 + max((e.index for e in [*entries, *read_entries(undone_file(project))]), default=0),
        text=feedback.text,
        scene=feedback.scene,
        shot=feedback.shot,
        accepted_at=now(),
        before_checkpoint=before,
        gate=gate.gate if gate is not None else None,
    )
    copy_deliverables(project.root, before_dir(project, entry))
    write_entries(notes_file(project), [*entries, entry])
    return entry


def keep_after_note(project: Project, snapshot: StateSnapshot) -> None:
    """Record the checkpoint the last note's run ended on (at its gate, or finished)."""
    entries = note_history(project)
    if entries and not entries[-1].after_checkpoint and (not snapshot.next or waiting_gate(snapshot)):
        entries[-1].after_checkpoint = checkpoint_id(snapshot)
        write_entries(notes_file(project), entries)


def copy_deliverables(root: Path, target: Path) -> None:
    """Copy the deliverables that exist under `root` to `target`, which appears whole or not at all."""
    staging = target.with_name(f".{target.name}.tmp")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for name in DELIVERABLE_FILES:
        if (root / name).is_file():
            (staging / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(root / name, staging / name)
    for name in DELIVERABLE_FOLDERS:
        if (root / name).is_dir():
            shutil.copytree(root / name, staging / name)
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)


def restore_deliverables(saved: Path, root: Path) -> None:
    """Put the saved deliverables back over the current ones; those that did not exist then are removed."""
    for name in DELIVERABLE_FILES:
        restore_file(saved / name, root / name)
    for name in DELIVERABLE_FOLDERS:
        kept = {path.relative_to(saved / name) for path in files_under(saved / name)}
        for path in files_under(root / name):
            if path.relative_to(root / name) not in kept:
                path.unlink()
        for relative in kept:
            restore_file(saved / name / relative, root / name / relative)


def files_under(folder: Path) -> list[Path]:
    return [path for path in folder.rglob("*") if path.is_file()] if folder.is_dir() else []


def restore_file(saved: Path, current: Path) -> None:
    if not saved.is_file():
        current.unlink(missing_ok=True)
        return
    with saved.open("rb") as source, open_atomic(current) as target:
        shutil.copyfileobj(source, target)
    shutil.copystat(saved, current)


@contextmanager
def open_graph(project: Project) -> Iterator[CompiledStateGraph]:
    with open_checkpointer(project.root, CHECKPOINTED_MODULES) as checkpointer:
        yield build_graph(checkpointer)


def thread(project: Project, checkpoint: str | None = None) -> dict:
    configurable = {"thread_id": project.film_id}
    if checkpoint is not None:
        configurable["checkpoint_id"] = checkpoint
    return {"configurable": configurable}


def check_settled(project: Project, snapshot: StateSnapshot) -> None:
    """Refuse to go back from a run that stands mid-way, or whose accepted note has not been applied yet."""
    resume = f"resume it first (`director resume {project.film_id}`), then undo."
    if project.pending_note() is not None:
        raise HistoryError(f"a note given to {project.film_id!r} has not been applied yet; {resume}")
    if snapshot.next and waiting_gate(snapshot) is None:
        raise HistoryError(f"run {project.film_id!r} stopped before it finished; {resume}")


def state_of(snapshot: StateSnapshot) -> RunState | None:
    return RunState.model_validate(snapshot.values) if snapshot.values else None


def changed_takes(restored: Film | None, current: Film | None) -> list[str]:
    """Shots of the `restored` film whose take differs in the `current` one, or which it no longer has."""
    if restored is None:
        return []
    takes = {shot.id: shot.take.content_hash if shot.take else "" for shot in current.shots()} if current else {}
    return [shot.id for shot in restored.shots() if takes.get(shot.id) != (shot.take.content_hash if shot.take else "")]


def undo_last_note(
    project: Project,
    embedding_function: MiniLMEmbedding | None = None,
    memory_settings: MemorySettings | None = None,
    *,
    memory: MemoryStore | None = None,
) -> UndoResult:
    """Take back the last note: the run, the film's files and memory return to where they stood before it.

    Nothing is rendered and no take is deleted. When the note came at a gate, the run stands before that gate
    again and `needs_resume` is set: resuming shows the gate again (or passes it, unattended) without rendering.
    An open `memory` is used as is; otherwise the project's memory is opened with `memory_settings`.
    """
    entries = note_history(project)
    if not entries:
        undone = len(read_entries(undone_file(project)))
        extra = f" ({undone} undone already)" if undone else ""
        raise HistoryError(f"there is no note to undo in {project.film_id!r}; notes so far: none{extra}.")
    entry = entries[-1]
    with open_graph(project) as graph:
        snapshot = graph.get_state(thread(project))
        check_settled(project, snapshot)
        before = graph.get_state(thread(project, entry.before_checkpoint))
        if not before.values:
            raise HistoryError(
                f"the checkpoint before the note {entry.text!r} is missing from {project.checkpoints_file}; "
                "it cannot be undone."
            )
        graph.update_state(thread(project, entry.before_checkpoint), None, as_node="__copy__")
        restored = graph.get_state(thread(project))
    old, film = state_of(snapshot), state_of(restored)
    restore_deliverables(before_dir(project, entry), project.root)
    if film is not None and film.film is not None:
        resync_memory(project, film.film, memory, embedding_function, memory_settings)
    undone = entry.model_copy(update={"undone_at": now()})
    write_entries(undone_file(project), [*read_entries(undone_file(project)), undone])
    write_entries(notes_file(project), entries[:-1])
    shots = changed_takes(film.film if film else None, old.film if old else None)
    needs_resume = bool(restored.next)
    return UndoResult(
        note=entry.text,
        shots=shots,
        needs_resume=needs_resume,
        message=undo_message(entry, shots, needs_resume),
    )


def undo_message(entry: NoteHistoryEntry, shots: list[str], needs_resume: bool) -> str:
    back = f"shots {', '.join(shots)} have their earlier takes again" if shots else "no take changed"
    where = f"; the run stands before the {entry.gate} gate again" if needs_resume and entry.gate else ""
    return f"Undid the note {entry.text!r}: {back}; the film and its cut are as they were before it{where}."


def resync_memory(
    project: Project,
    film: Film,
    memory: MemoryStore | None,
    embedding_function: MiniLMEmbedding | None,
    memory_settings: MemorySettings | None,
) -> None:
    """Memory holds the restored film's looks and designed shots again, and no shot the film no longer has."""
    with ExitStack() as stack:
        if memory is None:
            settings = memory_settings or MemorySettings()
            memory = MemoryStore.from_settings(settings, project.root, embedding_function=embedding_function)
            stack.callback(memory.close)
        remember_looks(film.model_copy(deep=True), memory)
        for shot in film.shots():
            if shot.prompt:
                memory.upsert_shot(shot_record(shot, scene_of(film, shot)))
        kept = {shot.id for shot in film.shots()}
        for record in memory.shots():
            if record.id not in kept:
                memory.delete_shot(record.id)


def find_shot(film: Film, reference: str) -> Shot:
    """A shot by id (`s02-01`) or by its number in film order (`3`)."""
    shots = film.shots()
    reference = reference.strip().lower()
    if reference.isdigit():
        number = int(reference)
        if not 1 <= number <= len(shots):
            raise HistoryError(f"there is no shot {number}: {film.title!r} has {len(shots)} shots.")
        return shots[number - 1]
    found = next((shot for shot in shots if shot.id == reference), None)
    if found is None:
        known = ", ".join(shot.id for shot in shots[:12]) or "none yet"
        raise HistoryError(f"there is no shot {reference!r} in {film.title!r}; its shots are {known}.")
    return found


def earlier_take(shot: Shot) -> Take | None:
    """The newest of the shot's takes that differs from its current one."""
    current = shot.take
    if current is None:
        return None
    return next((take for take in reversed(shot.takes) if take.content_hash != current.content_hash), None)


def spec_that_made(project: Project, shot_id: str, take: Take) -> Shot | None:
    """The shot as it stood when `take` was its current take, from the newest saved film that shows it."""
    saved = [*read_entries(undone_file(project)), *note_history(project)]
    for entry in sorted(saved, key=lambda e: e.index, reverse=True):
        path = before_dir(project, entry) / "film.json"
        if not path.is_file():
            continue
        try:
            shot = Film.model_validate_json(path.read_text(encoding="utf-8")).shot(shot_id)
        except (KeyError, ValueError):
            continue
        if shot.take is not None and shot.take.content_hash == take.content_hash:
            return shot
    return None


def use_earlier_take(project: Project, shot_id: str) -> UndoResult:
    """The shot's earlier take becomes its current take again, with the shot fields that made it; nothing renders.

    `shot_id` is an id or a number in film order. The run is sent to the cut (or back to the storyboard gate,
    if it was not yet approved): `needs_resume` is always set, and resuming cuts the film again from its takes,
    reviews it once without reshooting (the filmmaker chose this take), and reaches the cut gate.
    """

    def earlier(shot: Shot) -> tuple[Take, Shot | None, str]:
        take = earlier_take(shot)
        if take is None:
            count = len({t.content_hash for t in shot.takes})
            raise HistoryError(f"shot {shot.id} has no earlier take: it has {count} take(s), the current one only.")
        return take, spec_that_made(project, shot.id, take), f"has its earlier take ({take.content_hash[:12]}) again"

    return recut_with(project, shot_id, earlier, note="the earlier take of shot {shot}")


def use_take(project: Project, shot_id: str, number: int) -> UndoResult:
    """Cut take `number` of the shot's coverage (`render.takes`) in place of the one the critic picked.

    Nothing renders: every take of the coverage is kept. As with `use_earlier_take`, resuming cuts the film
    again (only that shot's segment is encoded), reviews it once without reshooting, and reaches the cut gate.
    """

    def numbered(shot: Shot) -> tuple[Take, Shot | None, str]:
        count = len(shot.candidates)
        if count < 2:
            raise HistoryError(
                f"shot {shot.id} was filmed in one take, so there is no take {number} to use; "
                "film with more takes per shot (`director make --takes 3`, or DIRECTOR_RENDER__TAKES=3)."
            )
        if not 1 <= number <= count:
            raise HistoryError(f"shot {shot.id} has takes 1 to {count}; there is no take {number}.")
        current = shot.take.content_hash if shot.take is not None else ""
        if shot.candidates[number - 1].content_hash == current:
            raise HistoryError(f"take {number} of shot {shot.id} is already the one in the cut; nothing to change.")
        shot.ranking = [
            rank.model_copy(update={"picked_by": "filmmaker" if rank.number == number else None})
            for rank in shot.ranking
        ]
        return shot.candidates[number - 1], None, f"cuts take {number} of {count}"

    return recut_with(project, shot_id, numbered, note=f"take {number} of shot {{shot}}")


def recut_with(
    project: Project,
    shot_id: str,
    choose: Callable[[Shot], tuple[Take, Shot | None, str]],
    *,
    note: str,
) -> UndoResult:
    """Make the take `choose` names the shot's current take, from kept files, and send the run to the cut.

    `choose` returns the take, the shot as it stood when that take was made (its spec fields come back with it;
    None keeps them), and words for it; it raises `HistoryError` when there is no such take.
    """
    with open_graph(project) as graph:
        snapshot = graph.get_state(thread(project))
        check_settled(project, snapshot)
        state = state_of(snapshot)
        if state is None or state.film is None:
            raise HistoryError(f"run {project.film_id!r} has no film yet: nothing to take back.")
        film = state.film.model_copy(deep=True)
        shot = find_shot(film, shot_id)
        take, made_by, words = choose(shot)
        bring_back(shot, take, made_by)
        onward = "assemble_cut" if "storyboard" in state.approved else "approve_storyboard"
        update = {
            "film": film,
            "rendered": {shot.id: take},
            "dirty": [],
            "cut": None,
            "review": None,
            "review_base": len(film.review_rounds) + 1 - state.max_review_rounds,
            "approved": [gate for gate in state.approved if gate != "cut"],
            "log": [f"history: {shot.id} {words}"],
        }
        graph.update_state(thread(project), Command(goto=onward, update=update), as_node="approve_storyboard")
    project.save_film(film)
    return UndoResult(
        note=note.format(shot=shot.id),
        shots=[shot.id],
        needs_resume=True,
        message=f"shot {shot.id} {words}; the film is cut again from its takes when the run resumes, "
        "with nothing rendered.",
    )


def bring_back(shot: Shot, take: Take, made_by: Shot | None) -> None:
    """Make `take` the shot's current take, once in its history, and restore the fields that made it."""
    shot.takes = [t for t in shot.takes if t.content_hash != take.content_hash] + [take]
    if made_by is not None:
        for name in SHOT_SPEC_FIELDS:
            setattr(shot, name, getattr(made_by, name))
