"""What a note changes: a look, a voice, a place's light and colours, a scene's time, a shot's framing or take.

Looks are rewritten by the LLM under a check that the note's own words survive, else merged from the note, so a
weak answer never loses it. Each change returns the ids of exactly the shots it touches, to be made again.
"""

from __future__ import annotations

import re

from agents import defaults
from agents.answers import COLOURS, Answer, LookAnswer, SettingLookAnswer, words
from agents.casting import adjust_voice, cast_voice
from agents.notes.targets import FILLER_WORDS, NoteTarget, RevisionError, without_targeting
from agents.prompting import ask
from agents.specs import stable_seed
from agents.state import Character, Feedback, Film, ReferenceImage
from agents.writing.colours import character_colour_name, colours_in
from tools.llm.asking import StructuredLLM
from tools.references import dominant_vivid_colour as reference_colour
from tools.render.spec import CameraMove, Framing, TimeOfDay

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
_ERA = re.compile(r"\b(1[89]\d0s|20[0-9]0s|\d{1,2}(?:st|nd|rd|th) century)\b")


class StyleAnswer(Answer):
    direction: words(3, 16)


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
    text = without_targeting(text)
    return [word for word in re.findall(r"[a-z][a-z'-]*", text) if word not in FILLER_WORDS]


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
    character.signature_color = COLOURS[character_colour_name(look, answer.color, used)]
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
