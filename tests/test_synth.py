"""The score played by real SoundFonts, one cached WAV per cue: FluidR3_GM (make system) and TimGM6mb."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.io import wavfile

from tools.sound import soundfont as soundfont_module
from tools.sound.score import SceneCue, ScorePlan, motif_for
from tools.sound.soundfont import DEBIAN_FLUID, SoundError, SoundFont, find_soundfont, pretty_midi_soundfont
from tools.sound.synth import CueAudio, render_cues

RATE = 48000
LEAD = 0.5
TAIL = 2.0


def cue(scene_id: str, start: float, end: float, **choices: object) -> SceneCue:
    fields: dict[str, object] = {
        "key": "D",
        "mode": "minor",
        "tempo": 96,
        "mood": "sad",
        "instrumentation": "strings",
        "intensity": 3,
    }
    return SceneCue(scene_id=scene_id, start=start, end=end, **(fields | choices))


def three_cues(**second: object) -> ScorePlan:
    cues = [
        cue("s1", 1.0, 4.0, characters=["noor"]),
        cue("s2", 4.0, 7.25, **({"key": "F", "mode": "major", "mood": "hopeful", "instrumentation": "piano"} | second)),
        cue("s3", 7.25, 10.0, mood="tense", instrumentation="brass", intensity=5, characters=["noor"]),
    ]
    return ScorePlan(cues=cues, motifs=[motif_for("noor", "minor", 5)], title_seconds=1.0)


def dbfs(samples: np.ndarray) -> float:
    return float(20 * np.log10(np.sqrt(np.mean(samples.astype(np.float64) ** 2)) + 1e-12))


class Rendered:
    def __init__(self, soundfont: SoundFont, folder: Path) -> None:
        self.soundfont, self.folder = soundfont, folder
        self.plan = three_cues()
        self.cues = render_cues(self.plan, soundfont, folder, sample_rate=RATE, lead=LEAD, tail=TAIL)
        self.bytes = [audio.path.read_bytes() for audio in self.cues if audio.path is not None]
        self.mtimes = [audio.path.stat().st_mtime_ns for audio in self.cues if audio.path is not None]

    def again(self, plan: ScorePlan, folder: Path | None = None) -> list[CueAudio]:
        return render_cues(plan, self.soundfont, folder or self.folder, sample_rate=RATE, lead=LEAD, tail=TAIL)


@pytest.fixture(scope="module", params=["FluidR3_GM", "TimGM6mb"])
def rendered(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    if request.param == "FluidR3_GM":
        soundfont = find_soundfont(None)
        assert soundfont.path == DEBIAN_FLUID, "install fluid-soundfont-gm: make system"
        assert soundfont.licence == "MIT"
    else:
        bundled = pretty_midi_soundfont()
        assert bundled is not None
        soundfont = find_soundfont(bundled)
        assert (soundfont.name, soundfont.licence) == ("TimGM6mb", "GPL-2.0")
    return Rendered(soundfont, tmp_path_factory.mktemp(request.param))


def test_each_cue_is_a_float_wav_of_exact_length_that_sounds_and_does_not_clip(rendered: Rendered) -> None:
    assert [audio.scene_id for audio in rendered.cues] == ["s1", "s2", "s3"]
    assert [audio.starts_at for audio in rendered.cues] == [0.0, 3.5, 6.75]
    assert not any(audio.reused for audio in rendered.cues)
    assert len({audio.path for audio in rendered.cues}) == 3
    expected_frames = [(4.0 + TAIL) * RATE, (LEAD + 3.25 + TAIL) * RATE, (LEAD + 2.75 + TAIL) * RATE]
    for audio, scene, frames in zip(rendered.cues, rendered.plan.cues, expected_frames, strict=True):
        assert audio.path is not None and audio.path.parent == rendered.folder
        rate, samples = wavfile.read(audio.path)
        assert rate == RATE and samples.dtype == np.float32 and samples.shape == (frames, 2)
        cue_start = round((scene.start - audio.starts_at) * RATE) if audio.starts_at else 0
        cue_end = round((scene.end - audio.starts_at) * RATE)
        assert dbfs(samples[cue_start:cue_end]) > -40, scene.scene_id
        assert np.abs(samples).max() < 1.0, scene.scene_id
        if audio.starts_at:
            assert not samples[: round(LEAD * RATE)].any(), f"{scene.scene_id} sounds before its cue"
        tail_end = samples[-round(0.2 * RATE) :]
        assert dbfs(tail_end) < dbfs(samples[cue_start:cue_end]) - 20, f"{scene.scene_id} does not decay"


def test_second_call_reuses_every_cue_untouched(rendered: Rendered) -> None:
    again = rendered.again(rendered.plan)
    assert [audio.reused for audio in again] == [True, True, True]
    assert [audio.path for audio in again] == [audio.path for audio in rendered.cues]
    assert [audio.path.stat().st_mtime_ns for audio in again if audio.path] == rendered.mtimes
    assert sorted(path.name for path in rendered.folder.iterdir()) == sorted(
        audio.path.name for audio in rendered.cues if audio.path
    )


@pytest.mark.parametrize("change", [{"mood": "tender"}, {"intensity": 1}])
def test_a_note_on_cue_two_renders_only_cue_two(rendered: Rendered, change: dict[str, object]) -> None:
    changed = rendered.again(three_cues(**change))
    assert [audio.reused for audio in changed] == [True, False, True]
    assert changed[0].path == rendered.cues[0].path and changed[2].path == rendered.cues[2].path
    assert changed[1].path != rendered.cues[1].path and changed[1].path is not None
    assert changed[1].path.read_bytes() != rendered.bytes[1]
    assert [audio.path.read_bytes() for audio in (changed[0], changed[2]) if audio.path] == [
        rendered.bytes[0],
        rendered.bytes[2],
    ]


def test_cues_played_in_a_fresh_folder_after_other_cues_are_byte_identical(rendered: Rendered, tmp_path: Path) -> None:
    fresh = rendered.again(three_cues(mood="tender"), tmp_path)
    assert not any(audio.reused for audio in fresh)
    assert [audio.path.name for audio in (fresh[0], fresh[2]) if audio.path] == [
        audio.path.name for audio in (rendered.cues[0], rendered.cues[2]) if audio.path
    ]
    assert [audio.path.read_bytes() for audio in (fresh[0], fresh[2]) if audio.path] == [
        rendered.bytes[0],
        rendered.bytes[2],
    ]


def test_muted_cue_has_no_file_and_leaves_the_others_alone(rendered: Rendered) -> None:
    muted = rendered.again(three_cues(muted=True))
    assert muted[1] == CueAudio(scene_id="s2", path=None, starts_at=3.5, reused=False)
    assert [muted[0].path, muted[2].path] == [rendered.cues[0].path, rendered.cues[2].path]
    assert muted[0].reused and muted[2].reused


def test_find_soundfont_says_what_to_set(tmp_path: Path) -> None:
    with pytest.raises(SoundError, match="does not exist: set DIRECTOR_SOUND__SOUNDFONT"):
        find_soundfont(tmp_path / "missing.sf2")
    not_a_soundfont = tmp_path / "score.mid"
    not_a_soundfont.write_bytes(b"MThd")
    with pytest.raises(SoundError, match=r"not a \.sf2 or \.sf3 file: set DIRECTOR_SOUND__SOUNDFONT"):
        find_soundfont(not_a_soundfont)
    other = tmp_path / "Other.SF2"
    other.write_bytes(b"RIFF")
    found = find_soundfont(other)
    assert (found.path, found.name) == (other, "Other") and found.licence.startswith("unknown")


def test_a_soundfont_that_does_not_load_says_what_to_do(tmp_path: Path) -> None:
    broken = tmp_path / "broken.sf2"
    broken.write_bytes(b"RIFF0000sfbk")
    with pytest.raises(SoundError, match="could not be loaded"):
        render_cues(three_cues(), find_soundfont(broken), tmp_path / "cues")


def test_without_fluid_the_bundled_soundfont_plays_and_without_either_it_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(soundfont_module, "DEBIAN_FLUID", tmp_path / "FluidR3_GM.sf2")
    assert find_soundfont(None).name == "TimGM6mb"
    monkeypatch.setattr(soundfont_module, "pretty_midi_soundfont", lambda: None)
    with pytest.raises(SoundError, match="apt install fluid-soundfont-gm.*DIRECTOR_SOUND__SOUNDFONT"):
        find_soundfont(None)


def test_without_tinysoundfont_it_says_what_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "tinysoundfont", None)
    with pytest.raises(SoundError, match="pip install --no-deps tinysoundfont"):
        render_cues(three_cues(), find_soundfont(None), tmp_path)
