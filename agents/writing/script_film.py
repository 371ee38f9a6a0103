"""A film from a screenplay: the script decides story, people and places; the model only fills looks and a logline."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from agents import defaults
from agents.answers import (
    COLOURS,
    LoglineAnswer,
    LookAnswer,
    SettingLookAnswer,
)
from agents.ids import slugify, unique_id
from agents.prompting import ask
from agents.state import Character, DialogueLine, Film, RunState, Scene, Setting
from agents.writing.casting_notes import script_description
from agents.writing.colours import character_colour_name, style_for
from agents.writing.premise import (
    language_of,
)
from agents.writing.script_models import ParsedScript, ScriptScene
from agents.writing.text_checks import PROMPT_EXAMPLES, about_the_story, acceptable_text
from tools.llm.asking import StructuredLLM
from tools.prose import ProseKind, check_prose, split_sentences
from tools.render.spec import TimeOfDay

SceneReady = Callable[[Film, str], None]
"""Told the film so far and a scene's id as soon as that scene's people and place have their looks."""


def film_from_screenplay(
    script: ParsedScript, state: RunState, llm: StructuredLLM, scene_ready: SceneReady | None = None
) -> Film:
    """The script decides story, people and places; the LLM only fills looks, palette and logline.

    Places are looked at in scene order, and each scene is handed to `scene_ready` once its place has a look,
    so the crew can plan and render it while the writer goes on with the next.
    """
    title = script.title.strip() or "Untitled"
    characters = characters_from_script(script, title, llm)
    ids = {name: character.id for name, character in characters.items()}
    setting_ids = settings_of_script(script)
    scenes = [
        Scene(
            id=f"s{scene.number:02d}",
            number=scene.number,
            heading=scene.heading,
            setting_id=setting_ids[setting_key(scene)],
            character_ids=[ids[name] for name in scene.characters if name in ids],
            summary=scene.synopsis or (scene.action[0] if scene.action else scene.heading),
            action=scene.action,
            dialogue=[
                DialogueLine(
                    character_id=ids[line.character],
                    text=line.text,
                    parenthetical=line.parenthetical,
                    off_screen=line.off_screen,
                    after_action=line.after_action,
                )
                for line in scene.dialogue
                if line.character in ids
            ],
            transition=scene.transition,
        )
        for scene in script.scenes
    ]

    def film_with(settings: dict[tuple[str, bool, str], Setting], logline: str) -> Film:
        settings_list = list(settings.values())
        return Film(
            id=state.film_id,
            title=title,
            logline=logline,
            screenplay=state.screenplay,
            style=style_for(state, settings_list),
            target_seconds=state.target_seconds,
            characters=[character.model_copy(deep=True) for character in characters.values()],
            settings=settings_list,
            scenes=[scene.model_copy(deep=True) for scene in scenes],
        )

    settings: dict[tuple[str, bool, str], Setting] = {}
    for scene in settings_from_script(script, title, llm, setting_ids, settings):
        if scene_ready is not None:
            scene_ready(film_with(settings, ""), f"s{scene.number:02d}")
    summaries = " ".join(f"({s.number}) {s.summary}" for s in scenes)[:900]
    language = language_of(" ".join(paragraph for scene in script.scenes for paragraph in scene.action)[:2000])
    logline, used_default = ask(
        llm,
        "logline",
        LoglineAnswer,
        lambda: LoglineAnswer.model_construct(logline=""),
        title=title,
        scenes=summaries,
    )
    written = logline.logline if not used_default and acceptable_text(logline.logline, title) else ""
    if written and not check_prose(written, ProseKind.SENTENCE, language=language):
        written = ""
    story = " ".join([title, *(paragraph for scene in script.scenes for paragraph in scene.action)])
    if written and not about_the_story(written, story, tuple(c.name for c in characters.values())):
        written = ""
    return film_with(settings, " ".join((written or script_logline(script, title)).split()))


def script_logline(script: ParsedScript, title: str) -> str:
    """The script's own words for what it is about: its first synopsis, else its first sentence of action."""
    synopsis = next((scene.synopsis for scene in script.scenes if scene.synopsis), "")
    for candidate in (synopsis, *(p for scene in script.scenes for p in scene.action)):
        sentence = defaults.first_sentence(candidate, 30)
        if check_prose(sentence, ProseKind.SENTENCE):
            return sentence
    return defaults.logline_from_premise(title, title)


def display_name(cue: str) -> str:
    return " ".join(part.capitalize() for part in cue.split())


def characters_from_script(script: ParsedScript, title: str, llm: StructuredLLM) -> dict[str, Character]:
    """Looks come from the script where it describes someone ('MARGIT (60s, yellow oilskin coat)'), else the LLM.

    A voice that is only ever heard (V.O., O.S.) is never drawn, so nobody is asked how it looks.
    """
    characters: dict[str, Character] = {}
    used_colours: set[str] = set()
    seen = {cue for scene in script.scenes for cue in scene.characters}
    for index, cue in enumerate(script.characters):
        name = display_name(cue)
        described = script_description(script, cue)
        lines = [line.text for scene in script.scenes for line in scene.dialogue if line.character == cue]
        if described or cue not in seen:
            answer = defaults.look_for(name, index)
        else:
            answer, _ = ask(
                llm,
                "character_look",
                LookAnswer,
                lambda n=name, i=index: defaults.look_for(n, i),
                title=title,
                name=name,
                context=" / ".join(lines[:2])[:240] or "appears in the film",
            )
        usable = acceptable_text(answer.look, title, name, *lines, *PROMPT_EXAMPLES)
        look = described or (answer.look if usable else defaults.look_for(name, index).look)
        colour = character_colour_name(look, answer.color, used_colours)
        used_colours.add(colour)
        identifier = unique_id(slugify(name, fallback=f"character-{index + 1}"), [c.id for c in characters.values()])
        characters[cue] = Character(
            id=identifier, name=name, look=" ".join(look.split()), signature_color=COLOURS[colour]
        )
    return characters


def setting_key(scene: ScriptScene) -> tuple[str, bool, str]:
    return (scene.location.upper(), scene.interior, scene.time_of_day)


def place_description(scene: ScriptScene, people: list[str]) -> str:
    """What the script says a place looks like: the opening sentences of its first scene that name nobody.

    Screenwriters open a scene on the place ("Fog. The Marta's single bow lamp pushes a cone of light into
    nothing."), so those words are the place's look, verbatim; a sentence about a person ends it.
    """
    names = [re.compile(rf"(?<!\w){re.escape(name)}(?!\w)", re.IGNORECASE) for name in people]
    kept: list[str] = []
    for sentence in split_sentences(scene.action[0] if scene.action else ""):
        if any(name.search(sentence) for name in names) or len(" ".join(kept).split()) >= 4:
            break
        kept.append(sentence)
    description = " ".join(kept)
    return description if check_prose(description, ProseKind.SENTENCE) else ""


def settings_of_script(script: ParsedScript) -> dict[tuple[str, bool, str], str]:
    """One setting id per place and time of day, in order of first appearance; no model is asked."""
    ids: dict[tuple[str, bool, str], str] = {}
    for scene in script.scenes:
        key = setting_key(scene)
        if key not in ids:
            ids[key] = unique_id(
                slugify(f"{scene.location} {scene.time_of_day}", fallback=f"setting-{len(ids) + 1}"), list(ids.values())
            )
    return ids


def settings_from_script(
    script: ParsedScript,
    title: str,
    llm: StructuredLLM,
    setting_ids: dict[tuple[str, bool, str], str],
    settings: dict[tuple[str, bool, str], Setting],
) -> Iterator[ScriptScene]:
    """Fill `settings` (one per place and time of day) scene by scene; yields each scene once its place is known.

    A place's look is asked once and shared across its times. The script's own description of the place is its
    look; the model's words fill in only where the script gives none, and its colours make the palette.
    """
    people = [*script.characters, *(display_name(cue) for cue in script.characters)]
    looks: dict[tuple[str, bool], SettingLookAnswer] = {}
    described: dict[tuple[str, bool], str] = {}
    for scene in script.scenes:
        key = setting_key(scene)
        if key not in settings:
            place = key[:2]
            if place not in looks:
                described[place] = place_description(scene, people)
                context = " ".join(scene.action)[:240] or scene.heading
                looks[place], _ = ask(
                    llm,
                    "setting_look",
                    SettingLookAnswer,
                    lambda s=scene: defaults.setting_look_for(s.location, s.interior),
                    title=title,
                    heading=scene.heading,
                    context=context,
                )
            look = looks[place]
            usable = acceptable_text(look.look, title, *PROMPT_EXAMPLES)
            fallback = defaults.setting_look_for("", scene.interior).look
            description = described[place] or (look.look if usable else fallback)
            settings[key] = Setting(
                id=setting_ids[key],
                name=display_name(scene.location) or scene.heading,
                look=" ".join(description.split()),
                time_of_day=TimeOfDay(scene.time_of_day),
                interior=scene.interior,
                palette=[COLOURS[c] for c in dict.fromkeys(look.colors)],
            )
        yield scene
