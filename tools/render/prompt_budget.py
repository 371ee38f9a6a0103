"""How much prompt an image model reads, and prompts assembled to fit it whole clause by whole clause.

CLIP, the text encoder of SD and SDXL, reads 77 tokens with its start and end tokens and silently drops the
rest, so a long prompt used to reach the model cut mid-clause ("... Mara: red coat, curly"). Prompts are
instead assembled from clauses by priority: the least important whole clauses are left out until the
estimate fits, and nothing is ever cut inside a phrase or a word.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

CLIP_PROMPT_TOKENS = 75
"""CLIP's 77 positions less its start and end tokens: what SD, SDXL and the animatic's prompts fit."""
LARGE_PROMPT_TOKENS = 1000
"""For services that read long prompts (gpt-image-1 takes 32,000 characters): far more than a shot needs."""

ONE_TOKEN_WORDS = frozenset(
    # The designer's own words (framing, camera, place, style) and common words of shot descriptions that
    # CLIP reads as one token each; the tests check every one against CLIP's vocabulary.
    "wide establishing shot full figures in the space medium waist up close on face insert detail camera static "
    "push pull out pan tilt interior exterior dawn day dusk night lens cinematic director note the she he they "
    "his her their with from into onto through behind under over against while then looks walks turns stands "
    "sits holds opens light window door street table room water rain morning evening kitchen house car station "
    "platform train ferry harbour harbor coat jacket shirt dress hair eyes hands black white grey gray brown "
    "green blue yellow orange purple dark warm cold soft golden shadow shadows across toward towards".split()
)
_CHUNK = re.compile(r"'(?:s|t|re|ve|m|ll|d)|[^\W\d_]+|\d|[^\s\w]+|_+", re.IGNORECASE)
"""CLIP's pre-tokenizer: contractions, letter runs, single digits, runs of other symbols."""
_PHRASE_BREAK = re.compile(r"[,;]")


def estimate_tokens(text: str) -> int:
    """CLIP BPE tokens in `text`, counted so as never to undercount real prompts (start and end not included).

    CLIP splits text into letter runs, single digits and runs of symbols, then byte-pair-encodes each run;
    BPE never makes more tokens than a run has bytes. The words in `ONE_TOKEN_WORDS` count one token; another
    lower-case word one up to four letters and one more for every three letters past that; a capitalised
    word (a name, which BPE knows least) one for every two letters; anything outside ASCII, a symbol or a
    digit one per byte, the most BPE can make of it. Checked against CLIP's real vocabulary in the tests, on
    prose and on prompts full of rare names, it overcounts by about a quarter.
    """
    total = 0
    for chunk in _CHUNK.findall(unicodedata.normalize("NFC", text)):
        if chunk[0] == "'" and chunk[1:].isalpha():
            total += 1
        elif chunk[0].isalpha():
            total += _word_tokens(chunk)
        else:
            total += len(chunk.encode())
    return total


def _word_tokens(word: str) -> int:
    if word.lower() in ONE_TOKEN_WORDS:
        return 1
    if not word.isascii():
        return len(word.encode())
    if word[0].isupper():
        return math.ceil(len(word) / 2)
    return 1 if len(word) <= 4 else 1 + math.ceil((len(word) - 4) / 3)


@dataclass(frozen=True)
class Clause:
    """One piece of a prompt, in the place it takes in the prompt."""

    text: str
    rank: int
    """Lower ranks are kept first; clauses of one rank are kept in prompt order."""
    divisible: bool = False
    """A comma-separated list ("red coat, curly hair, green scarf"): its leading phrases may stand without
    the rest. A sentence is not divisible: it is kept whole or left out."""
    attached_to: int | None = None
    """The index of the clause this one completes ("Harbour: rain-slick boards" completes "Harbour"): it is
    joined to it with a colon and kept only when that clause is."""


def assemble_prompt(clauses: Sequence[Clause], budget: int | None) -> str:
    """The clauses, in their order, joined into a prompt of at most `budget` estimated tokens.

    Clauses are taken by rank while they fit, so a clause is only ever left out for more important ones,
    and a smaller, less important clause may still fit where a longer one did not. A divisible clause that
    does not fit whole keeps as many of its leading phrases as fit, and so does the most important clause,
    whatever it is: it is never left out. `budget` None keeps every clause.
    In the one case where even the most important clause's first phrase is over budget, its first words are
    kept, whole words only: a prompt of whole words is better than one the model cuts mid-word.
    """
    texts = [_clean(clause.text) for clause in clauses]
    if budget is None:
        return _join(clauses, {index: text for index, text in enumerate(texts) if text})
    kept: dict[int, str] = {}
    for index in sorted(range(len(clauses)), key=lambda i: (clauses[i].rank, i)):
        clause = clauses[index]
        if not texts[index] or (clause.attached_to is not None and clause.attached_to not in kept):
            continue
        options = _leading_phrases(texts[index]) if clause.divisible or not kept else [texts[index]]
        for option in options:
            if estimate_tokens(_join(clauses, {**kept, index: option})) <= budget:
                kept[index] = option
                break
    if not kept and any(texts):
        first = min((i for i, text in enumerate(texts) if text), key=lambda i: (clauses[i].rank, i))
        kept[first] = _leading_words(clauses, first, texts[first], budget)
    return _join(clauses, kept)


def _clean(text: str) -> str:
    return " ".join(text.split()).rstrip(" ,;:.")


def _leading_phrases(text: str) -> list[str]:
    """`text`, then `text` without its last phrase, and so on down to its first phrase.

    Phrases break at commas and semicolons outside brackets, so "Pier (exterior, night)" stays one phrase.
    """
    cuts, depth = [], 0
    for position, character in enumerate(text):
        depth += {"(": 1, ")": -1}.get(character, 0)
        if depth == 0 and _PHRASE_BREAK.fullmatch(character):
            cuts.append(position)
    prefixes = [text[:cut].rstrip() for cut in reversed(cuts)]
    return [text, *(prefix for prefix in prefixes if prefix)]


def _leading_words(clauses: Sequence[Clause], index: int, text: str, budget: int) -> str:
    words = text.split()
    while len(words) > 1 and estimate_tokens(_join(clauses, {index: " ".join(words)})) > budget:
        words.pop()
    return " ".join(words).rstrip(",;:")


def _join(clauses: Sequence[Clause], kept: dict[int, str]) -> str:
    """The kept clauses in prompt order: sentences and clauses end with a full stop, attached ones a colon."""
    prompt = ""
    for index in sorted(kept):
        text = kept[index]
        if prompt:
            attached = clauses[index].attached_to is not None and clauses[index].attached_to in kept
            if attached:
                prompt += ": "
            else:
                prompt += " " if prompt[-1] in ".!?" else ". "
        prompt += text
    if prompt and prompt[-1] not in ".!?":
        prompt += "."
    return prompt
