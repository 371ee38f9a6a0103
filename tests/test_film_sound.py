"""The film's sound, measured from the written MP4 and stems with ffmpeg: a score and ambience under the lines.

Real parts throughout: the animatic, eSpeak NG lines, the composer's score played by tinysoundfont on Debian's
FluidR3_GM, the sound designer's synthesised beds, ffmpeg's ebur128; a scripted fake LLM answers the crew's
questions. One film is made per module; the notes run on copies of it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import opentimelineio as otio
import pretty_midi
import pytest
from fake_crew import crew
from scipy.io import wavfile
from tiny_audio_pipelines import build_tiny_stable_audio_3

from agents.project import Project
from agents.run import new_run, open_context, run_film
from agents.state import Feedback, Film
from tools.settings import Settings
from tools.sound.loudness import measure_loudness, window_rms_dbfs

SCRIPT = """Title: Rain on the Pier

EXT. HARBOUR PIER - NIGHT

Rain hammers the planks. Waves slap the posts.

ANNA (a woman in her 30s, red raincoat, short black hair) waits under a lamp.

ANNA
He said he would come back before the tide.

INT. HARBOUR CAFE - NIGHT

A quiet room. A kettle hums behind the counter.

TOMAS (a man in his 40s, grey wool coat) counts coins.

TOMAS
One more coffee, then I go.

EXT. HARBOUR PIER - NIGHT

Wind drives the rain sideways. Anna walks to the end of the pier.

ANNA
There. His lamp, past the point.

EXT. HARBOUR PIER - DAWN

Gulls cry over a calm grey sea. Anna and Tomas stand together.

TOMAS
You waited all night.
"""
BED_FLOOR_DBFS = -45.0
CLEARANCE_DB = 9.0


def make_settings(root: Path) -> Settings:
    return Settings(projects_dir=root / "projects", target_seconds=20, max_review_rounds=1)


@pytest.fixture(scope="module")
def scored(tmp_path_factory: pytest.TempPathFactory, minilm) -> tuple[Settings, Project]:
    settings = make_settings(tmp_path_factory.mktemp("scored"))
    project = new_run(settings, screenplay=SCRIPT)
    with open_context(settings, project, llm=crew(), embedding_function=minilm) as context:
        outcome = run_film(settings, project, context=context)
    assert outcome.finished, outcome.log
    return settings, project


def copy_of(scored: tuple[Settings, Project], root: Path) -> tuple[Settings, Project]:
    settings, project = scored
    copy = make_settings(root)
    shutil.copytree(project.root, copy.projects_dir / project.film_id)
    return copy, Project.open(copy.projects_dir, project.film_id)


def note(settings: Settings, project: Project, minilm, text: str) -> Film:
    with open_context(settings, project, llm=crew(), embedding_function=minilm) as context:
        outcome = run_film(settings, project, context=context, feedback=Feedback(text=text))
    assert outcome.finished, outcome.log
    return outcome.film


def timing(project: Project) -> tuple[list[dict], list[tuple[float, float]], float]:
    """The cut's timeline entries, its spoken lines (start, end) and its length."""
    entries = json.loads((project.cut_dir / "timeline.json").read_text())
    manifest = json.loads(project.manifest_file.read_text())
    lines = sorted((e["audio_start"], e["audio_end"]) for e in entries if e.get("audio"))
    return entries, lines, manifest["cut"]["duration"]


def scene_spans(entries: list[dict], duration: float, crossfade: float = 1.0) -> dict[int, tuple[float, float]]:
    """Each scene's stretch of film away from its cross-fades: from half a cross-fade after its cut to the next."""
    starts: dict[int, float] = {}
    for entry in entries:
        starts.setdefault(entry["scene_number"], entry["start"])
    numbers = sorted(starts)
    cuts = [starts[n] + (0.25 if i else 0.0) for i, n in enumerate(numbers)]
    ends = [*cuts[1:], duration]
    half = crossfade / 2
    spans = zip(numbers, cuts, ends, strict=True)
    return {n: (cut + (half if i else 0.0), end - half) for i, (n, cut, end) in enumerate(spans)}


def quiet_stretches(lines: list[tuple[float, float]], after: float, duration: float) -> list[tuple[float, float]]:
    stretches, cursor = [], after
    for start, end in lines:
        if start - cursor >= 1.0:
            stretches.append((cursor, start))
        cursor = max(cursor, end)
    if duration - cursor >= 1.0:
        stretches.append((cursor, duration))
    return stretches


def test_the_bed_plays_between_lines_and_clears_every_line(scored) -> None:
    _, project = scored
    entries, lines, duration = timing(project)
    film_mp4 = project.cut_dir / "film.mp4"
    title = min(entry["start"] for entry in entries)
    stretches = quiet_stretches(lines, title, duration)
    assert stretches, "the film needs stretches without dialogue for this check"
    for start, end in stretches:
        for second in np.arange(start, end - 1.0 + 1e-6, 1.0):
            level = window_rms_dbfs(film_mp4, second, second + 1.0)
            assert level > BED_FLOOR_DBFS, f"{second:.1f}-{second + 1:.1f} s without dialogue is at {level:.1f} dBFS"
    stems = project.cut_dir / "stems"
    assert len(lines) == 4
    for start, end in lines:
        gap = window_rms_dbfs(stems / "dialogue.wav", start, end) - window_rms_dbfs(
            [stems / "music.wav", stems / "ambience.wav"], start, end
        )
        assert gap >= CLEARANCE_DB, f"the line at {start:.1f} s clears the bed by only {gap:.1f} dB"


def test_the_film_is_at_web_loudness_under_the_true_peak_ceiling(scored) -> None:
    _, project = scored
    loudness = measure_loudness(project.cut_dir / "film.mp4")
    assert loudness.integrated_lufs == pytest.approx(-16.0, abs=1.0)
    assert loudness.true_peak_dbtp < -1.0
    manifest = json.loads(project.manifest_file.read_text())
    assert manifest["cut"]["loudness"]["integrated_lufs"] == pytest.approx(loudness.integrated_lufs, abs=0.1)
    music = next(use for use in manifest["models"] if use["role"] == "music")
    assert "FluidR3_GM" in music["model"] and music["licence"] == "MIT"


def test_stems_run_the_film_and_the_timelines_carry_them(scored) -> None:
    _, project = scored
    _, _, duration = timing(project)
    for name in ("dialogue", "music", "ambience"):
        rate, samples = wavfile.read(project.cut_dir / "stems" / f"{name}.wav")
        assert rate == 48000 and samples.shape[1] == 2
        assert abs(len(samples) / rate - duration) < 1 / 12, name
    timeline = otio.adapters.read_from_file(str(project.cut_dir / "film.otio"))
    stems = [track for track in timeline.audio_tracks() if track.name in ("Dialogue stem", "Music", "Ambience")]
    assert [track.name for track in stems] == ["Dialogue stem", "Music", "Ambience"]
    for track in stems:
        assert track.range_in_parent().end_time_exclusive().to_seconds() == pytest.approx(duration, abs=1 / 12)


def test_the_score_marks_its_cuts_and_plays_each_theme_where_its_character_is(scored) -> None:
    _, project = scored
    film = project.load_film()
    entries, _, duration = timing(project)
    midi = pretty_midi.PrettyMIDI(str(project.cut_dir / "score.mid"))
    tempo_times, _ = midi.get_tempo_changes()
    changes = sorted({round(t, 2) for t in tempo_times} | {round(k.time, 2) for k in midi.key_signature_changes})
    starts = {}
    for entry in entries:
        starts.setdefault(entry["scene_number"], entry["start"] + (0.25 if entry["scene_number"] > 1 else 0.0))
    for scene in film.scenes[1:]:
        cue = film.sound.music_for(scene.id)
        assert cue is not None
        at = [t for t in changes if abs(t - starts[scene.number]) < 0.05]
        assert len(at) == (1 if cue.mark_change else 0), f"scene {scene.number}: changes at {at}"
    assert film.sound.themes, "Anna and Tomas speak in two scenes each"
    spans = scene_spans(entries, duration, crossfade=0.0)
    voices = [next(i for i in midi.instruments if i.name == cid).program for cid in film.sound.themes]
    assert len(set(voices)) == len(voices), "each theme has an instrument of its own"
    for character_id in film.sound.themes:
        track = next(i for i in midi.instruments if i.name == character_id)
        onsets = [t.start + 0.01 for t in track.notes]
        heard = {n for n, (start, end) in spans.items() if any(start <= t < end for t in onsets)}
        present = {s.number for s in film.scenes if character_id in {line.character_id for line in s.dialogue}}
        present |= {s.number for s in film.scenes if character_id in s.character_ids}
        assert heard == present, f"{character_id}'s theme plays in scenes {heard}, they are in {present}"


def test_no_music_in_scene_3_silences_only_it_and_re_encodes_no_picture(scored, tmp_path, minilm) -> None:
    settings, project = copy_of(scored, tmp_path)
    before_music = wavfile.read(project.cut_dir / "stems" / "music.wav")[1]
    segments = {p.name: p.stat().st_mtime_ns for p in (project.cut_dir / "segments").glob("*.mp4")}
    cues = {p.name: p.read_bytes() for p in (project.root / "sound" / "music").glob("*.wav")}
    film = note(settings, project, minilm, "no music in scene 3")
    assert film.sound.music_for(film.scenes[2].id).muted
    assert all(not film.sound.music_for(s.id).muted for s in film.scenes if s.number != 3)
    entries, _, duration = timing(project)
    spans = scene_spans(entries, duration)
    start, end = spans[3]
    assert window_rms_dbfs(project.cut_dir / "stems" / "music.wav", start, end) < -60.0
    after_music = wavfile.read(project.cut_dir / "stems" / "music.wav")[1]
    rate = 48000
    before_cut, after_cut = round((start - 1.0) * rate), round((end + 1.5) * rate)
    assert np.array_equal(before_music[:before_cut], after_music[:before_cut]), "scenes 1-2's music changed"
    assert np.array_equal(before_music[after_cut:], after_music[after_cut:]), "scene 4's music changed"
    now = {p.name: p.read_bytes() for p in (project.root / "sound" / "music").glob("*.wav")}
    assert now == cues, "no cue is rendered again: the others come from the cache, scene 3's is not played"
    after_segments = {p.name: p.stat().st_mtime_ns for p in (project.cut_dir / "segments").glob("*.mp4")}
    assert after_segments == segments, "no picture segment is encoded again"


def test_sadder_music_in_the_last_scene_plays_only_its_cue_again(scored, tmp_path, minilm) -> None:
    settings, project = copy_of(scored, tmp_path)
    cues = {p.name for p in (project.root / "sound" / "music").glob("*.wav")}
    takes = sorted(p.name for p in project.takes_dir.rglob("*") if p.is_dir())
    film = note(settings, project, minilm, "sadder music in the last scene")
    last = film.sound.music_for(film.scenes[-1].id)
    assert last is not None and last.mood == "sad" and last.mode == "minor" and last.by == "filmmaker"
    new = {p.name for p in (project.root / "sound" / "music").glob("*.wav")} - cues
    assert len(new) == 1, f"only the last scene's cue is played again, not {sorted(new)}"
    assert sorted(p.name for p in project.takes_dir.rglob("*") if p.is_dir()) == takes, "no picture is rendered"
    assert film.feedback[-1].kind == "sound" and film.feedback[-1].remade == []


def test_a_model_on_a_gpu_makes_the_beds_when_asked(scored, tmp_path, minilm) -> None:
    """Stable Audio 3 (here a tiny random-weight pipeline on the CPU) lays the beds; the score is untouched."""
    settings, project = copy_of(scored, tmp_path)
    folder = build_tiny_stable_audio_3(tmp_path / "tiny-stable-audio-3")
    sound = {"ambience_backend": "stable-audio-3", "ambience_model": str(folder), "ambience_steps": 2}
    settings = settings.model_copy(update={"sound": settings.sound.model_copy(update=sound)})
    music = wavfile.read(project.cut_dir / "stems" / "music.wav")[1]
    cues = sorted(p.name for p in (project.root / "sound" / "music").glob("*.wav"))
    film = note(settings, project, minilm, "louder rain in scene 1")
    made = sorted(p.name for p in (project.root / "sound" / "ambience").glob("sa3-*.wav"))
    assert len(made) == len(film.scenes), "every scene's bed is the model's"
    assert sorted(p.name for p in (project.root / "sound" / "music").glob("*.wav")) == cues, "no cue is played again"
    after = wavfile.read(project.cut_dir / "stems" / "music.wav")[1]
    _, lines, _ = timing(project)
    away = np.ones(len(music), dtype=bool)
    for start, end in lines:  # under a line the bed's duck depth follows the ambience's level, so it may move
        away[max(0, int((start - 0.1) * 48_000)) : int((end + 0.35) * 48_000)] = False
    assert np.array_equal(after[away], music[away]), "away from the lines the music stem is the same samples"
    manifest = json.loads(project.manifest_file.read_text())
    beds = next(use for use in manifest["models"] if use["role"] == "ambience")
    assert beds["backend"] == "diffusers" and beds["model"] == str(folder)
    assert measure_loudness(project.cut_dir / "film.mp4").integrated_lufs == pytest.approx(-16.0, abs=1.0)


def test_the_crew_answers_what_plays_under_a_scene_and_changes_nothing(scored) -> None:
    from agents.run import answer_question

    _, project = scored
    before = project.film_file.read_bytes()
    answer = answer_question(project, "what music plays in scene 3?")
    film = project.load_film()
    cue = film.sound.music_for(film.scenes[2].id)
    assert answer.topic == "sound" and answer.scenes == [3]
    assert f"a {cue.mood} cue in {cue.key} {cue.mode} at {cue.tempo} beats a minute" in answer.text
    assert "Ambience: " in answer.text and "rain" in answer.text
    overall = answer_question(project, "how loud is the mix, and who has a theme?")
    assert "LUFS" in overall.text and "Anna" in overall.text
    assert project.film_file.read_bytes() == before


def test_director_stats_shows_each_scenes_music_and_ambience_and_the_loudness(scored) -> None:
    from rich.console import Console

    from agents.run import Manifest
    from ui.stats import sound_table

    _, project = scored
    manifest = Manifest.model_validate_json(project.manifest_file.read_text())
    console = Console(record=True, width=200)
    console.print(sound_table(manifest))
    text = console.export_text()
    film = project.load_film()
    for scene in film.scenes:
        cue = film.sound.music_for(scene.id)
        assert f"{cue.mood}, {cue.key} {cue.mode}, {cue.tempo} bpm" in text
    assert "rain" in text and "LUFS" in text and "themes: anna" in text
