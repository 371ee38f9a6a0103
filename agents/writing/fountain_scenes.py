"""Fountain paragraphs into scenes, as a director needs them.

screenplain's typesetting-oriented paragraphs (slugs, action, dialog blocks) become where a scene is, when, who
is in it, what happens and what is said.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Literal

from screenplain.parsers import fountain
from screenplain.richstring import RichString, parse_emphasis
from screenplain.types import Action, Dialog, DualDialog, PageBreak, Screenplay, Section, Slug, Transition

from agents.writing.casting_notes import INTRODUCTION
from agents.writing.script_models import ScreenplayError, ScriptLine, ScriptScene, TimeOfDayName

HEADING_EXAMPLE = "INT. KITCHEN - NIGHT"
MAX_SCENES = 60
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
_OFF_SCREEN = re.compile(r"\((?:[^)]*\W)?(?:V\.? ?O|O\.? ?S|O\.? ?C|OFF(?:[ -]?SCREEN)?|VOICE ?OVER)\.?(?:\W[^)]*)?\)")
LINE_BREAK = re.compile(r"\r\n|\n|\r")


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


class LineFinder:
    """Finds source line numbers for error messages, since screenplain does not keep them."""

    def __init__(self, source: str) -> None:
        self._lines = LINE_BREAK.split(source)
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
    return plain_text(_SCENE_NUMBER.sub("", line.upper()))


def collect_drafts(screenplay: Screenplay, finder: LineFinder) -> tuple[list[_SceneDraft], int, list[str]]:
    """Walk screenplain's paragraphs once, grouping them under their scene headings."""
    preamble = _SceneDraft(heading="", line=None)
    drafts: list[_SceneDraft] = []
    transitions = 0
    sections: list[str] = []
    for paragraph in screenplay:
        current = drafts[-1] if drafts else preamble
        match paragraph:
            case Slug():
                heading = plain_text(paragraph.line)
                drafts.append(_SceneDraft(heading=heading, line=finder.heading(heading)))
                if paragraph.synopsis:
                    drafts[-1].synopses.append(plain_text(paragraph.synopsis).strip())
                if len(drafts) > MAX_SCENES:
                    raise ScreenplayError(
                        f"The screenplay has more than {MAX_SCENES} scenes (scene {len(drafts)} is "
                        f"{drafts[-1].where}): split it into shorter films of at most {MAX_SCENES} scenes."
                    )
            case Section():
                sections.append(plain_text(paragraph.text))
            case Transition():
                transitions += 1
                current.transitions.append(plain_text(paragraph.line))
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


def _add_action(draft: _SceneDraft, action: Action, finder: LineFinder) -> int:
    """Add an action paragraph; returns how many bare transitions ('FADE OUT.') it held.

    screenplain only recognises synopses and transitions in their own paragraphs, so a '=' line under
    action, or a 'FADE OUT.' without the '>' that Fountain asks for, arrive here as action.
    """
    transitions = 0
    text: list[str] = []
    for rich in action.lines:
        line = plain_text(rich).strip()
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


def _glued_heading(line: str, finder: LineFinder) -> ScreenplayError:
    number = finder.text(line.lstrip("."))
    where = f" on line {number}" if number else ""
    return ScreenplayError(
        f"'{line}'{where} looks like a scene heading but is not on a paragraph of its own: put a blank "
        "line before and after every scene heading (a line of spaces or a tab only counts as blank if "
        "it holds no text; two spaces mean a deliberate empty line in Fountain)."
    )


def _dialogue(dialog: Dialog, *, dual: bool, current: _SceneDraft, finder: LineFinder) -> list[ScriptLine]:
    """Map one dialog block to lines, each parenthetical attached to the speech that follows it."""
    cue = plain_text(dialog.character).strip()
    if (cue.startswith(".") and not cue.startswith("..")) or any(
        regex.match(cue.upper()) for regex in fountain.slug_regexes
    ):
        raise _glued_heading(cue, finder)
    name = character_name(cue)
    off_screen = bool(_OFF_SCREEN.search(cue.upper()))
    groups: list[tuple[bool, list[str]]] = []
    for is_parenthetical, rich in dialog.blocks:
        text = plain_text(rich).strip()
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


def build_scenes(drafts: list[_SceneDraft]) -> list[ScriptScene]:
    speakers = list(dict.fromkeys(name for draft in drafts for kind, name in draft.events if kind == "speaker"))
    introduced = [
        match.group(1)
        for draft in drafts
        for paragraph in draft.action
        for match in INTRODUCTION.finditer(paragraph)
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


def plain_text(text: RichString | str) -> str:
    return str(text) if isinstance(text, RichString) else str(parse_emphasis(text))


def title_page_value(screenplay: Screenplay, keys: tuple[str, ...], separator: str) -> str:
    values = [plain_text(value).strip() for key in keys for value in screenplay.title_page.get(key, [])]
    return separator.join(value for value in values if value)
