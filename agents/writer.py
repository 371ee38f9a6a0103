"""The writer: a premise becomes a story through narrow questions; a screenplay is parsed, not rewritten."""

from __future__ import annotations

import re

from langgraph.runtime import Runtime

from agents import defaults
from agents.answers import (
    COLOURS,
    CastAnswer,
    LoglineAnswer,
    LookAnswer,
    SettingLookAnswer,
    SettingsAnswer,
    TitleAnswer,
    scene_answer_model,
)
from agents.context import Context
from agents.prompting import ask
from agents.screenplay import ParsedScript, ScriptScene, parse_fountain
from agents.state import Character, DialogueLine, Film, RunState, Scene, Setting, StyleBible, slugify, unique_id
from tools.llm import StructuredLLM
from tools.spec import TimeOfDay

_NAME_CHARS = re.compile(r"[^A-Za-z' .-]")
COLOUR_WORDS = {
    **{name: name for name in COLOURS},
    "gray": "grey", "silver": "grey", "gold": "yellow", "golden": "yellow", "crimson": "red", "scarlet": "red",
    "maroon": "red", "violet": "purple", "emerald": "green", "turquoise": "teal", "tan": "brown",
}  # fmt: skip
_HARD_TO_SEE = {"black", "navy"}


def signature_colour(look: str, suggested: str, used: set[str]) -> str:
    """A character's colour: the first colour their look names, else the model's pick.

    A yellow coat makes a yellow figure; colours stay distinct, and none vanishes against a night sky.
    """
    named = next((COLOUR_WORDS[w] for w in re.findall(r"[a-z]+", look.lower()) if w in COLOUR_WORDS), None)
    for candidate in (named, suggested):
        if candidate and candidate not in used and candidate not in _HARD_TO_SEE:
            return candidate
    return next(c for c in COLOURS if c not in used and c not in _HARD_TO_SEE)


def write_script(state: RunState, runtime: Runtime[Context]) -> dict:
    """Premise or screenplay in, a film with characters, settings and scenes out."""
    emit = runtime.stream_writer
    emit({"stage": "write", "status": "start"})
    llm = runtime.context.llm
    if state.screenplay.strip():
        film = film_from_screenplay(parse_fountain(state.screenplay), state, llm)
    else:
        film = film_from_premise(state, llm)
    emit({"stage": "write", "status": "done", "title": film.title, "scenes": len(film.scenes)})
    summary = f"writer: {film.title!r}, {len(film.characters)} characters, {len(film.scenes)} scenes"
    return {"film": film, "log": [summary]}


def film_from_premise(state: RunState, llm: StructuredLLM) -> Film:
    premise = state.premise.strip()
    titled, _ = ask(llm, "title", TitleAnswer, lambda: defaults.title_from_premise(premise), premise=premise)
    cast_answer, _ = ask(llm, "cast", CastAnswer, lambda: defaults.cast_from_premise(premise), premise=premise, count=2)
    characters = cast_from_answer(cast_answer) or cast_from_answer(defaults.cast_from_premise(premise))
    cast_words = ", ".join(f"{c.name} ({c.look})" for c in characters)
    settings_answer, _ = ask(
        llm,
        "settings",
        SettingsAnswer,
        lambda: defaults.settings_from_premise(premise),
        premise=premise,
        characters=cast_words,
    )
    names = [c.name for c in characters]
    settings = settings_from_answer(settings_answer, names) or settings_from_answer(
        defaults.settings_from_premise(premise)
    )
    scenes = scenes_from_premise(premise, scene_count(state.target_seconds), characters, settings, llm)
    return Film(
        id=state.film_id,
        title=titled.title.strip() or "Untitled",
        logline=titled.logline.strip(),
        premise=premise,
        style=style_for(state, settings),
        target_seconds=state.target_seconds,
        characters=characters,
        settings=settings,
        scenes=scenes,
    )


def scene_count(target_seconds: float) -> int:
    return max(3, min(8, round(target_seconds / 9)))


def clean_name(raw: str) -> str:
    name = " ".join(_NAME_CHARS.sub(" ", raw).split())
    return name[:24].strip(" .-'")


PROMPT_EXAMPLES = (
    "curly red hair, green apron, flour on her hands",
    "wet cobbles, a flickering shop sign",
    "face, hair, clothes",
    "the harbour wall, a small kitchen",
)


def cast_from_answer(answer: CastAnswer) -> list[Character]:
    """Characters with distinct names, ids and signature colours; unusable entries are dropped."""
    characters: list[Character] = []
    used_colours: set[str] = set()
    for idea in answer.characters:
        name = clean_name(idea.name)
        identifier = slugify(name, fallback="")
        if len(name) < 2 or not identifier or any(c.id == identifier for c in characters):
            continue
        look = idea.look if acceptable_text(idea.look, name, *PROMPT_EXAMPLES) else defaults.look_for(name, 0).look
        colour = signature_colour(look, idea.color, used_colours)
        used_colours.add(colour)
        characters.append(
            Character(id=identifier, name=name, look=" ".join(look.split()), signature_color=COLOURS[colour])
        )
    return characters


def settings_from_answer(answer: SettingsAnswer, character_names: list[str] = ()) -> list[Setting]:
    """Places with distinct names and usable looks; a place named after a character is no place."""
    settings: list[Setting] = []
    taken = {name.lower() for name in character_names}
    for idea in answer.settings:
        name = " ".join(idea.name.split())[:40]
        identifier = slugify(name, fallback="")
        if len(name) < 3 or not identifier or any(s.id == identifier for s in settings):
            continue
        if name.lower().removeprefix("the ") in {t.removeprefix("the ") for t in taken}:
            continue
        if not acceptable_text(idea.look, name, *PROMPT_EXAMPLES):
            continue
        settings.append(
            Setting(
                id=identifier,
                name=name,
                look=" ".join(idea.look.split()),
                time_of_day=idea.time_of_day,
                interior=idea.interior,
                palette=[COLOURS[c] for c in dict.fromkeys(idea.colors)],
            )
        )
    return settings


def style_for(state: RunState, settings: list[Setting]) -> StyleBible:
    return StyleBible(palette=palette_of(settings), width=state.width, aspect=state.aspect, fps=state.fps)


def palette_of(settings: list[Setting]) -> list[str]:
    colours = list(dict.fromkeys(colour for setting in settings for colour in setting.palette))
    return colours[:5] or StyleBible().palette


def scenes_from_premise(
    premise: str, total: int, characters: list[Character], settings: list[Setting], llm: StructuredLLM
) -> list[Scene]:
    """One narrow question per scene; references to people and places are enums of what exists."""
    names = [c.name for c in characters]
    setting_names = [s.name for s in settings]
    schema = scene_answer_model(setting_names, names)
    by_name = {c.name: c for c in characters}
    setting_by_name = {s.name: s for s in settings}
    scenes: list[Scene] = []
    for number in range(1, total + 1):
        story_so_far = " ".join(f"({s.number}) {s.summary}" for s in scenes[-3:]) or "(this is the first scene)"

        def fallback(number: int = number) -> object:
            return schema.model_validate(defaults.scene_from_premise(premise, number, total, setting_names, names))

        answer, _ = ask(
            llm,
            "scene",
            schema,
            fallback,
            premise=premise,
            characters=", ".join(names),
            settings=", ".join(setting_names),
            story_so_far=story_so_far,
            number=number,
            total=total,
            beat=defaults.beat(number, total),
        )
        speaker = by_name[answer.speaker]
        present = list(dict.fromkeys([speaker.id, *(by_name[n].id for n in answer.characters)]))
        line = " ".join(answer.line.split()).strip("\"' ")
        summary = " ".join(answer.summary.split())
        if any(summary[:48].lower() == earlier.summary[:48].lower() for earlier in scenes):
            summary = fallback().summary
        if not spoken_line_usable(line, [*names, *setting_names]):
            line = ""
        scenes.append(
            Scene(
                id=f"s{number:02d}",
                number=number,
                heading=setting_by_name[answer.setting].name.upper(),
                setting_id=setting_by_name[answer.setting].id,
                character_ids=present,
                summary=summary,
                action=[summary],
                dialogue=[DialogueLine(character_id=speaker.id, text=line)] if line else [],
            )
        )
    return scenes


def spoken_line_usable(line: str, names: list[str]) -> bool:
    """A line someone could say: not a bare name or place, not the question read back, not trailing off."""
    lowered = line.lower().strip(" .!?")
    if len(lowered) < 2 or lowered in {name.lower() for name in names}:
        return False
    return not any(marker in line.lower() for marker in ("one sentence", "scene ", "...", "story so far"))


def film_from_screenplay(script: ParsedScript, state: RunState, llm: StructuredLLM) -> Film:
    """The script decides story, people and places; the LLM only fills looks, palette and logline."""
    title = script.title.strip() or "Untitled"
    characters = characters_from_script(script, title, llm)
    ids = {name: character.id for name, character in characters.items()}
    settings, setting_ids = settings_from_script(script, title, llm)
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
                DialogueLine(character_id=ids[line.character], text=line.text, parenthetical=line.parenthetical)
                for line in scene.dialogue
                if line.character in ids
            ],
            transition=scene.transition,
        )
        for scene in script.scenes
    ]
    summaries = " ".join(f"({s.number}) {s.summary}" for s in scenes)[:900]
    logline, _ = ask(
        llm,
        "logline",
        LoglineAnswer,
        lambda: LoglineAnswer(
            logline=defaults.plain(
                f"{title}: a short film in {len(scenes)} scenes.", 30, "A short film told in a few scenes.", 6
            )
        ),
        title=title,
        scenes=summaries,
    )
    if not acceptable_text(logline.logline, title):
        synopsis = next((scene.synopsis for scene in script.scenes if scene.synopsis), "")
        logline = LoglineAnswer(logline=defaults.plain(synopsis, 30, logline.logline, min_words=6))
    settings_list = list(settings.values())
    return Film(
        id=state.film_id,
        title=title,
        logline=" ".join(logline.logline.split()),
        screenplay=state.screenplay,
        style=style_for(state, settings_list),
        target_seconds=state.target_seconds,
        characters=list(characters.values()),
        settings=settings_list,
        scenes=scenes,
    )


def display_name(cue: str) -> str:
    return " ".join(part.capitalize() for part in cue.split())


def characters_from_script(script: ParsedScript, title: str, llm: StructuredLLM) -> dict[str, Character]:
    """Looks come from the script where it describes someone ('MARGIT (60s, yellow oilskin coat)'), else the LLM."""
    characters: dict[str, Character] = {}
    used_colours: set[str] = set()
    for index, cue in enumerate(script.characters):
        name = display_name(cue)
        described = script_description(script, cue)
        lines = [line.text for scene in script.scenes for line in scene.dialogue if line.character == cue]
        context = described or " / ".join(lines[:2])[:240] or "appears in the film"
        answer, _ = ask(
            llm,
            "character_look",
            LookAnswer,
            lambda n=name, i=index: defaults.look_for(n, i),
            title=title,
            name=name,
            context=context,
        )
        usable = acceptable_text(answer.look, title, name, *lines, *PROMPT_EXAMPLES)
        look = described or (answer.look if usable else defaults.look_for(name, index).look)
        colour = signature_colour(look, answer.color, used_colours)
        used_colours.add(colour)
        identifier = unique_id(slugify(name, fallback=f"character-{index + 1}"), [c.id for c in characters.values()])
        characters[cue] = Character(
            id=identifier, name=name, look=" ".join(look.split()), signature_color=COLOURS[colour]
        )
    return characters


def script_description(script: ParsedScript, cue: str) -> str:
    """The parenthetical a script gives a character at first mention in action: 'NOOR (30s, grey coat)'."""
    pattern = re.compile(rf"\b{re.escape(cue)}\s*\(([^)]{{6,160}})\)")
    for scene in script.scenes:
        for paragraph in scene.action:
            match = pattern.search(paragraph)
            if match:
                return " ".join(match.group(1).split())
    return ""


def acceptable_text(text: str, *echoes: str) -> bool:
    """A usable description: a few words, and not just the title or name the question contained."""
    lowered = text.lower().strip(" .")
    echoed = any(echo and (echo.lower() in lowered or lowered in echo.lower()) for echo in echoes)
    return len(lowered.split()) >= 3 and not echoed


def first_sentence_of(scene: ScriptScene) -> str:
    text = scene.action[0] if scene.action else ""
    return re.split(r"(?<=[.!?])\s", text.strip(), maxsplit=1)[0][:160]


def setting_key(scene: ScriptScene) -> tuple[str, bool, str]:
    return (scene.location.upper(), scene.interior, scene.time_of_day)


def settings_from_script(
    script: ParsedScript, title: str, llm: StructuredLLM
) -> tuple[dict[tuple[str, bool, str], Setting], dict[tuple[str, bool, str], str]]:
    """One setting per place and time of day; a place's look is asked once and shared across its times."""
    looks: dict[tuple[str, bool], SettingLookAnswer] = {}
    settings: dict[tuple[str, bool, str], Setting] = {}
    for scene in script.scenes:
        key = setting_key(scene)
        if key in settings:
            continue
        place = key[:2]
        if place not in looks:
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
        description = look.look if usable else first_sentence_of(scene) or look.look
        identifier = unique_id(
            slugify(f"{scene.location} {scene.time_of_day}", fallback=f"setting-{len(settings) + 1}"),
            [setting.id for setting in settings.values()],
        )
        settings[key] = Setting(
            id=identifier,
            name=display_name(scene.location) or scene.heading,
            look=" ".join(description.split()),
            time_of_day=TimeOfDay(scene.time_of_day),
            interior=scene.interior,
            palette=[COLOURS[c] for c in dict.fromkeys(look.colors)],
        )
    return settings, {key: setting.id for key, setting in settings.items()}
