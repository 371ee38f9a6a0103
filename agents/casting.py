"""Voice casting: a fitting voice for each character, from what their name, look and scenes say about them.

This is casting, not speech: the backends only read the `Voice` it decides (`tools.render.espeak` and the
OpenAI speech backend each read the field that names their own voices).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from agents.state import Character, Film
from tools.render.espeak import MAX_WORDS_PER_MINUTE, MIN_WORDS_PER_MINUTE
from tools.render.spec import Voice


def cast_voices(film: Film) -> None:
    """Give each character without a voice one that fits them and differs from the others' voices."""
    taken = [character.voice for character in film.characters if character.voice is not None]
    for character in film.characters:
        if character.voice is None:
            character.voice = cast_voice(character.id, character.name, voice_clues(film, character), taken)
            taken.append(character.voice)


def voice_clues(film: Film, character: Character) -> str:
    """The look, and every action paragraph that names this character and nobody else.

    A screenplay's character notes seldom say "woman" or "man", but its action does: "NOOR hurries down the
    ramp, a bag held to her chest".
    """
    names = {c.id: re.compile(rf"\b{re.escape(c.name)}\b", re.IGNORECASE) for c in film.characters}
    others = [pattern for cid, pattern in names.items() if cid != character.id]
    paragraphs = [
        paragraph
        for scene in film.scenes
        for paragraph in scene.action
        if names[character.id].search(paragraph) and not any(other.search(paragraph) for other in others)
    ]
    return " ".join([character.look, *paragraphs])


Gender = Literal["female", "male", "unknown"]
Age = Literal["child", "teen", "adult", "old"]

_FEMALE_WORDS = frozenset(
    "woman women girl girls she her hers herself mother mom mum mama grandmother grandma granny gran lady ladies "
    "queen actress wife daughter sister aunt auntie niece princess bride widow nun heroine waitress duchess empress "
    "female feminine mrs ms miss madam madame matriarch witch schoolgirl businesswoman policewoman".split()
)
_MALE_WORDS = frozenset(
    "man men boy boys he him his himself father dad papa grandfather grandpa gramps gentleman king actor husband son "
    "brother uncle nephew prince groom widower monk hero waiter duke emperor male masculine mr sir lord patriarch "
    "wizard schoolboy businessman policeman bearded beard moustache mustache".split()
)
_OLD_WORDS = frozenset(
    "old elderly grey gray aged ancient wrinkled retired frail wizened senior grandmother grandfather grandma grandpa "
    "granny gramps sixties seventies eighties nineties octogenarian".split()
)
_CHILD_WORDS = frozenset("child children kid kids toddler baby boy girl schoolboy schoolgirl".split())
_TEEN_WORDS = frozenset("teen teens teenage teenager adolescent".split())
_AGE_PHRASE = re.compile(
    r"\b(?P<years>\d{1,3})[\s-]*(?:years?|yrs?)[\s-]*old\b|\baged\s+(?P<aged>\d{1,3})\b|\b(?P<decade>[1-9])0'?s\b"
)

_ESPEAK_VARIANTS: dict[Gender, tuple[str, ...]] = {
    "female": ("f1", "f2", "f3", "f4", "f5", "steph", "linda", "belinda"),
    "male": ("m1", "m2", "m3", "m4", "m5", "m6", "m7"),
    "unknown": ("shelby", "f2", "m3", "f4", "m6", "f5", "m2"),
}
_ESPEAK_FIRST_CHOICES: dict[tuple[Gender, Age], tuple[str, ...]] = {
    ("female", "old"): ("grandma", "f1", "f4"),
    ("male", "old"): ("grandpa", "croak", "m1", "m4"),
    ("female", "child"): ("f5", "f2", "f3"),
    ("male", "child"): ("f5", "f2", "m7"),
    ("unknown", "child"): ("f5", "f2"),
}
_OPENAI_VOICES: dict[Gender, tuple[str, ...]] = {
    "female": ("coral", "nova", "shimmer", "sage"),
    "male": ("onyx", "echo", "ash", "fable"),
    "unknown": ("alloy",),
}
_PITCH_SHIFT: dict[Age, int] = {"child": 28, "teen": 10, "adult": 0, "old": -12}
_RATE_SHIFT: dict[Age, int] = {"child": 10, "teen": 8, "adult": 0, "old": -28}
_DELIVERY: dict[tuple[Gender, Age], str] = {
    ("female", "old"): "An older woman's voice, unhurried and low.",
    ("male", "old"): "An older man's voice, unhurried and low.",
    ("unknown", "old"): "An older voice, unhurried and low.",
    ("female", "child"): "A young girl's voice, bright and quick.",
    ("male", "child"): "A young boy's voice, bright and quick.",
    ("unknown", "child"): "A child's voice, bright and quick.",
    ("female", "teen"): "A teenage girl's voice.",
    ("male", "teen"): "A teenage boy's voice.",
    ("unknown", "teen"): "A teenager's voice.",
}


@dataclass(frozen=True)
class VoiceTraits:
    """What a character's name and look say about their voice."""

    gender: Gender
    age: Age


def _years(match: re.Match[str]) -> int:
    """The age an `_AGE_PHRASE` match states: '8-year-old' is 8, 'aged 70' is 70, '60s' is 65."""
    if match["decade"]:
        return int(match["decade"]) * 10 + 5
    return int(match["years"] or match["aged"])


def guess_traits(name: str, look: str) -> VoiceTraits:
    """Guess gender and age group from the words of a character's name and look; 'unknown' when they are silent."""
    text = f"{name} {look}".lower()
    ages = [_years(match) for match in _AGE_PHRASE.finditer(text)]
    words = re.findall(r"[a-z]+", _AGE_PHRASE.sub(" ", text).replace("'s", ""))
    female = sum(word in _FEMALE_WORDS for word in words)
    male = sum(word in _MALE_WORDS for word in words)
    gender: Gender = "female" if female > male else "male" if male > female else "unknown"
    age: Age = "adult"
    if ages:
        years = ages[0]
        age = "child" if years <= 12 else "teen" if years <= 19 else "old" if years >= 60 else "adult"
    elif any(word in _OLD_WORDS for word in words):
        age = "old"
    elif any(word in _TEEN_WORDS for word in words):
        age = "teen"
    elif any(word in _CHILD_WORDS for word in words):
        age = "child"
    return VoiceTraits(gender=gender, age=age)


def _rotated(options: Sequence[str], start: int) -> list[str]:
    return [options[(start + index) % len(options)] for index in range(len(options))] if options else []


def cast_voice(
    character_id: str, name: str, look: str, taken: Sequence[Voice] = (), *, language: str = "en-us"
) -> Voice:
    """A fitting voice for a character, the same every time for the same inputs.

    Gender and age from the name and look pick the eSpeak variant and the OpenAI voice; a stable hash of the id
    picks among the fitting ones and nudges pitch and rate. Variants and OpenAI voices in `taken` (the other
    characters of the film) are avoided while fitting ones are left; past that, the pitch is moved apart instead.
    """
    traits = guess_traits(name, look)
    digest = hashlib.sha256(character_id.encode()).digest()
    taken_variants = {voice.espeak.partition("+")[2] for voice in taken}
    taken_openai = {voice.openai for voice in taken}

    first = _ESPEAK_FIRST_CHOICES.get((traits.gender, traits.age), ())
    pool = list(dict.fromkeys(_rotated(first, digest[0]) + _rotated(_ESPEAK_VARIANTS[traits.gender], digest[1])))
    variant = next((option for option in pool if option not in taken_variants), pool[0])

    openai_pool = _rotated(_OPENAI_VOICES[traits.gender], digest[2])
    if traits.gender == "unknown":
        openai_pool += _rotated(_OPENAI_VOICES["female"] + _OPENAI_VOICES["male"], digest[2])
    openai = next((option for option in openai_pool if option not in taken_openai), openai_pool[0])

    pitch = 50 + _PITCH_SHIFT[traits.age] + digest[3] % 21 - 10
    same_variant = [voice.pitch for voice in taken if voice.espeak.partition("+")[2] == variant]
    for step in (0, 12, -12, 24, -24, 36, -36):
        if all(abs(pitch + step - other) >= 8 for other in same_variant):
            pitch += step
            break
    rate = 165 + _RATE_SHIFT[traits.age] + digest[4] % 31 - 15
    return Voice(
        espeak=f"{language}+{variant}",
        openai=openai,
        pitch=min(99, max(0, pitch)),
        words_per_minute=min(MAX_WORDS_PER_MINUTE, max(MIN_WORDS_PER_MINUTE, rate)),
        instructions=_DELIVERY.get((traits.gender, traits.age), ""),
    )


_DEEPER = re.compile(r"\b(deep(?:er)?|low(?:er)?|gravell?y|gruff(?:er)?|husk(?:y|ier)|darker)\b")
_HIGHER = re.compile(r"\b(high(?:er)?|bright(?:er)?|light(?:er)?|younger|thinner)\b")
_SLOWER = re.compile(r"\b(slow(?:er|ly)?|calm(?:er)?|unhurried|measured|drawl)\b")
_FASTER = re.compile(r"\b(fast(?:er)?|quick(?:er|ly)?|urgent|hurried|rushed|brisk(?:er)?)\b")
_WHISPER = re.compile(r"\bwhisper(?:s|ed|ing|y)?\b")
PITCH_STEP = 15
RATE_STEP = 0.15


def adjust_voice(voice: Voice, note: str) -> tuple[Voice, list[str]]:
    """A filmmaker's note about a voice applied to it: deeper or higher, slower or faster, whispered.

    The note is also kept as the delivery instructions for speech models that read them (OpenAI's). Returns the
    new voice and what changed, in words; no change when the note names nothing a voice can do.
    """
    text = note.lower()
    pitch, rate, espeak = voice.pitch, voice.words_per_minute, voice.espeak
    changes = []
    if _DEEPER.search(text):
        pitch = max(0, pitch - PITCH_STEP)
        changes.append(f"pitch {voice.pitch} → {pitch}")
    elif _HIGHER.search(text):
        pitch = min(99, pitch + PITCH_STEP)
        changes.append(f"pitch {voice.pitch} → {pitch}")
    if _SLOWER.search(text):
        rate = max(MIN_WORDS_PER_MINUTE, round(rate * (1 - RATE_STEP)))
        changes.append(f"{voice.words_per_minute} → {rate} words a minute")
    elif _FASTER.search(text):
        rate = min(MAX_WORDS_PER_MINUTE, round(rate * (1 + RATE_STEP)))
        changes.append(f"{voice.words_per_minute} → {rate} words a minute")
    if _WHISPER.search(text) and not espeak.endswith("+whisper"):
        espeak = f"{espeak.partition('+')[0]}+whisper"
        changes.append("whispered")
    if not changes:
        return voice, []
    instructions = " ".join(note.split())[:300]
    return voice.model_copy(
        update={"pitch": pitch, "words_per_minute": rate, "espeak": espeak, "instructions": instructions}
    ), changes
