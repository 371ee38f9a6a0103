"""What a premise already decides before any model is asked: who is in it, its language, and its story's shape.

A 135M model forgets the dog in "a lighthouse keeper and a stray dog", so the beings a premise names are found
here, by their nouns, and each is cast; the model only names and dresses them. The story's structure (set-up,
turn, crisis, resolution) is code too, and so are the plain lines and summaries used when the model's words fail
the prose gate, in the premise's own language.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from tools.prose import ProseKind, check_prose, detect_language

BeingKind = Literal["person", "animal"]
StoryBeat = Literal["setup", "turn", "crisis", "resolution"]
STORY_BEATS: tuple[StoryBeat, ...] = ("setup", "turn", "crisis", "resolution")
BEAT_DIRECTIONS: dict[StoryBeat, str] = {
    "setup": "the set-up: who they are, where they are, and what they want",
    "turn": "the turn: something happens that changes their situation",
    "crisis": "the crisis: the hardest moment, when it could all go wrong",
    "resolution": "the resolution: how it ends for them",
}
ROLE_NAME_LETTERS = 24
"""The longest name a character answer takes (`agents.answers.Name`)."""
MAX_BEINGS = 4

_PEOPLE = """man woman boy girl child kid baby toddler teenager mother father mum mom dad parent son daughter brother
sister grandmother grandfather grandma grandpa granny grandson granddaughter uncle aunt cousin wife husband widow
widower bride groom friend stranger neighbour neighbor keeper fisherman fisherwoman farmer baker teacher student
doctor nurse soldier sailor captain pilot driver detective thief priest nun monk king queen prince princess knight
witch wizard robot ghost clown musician singer painter writer poet waiter waitress cook chef miner mechanic janitor
guard officer cop lawyer judge passenger person shepherd hunter orphan astronaut scientist inventor librarian
postman postwoman
ferryman beekeeper boxer dancer tailor butcher carpenter blacksmith shopkeeper clerk courier refugee traveller
traveler hitchhiker runner swimmer climber girlfriend boyfriend pensioner veteran mayor landlady landlord tenant
vendor busker guitarist drummer photographer reporter journalist boss lighthousekeeper gardener fisher diver
ranger nanny midwife surgeon jockey violinist cellist pianist watchmaker clockmaker lifeguard barber gambler
prisoner warden smuggler pirate spy actor actress poet tourist pilgrim
hermit beggar merchant peddler boatman ferrywoman conductor stationmaster porter watchman caretaker innkeeper
mann frau junge mädchen kind mutter vater großmutter großvater oma opa bruder schwester tochter sohn fischer
fischerin wärter wärterin uhrmacher uhrmacherin geigerin geiger bäcker bäckerin lehrer lehrerin freund freundin
fremder witwe bauer bäuerin
homme femme garçon fille enfant mère père grand-mère grand-père pêcheur gardien gardienne ami amie boulanger
boulangère veuve vieillard frère sœur violoniste fils horloger
hombre mujer niño niña madre padre abuela abuelo pescador pescadora guardián amigo amiga hermano hermana viuda
panadero panadera anciano anciana nieto nieta hijo hija""".split()
_ANIMALS = """dog puppy cat kitten horse pony donkey cow goat sheep lamb pig fox wolf bear bird crow raven owl gull
seagull parrot duck goose hen chicken rooster rabbit hare mouse rat deer whale dolphin turtle tortoise frog snake
lizard dragon elephant lion tiger monkey camel mule ox hound mare stallion ferret hedgehog squirrel badger otter seal
penguin swan heron eagle hawk pigeon sparrow robin octopus crab mutt dachshund terrier collie spaniel
hund katze pferd vogel fuchs wolf bär esel kuh ziege schaf möwe rabe eule hase
chien chienne chat chatte cheval oiseau renard loup ours âne vache chèvre mouton mouette corbeau hibou lapin
perro perra gato gata caballo pájaro zorro lobo oso burro vaca cabra oveja gaviota cuervo búho conejo""".split()
_KINDS: dict[str, BeingKind] = {**{w: "person" for w in _PEOPLE}, **{w: "animal" for w in _ANIMALS}}
_DETERMINERS = """a an the her his their its my our your one two ein eine einen einem einer der die das den dem sein
seine ihr ihre un une le la les son sa ses el los las su sus una""".split()
_PLACE_WORDS = set(
    """in of to from at near across through into over under by on inside outside beyond toward towards
    im in nach aus bei von zu dans de du à en vers sur sous a desde hacia en""".split()
)
"""A capitalised word after one of these is a place ('in Lisbon', 'de Cádiz'), not someone to cast."""
_NOT_NAMES = set(
    """a an the in on at when after before one two three this that it its his her their my our your every some no
    during while as if once on at by for from with under over into i we they he she you ein eine der die das den
    als wenn im am un une le la les el los las en au dans quand después cuando""".split()
)
_WORD = re.compile(r"[^\W\d_][^\W\d_'’-]*")


@dataclass(frozen=True)
class Being:
    """Someone the premise names: 'stray dog' (an animal), 'lighthouse keeper' (a person) or 'Mai'."""

    phrase: str
    kind: BeingKind
    proper_name: str = ""
    language: str = "en"

    @property
    def role_name(self) -> str:
        """A name to go by when the model gives none: 'The Stray Dog', or the proper name.

        A name is at most `ROLE_NAME_LETTERS` long, so a long phrase keeps its last words: 'a lighthouse keeper's
        daughter' goes by 'The Keeper's Daughter'.
        """
        if self.proper_name:
            return self.proper_name
        words = self.phrase.split()
        while len(words) > 1 and len("The " + " ".join(words)) > ROLE_NAME_LETTERS:
            words = words[1:]
        if self.language != "en":
            phrase = " ".join(words)
            return phrase[:1].upper() + phrase[1:ROLE_NAME_LETTERS]
        return ("The " + " ".join(w[:1].upper() + w[1:] for w in words))[:ROLE_NAME_LETTERS]


_IRREGULAR_PLURALS = {"children": "child", "men": "man", "women": "woman", "people": "person", "geese": "goose",
                      "mice": "mouse", "sheep": "sheep", "wolves": "wolf", "kinder": "kind", "enfants": "enfant"}


def being_kind(noun: str) -> BeingKind | None:
    """Whether a noun names a person or an animal; German compounds count by their last part (Leuchtturmwärter)."""
    word = noun.lower().strip("'’-")
    word = _IRREGULAR_PLURALS.get(word, word)
    for candidate in (word, word.removesuffix("s"), word.removesuffix("es"), word.removesuffix("en")):
        if candidate in _KINDS:
            return _KINDS[candidate]
    for size in range(len(word) - 4, 3, -1):
        if word[-size:] in _KINDS and len(word) > size:
            return _KINDS[word[-size:]]
    return None


def beings_in(premise: str, language: str = "en") -> list[Being]:
    """Every person or animal the premise names, in order: noun phrases after a determiner, and proper names.

    German capitalises every noun, so there a capitalised word counts as a name only where it opens a list
    ('Anna und ihr Hund').
    """
    tokens = [(m.group(0), m.start()) for m in _WORD.finditer(premise)]
    beings: list[Being] = []
    seen: set[str] = set()
    described: set[int] = set()
    for index, (token, start) in enumerate(tokens):
        lowered = token.lower()
        previous = tokens[index - 1][0].lower() if index else ""
        if index in described:
            continue
        if lowered in _DETERMINERS:
            found = noun_phrase(tokens, index) or owner_of_a_being(tokens, index)
            if found is not None:
                phrase, kind = found
                if phrase.lower() not in seen:
                    seen.add(phrase.lower())
                    beings.append(Being(phrase=phrase, kind=kind, language=language))
        elif previous not in _DETERMINERS and being_kind(token) is not None and _plural(token) and lowered not in seen:
            seen.add(lowered)
            beings.append(Being(phrase=lowered, kind=being_kind(token) or "person", language=language))
        elif (
            previous not in _PLACE_WORDS
            and previous not in _DETERMINERS
            and not (index and tokens[index - 1][0][:1].isupper() and tokens[index - 1][0].lower() not in seen)
            and _is_proper_name(token, start, premise, mid_sentence=language != "de")
            and lowered not in seen
        ):
            seen.add(lowered)
            appositive = _appositive(tokens, index, premise)
            if appositive is not None:
                phrase, end = appositive
                described.update(range(index + 1, end + 1))
                seen.add(phrase.lower())
                beings.append(Being(phrase=phrase, kind="person", proper_name=token, language=language))
            else:
                beings.append(Being(phrase=token, kind="person", proper_name=token, language=language))
    return beings[:MAX_BEINGS]


def _plural(noun: str) -> bool:
    """'travellers', 'children': people a premise names without an article, as a group."""
    word = noun.lower()
    return word in _IRREGULAR_PLURALS or (word.endswith("s") and word[:-1] in _KINDS)


def noun_phrase(tokens: list[tuple[str, int]], index: int) -> tuple[str, BeingKind] | None:
    """The being named after the determiner at `index`: up to two modifiers, then a person or animal noun."""
    for span in (1, 2, 3):
        if index + span >= len(tokens):
            return None
        kind = being_kind(tokens[index + span][0])
        if kind is None and tokens[index + span][0].lower() in _DETERMINERS:
            return None
        if kind is not None:
            phrase = " ".join(t for t, _ in tokens[index + 1 : index + span + 1])
            return _owned_being(tokens, index + span, phrase) or (phrase, kind)
    return None


def _owned_being(tokens: list[tuple[str, int]], owner: int, phrase: str) -> tuple[str, BeingKind] | None:
    """'a lighthouse keeper's daughter' is the daughter: the being after a possessive 's is the one named."""
    word, start = tokens[owner]
    if owner + 2 >= len(tokens) or tokens[owner + 1] != ("s", start + len(word) + 1):
        return None
    for span in (2, 3):
        if owner + span >= len(tokens):
            return None
        kind = being_kind(tokens[owner + span][0])
        if kind is not None:
            owned = " ".join(t for t, _ in tokens[owner + 2 : owner + span + 1])
            return f"{phrase}'s {owned}", kind
    return None


_POSSESSIVES = {"her", "his", "their", "ihr", "ihre", "sein", "seine", "son", "sa", "ses", "su", "sus"}
_JOINED_BY = {"and", "with", "und", "mit", "et", "avec", "y", "con"}


def owner_of_a_being(tokens: list[tuple[str, int]], index: int) -> tuple[str, BeingKind] | None:
    """A noun phrase no word list knows is a person when a being of theirs follows: 'a piano tuner and her son'.

    So the one a premise is about is never left out of the cast for a job the list lacks.
    """
    for span in (1, 2, 3):
        joint = index + span + 1
        if joint + 1 >= len(tokens) or tokens[index + span][0].lower() in {*_DETERMINERS, *_JOINED_BY}:
            return None
        if tokens[joint][0].lower() in _JOINED_BY and tokens[joint + 1][0].lower() in _POSSESSIVES:
            if noun_phrase(tokens, joint + 1) is not None:
                return " ".join(t for t, _ in tokens[index + 1 : index + span + 1]), "person"
            return None
    return None


def _appositive(tokens: list[tuple[str, int]], index: int, premise: str) -> tuple[str, int] | None:
    """'Tomas, a shy baker': the noun phrase that describes the name at `index`, and where it ends."""
    name, start = tokens[index]
    if index + 1 >= len(tokens) or not premise[start + len(name) :].lstrip().startswith(","):
        return None
    if tokens[index + 1][0].lower() not in _DETERMINERS:
        return None
    found = noun_phrase(tokens, index + 1)
    if found is None:
        return None
    phrase = found[0]
    return phrase, index + 1 + len(phrase.split())


def _is_proper_name(token: str, start: int, premise: str, *, mid_sentence: bool = True) -> bool:
    if not token[:1].isupper() or token.isupper() and len(token) > 1 or token.lower() in _NOT_NAMES:
        return False
    if being_kind(token) is not None:
        return False
    before = premise[:start].rstrip()
    sentence_start = not before or before[-1] in ".!?"
    if not sentence_start:
        return mid_sentence
    after = premise[start + len(token) :].lstrip()
    return after[:1] in {",", ""} or after.lower().startswith(("and ", "und ", "et ", "y "))


_YOUNG = """girl boy child kid baby toddler teenager daughter son granddaughter grandson niece nephew student
orphan mädchen junge kind tochter sohn enkelin enkel fille garçon enfant niña niño nieta nieto hija hijo""".split()
_OLD = """old elderly grandmother grandfather grandma grandpa granny widow widower pensioner veteran retired aged
alter alte großmutter großvater oma opa vieux vieil vieille grand-mère grand-père anciano anciana abuela
abuelo""".split()


def features_of(being: Being) -> str:
    """Plain features that fit who a being is: a child is not drawn with a weathered face."""
    if being.kind == "animal":
        return "scruffy coat, bright watchful eyes"
    words = {word.lower() for word in being.phrase.split()}
    if words & set(_YOUNG):
        return "bright eyes, knitted jumper, muddy boots"
    if words & set(_OLD):
        return "weathered face, white hair, a heavy wool coat"
    return "tired eyes, a worn coat, plain clothes"


def language_of(premise: str) -> str:
    return detect_language(premise, default="en")


def story_beat(number: int, total: int) -> StoryBeat:
    """The scene's place in the story: the first sets up, the last resolves, the middle turns and then breaks."""
    if total <= 1:
        return "setup"
    return STORY_BEATS[round((number - 1) * (len(STORY_BEATS) - 1) / (total - 1))]


_AND = {"en": "and", "de": "und", "fr": "et", "es": "y", "it": "e", "pt": "e", "nl": "en"}
_SUMMARIES: dict[str, dict[StoryBeat, tuple[str, str]]] = {
    "en": {
        "setup": ("", "For {names}, nothing is simple yet."),
        "turn": ("Then something changes for {names}.", "Something new is coming for {names}."),
        "crisis": ("The hardest moment comes for {names}.", "For {names}, it gets worse before it gets better."),
        "resolution": ("In the end, a way through opens for {names}.", "At last, it is quiet for {names}."),
    },
    "de": {
        "setup": ("", "Für {names} ist noch nichts einfach."),
        "turn": ("Dann ändert sich etwas für {names}.", "Für {names} kommt etwas Neues."),
        "crisis": ("Jetzt kommt für {names} der schwerste Moment.", "Für {names} wird es noch schlimmer."),
        "resolution": ("Am Ende findet sich ein Weg für {names}.", "Endlich wird es still für {names}."),
    },
    "fr": {
        "setup": ("", "Pour {names}, rien n'est encore simple."),
        "turn": ("Puis quelque chose change pour {names}.", "Quelque chose de nouveau arrive pour {names}."),
        "crisis": ("Vient le moment le plus dur pour {names}.", "Pour {names}, tout empire encore."),
        "resolution": ("À la fin, un chemin s'ouvre pour {names}.", "Enfin, le calme revient pour {names}."),
    },
    "es": {
        "setup": ("", "Para {names}, nada es sencillo todavía."),
        "turn": ("Entonces algo cambia para {names}.", "Algo nuevo llega para {names}."),
        "crisis": ("Llega el momento más duro para {names}.", "Para {names}, todo empeora todavía."),
        "resolution": ("Al final, se abre un camino para {names}.", "Por fin llega la calma para {names}."),
    },
    "it": {
        "setup": ("", "Per {names}, niente è ancora semplice."),
        "turn": ("Poi qualcosa cambia per {names}.", "Qualcosa di nuovo arriva per {names}."),
        "crisis": ("Arriva il momento più difficile per {names}.", "Per {names}, tutto peggiora ancora."),
        "resolution": ("Alla fine, si apre una strada per {names}.", "Finalmente torna la calma per {names}."),
    },
    "pt": {
        "setup": ("", "Para {names}, nada é simples ainda."),
        "turn": ("Então algo muda para {names}.", "Algo novo chega para {names}."),
        "crisis": ("Chega o momento mais difícil para {names}.", "Para {names}, tudo piora ainda mais."),
        "resolution": ("No fim, abre-se um caminho para {names}.", "Por fim, volta a calma para {names}."),
    },
    "nl": {
        "setup": ("", "Voor {names} is nog niets eenvoudig."),
        "turn": ("Dan verandert er iets voor {names}.", "Er komt iets nieuws voor {names}."),
        "crisis": ("Nu komt het moeilijkste moment voor {names}.", "Voor {names} wordt het nog erger."),
        "resolution": ("Uiteindelijk opent zich een weg voor {names}.", "Eindelijk wordt het stil voor {names}."),
    },
}
_LINES: dict[str, dict[StoryBeat, tuple[str, str]]] = {
    "en": {
        "setup": ("Here we go again.", "We'll see it through together."),
        "turn": ("Did you hear that?", "Something has changed."),
        "crisis": ("Hold on. Don't let go.", "I can't do this alone."),
        "resolution": ("We made it.", "It's over now."),
    },
    "de": {
        "setup": ("Also, es geht wieder los.", "Wir stehen das gemeinsam durch."),
        "turn": ("Hast du das gehört?", "Etwas hat sich verändert."),
        "crisis": ("Halt dich fest. Lass nicht los.", "Allein schaffe ich das nicht."),
        "resolution": ("Wir haben es geschafft.", "Jetzt ist es vorbei."),
    },
    "fr": {
        "setup": ("Et c'est reparti.", "On va s'en sortir ensemble."),
        "turn": ("Tu as entendu ça ?", "Quelque chose a changé."),
        "crisis": ("Tiens bon. Ne lâche pas.", "Je ne peux pas le faire seul."),
        "resolution": ("On a réussi.", "C'est fini maintenant."),
    },
    "es": {
        "setup": ("Aquí vamos otra vez.", "Saldremos de esta juntos."),
        "turn": ("¿Has oído eso?", "Algo ha cambiado."),
        "crisis": ("Aguanta. No te sueltes.", "No puedo hacerlo solo."),
        "resolution": ("Lo logramos.", "Ya ha terminado."),
    },
    "it": {
        "setup": ("Ci risiamo.", "Ne usciremo insieme."),
        "turn": ("Hai sentito?", "Qualcosa è cambiato."),
        "crisis": ("Tieni duro. Non mollare.", "Non ce la faccio da solo."),
        "resolution": ("Ce l'abbiamo fatta.", "Adesso è finita."),
    },
    "pt": {
        "setup": ("Cá vamos nós outra vez.", "Vamos passar por isto juntos."),
        "turn": ("Ouviste isto?", "Alguma coisa mudou."),
        "crisis": ("Aguenta. Não largues.", "Não consigo fazer isto sozinho."),
        "resolution": ("Conseguimos.", "Agora acabou."),
    },
    "nl": {
        "setup": ("Daar gaan we weer.", "We komen er samen doorheen."),
        "turn": ("Hoorde je dat?", "Er is iets veranderd."),
        "crisis": ("Hou vol. Laat niet los.", "Ik kan dit niet alleen."),
        "resolution": ("We hebben het gehaald.", "Het is nu voorbij."),
    },
}


def names_joined(names: list[str], language: str) -> str:
    """Names as a sentence says them: 'Mai and the stray dog' (a role name is not capitalised mid-sentence)."""
    names = [f"the {name[4:].lower()}" if name.startswith("The ") else name for name in names]
    conjunction = _AND.get(language, _AND["en"])
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} {conjunction} {names[-1]}"


def default_summary(
    premise_sentence: str, beat: StoryBeat, names: list[str], language: str, *, again: bool = False
) -> str:
    """A plain summary of the scene in the premise's language; the set-up is the premise's own first sentence.

    `again` asks for the beat's second wording, for a story that spends two scenes on one beat.
    """
    templates = _SUMMARIES.get(language, _SUMMARIES["en"])
    template = templates[beat][1 if again else 0]
    if not template:
        if len(premise_sentence.split()) >= 4 and check_prose(premise_sentence, ProseKind.SENTENCE):
            return premise_sentence
        template = templates["setup"][1]
    return template.format(names=names_joined(names or ["them"], language))


def default_line(beat: StoryBeat, speaker_index: int, language: str) -> str:
    """A short line that fits the beat, in the premise's language (English where it has none of its own)."""
    return _LINES.get(language, _LINES["en"])[beat][speaker_index % 2]
