"""A line is spoken once per project and read back the same: real eSpeak NG, which never repeats its samples."""

from __future__ import annotations

from pathlib import Path

from tools.render.espeak import EspeakSpeechBackend
from tools.render.line_store import LineStore
from tools.render.spec import Voice
from tools.settings import Settings

LINE = "He said he would come back before the tide."


class CountingSpeech:
    """The real backend, counting what it is asked to speak."""

    def __init__(self, speech: EspeakSpeechBackend) -> None:
        self.speech, self.name, self.spoken = speech, speech.name, 0

    @property
    def model(self) -> str:
        return self.speech.model

    @property
    def parameters(self) -> dict:
        return self.speech.parameters

    def speak(self, text: str, voice: Voice, out: Path, *, speed: float = 1.0):
        self.spoken += 1
        return self.speech.speak(text, voice, out, speed=speed)


def test_the_same_line_is_the_same_samples_and_another_is_spoken(tmp_path: Path) -> None:
    espeak = EspeakSpeechBackend.from_settings(Settings())
    counted = CountingSpeech(espeak)
    store = LineStore(counted, tmp_path / "lines")
    first = store.speak(LINE, Voice(espeak="en-us+f3"), tmp_path / "take-1" / "line.wav")
    again = LineStore(counted, tmp_path / "lines").speak(LINE, Voice(espeak="en-us+f3"), tmp_path / "line-2.wav")
    assert counted.spoken == 1, "a line already spoken is read back, even by a new store on the same folder"
    assert again.path == tmp_path / "line-2.wav" and again.path.read_bytes() == first.path.read_bytes()
    assert (again.duration, again.sample_rate, again.backend) == (first.duration, first.sample_rate, first.backend)
    store.speak(LINE, Voice(espeak="en-us+f3"), tmp_path / "faster.wav", speed=1.3)
    store.speak(LINE, Voice(espeak="en-gb+m3"), tmp_path / "other-voice.wav")
    assert counted.spoken == 3, "a new speed or voice is a new line"
    assert (store.name, store.model, store.parameters) == (espeak.name, espeak.model, espeak.parameters)
