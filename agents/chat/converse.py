"""Reading a chat message before anything runs: a question, a note, an undo, an approval, or small talk.

Rules decide wherever the words do; a model is asked only about what they leave open, and then only among
these five kinds. A note changes the film, so nothing becomes a certain note unless the rules read it so:
the model's "note" is a proposal the person confirms, and a message nobody can read is a question, which is
answered and changes nothing.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field, create_model

from agents.answers import Answer, choice_of
from agents.chat.mentions import shot_in, shot_reference, take_pick
from agents.notes.sound_words import MOOD_COMPARATIVES, SOUND_NOUNS
from agents.prompting import ask
from agents.state import Film
from tools.llm.asking import StructuredLLM
from tools.llm.errors import LLMUnavailableError


class MessageKind(StrEnum):
    QUESTION = "question"
    NOTE = "note"
    UNDO = "undo"
    APPROVAL = "approval"
    CHAT = "chat"
    """Small talk, thanks, or noise: nothing to answer about the film and nothing to change."""


class MessageIntent(BaseModel):
    """How one chat message was read, and by whom."""

    kind: MessageKind
    decided_by: Literal["rules", "model"]
    certain: bool = Field(
        description="False when only the model read it as a change (a note or an undo): ask 'go' before applying."
    )
    shot: str | None = Field(default=None, description="The shot id an undo names: 'the earlier take of shot 3'.")
    take: int | None = Field(default=None, description="The take of the shot's coverage to cut in: 'use take 2'.")
    reason: str = Field(default="", description="Why it was read that way, in a short sentence for people.")


_EDIT_VERBS = (
    "make", "change", "add", "remove", "cut", "give", "set", "turn", "move", "use", "put", "try", "replace",
    "show", "bring", "darken", "brighten", "let(?!\\s+me\\b)", "have", "drop", "delete", "swap", "switch",
    "recolou?r", "reframe", "reshoot", "redo", "shorten", "lengthen", "tighten", "widen", "zoom", "rewrite",
    "rename", "fix", "include",
)  # fmt: skip
_EDIT = "|".join(_EDIT_VERBS)
_LEAD = r"(?:(?:ok(?:ay)?|so|and|also|now|then|maybe|perhaps|just|please|pls|actually|hmm|well|but),?\s+)*"
_POLITE_ASK = r"(?:can|could|would|will|won't|might)\s+(?:you|we|the\s+crew)\s+(?:please\s+)?"
_POLITE = re.compile(rf"^{_LEAD}{_POLITE_ASK}(?:{_EDIT})\b")
_IMPERATIVE = re.compile(rf"^{_LEAD}(?:{_EDIT})\b")
_WISH = re.compile(rf"^{_LEAD}(?:i\s+(?:want|would\s+like|wish)|i'd\s+like|let's|lets|we\s+(?:need|should))\b")
_COMPARATIVE = re.compile(
    rf"^{_LEAD}(?:much\s+|a\s+bit\s+|a\s+little\s+|way\s+)?(?:closer|wider|tighter|looser|darker|brighter|warmer|"
    r"colder|cooler|slower|faster|shorter|longer|louder|quieter|softer|harder|more|less|fewer|no\s+more|"
    r"bigger|smaller|higher|lower|redder|bluer)\b"
)
_NO_SOUND = re.compile(
    rf"^{_LEAD}(?:no|without)\s+(?:more\s+|any\s+)?(?:{SOUND_NOUNS})\b|"
    rf"^{_LEAD}(?:much\s+|a\s+bit\s+|a\s+little\s+|way\s+)?(?:{MOOD_COMPARATIVES})\s+(?:{SOUND_NOUNS})\b"
)
"""A note on the sound that opens with what it wants: "no music in scene 3", "sadder music in the last scene"."""
_OUGHT = re.compile(r"^\S.*?\b(?:should|must|needs?\s+to|has\s+to|have\s+to|ought\s+to|shouldn't|mustn't)\s+\w")
_QUESTION_WORDS = (
    "why", "what", "which", "who", "whom", "whose", "how", "when", "where", "tell me", "explain", "describe",
    "i wonder", "any idea", "warum", "wieso", "weshalb", "was", "wer", "wie", "wo", "wann", "welche", "welcher",
    "pourquoi", "comment", "qui", "quand", "où", "quel", "quelle", "qu'est-ce", "est-ce", "por qué", "qué",
    "cómo", "quién", "cuándo", "dónde", "cuál",
)  # fmt: skip
_ASKS = re.compile(rf"^{_LEAD}({'|'.join(_QUESTION_WORDS)})(?!\w)")
_AUXILIARY = re.compile(
    rf"^{_LEAD}(?:is|are|was|were|does|do|did|has|have|had|will|would|should|can|could|isn't|aren't|doesn't|didn't)"
    r"\s+(?:you|we|i|it|he|she|they|there|this|that|these|those|the|my|our|his|her|their|its|any|anyone|"
    r"anything|scene|shot|[\w-]+'s)\b"
)
_UNDO = re.compile(
    rf"^{_LEAD}(?:{_POLITE_ASK})?(?:undo|revert|roll\s*back|take\s+(?:that|it|this)\s+back|"
    r"put\s+(?:it|that)\s+back|change\s+it\s+back|go\s+back(?:\s*$|\s+(?:please|one\s+step|to\s+(?:the\s+)?"
    r"(?:previous|earlier|last|old|original|how\s+it\s+was))))"
)
_EARLIER_TAKE = re.compile(
    r"\b(?:use|keep|restore|bring\s+back|go\s+back\s+to|put\s+back|want)\s+(?:the\s+)?"
    r"(?:earlier|previous|old|older|first|original|last|other)\s+(?:take|version|one)\b"
)
_APPROVALS = (
    "go", "go ahead", "yes", "yes please", "yep", "yeah", "ok", "okay", "k", "approve", "approved", "looks good",
    "looks great", "looks good to me", "sounds good", "do it", "ship it", "lgtm", "👍", "perfect", "sure",
    "go for it", "proceed", "continue", "carry on", "good to go", "all good", "oui", "ja", "sí", "si", "vas-y",
)  # fmt: skip
_APPROVING_EMOJI = set("👍👌✅🙌 ")
_GREETINGS = re.compile(
    r"^(?:hi|hello|hey|hiya|howdy|yo|thanks|thank\s+you|thx|ty|cheers|cool|nice|great|wow|awesome|lovely|"
    r"amazing|beautiful|good\s+(?:morning|afternoon|evening|night)|bye|goodbye|merci|danke|gracias|hola|"
    r"bonjour|hallo)(?:\s+(?:there|all|everyone|team|crew|director|so\s+much|a\s+lot|again|very\s+much))*$"
)
_MARKUP = re.compile(
    "|".join(
        (r"<\s*/?\s*[a-z!?][^>]*>", r"\bjavascript:", r"\bon\w+\s*=", "```", r"\{\{|\}\}", r"^\s*[{\[]\s*[\"'{\[]")
    ),
    re.I,
)
_URL_ALONE = re.compile(r"^\s*(?:https?://|www\.|file:|data:)\S*\s*$", re.I)
_TRAILING = re.compile(r"[\s.!,;:~…👍🙂😊🙏]+$")
_MAX_READ = 2000
"""Only the start of a message is read by the rules and the model: a note is short, and a huge paste is noise."""


def _plain(text: str) -> str:
    """Lowercase words with single spaces, curly quotes made straight, trailing punctuation and smiles off."""
    lowered = " ".join(text[:_MAX_READ].lower().replace("’", "'").split())
    return _TRAILING.sub("", lowered) or lowered


def _by_rules(kind: MessageKind, reason: str, shot: str | None = None) -> MessageIntent:
    return MessageIntent(kind=kind, decided_by="rules", certain=True, shot=shot, reason=reason)


def _noise(text: str) -> MessageIntent | None:
    if not any(character.isalpha() for character in text):
        return _by_rules(MessageKind.CHAT, "it has no words, only symbols, digits or emoji")
    if _MARKUP.search(text) or _URL_ALONE.match(text):
        return _by_rules(MessageKind.CHAT, "it is markup, code or a bare link, not words to the crew")
    return None


def _undo(plain: str, film: Film | None) -> MessageIntent | None:
    number = take_pick(plain)
    if number is not None:
        shot = shot_in(plain, film)
        named = shot_reference(plain)
        if named and shot is None and film is not None:
            return _by_rules(MessageKind.CHAT, f"it picks take {number} of {named}, which the film does not have")
        where = f" of {named}" if named else " of the shot it is aimed at"
        intent = _by_rules(MessageKind.UNDO, f"it picks take {number}{where}", shot.id if shot else None)
        return intent.model_copy(update={"take": number})
    if _EARLIER_TAKE.search(plain):
        shot = shot_in(plain, film)
        named = shot_reference(plain)
        if shot is not None:
            return _by_rules(MessageKind.UNDO, f"it asks for the earlier take of {named}", shot.id)
        reason = f"it asks for an earlier take of {named}, which the film does not have" if named else ""
        return _by_rules(MessageKind.UNDO, reason or "it asks for an earlier take")
    if _UNDO.match(plain):
        return _by_rules(MessageKind.UNDO, "it asks to take the last change back")
    return None


def _short_reply(plain: str) -> MessageIntent | None:
    bare = plain.rstrip("?").strip()
    if bare in _APPROVALS or (bare and set(bare) <= _APPROVING_EMOJI):
        return _by_rules(MessageKind.APPROVAL, f"“{bare}” approves what the crew proposed")
    if _GREETINGS.match(bare):
        return _by_rules(MessageKind.CHAT, "it is a greeting or thanks")
    return None


def _question_or_note(plain: str) -> MessageIntent | None:
    if _POLITE.match(plain):
        return _by_rules(MessageKind.NOTE, "it politely asks the crew to change something")
    if asked := _ASKS.match(plain):
        return _by_rules(MessageKind.QUESTION, f"it asks “{asked.group(1)}”")
    if _AUXILIARY.match(plain):
        return _by_rules(MessageKind.QUESTION, "it opens the way a question does")
    if plain.endswith("?") or plain.startswith("¿"):
        return _by_rules(MessageKind.QUESTION, "it ends with a question mark")
    if _IMPERATIVE.match(plain):
        return _by_rules(MessageKind.NOTE, "it opens with an edit verb")
    if _WISH.match(plain) or _COMPARATIVE.match(plain) or _NO_SOUND.match(plain):
        return _by_rules(MessageKind.NOTE, "it asks for a change in film language")
    if _OUGHT.match(plain):
        return _by_rules(MessageKind.NOTE, "it says how something in the film should be")
    return None


def classify_by_rules(text: str, film: Film | None) -> MessageIntent | None:
    """The reading the words alone decide, or None when only a model could tell."""
    if not text.strip():
        return _by_rules(MessageKind.CHAT, "it is empty")
    plain = _plain(text)
    return _short_reply(plain) or _noise(text) or _undo(plain, film) or _question_or_note(plain)


_MODEL_KINDS = [kind.value for kind in MessageKind]


def _ask_model(text: str, film: Film | None, llm: StructuredLLM) -> MessageIntent:
    schema = create_model("ConverseAnswer", __base__=Answer, kind=(choice_of(_MODEL_KINDS), ...))
    fallback = schema(kind=MessageKind.QUESTION.value)
    try:
        answer, defaulted = ask(
            llm,
            "converse",
            schema,
            lambda: fallback,
            title=film.title if film else "(no film yet)",
            message=" ".join(text[:_MAX_READ].split()),
        )
    except LLMUnavailableError:
        answer, defaulted = fallback, True
    if defaulted:
        return _unread("the model could not read it", "model")
    kind = MessageKind(answer.kind)
    changes = kind in (MessageKind.NOTE, MessageKind.UNDO)
    reason = f"the model read it as {'a' if kind != MessageKind.UNDO else 'an'} {kind.value}"
    if changes:
        reason += "; say “go” to apply it"
    return MessageIntent(kind=kind, decided_by="model", certain=not changes, reason=reason)


def _unread(why: str, decided_by: Literal["rules", "model"] = "rules") -> MessageIntent:
    return MessageIntent(
        kind=MessageKind.QUESTION,
        decided_by=decided_by,
        certain=True,
        reason=f"{why}, so it is answered as a question and changes nothing",
    )


def classify_message(text: str, film: Film | None, llm: StructuredLLM | None) -> MessageIntent:
    """Read one chat message: rules first, the model among the five kinds only when the rules cannot tell.

    Without a model, or when it answers badly or not at all, the message is a question: answered, and
    nothing changes.
    """
    if decided := classify_by_rules(text, film):
        return decided
    if llm is None:
        return _unread("the words alone do not say what it is and no model was asked")
    return _ask_model(text, film, llm)
