"""SoundFonts cut down to a score's programs, against the whole real fonts: FluidR3_GM (make system) and TimGM6mb."""

from __future__ import annotations

import io
import struct
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import tinysoundfont

from tools.sound import synth
from tools.sound.score import SceneCue, ScorePlan, motif_for
from tools.sound.soundfont import DEBIAN_FLUID, SoundFont, pretty_midi_soundfont
from tools.sound.soundfont_subset import _parse, subset_soundfont
from tools.sound.synth import _CueSound, _Player, render_cues

RATE = 48000
PROGRAMS = frozenset({0, 48, 73, 89})
"""Grand piano, string ensemble, flute and warm pad."""
SOUND = _CueSound(
    frames=96000,
    end_frame=57600,
    notes=[
        (0, 0, 60, 100, 0, 24000),
        (1, 48, 48, 90, 0, 57600),
        (3, 89, 55, 80, 0, 57600),
        (0, 0, 64, 90, 2400, 24000),
        (9, 73, 79, 110, 4800, 30000),
        (9, 73, 36, 100, 12000, 57600),
        (0, 0, 96, 127, 30000, 57600),
    ],
)
BANKS = (0, 8, 16, 128)


class Played:
    """One font played whole and cut to PROGRAMS, with the whole font's preset names."""

    def __init__(self, path: Path) -> None:
        self.soundfont = SoundFont(path=path, name=path.stem, licence="test", source="test")
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(synth, "subset_soundfont", lambda *_: None)
            whole = _Player(self.soundfont, RATE, PROGRAMS)
        self.whole_audio = whole.play(SOUND)
        self.names = {(b, p): whole.synth.sfpreset_name(whole.sfid, b, p) for b in BANKS for p in range(128)}
        del whole
        self.subset = subset_soundfont(path, PROGRAMS)
        self.subset_audio = _Player(self.soundfont, RATE, PROGRAMS).play(SOUND)


def timgm() -> Path:
    path = pretty_midi_soundfont()
    assert path is not None, "pretty_midi (with TimGM6mb.sf2) is installed by make install"
    return path


@pytest.fixture(scope="module", params=["FluidR3_GM", "TimGM6mb"])
def played(request: pytest.FixtureRequest) -> Played:
    assert DEBIAN_FLUID.is_file(), "FluidR3_GM is installed by make system"
    return Played(DEBIAN_FLUID if request.param == "FluidR3_GM" else timgm())


def samples(data: bytes) -> Iterator[tuple[tuple, np.ndarray, np.ndarray | None]]:
    """Each sample header with its points [start, end + 46) from smpl and, if the font has one, from sm24."""
    with io.BytesIO(data) as file:
        _info, sdta, pdta = _parse(file)
    smpl = np.frombuffer(data[sdta[b"smpl"][0] : sdta[b"smpl"][1]], dtype="<i2")
    sm24 = np.frombuffer(data[sdta[b"sm24"][0] : sdta[b"sm24"][1]], dtype=np.uint8) if b"sm24" in sdta else None
    for row in pdta["shdr"][:-1]:
        window = slice(row[1], row[2] + 46)
        yield row, smpl[window], None if sm24 is None else sm24[window]


def assert_samples_copied(whole: bytes, subset: bytes) -> int:
    """Every sample of `subset` is one of `whole`'s: same header but for its place, same points; their count."""
    originals: dict[tuple, list[tuple[np.ndarray, np.ndarray | None]]] = {}
    for row, points, low_bytes in samples(whole):
        originals.setdefault((row[0], row[2] - row[1], row[3] - row[1], row[4] - row[1], *row[5:8]), []).append(
            (points, low_bytes)
        )
    count = 0
    for row, points, low_bytes in samples(subset):
        candidates = originals[(row[0], row[2] - row[1], row[3] - row[1], row[4] - row[1], *row[5:8])]
        assert any(
            np.array_equal(points, old) and (low_bytes is None or np.array_equal(low_bytes, old_low))
            for old, old_low in candidates
        )
        count += 1
    return count


def test_the_subset_plays_what_the_whole_font_plays_to_float_rounding(played: Played) -> None:
    assert played.subset is not None
    assert played.whole_audio.shape == played.subset_audio.shape == (SOUND.frames, 2)
    assert np.abs(played.whole_audio).max() > 0.05
    assert float(np.abs(played.whole_audio - played.subset_audio).max()) < 1e-5


def test_every_sample_the_subset_holds_is_copied_point_for_point(played: Played) -> None:
    assert played.subset is not None
    assert 0 < assert_samples_copied(played.soundfont.path.read_bytes(), played.subset)


def test_with_every_sample_in_place_fluid_plays_bit_identically() -> None:
    """FluidR3's samples lie back to back with their 46 guard points, so keeping every program moves none."""
    fluid = SoundFont(path=DEBIAN_FLUID, name="FluidR3_GM", licence="test", source="test")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(synth, "subset_soundfont", lambda *_: None)
        expected = _Player(fluid, RATE, PROGRAMS).play(SOUND)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(synth, "subset_soundfont", lambda path, _programs: subset_soundfont(path, range(128)))
        everything = _Player(fluid, RATE, PROGRAMS).play(SOUND)
    assert np.abs(expected).max() > 0.05
    assert np.array_equal(expected, everything)


def test_only_the_chosen_programs_are_kept_in_every_bank(played: Played) -> None:
    assert played.subset is not None
    synthesizer = tinysoundfont.Synth(samplerate=RATE)
    sfid = synthesizer.sfload(played.subset)
    kept = {(b, p): synthesizer.sfpreset_name(sfid, b, p) for b in BANKS for p in range(128)}
    assert kept == {(b, p): name if p in PROGRAMS else None for (b, p), name in played.names.items()}
    assert played.names[(0, 40)] is not None
    with pytest.raises(RuntimeError):
        synthesizer.program_select(0, sfid, 0, 40)


def test_three_programs_of_fluid_are_a_small_part_of_it() -> None:
    subset = subset_soundfont(DEBIAN_FLUID, {0, 48, 73})
    assert subset is not None and subset[:4] == b"RIFF" and subset[8:12] == b"sfbk"
    assert len(subset) < DEBIAN_FLUID.stat().st_size / 4


def patched(data: bytes, offset: int, layout: str, value: int) -> bytes:
    return data[:offset] + struct.pack(layout, value) + data[offset + struct.calcsize(layout) :]


def test_what_is_not_copied_faithfully_gives_none(tmp_path: Path) -> None:
    data = timgm().read_bytes()
    first_sample_type = data.rindex(b"shdr") + 8 + 44
    cases = {
        "compressed.sf2": patched(data, first_sample_type, "<H", 0x11),
        "rom.sf2": patched(data, first_sample_type, "<H", 0x8001),
        "version3.sf3": patched(data, data.index(b"ifil") + 8, "<H", 3),
        "truncated.sf2": data[: len(data) // 2],
        "not-riff.sf2": b"RIFX" + data[4:],
    }
    for name, content in cases.items():
        (tmp_path / name).write_bytes(content)
        assert subset_soundfont(tmp_path / name, PROGRAMS) is None, name
    assert subset_soundfont(tmp_path / "missing.sf2", PROGRAMS) is None
    assert subset_soundfont(timgm(), {200}) is None
    assert subset_soundfont(timgm(), PROGRAMS) is not None


def test_an_sm24_chunk_is_cut_like_the_samples(tmp_path: Path) -> None:
    data = timgm().read_bytes()
    sdta = data.index(b"sdta") - 8
    assert data[sdta : sdta + 4] == b"LIST" and data[sdta + 12 : sdta + 16] == b"smpl"
    sdta_size = struct.unpack_from("<I", data, sdta + 4)[0]
    smpl_size = struct.unpack_from("<I", data, sdta + 16)[0]
    sm24 = (np.arange(smpl_size // 2) % 251).astype(np.uint8).tobytes()
    chunk = b"sm24" + struct.pack("<I", len(sm24)) + sm24 + b"\0" * (len(sm24) & 1)
    end = sdta + 8 + sdta_size
    font = data[:end] + chunk + data[end:]
    font = patched(patched(font, sdta + 4, "<I", sdta_size + len(chunk)), 4, "<I", len(font) - 8)
    (tmp_path / "with-sm24.sf2").write_bytes(font)
    subset = subset_soundfont(tmp_path / "with-sm24.sf2", PROGRAMS)
    assert subset is not None and b"sm24" in subset
    assert 0 < assert_samples_copied(font, subset)


def scene(scene_id: str, start: float, end: float, instrumentation: str, characters: list[str]) -> SceneCue:
    return SceneCue(
        scene_id=scene_id,
        start=start,
        end=end,
        key="D",
        mode="minor",
        tempo=96,
        mood="sad",
        instrumentation=instrumentation,
        intensity=3,
        characters=characters,
    )


def test_a_cue_file_is_the_same_whatever_other_cues_are_rendered_with_it(tmp_path: Path) -> None:
    """Each cue plays on a font of its own programs, so its bytes do not hang on the other cues' programs."""
    fluid = SoundFont(path=DEBIAN_FLUID, name="FluidR3_GM", licence="test", source="test")
    rendered = []
    for second in ("piano", "guitar"):
        cues = [scene("s1", 1.0, 4.0, "strings", ["noor"]), scene("s2", 4.0, 7.0, second, [])]
        cues.append(scene("s3", 7.0, 10.0, "brass", ["noor"]))
        plan = ScorePlan(cues=cues, motifs=[motif_for("noor", "minor", 5)], title_seconds=1.0)
        rendered.append(render_cues(plan, fluid, tmp_path / second))
    piano, guitar = ([audio.path.read_bytes() for audio in cues if audio.path] for cues in rendered)
    assert piano[1] != guitar[1]
    assert (piano[0], piano[2]) == (guitar[0], guitar[2])
