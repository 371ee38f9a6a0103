"""One chat message to the crew: read what it is first, then answer, propose, undo, approve or revise.

A question, small talk or noise never changes the film. A note that would remake more than a few shots, or
cost money, comes back as a proposal and runs on "go"; so does a message only the model took for a note.
Unattended sessions skip proposals, as every CLI run does. Nothing here renders: it returns the job that
does, or None when the answer is the whole reply.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from agents.errors import ProjectError, ReferenceUploadError, RevisionError
from agents.events import Stage
from agents.run import (
    MAX_NOTE_CHARACTERS,
    MessageIntent,
    MessageKind,
    answer_question,
    check_feedback,
    classify_message,
    needs_confirmation,
    propose_note,
)
from agents.state import Feedback, GateDecision
from ui.crew_chat import ChatLine
from ui.session import Job, StudioSession, aimed

CHAT_REPLY = (
    "Nothing in the film changed ({why}). Ask me anything about it (“why is scene 2 at night?”, “what did "
    "the critic think of shot 3?”), or give a note such as “make scene 2 a night scene”."
)
PICK_WHICH_SHOT = "Which shot should use take {take}? Say “use take {take} of shot 3”, or aim the message at a shot."
UNSURE_UNDO = "Did you mean to take the last note back? Say “undo” (or press Undo) and I will."


def check_message(text: str) -> str:
    """The message as sent, or a refusal that says how to fix it (the page keeps the text in the box)."""
    if not text.strip():
        raise RevisionError("the message is empty: type a premise, or a note such as “make scene 2 a night scene”.")
    if len(text) > MAX_NOTE_CHARACTERS:
        raise RevisionError(
            f"the message is {len(text):,} characters; keep it under {MAX_NOTE_CHARACTERS:,} — one premise or "
            "one note at a time. Your text is still in the box."
        )
    return text


def handle_message(
    session: StudioSession, text: str, scene: str, shot: str, unattended: bool, seconds: float
) -> Job | None:
    """A premise when the filmmaker asked for a new film; otherwise a message to the open film.

    Raises:
        RevisionError, ProjectError, StudioBusyError: refused before anything changed; the page says why.
    """
    text = check_message(text or "")
    session.refuse_if_busy()
    if session.project is None:
        if session.projects() and not session.wants_premise:
            raise ProjectError(
                "no film is open, so I did not start one from your message: open a film under Projects to "
                "talk about it, or press New film to start a new one. Your text is still in the box."
            )
        return session.start_film(text, float(seconds), unattended)
    film = session.film()
    intent = classify_message(text, film, session.studio.llm)
    feedback = Feedback(text=text, scene=int(scene) if scene else None, shot=shot or None)
    if intent.kind is MessageKind.NOTE:
        return note(session, feedback, intent, unattended)
    session.chat.append(ChatLine(role="user", content=aimed(feedback)))
    if intent.kind is MessageKind.QUESTION:
        answer = answer_question(session.project, text, session.studio.llm)
        session.say(Stage.ASK, answer.text)
        session.save()
        return None
    if intent.kind is MessageKind.APPROVAL:
        return approve(session, unattended)
    if intent.kind is MessageKind.UNDO and intent.certain and intent.take is not None:
        target = intent.shot or shot or None
        if target is not None:
            return session.start_undo(target, unattended, take=intent.take)
        session.say(Stage.ASK, PICK_WHICH_SHOT.format(take=intent.take))
        session.save()
        return None
    if intent.kind is MessageKind.UNDO and intent.certain:
        return session.start_undo(intent.shot, unattended)
    session.say(Stage.ASK, UNSURE_UNDO if intent.kind is MessageKind.UNDO else CHAT_REPLY.format(why=intent.reason))
    session.save()
    return None


def note(session: StudioSession, feedback: Feedback, intent: MessageIntent, unattended: bool) -> Job | None:
    """Run a cheap, clear note at once; propose a costly or uncertain one and wait for "go"."""
    check_feedback(session.film(), feedback)
    if unattended and intent.certain:
        return session.start_note(feedback, unattended)
    film = session.film()
    assert film is not None
    studio = session.studio
    proposal = propose_note(film, feedback, studio.llm, session.settings, studio.backends)
    if intent.certain and not needs_confirmation(proposal, session.settings):
        return session.start_note(feedback, unattended)
    session.chat.append(ChatLine(role="user", content=aimed(feedback)))
    session.proposal = proposal
    numbers = {shot.id: number for number, shot in enumerate(film.shots(), start=1)}
    doubt = "" if intent.certain else "I read this as a note to the film. "
    session.say(Stage.REVISE, doubt + proposal.summary(numbers))
    session.save()
    return None


def approve(session: StudioSession, unattended: bool) -> Job | None:
    """A “go” runs the proposed note; otherwise it approves the gate the film waits at."""
    if session.proposal is not None:
        feedback = session.proposal.feedback
        session.proposal = None
        return session.start_note(feedback, unattended, say=False)
    if session.gate is not None:
        return session.start_decision(GateDecision(), unattended)
    session.say(Stage.ASK, "Nothing is waiting for a yes: the film has no open gate and no proposed note.")
    session.save()
    return None


def already_referenced(session: StudioSession, upload: Path, kind: str, owner_id: str) -> str | None:
    """The name of the character or place that already has this exact picture, else None."""
    film = session.film()
    if film is None:
        return None
    try:
        digest = hashlib.sha256(upload.read_bytes()).hexdigest()[:16]
    except OSError as error:
        raise ReferenceUploadError(f"the upload could not be read ({error}); drop the picture again.") from None
    owners = film.characters if kind == "character" else film.settings
    owner = next((owner for owner in owners if owner.id == owner_id), None)
    if owner is not None and any(Path(path).stem == digest for path in owner.reference_images):
        return owner.name
    return None
