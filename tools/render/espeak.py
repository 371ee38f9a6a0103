"""The espeak speech backend: lines spoken offline with eSpeak NG (casting a voice is `agents.casting`).

eSpeak NG comes from the espeakng-loader wheel (the shared library and its data), so it works offline with no
system package, and is driven through ctypes. The library keeps one voice, one set of parameters and one
output callback for the whole process, so it is loaded once per process and every call holds one lock.
"""

from __future__ import annotations

import ctypes
import functools
import io
import logging
import math
import threading
import wave
from pathlib import Path
from typing import ClassVar

import numpy as np

from tools.files import write_atomic
from tools.render.base import BackendError, SpeechResult
from tools.render.spec import Voice
from tools.settings import Settings

logger = logging.getLogger(__name__)

MIN_WORDS_PER_MINUTE = 80
MAX_WORDS_PER_MINUTE = 450
SILENCE_LEVEL = 64
"""Samples at or below this (about -54 dBFS) count as silence when the ends of a take are trimmed."""
EDGE_PAD = 0.005
"""Seconds of silence kept before the first and after the last sound: the onset is where the file starts."""
REINSTALL_HINT = "reinstall it with `pip install --force-reinstall espeakng-loader`"

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_EE_OK = 0
_RATE, _VOLUME, _PITCH, _RANGE = 1, 2, 3, 4
_SYNTH_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)


class _EspeakVoice(ctypes.Structure):
    _fields_ = [
        ("name", ctypes.c_char_p),
        ("languages", ctypes.c_void_p),  # (priority byte, name, NUL) repeated, then a NUL
        ("identifier", ctypes.c_char_p),
        ("gender", ctypes.c_ubyte),
        ("age", ctypes.c_ubyte),
        ("variant", ctypes.c_ubyte),
        ("xx1", ctypes.c_ubyte),
        ("score", ctypes.c_int),
        ("spare", ctypes.c_void_p),
    ]


class _Espeak:
    """libespeak-ng, initialised in synchronous mode: `espeak_Synth` returns once the callback has had every sample.

    Only call it while holding `_LIBRARY_LOCK`: the voice, the parameters and the sample buffer are shared.
    """

    def __init__(self) -> None:
        try:
            import espeakng_loader

            data = Path(espeakng_loader.get_data_path())
            lib = ctypes.CDLL(espeakng_loader.get_library_path())
        except (ImportError, OSError, RuntimeError) as error:
            raise BackendError(f"cannot load eSpeak NG from espeakng-loader ({error}): {REINSTALL_HINT}") from error
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_Info.argtypes = [ctypes.c_void_p]
        lib.espeak_Info.restype = ctypes.c_char_p
        lib.espeak_SetSynthCallback.argtypes = [_SYNTH_CALLBACK]
        lib.espeak_SetSynthCallback.restype = None
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetVoiceByName.restype = ctypes.c_int
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_SetParameter.restype = ctypes.c_int
        lib.espeak_Synth.argtypes = [
            ctypes.c_char_p,
            ctypes.c_size_t,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_uint,
            ctypes.c_uint,
            ctypes.c_void_p,
            ctypes.c_void_p,
        ]
        lib.espeak_Synth.restype = ctypes.c_int
        lib.espeak_Synchronize.restype = ctypes.c_int
        lib.espeak_ListVoices.argtypes = [ctypes.c_void_p]
        lib.espeak_ListVoices.restype = ctypes.POINTER(ctypes.POINTER(_EspeakVoice))

        self.sample_rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, str(data).encode(), 0)
        if self.sample_rate <= 0:
            raise BackendError(f"eSpeak NG could not start with its data at {data}: {REINSTALL_HINT}")
        self.version = (lib.espeak_Info(None) or b"").decode()
        self.variants = frozenset(path.name for path in (data / "voices" / "!v").iterdir())
        self._lib = lib
        self.identifiers = self._identifiers_by_language()
        self._chunks: list[bytes] = []
        self._callback = _SYNTH_CALLBACK(self._collect)  # kept on self: the library holds only a raw pointer
        lib.espeak_SetSynthCallback(self._callback)

    def _collect(self, wav: ctypes._Pointer[ctypes.c_short], num_samples: int, events: int | None) -> int:
        if num_samples > 0 and wav:
            self._chunks.append(ctypes.string_at(wav, num_samples * 2))
        return 0

    def _identifiers_by_language(self) -> dict[str, str]:
        """Each language name ('en-gb') to the voice that speaks it best ('gmw/en'), lowest priority number first."""
        best: dict[str, tuple[int, str]] = {}
        found = self._lib.espeak_ListVoices(None)
        index = 0
        while found[index]:
            voice = found[index].contents
            identifier = (voice.identifier or b"").decode()
            offset = 0
            while voice.languages and (priority := ctypes.string_at(voice.languages + offset, 1)[0]):
                language = ctypes.string_at(voice.languages + offset + 1)
                offset += len(language) + 2
                key = language.decode().lower()
                if identifier and (key not in best or priority < best[key][0]):
                    best[key] = (priority, identifier)
            index += 1
        return {language: identifier for language, (_, identifier) in best.items()}

    def set_voice(self, name: str) -> bool:
        """Make `name` the voice; a language that is no voice's own name ('en-gb+f3') is looked up by language."""
        if self._lib.espeak_SetVoiceByName(name.encode()) == _EE_OK:
            return True
        language, plus, variant = name.partition("+")
        identifier = self.identifiers.get(language.lower())
        return (
            identifier is not None
            and self._lib.espeak_SetVoiceByName(f"{identifier}{plus}{variant}".encode()) == _EE_OK
        )

    def synthesize(self, text: str, words_per_minute: int, pitch: int) -> np.ndarray:
        """Speak `text` in the voice last set; every parameter is set again, since they outlive each call."""
        for parameter, value in ((_RATE, words_per_minute), (_PITCH, pitch), (_VOLUME, 100), (_RANGE, 50)):
            self._lib.espeak_SetParameter(parameter, value, 0)
        data = text.encode() + b"\0"
        self._chunks = []
        status = self._lib.espeak_Synth(data, len(data), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
        self._lib.espeak_Synchronize()
        if status != _EE_OK:
            raise BackendError(f"eSpeak NG failed (status {status}) on {text[:60]!r}")
        return np.frombuffer(b"".join(self._chunks), dtype=np.int16)


_LIBRARY_LOCK = threading.Lock()
"""The one process-wide lock: eSpeak NG has a single voice, parameter set and output buffer per process."""


@functools.cache
def _load_espeak() -> _Espeak:
    return _Espeak()


def _espeak() -> _Espeak:
    """The process's one `_Espeak`, loaded on first use; a failed load is retried on the next call."""
    with _LIBRARY_LOCK:
        return _load_espeak()


def voice_candidates(name: str, variants: frozenset[str]) -> list[str]:
    """The eSpeak voice names to try for `name`, best first: 'en-us+f3', 'en-us', 'en+f3', 'en'.

    eSpeak NG accepts any '+variant' silently, so an unknown variant is dropped here rather than by the library.
    """
    language, _, variant = name.strip().partition("+")
    if variant and variant not in variants:
        variant = ""
    parts = language.split("-")
    candidates: list[str] = []
    for end in range(len(parts), 0, -1):
        base = "-".join(parts[:end])
        candidates += [f"{base}+{variant}", base] if variant else [base]
    return list(dict.fromkeys(candidates))


def _trim(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """Cut the silence at both ends down to `EDGE_PAD`, so the first sound is at the start of the file."""
    loud = np.flatnonzero(np.abs(samples.astype(np.int32)) > SILENCE_LEVEL)
    if loud.size == 0:
        return samples[:0]
    pad = round(EDGE_PAD * sample_rate)
    return samples[max(0, int(loud[0]) - pad) : int(loud[-1]) + pad + 1]


def _wav_bytes(samples: np.ndarray, sample_rate: int) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(sample_rate)
        wav.writeframes(samples.astype("<i2").tobytes())
    return buffer.getvalue()


class EspeakSpeechBackend:
    """Speaks lines offline with eSpeak NG: robotic, but instant, free and available on every machine."""

    name: ClassVar[str] = "espeak"

    @classmethod
    def from_settings(cls, settings: Settings) -> EspeakSpeechBackend:
        return cls()

    @property
    def model(self) -> str:
        """'espeak-ng 1.52.0'; just 'espeak-ng' when the library cannot load (then `speak` says why)."""
        try:
            return f"espeak-ng {_espeak().version}"
        except BackendError:
            return "espeak-ng"

    @property
    def parameters(self) -> dict[str, str | int | float | bool]:
        return {}

    def speak(self, text: str, voice: Voice, out: Path, *, speed: float = 1.0) -> SpeechResult:
        """Speak `text` in `voice` into the mono 16-bit WAV `out`, trimmed so the speech starts the file.

        A voice eSpeak NG does not know falls back to its language ('en-us+f3', 'en-us', 'en+f3', 'en').
        """
        text = text.replace("\0", " ").strip()
        if not text:
            raise BackendError("nothing to speak: the line's text is empty")
        if not (math.isfinite(speed) and speed > 0):
            raise BackendError(f"speed must be a positive number, not {speed!r}")
        rate = min(MAX_WORDS_PER_MINUTE, max(MIN_WORDS_PER_MINUTE, round(voice.words_per_minute * speed)))
        with _LIBRARY_LOCK:
            espeak = _load_espeak()
            candidates = voice_candidates(voice.espeak, espeak.variants)
            chosen = next((name for name in candidates if espeak.set_voice(name)), None)
            if chosen is None:
                known = ", ".join(sorted(espeak.identifiers, key=lambda lang: (not lang.startswith("en"), lang))[:12])
                raise BackendError(
                    f"eSpeak NG has no voice {voice.espeak!r} (tried {', '.join(candidates)}); use a language such "
                    f"as {known}, ... with an optional variant such as '+f3' or '+m3'"
                )
            samples = espeak.synthesize(text, rate, voice.pitch)
            sample_rate = espeak.sample_rate
            model = f"espeak-ng {espeak.version}"
        if chosen != voice.espeak.strip():
            logger.warning("eSpeak NG voice %r is unknown; speaking with %r instead", voice.espeak, chosen)
        samples = _trim(samples, sample_rate)
        if samples.size == 0:
            raise BackendError(f"eSpeak NG made no sound for {text[:60]!r}: give the line some words to say")
        write_atomic(out, _wav_bytes(samples, sample_rate))
        return SpeechResult(
            path=out, duration=samples.size / sample_rate, sample_rate=sample_rate, backend=self.name, model=model
        )


def _read_wav(path: Path) -> tuple[np.ndarray, int]:
    """The samples of a 16-bit WAV as floats in [-1, 1], channels mixed down, and its sample rate."""
    with wave.open(str(path), "rb") as wav:
        if wav.getsampwidth() != 2:
            raise ValueError(f"{path} has {8 * wav.getsampwidth()}-bit samples; only 16-bit WAV is read")
        frames = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").astype(np.float64) / 32768.0
        return frames.reshape(-1, wav.getnchannels()).mean(axis=1), wav.getframerate()


def wav_info(path: Path) -> tuple[float, int]:
    """A WAV file's duration in seconds and its sample rate."""
    with wave.open(str(path), "rb") as wav:
        return wav.getnframes() / wav.getframerate(), wav.getframerate()


def wav_levels(path: Path, window: float = 0.01) -> np.ndarray:
    """The RMS level in dBFS of each `window` seconds of a 16-bit WAV; digital silence reads -120."""
    samples, sample_rate = _read_wav(path)
    size = max(1, round(window * sample_rate))
    count = math.ceil(samples.size / size)
    padded = np.zeros(count * size)
    padded[: samples.size] = samples
    rms = np.sqrt(np.mean(padded.reshape(count, size) ** 2, axis=1))
    return np.maximum(20 * np.log10(np.maximum(rms, 1e-12)), -120.0)
