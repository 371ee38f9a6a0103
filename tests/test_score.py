"""The score written as MIDI from a plan, read back with pretty_midi."""

from __future__ import annotations

from pathlib import Path

import pretty_midi
import pytest
from pydantic import ValidationError

from tools.sound.score import (
    TICKS_PER_BEAT,
    Motif,
    SceneCue,
    ScorePlan,
    motif_for,
    write_score,
)
from tools.sound.score_harmony import CHORD_PROGRAMS, KEY_PITCH_CLASSES, SCALES

Written = tuple[Path, pretty_midi.PrettyMIDI]


def cue(scene_id: str, start: float, end: float, **choices: object) -> SceneCue:
    fields: dict[str, object] = {
        "key": "C",
        "mode": "major",
        "tempo": 90,
        "mood": "calm",
        "instrumentation": "strings",
        "intensity": 3,
    }
    return SceneCue(scene_id=scene_id, start=start, end=end, **(fields | choices))


@pytest.fixture(scope="module")
def plan() -> ScorePlan:
    cues = [
        cue("s1", 2, 10, key="D", mode="minor", tempo=72, mood="sad", intensity=2, characters=["noor"]),
        cue(
            "s2",
            10,
            17.3,
            key="F",
            tempo=110,
            mood="hopeful",
            instrumentation="piano",
            intensity=4,
            characters=["sam", "extra"],
        ),  # fmt: skip
        cue(
            "s3",
            17.3,
            24,
            key="A",
            mode="minor",
            tempo=95,
            mood="tense",
            instrumentation="brass",
            intensity=5,
            mark_change=False,
            characters=["noor", "sam"],
        ),  # fmt: skip
        cue("s4", 24, 30.5, key="Eb", tempo=60, instrumentation="woodwinds", intensity=1),
        cue(
            "s5",
            30.5,
            33,
            key="B",
            mode="minor",
            tempo=150,
            mood="mysterious",
            instrumentation="pad",
            characters=["noor"],
        ),  # fmt: skip
    ]
    return ScorePlan(cues=cues, motifs=[motif_for("noor", "minor", 7), motif_for("sam", "major", 7)], title_seconds=2)


@pytest.fixture(scope="module")
def written(plan: ScorePlan, tmp_path_factory: pytest.TempPathFactory) -> Written:
    path = tmp_path_factory.mktemp("score") / "score.mid"
    facts = write_score(plan, path)
    assert facts.path == path
    assert facts.motif_cues == {"noor": ["s1", "s3", "s5"], "sam": ["s2", "s3"]}
    return path, pretty_midi.PrettyMIDI(str(path))


def sounding_keys(plan: ScorePlan) -> list[tuple[str, str, int]]:
    """Key, mode and tempo each cue plays in: an unmarked cue keeps the previous cue's."""
    keys = [(plan.cues[0].key, plan.cues[0].mode, plan.cues[0].tempo)]
    for scene in plan.cues[1:]:
        keys.append((scene.key, scene.mode, scene.tempo) if scene.mark_change else keys[-1])
    return keys


def test_score_runs_from_zero_to_the_last_cue_end(plan: ScorePlan, written: Written) -> None:
    midi = written[1]
    assert abs(midi.get_end_time() - plan.cues[-1].end) < 0.05
    assert min(note.start for instrument in midi.instruments for note in instrument.notes) == 0


def test_one_tempo_and_key_change_at_each_marked_cut(plan: ScorePlan, written: Written) -> None:
    midi = written[1]
    tempo_times, tempi = midi.get_tempo_changes()
    key_changes = midi.key_signature_changes
    assert tempo_times[0] == 0 and key_changes[0].time == 0
    for scene, (key, mode, tempo), previous in zip(
        plan.cues[1:], sounding_keys(plan)[1:], sounding_keys(plan), strict=False
    ):
        tick = 60 / (previous[2] * TICKS_PER_BEAT)
        tempo_hits = [index for index, time in enumerate(tempo_times) if abs(time - scene.start) <= tick]
        key_hits = [change for change in key_changes if abs(change.time - scene.start) <= tick]
        if scene.mark_change:
            assert len(tempo_hits) == 1 and len(key_hits) == 1, scene.scene_id
            assert abs(tempi[tempo_hits[0]] - tempo) < 0.01
            assert key_hits[0].key_number == pretty_midi.key_name_to_key_number(f"{key} {mode}")
        else:
            assert tempo_hits == [] and key_hits == [], scene.scene_id
    marked = sum(scene.mark_change for scene in plan.cues[1:])
    assert len(tempo_times) == len(key_changes) == marked + 1


def contains_motif(pitches: list[int], motif: Motif, tonic_class: int) -> bool:
    size = len(motif.intervals)
    shape = [later - earlier for earlier, later in zip(motif.intervals, motif.intervals[1:], strict=False)]
    for index in range(len(pitches) - size + 1):
        window = pitches[index : index + size]
        moves = [later - earlier for earlier, later in zip(window, window[1:], strict=False)]
        if moves == shape and (window[0] - tonic_class) % 12 == motif.intervals[0] % 12:
            return True
    return False


def test_motif_sounds_in_its_characters_cues_only(plan: ScorePlan, written: Written) -> None:
    tracks = {instrument.name: instrument for instrument in written[1].instruments}
    for motif in plan.motifs:
        track = tracks[motif.character_id]
        assert track.program == motif.program
        for scene, (key, _mode, _tempo) in zip(plan.cues, sounding_keys(plan), strict=True):
            notes = sorted((note for note in track.notes if scene.start - 1e-3 <= note.start < scene.end - 1e-3),
                           key=lambda note: note.start)  # fmt: skip
            assert all(note.end <= scene.end + 0.01 for note in notes)
            if motif.character_id in scene.characters:
                assert contains_motif([note.pitch for note in notes], motif, KEY_PITCH_CLASSES[key]), scene.scene_id
            else:
                assert notes == [], scene.scene_id


def test_chords_take_each_cue_instrumentation(plan: ScorePlan, written: Written) -> None:
    chords = [instrument for instrument in written[1].instruments if instrument.name == "chords"]
    for scene in plan.cues:
        programs = {
            chord.program
            for chord in chords
            for note in chord.notes
            if scene.start - 1e-3 <= note.start < scene.end - 1e-3
        }
        assert programs == {CHORD_PROGRAMS[scene.instrumentation]}, scene.scene_id


def test_same_plan_writes_identical_bytes(plan: ScorePlan, written: Written, tmp_path: Path) -> None:
    again = tmp_path / "again.mid"
    write_score(plan, again)
    assert again.read_bytes() == written[0].read_bytes()


def test_score_without_title_or_characters(tmp_path: Path) -> None:
    plan = ScorePlan(cues=[cue("only", 0, 3.7, tempo=160, intensity=5)])
    facts = write_score(plan, tmp_path / "plain.mid")
    midi = pretty_midi.PrettyMIDI(str(facts.path))
    assert abs(midi.get_end_time() - 3.7) < 0.05 and abs(facts.duration - 3.7) < 0.01
    assert [instrument.name for instrument in midi.instruments] == ["chords", "bass"]


def test_motif_for_is_deterministic_singable_and_ends_on_a_chord_tone() -> None:
    motifs = [motif_for(name, mode, 3) for name in ("noor", "sam", "ada", "li", "omar") for mode in ("major", "minor")]
    assert motif_for("noor", "major", 3) == motifs[0]
    assert len({motif.intervals for motif in motifs}) > 1
    for motif in motifs:
        mode = "major" if motifs.index(motif) % 2 == 0 else "minor"
        scale = SCALES[mode]
        assert all(interval % 12 in scale for interval in motif.intervals)
        assert motif.intervals[-1] % 12 in {scale[0], scale[2], scale[4]}
        moves = [abs(later - earlier) for earlier, later in zip(motif.intervals, motif.intervals[1:], strict=False)]
        assert sum(move >= 5 for move in moves) == 1, motif
        assert len(motif.rhythm) == len(motif.intervals)


@pytest.mark.parametrize(
    ("cues", "title", "message"),
    [
        ([cue("a", 0, 4), cue("b", 5, 8)], 0, "a gap of 1.000 s"),
        ([cue("a", 0, 4), cue("b", 3.5, 8)], 0, "an overlap of 0.500 s"),
        ([cue("a", 1, 4)], 0, "start it where the title ends"),
        ([cue("a", 0, 4), cue("a", 4, 8)], 0, "scene ids repeat"),
    ],
)
def test_plan_refuses_cues_that_are_not_back_to_back(cues: list[SceneCue], title: float, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        ScorePlan(cues=cues, title_seconds=title)


def test_models_refuse_bad_values() -> None:
    with pytest.raises(ValidationError, match="not after its start"):
        cue("a", 4, 4)
    with pytest.raises(ValidationError, match="3 to 6 notes"):
        Motif(character_id="x", program=73, intervals=(0, 2), rhythm=(1, 1))
    with pytest.raises(ValidationError, match="3 notes but 2 durations"):
        Motif(character_id="x", program=73, intervals=(0, 2, 4), rhythm=(1, 1))
    with pytest.raises(ValidationError):
        cue("a", 0, 4, tempo=200)
    with pytest.raises(ValidationError, match="more than one motif"):
        ScorePlan(cues=[cue("a", 0, 4)], motifs=[motif_for("x", "major", 1), motif_for("x", "minor", 1)])


def test_muted_cue_is_silent_and_keeps_every_other_cue_in_time(
    plan: ScorePlan, written: Written, tmp_path: Path
) -> None:
    muted_id = plan.cues[1].scene_id
    cues = [scene.model_copy(update={"muted": scene.scene_id == muted_id}) for scene in plan.cues]
    facts = write_score(plan.model_copy(update={"cues": cues}), tmp_path / "muted.mid")
    assert "s2" not in facts.motif_cues["sam"] and facts.motif_cues["noor"] == ["s1", "s3", "s5"]
    muted, full = pretty_midi.PrettyMIDI(str(facts.path)), written[1]
    span = (plan.cues[1].start - 1e-3, plan.cues[1].end - 1e-3)

    def notes(midi: pretty_midi.PrettyMIDI, inside: bool) -> list[tuple[str, int, float, float]]:
        return sorted(
            (instrument.name, note.pitch, round(note.start, 6), round(note.end, 6))
            for instrument in midi.instruments
            for note in instrument.notes
            if (span[0] <= note.start < span[1]) == inside
        )

    assert notes(muted, inside=True) == [] and notes(full, inside=True) != []
    assert notes(muted, inside=False) == notes(full, inside=False)
    for got, expected in zip(muted.get_tempo_changes(), full.get_tempo_changes(), strict=True):
        assert list(got) == list(expected)
    assert [(key.time, key.key_number) for key in muted.key_signature_changes] == [
        (key.time, key.key_number) for key in full.key_signature_changes
    ]
    assert facts.duration == write_score(plan, tmp_path / "full.mid").duration
