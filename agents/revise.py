"""The revise node: a filmmaker's note becomes a change to the film, and exactly the shots it touches are redone.

What a note touches is read from the note itself where it says so (a selected scene or shot, "scene 2", "shot
4", "the last scene", a character's or a place's name, "cut ..."); only a note that names nothing goes to the
LLM, as a choice between the film and the people and places it already has. Looks are rewritten by the LLM
under a check that the note's own words survive, else merged from the note, so a weak answer never loses it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from langgraph.runtime import Runtime
from langgraph.types import Command
from pydantic import create_model

from agents import defaults
from agents.answers import COLOURS, Answer, LookAnswer, SettingLookAnswer, choice_of, words
from agents.context import Context
from agents.designer import remember_looks
from agents.director import stable_seed
from agents.prompting import ask
from agents.state import Character, Feedback, Film, ReferenceImage, Revision, RunState, Scene, Shot, TargetKind
from agents.writer import COLOUR_WORDS, signature_colour
from tools.llm.client import StructuredLLM
from tools.references import signature_colour as reference_colour
from tools.render.espeak import adjust_voice, cast_voice
from tools.render.spec import CameraMove, Framing, TimeOfDay

MAX_NOTE_CHARACTERS = 2000
_TIGHTER = [Framing.WIDE, Framing.MEDIUM, Framing.CLOSE_UP, Framing.INSERT]
_TIME_WORDS = {
    "night": TimeOfDay.NIGHT, "nighttime": TimeOfDay.NIGHT, "midnight": TimeOfDay.NIGHT,
    "dawn": TimeOfDay.DAWN, "sunrise": TimeOfDay.DAWN, "daybreak": TimeOfDay.DAWN, "morning": TimeOfDay.DAWN,
    "dusk": TimeOfDay.DUSK, "sunset": TimeOfDay.DUSK, "evening": TimeOfDay.DUSK, "twilight": TimeOfDay.DUSK,
    "day": TimeOfDay.DAY, "daytime": TimeOfDay.DAY, "daylight": TimeOfDay.DAY, "noon": TimeOfDay.DAY,
    "midday": TimeOfDay.DAY, "afternoon": TimeOfDay.DAY,
}  # fmt: skip
_FRAMING_WORDS = {
    "close-up": Framing.CLOSE_UP, "closeup": Framing.CLOSE_UP, "close up": Framing.CLOSE_UP,
    "insert": Framing.INSERT, "detail": Framing.INSERT, "extreme close": Framing.INSERT,
    "wide shot": Framing.WIDE, "wide angle": Framing.WIDE, "establishing": Framing.WIDE,
    "medium shot": Framing.MEDIUM, "waist up": Framing.MEDIUM,
}  # fmt: skip
_CAMERA_WORDS = {
    "push in": CameraMove.PUSH_IN, "push-in": CameraMove.PUSH_IN, "dolly in": CameraMove.PUSH_IN,
    "pull out": CameraMove.PULL_OUT, "pull-out": CameraMove.PULL_OUT, "pull back": CameraMove.PULL_OUT,
    "dolly out": CameraMove.PULL_OUT, "pan": CameraMove.PAN, "tilt": CameraMove.TILT,
    "static": CameraMove.STATIC, "locked off": CameraMove.STATIC, "still camera": CameraMove.STATIC,
}  # fmt: skip
_VOICE = re.compile(r"\b(voice|voices|sounds?|speaks?|speaking|says|accent|whispers?)\b")
_RETAKE = re.compile(r"\b(another take|new take|try again|retake|reshoot|different take)\b")
_CLOSER = re.compile(r"\b(closer|tighter|push closer|move in)\b")
_WIDER = re.compile(r"\b(wider|further back|looser|show more)\b")
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
_ERA = re.compile(r"\b(1[89]\d0s|20[0-9]0s|\d{1,2}(?:st|nd|rd|th) century)\b")
_FILLER = {
    "a", "an", "the", "and", "to", "of", "in", "on", "with", "is", "be", "should", "must", "keeps", "keep",
    "wears", "wear", "wearing", "has", "have", "gets", "get", "make", "makes", "let", "please", "more", "it",
    "this", "that", "her", "his", "their", "she", "he", "they", "always", "now", "all", "every", "into",
}  # fmt: skip


class RevisionError(ValueError):
    """A note that cannot be applied to this film; the message says why and how to aim it."""


def target_answer_model(choices: list[str]) -> type[Answer]:
    """For notes that name nothing: the film as a whole, or one of the film's own people or places."""
    return create_model("TargetAnswer", __base__=Answer, target=(choice_of(choices), ...))


class StyleAnswer(Answer):
    direction: words(3, 16)


@dataclass(frozen=True)
class NoteTarget:
    kind: TargetKind
    id: str
    label: str


def revise_film(state: RunState, runtime: Runtime[Context]) -> Command[Literal["approve_script", "design_shots"]]:
    """Apply the pending note: change the film and memory, and mark dirty exactly the shots it touches."""
    assert state.film is not None, "a note needs a film to revise"
    feedback = state.feedback or Feedback()
    emit = runtime.stream_writer
    emit({"stage": "revise", "status": "start", "note": feedback.text[:200]})
    context = runtime.context
    planned = bool(state.film.shots())
    onward = "design_shots" if planned else "approve_script"
    try:
        film, revision = revise(state.film, feedback, context.llm)
    except RevisionError as error:
        emit({"stage": "revise", "status": "rejected", "error": str(error)})
        return Command(
            goto=onward,
            update={"feedback": None, "dirty": [], "log": [f"revise: note not applied: {error}"]},
        )
    remember_looks(film, context.memory)
    for shot_id in revision.removed:
        context.memory.delete_shot(shot_id)
    emit(
        {
            "stage": "revise",
            "status": "done",
            "kind": revision.kind,
            "target": revision.target,
            "changes": revision.changes,
            "dirty": revision.remade,
            "removed": revision.removed,
        }
    )
    return Command(
        goto="design_shots" if film.shots() else "approve_script",
        update={
            "film": film,
            "feedback": None,
            "dirty": revision.remade,
            "review": None,
            "review_base": len(film.review_rounds),
            "approved": [gate for gate in state.approved if gate != "cut"],
            "log": [f"revise: {revision.kind} {revision.target}: {'; '.join(revision.changes)}"],
        },
    )


def revise(film: Film, feedback: Feedback, llm: StructuredLLM) -> tuple[Film, Revision]:
    """The film after the note, and the note as history records it. The given film is not modified."""
    film = film.model_copy(deep=True)
    target = resolve_target(film, feedback, llm)
    note = clean_note(feedback.text)
    changes: list[str] = []
    removed: list[str] = []
    if target.kind == "removal":
        removed = remove(film, target)
        changes.append(f"removed {target.label}")
        dirty: list[str] = []
    elif target.kind == "reference":
        dirty = apply_reference(film, feedback, changes)
    elif target.kind == "film":
        dirty = revise_style(film, note, llm, changes)
    elif target.kind == "character":
        dirty = revise_character(film, target.id, note, llm, changes)
    elif target.kind == "setting":
        dirty = revise_setting(film, target.id, note, llm, changes)
    elif target.kind == "scene":
        dirty = revise_scene(film, target.id, note, changes)
    else:
        dirty = revise_shot(film, target.id, note, changes)
    revision = Revision(
        at=datetime.now(UTC).isoformat(timespec="seconds"),
        text=note,
        scene=feedback.scene,
        shot=feedback.shot,
        kind=target.kind,
        target=target.id,
        changes=changes,
        remade=dirty,
        removed=removed,
        reference=feedback.reference,
    )
    film.feedback.append(revision)
    return film, revision


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


def removal_aims_at(text: str) -> str | None:
    match = re.search(r"\b(scene|shot)\b", text)
    return match.group(1) if match else None


def mentions(text: str, name: str) -> bool:
    """The full name, or its first word when that is a real name rather than "the" or "old"."""
    name = name.lower().strip()
    if re.search(rf"\b{re.escape(name)}\b", text):
        return True
    first = name.split()[0] if name.split() else ""
    return len(first) >= 3 and first not in _FILLER and bool(re.search(rf"\b{re.escape(first)}\b", text))


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


def remove(film: Film, target: NoteTarget) -> list[str]:
    """Drop a scene or a shot; a scene left with no shots goes too. The film keeps at least one shot."""
    if target.id.startswith("s") and any(shot.id == target.id for shot in film.shots()):
        shot = film.shot(target.id)
        if len(film.shots()) == 1:
            raise RevisionError(f"shot {shot.id} is the film's only shot; a film needs at least one.")
        scene = next(scene for scene in film.scenes if scene.id == shot.scene_id)
        scene.shots = [s for s in scene.shots if s.id != shot.id]
        if not scene.shots:
            film.scenes = [s for s in film.scenes if s.id != scene.id]
        return [shot.id]
    scene = next(scene for scene in film.scenes if scene.id == target.id)
    if len(film.scenes) == 1:
        raise RevisionError(f"scene {scene.number} is the film's only scene; a film needs at least one.")
    film.scenes = [s for s in film.scenes if s.id != scene.id]
    return [shot.id for shot in scene.shots]


def note_words(note: str, *names: str) -> list[str]:
    """The words of a note that carry its meaning: not names, not fillers, not targeting."""
    text = note.lower()
    for name in names:
        text = re.sub(rf"\b{re.escape(name.lower())}\b", " ", text)
    text = _SCENE_NUMBER.sub(" ", _SHOT_NUMBER.sub(" ", _SHOT_ID.sub(" ", text)))
    text = _SCENE_ORDINAL.sub(" ", _SHOT_ORDINAL.sub(" ", text))
    return [word for word in re.findall(r"[a-z][a-z'-]*", text) if word not in _FILLER]


def note_phrase(note: str, *names: str, max_words: int = 14) -> str:
    return " ".join(note_words(note, *names)[:max_words])


def merged_look(old: str, phrase: str) -> str:
    """The old look with the note's words in front, within the look field's word limit."""
    combined = f"{phrase}, {old}" if phrase else old
    return defaults.plain(combined, max_words=14, fallback=old or phrase)


def keeps_note(answer: str, phrase: str) -> bool:
    """The LLM's rewrite is usable only if it carries the note's own content words."""
    wanted = [word for word in phrase.split() if len(word) > 2]
    return all(word in answer.lower() for word in wanted[:4])


def colours_in(note: str) -> list[str]:
    named = [COLOUR_WORDS[w] for w in re.findall(r"[a-z]+", note.lower()) if w in COLOUR_WORDS]
    return [COLOURS[name] for name in dict.fromkeys(named)]


def time_in(note: str) -> TimeOfDay | None:
    found = [_TIME_WORDS[w] for w in re.findall(r"[a-z]+", note.lower()) if w in _TIME_WORDS]
    return found[0] if found else None


def revise_style(film: Film, note: str, llm: StructuredLLM, changes: list[str]) -> list[str]:
    """A note for the whole film: colours and era it names, and the note itself as direction for every shot."""
    colours = colours_in(note)
    if colours:
        film.style.palette = list(dict.fromkeys(colours + film.style.palette))[:6]
        changes.append(f"palette now leads with {', '.join(colours)}")
    if era := _ERA.search(note.lower()):
        film.style.era = era.group(1)
        changes.append(f"era set to {film.style.era}")
    phrase = note_phrase(note, max_words=16)
    direction, used_default = ask(
        llm,
        "revise_style",
        StyleAnswer,
        lambda: StyleAnswer(direction=defaults.plain(phrase, 16, "as the filmmaker asked")),
        title=film.title,
        note=note[:500],
    )
    usable = not used_default and keeps_note(direction.direction, phrase)
    text = direction.direction if usable else defaults.plain(phrase, 16, note[:120])
    film.style.direction = text[:300]
    changes.append(f"every shot now follows: {film.style.direction}")
    return [shot.id for shot in film.shots()]


def revise_character(film: Film, character_id: str, note: str, llm: StructuredLLM, changes: list[str]) -> list[str]:
    """A changed look goes into the film and memory, so every shot with the character follows it.

    A note about the character's voice changes the voice instead, and remakes only the shots where they speak.
    """
    character = film.character(character_id)
    if _VOICE.search(note.lower()):
        return revoice_character(film, character, note, changes)
    phrase = note_phrase(note, character.name, *character.name.split())
    answer, used_default = ask(
        llm,
        "revise_character",
        LookAnswer,
        lambda: LookAnswer(look=merged_look(character.look, phrase), color="red"),
        title=film.title,
        name=character.name,
        look=character.look,
        note=note[:500],
    )
    look = answer.look if not used_default and keeps_note(answer.look, phrase) else merged_look(character.look, phrase)
    taken = {c.signature_color for c in film.characters if c.id != character.id}
    used = {name for name, hex_code in COLOURS.items() if hex_code in taken}
    character.look = look
    character.signature_color = COLOURS[signature_colour(look, answer.color, used)]
    changes.append(f"{character.name} now looks: {look}")
    return [shot.id for shot in film.shots() if character.id in shot.character_ids]


def revoice_character(film: Film, character: Character, note: str, changes: list[str]) -> list[str]:
    """Deeper, higher, slower, faster or whispered: the voice changes in the film and memory, and speaks again."""
    taken = [c.voice for c in film.characters if c.voice is not None and c.id != character.id]
    voice = character.voice or cast_voice(character.id, character.name, character.look, taken)
    voice, voice_changes = adjust_voice(voice, note)
    if not voice_changes:
        raise RevisionError(
            f"the note does not say how {character.name}'s voice should change: ask for a deeper or higher, "
            "slower or faster voice, or a whisper."
        )
    character.voice = voice
    changes.append(f"{character.name}'s voice: {', '.join(voice_changes)}")
    spoken = [shot for shot in film.shots() if shot.dialogue is not None]
    return [shot.id for shot in spoken if shot.dialogue.character_id == character.id]


def revise_setting(film: Film, setting_id: str, note: str, llm: StructuredLLM, changes: list[str]) -> list[str]:
    """A changed place: its look, its time of day and colours when the note names them."""
    setting = film.setting(setting_id)
    phrase = note_phrase(note, setting.name, *[w for w in _TIME_WORDS if w in note.lower()])
    if time := time_in(note):
        setting.time_of_day = time
        changes.append(f"{setting.name} is now at {time}")
    if colours := colours_in(note):
        setting.palette = list(dict.fromkeys(colours + setting.palette))[:5]
        changes.append(f"{setting.name}'s colours lead with {', '.join(colours)}")
    if phrase:
        answer, used_default = ask(
            llm,
            "revise_setting",
            SettingLookAnswer,
            lambda: SettingLookAnswer(look=merged_look(setting.look, phrase), colors=["grey", "blue"]),
            title=film.title,
            name=setting.name,
            look=setting.look,
            note=note[:500],
        )
        usable = not used_default and keeps_note(answer.look, phrase)
        setting.look = answer.look if usable else merged_look(setting.look, phrase)
        changes.append(f"{setting.name} now looks: {setting.look}")
    shots = [shot.id for scene in film.scenes if scene.setting_id == setting.id for shot in scene.shots]
    return shots if changes else []


def revise_scene(film: Film, scene_id: str, note: str, changes: list[str]) -> list[str]:
    """A note for one scene: its time of day when named, and the note as direction for its shots."""
    scene = next(scene for scene in film.scenes if scene.id == scene_id)
    if time := time_in(note):
        scene.time_of_day = time
        changes.append(f"scene {scene.number} now plays at {time}")
    leftover = [w for w in note_words(note) if w not in _TIME_WORDS and w not in {"scene", "shot", "shots"}]
    if leftover:
        scene.direction = note[:300]
        changes.append(f"scene {scene.number} direction: {scene.direction}")
    if not changes:
        raise RevisionError(f"the note does not say what to change in scene {scene.number}.")
    return [shot.id for shot in scene.shots]


def revise_shot(film: Film, shot_id: str, note: str, changes: list[str]) -> list[str]:
    """A note for one shot: framing, camera move or a new take when it says so, and the rest as direction.

    A note that only adds direction keeps the composition: the reshoot starts from the last take's keyframe.
    """
    shot = film.shot(shot_id)
    text = note.lower()
    framing = next((f for word, f in _FRAMING_WORDS.items() if word in text), None)
    if framing is None and _CLOSER.search(text):
        framing = _TIGHTER[min(_TIGHTER.index(shot.framing) + 1, len(_TIGHTER) - 1)]
    elif framing is None and _WIDER.search(text):
        framing = _TIGHTER[max(_TIGHTER.index(shot.framing) - 1, 0)]
    if framing is not None and framing != shot.framing:
        changes.append(f"framing {shot.framing} → {framing}")
        shot.framing = framing
    move = next((m for word, m in _CAMERA_WORDS.items() if re.search(rf"\b{word}\b", text)), None)
    if move is not None and move != shot.camera_move:
        changes.append(f"camera {shot.camera_move} → {move}")
        shot.camera_move = move
    if _RETAKE.search(text):
        shot.seed = stable_seed(film.id, shot.id, f"note-{len(film.feedback)}")
        changes.append(f"new take (seed {shot.seed})")
    leftover = note_phrase(re.sub("|".join([*_FRAMING_WORDS, *_CAMERA_WORDS]), " ", text))
    leftover = " ".join(w for w in leftover.split() if not _CLOSER.search(w) and not _WIDER.search(w))
    if leftover and leftover not in {"shot", "camera", "framing"}:
        shot.direction = f"Director's note: {note[:200]}"
        changes.append(f"direction: {note[:200]}")
    if not changes:
        changes.append("new take")
        shot.seed = stable_seed(film.id, shot.id, f"note-{len(film.feedback)}")
    only_direction = len(changes) == 1 and changes[0].startswith("direction:")
    shot.reshoot_from = shot.take.keyframe if only_direction and shot.take is not None else ""
    return [shot.id]


def apply_reference(film: Film, feedback: Feedback, changes: list[str]) -> list[str]:
    """A reference picture joins the character's or setting's record; its colours lead their look."""
    reference = feedback.reference
    assert reference is not None
    if reference.kind == "character":
        character = film.character(reference.owner_id)
        character.reference_images = [*character.reference_images, reference.path]
        if reference.palette:
            character.signature_color = reference_colour(reference.palette)
        changes.append(f"{character.name} has a reference picture ({reference.path}{source_of(reference)})")
        return [shot.id for shot in film.shots() if character.id in shot.character_ids]
    setting = film.setting(reference.owner_id)
    setting.reference_images = [*setting.reference_images, reference.path]
    if reference.palette:
        setting.palette = reference.palette[:5]
    changes.append(f"{setting.name} has a reference picture ({reference.path}{source_of(reference)})")
    return [shot.id for scene in film.scenes if scene.setting_id == setting.id for shot in scene.shots]


def source_of(reference: ReferenceImage) -> str:
    return f"; source: {reference.source}" if reference.source else ""
