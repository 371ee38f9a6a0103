"""What the filmmaker does with a film between runs, gathered for `agents.run` to hand to the surfaces.

Asking about the film, reading what a message is, proposing a costly note before it runs, undoing a note or
bringing back an earlier take, and the files a surface shows (the manifest, the printable storyboard). Each
lives in its own module; this one only names them together, and reads the two files.
"""

from __future__ import annotations

from agents.chat.answer_drafts import FilmAnswer
from agents.chat.answering import answer_question, topic_by_rules
from agents.chat.converse import MessageIntent, MessageKind, classify_by_rules, classify_message
from agents.chat.history import UndoResult, undo_last_note, use_earlier_take, use_take
from agents.chat.proposal import NoteProposal, needs_confirmation, propose_note
from agents.delivery import write_film_storyboard
from agents.manifest import Manifest
from agents.notes.targets import MAX_NOTE_CHARACTERS, check_feedback
from agents.project import Project
from tools.deliver.storyboard import StoryboardFiles
from tools.deliver.storyboard_model import Paper

__all__ = [
    "MAX_NOTE_CHARACTERS",
    "FilmAnswer",
    "MessageIntent",
    "MessageKind",
    "NoteProposal",
    "StoryboardFiles",
    "UndoResult",
    "answer_question",
    "check_feedback",
    "classify_by_rules",
    "classify_message",
    "film_storyboard",
    "needs_confirmation",
    "propose_note",
    "read_manifest",
    "topic_by_rules",
    "undo_last_note",
    "use_earlier_take",
    "use_take",
]


def read_manifest(project: Project) -> Manifest | None:
    """The film's manifest (what it took, what it cost); None before the first cut or when it is unreadable."""
    try:
        return Manifest.model_validate_json(project.manifest_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def film_storyboard(project: Project, paper: Paper = "A4") -> StoryboardFiles | None:
    """Write the printable storyboard (HTML and PDF) of the film's shots; None while it has no shots yet."""
    film = project.load_film()
    if film is None:
        return None
    return write_film_storyboard(film, project.root, paper=paper)
