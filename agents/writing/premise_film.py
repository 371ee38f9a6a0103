"""A film from a premise: a story whose shape is code and whose words the model fills, one narrow question at a time.

Every being the premise names is cast; each scene is asked for under its story beat (set-up, turn, crisis,
resolution); every answer passes the prose gate or is replaced by a plain default.
"""

from __future__ import annotations

import re

from agents import defaults
from agents.answers import (
    COLOURS,
    CastAnswer,
    CharacterIdea,
    SettingsAnswer,
    TitleAnswer,
    scene_answer_model,
)
from agents.ids import slugify, unique_id
from agents.prompting import ask
from agents.state import Character, DialogueLine, Film, RunState, Scene, Setting
from agents.writing.colours import character_colour_name, style_for
from agents.writing.premise import (
    BEAT_DIRECTIONS,
    Being,
    StoryBeat,
    being_kind,
    beings_in,
    default_line,
    default_summary,
    language_of,
    story_beat,
)
from agents.writing.text_checks import (
    PROMPT_EXAMPLES,
    about_the_story,
    acceptable_text,
    describes_a_look,
    describes_a_place,
    invented_words,
    is_a_label,
    narrates_the_scene,
    talks_about_the_task,
)
from tools.llm.asking import StructuredLLM
from tools.prose import ProseKind, check_prose, names_an_owner

_NAME_CHARS = re.compile(r"[^\w' .-]|[\d_]")


_GLUED_NAME = re.compile(r"[a-zà-ÿ][A-ZÀ-Þ]")


def film_from_premise(state: RunState, llm: StructuredLLM) -> Film:
    """A story whose shape is code (set-up, turn, crisis, resolution) and whose words the model fills, gated."""
    premise = " ".join(state.premise.split())
    language = language_of(premise)
    note = language_note(language)
    titled, _ = ask(
        llm, "title", TitleAnswer, lambda: defaults.title_from_premise(premise), premise=premise, language_note=note
    )
    if invented_words(titled.title, premise, language) or is_a_label(titled.title):
        titled = titled.model_copy(update={"title": defaults.title_from_premise(premise).title})
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
    logline = logline if about_the_story(logline, premise, tuple(names)) else ""
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
        invented = not being.proper_name and (len(name.split()) > 1 or is_a_label(name))  # asked: "a first name"
        if used_default or invented or len(name) < 2 or name.lower() in taken or not slugify(name, fallback=""):
            name = being.role_name
        others = [other.phrase for other in beings if other is not being]
        usable = acceptable_text(answer.look, premise, *PROMPT_EXAMPLES, *others) and not names_an_owner(answer.look)
        usable = usable and (language != "en" or describes_a_look(answer.look))
        look = answer.look if usable and check_prose(answer.look, ProseKind.PHRASE, language=language) else ""
        look = being_look(being, look)
        if not check_prose(look, ProseKind.PHRASE):  # the critic reads the finished look in any language
            look = being_look(being, "")
        colour = character_colour_name(look, answer.color, used_colours)
        used_colours.add(colour)
        identifier = unique_id(slugify(name, fallback=f"character-{index + 1}"), [c.id for c in characters])
        characters.append(Character(id=identifier, name=name, look=look, signature_color=COLOURS[colour]))
        if being.kind == "person":
            people.add(identifier)
    return characters, people


_OPENING_WORDS = frozenset({"A", "An", "The", "His", "Her", "Their", "With"})
"""Words that open a look as a sentence would; after the premise's phrase and a comma they are lower case."""


def being_look(being: Being, look: str) -> str:
    """The premise's words for who they are come first, so a stray dog is drawn as a dog whatever else is said."""
    phrase = being.phrase if being.phrase != being.proper_name else ""
    described = look if look else defaults.being_idea(being, 0).look
    if phrase and phrase.lower() not in described.lower():
        first, _, rest = described.partition(" ")
        if first in _OPENING_WORDS:  # "grandfather, a man in a red shirt", not "grandfather, A man in a red shirt."
            described = f"{first.lower()} {rest}"
        described = f"{phrase}, {described.rstrip('.')}"
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
        colour = character_colour_name(look, idea.color, used_colours)
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
        name = " ".join(idea.name.split())[:40].strip(" .,;:!?")
        identifier = slugify(name, fallback="")
        if len(name) < 3 or not identifier or any(s.id == identifier for s in settings) or is_a_label(name):
            continue
        if name.lower().removeprefix("the ") in {t.removeprefix("the ") for t in taken}:
            continue
        if being_kind(name.split()[-1]) is not None:
            continue
        if not acceptable_text(idea.look, name, *PROMPT_EXAMPLES):
            continue
        if not check_prose(idea.look, ProseKind.PHRASE, language=language) or names_an_owner(idea.look):
            continue
        if language == "en" and not describes_a_place(idea.look):
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
        noise = not check_prose(summary, ProseKind.SENTENCE, language=language)
        noise = noise or (language == "en" and not narrates_the_scene(summary))
        if noise or repeats(summary, earlier):
            summary = default_summary(opening, beat, present_names, language, again=again)
        image = answer.image if not noise and check_prose(answer.image, ProseKind.SENTENCE, language=language) else ""
        image = "" if repeats(image, [*earlier, summary]) else image
        setting = setting_by_name[answer.setting]
        seen = " ".join([premise, setting.name, setting.look, summary, *earlier])
        if language == "en" and not (narrates_the_scene(image) and about_the_story(image, seen, tuple(names), 1)):
            image = ""  # a picture of this scene holds something of it: a name, or a word of its story or place
        dialogue: list[DialogueLine] = []
        if speaker is not None:
            line = answer.line.strip("\"' ")
            usable = not noise and spoken_line_usable(line, [*names, *setting_names]) and not repeats(line, said)
            if not usable or not check_prose(line, ProseKind.LINE, language=language):
                options = [default_line(beat, index, language) for index in (number, number + 1)]
                line = next((option for option in options if not repeats(option, said)), options[0])
            action_count = 2 if image else 1
            dialogue = [DialogueLine(character_id=speaker.id, text=line, after_action=action_count)]
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


MAX_LINE_WORDS = 20
"""A short film's line is said in a breath; the model's longer ones ramble ("Their is a lot of people who...")."""


def spoken_line_usable(line: str, names: list[str]) -> bool:
    """A line someone could say: not a bare name or place, not the question read back or talk of the film, short."""
    lowered = line.lower().strip(" .!?").removeprefix("the ")
    if len(lowered) < 2 or lowered in {name.lower().removeprefix("the ") for name in names}:
        return False
    if _NARRATED_SPEECH.search(line) or talks_about_the_task(line) or len(line.split()) > MAX_LINE_WORDS:
        return False
    return not any(marker in line.lower() for marker in ("one sentence", "scene ", "...", "story so far"))


_NARRATED_SPEECH = re.compile(
    r"\b(?:said|says|asked|asks|replied|replies|whispered|shouted)\s*[:,]?\s*['\"“‘]"
    r"|^\s*(?:he|she|they|we)\s+(?:said|says|asked|asks|told|tells)\b",
    re.I,
)
"""'She said: "I'm going"' tells of a line instead of being one."""
