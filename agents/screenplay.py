"""Screenplays in Fountain: screenplain parses the text, this module maps its paragraphs onto our scene models.

The writer uses this instead of an LLM when a user brings a finished script, so every decision here is about
turning screenplain's typesetting-oriented paragraphs (slugs, action, dialog blocks) into what a director
needs: where a scene is, when, who is in it, what happens and what is said. Malformed scripts fail loudly
with a `ScreenplayError` that says what is wrong, where, and what to change.
"""

from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from screenplain.parsers import fountain
from screenplain.richstring import RichString, parse_emphasis
from screenplain.types import Action, Dialog, DualDialog, PageBreak, Screenplay, Section, Slug, Transition

MAX_BYTES = 1024 * 1024
MAX_SCENES = 60
HEADING_EXAMPLE = "INT. KITCHEN - NIGHT"

TimeOfDayName = Literal["dawn", "day", "dusk", "night"]

_TIME_PATTERNS: tuple[tuple[TimeOfDayName, re.Pattern[str]], ...] = (
    ("dawn", re.compile(r"\b(DAWN|SUNRISE|DAYBREAK|FIRST LIGHT)\b")),
    ("dusk", re.compile(r"\b(DUSK|SUNSET|SUNDOWN|EVENING|TWILIGHT|NIGHTFALL|MAGIC HOUR|GOLDEN HOUR)\b")),
    ("night", re.compile(r"\b(NIGHT|MIDNIGHT|NIGHTTIME)\b")),
    ("day", re.compile(r"\b(DAY|DAYTIME|MORNING|AFTERNOON|NOON|MIDDAY)\b")),
)
_CONTINUITY = re.compile(r"\b(CONTINUOUS|LATER|SAME|SAME TIME|CONT'?D|CONTINUED)\b")
_HEADING_PREFIX = re.compile(r"^(INT\.?/EXT|EXT\.?/INT|I/E|E/I|INT|EXT|EST)\.?(?=[\s.]|$)\s*")
_INTERIOR_PREFIXES = frozenset({"INT", "INT./EXT", "INT/EXT", "I/E"})
_SEGMENT_SPLIT = re.compile(r"\s+[-\u2013\u2014]+\s+")
_BARE_TRANSITION = re.compile(r"^(FADE OUT|FADE IN|FADE TO BLACK|CUT TO BLACK|SMASH TO BLACK)[.:]?$")
_SCENE_NUMBER = re.compile(r"\s*#[\w\-.]+#\s*$")
_EXTENSION = re.compile(r"\([^)]*\)?")
_INTRODUCTION = re.compile(r"(?<![\w'’])([A-Z][A-Z.'’-]+(?: [A-Z][A-Z.'’-]+){0,2}) ?\((?=[^)]*[a-z])[^)]{3,160}\)")
"""A character's first appearance in action, in capitals with a description: 'JUNO (a grey mare, one white sock)'."""
_OFF_SCREEN = re.compile(r"\((?:[^)]*\W)?(?:V\.? ?O|O\.? ?S|O\.? ?C|OFF(?:[ -]?SCREEN)?|VOICE ?OVER)\.?(?:\W[^)]*)?\)")
_SCREENPLAIN_MAGIC = re.compile("[\ue700-\ue706]")
_MULTI_PARAGRAPH_NOTE = re.compile(r"\[\[(?:(?!\]\]).)*?\n[ \t]*\n.*?\]\]", re.DOTALL)
_LINE_BREAK = re.compile(r"\r\n|\n|\r")


class ScreenplayError(ValueError):
    """A screenplay that cannot be filmed as written; the message says what to fix."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ScriptLine(_Model):
    """One spoken line, with the parenthetical that directs its delivery."""

    character: str
    text: str
    parenthetical: str = ""
    dual: bool = False
    off_screen: bool = Field(default=False, description="Heard, not seen: a V.O., O.S. or O.C. cue.")
    after_action: int = Field(
        default=0, ge=0, description="How many of the scene's action paragraphs come before this line."
    )


class ScriptScene(_Model):
    """One scene as a director plans it: place, light, people, action and speech."""

    number: int = Field(ge=1)
    heading: str
    location: str
    interior: bool
    time_of_day: TimeOfDayName
    action: list[str] = Field(default_factory=list)
    dialogue: list[ScriptLine] = Field(default_factory=list)
    characters: list[str] = Field(default_factory=list, description="In order of first appearance.")
    transition: str = Field(default="", description="The transition out of this scene, e.g. 'CUT TO:'.")
    synopsis: str = ""


class ParsedScript(_Model):
    """A whole screenplay, ready for the writer to turn into a `Film`."""

    title: str
    author: str = ""
    scenes: list[ScriptScene]
    characters: list[str] = Field(description="Every character, in order of first appearance.")
    transitions: int = Field(ge=0)
    sections: list[str] = Field(default_factory=list)


@dataclass
class _SceneDraft:
    """A scene being collected, with the order in which action and speakers occur."""

    heading: str
    line: int | None
    action: list[str] = field(default_factory=list)
    dialogue: list[ScriptLine] = field(default_factory=list)
    events: list[tuple[Literal["action", "speaker"], str]] = field(default_factory=list)
    transitions: list[str] = field(default_factory=list)
    synopses: list[str] = field(default_factory=list)

    def add_action(self, text: str) -> None:
        self.action.append(text)
        self.events.append(("action", text))

    def add_lines(self, lines: list[ScriptLine]) -> None:
        """Add spoken lines; a voice over or off screen is heard in the scene, not seen in it."""
        for line in lines:
            line.after_action = len(self.action)
            self.dialogue.append(line)
            if not line.off_screen:
                self.events.append(("speaker", line.character))

    @property
    def where(self) -> str:
        return f"'{self.heading}'" + (f" (line {self.line})" if self.line else "")


def parse_fountain(text: str, *, default_title: str = "Untitled") -> ParsedScript:
    """Parse a Fountain screenplay into scenes.

    Args:
        text: The screenplay source.
        default_title: Used when the script has no title page with a `Title:` key.

    Raises:
        ScreenplayError: The text is empty, binary, too long, has no scene headings, more than
            `MAX_SCENES` scenes, or a scene with neither action nor dialogue.
    """
    source = _checked_source(text)
    screenplay = fountain.parse(io.StringIO(_prepared_for_screenplain(source)))
    drafts, transitions, sections = _collect(screenplay, _LineFinder(source))
    scenes = _build_scenes(drafts)
    characters = list(
        dict.fromkeys(
            name for scene in scenes for name in [*scene.characters, *(line.character for line in scene.dialogue)]
        )
    )
    return ParsedScript(
        title=_title_page_value(screenplay, ("Title",), " ") or default_title,
        author=_title_page_value(screenplay, ("Author", "Authors"), ", "),
        scenes=scenes,
        characters=characters,
        transitions=transitions,
        sections=sections,
    )


def read_screenplay(path: Path) -> ParsedScript:
    """Read and parse a UTF-8 Fountain file; errors name the path and say what to do.

    Raises:
        ScreenplayError: The file is missing, unreadable, not UTF-8 text, or not a valid screenplay.
    """
    path = Path(path)
    try:
        if path.is_dir():
            raise ScreenplayError(f"{path} is a folder, not a screenplay: pass the path of a .fountain file.")
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise ScreenplayError(
                f"{path} is {size / MAX_BYTES:.1f} MB; screenplays over 1 MB are not accepted. "
                "Check that this is a screenplay, or split it into shorter films."
            )
        data = path.read_bytes()
    except FileNotFoundError as error:
        raise ScreenplayError(f"No screenplay at {path}: check the path and the file name.") from error
    except OSError as error:
        raise ScreenplayError(
            f"Cannot read {path} ({error.strerror or error}): check its permissions, or copy it somewhere readable."
        ) from error
    if b"\x00" in data or data.startswith(b"%PDF"):
        raise ScreenplayError(
            f"{path} is a binary file, not a Fountain screenplay: if it is a PDF, Final Draft or Word file, "
            "export it as Fountain (.fountain) or plain text first."
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise ScreenplayError(
            f"{path} is not UTF-8 text (undecodable byte at line {line}): re-save it as UTF-8 "
            "from your editor, or export it from your screenwriting app as Fountain."
        ) from error
    title = path.stem.replace("_", " ").replace("-", " ").strip().title() or "Untitled"
    try:
        return parse_fountain(text, default_title=title)
    except ScreenplayError as error:
        raise ScreenplayError(f"{path}: {error}") from error


def _checked_source(text: str) -> str:
    """Reject input that is not a plausible screenplay before screenplain sees it."""
    if not isinstance(text, str):
        raise ScreenplayError(
            f"The screenplay must be text, not {type(text).__name__}: decode it as UTF-8 first, "
            "or use read_screenplay(path)."
        )
    text = text.removeprefix("\ufeff")
    if len(text) > MAX_BYTES:
        raise _oversize(len(text))
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError as error:
        raise ScreenplayError(
            f"The screenplay contains invalid characters (line {text.count(chr(10), 0, error.start) + 1}): "
            "it was probably decoded from a binary file; re-save it as UTF-8 text."
        ) from error
    if size > MAX_BYTES:
        raise _oversize(size)
    if not text.strip():
        raise ScreenplayError(
            "The screenplay is empty: write at least one scene heading such as "
            f"'{HEADING_EXAMPLE}' followed by a line of action or dialogue."
        )
    sample = text[:65536]
    odd = sum(1 for ch in sample if ch == "\ufffd" or (unicodedata.category(ch) == "Cc" and ch not in "\t\n\r\f\v"))
    if "\x00" in text or odd > max(2, len(sample) // 100):
        raise ScreenplayError(
            "The screenplay looks like binary data, not text: if it is a PDF, Final Draft or Word file, "
            "export it as Fountain (.fountain) or plain text first."
        )
    return text


def _oversize(size: int) -> ScreenplayError:
    return ScreenplayError(
        f"The screenplay is {size / MAX_BYTES:.1f} MB; screenplays over 1 MB are not accepted. "
        "Check that this is a screenplay, or split it into shorter films."
    )


def _prepared_for_screenplain(text: str) -> str:
    """Work around screenplain's rough edges without changing what the script means.

    screenplain crashes on its own private-use style markers, keeps notes that span a blank line as action,
    and treats a line of spaces or a tab as text, which glues a heading to the paragraph below it.
    Exactly two spaces stay: Fountain uses them for a deliberate empty line inside dialogue.
    """
    text = _SCREENPLAIN_MAGIC.sub("", text)
    text = _MULTI_PARAGRAPH_NOTE.sub("", text)
    lines = _LINE_BREAK.split(text)
    return "\n".join("" if not line.strip() and line != "  " else line for line in lines)


class _LineFinder:
    """Finds source line numbers for error messages, since screenplain does not keep them."""

    def __init__(self, source: str) -> None:
        self._lines = _LINE_BREAK.split(source)
        self._cursor = 0

    def heading(self, heading: str) -> int | None:
        for index in range(self._cursor, len(self._lines)):
            if _as_heading(self._lines[index]) == heading:
                self._cursor = index + 1
                return index + 1
        return None

    def text(self, needle: str) -> int | None:
        for index in range(max(self._cursor - 1, 0), len(self._lines)):
            if needle in self._lines[index]:
                return index + 1
        return None


def _as_heading(line: str) -> str:
    line = line.strip()
    if line.startswith(".") and not line.startswith(".."):
        line = line[1:].strip()
    return _plain(_SCENE_NUMBER.sub("", line.upper()))


def _collect(screenplay: Screenplay, finder: _LineFinder) -> tuple[list[_SceneDraft], int, list[str]]:
    """Walk screenplain's paragraphs once, grouping them under their scene headings."""
    preamble = _SceneDraft(heading="", line=None)
    drafts: list[_SceneDraft] = []
    transitions = 0
    sections: list[str] = []
    for paragraph in screenplay:
        current = drafts[-1] if drafts else preamble
        match paragraph:
            case Slug():
                heading = _plain(paragraph.line)
                drafts.append(_SceneDraft(heading=heading, line=finder.heading(heading)))
                if paragraph.synopsis:
                    drafts[-1].synopses.append(_plain(paragraph.synopsis).strip())
                if len(drafts) > MAX_SCENES:
                    raise ScreenplayError(
                        f"The screenplay has more than {MAX_SCENES} scenes (scene {len(drafts)} is "
                        f"{drafts[-1].where}): split it into shorter films of at most {MAX_SCENES} scenes."
                    )
            case Section():
                sections.append(_plain(paragraph.text))
            case Transition():
                transitions += 1
                current.transitions.append(_plain(paragraph.line))
            case Action():
                transitions += _add_action(current, paragraph, finder)
            case Dialog():
                current.add_lines(_dialogue(paragraph, dual=False, current=current, finder=finder))
            case DualDialog():
                for side in (paragraph.left, paragraph.right):
                    current.add_lines(_dialogue(side, dual=True, current=current, finder=finder))
            case PageBreak():
                pass
    if not drafts:
        raise ScreenplayError(
            "The screenplay has no scene headings: a Fountain screenplay needs at least one scene heading "
            f"such as '{HEADING_EXAMPLE}' on its own line, with a blank line before and after it. "
            "If this is a PDF, Final Draft or Word file, export it as Fountain first."
        )
    first = drafts[0]
    first.action[:0] = preamble.action
    first.dialogue[:0] = preamble.dialogue
    first.events[:0] = preamble.events
    return drafts, transitions, sections


def _add_action(draft: _SceneDraft, action: Action, finder: _LineFinder) -> int:
    """Add an action paragraph; returns how many bare transitions ('FADE OUT.') it held.

    screenplain only recognises synopses and transitions in their own paragraphs, so a '=' line under
    action, or a 'FADE OUT.' without the '>' that Fountain asks for, arrive here as action.
    """
    transitions = 0
    text: list[str] = []
    for rich in action.lines:
        line = _plain(rich).strip()
        if not line:
            continue
        if not action.centered and line.startswith("=") and not line.startswith("=="):
            draft.synopses.append(line[1:].strip())
        elif not action.centered and _BARE_TRANSITION.match(line):
            draft.transitions.append(line)
            transitions += 1
        elif line.isupper() and any(regex.match(line) for regex in fountain.slug_regexes):
            raise _glued_heading(line, finder)
        else:
            text.append(line)
    if text:
        draft.add_action(" ".join(text))
    return transitions


def _glued_heading(line: str, finder: _LineFinder) -> ScreenplayError:
    number = finder.text(line.lstrip("."))
    where = f" on line {number}" if number else ""
    return ScreenplayError(
        f"'{line}'{where} looks like a scene heading but is not on a paragraph of its own: put a blank "
        "line before and after every scene heading (a line of spaces or a tab only counts as blank if "
        "it holds no text; two spaces mean a deliberate empty line in Fountain)."
    )


def _dialogue(dialog: Dialog, *, dual: bool, current: _SceneDraft, finder: _LineFinder) -> list[ScriptLine]:
    """Map one dialog block to lines, each parenthetical attached to the speech that follows it."""
    cue = _plain(dialog.character).strip()
    if (cue.startswith(".") and not cue.startswith("..")) or any(
        regex.match(cue.upper()) for regex in fountain.slug_regexes
    ):
        raise _glued_heading(cue, finder)
    name = character_name(cue)
    off_screen = bool(_OFF_SCREEN.search(cue.upper()))
    groups: list[tuple[bool, list[str]]] = []
    for is_parenthetical, rich in dialog.blocks:
        text = _plain(rich).strip()
        if not text:
            continue
        if groups and groups[-1][0] == is_parenthetical:
            groups[-1][1].append(text)
        else:
            groups.append((is_parenthetical, [text]))
    lines: list[ScriptLine] = []
    pending = ""
    for is_parenthetical, texts in groups:
        if is_parenthetical:
            pending = _parenthetical(texts)
        else:
            lines.append(
                ScriptLine(
                    character=name, text=" ".join(texts), parenthetical=pending, dual=dual, off_screen=off_screen
                )
            )
            pending = ""
    if pending and lines:
        last = lines[-1]
        last.parenthetical = "; ".join(part for part in (last.parenthetical, pending) if part)
    elif pending:
        current.events.append(("speaker", name))
        current.add_action(f"{name} ({pending})")
    return lines


def _parenthetical(pieces: Iterable[str]) -> str:
    """Join parenthetical lines without their brackets: '(quietly,' + 'to herself)' is one direction."""
    directions: list[str] = []
    words: list[str] = []
    for piece in pieces:
        words.append(piece.removeprefix("(").removesuffix(")").strip())
        if piece.endswith(")"):
            directions.append(" ".join(word for word in words if word))
            words = []
    if words:
        directions.append(" ".join(word for word in words if word))
    return "; ".join(direction for direction in directions if direction)


def character_name(cue: str) -> str:
    """Normalise a character cue: 'MAI (V.O.)', 'mai (CONT'D) ^' and '@Mai' all name 'MAI'."""
    name = cue.strip().removeprefix("@").rstrip("^ ")
    name = " ".join(_EXTENSION.sub(" ", name).split()).upper()
    return name or " ".join(cue.split()).upper()


def _build_scenes(drafts: list[_SceneDraft]) -> list[ScriptScene]:
    speakers = list(dict.fromkeys(name for draft in drafts for kind, name in draft.events if kind == "speaker"))
    introduced = [
        match.group(1)
        for draft in drafts
        for paragraph in draft.action
        for match in _INTRODUCTION.finditer(paragraph)
        if not _HEADING_PREFIX.match(match.group(1))
    ]
    mention = _mention_pattern(list(dict.fromkeys([*speakers, *introduced])))
    scenes: list[ScriptScene] = []
    previous: TimeOfDayName = "day"
    for number, draft in enumerate(drafts, start=1):
        if not draft.action and not draft.dialogue:
            raise ScreenplayError(
                f"Scene {number} {draft.where} has no action or dialogue: write at least one line of action "
                "under the heading, or delete the heading."
            )
        interior, location, time_of_day = parse_heading(draft.heading, previous)
        previous = time_of_day
        scenes.append(
            ScriptScene(
                number=number,
                heading=draft.heading,
                location=location,
                interior=interior,
                time_of_day=time_of_day,
                action=draft.action,
                dialogue=draft.dialogue,
                characters=list(dict.fromkeys(_appearances(draft.events, mention))),
                transition=" ".join(draft.transitions),
                synopsis=" ".join(draft.synopses),
            )
        )
    return scenes


def _mention_pattern(speakers: list[str]) -> dict[str, re.Pattern[str]]:
    """Match a speaker named in action, as introduced ('MAI') or as written afterwards ('Mai')."""
    return {name: re.compile(rf"(?<!\w)(?:{re.escape(name)}|{re.escape(name.title())})(?!\w)") for name in speakers}


def _appearances(
    events: list[tuple[Literal["action", "speaker"], str]], mention: dict[str, re.Pattern[str]]
) -> Iterator[str]:
    for kind, value in events:
        if kind == "speaker":
            yield value
            continue
        found = ((match.start(), name) for name, pattern in mention.items() if (match := pattern.search(value)))
        yield from (name for _, name in sorted(found))


def without_introductions(text: str) -> str:
    """Action as a viewer reads it: 'MARGIT (60s, yellow coat) peels' becomes 'Margit peels'.

    The parenthetical is the casting note of a character's first appearance; on screen it is the look, not words.
    """
    return _INTRODUCTION.sub(lambda match: match.group(1).title(), text)


def parse_heading(heading: str, previous: TimeOfDayName = "day") -> tuple[bool, str, TimeOfDayName]:
    """Split a scene heading into (interior, location, time of day).

    'CONTINUOUS', 'LATER' and the like keep the previous scene's time; an unknown time is day. A forced
    heading without INT./EXT. counts as exterior.
    """
    heading = " ".join(heading.upper().split())
    prefix = _HEADING_PREFIX.match(heading)
    interior = bool(prefix) and prefix.group(1) in _INTERIOR_PREFIXES
    rest = heading[prefix.end() :] if prefix else heading
    segments = [segment.strip(" .-") for segment in _SEGMENT_SPLIT.split(rest)]
    time_of_day: TimeOfDayName | None = None
    continuous = False
    while len(segments) > 1:
        words = re.sub(r"\([^)]*\)", " ", segments[-1])
        found = next((value for value, pattern in _TIME_PATTERNS if pattern.search(words)), None)
        if found is None and not _CONTINUITY.search(words):
            break
        time_of_day = time_of_day or found
        continuous = continuous or found is None
        segments.pop()
    location = " - ".join(segment for segment in segments if segment) or heading
    return interior, location, time_of_day or (previous if continuous else "day")


def _plain(text: RichString | str) -> str:
    return str(text) if isinstance(text, RichString) else str(parse_emphasis(text))


def _title_page_value(screenplay: Screenplay, keys: tuple[str, ...], separator: str) -> str:
    values = [_plain(value).strip() for key in keys for value in screenplay.title_page.get(key, [])]
    return separator.join(value for value in values if value)
