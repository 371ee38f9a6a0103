"""The espeak backend against the real eSpeak NG from espeakng-loader, and voice casting."""

from __future__ import annotations

import logging
import threading
import wave
from pathlib import Path

import numpy as np
import pytest

from agents.casting import cast_voice, guess_traits
from tools.render.base import BackendError, SpeechBackend
from tools.render.espeak import (
    EspeakSpeechBackend,
    voice_candidates,
    wav_info,
    wav_levels,
)
from tools.render.spec import Voice
from tools.settings import Settings

LINE = "We should go now, before the rain comes back."
FEMALE_VARIANTS = {"f1", "f2", "f3", "f4", "f5", "steph", "linda", "belinda", "grandma"}
MALE_VARIANTS = {"m1", "m2", "m3", "m4", "m5", "m6", "m7", "grandpa", "croak"}


@pytest.fixture(scope="module")
def backend() -> EspeakSpeechBackend:
    return EspeakSpeechBackend()


def read_samples(path: Path) -> np.ndarray:
    with wave.open(str(path), "rb") as wav:
        return np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").astype(np.float64) / 32768.0


def median_f0(path: Path) -> float:
    """The median fundamental frequency of the voiced 40 ms frames, by autocorrelation."""
    samples = read_samples(path)
    rate = wav_info(path)[1]
    frame = int(0.04 * rate)
    lo, hi = int(rate / 500), int(rate / 60)
    found = []
    for start in range(0, samples.size - frame, frame // 2):
        window = samples[start : start + frame]
        if np.sqrt(np.mean(window**2)) < 0.02:
            continue
        window = window - window.mean()
        corr = np.correlate(window, window, "full")[frame - 1 :]
        lag = lo + int(np.argmax(corr[lo:hi]))
        if corr[lag] > 0.3 * corr[0]:
            found.append(rate / lag)
    assert found, f"no voiced frames in {path}"
    return float(np.median(found))


def test_backend_meets_the_protocol(backend: EspeakSpeechBackend) -> None:
    assert isinstance(backend, SpeechBackend)
    assert EspeakSpeechBackend.from_settings(Settings()).name == "espeak"
    assert backend.model.startswith("espeak-ng 1.")


@pytest.mark.parametrize("text", [LINE, "(Quietly.) We should go now."])
def test_speak_writes_a_mono_wav_that_starts_with_the_speech(
    backend: EspeakSpeechBackend, tmp_path: Path, text: str
) -> None:
    out = tmp_path / "takes" / "line.wav"
    result = backend.speak(text, Voice(espeak="en-us+f3"), out)

    assert result.path == out and out.is_file()
    assert list(out.parent.iterdir()) == [out], "the temporary file must be renamed, not left behind"
    with wave.open(str(out), "rb") as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, 22050)
    duration, rate = wav_info(out)
    assert rate == result.sample_rate == 22050
    assert result.duration == pytest.approx(duration)
    assert 0.5 < duration < 5.0
    assert (result.backend, result.model) == ("espeak", backend.model)

    levels = wav_levels(out, 0.005)
    assert levels.max() > -30, "speech should be well above silence"
    loud = np.flatnonzero(levels > -40)
    assert loud[0] * 0.005 < 0.05, "speech must start within 50 ms: the editor places the file at the subtitle"
    audible = np.flatnonzero(levels > -60)
    assert (levels.size - 1 - audible[-1]) * 0.005 < 0.05, "no long silence after the last sound"


def test_speaking_again_replaces_the_file(backend: EspeakSpeechBackend, tmp_path: Path) -> None:
    out = tmp_path / "line.wav"
    backend.speak(LINE, Voice(), out)
    first = wav_info(out)[0]
    backend.speak("Go.", Voice(), out)
    assert wav_info(out)[0] < first / 2
    assert [path.name for path in tmp_path.iterdir()] == ["line.wav"]


def test_faster_speed_makes_a_shorter_take(backend: EspeakSpeechBackend, tmp_path: Path) -> None:
    normal = backend.speak(LINE, Voice(), tmp_path / "normal.wav").duration
    fast = backend.speak(LINE, Voice(), tmp_path / "fast.wav", speed=1.5).duration
    assert fast < 0.8 * normal


def test_rate_is_clamped_to_espeaks_range(backend: EspeakSpeechBackend, tmp_path: Path) -> None:
    voice = Voice(words_per_minute=400)
    at_limit = backend.speak(LINE, voice, tmp_path / "limit.wav", speed=450 / 400).duration
    beyond = backend.speak(LINE, voice, tmp_path / "beyond.wav", speed=2.5).duration
    assert beyond == pytest.approx(at_limit, rel=0.03)


def test_female_and_male_variants_sound_different(backend: EspeakSpeechBackend, tmp_path: Path) -> None:
    backend.speak(LINE, Voice(espeak="en-us+f3"), tmp_path / "f.wav")
    backend.speak(LINE, Voice(espeak="en-us+m3"), tmp_path / "m.wav")
    assert median_f0(tmp_path / "f.wav") > 1.5 * median_f0(tmp_path / "m.wav")


def test_pitch_raises_the_voice(backend: EspeakSpeechBackend, tmp_path: Path) -> None:
    backend.speak(LINE, Voice(pitch=10), tmp_path / "low.wav")
    backend.speak(LINE, Voice(pitch=90), tmp_path / "high.wav")
    assert median_f0(tmp_path / "high.wav") > 1.3 * median_f0(tmp_path / "low.wav")


def test_unknown_variant_falls_back_to_the_language(
    backend: EspeakSpeechBackend, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="tools.render.espeak"):
        result = backend.speak(LINE, Voice(espeak="en-us+nosuchvariant"), tmp_path / "x.wav")
    assert "en-us+nosuchvariant" in caplog.text
    backend.speak(LINE, Voice(espeak="en-us"), tmp_path / "plain.wav")
    assert result.duration == pytest.approx(wav_info(tmp_path / "plain.wav")[0], rel=0.03)
    assert median_f0(tmp_path / "x.wav") == pytest.approx(median_f0(tmp_path / "plain.wav"), rel=0.1)


def test_language_names_are_voices_too(
    backend: EspeakSpeechBackend, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # 'en-gb' and 'fr-fr' are languages of eSpeak NG voices ('gmw/en', 'roa/fr') but no voice's own name.
    with caplog.at_level(logging.WARNING, logger="tools.render.espeak"):
        backend.speak(LINE, Voice(espeak="en-gb+f3"), tmp_path / "gb.wav")
        backend.speak("Bonjour, mes amis.", Voice(espeak="fr-fr+m3"), tmp_path / "fr.wav")
    assert caplog.text == ""
    backend.speak(LINE, Voice(espeak="en+m3"), tmp_path / "male.wav")
    assert median_f0(tmp_path / "gb.wav") > 1.5 * median_f0(tmp_path / "male.wav")


def test_unknown_dialect_falls_back_and_keeps_the_variant(
    backend: EspeakSpeechBackend, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    assert voice_candidates("en-zz+f3", frozenset({"f3"})) == ["en-zz+f3", "en-zz", "en+f3", "en"]
    with caplog.at_level(logging.WARNING, logger="tools.render.espeak"):
        backend.speak(LINE, Voice(espeak="en-zz+f3"), tmp_path / "zz.wav")
    assert "'en+f3'" in caplog.text
    backend.speak(LINE, Voice(espeak="en+m3"), tmp_path / "male.wav")
    assert median_f0(tmp_path / "zz.wav") > 1.5 * median_f0(tmp_path / "male.wav")


def test_unknown_language_is_an_error_listing_real_voices(backend: EspeakSpeechBackend, tmp_path: Path) -> None:
    with pytest.raises(BackendError, match=r"'zz-qq\+f3'.*en-us"):
        backend.speak(LINE, Voice(espeak="zz-qq+f3"), tmp_path / "x.wav")
    assert not (tmp_path / "x.wav").exists()


@pytest.mark.parametrize("text", ["", "   \n", "..."])
def test_nothing_to_say_is_an_error(backend: EspeakSpeechBackend, tmp_path: Path, text: str) -> None:
    with pytest.raises(BackendError, match="nothing to speak|no sound"):
        backend.speak(text, Voice(), tmp_path / "x.wav")
    assert list(tmp_path.iterdir()) == []


def test_speed_must_be_positive(backend: EspeakSpeechBackend, tmp_path: Path) -> None:
    with pytest.raises(BackendError, match="speed"):
        backend.speak(LINE, Voice(), tmp_path / "x.wav", speed=0)


def test_concurrent_calls_each_get_their_own_take(backend: EspeakSpeechBackend, tmp_path: Path) -> None:
    jobs = [
        ("Yes.", "en-us+f3"),
        (LINE, "en-us+m3"),
        ("I never thought I would see this town again, not after everything that happened.", "en-us+f5"),
        ("Over there, by the old bridge.", "en-us+m7"),
    ]
    alone = [backend.speak(text, Voice(espeak=name), tmp_path / f"alone{i}.wav") for i, (text, name) in enumerate(jobs)]
    barrier = threading.Barrier(len(jobs))
    results: dict[int, float] = {}
    errors: list[BaseException] = []

    def speak(index: int) -> None:
        text, name = jobs[index]
        try:
            barrier.wait()
            for round_ in range(3):
                out = tmp_path / f"together{index}_{round_}.wav"
                results[index * 10 + round_] = backend.speak(text, Voice(espeak=name), out).duration
        except BaseException as error:  # noqa: BLE001 - reported by the main thread
            errors.append(error)

    threads = [threading.Thread(target=speak, args=(index,)) for index in range(len(jobs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors
    assert len(results) == 3 * len(jobs)
    for index, solo in enumerate(alone):
        for round_ in range(3):
            out = tmp_path / f"together{index}_{round_}.wav"
            assert wav_info(out)[0] == pytest.approx(solo.duration, rel=0.03), out.name
        female = jobs[index][1].endswith(("f3", "f5"))
        f0 = median_f0(tmp_path / f"together{index}_0.wav")
        assert f0 > 160 if female else f0 < 140


def test_cast_voice_is_deterministic() -> None:
    first = cast_voice("mara", "Mara", "a young engineer in a yellow raincoat")
    assert cast_voice("mara", "Mara", "a young engineer in a yellow raincoat") == first
    others = {cast_voice(f"extra-{n}", "Extra", "a stranger") for n in range(12)}
    assert len(others) > 3, "the id's hash should spread characters over voices"


def test_cast_voice_gives_film_characters_distinct_voices() -> None:
    first = cast_voice("ana", "Ana", "a woman in a red coat")
    second = cast_voice("bea", "Bea", "a woman with short hair", taken=[first])
    assert second.espeak != first.espeak and second.openai != first.openai

    cast: list[Voice] = []
    for n in range(12):
        cast.append(cast_voice(f"sister-{n}", f"Sister {n}", "a woman in grey robes, she sings", taken=cast))
    assert len({(voice.espeak, voice.pitch) for voice in cast}) == len(cast)
    assert len({voice.espeak for voice in cast[:5]}) == 5, "fitting variants are used up before pitches are moved"


@pytest.mark.parametrize(
    ("name", "look", "gender"),
    [
        ("Rosa", "an elderly woman, her hands shaking", "female"),
        ("Queen Ida", "in a silver crown", "female"),
        ("Lena", "she wears a leather jacket", "female"),
        ("The Mother", "tired eyes", "female"),
        ("Tom", "a tall man in a suit", "male"),
        ("King Aldo", "in a fur cloak", "male"),
        ("Mr. Park", "his glasses taped together", "male"),
        ("Kit", "a courier on a bicycle", "unknown"),
    ],
)
def test_cast_voice_follows_gender_words(name: str, look: str, gender: str) -> None:
    voice = cast_voice(name.lower(), name, look)
    variant = voice.espeak.partition("+")[2]
    assert guess_traits(name, look).gender == gender
    if gender == "female":
        assert variant in FEMALE_VARIANTS and voice.openai in {"coral", "nova", "shimmer", "sage"}
    elif gender == "male":
        assert variant in MALE_VARIANTS and voice.openai in {"onyx", "echo", "ash", "fable"}
    else:
        assert voice.openai == "alloy"


def test_cast_voice_follows_age_words() -> None:
    adult = cast_voice("sam", "Sam", "a man with a moustache")
    old = cast_voice("sam", "Sam", "an old man with a grey moustache")
    sixties = cast_voice("sam", "Sam", "a man in his 60s")
    child = cast_voice("sam", "Sam", "an 8-year-old boy")
    assert old.words_per_minute < adult.words_per_minute and old.pitch < adult.pitch
    assert sixties.words_per_minute < adult.words_per_minute
    assert child.pitch > adult.pitch
    assert guess_traits("Sam", "an 8-year-old boy").age == "child", "'old' in '8-year-old' is no age word"
    assert guess_traits("Nan", "a woman aged 72").age == "old"
    assert old.instructions and "older" in old.instructions


def test_cast_voices_are_all_known_to_espeak(
    backend: EspeakSpeechBackend, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    looks = ["an old woman", "an old man", "a little girl, 7 years old", "a boy of 9", "a man", "a woman", "a person"]
    with caplog.at_level(logging.WARNING, logger="tools.render.espeak"):
        for n in range(14):
            voice = cast_voice(f"c{n}", "C", looks[n % len(looks)])
            backend.speak("Hello.", voice, tmp_path / f"{n}.wav")
    assert "unknown" not in caplog.text
