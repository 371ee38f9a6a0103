"""Checks on what a model wrote for the film: a usable description is not an echo of the question or an example."""

from __future__ import annotations

import re

from agents.answers import COLOURS

_SMALL_WORDS = {"a", "an", "the", "and", "of", "on", "in", "with", "her", "his", "one"}


PROMPT_EXAMPLES = (
    "brindle coat, one white paw, a frayed rope collar",
    "a yellow rain hat, paint on his hands",
    "curly red hair, green apron, flour on her hands",
    "wet cobbles, a flickering shop sign",
    "face, hair, clothes",
    "the harbour wall, a small kitchen",
)


def acceptable_text(text: str, *echoes: str) -> bool:
    """A usable description: a few words, not just the title or name the question contained, and no example.

    A small model copies the prompt's example look piecemeal ("a white paw" on a parrot), so any two words in
    a row from an example (`PROMPT_EXAMPLES`) make the text a copy. A list of colours ("blue, red, green") is
    a palette, not a look.
    """
    lowered = text.lower().strip(" .")
    echoed = any(echo and (echo.lower() in lowered or lowered in echo.lower()) for echo in echoes)
    words = re.findall(r"[^\W\d_]+", lowered)
    pairs = {f"{a} {b}" for a, b in zip(words, words[1:], strict=False) if not {a, b} <= _SMALL_WORDS}
    copied = any(pair in " ".join(re.findall(r"[^\W\d_]+", example)) for example in PROMPT_EXAMPLES for pair in pairs)
    only_colours = all(word in COLOURS or word in _SMALL_WORDS for word in words)
    return len(lowered.split()) >= 3 and not echoed and not copied and not only_colours


_FUNCTION_WORDS = frozenset(
    "about above after again against also another because been before being below between both came come could "
    "does doing down during each even every from further have having here into just like made make many more most "
    "much must never only other over same should since some such than that their them then there these they this "
    "those through under until upon very want were what when where which while will with within without would "
    "your story film tale scene scenes line lines text paragraph words".split()
)
"""Words that say nothing of what a film is about; the words the question itself uses are among them."""


def about_the_story(text: str, story: str, names: tuple[str, ...] = (), shared: int = 2) -> bool:
    """Whether `text` (a logline) is about this film: it names one of its people, or shares words with its story.

    A small model writes fluent sentences about nothing ("A line of text in a paragraph."); no check on the form
    of a sentence stops them, so a logline must hold something of the story it sums up: a name, or `shared`
    words. Words are compared by their first five letters, so "crossing" meets "crosses".
    """
    lowered = text.lower()
    if any(name.strip() and re.search(rf"(?<!\w){re.escape(name.lower())}(?!\w)", lowered) for name in names):
        return True

    def stems(words: str) -> set[str]:
        found = re.findall(r"[^\W\d_]{4,}", words.lower())
        return {word[:5] for word in found if word not in _FUNCTION_WORDS}

    return len(stems(text) & stems(story)) >= shared


def invented_words(title: str, source: str, language: str = "en") -> list[str]:
    """The title's words of five letters or more that no word list of its language knows and its source never says.

    A title is capitalised, so the prose gate takes its words for names; a name the premise never gave
    ("A Night-Shaftonan 21") is a word the model made up.
    """
    from wordfreq import zipf_frequency

    from tools.known_words import word_lists

    languages = word_lists(language) or ("en",)
    said = source.lower()
    return [
        word
        for word in re.findall(r"[^\W\d_]{5,}", title)
        if word.lower() not in said and all(zipf_frequency(word.lower(), name) == 0 for name in languages)
    ]


PROMPT_LABELS = frozenset(
    "premise character characters setting settings place places story scene scenes film name look colour color "
    "summary image line speaker".split()
)
"""The questions' own field words: a model that cannot answer names a character or a place 'Premise'."""


def is_a_label(name: str) -> bool:
    """Whether a name the model gave is only the question's own words ('Premise', 'The Setting')."""
    words = re.findall(r"[^\W\d_]+", name.lower())
    return bool(words) and all(word in PROMPT_LABELS or word in _SMALL_WORDS for word in words)


_TASK_WORDS = re.compile(r"\b(?:story|stories|film|scene|scenes|sentence|paragraph|chapter|writer|reader)\b", re.I)
_READER = re.compile(r"\b(?:you|your|yours|we|our|us)\b", re.I)
_CLAUSE_OPENING = re.compile(r"^\s*(?:what|how|why|who|whom|whose|which|when|where|whatever)\b", re.I)


def talks_about_the_task(text: str) -> bool:
    """Whether a line speaks of writing the film ('It talks about the film, not how it is written.')."""
    return bool(_TASK_WORDS.search(text))


def addresses_the_reader(text: str) -> bool:
    """Whether `text` speaks to someone ('You got it wrong.'): a scene's narration or a critic's reason does not."""
    return bool(_READER.search(text))


def narrates_the_scene(text: str) -> bool:
    """Whether `text` reads as a scene's narration: told of the people in it, not of the task or to the reader.

    The 135M model, out of ideas, writes about its question ("How to write the next scene."), addresses the
    reader ("Your story of the hardest moment...") or opens on a clause that goes nowhere ("What they do is
    what the majority of them wouldn't even believe."). A scene's summary does none of these.
    """
    return not (talks_about_the_task(text) or addresses_the_reader(text) or _CLAUSE_OPENING.match(text))


_APPEARANCE = frozenset(
    word[:5]
    for word in """
    hair haired beard bearded moustache braid braided bald curly curls ponytail plait fringe bun eyes eyed face
    freckles freckled scar glasses spectacles hat cap hood hooded helmet scarf coat jacket jumper sweater cardigan
    shirt blouse dress skirt trousers jeans shorts boots shoes sandals slippers apron uniform overalls oilskin
    gloves mittens collar tie vest waistcoat suit robe gown shawl cloak cape backpack satchel bag basket necklace
    earrings bracelet ring watch badge wool woollen knitted leather denim linen tweed cotton silk velvet canvas
    fur furry feathers feathered wings paw paws tail ears whiskers mane spots spotted stripes striped scales beak
    muzzle snout hooves tall short thin slight skinny stocky broad plump small tiny little big old young elderly
    wrinkled weathered tanned pale freckled muddy worn faded patched torn frayed stained scruffy neat smile grin
    hands fingers arms shoulders cheeks nose lips skin wrinkles limp cane stick beret bonnet pinafore sash belt
    buttons pocket pockets sleeves lanyard goggles mask costume clothes dressed wearing
    """.split()
)
"""What a look is made of: hair, face, build, age, clothes and what they are made of, an animal's coat."""


def describes_a_look(text: str) -> bool:
    """Whether `text` says how someone looks: a colour, or a word for hair, face, build, age or clothes.

    "awesomely impressive business process" is a phrase, not a look; a picture cannot be drawn from it.
    """
    return _holds_a_word_of(text, _APPEARANCE)


_SCENERY = frozenset(
    word[:5]
    for word in """
    sky light lights lamp lamps lantern sun sunlight sunset sunrise dawn dusk moon moonlight stars night rain snow
    fog mist wind storm cloud clouds shadow shadows water sea waves river lake pond shore beach sand rocks rock cliff
    hill hills field fields grass meadow trees tree forest woods wooden wood leaves road street streets path track
    bridge pier jetty dock harbour harbor quay boat boats ship wall walls floor floors ceiling window windows door
    doors roof stairs steps table chair chairs bed shelf shelves kitchen room rooms hall corridor office shop store
    market station platform tower house houses cottage barn garden yard fence gate glass brick stone concrete metal
    iron brass steel tiles tiled carpet curtains candle candles fire fireplace stove neon sign signs dust dirt mud
    puddles ice frost steam smoke warm cold dark bright dim wet dry dusty empty crowded narrow wide open cramped
    lit glow glowing shining rusted rusty peeling cracked faded sunlit shaded flickering ground horizon valley
    mountain mountains snowy frozen city town village alley square park bench cabin deck mast rope nets engine
    radio screen screens desk lockers beds curtain hospital ward classroom church library attic cellar basement
    """.split()
)
"""What a place is seen by: its light and weather, its land or water, its rooms, things and what they are made of."""


def describes_a_place(text: str) -> bool:
    """Whether `text` says what a place looks like: a colour, or a word for its light, weather, ground or things.

    "more than one page" names no place a camera could stand in.
    """
    return _holds_a_word_of(text, _SCENERY)


def _holds_a_word_of(text: str, stems: frozenset[str]) -> bool:
    """Whether a word of `text` is a colour or opens (first five letters) like one of `stems`."""
    return any(word in COLOURS or word[:5] in stems for word in re.findall(r"[^\W\d_]+", text.lower()))
