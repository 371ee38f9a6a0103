"""Screenplays in Fountain: read and checked here, parsed by screenplain, mapped onto scenes by `fountain_scenes`.

The writer uses this instead of an LLM when a user brings a finished script. Malformed scripts fail loudly
with a `ScreenplayError` that says what is wrong, where, and what to change.
"""

from __future__ import annotations

import io
import re
import unicodedata
from pathlib import Path

from screenplain.parsers import fountain

from agents.writing.fountain_scenes import (
    HEADING_EXAMPLE,
    LINE_BREAK,
    LineFinder,
    build_scenes,
    collect_drafts,
    title_page_value,
)
from agents.writing.script_models import ParsedScript, ScreenplayError

MAX_BYTES = 1024 * 1024
_SCREENPLAIN_MAGIC = re.compile("[\ue700-\ue706]")
_MULTI_PARAGRAPH_NOTE = re.compile(r"\[\[(?:(?!\]\]).)*?\n[ \t]*\n.*?\]\]", re.DOTALL)


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
    drafts, transitions, sections = collect_drafts(screenplay, LineFinder(source))
    scenes = build_scenes(drafts)
    characters = list(
        dict.fromkeys(
            name for scene in scenes for name in [*scene.characters, *(line.character for line in scene.dialogue)]
        )
    )
    return ParsedScript(
        title=title_page_value(screenplay, ("Title",), " ") or default_title,
        author=title_page_value(screenplay, ("Author", "Authors"), ", "),
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
    lines = LINE_BREAK.split(text)
    return "\n".join("" if not line.strip() and line != "  " else line for line in lines)
