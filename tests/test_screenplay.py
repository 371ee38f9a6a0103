"""Fountain screenplays through the real screenplain parser, mapped onto our scene models."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from agents.writing.fountain_scenes import MAX_SCENES, character_name, parse_heading
from agents.writing.screenplay import MAX_BYTES, parse_fountain, read_screenplay
from agents.writing.script_models import ParsedScript, ScreenplayError, ScriptLine, ScriptScene

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "the_last_ferry.fountain"


def fountain(*paragraphs: str) -> str:
    return "\n\n".join(paragraphs) + "\n"


def one_scene(*paragraphs: str, heading: str = "INT. KITCHEN - NIGHT") -> ScriptScene:
    script = parse_fountain(fountain(heading, *paragraphs))
    assert len(script.scenes) == 1
    return script.scenes[0]


# Title page


def test_title_page_gives_title_and_author() -> None:
    text = fountain(
        "Title: The Kettle\nCredit: Written by\nAuthor: Ada Quill\nDraft date: 1 May 2026",
        "INT. KITCHEN - NIGHT",
        "A kettle starts to sing.",
    )
    script = parse_fountain(text)
    assert script.title == "The Kettle"
    assert script.author == "Ada Quill"
    assert script.scenes[0].action == ["A kettle starts to sing."]


def test_title_page_multi_line_values_and_emphasis_are_plain_text() -> None:
    text = fountain(
        "Title:\n    _**BRICK & STEEL**_\n    _**FULL RETIRED**_\nAuthors:\n    Ada Quill\n    Ben Ink",
        "EXT. PATIO - DAY",
        "Sun.",
    )
    script = parse_fountain(text)
    assert script.title == "BRICK & STEEL FULL RETIRED"
    assert script.author == "Ada Quill, Ben Ink"


def test_without_a_title_page_the_default_title_is_used() -> None:
    text = fountain("INT. KITCHEN - NIGHT", "A kettle.")
    assert parse_fountain(text).title == "Untitled"
    assert parse_fountain(text, default_title="Kettle").title == "Kettle"
    assert parse_fountain(text).author == ""


def test_title_page_glued_to_the_first_heading_is_reported() -> None:
    with pytest.raises(ScreenplayError, match=r"line 2.*blank line before and after"):
        parse_fountain("Title: Oops\nINT. KITCHEN - NIGHT\n\nA kettle.\n")


# Scene headings


@pytest.mark.parametrize(
    ("heading", "interior", "location", "time_of_day"),
    [
        ("INT. KITCHEN - NIGHT", True, "KITCHEN", "night"),
        ("EXT. HARBOUR - DAY", False, "HARBOUR", "day"),
        ("INT./EXT. CAR - DUSK", True, "CAR", "dusk"),
        ("INT/EXT CAR - DAWN", True, "CAR", "dawn"),
        ("I/E VAN - NIGHT", True, "VAN", "night"),
        ("EST. CITY SKYLINE - SUNRISE", False, "CITY SKYLINE", "dawn"),
        ("int. attic - morning", True, "ATTIC", "day"),
        ("EXT. PIER - EVENING", False, "PIER", "dusk"),
        ("EXT. PIER - SUNSET", False, "PIER", "dusk"),
        ("EXT. ROOF - LATE NIGHT", False, "ROOF", "night"),
        ("INT. HOSPITAL - WARD 4 - AFTERNOON", True, "HOSPITAL - WARD 4", "day"),
        ("INT. HALL \u2013 NIGHT", True, "HALL", "night"),
        ("EXT. FIELD - NIGHT (FLASHBACK)", False, "FIELD", "night"),
        ("INT. OFFICE - SOMETIME", True, "OFFICE - SOMETIME", "day"),
        ("INT. OFFICE", True, "OFFICE", "day"),
    ],
)
def test_heading_variants(heading: str, interior: bool, location: str, time_of_day: str) -> None:
    scene = one_scene("Something happens.", heading=heading)
    assert scene.heading == heading.upper()
    assert (scene.interior, scene.location, scene.time_of_day) == (interior, location, time_of_day)


def test_forced_heading_with_a_leading_period() -> None:
    scene = one_scene("Waves.", heading=".FLASHBACK - A BEACH - DUSK")
    assert scene.heading == "FLASHBACK - A BEACH - DUSK"
    assert scene.interior is False
    assert scene.location == "FLASHBACK - A BEACH"
    assert scene.time_of_day == "dusk"


def test_ellipsis_is_action_not_a_forced_heading() -> None:
    scene = one_scene("...and then silence.")
    assert scene.action == ["...and then silence."]


def test_scene_numbers_are_dropped_and_scenes_are_numbered_in_order() -> None:
    script = parse_fountain(fountain("INT. A - DAY #12A#", "One.", "EXT. B - NIGHT #7#", "Two."))
    assert [(s.number, s.heading, s.location) for s in script.scenes] == [
        (1, "INT. A - DAY", "A"),
        (2, "EXT. B - NIGHT", "B"),
    ]


@pytest.mark.parametrize("word", ["CONTINUOUS", "LATER", "MOMENTS LATER", "SAME TIME"])
def test_continuity_times_keep_the_previous_scene_time(word: str) -> None:
    script = parse_fountain(
        fountain("EXT. STREET - NIGHT", "Rain.", f"INT. SHOP - {word}", "Drips.", f"INT. BACK ROOM - {word}", "Dark.")
    )
    assert [s.time_of_day for s in script.scenes] == ["night", "night", "night"]
    assert script.scenes[1].location == "SHOP"


def test_continuity_after_an_explicit_time_uses_that_time() -> None:
    script = parse_fountain(fountain("EXT. STREET - DAY", "Sun.", "INT. SHOP - DUSK - CONTINUOUS", "Dim."))
    assert script.scenes[1].time_of_day == "dusk"
    assert script.scenes[1].location == "SHOP"


def test_continuous_first_scene_defaults_to_day() -> None:
    assert one_scene("Steam.", heading="INT. KITCHEN - CONTINUOUS").time_of_day == "day"


def test_parse_heading_directly() -> None:
    assert parse_heading("INT. KITCHEN - CONTINUOUS", previous="dusk") == (True, "KITCHEN", "dusk")
    assert parse_heading("EXT. DOCKS - DAYBREAK") == (False, "DOCKS", "dawn")


# Action


def test_action_paragraph_lines_are_joined_into_one_beat() -> None:
    scene = one_scene("The kettle whistles.\nMAI turns it off.", "She sits.")
    assert scene.action == ["The kettle whistles. MAI turns it off.", "She sits."]


def test_emphasis_markers_are_removed_from_text() -> None:
    scene = one_scene("The *kettle* is **very** _hot_.", "MAI\nIt's *boiling*.")
    assert scene.action == ["The kettle is very hot."]
    assert scene.dialogue[0].text == "It's boiling."


def test_centered_action_is_kept_as_action() -> None:
    scene = one_scene("The room waits.", "> THE END <")
    assert scene.action == ["The room waits.", "THE END"]
    assert scene.transition == ""


def test_forced_action_with_an_exclamation_mark() -> None:
    scene = one_scene("!SCREAMING KETTLE\nIT WILL NOT STOP")
    assert scene.action == ["SCREAMING KETTLE IT WILL NOT STOP"]
    assert scene.dialogue == []


# Characters and dialogue


def test_character_extensions_are_normalised() -> None:
    scene = one_scene(
        "MAI (V.O.)\nI never liked this house.",
        "TOMAS (O.S.)\nMai?",
        "MAI (CONT'D)\nNot once.",
        "@McCLANE\nYippee.",
    )
    assert [line.character for line in scene.dialogue] == ["MAI", "TOMAS", "MAI", "MCCLANE"]
    assert [line.off_screen for line in scene.dialogue] == [True, True, False, False]
    assert scene.characters == ["MAI", "MCCLANE"], "a voice over or off screen is heard, not seen"


@pytest.mark.parametrize(
    ("cue", "name"),
    [
        ("MAI", "MAI"),
        ("MAI (V.O.)", "MAI"),
        ("MAI (CONT'D)", "MAI"),
        ("MAI (CONT\u2019D)", "MAI"),
        ("MAI (V.O.) (CONT'D)", "MAI"),
        ("MAI ^", "MAI"),
        ("@McCLANE", "MCCLANE"),
        ("DR.  OKAFOR (O.C.)", "DR. OKAFOR"),
        ("MAI (V.O.", "MAI"),
    ],
)
def test_character_name(cue: str, name: str) -> None:
    assert character_name(cue) == name


def test_dialogue_lines_and_parentheticals() -> None:
    scene = one_scene(
        "MAI\n(quietly)\nI heard something.\nDownstairs.\n(beat)\nThere it is again.",
    )
    assert scene.dialogue == [
        ScriptLine(character="MAI", text="I heard something. Downstairs.", parenthetical="quietly"),
        ScriptLine(character="MAI", text="There it is again.", parenthetical="beat"),
    ]


def test_multi_line_and_stacked_parentheticals() -> None:
    scene = one_scene("MAI\n(quietly,\nalmost to herself)\nStay.", "TOMAS\n(beat)\n(smiling)\nAlways.")
    assert scene.dialogue[0].parenthetical == "quietly, almost to herself"
    assert scene.dialogue[1].parenthetical == "beat; smiling"


def test_trailing_parenthetical_attaches_to_the_last_line() -> None:
    scene = one_scene("MAI\nGo.\n(she turns away)")
    assert scene.dialogue == [ScriptLine(character="MAI", text="Go.", parenthetical="she turns away")]


def test_parenthetical_only_cue_becomes_action() -> None:
    scene = one_scene("MAI\n(nods)")
    assert scene.dialogue == []
    assert scene.action == ["MAI (nods)"]
    assert scene.characters == ["MAI"]


def test_dual_dialogue_marks_both_lines() -> None:
    scene = one_scene("MAI\nNow!", "TOMAS ^\n(together)\nNow!", "MAI\nDid you hear that?")
    assert [(line.character, line.dual) for line in scene.dialogue] == [
        ("MAI", True),
        ("TOMAS", True),
        ("MAI", False),
    ]
    assert scene.dialogue[1].parenthetical == "together"


def test_caret_without_a_previous_dialogue_is_ordinary_dialogue() -> None:
    scene = one_scene("Silence.", "TOMAS ^\nHello?")
    assert scene.dialogue == [ScriptLine(character="TOMAS", text="Hello?", after_action=1)]


def test_characters_in_order_of_first_appearance_including_action_mentions() -> None:
    script = parse_fountain(
        fountain(
            "INT. KITCHEN - NIGHT",
            "TOMAS waits by the door.",
            "MAI\nYou're late.",
            "TOMAS\nTraffic.",
            "EXT. GARDEN - NIGHT",
            "Mai and Tomas watch the sky.",
            "EXT. ROAD - DAY",
            "BEA (O.S.)\nOver here!",
        )
    )
    assert [s.characters for s in script.scenes] == [["TOMAS", "MAI"], ["MAI", "TOMAS"], []]
    assert script.characters == ["TOMAS", "MAI", "BEA"], "an off-screen voice is still cast, to be heard"


def test_dialogue_with_only_all_caps_action_is_not_mistaken_for_a_speaker_mention() -> None:
    scene = one_scene("A clock ticks.", "MAI\nI MEAN IT.")
    assert scene.characters == ["MAI"]


# Transitions


def test_transitions_attach_to_the_scene_they_end() -> None:
    script = parse_fountain(
        fountain(
            "INT. A - DAY",
            "One.",
            "CUT TO:",
            "EXT. B - DAY",
            "Two.",
            "> burn to white.",
            "INT. C - NIGHT",
            "Three.",
            "SMASH CUT TO:",
            "EXT. D - DAWN",
            "Four.",
            "> FADE OUT.",
        )
    )
    assert [s.transition for s in script.scenes] == ["CUT TO:", "BURN TO WHITE.", "SMASH CUT TO:", "FADE OUT."]
    assert script.transitions == 4


def test_bare_fade_in_and_fade_out_count_as_transitions() -> None:
    script = parse_fountain(fountain("FADE IN:", "INT. A - DAY", "One.", "FADE OUT."))
    assert script.transitions == 2
    assert script.scenes[0].action == ["One."]
    assert script.scenes[0].transition == "FADE OUT."


def test_lowercase_to_is_action_not_a_transition() -> None:
    scene = one_scene("She walks to:")
    assert scene.action == ["She walks to:"]
    assert scene.transition == ""


def test_action_before_the_first_heading_joins_the_first_scene() -> None:
    script = parse_fountain(fountain("Black. A ferry horn.", "EXT. HARBOUR - NIGHT", "Lights."))
    assert script.scenes[0].action == ["Black. A ferry horn.", "Lights."]


# Sections, synopses, notes, boneyard, page breaks


def test_sections_are_listed_and_not_filmed() -> None:
    script = parse_fountain(
        fountain(
            "# Act One", "## Arrival", "= The arrival.", "INT. A - DAY", "One.", "# Act Two", "EXT. B - NIGHT", "Two."
        )
    )
    assert script.sections == ["Act One", "Arrival", "Act Two"]
    assert [s.action for s in script.scenes] == [["One."], ["Two."]]
    assert script.scenes[0].synopsis == ""


def test_synopsis_under_a_heading() -> None:
    scene = one_scene("= Mai decides to leave.", "She packs.")
    assert scene.synopsis == "Mai decides to leave."
    assert scene.action == ["She packs."]


def test_synopsis_after_action_is_still_a_synopsis() -> None:
    scene = one_scene("She packs.", "= The point of no return.")
    assert scene.synopsis == "The point of no return."
    assert scene.action == ["She packs."]


def test_notes_are_removed() -> None:
    scene = one_scene(
        "She packs [[a red suitcase?]] quickly.",
        "[[This whole paragraph is a note.]]",
        "[[A note\n\nthat spans a blank line.]]",
        "MAI\nGoodbye. [[softer?]]",
    )
    assert scene.action == ["She packs  quickly."]
    assert scene.dialogue == [ScriptLine(character="MAI", text="Goodbye.", after_action=1)]


def test_boneyard_is_removed_even_when_it_holds_scenes() -> None:
    script = parse_fountain(
        fountain("INT. A - DAY", "One.", "/* EXT. CUT SCENE - NIGHT", "Never filmed. */", "EXT. B - DAY", "Two.")
    )
    assert [s.heading for s in script.scenes] == ["INT. A - DAY", "EXT. B - DAY"]
    assert [s.action for s in script.scenes] == [["One."], ["Two."]]


def test_page_breaks_are_ignored() -> None:
    script = parse_fountain(fountain("INT. A - DAY", "One.", "===", "EXT. B - DAY", "Two."))
    assert [s.action for s in script.scenes] == [["One."], ["Two."]]


def test_windows_line_endings_bom_and_whitespace_only_lines() -> None:
    text = "\ufeffTitle: Crlf\r\n\r\nINT. A - DAY\r\n\t\r\nOne.\r\n   \r\nMAI\r\nHi.\r\n"
    script = parse_fountain(text)
    assert script.title == "Crlf"
    assert script.scenes[0].action == ["One."]
    assert script.scenes[0].dialogue == [ScriptLine(character="MAI", text="Hi.", after_action=1)]


def test_screenplain_style_markers_in_the_input_do_not_crash() -> None:
    scene = one_scene("A stray \ue701 marker.")
    assert scene.action == ["A stray  marker."]


# Malformed input


@pytest.mark.parametrize("text", ["", "   \n\n\t\n"])
def test_empty_screenplay(text: str) -> None:
    with pytest.raises(ScreenplayError, match=r"empty.*INT\. KITCHEN - NIGHT"):
        parse_fountain(text)


def test_no_scene_heading() -> None:
    with pytest.raises(ScreenplayError) as caught:
        parse_fountain(fountain("Title: Nothing", "A kettle sings.", "MAI\nHello?"))
    message = str(caught.value)
    assert "a Fountain screenplay needs at least one scene heading such as 'INT. KITCHEN - NIGHT'" in message
    assert "blank line" in message


def test_only_boneyard_and_notes_means_no_heading() -> None:
    with pytest.raises(ScreenplayError, match="no scene headings"):
        parse_fountain("/* INT. A - DAY\n\nOne. */\n\n[[just a note]]\n")


@pytest.mark.parametrize(
    "text",
    [
        "INT. A - DAY\n\nOne.\x00\x00",
        "\x01\x02\x03\x04\x05\x06\x07\x08garbage\x0e\x0f",
        "\ufffd" * 50 + "INT. A - DAY\n\nOne.",
    ],
)
def test_binary_text(text: str) -> None:
    with pytest.raises(ScreenplayError, match="binary.*export it as Fountain"):
        parse_fountain(text)


def test_bytes_instead_of_text() -> None:
    with pytest.raises(ScreenplayError, match="must be text, not bytes.*read_screenplay"):
        parse_fountain(b"INT. A - DAY\n\nOne.")  # type: ignore[arg-type]


def test_lone_surrogates() -> None:
    with pytest.raises(ScreenplayError, match=r"invalid characters \(line 3\).*UTF-8"):
        parse_fountain("INT. A - DAY\n\nOne \udc80.")


def test_scene_with_nothing_in_it_names_the_scene_and_line() -> None:
    text = fountain("Title: Gap", "INT. A - DAY", "One.", "EXT. EMPTY LOT - NIGHT", "INT. C - DAY", "Three.")
    with pytest.raises(ScreenplayError) as caught:
        parse_fountain(text)
    message = str(caught.value)
    assert "Scene 2 'EXT. EMPTY LOT - NIGHT' (line 7) has no action or dialogue" in message
    assert "delete the heading" in message


def test_scene_with_only_a_synopsis_and_transition_is_empty() -> None:
    with pytest.raises(ScreenplayError, match="Scene 1 .* no action or dialogue"):
        parse_fountain(fountain("INT. A - DAY", "= Just an idea.", "CUT TO:"))


def test_heading_glued_to_its_action() -> None:
    with pytest.raises(ScreenplayError, match=r"'INT. B - NIGHT' on line 5 .*blank line before and after"):
        parse_fountain("INT. A - DAY\n\nOne.\n\nINT. B - NIGHT\nTwo.\n")


def test_forced_heading_glued_to_its_action() -> None:
    with pytest.raises(ScreenplayError, match="blank line before and after"):
        parse_fountain("INT. A - DAY\n\nOne.\n\n.DREAM\nFloating.\n")


def test_oversize_text() -> None:
    text = fountain("INT. A - DAY", "x" * MAX_BYTES)
    with pytest.raises(ScreenplayError, match=r"over 1 MB.*split it"):
        parse_fountain(text)


def test_oversize_in_utf8_bytes_not_characters() -> None:
    text = fountain("INT. A - DAY", "\u00e9" * (MAX_BYTES // 2 + 10))
    assert len(text) < MAX_BYTES
    with pytest.raises(ScreenplayError, match="over 1 MB"):
        parse_fountain(text)


def test_too_many_scenes() -> None:
    ok = fountain(*(f"INT. ROOM {n} - DAY\n\nBeat {n}." for n in range(MAX_SCENES)))
    assert len(parse_fountain(ok).scenes) == MAX_SCENES
    too_many = fountain(*(f"INT. ROOM {n} - DAY\n\nBeat {n}." for n in range(MAX_SCENES + 1)))
    with pytest.raises(ScreenplayError, match=rf"more than {MAX_SCENES} scenes .*'INT. ROOM 60 - DAY'.*split"):
        parse_fountain(too_many)


def test_screenplay_error_is_a_value_error() -> None:
    assert issubclass(ScreenplayError, ValueError)


def test_models_forbid_unknown_fields() -> None:
    with pytest.raises(ValidationError):
        ScriptLine(character="MAI", text="Hi.", volume=11)  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        ParsedScript(title="T", scenes=[], characters=[], transitions=0, logline="x")  # type: ignore[call-arg]


def test_parsed_script_round_trips_through_json() -> None:
    script = parse_fountain(fountain("INT. A - DAY", "One.", "MAI\n(softly)\nHi.", "CUT TO:", "EXT. B - DUSK", "Two."))
    assert ParsedScript.model_validate_json(script.model_dump_json()) == script


# Files


def test_read_screenplay_uses_the_file_name_as_a_fallback_title(tmp_path: Path) -> None:
    path = tmp_path / "kettle_song.fountain"
    path.write_text(fountain("INT. A - DAY", "One."), encoding="utf-8")
    assert read_screenplay(path).title == "Kettle Song"


def test_read_screenplay_accepts_a_utf8_bom(tmp_path: Path) -> None:
    path = tmp_path / "bom.fountain"
    path.write_bytes(b"\xef\xbb\xbfTitle: Caf\xc3\xa9\n\nINT. A - DAY\n\nOne.\n")
    assert read_screenplay(path).title == "Caf\u00e9"


def test_read_screenplay_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.fountain"
    with pytest.raises(ScreenplayError, match=rf"No screenplay at {path}.*check the path"):
        read_screenplay(path)


def test_read_screenplay_folder(tmp_path: Path) -> None:
    with pytest.raises(ScreenplayError, match="is a folder.*\\.fountain file"):
        read_screenplay(tmp_path)


def test_read_screenplay_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.fountain"
    path.write_bytes("INT. CAF\u00c9 - DAY\n\nOne.\n".encode("latin-1"))
    with pytest.raises(ScreenplayError, match=rf"{path} is not UTF-8 text .*line 1.*re-save it as UTF-8"):
        read_screenplay(path)


@pytest.mark.parametrize("data", [b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", b"PK\x03\x04\x14\x00\x00\x00"])
def test_read_screenplay_binary_file(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "script.pdf"
    path.write_bytes(data)
    with pytest.raises(ScreenplayError, match="binary file.*export it as Fountain"):
        read_screenplay(path)


def test_read_screenplay_oversize_file(tmp_path: Path) -> None:
    path = tmp_path / "huge.fountain"
    path.write_bytes(b"INT. A - DAY\n\n" + b"x" * MAX_BYTES)
    with pytest.raises(ScreenplayError, match=rf"{path} is .* over 1 MB"):
        read_screenplay(path)


def test_read_screenplay_prefixes_parse_errors_with_the_path(tmp_path: Path) -> None:
    path = tmp_path / "no_heading.fountain"
    path.write_text("Just some prose.\n", encoding="utf-8")
    with pytest.raises(ScreenplayError, match=rf"^{path}: The screenplay has no scene headings"):
        read_screenplay(path)


def test_read_screenplay_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Root reads any file, so the permission failure is raised by a stand-in for `Path.read_bytes`."""
    path = tmp_path / "locked.fountain"
    path.write_text(fountain("INT. A - DAY", "One."), encoding="utf-8")

    def refuse(self: Path) -> bytes:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", refuse)
    with pytest.raises(ScreenplayError, match=rf"Cannot read {path}.*permissions"):
        read_screenplay(path)


# The example screenplay


def test_example_screenplay_is_a_short_film() -> None:
    script = read_screenplay(EXAMPLE)
    assert script.title == "The Last Ferry"
    assert script.author
    assert 6 <= len(script.scenes) <= 10
    assert 2 <= len(script.characters) <= 4
    assert sum(line.dual for scene in script.scenes for line in scene.dialogue) >= 2
    assert script.transitions >= 2
    assert script.scenes[-1].transition == "FADE OUT."
    assert any(scene.transition == "CUT TO:" for scene in script.scenes)


def test_example_screenplay_varies_place_and_light() -> None:
    script = read_screenplay(EXAMPLE)
    times = {scene.time_of_day for scene in script.scenes}
    assert {"night", "day"} <= times
    assert times & {"dawn", "dusk"}
    assert {scene.interior for scene in script.scenes} == {True, False}
    assert len({scene.heading for scene in script.scenes}) == len(script.scenes)
    for scene in script.scenes:
        assert scene.action, scene.heading
        assert len(scene.dialogue) <= 4, scene.heading
    assert sum(bool(line.parenthetical) for scene in script.scenes for line in scene.dialogue) >= 2
