"""The writer: a premise becomes a story through narrow questions; a screenplay is parsed, not rewritten."""

from __future__ import annotations

import re

from langgraph.runtime import Runtime

from agents import defaults
from agents.answers import (
    COLOURS,
    CastAnswer,
    CharacterIdea,
    LoglineAnswer,
    LookAnswer,
    SettingLookAnswer,
    SettingsAnswer,
    TitleAnswer,
    scene_answer_model,
)
from agents.context import Context
from agents.premise import (
    BEAT_DIRECTIONS,
    Being,
    StoryBeat,
    beings_in,
    default_line,
    default_summary,
    language_of,
    story_beat,
)
from agents.prompting import ask
from agents.screenplay import ParsedScript, ScriptScene, parse_fountain
from agents.state import Character, DialogueLine, Film, RunState, Scene, Setting, StyleBible, slugify, unique_id
from tools.llm.client import StructuredLLM
from tools.prose import ProseKind, check_prose, names_an_owner, split_sentences
from tools.render.spec import TimeOfDay

_NAME_CHARS = re.compile(r"[^\w' .-]|[\d_]")
_GLUED_NAME = re.compile(r"[a-zà-ÿ][A-ZÀ-Þ]")
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
    """A story whose shape is code (set-up, turn, crisis, resolution) and whose words the model fills, gated."""
    premise = " ".join(state.premise.split())
    language = language_of(premise)
    note = language_note(language)
    titled, _ = ask(
        llm, "title", TitleAnswer, lambda: defaults.title_from_premise(premise), premise=premise, language_note=note
    )
    characters, people = cast_premise(premise, language, llm)
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
    settings = settings_from_answer(settings_answer, names, language) or settings_from_answer(
        defaults.settings_from_premise(premise)
    )
    scenes = scenes_from_premise(
        premise, scene_count(state.target_seconds), characters, people, settings, llm, language=language
    )
    logline = titled.logline if check_prose(titled.logline, ProseKind.SENTENCE, language=language) else ""
    logline = logline if not logline or logline[-1] in ".!?" else f"{logline}."
    return Film(
        id=state.film_id,
        title=titled.title.strip().rstrip(".") or "Untitled",
        logline=logline or defaults.title_from_premise(premise).logline,
        premise=premise,
        style=style_for(state, settings),
        target_seconds=state.target_seconds,
        characters=characters,
        settings=settings,
        scenes=scenes,
    )


LANGUAGE_NAMES = {"de": "German", "fr": "French", "es": "Spanish", "it": "Italian", "pt": "Portuguese", "nl": "Dutch"}


def language_note(language: str) -> str:
    """The instruction that keeps a premise's language: nothing for English, else 'Write in German.'."""
    if language == "en":
        return ""
    return f" Write in {LANGUAGE_NAMES.get(language, 'the language of the premise')}."


def cast_premise(premise: str, language: str, llm: StructuredLLM) -> tuple[list[Character], set[str]]:
    """Every being the premise names becomes a character; the model names and dresses each, one at a time.

    Returns the characters and the ids of those who are people (only people speak). A premise that names no
    one is cast by the model, as two people.
    """
    beings = beings_in(premise, language)
    if not beings:
        answer, _ = ask(llm, "cast", CastAnswer, lambda: defaults.cast_from_premise(premise), premise=premise, count=2)
        characters = cast_from_answer(answer) or cast_from_answer(defaults.cast_from_premise(premise))
        return characters, {c.id for c in characters}
    characters: list[Character] = []
    people: set[str] = set()
    used_colours: set[str] = set()
    for index, being in enumerate(beings):
        answer, used_default = ask(
            llm,
            "character",
            CharacterIdea,
            lambda b=being, i=index: defaults.being_idea(b, i),
            premise=premise,
            phrase=being.phrase,
            kind="a person" if being.kind == "person" else "an animal",
            name_hint="a pet's name" if being.kind == "animal" else "a first name",
            example="brindle coat, one white paw, a frayed rope collar"
            if being.kind == "animal"
            else "a yellow rain hat, paint on his hands",
            language_note=language_note(language),
        )
        taken = {c.name.lower() for c in characters}
        name = being.proper_name or clean_name(answer.name)
        if used_default or len(name) < 2 or name.lower() in taken or not slugify(name, fallback=""):
            name = being.role_name
        others = [other.phrase for other in beings if other is not being]
        usable = acceptable_text(answer.look, premise, *PROMPT_EXAMPLES, *others) and not names_an_owner(answer.look)
        look = answer.look if usable and check_prose(answer.look, ProseKind.PHRASE, language=language) else ""
        look = being_look(being, look)
        if not check_prose(look, ProseKind.PHRASE):  # the critic reads the finished look in any language
            look = being_look(being, "")
        colour = signature_colour(look, answer.color, used_colours)
        used_colours.add(colour)
        identifier = unique_id(slugify(name, fallback=f"character-{index + 1}"), [c.id for c in characters])
        characters.append(Character(id=identifier, name=name, look=look, signature_color=COLOURS[colour]))
        if being.kind == "person":
            people.add(identifier)
    return characters, people


def being_look(being: Being, look: str) -> str:
    """The premise's words for who they are come first, so a stray dog is drawn as a dog whatever else is said."""
    phrase = being.phrase if being.phrase != being.proper_name else ""
    described = look if look else defaults.being_idea(being, 0).look
    if phrase and phrase.lower() not in described.lower():
        described = f"{phrase}, {described}"
    return " ".join(described.split())


def scene_count(target_seconds: float) -> int:
    return max(3, min(8, round(target_seconds / 9)))


def clean_name(raw: str) -> str:
    """A name a person would go by: letters (any alphabet), at most two words and 24 characters, never cut.

    Anything longer, or glued ('TheGoat'), is no name: the caller falls back to the character's role.
    """
    name = " ".join(_NAME_CHARS.sub(" ", raw).split()).strip(" .-'")
    if len(name) > 24 or len(name.split()) > 2 or _GLUED_NAME.search(name) or not name[:1].isupper():
        return ""
    return name


_SMALL_WORDS = {"a", "an", "the", "and", "of", "on", "in", "with", "her", "his", "one"}
PROMPT_EXAMPLES = (
    "brindle coat, one white paw, a frayed rope collar",
    "a yellow rain hat, paint on his hands",
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


def settings_from_answer(
    answer: SettingsAnswer, character_names: list[str] = (), language: str | None = None
) -> list[Setting]:
    """Places with distinct names and usable looks (in the film's `language`); a character's name is no place."""
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
        if not check_prose(idea.look, ProseKind.PHRASE, language=language) or names_an_owner(idea.look):
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
    premise: str,
    total: int,
    characters: list[Character],
    people: set[str],
    settings: list[Setting],
    llm: StructuredLLM,
    *,
    language: str = "en",
) -> list[Scene]:
    """One narrow question per scene, shaped by its story beat; people and places are enums of what exists.

    The set-up brings everyone on; every scene with a person in it has a line, said by a person; a summary,
    picture or line that fails the prose gate or leaves the premise's language is replaced by a plain one.
    """
    names = [c.name for c in characters]
    speakers = [c.name for c in characters if c.id in people]
    setting_names = [s.name for s in settings]
    schema = scene_answer_model(setting_names, names, speakers)
    by_name = {c.name: c for c in characters}
    setting_by_name = {s.name: s for s in settings}
    opening = defaults.first_sentence(premise)
    scenes: list[Scene] = []
    for number in range(1, total + 1):
        beat = story_beat(number, total)
        story_so_far = " ".join(f"({s.number}) {s.summary}" for s in scenes[-3:]) or "(this is the first scene)"

        again = any(story_beat(n, total) == beat for n in range(1, number))

        def fallback(number: int = number, beat: StoryBeat = beat, again: bool = again) -> object:
            return schema.model_validate(
                defaults.scene_from_premise(opening, number, beat, setting_names, names, speakers, language, again)
            )

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
            beat=BEAT_DIRECTIONS[beat],
            speaker_part=", and one line a character says" if speakers else "",
            language_note=language_note(language),
        )
        chosen = [by_name[n].id for n in answer.characters]
        speaker = by_name[answer.speaker] if speakers else None
        present = list(dict.fromkeys([*([speaker.id] if speaker else []), *chosen]))
        if number == 1:
            present = list(dict.fromkeys([*present, *(c.id for c in characters)]))
        present_names = [c.name for c in characters if c.id in present]
        earlier = [text for s in scenes for text in s.action]
        said = [line.text for s in scenes for line in s.dialogue]
        summary = answer.summary
        if not check_prose(summary, ProseKind.SENTENCE, language=language) or repeats(summary, earlier):
            summary = default_summary(opening, beat, present_names, language, again=again)
        image = answer.image if check_prose(answer.image, ProseKind.SENTENCE, language=language) else ""
        image = "" if repeats(image, [*earlier, summary]) else image
        dialogue: list[DialogueLine] = []
        if speaker is not None:
            line = answer.line.strip("\"' ")
            usable = spoken_line_usable(line, [*names, *setting_names]) and not repeats(line, said)
            if not usable or not check_prose(line, ProseKind.LINE, language=language):
                options = [default_line(beat, index, language) for index in (number, number + 1)]
                line = next((option for option in options if not repeats(option, said)), options[0])
            action_count = 2 if image else 1
            dialogue = [DialogueLine(character_id=speaker.id, text=line, after_action=action_count)]
        setting = setting_by_name[answer.setting]
        scenes.append(
            Scene(
                id=f"s{number:02d}",
                number=number,
                heading=setting.name.upper(),
                setting_id=setting.id,
                character_ids=present,
                summary=summary,
                action=[summary, *([image] if image else [])],
                dialogue=dialogue,
            )
        )
    return scenes


def repeats(text: str, earlier: list[str]) -> bool:
    """Whether `text` says again what an earlier text said (the same first 48 characters, any case)."""
    return bool(text) and any(text[:48].lower() == other[:48].lower() for other in earlier)


def spoken_line_usable(line: str, names: list[str]) -> bool:
    """A line someone could say: not a bare name or place, not the question read back, not trailing off."""
    lowered = line.lower().strip(" .!?").removeprefix("the ")
    if len(lowered) < 2 or lowered in {name.lower().removeprefix("the ") for name in names}:
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
    settings_list = list(settings.values())
    return Film(
        id=state.film_id,
        title=title,
        logline=" ".join((written or script_logline(script, title)).split()),
        screenplay=state.screenplay,
        style=style_for(state, settings_list),
        target_seconds=state.target_seconds,
        characters=list(characters.values()),
        settings=settings_list,
        scenes=scenes,
    )


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
    """A usable description: a few words, not just the title or name the question contained, and no example.

    A small model copies the prompt's example look piecemeal ("a white paw" on a parrot), so any two words in
    a row from an example (`PROMPT_EXAMPLES`) make the text a copy.
    """
    lowered = text.lower().strip(" .")
    echoed = any(echo and (echo.lower() in lowered or lowered in echo.lower()) for echo in echoes)
    words = re.findall(r"[^\W\d_]+", lowered)
    pairs = {f"{a} {b}" for a, b in zip(words, words[1:], strict=False) if not {a, b} <= _SMALL_WORDS}
    copied = any(pair in " ".join(re.findall(r"[^\W\d_]+", example)) for example in PROMPT_EXAMPLES for pair in pairs)
    return len(lowered.split()) >= 3 and not echoed and not copied


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


def settings_from_script(
    script: ParsedScript, title: str, llm: StructuredLLM
) -> tuple[dict[tuple[str, bool, str], Setting], dict[tuple[str, bool, str], str]]:
    """One setting per place and time of day; a place's look is asked once and shared across its times.

    The script's own description of the place is its look; the model's words fill in only where the script
    gives none, and its colours make the palette.
    """
    people = [*script.characters, *(display_name(cue) for cue in script.characters)]
    looks: dict[tuple[str, bool], SettingLookAnswer] = {}
    described: dict[tuple[str, bool], str] = {}
    settings: dict[tuple[str, bool, str], Setting] = {}
    for scene in script.scenes:
        key = setting_key(scene)
        if key in settings:
            continue
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
        description = described[place] or (look.look if usable else defaults.setting_look_for("", scene.interior).look)
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
