"""Dialogue in the cut: spoken by the offline eSpeak NG voice of each character, heard where the SRT says.

Real parts throughout (Chroma, the animatic, eSpeak NG from espeakng-loader, ffmpeg); a scripted fake LLM
answers the few look questions a screenplay leaves open.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from audio import SILENCE_DB, level_db, onset, read_audio
from fake_crew import crew

from agents.run import new_run, run_film
from tools.edit.probe import probe_video
from tools.edit.subtitles import parse_srt
from tools.settings import Settings

SCRIPT = """Title: Two Lamps

EXT. HARBOUR WALL - NIGHT

Waves slap the stones. A lamp swings on its post.

MARGIT (a woman in her 60s, yellow oilskin coat, silver braid) coils a rope.

MARGIT
The last boat is late tonight.

TOMAS (a young man, red scarf) runs along the wall.

TOMAS
I saw her lights past the point.

INT. HARBOUR OFFICE - NIGHT

A kettle rattles on a stove. Charts cover the walls.

MARGIT
Then put the kettle on, and wait with me.
"""

LINES_ONLY = {"music": False, "ambience": False}
"""The lines alone, so silence between them is silence (tests/test_film_sound.py hears the score and ambience)."""


@pytest.fixture(scope="module")
def spoken_film(tmp_path_factory: pytest.TempPathFactory, minilm):
    from agents.run import open_context

    tmp_path = tmp_path_factory.mktemp("dialogue")
    settings = Settings(projects_dir=tmp_path / "projects", target_seconds=15, max_review_rounds=1, sound=LINES_ONLY)
    project = new_run(settings, screenplay=SCRIPT)
    with open_context(settings, project, llm=crew(), embedding_function=minilm) as context:
        outcome = run_film(settings, project, context=context)
    assert outcome.finished, outcome.log
    return project, outcome


def test_every_line_is_heard_from_its_subtitle_and_only_there(spoken_film) -> None:
    project, outcome = spoken_film
    video = project.root / outcome.cut.video
    assert probe_video(video).audio_codec == "aac"
    cues = parse_srt(project.root / outcome.cut.subtitles)
    assert [cue.text.split(": ", 1)[1] for cue in cues] == [
        "The last boat is late tonight.",
        "I saw her lights past the point.",
        "Then put the kettle on, and wait with me.",
    ]
    sound = read_audio(video)
    for cue in cues:
        heard = onset(sound, after=cue.start - 0.5)
        assert heard is not None and abs(heard - cue.start) < 0.08, (cue.text, heard, cue.start)
        assert level_db(sound, cue.start, min(cue.end, cue.start + 0.8)) > -30, cue.text
    quiet = [(0.0, cues[0].start)] + [(a.end, b.start) for a, b in zip(cues, cues[1:], strict=False)]
    quiet.append((cues[-1].end, probe_video(video).duration))
    for start, end in quiet:
        if end - start > 0.3:
            assert level_db(sound, start + 0.1, end - 0.1) < SILENCE_DB, (start, end)


def test_each_character_has_a_voice_of_their_own_in_memory_and_manifest(spoken_film) -> None:
    project, outcome = spoken_film
    film = outcome.film
    voices = {character.name: character.voice for character in film.characters}
    assert voices["Margit"] is not None and voices["Tomas"] is not None
    assert voices["Margit"] != voices["Tomas"]
    assert voices["Margit"].openai in {"coral", "nova", "shimmer", "sage"}, "cast from 'a woman in her 60s'"
    assert voices["Tomas"].openai in {"onyx", "echo", "ash", "fable"}, "cast from 'a young man'"
    assert "+m" in voices["Tomas"].espeak
    manifest = json.loads(project.manifest_file.read_text())
    assert any(model["role"] == "speech" and model["backend"] == "espeak" for model in manifest["models"])
    spoken = [shot for shot in manifest["shots"] if shot["line"]]
    assert len(spoken) == 3 and all(shot["audio"] and shot["voice"] for shot in spoken)
    for shot in film.shots():
        if shot.dialogue is not None:
            assert shot.take.audio and 0.5 < shot.take.audio_seconds <= shot.duration
            assert (project.root / shot.take.audio).stat().st_size > 1000


def test_a_silent_setting_keeps_subtitles_without_a_sound_track(tmp_path: Path, make_context) -> None:
    settings = Settings(projects_dir=tmp_path / "projects", target_seconds=15, max_review_rounds=1, sound=LINES_ONLY)
    settings.render.speech_backend = "none"
    project = new_run(settings, screenplay=SCRIPT)
    outcome = run_film(settings, project, context=make_context(crew(), project, settings))
    assert not probe_video(project.root / outcome.cut.video).has_audio
    assert len(parse_srt(project.root / outcome.cut.subtitles)) == 3
