"""The critic's reading of the film's words: the prose gate over every text a model wrote, and its repairs.

A title, logline or look that fails the gate is mended in place from `agents.defaults`; a shot's action, line or
prompt that fails gets a `repair` change (the scene's own words, the line dropped), never a new seed. A
screenplay's own words are never rewritten: they are kept, with a note.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from agents import defaults
from agents.state import Film, Scene, Shot, ShotChange, ShotVerdict
from tools.prose import ProseKind, check_prose, split_sentences, whole_sentences

KEPT_AS_WRITTEN = "the script's own words, kept as written"
REPAIR_ACTION_WORDS = 30
"""At most this many words of the scene's own action replace an action that is not prose."""
FALLBACK_LOOK = "plain clothes, tired eyes"
FALLBACK_LOGLINE = "A short story about people in trouble and what they do."


@dataclass
class FilmWords:
    """What the prose gate found in the film's own words before the shots are judged.

    Attributes:
        repaired: Film-level words mended in place (title, logline, looks), one line each.
        notes: A screenplay's own words that fail the gate and are kept as written.
        shots: Per shot, why it must be prompted and rendered again after a repair of a look it shows.
        kept: Words kept as written, which a shot's prompt may carry without being sent back for them.
    """

    repaired: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    shots: dict[str, list[str]] = field(default_factory=dict)
    kept: list[str] = field(default_factory=list)


def repair_film_words(film: Film) -> FilmWords:
    """Run the prose gate over the title, logline and looks; mend what fails in place from `agents.defaults`.

    A screenplay's own words (found in its source) are kept with a note. The shots that show a repaired look
    are listed, so that they are prompted and rendered again.
    """
    found = FilmWords()

    def gate(label: str, text: str, kind: ProseKind, fallbacks: Iterable[str]) -> str | None:
        verdict = check_prose(text, kind)
        if verdict:
            return None
        if in_script(text, film):
            found.notes.append(f"{label} {text!r} fails the prose gate ({verdict.reason}); {KEPT_AS_WRITTEN}")
            found.kept.append(text)
            return None
        new = next((c for c in fallbacks if c and check_prose(c, kind)), "")
        found.repaired.append(f"{label} {text!r} was not prose ({verdict.reason}); now {new!r}")
        return new

    title = gate("title", film.title, ProseKind.TITLE, [default_title(film), "Untitled"])
    if title is not None:
        film.title = title
    if film.logline.strip():
        logline = gate("logline", film.logline, ProseKind.SENTENCE, [*default_loglines(film), FALLBACK_LOGLINE])
        if logline is not None:
            film.logline = logline
    for index, character in enumerate(film.characters):
        look = gate(
            f"{character.name}'s look", character.look, ProseKind.PHRASE,
            [defaults.look_for(character.name, index).look, FALLBACK_LOOK],
        )  # fmt: skip
        if look is not None:
            character.look = look
            for shot in film.shots():
                if character.id in shot.character_ids:
                    found.shots.setdefault(shot.id, []).append(f"{character.name}'s look was repaired: {look!r}")
    for setting in film.settings:
        light = "lamp light and shadows" if setting.interior else "open sky and weather"
        look = gate(
            f"{setting.name}'s look", setting.look, ProseKind.PHRASE,
            [defaults.setting_look_for(setting.name, setting.interior).look, light],
        )  # fmt: skip
        if look is not None:
            setting.look = look
            for scene in film.scenes:
                if scene.setting_id == setting.id:
                    for shot in scene.shots:
                        found.shots.setdefault(shot.id, []).append(f"{setting.name}'s look was repaired: {look!r}")
    return found


def default_title(film: Film) -> str:
    return defaults.title_from_premise(film.premise).title if film.premise.strip() else "Untitled"


def default_loglines(film: Film) -> list[str]:
    """Loglines the writer's defaults would give this film, best first."""
    if film.premise.strip():
        return [defaults.title_from_premise(film.premise).logline]
    return [defaults.logline_from_premise(film.title, film.title)]


def check_shot_words(shot: Shot, film: Film, words: FilmWords) -> tuple[list[str], ShotChange | None]:
    """Reasons the shot's action, line or prompt fail the prose gate, and the repair; (reasons, None) if none.

    A screenplay's own sentence or line is kept as written: it gets a note in `words.notes`, never a flag.
    """
    scene = scene_for(film, shot)
    reasons = list(words.shots.get(shot.id, []))
    kept = list(words.kept)
    action: str | None = None
    drop_line = False
    if shot.action.strip():
        verdict = check_prose(shot.action, ProseKind.SENTENCE)
        if not verdict and film.screenplay and is_script_action(shot.action, scene):
            words.notes.append(f"{shot.id}: action {shot.action!r} ({verdict.reason}): {KEPT_AS_WRITTEN}")
            kept.append(shot.action)
        elif not verdict:
            reasons.append(f"action is not prose ({verdict.reason}): {shot.action[:80]!r}")
            action = scene_action(scene, film)
    if shot.dialogue is not None and shot.dialogue.text.strip():
        text = shot.dialogue.text
        verdict = check_prose(text, ProseKind.LINE)
        if not verdict and film.screenplay and is_script_line(text, scene):
            words.notes.append(f"{shot.id}: line {text!r} ({verdict.reason}): {KEPT_AS_WRITTEN}")
        elif not verdict:
            reasons.append(f"line is not prose ({verdict.reason}): {text[:80]!r}")
            drop_line = True
    if shot.prompt.strip():
        verdict = check_prose(without(shot.prompt, kept), ProseKind.PROMPT)
        if not verdict:
            reasons.append(f"prompt is not prose ({verdict.reason})")
    if not reasons:
        return [], None
    return reasons, ShotChange(kind="repair", action=action, drop_line=drop_line)


def scene_for(film: Film, shot: Shot) -> Scene:
    return next(scene for scene in film.scenes if scene.id == shot.scene_id)


def scene_action(scene: Scene, film: Film) -> str:
    """What a shot whose action is not prose shows instead: the scene's first whole sentences, else its summary.

    Only sentences that pass the gate are taken; a screenplay whose every sentence fails keeps its own words,
    and a premise film with nothing usable shows the scene without an action.
    """
    sentences = [sentence for paragraph in scene.action for sentence in split_sentences(paragraph)]
    usable = [sentence for sentence in sentences if check_prose(sentence, ProseKind.SENTENCE)]
    for candidate in (whole_sentences(" ".join(usable), REPAIR_ACTION_WORDS), scene.summary):
        candidate = " ".join(candidate.split())
        if candidate and check_prose(candidate, ProseKind.SENTENCE):
            return candidate
    if film.screenplay and sentences:
        return whole_sentences(" ".join(sentences), REPAIR_ACTION_WORDS)
    return ""


def _plain(text: str) -> str:
    return " ".join(text.replace("*", " ").replace("_", " ").split()).casefold()


def in_script(text: str, film: Film) -> bool:
    """Whether `text` is a screenplay's own words: found, as written, in the film's Fountain source."""
    return bool(film.screenplay) and bool(text.strip()) and _plain(text) in _plain(film.screenplay)


def is_script_action(text: str, scene: Scene) -> bool:
    """Whether every sentence of `text` is a whole sentence of the scene's action as the script wrote it."""
    written = {_plain(sentence) for paragraph in scene.action for sentence in split_sentences(paragraph)}
    return all(_plain(sentence) in written for sentence in split_sentences(text)) and bool(text.strip())


def is_script_line(text: str, scene: Scene) -> bool:
    return _plain(text) in {_plain(line.text) for line in scene.dialogue}


KEPT_STAND_IN = "it"


def without(prompt: str, kept: Iterable[str]) -> str:
    """The prompt with the words kept as written stood in for, so it is judged only on what was composed around them.

    Each kept part becomes one plain word, not nothing: a kept one-word sentence ("Fog.") after a place's
    heading must not leave "night): ." behind for the gate to read as glued punctuation.
    """
    for text in kept:
        parts = {text.strip().rstrip("."), *(s.rstrip(".") for s in split_sentences(text))}
        for part in sorted(parts, key=len, reverse=True):
            if part:
                prompt = prompt.replace(part, KEPT_STAND_IN)
    return prompt


def drop_model_lines(film: Film, verdicts: Iterable[ShotVerdict]) -> None:
    """Take a dropped line out of its scene too, so a later plan of the scene does not bring it back."""
    for verdict in verdicts:
        if verdict.change is not None and verdict.change.drop_line:
            shot = film.shot(verdict.shot_id)
            if shot.dialogue is not None:
                scene = scene_for(film, shot)
                scene.dialogue = [line for line in scene.dialogue if line.text != shot.dialogue.text]
