"""What a filmmaker's note is aimed at: the whole film, a scene, a shot, a character, a place, a cut, the sound.

What a note touches is read from the note itself where it says so (a selected scene or shot, "scene 2", "shot
4", "the last scene", a character's or a place's name, "cut ..."); only a note that names nothing goes to the
LLM, as a choice between the film and the people and places it already has.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pydantic import create_model

from agents.answers import Answer, choice_of
from agents.notes.sound_words import SoundAim, sound_aim
from agents.prompting import ask
from agents.state import Feedback, Film, Scene, Shot, TargetKind
from tools.errors import DirectorError
from tools.llm.asking import StructuredLLM

MAX_NOTE_CHARACTERS = 2000
_REMOVAL = re.compile(r"^\s*(?:please\s+)?(?:cut|remove|delete|drop|lose|get rid of)\b")
_SHOT_ID = re.compile(r"\b(s\d{2,3}-\d{2,3})\b", re.IGNORECASE)
_SHOT_NUMBER = re.compile(r"\bshot\s+(?:#|no\.?\s*|number\s+)?(\d{1,3})\b")
_SCENE_NUMBER = re.compile(r"\bscene\s+(?:#|no\.?\s*|number\s+)?(\d{1,3})\b")
_SCENE_ORDINAL = re.compile(r"\b(first|opening|last|final|closing)\s+scene\b")
_SHOT_ORDINAL = re.compile(r"\b(first|opening|last|final|closing)\s+shot\b")
_WHOLE_FILM = re.compile(
    r"\b(?:(?:the\s+)?whole\s+(?:film|movie|thing)|(?:the\s+)?entire\s+(?:film|movie)|every\s+(?:shot|scene)|"
    r"all\s+(?:the\s+)?(?:shots|scenes)|throughout|everywhere)\b"
)
FILLER_WORDS = {
    "a", "an", "the", "and", "to", "of", "in", "on", "with", "is", "be", "should", "must", "keeps", "keep",
    "wears", "wear", "wearing", "has", "have", "gets", "get", "make", "makes", "let", "please", "more", "it",
    "this", "that", "her", "his", "their", "she", "he", "they", "always", "now", "all", "every", "into",
}  # fmt: skip


class RevisionError(DirectorError, ValueError):
    """A note that cannot be applied to this film; the message says why and how to aim it."""


def target_answer_model(choices: list[str]) -> type[Answer]:
    """For notes that name nothing: the film as a whole, or one of the film's own people or places."""
    return create_model("TargetAnswer", __base__=Answer, target=(choice_of(choices), ...))


@dataclass(frozen=True)
class NoteTarget:
    kind: TargetKind
    id: str
    label: str


def clean_note(text: str) -> str:
    return " ".join(text.split())[:MAX_NOTE_CHARACTERS]


def check_feedback(film: Film | None, feedback: Feedback) -> None:
    """Refuse, before anything runs, a note that is empty, too long or aimed at something the film lacks."""
    note = " ".join(feedback.text.split())
    if not note and feedback.reference is None:
        raise RevisionError("the note is empty: say what to change, e.g. “make scene 2 a night scene”.")
    if len(feedback.text) > MAX_NOTE_CHARACTERS:
        raise RevisionError(
            f"the note is {len(feedback.text):,} characters; keep a note under {MAX_NOTE_CHARACTERS:,} characters "
            "and send one change at a time."
        )
    if film is None:
        raise RevisionError("there is no film to revise yet: give a premise first, then notes.")
    if feedback.shot is not None and feedback.shot not in {shot.id for shot in film.shots()}:
        known = ", ".join(shot.id for shot in film.shots()[:12]) or "none yet"
        raise RevisionError(f"there is no shot {feedback.shot!r} in {film.title!r}; its shots are {known}.")
    if feedback.scene is not None and feedback.scene not in {scene.number for scene in film.scenes}:
        raise RevisionError(
            f"there is no scene {feedback.scene} in {film.title!r}; it has scenes 1 to {len(film.scenes)}."
        )
    text = note.lower()
    mentioned_shot(film, text)
    if feedback.scene is None:
        mentioned_scene(film, text)
    if feedback.reference is not None:
        owners = film.characters if feedback.reference.kind == "character" else film.settings
        if feedback.reference.owner_id not in {owner.id for owner in owners}:
            raise RevisionError(f"there is no {feedback.reference.kind} {feedback.reference.owner_id!r} to attach to.")


def resolve_target(film: Film, feedback: Feedback, llm: StructuredLLM) -> NoteTarget:
    """What the note is about, from the selection or the note's words, else chosen by the LLM.

    Words that name the whole film win over a selected scene or shot (a selection stays set between notes);
    words that name a scene or a shot win over them.
    """
    check_feedback(film, feedback)
    if feedback.reference is not None:
        reference = feedback.reference
        return NoteTarget("reference", reference.owner_id, f"{reference.kind} {reference.owner_id}")
    text = feedback.text.lower()
    if aim := sound_aim(text):
        return sound_target(film, feedback, text, aim)
    removal = bool(_REMOVAL.search(text))
    named = mentioned_shot(film, text) is not None or mentioned_scene(film, text) is not None
    if _WHOLE_FILM.search(text) and not named and not removal:
        return NoteTarget("film", "film", "the whole film")
    shot = film.shot(feedback.shot) if feedback.shot is not None else mentioned_shot(film, text)
    scene = scene_by_number(film, feedback.scene) if feedback.scene is not None else mentioned_scene(film, text)
    if shot is not None and (feedback.shot is not None or scene is None or removal_aims_at(text) == "shot"):
        return NoteTarget("removal" if removal else "shot", shot.id, f"shot {shot.id}")
    if scene is not None:
        return NoteTarget("removal" if removal else "scene", scene.id, f"scene {scene.number}")
    if removal:
        raise RevisionError(
            "say what to cut: select a scene or a shot, or name it (“cut scene 3”, “remove shot s03-02”)."
        )
    for character in film.characters:
        if mentions(text, character.name):
            return NoteTarget("character", character.id, character.name)
    for setting in film.settings:
        if mentions(text, setting.name):
            return NoteTarget("setting", setting.id, setting.name)
    return ask_target(film, feedback.text, llm)


def sound_target(film: Film, feedback: Feedback, text: str, aim: SoundAim) -> NoteTarget:
    """Where a note about the music or ambience applies; a theme belongs to the whole film.

    The scene it names (or the scene of the shot it names), else the whole film if it says so, else the selected
    scene or the selected shot's scene, else the whole film.
    """
    scene = mentioned_scene(film, text)
    if scene is None and (shot := mentioned_shot(film, text)) is not None:
        scene = next(each for each in film.scenes if each.id == shot.scene_id)
    if scene is None and aim != "theme" and not _WHOLE_FILM.search(text):
        if feedback.scene is not None:
            scene = scene_by_number(film, feedback.scene)
        elif feedback.shot is not None:
            scene_id = film.shot(feedback.shot).scene_id
            scene = next(each for each in film.scenes if each.id == scene_id)
    if scene is None or aim == "theme":
        return NoteTarget("sound", "film", "the film's themes" if aim == "theme" else "the film's sound")
    return NoteTarget("sound", scene.id, f"the sound of scene {scene.number}")


def removal_aims_at(text: str) -> str | None:
    match = re.search(r"\b(scene|shot)\b", text)
    return match.group(1) if match else None


def mentions(text: str, name: str) -> bool:
    """The full name, or its first word when that is a real name rather than "the" or "old"."""
    name = name.lower().strip()
    if re.search(rf"\b{re.escape(name)}\b", text):
        return True
    first = name.split()[0] if name.split() else ""
    return len(first) >= 3 and first not in FILLER_WORDS and bool(re.search(rf"\b{re.escape(first)}\b", text))


def mentioned_shot(film: Film, text: str) -> Shot | None:
    shots = film.shots()
    if match := _SHOT_ID.search(text):
        wanted = match.group(1).lower()
        found = next((shot for shot in shots if shot.id == wanted), None)
        if found is None:
            raise RevisionError(f"there is no shot {wanted!r} in {film.title!r}; pick one from the shot list.")
        return found
    if match := _SHOT_NUMBER.search(text):
        number = int(match.group(1))
        if not 1 <= number <= len(shots):
            raise RevisionError(f"there is no shot {number}: {film.title!r} has {len(shots)} shots.")
        return shots[number - 1]
    if (match := _SHOT_ORDINAL.search(text)) and shots:
        return shots[0] if match.group(1) in ("first", "opening") else shots[-1]
    return None


def mentioned_scene(film: Film, text: str) -> Scene | None:
    if match := _SCENE_NUMBER.search(text):
        return scene_by_number(film, int(match.group(1)))
    if (match := _SCENE_ORDINAL.search(text)) and film.scenes:
        return film.scenes[0] if match.group(1) in ("first", "opening") else film.scenes[-1]
    return None


def scene_by_number(film: Film, number: int) -> Scene:
    found = next((scene for scene in film.scenes if scene.number == number), None)
    if found is None:
        raise RevisionError(f"there is no scene {number} in {film.title!r}; it has scenes 1 to {len(film.scenes)}.")
    return found


def ask_target(film: Film, note: str, llm: StructuredLLM) -> NoteTarget:
    """A note that names nothing: the LLM picks the film as a whole, or one of its people or places."""
    labels = {"the whole film": NoteTarget("film", "film", "the whole film")}
    for character in film.characters:
        labels.setdefault(character.name, NoteTarget("character", character.id, character.name))
    for setting in film.settings:
        labels.setdefault(setting.name, NoteTarget("setting", setting.id, setting.name))
    schema = target_answer_model(list(labels))
    answer, _ = ask(
        llm,
        "revise_target",
        schema,
        lambda: schema(target="the whole film"),
        title=film.title,
        note=note[:500],
        choices="; ".join(labels),
    )
    return labels[answer.target]


def without_targeting(text: str) -> str:
    """The note's words with those that aim it (shot ids and numbers, scene numbers, first or last) blanked out."""
    text = _SCENE_NUMBER.sub(" ", _SHOT_NUMBER.sub(" ", _SHOT_ID.sub(" ", text)))
    return _SCENE_ORDINAL.sub(" ", _SHOT_ORDINAL.sub(" ", text))
