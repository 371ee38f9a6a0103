"""What a sound note changes: a scene's cue, the characters with a theme, a scene's ambience; never a picture.

Whether a note is about the sound is read by `agents.notes.sound_words`; here it is applied to `film.sound` for
the scenes in scope, and each change becomes a line of the film's history. A scene the composer or the sound
designer has not decided yet starts from the fallback given (`default_music`, `default_ambience`), and is kept
only if the note changes it. No shot is touched, so nothing is drawn again: the cut renders the changed cue or
bed and mixes again.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from agents.notes.sound_words import (
    AMBIENCE_NOUNS,
    LOUDER,
    MUSIC_NOUNS,
    NONE_WORDS,
    QUIETER,
    THEME_NOUNS,
    kind_added,
    kind_as_sound,
    kind_dropped,
    kinds_in,
    sound_aim,
)
from agents.notes.targets import RevisionError, mentions
from agents.sound_rules import default_ambience as rules_ambience_default
from agents.sound_rules import default_music as rules_music_default
from agents.soundtrack import SceneAmbience, SceneMusic
from agents.state import Film, Scene
from tools.sound.ambience import MAX_LAYERS, AmbienceKind, AmbienceLayer
from tools.sound.score import Instrumentation, Mode, Mood

Entry = TypeVar("Entry", SceneMusic, SceneAmbience)
MusicDefault = Callable[[Film, Scene], SceneMusic]
AmbienceDefault = Callable[[Film, Scene], SceneAmbience]

TEMPO_STEP = 0.15
"""One step faster or slower: 15 % of the tempo, within the score's 50 to 160 bpm."""
MIN_TEMPO, MAX_TEMPO = 50, 160
LEVEL_STEP_DB = 6.0
ADDED_LEVEL_DB = -20.0
"""A bed the filmmaker asks for is heard: well above the designer's beds (-30 dB and under)."""
MIN_LEVEL_DB, MAX_LEVEL_DB = -40.0, 0.0
BED_NAMES = {AmbienceKind.ROOM: "room tone", AmbienceKind.NIGHT: "night sounds", AmbienceKind.BIRDS: "birds"}


@dataclass(frozen=True)
class MoodShift:
    """Where a mood word takes a cue: its mood, its mode (None keeps it) and tempo steps (-1 slower, +1 faster)."""

    mood: Mood
    mode: Mode | None
    tempo_steps: int


_NOT = r"(?<!less\s)(?<!not\s)(?<!no\s)"
_MOODS: list[tuple[str, MoodShift]] = [
    (r"sadder|sad|melanchol\w*|mournful|gloom\w*|darker|bleak\w*|grie\w*", MoodShift("sad", "minor", -1)),
    (
        r"tenser|tense|scarier|scary|suspense\w*|ominous|menacing|creepier|creepy|thrilling|anxious|nervous",
        MoodShift("tense", "minor", 1),
    ),
    (r"mysterious|eerie|eerier|uncanny|dreamy|dreamier|stranger", MoodShift("mysterious", "minor", 0)),
    (r"triumphant|epic|heroic|grander|victorious|majestic|soaring", MoodShift("triumphant", "major", 1)),
    (r"playful|fun|funnier|funny|whimsical|quirky|bouncy|lighter|cheeky", MoodShift("playful", "major", 1)),
    (r"tender|romantic|loving|intimate|sweeter|sweet|warmer|warm", MoodShift("tender", "major", -1)),
    (
        r"happier|happy|brighter|bright|hopeful|uplifting|cheerful|joyful|optimistic",
        MoodShift("hopeful", "major", 1),
    ),
    (
        r"calmer|calm|softer\s+mood|gentler|gentle|peaceful|serene|relaxed|soothing|mellower|mellow",
        MoodShift("calm", None, -1),
    ),
]
MOOD_WORDS = [(re.compile(rf"{_NOT}\b(?:{words})\b"), shift) for words, shift in _MOODS]
INSTRUMENT_WORDS: dict[Instrumentation, str] = {
    "piano": r"piano|keys",
    "strings": r"strings|violins?|cellos?|string\s+quartet|orchestra(?:l)?",
    "woodwinds": r"woodwinds?|flutes?|clarinets?|oboes?|bassoons?",
    "brass": r"brass|horns?|trumpets?|trombones?|tubas?",
    "guitar": r"guitars?",
    "pad": r"pads?|synths?|synthesi[sz]ers?|electronic",
    "choir": r"choir|choral|voices|vocals",
}
_INSTEAD = r"(?:no|without|less|not|instead\s+of|replace|swap|rather\s+than|than)\s+(?:the\s+|any\s+)?$"
_MORE_INTENSE = re.compile(r"\b(?:bigger|more\s+intense|stronger|fuller|more\s+dramatic|too\s+thin)\b")
_LESS_INTENSE = re.compile(r"\b(?:less\s+intense|smaller|sparser|thinner|more\s+subtle|understated|restrained)\b")
_FASTER = re.compile(r"\b(?:faster|quicker|speed\s+(?:it\s+)?up|pacier|up-?tempo|upbeat|too\s+slow)\b")
_SLOWER = re.compile(r"\b(?:slower|slow\s+(?:it\s+)?down|less\s+rushed|too\s+fast)\b")
_MUSIC_ON = re.compile(
    rf"\b(?:bring|put|get)\s+(?:the\s+|some\s+)?(?:{MUSIC_NOUNS})\s+back\b|\b(?:bring|put)\s+back\s+(?:the\s+)?"
    rf"(?:{MUSIC_NOUNS})\b|\b(?:{MUSIC_NOUNS})\s+back\b|\bunmute\b|\brestore\s+(?:the\s+)?(?:{MUSIC_NOUNS})\b|"
    rf"\b(?:add|put)\s+(?:some\s+|the\s+)?(?:{MUSIC_NOUNS})\b"
)
_MUSIC_OFF = re.compile(
    rf"\b{NONE_WORDS}\s+(?:more\s+|any\s+|the\s+|of\s+the\s+)*(?:{MUSIC_NOUNS})\b|\b(?:{MUSIC_NOUNS})\s+(?:off|out)\b"
)
_THEME_OFF = re.compile(rf"\b{NONE_WORDS}\b(?:\s+[\w']+){{0,4}}?\s+(?:musical\s+)?(?:{THEME_NOUNS})s?\b")
_AMBIENCE_ON = re.compile(
    rf"\b(?:bring|put|get)\s+(?:the\s+)?(?:{AMBIENCE_NOUNS}|atmosphere)\s+back\b|\b(?:bring|put)\s+back\s+(?:the\s+)?"
    rf"(?:{AMBIENCE_NOUNS}|atmosphere)\b|\b(?:{AMBIENCE_NOUNS}|atmosphere)\s+back\b|\brestore\b|\bunmute\b|\badd\b"
)
_AMBIENCE_OFF = re.compile(
    rf"\b{NONE_WORDS}\s+(?:more\s+|any\s+|the\s+)*(?:{AMBIENCE_NOUNS}|atmosphere)\b|"
    rf"\b(?:{AMBIENCE_NOUNS}|atmosphere)\s+off\b"
)
_CLAUSES = re.compile(r"[,;]|\band\b|\bbut\b|\bwhile\b")


def revise_sound(
    film: Film,
    target_id: str,
    note: str,
    changes: list[str],
    *,
    default_music: MusicDefault | None = None,
    default_ambience: AmbienceDefault | None = None,
) -> list[str]:
    """Apply a sound note to `film.sound` for one scene (`target_id`) or the whole film ("film").

    Returns the shots to make again: none, a sound note never touches a picture.
    """
    aim = sound_aim(note)
    text = " ".join(note.lower().replace("’", "'").split())
    scenes = film.scenes if target_id == "film" else [scene for scene in film.scenes if scene.id == target_id]
    if aim == "theme":
        revise_themes(film, text, changes)
    elif aim == "music":
        revise_music(film, scenes, text, changes, default_music or rules_music_default)
    elif aim == "ambience":
        revise_ambience(film, scenes, text, changes, default_ambience or rules_ambience_default)
    else:
        raise RevisionError(
            "the note does not say what to change in the sound: ask for “sadder music in scene 2”, “no music in "
            "scene 3”, “louder rain”, “add wind to scene 1” or “give <name> a theme”."
        )
    return []


def revise_themes(film: Film, text: str, changes: list[str]) -> None:
    """Give the named characters a theme, or take theirs away."""
    named = [character for character in film.characters if mentions(text, character.name)]
    if not named:
        cast = ", ".join(character.name for character in film.characters)
        if not cast:
            raise RevisionError(f"{film.title!r} has no characters yet, so there is nobody to give a theme.")
        example = film.characters[0].name
        raise RevisionError(f"say whose theme it is, e.g. “give {example} a theme”; the characters are {cast}.")
    themes = list(film.sound.themes)
    for character in named:
        if _THEME_OFF.search(text):
            if character.id in themes:
                themes.remove(character.id)
                changes.append(f"{character.name}'s theme dropped")
            else:
                changes.append(f"{character.name} had no theme")
        elif character.id in themes:
            changes.append(f"{character.name} already has a theme")
        else:
            themes.append(character.id)
            changes.append(f"{character.name} now has a theme")
    film.sound.themes = themes


def revise_music(film: Film, scenes: list[Scene], text: str, changes: list[str], fallback: MusicDefault) -> None:
    """Mute, bring back, or change the cue of each scene in scope: mood, mode, tempo, intensity, instruments."""
    where = scope_words(film, scenes)
    unmute, mute = bool(_MUSIC_ON.search(text)), bool(_MUSIC_OFF.search(text))
    shift, instrument = mood_shift(text), instrument_in(text)
    intensity, tempo_steps = intensity_step(text), tempo_step(text)
    if not (unmute or mute or shift or instrument or intensity or tempo_steps):
        raise RevisionError(
            f"the note names the music in {where} but not how to change it: ask for it sadder, happier, tenser, "
            "calmer, more mysterious, triumphant, playful or tender; louder or quieter; faster or slower; on piano, "
            "strings, woodwinds, brass, guitar, pad or choir; or “no music”."
        )
    before = len(changes)
    for scene in scenes:
        old = film.sound.music_for(scene.id)
        cue = old or fallback(film, scene)
        update: dict[str, object] = {}
        if unmute or mute:
            update["muted"] = mute and not unmute
        if shift is not None:
            update["mood"] = shift.mood
            if shift.mode is not None:
                update["mode"] = shift.mode
        steps = tempo_steps if tempo_steps else (shift.tempo_steps if shift else 0)
        if steps:
            update["tempo"] = stepped_tempo(cue.tempo, steps)
        if intensity:
            update["intensity"] = min(5, max(1, cue.intensity + intensity))
        if instrument is not None:
            update["instrumentation"] = instrument
        new = SceneMusic.model_validate({**cue.model_dump(), **update, "by": "filmmaker"})
        described = describe_cue(cue, new)
        if not described:
            continue
        film.sound.music = placed(film, film.sound.music, new)
        still = " (still no music here: say “bring the music back”)" if new.muted and not mute else ""
        changes.append(f"scene {scene.number} music: {described}{still}")
    if len(changes) == before:
        raise RevisionError(
            f"the music in {where} already is what the note asks (or at its limit: intensity 1 to 5, tempo "
            f"{MIN_TEMPO} to {MAX_TEMPO} bpm); nothing changed."
        )


def revise_ambience(film: Film, scenes: list[Scene], text: str, changes: list[str], fallback: AmbienceDefault) -> None:
    """Drop, add, raise or lower the named beds in each scene in scope, or mute or bring back its ambience."""
    where = scope_words(film, scenes)
    operations = bed_operations(text)
    if not operations:
        operations = whole_ambience_operation(text, where)
    beds = {scene.id: film.sound.ambience_for(scene.id) or fallback(film, scene) for scene in scenes}
    for kind, operation in operations:
        if kind is not None and operation in ("louder", "quieter", "drop"):
            if not any(kind in kinds_of(bed) for bed in beds.values()):
                name = bed_name(kind)
                if operation == "drop":
                    raise RevisionError(f"there is no {name} in {where} to take out; nothing changed.")
                example = f"scene {scenes[0].number}" if scenes else "scene 1"
                raise RevisionError(f"there is no {name} in {where}: to add it, say “add {name} to {example}”.")
    before = len(changes)
    for scene in scenes:
        old = film.sound.ambience_for(scene.id)
        bed = beds[scene.id]
        lines: list[str] = []
        for kind, operation in operations:
            bed = changed_bed(bed, kind, operation, lines)
        if lines and (old is None or bed != old):
            film.sound.ambience = placed(film, film.sound.ambience, bed.model_copy(update={"by": "filmmaker"}))
            changes.append(f"scene {scene.number} ambience: {'; '.join(lines)}")
    if len(changes) == before:
        raise RevisionError(
            f"the ambience in {where} already is what the note asks (levels run from {MIN_LEVEL_DB:g} to "
            f"{MAX_LEVEL_DB:g} dB); nothing changed."
        )


def bed_operations(text: str) -> list[tuple[AmbienceKind | None, str]]:
    """Each bed the note names and what to do with it; a bed with no verb of its own takes the one before it."""
    operations: list[tuple[AmbienceKind | None, str]] = []
    for clause in _CLAUSES.split(text):
        for kind in kinds_in(clause):
            operation = bed_operation(clause, kind) or bed_operation(text, kind)
            if operation is None and operations:
                operation = operations[-1][1]
            if operation is not None:
                operations.append((kind, operation))
    return operations


def bed_operation(text: str, kind: AmbienceKind) -> str | None:
    if kind_dropped(text, kind):
        return "drop"
    if kind_added(text, kind):
        return "add"
    if LOUDER.search(text):
        return "louder"
    if QUIETER.search(text):
        return "quieter"
    return "add" if kind_as_sound(text, kind) else None


def whole_ambience_operation(text: str, where: str) -> list[tuple[AmbienceKind | None, str]]:
    if _AMBIENCE_OFF.search(text):
        return [(None, "mute")]
    if _AMBIENCE_ON.search(text):
        return [(None, "unmute")]
    if LOUDER.search(text):
        return [(None, "louder")]
    if QUIETER.search(text):
        return [(None, "quieter")]
    raise RevisionError(
        f"the note names the ambience in {where} but not how to change it: ask for it louder or quieter, "
        "“no ambience”, or name a bed: “add rain”, “no wind”, “louder sea” (rain, wind, sea, engine, traffic, "
        "room tone, crowd, fire, birds, crickets)."
    )


def changed_bed(bed: SceneAmbience, kind: AmbienceKind | None, operation: str, lines: list[str]) -> SceneAmbience:
    """The bed after one operation, with a line for each thing that changed."""
    if operation == "mute":
        if not bed.muted:
            lines.append("no ambience")
        return bed.model_copy(update={"muted": True})
    layers, already = list(bed.layers), len(lines)
    if operation in ("louder", "quieter"):
        step = LEVEL_STEP_DB if operation == "louder" else -LEVEL_STEP_DB
        for index, layer in enumerate(layers):
            if kind is None or layer.kind == kind:
                level = min(MAX_LEVEL_DB, max(MIN_LEVEL_DB, layer.level_db + step))
                if level != layer.level_db:
                    lines.append(f"{bed_name(layer.kind)} {layer.level_db:g} → {level:g} dB")
                    layers[index] = AmbienceLayer(kind=layer.kind, level_db=level)
    elif operation == "drop" and kind is not None:
        if kind in kinds_of(bed):
            lines.append(f"{bed_name(kind)} removed")
            layers = [layer for layer in layers if layer.kind != kind]
    elif operation == "add" and kind is not None and kind not in kinds_of(bed):
        added = AmbienceLayer(kind=kind, level_db=ADDED_LEVEL_DB)
        if len(layers) >= MAX_LAYERS:
            quietest = min(range(len(layers)), key=lambda index: layers[index].level_db)
            replaced = layers[quietest]
            lines.append(
                f"{bed_name(kind)} added at {ADDED_LEVEL_DB:g} dB in place of {bed_name(replaced.kind)} "
                f"({replaced.level_db:g} dB)"
            )
            layers[quietest] = added
        else:
            lines.append(f"{bed_name(kind)} added at {ADDED_LEVEL_DB:g} dB")
            layers.append(added)
    heard = operation == "unmute" or (operation == "add" and len(lines) == already and kind in kinds_of(bed))
    wake = bed.muted and operation != "drop" and (heard or len(lines) > already)
    if wake:
        lines.append("ambience back on")
    return bed.model_copy(update={"layers": layers, "muted": bed.muted and not wake})


def kinds_of(bed: SceneAmbience) -> set[AmbienceKind]:
    return {layer.kind for layer in bed.layers}


def mood_shift(text: str) -> MoodShift | None:
    """The mood the note's first mood word asks for ("sadder", "more suspense"), unless negated ("less sad")."""
    found = [(match.start(), shift) for pattern, shift in MOOD_WORDS if (match := pattern.search(text))]
    return min(found, key=lambda item: item[0])[1] if found else None


def instrument_in(text: str) -> Instrumentation | None:
    """The instrument the note asks for: the first named that is not being replaced ("piano instead of strings")."""
    found: list[tuple[int, Instrumentation]] = []
    for instrument, words in INSTRUMENT_WORDS.items():
        for match in re.finditer(rf"\b(?:{words})\b", text):
            if not re.search(_INSTEAD, text[: match.start()]):
                found.append((match.start(), instrument))
    return min(found)[1] if found else None


def intensity_step(text: str) -> int:
    if _LESS_INTENSE.search(text) or QUIETER.search(text):
        return -1
    if _MORE_INTENSE.search(text) or LOUDER.search(text):
        return 1
    return 0


def tempo_step(text: str) -> int:
    if _SLOWER.search(text):
        return -1
    return 1 if _FASTER.search(text) else 0


def stepped_tempo(tempo: int, steps: int) -> int:
    return min(MAX_TEMPO, max(MIN_TEMPO, round(tempo * (1 + TEMPO_STEP * steps))))


def describe_cue(old: SceneMusic, new: SceneMusic) -> str:
    """What changed between two cues, in words: "mood calm → sad, major → minor, tempo 84 → 71 bpm"."""
    parts = []
    if old.muted != new.muted:
        parts.append("none (muted)" if new.muted else "back")
    if old.mood != new.mood:
        parts.append(f"mood {old.mood} → {new.mood}")
    if old.mode != new.mode:
        parts.append(f"{old.mode} → {new.mode}")
    if old.tempo != new.tempo:
        parts.append(f"tempo {old.tempo} → {new.tempo} bpm")
    if old.intensity != new.intensity:
        parts.append(f"intensity {old.intensity} → {new.intensity}")
    if old.instrumentation != new.instrumentation:
        parts.append(f"{old.instrumentation} → {new.instrumentation}")
    return ", ".join(parts)


def placed(film: Film, entries: list[Entry], entry: Entry) -> list[Entry]:
    """The entries with `entry` in place of its scene's, or inserted in the film's scene order."""
    order = {scene.id: index for index, scene in enumerate(film.scenes)}
    kept = [each for each in entries if each.scene_id != entry.scene_id]
    if len(kept) < len(entries):
        return [entry if each.scene_id == entry.scene_id else each for each in entries]
    position = next(
        (index for index, each in enumerate(kept) if order.get(each.scene_id, len(order)) > order[entry.scene_id]),
        len(kept),
    )
    return [*kept[:position], entry, *kept[position:]]


def scope_words(film: Film, scenes: list[Scene]) -> str:
    return f"scene {scenes[0].number}" if len(scenes) == 1 else "any scene of the film"


def bed_name(kind: AmbienceKind) -> str:
    return BED_NAMES.get(kind, kind.value)
