"""Each distinct line is spoken once per project: a reshot shot keeps its line's samples, so the mix is reused.

eSpeak NG does not give the same samples twice for the same words and voice (its synthesiser carries state from
one utterance to the next; measured: four calls, four different SHA-256s, lengths 10 to 20 samples apart), and
the cut's mix is keyed by the lines' bytes. Without this store a critic's reshoot of one shot with a line, or
a note that redraws it, re-spoke the line and mixed the whole film's sound again (6.6 s against 2.4 s).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tools.files import atomic_path, content_key
from tools.render.base import SpeechBackend, SpeechResult
from tools.render.spec import Voice

LINE_STORE_VERSION = 1


class LineStore:
    """A speech backend that keeps every line it speaks under the key of its request, and reads it back after.

    The request is the backend, its model and parameters, the words, the voice and the speed; the stored WAV is
    copied to where the caller asked for it, so each take still owns its files.
    """

    def __init__(self, speech: SpeechBackend, folder: Path) -> None:
        self.speech = speech
        self.folder = folder
        self.name = speech.name

    @property
    def model(self) -> str:
        return self.speech.model

    @property
    def parameters(self) -> dict[str, str | int | float | bool]:
        return self.speech.parameters

    def speak(self, text: str, voice: Voice, out: Path, *, speed: float = 1.0) -> SpeechResult:
        key = content_key(
            {
                "speech": [self.name, self.model, self.parameters],
                "text": text,
                "voice": voice.model_dump(mode="json"),
                "speed": round(speed, 4),
                "version": LINE_STORE_VERSION,
            }
        )
        stored, facts = self.folder / f"{key}.wav", self.folder / f"{key}.json"
        if stored.is_file() and facts.is_file():
            try:
                known = json.loads(facts.read_text(encoding="utf-8"))
                shutil.copyfile(stored, out)
                return SpeechResult(path=out, **known)
            except (OSError, ValueError, TypeError):
                pass
        result = self.speech.speak(text, voice, out, speed=speed)
        self.folder.mkdir(parents=True, exist_ok=True)
        with atomic_path(stored) as temporary:
            shutil.copyfile(result.path, temporary)
        with atomic_path(facts) as temporary:
            temporary.write_text(json.dumps(result.model_dump(mode="json", exclude={"path"})), encoding="utf-8")
        return result

    def close(self) -> None:
        closer = getattr(self.speech, "close", None)
        if callable(closer):
            closer()
