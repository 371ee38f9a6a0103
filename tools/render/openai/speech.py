"""Lines spoken by OpenAI's speech models (`DIRECTOR_RENDER__SPEECH_BACKEND=openai`)."""

from __future__ import annotations

import io
import struct
import wave
from pathlib import Path
from typing import ClassVar

import openai

from tools.files import write_atomic
from tools.render.base import BackendError, SpeechResult
from tools.render.openai.client import backend_error, openai_client
from tools.render.spec import Voice
from tools.settings import Settings

SPEECH_SPEEDS = (0.25, 4.0)
_NO_INSTRUCTIONS_MODELS = ("tts-1",)


class OpenAISpeechBackend:
    """Lines spoken by OpenAI's speech models, as WAV; `Voice.instructions` steer the delivery where supported."""

    name: ClassVar[str] = "openai"

    def __init__(self, client: openai.OpenAI, *, model: str = "gpt-4o-mini-tts") -> None:
        self.client = client
        self._model = model

    @classmethod
    def from_settings(cls, settings: Settings) -> OpenAISpeechBackend:
        media = settings.render.openai
        return cls(openai_client(media), model=media.speech_model)

    @property
    def model(self) -> str:
        return self._model

    @property
    def parameters(self) -> dict[str, str | int | float | bool]:
        return {}

    def speak(self, text: str, voice: Voice, out: Path, *, speed: float = 1.0) -> SpeechResult:
        """Speak `text` in `voice.openai` into the WAV file `out`, written atomically; `speed` above 1 talks faster.

        Raises:
            BackendError: the text is empty, the speed is outside OpenAI's 0.25 to 4, OpenAI refused or failed,
                or its answer is not a WAV file.
        """
        out = Path(out)
        shown = text if len(text) <= 40 else text[:40] + "…"
        what = f"the line {shown!r}"
        if not text.strip():
            raise BackendError("a line to speak is empty: give the dialogue some words")
        low, high = SPEECH_SPEEDS
        if not low <= speed <= high:
            raise BackendError(f"{what}: OpenAI speaks at {low} to {high} times normal speed, asked for {speed:g}")
        instructions = voice.instructions if not self._model.startswith(_NO_INSTRUCTIONS_MODELS) else ""
        try:
            answer = self.client.audio.speech.create(
                model=self._model,
                voice=voice.openai,
                input=text,
                response_format="wav",
                speed=speed,
                **({"instructions": instructions} if instructions else {}),
            )
            audio = answer.content
        except openai.OpenAIError as error:
            raise backend_error(error, what, self.client) from error
        try:
            audio = repaired_wav(audio)
            with wave.open(io.BytesIO(audio), "rb") as reader:
                frames, rate = reader.getnframes(), reader.getframerate()
        except (ValueError, EOFError, wave.Error) as error:
            raise BackendError(f"{what}: OpenAI's answer is not a WAV file: {error}") from error
        try:
            write_atomic(out, audio)
        except OSError as error:
            raise BackendError(f"{what}: cannot write {out}: {error}") from error
        return SpeechResult(path=out, duration=frames / rate, sample_rate=rate, backend=self.name, model=self._model)


def repaired_wav(data: bytes) -> bytes:
    """`data` with its RIFF and `data` chunk sizes set to what the file holds.

    OpenAI streams WAV with 0xFFFFFFFF in both sizes, so a strict reader (Python's `wave`) would think it hours
    long.

    Raises:
        ValueError: `data` is not a RIFF WAVE file.
    """
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ValueError("no RIFF WAVE header")
    fixed = bytearray(data)
    position = 12
    while position + 8 <= len(fixed):
        size = struct.unpack_from("<I", fixed, position + 4)[0]
        if fixed[position : position + 4] == b"data":
            available = len(fixed) - position - 8
            if size > available:
                struct.pack_into("<I", fixed, position + 4, available)
            break
        position += 8 + size + (size & 1)
    struct.pack_into("<I", fixed, 4, len(fixed) - 8)
    return bytes(fixed)
