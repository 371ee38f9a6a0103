"""The prose gate: whether a model's free text is words a filmmaker would put on screen.

A small model's free text slips into camera jargon, file names, digit soup, loops of one word and sentences that
stop halfway (`push-in 1080p video with no audio`, `noir- noire- noire-`, `A vending machine hums. One`). Any
text a model writes passes `check_prose` before it reaches a film, and the critic runs it over the film again.
The checks are about form, not taste, so names, accents, other alphabets and numbers in words ("60s", "'86")
pass; language is checked only when the caller says which language the film speaks.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from typing import TYPE_CHECKING

from tools.known_words import unknown_words

if TYPE_CHECKING:
    from py3langid.langid import LanguageIdentifier


class ProseKind(StrEnum):
    """What a field holds, which decides how much of a sentence it must be."""

    NAME = "name"
    TITLE = "title"
    PHRASE = "phrase"
    """A description in a few words: 'curly red hair, green apron'."""
    SENTENCE = "sentence"
    """A logline, a scene's summary, a shot's action: the story, told."""
    NOTE = "note"
    """A critic's or a filmmaker's note: sentences about the film itself."""
    LINE = "line"
    """Something a character says: may be one word, may trail off."""
    PROMPT = "prompt"
    """An image prompt the designer composed: clauses joined by full stops."""


@dataclass(frozen=True)
class ProseVerdict:
    ok: bool
    reason: str = ""

    def __bool__(self) -> bool:
        return self.ok


PASS = ProseVerdict(True)
MIN_WORDS = {
    ProseKind.NAME: 1,
    ProseKind.TITLE: 1,
    ProseKind.PHRASE: 2,
    ProseKind.SENTENCE: 3,
    ProseKind.NOTE: 3,
    ProseKind.LINE: 1,
    ProseKind.PROMPT: 3,
}
MAX_WORDS = {
    ProseKind.NAME: 5,
    ProseKind.TITLE: 12,
    ProseKind.PHRASE: 40,
    ProseKind.SENTENCE: 120,
    ProseKind.NOTE: 120,
    ProseKind.LINE: 80,
    ProseKind.PROMPT: 400,
}
COPY_WORDS = 8
"""An answer holding this many words of the question in a row copied it."""

_MARKUP = re.compile(r"[<>{}\[\]\\|`#*_=~^@$]|&[a-z]+;|\(\(|\)\)")
_URL = re.compile(
    r"https?:|www\.|\w+\.(?:com|org|net|io|co|de|fr|uk|jpe?g|png|gif|webp|bmp|tiff?|mp[34]|mov|avi|mkv|wav|txt|"
    r"pdf|html?|exe|zip|json|ya?ml|py|js|csv|srt|gguf|bin)\b|[a-z0-9]\.[a-z]{2,}\.|\w+/\w+/",
    re.IGNORECASE,
)
_GLUED = re.compile(
    r"[^\W\d_]{2,}\.[^\W\d_]{2,}|[^\W\d_]\.{2,3}[^\W\d_\s]|[^\W\d_]\s?,[^\W\d_\s]|[,;:]\s*[.!?,;:]|[.!?]\s*[,;:]"
)
_CAMEL_CASE = re.compile(r"\b[a-z]{3,}[A-Z][a-z]{2,}")
"""Words run together, the second capitalised ('thevillageFair'); names keep their capital first ('McDonald')."""
_NUMBER_WORD = re.compile(
    r"""^(?:
        '?\d{1,4}(?:s|st|nd|rd|th|am|pm|h)?      # 1986, 60s, 1980s, 3rd, 5pm, '86
      | \d{1,3}(?:,\d{3})+                        # 10,000
      | \d{1,4}[.,]\d{1,2}                        # 2.5
      | \d{1,2}:\d{2}(?:am|pm)?                   # 11:45
      | \d{1,3}%                                  # 40%
      | [^\W\d_]+-\d{1,4}                         # Apollo-11
    )$""",
    re.VERBOSE | re.IGNORECASE,
)
_TECH_UNITS = frozenset(
    {"px", "khz", "hz", "mhz", "ghz", "fps", "dpi", "kbps", "mbps", "mb", "gb", "kb", "1080p", "720p", "480p",
     "2160p", "4k", "8k", "rgb", "hdr", "jpg", "jpeg", "png", "mp4", "mp3", "wav", "gif", "json", "html", "url",
     "http", "https", "www", "ffmpeg", "x264", "h264", "cfg", "prompt", "seed", "upscale", "upscaled", "render",
     "rendered", "bokeh", "8mm", "16mm", "35mm", "50mm", "85mm"}
)  # fmt: skip
_LENSES = frozenset({"8mm", "16mm", "35mm", "50mm", "85mm"})
_INTERJECTIONS = frozenset({"hmm", "hm", "shh", "sh", "psst", "pst", "pfft", "brr", "grr", "tsk", "zzz", "mmm", "nth"})
_TEMPLATE_LEAKS = (
    "answer with json", "story so far", "one sentence", "in a few words", "a few concrete words", "json",
    "the premise", "this scene", "scene number", "for example", "the filmmaker's note", "lorem ipsum",
    "premise:", "full sentence", "what we see", "what happens",
)  # fmt: skip
_LATIN_VOWELS = set("aeiouyàáâãäåæèéêëìíîïòóôõöøœùúûüýÿāăąēĕėęěīĭįıōŏőūŭůűųŷ")
_TRAILING_FUNCTION_WORDS = frozenset(
    # English, German, French, Spanish, Italian, Portuguese, Dutch: a text ending on one of these stopped short.
    {"a", "an", "the", "and", "or", "but", "of", "to", "with", "in", "on", "at", "for", "from", "by", "into",
     "onto", "his", "her", "their", "its", "my", "your", "our", "that", "which", "who", "whose", "is", "are",
     "was", "were", "be", "as", "than", "if", "because", "while", "when", "where", "nor", "so", "very", "some",
     "der", "die", "das", "den", "dem", "des", "ein", "eine", "einen", "einem", "und", "oder", "mit", "von",
     "zu", "im", "auf", "le", "la", "les", "un", "une", "et", "ou", "avec", "du", "au", "aux", "el",
     "los", "las", "una", "y", "con", "del", "il", "lo", "gli", "di", "e", "o", "het", "een", "en", "van"}
)  # fmt: skip
_LETTER_RUN = re.compile(r"[^\W\d_]+")
_DIGRAPHS = re.compile(r"sch|ch|th|sh|ph|ck|ng|gh|sz|cz|rz|ß")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")
_BROKEN_PHRASE = re.compile(
    r"(?<![\w'-])(?:(?i:the|of|with|from|der|die|das|ein|eine|les|une|los|las)|a|an)\s*[,;:](?!\w)"
)
_STRANDED_ARTICLE = re.compile(
    r"(?<![\w'-])(?i:the|der|die|das|ein|eine|le|les|un|une|el|los|las)\s+(?i:and|or|und|oder|et|ou|y|o)(?!\w)"
)
"""An article with no noun before the next conjunction: 'Ein Leuchtturmwir der und eine ...' lost its noun."""
_META = re.compile(
    r"\b(?:this|first|next|last|opening|final) scene\b|\b(?:this|opening|final) (?:shot|frame)\b|"
    r"\bthe (?:scene|shot|film|movie) (?:opens|begins|ends|shows|cuts)\b|\bscenes\b|\bfilmed\b|"
    r"\bthe (?:audience|viewers?|screenplay)\b|\bin the picture\b|\bscene,? where\b",
    re.IGNORECASE,
)
_SPEAKER = re.compile(r"(?<![\w'’])(?:I|I'm|I’m|me|my|you|your)(?![\w'’])|\?|!")
"""A look or an action describes; a question, an exclamation or 'I' and 'you' are someone talking."""
_STORY_TALK = re.compile(
    r"\bin (?:the|this|a) story\b|\b(?:the|a|this|main) (?:character|narrator|protagonist|premise|plot)s?\b|"
    r"^(?:a|the|this) (?:story|tale|film|movie) (?:about|of)\b",
    re.IGNORECASE,
)
_SENTENCE_BREAK = re.compile(r"[.!?…。！？][\"'”’»)]*(\s+)(?=[\"'“‘«(]?[^\W\d_]|\d)")
_SENTENCE_END = re.compile(r"[.!?…。！？](?:[\"'”’»)\]]*)$")
_WORD = re.compile(r"[^\W_](?:[^\W_]|['’.-](?=[^\W_]))*", re.UNICODE)


def check_prose(
    text: str, kind: ProseKind = ProseKind.SENTENCE, *, language: str | None = None, echoes: Sequence[str] = ()
) -> ProseVerdict:
    """Whether `text` is prose of the given kind; the verdict's reason says what is wrong, in a few words.

    Args:
        text: The model's words.
        kind: What the field holds (a name, a look, a sentence, a spoken line...).
        language: An ISO 639-1 code the text must be in (checked on texts of four words or more); None skips it.
        echoes: The question and anything else the answer must not copy.
    """
    text = unicodedata.normalize("NFC", text or "")
    stripped = " ".join(text.split())
    if not stripped:
        return ProseVerdict(False, "it is empty")
    for check in (_characters, _markup_and_files, _tokens, _repetition):
        verdict = check(stripped, kind)
        if not verdict:
            return verdict
    words = _WORD.findall(stripped)
    count = max(len(words), len(_CJK.findall(stripped)) // 2)
    if count < MIN_WORDS[kind]:
        return ProseVerdict(False, f"it has {count} word(s); it needs at least {MIN_WORDS[kind]}")
    if len(words) > MAX_WORDS[kind]:
        return ProseVerdict(False, f"it has {len(words)} words; at most {MAX_WORDS[kind]} fit")
    verdict = _cut_off(stripped, words, kind)
    if not verdict:
        return verdict
    if kind == ProseKind.SENTENCE and _META.search(stripped):
        return ProseVerdict(False, f"it talks about the film, not the story ({_META.search(stripped).group(0)!r})")
    if kind in (ProseKind.SENTENCE, ProseKind.LINE) and _STORY_TALK.search(stripped):
        return ProseVerdict(False, f"it talks about the story from outside ({_STORY_TALK.search(stripped).group(0)!r})")
    if kind in (ProseKind.SENTENCE, ProseKind.PHRASE) and (found := _SPEAKER.search(stripped)):
        return ProseVerdict(False, f"it speaks ({found.group(0)!r}) where it should describe")
    if kind == ProseKind.PHRASE and sum(1 for w in words[1:] if w[:1].isupper() and not w.isupper()) >= 2:
        return ProseVerdict(False, "it names people or places where it should describe a look")
    opening = next((ch for ch in stripped if ch.isalpha()), "")
    if kind == ProseKind.SENTENCE and opening.islower():
        return ProseVerdict(False, "it is a phrase, not a sentence (it starts in lower case)")
    if kind in (ProseKind.SENTENCE, ProseKind.NOTE, ProseKind.LINE) and len(words) >= 4:
        capitalised = sum(1 for word in words[1:] if word[:1].isupper() and not word.isupper())
        if capitalised / (len(words) - 1) > 0.6:
            return ProseVerdict(False, "it is a list of names, not a sentence")
    verdict = _copied(stripped, echoes, kind)
    if not verdict:
        return verdict
    if language:
        if unknown := unknown_words(stripped, language):
            return ProseVerdict(False, unknown)
    if language and len(words) >= 4 and kind in (ProseKind.SENTENCE, ProseKind.NOTE, ProseKind.LINE, ProseKind.PHRASE):
        found = detect_language(stripped, default=language)
        if found != language:
            return ProseVerdict(False, f"it is in {found!r}, not {language!r}")
    return PASS


_OWNER = re.compile(r"\b[A-Z][^\W\d_]+['’]s\b")


def names_an_owner(text: str) -> bool:
    """Whether a look says whose something is ("Lena's kitchen in the city") instead of how it looks.

    A model asked for a place's look often answers with an owner, and the owner is often nobody in the film.
    """
    return _OWNER.search(text or "") is not None


def is_prose(text: str, kind: ProseKind = ProseKind.SENTENCE, **options: object) -> bool:
    return check_prose(text, kind, **options).ok  # type: ignore[arg-type]


def _characters(text: str, kind: ProseKind) -> ProseVerdict:
    letters = sum(ch.isalpha() for ch in text)
    visible = sum(not ch.isspace() for ch in text)
    if letters == 0:
        return ProseVerdict(False, "it has no words")
    if any(unicodedata.category(ch) in {"Cc", "Cf", "Co", "Cn", "So"} for ch in text):
        return ProseVerdict(False, "it holds control characters or symbols")
    if letters / visible < 0.5:
        return ProseVerdict(False, "it is mostly digits and punctuation")
    return PASS


def _markup_and_files(text: str, kind: ProseKind) -> ProseVerdict:
    if _MARKUP.search(text):
        return ProseVerdict(False, f"it holds markup ({_MARKUP.search(text).group(0)!r})")
    if _URL.search(text):
        return ProseVerdict(False, f"it holds a file name or address ({_URL.search(text).group(0)!r})")
    glued = _GLUED.search(text) or _CAMEL_CASE.search(text)
    if glued:
        return ProseVerdict(False, f"it glues words together ({glued.group(0)!r})")
    if text.count("(") != text.count(")") or text.count("\u201c") != text.count("\u201d"):
        return ProseVerdict(False, "it opens a bracket or quotation it never closes")
    if text.count('"') % 2:
        return ProseVerdict(False, "it opens a quotation it never closes")
    return PASS


CHAIN_HYPHENS = 3
"""Words strung with this many hyphens, twice in a text or with more in one word, are noise ("fizzle-laser-wilson-john
emilyne-david-bruce-jack", seen in a rubric note); one "twenty-two-year-old" is a word."""


def _tokens(text: str, kind: ProseKind) -> ProseVerdict:
    chained = 0
    for raw in text.split():
        token = raw.strip(".,;:!?\"'()«»“”‘’¡¿")
        if not token or token.strip("-–—") == "":
            continue
        lowered = token.lower()
        if kind == ProseKind.PROMPT and lowered in _LENSES:
            continue
        if lowered in _TECH_UNITS:
            return ProseVerdict(False, f"{token!r} is technical talk, not a description")
        if any(ch.isdigit() for ch in token):
            if not _NUMBER_WORD.match(token.rstrip("-")):
                return ProseVerdict(False, f"{token!r} is digits and letters, not a word")
            continue
        for part in _LETTER_RUN.findall(token):
            verdict = _word_like(part)
            if not verdict:
                return verdict
        if raw.endswith("-") and not raw.endswith("--"):
            return ProseVerdict(False, f"{raw!r} is a word cut off")
        chained += token.count("-") >= CHAIN_HYPHENS
        if token.count("-") > CHAIN_HYPHENS or chained > 1:
            return ProseVerdict(False, f"{token!r} strings words together with hyphens")
    return PASS


def _word_like(word: str) -> ProseVerdict:
    if not word:
        return PASS
    if len(word) > 30:
        return ProseVerdict(False, f"{word[:20]!r}... is too long to be a word")
    latin = [ch for ch in word.lower() if "a" <= unicodedata.normalize("NFD", ch)[0] <= "z"]
    if len(latin) < len(word) or len(latin) < 4 or word.lower() in _INTERJECTIONS:
        return PASS
    sounds = _DIGRAPHS.sub("C", word.lower())
    vowels = [ch in _LATIN_VOWELS for ch in sounds]
    if not any(vowels):
        return ProseVerdict(False, f"{word!r} is not a word")
    run = longest = 0
    for is_vowel in vowels:
        run = 0 if is_vowel else run + 1
        longest = max(longest, run)
    if longest >= 6:
        return ProseVerdict(False, f"{word!r} is not a word")
    return PASS


_STUTTER = re.compile(r"\b([^\W\d_]{4,})\s+\1\b", re.IGNORECASE)
_SAID_TWICE = {"that", "very", "really", "knock", "tick", "tock", "ding", "dong", "bang", "boom", "hush", "come"}


def _repetition(text: str, kind: ProseKind) -> ProseVerdict:
    if (stutter := _STUTTER.search(text)) and stutter[1].lower() not in _SAID_TWICE:
        return ProseVerdict(False, f"it says {stutter[1]!r} twice in a row")
    words = [w.lower().strip("-'") for w in _WORD.findall(text)]
    stems = [w[:5] for w in words]
    for index in range(len(stems) - 2):
        if stems[index] == stems[index + 1] == stems[index + 2] and len(words[index]) > 1:
            return ProseVerdict(False, f"it repeats {words[index]!r} over and over")
    if len(words) >= 6:
        for size in (1, 2, 3):
            grams = [tuple(words[i : i + size]) for i in range(len(words) - size + 1)]
            content = [g for g in grams if any(len(w) > 3 for w in g)]
            for gram in set(content):
                if content.count(gram) >= 3 and content.count(gram) * size / len(words) > 0.3:
                    return ProseVerdict(False, f"it repeats {' '.join(gram)!r} over and over")
    return PASS


_SPEECH_VERBS = {"says", "said", "asks", "asked", "tells", "told", "replies", "replied", "whispers", "shouts"}


def _cut_off(text: str, words: list[str], kind: ProseKind) -> ProseVerdict:
    broken = _BROKEN_PHRASE.search(text) or _STRANDED_ARTICLE.search(text)
    if broken:
        return ProseVerdict(False, f"it breaks off mid-phrase ({broken.group(0)!r})")
    if kind in (ProseKind.NAME, ProseKind.TITLE):
        if (
            text[-1] in ",;:-("
            or words[-1].lower() in _TRAILING_FUNCTION_WORDS - {"a", "e", "o", "y"}
            and len(words) > 1
        ):
            return ProseVerdict(False, "it stops mid-phrase")
        return PASS
    if text.endswith((",", ";", ":", "-", "–", "(")):
        return ProseVerdict(False, "it stops mid-sentence")
    if kind != ProseKind.LINE and (text.endswith("...") or text.endswith("…")):
        return ProseVerdict(False, "it trails off")
    last = words[-1].lower()
    if last in _TRAILING_FUNCTION_WORDS and not _SENTENCE_END.search(text):
        return ProseVerdict(False, f"it stops mid-sentence, on {words[-1]!r}")
    if kind == ProseKind.SENTENCE and last in _SPEECH_VERBS and not _SENTENCE_END.search(text):
        return ProseVerdict(False, f"it stops before what is said, on {words[-1]!r}")
    sentences = split_sentences(text)
    if len(sentences) > 1 and not _SENTENCE_END.search(sentences[-1]):
        tail = _WORD.findall(sentences[-1])
        if len(tail) < 3:
            return ProseVerdict(False, f"it stops mid-sentence ({sentences[-1]!r})")
    return PASS


def _copied(text: str, echoes: Sequence[str], kind: ProseKind) -> ProseVerdict:
    lowered = text.lower()
    for leak in _TEMPLATE_LEAKS:
        if re.search(rf"(?<!\w){re.escape(leak)}(?!\w)", lowered) and not any(leak in e.lower() for e in echoes[1:]):
            return ProseVerdict(False, f"it repeats the question's words ({leak!r})")
    words = [w.lower() for w in _WORD.findall(text)]
    if kind in (ProseKind.NAME, ProseKind.TITLE) or len(words) < 4:
        return PASS
    for echo in echoes:
        source = [w.lower() for w in _WORD.findall(echo)]
        if not source:
            continue
        joined = " " + " ".join(source) + " "
        if len(words) <= COPY_WORDS and f" {' '.join(words)} " in joined and len(words) >= 5:
            return ProseVerdict(False, "it copies the question")
        for start in range(len(words) - COPY_WORDS + 1):
            if f" {' '.join(words[start : start + COPY_WORDS])} " in joined:
                return ProseVerdict(False, "it copies the question")
    return PASS


def split_sentences(text: str) -> list[str]:
    """Whole sentences, each with its closing punctuation; an abbreviation like 'Mr.' does not end one."""
    text = " ".join(text.split())
    parts: list[str] = []
    start = 0
    for boundary in _SENTENCE_BREAK.finditer(text):
        parts.append(text[start : boundary.start(1)])
        start = boundary.end()
    parts.append(text[start:])
    merged: list[str] = []
    for part in parts:
        if merged and re.search(r"(?:^|\s)(?i:Mr|Mrs|Ms|Dr|St|Mt|Jr|Sr|vs|No|Prof|Capt|Sgt|Lt)\.$", merged[-1]):
            merged[-1] = f"{merged[-1]} {part}"
        else:
            merged.append(part)
    return [part.strip() for part in merged if part.strip()]


def whole_sentences(text: str, max_words: int) -> str:
    """As many of `text`'s sentences, from the first, as fit in `max_words`; at least the first whole one."""
    kept: list[str] = []
    count = 0
    for sentence in split_sentences(text):
        size = len(sentence.split())
        if kept and count + size > max_words:
            break
        kept.append(sentence)
        count += size
    return " ".join(kept)


@cache
def _identifier() -> LanguageIdentifier:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def detect_language(text: str, default: str = "en") -> str:
    """The ISO 639-1 code of the language `text` is in, or `default` when the text is too short to tell.

    py3langid scores short texts loosely, so a guess weaker than 0.9 (or a text under four words) keeps the
    default: a filmmaker's German premise is German, and "We wait." is no evidence of anything.
    """
    words = _WORD.findall(text)
    if len(words) < 4:
        return default
    language, probability = _identifier().classify(" ".join(words))
    if language != default and probability < 0.9:
        return default
    return str(language)
