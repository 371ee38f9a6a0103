"""Prompts fit what the image model reads, whole clause by whole clause; captions are whole sentences.

Token counts are checked against CLIP's real tokenizer (SD and SDXL's), built from its byte-pair merges in
tests/data (see clip_bpe_merges.LICENSE): no installed package ships them, and the tiny pipelines' tokenizer
has no merges, one token per byte.
"""

from __future__ import annotations

import gzip
import json
import random
import re
from pathlib import Path

import pytest
from fake_llm import FakeLLM
from tiny_pipelines import TinyModels
from transformers import CLIPTokenizer
from transformers.convert_slow_tokenizer import bytes_to_unicode

from agents.designer import compose_prompt
from agents.memory_records import remember_looks
from agents.project import Project
from agents.specs import shot_spec
from agents.state import Character, DialogueLine, Film, Scene, Setting, Shot
from tools.prose import split_sentences
from tools.render.animatic.clip import AnimaticVideoBackend
from tools.render.animatic.keyframe import AnimaticImageBackend
from tools.render.diffusers.images import DiffusersImageBackend
from tools.render.diffusers.video import DiffusersVideoBackend
from tools.render.openai.images import OpenAIImageBackend
from tools.render.prompt_budget import (
    CLIP_PROMPT_TOKENS,
    LARGE_PROMPT_TOKENS,
    ONE_TOKEN_WORDS,
    Clause,
    assemble_prompt,
    estimate_tokens,
)
from tools.render.spec import Framing, TimeOfDay

DATA = Path(__file__).parent / "data"
EXAMPLE = Path(__file__).parent.parent / "examples" / "the_last_ferry.fountain"
RARE_NAMES = (
    "Oluwaseun Przemyslaw Xochitl Siobhan Nnamdi Kowalczyk Zbigniew Ijeoma Tadhg Aoife Yaretzi Chukwuemeka "
    "Gwendolyn Krishnamurthy Thandiwe Saoirse Ruairi Nokuthula Adaeze Giedre Tlaloc Hjalmar Kseniya Wojciech"
).split()


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> CLIPTokenizer:
    """CLIP's tokenizer, exactly as SD's: the byte characters, then a token per merge, then start and end."""
    merges = gzip.decompress((DATA / "clip_bpe_merges.txt.gz").read_bytes()).decode().splitlines()[1:]
    characters = list(bytes_to_unicode().values())
    tokens = [*characters, *(f"{c}</w>" for c in characters), *(m.replace(" ", "") for m in merges)]
    tokens += ["<|startoftext|>", "<|endoftext|>"]
    folder = tmp_path_factory.mktemp("clip")
    (folder / "vocab.json").write_text(json.dumps({token: index for index, token in enumerate(tokens)}))
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n")
    tokenizer = CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"))
    assert len(tokenizer) == 49408, "CLIP's vocabulary has 49,408 tokens"
    return tokenizer


def clip_count(clip: CLIPTokenizer, text: str) -> int:
    return len(clip(text).input_ids) - 2


def ensemble_film(action: str, names: list[str], duration: float = 4.0) -> Film:
    """A film of one shot with everyone in it: long looks, a long place, the given action."""
    looks = [
        "weathered yellow oilskin coat, silver braid, reading glasses on a cord, rubber boots",
        "grey city coat, out of breath, paper shopping bag held to her chest",
        "tall, shaved head, orange life vest, tattooed forearms, a whistle on a lanyard",
        "wiry, flat cap, tweed jacket with elbow patches, pipe in his teeth",
    ]
    colours = ["#d62828", "#168aad", "#fcbf49", "#2a9d8f"]
    characters = [
        Character(id=f"c{i}", name=name, look=looks[i % 4], signature_color=colours[i % 4])
        for i, name in enumerate(names)
    ]
    terminal = Setting(
        id="terminal",
        name="Mainland ferry terminal",
        look="concrete ramp, rust-streaked ferry idling, gulls in a copper sky, a new bridge strung with lights",
        time_of_day=TimeOfDay.DUSK,
        palette=["#8d99ae", "#1d4e89"],
    )
    shot = Shot(
        id="s01-01",
        scene_id="s01",
        order=1,
        framing=Framing.WIDE,
        character_ids=[c.id for c in characters],
        action=action,
        duration=duration,
        seed=3,
    )
    scene = Scene(id="s01", number=1, setting_id="terminal", character_ids=shot.character_ids, shots=[shot])
    film = Film(id="ensemble", title="Ensemble", characters=characters, settings=[terminal], scenes=[scene])
    film.style.width, film.style.height = 320, 180
    return film


THREE_SENTENCES = (
    "Margit peels the timetable off the ticket window and folds it into her pocket. "
    "Noor hurries down the ramp, a paper bag held to her chest like something alive. "
    "The ferry's horn sounds twice across the bay."
)


def clause_texts(film: Film) -> list[str]:
    """Every clause `compose_prompt` may use for the film's one shot, without its closing full stop."""
    shot, scene = film.scenes[0].shots[0], film.scenes[0]
    setting = film.settings[0]
    texts = [
        f"wide establishing shot, full figures in the space, camera {shot.camera_move}",
        f"{setting.name} ({'interior' if setting.interior else 'exterior'}, {setting.time_of_day})",
        setting.look,
        *(f"{c.name}: {c.look}" for c in film.characters),
        *(sentence.rstrip(".") for sentence in split_sentences(shot.action)),
        *(d for d in (scene.direction, shot.direction, film.style.direction) if d),
        f"{film.style.era}, {film.style.lens} lens, cinematic storyboard",
    ]
    return texts


def pieces_of(prompt: str) -> list[str]:
    """The prompt split back into what was joined: clauses end with a full stop, a place's look after a colon."""
    assert prompt.endswith((".", "!", "?"))
    pieces = re.split(r"(?<=[.!?]) (?=[A-Za-z0-9])|(?<=\)): ", prompt)
    return [piece.rstrip(".") for piece in pieces if piece]


def is_whole_phrase_prefix(piece: str, clause: str) -> bool:
    """`piece` is `clause`, or its first comma-separated phrases: nothing cut inside a phrase or a word."""
    return piece == clause or clause.startswith(piece + ",") or clause.startswith(piece + ";")


# Counting


def test_every_one_token_word_is_one_clip_token(clip: CLIPTokenizer) -> None:
    several = [word for word in sorted(ONE_TOKEN_WORDS) if clip_count(clip, word) != 1]
    assert not several, f"CLIP reads these as several tokens: {several}"


def test_the_estimate_never_undercounts_clip_on_a_screenplay_and_on_prompts(
    clip: CLIPTokenizer, tmp_path: Path, make_context
) -> None:
    lines = [line for line in EXAMPLE.read_text().splitlines() if line.strip()]
    sentences = [s for line in lines for s in split_sentences(line)]
    texts = lines + sentences
    rng = random.Random(12)
    words = " ".join(lines).split()
    for _ in range(300):
        picked = rng.choices(words, k=rng.randint(8, 60)) + rng.sample(RARE_NAMES, rng.randint(0, 6))
        rng.shuffle(picked)
        texts.append(" ".join(word + rng.choice(["", "", "", ",", ".", ":"]) for word in picked))
    context = make_context(FakeLLM(), Project(tmp_path / "p"))
    for count in range(1, 5):
        film = ensemble_film(THREE_SENTENCES, rng.sample(RARE_NAMES, count))
        remember_looks(film, context.memory)
        scene = film.scenes[0]
        for budget in (None, 150, CLIP_PROMPT_TOKENS, 40):
            texts.append(compose_prompt(scene.shots[0], scene, film.style, context.memory, budget=budget))
    estimated = real = 0
    for text in texts:
        estimate, count = estimate_tokens(text), clip_count(clip, text)
        assert estimate >= count, f"{text!r}: estimated {estimate} tokens, CLIP makes {count}"
        estimated, real = estimated + estimate, real + count
    assert estimated < 1.6 * real, "the estimate is conservative, not wildly so"


def test_symbols_digits_and_other_alphabets_count_at_most_a_token_per_byte(clip: CLIPTokenizer) -> None:
    for text in ("café naïve, 1986", "Øresund à l'aube", "東京の夜", "(60s, yellow oilskin coat)", "--:;!?"):
        assert estimate_tokens(text) >= clip_count(clip, text)
        assert estimate_tokens(text) <= len(text.encode())


# Assembling


def test_four_people_and_a_three_sentence_action_fit_in_whole_clauses(
    clip: CLIPTokenizer, tmp_path: Path, make_context
) -> None:
    film = ensemble_film(THREE_SENTENCES, ["Margit", "Noor", "Benno", "Oluwaseun"])
    context = make_context(FakeLLM(), Project(tmp_path / "p"))
    remember_looks(film, context.memory)
    scene, shot = film.scenes[0], film.scenes[0].shots[0]
    whole = compose_prompt(shot, scene, film.style, context.memory)
    assert clip_count(clip, whole) > 77, "the whole prompt is more than CLIP reads"

    prompt = compose_prompt(shot, scene, film.style, context.memory, budget=CLIP_PROMPT_TOKENS)
    assert estimate_tokens(prompt) <= CLIP_PROMPT_TOKENS and clip_count(clip, prompt) <= CLIP_PROMPT_TOKENS
    clauses = clause_texts(film)
    for piece in pieces_of(prompt):
        assert any(is_whole_phrase_prefix(piece, clause) for clause in clauses), f"{piece!r} is a cut clause"
    assert "Margit peels the timetable off the ticket window and folds it into her pocket." in prompt
    assert prompt.startswith("wide establishing shot")
    assert re.search(r"\w[.!?]$", prompt), "it ends on a whole word and a full stop"
    assert prompt.index("Margit:") < prompt.index("Margit peels"), "people come before what they do"


def test_a_note_outranks_looks_and_the_speaker_outranks_the_others(tmp_path: Path, make_context) -> None:
    film = ensemble_film(THREE_SENTENCES, ["Margit", "Noor", "Benno", "Oluwaseun"])
    context = make_context(FakeLLM(), Project(tmp_path / "p"))
    remember_looks(film, context.memory)
    scene, shot = film.scenes[0], film.scenes[0].shots[0]
    shot.direction = "Director's note: warmer light on her face, rain on the lens"
    shot.dialogue = DialogueLine(character_id="c3", text="Ropes off!")
    prompt = compose_prompt(shot, scene, film.style, context.memory, budget=CLIP_PROMPT_TOKENS)
    assert "Director's note: warmer light on her face, rain on the lens." in prompt
    assert "Oluwaseun: wiry" in prompt, "the speaker's look is kept"
    assert "Margit: weathered yellow oilskin coat, silver braid, reading glasses" not in prompt
    assert "cinematic storyboard" not in prompt, "the style tail goes first"


def test_no_budget_keeps_every_clause_as_before(tmp_path: Path, make_context) -> None:
    film = ensemble_film(THREE_SENTENCES, ["Margit", "Noor"])
    context = make_context(FakeLLM(), Project(tmp_path / "p"))
    remember_looks(film, context.memory)
    scene, shot = film.scenes[0], film.scenes[0].shots[0]
    prompt = compose_prompt(shot, scene, film.style, context.memory)
    assert pieces_of(prompt) == clause_texts(film)
    assert "Mainland ferry terminal (exterior, dusk): concrete ramp, rust-streaked ferry idling" in prompt


def test_a_clause_longer_than_the_budget_loses_whole_phrases_from_its_end() -> None:
    action = "Noor hurries down the ramp, a paper bag held to her chest, gulls wheeling over the copper bay"
    clauses = [Clause("medium shot, waist up", rank=2, divisible=True), Clause(action, rank=0)]
    prompt = assemble_prompt(clauses, 9)
    assert prompt == "Noor hurries down the ramp."
    assert assemble_prompt(clauses, 30) == f"{action}."
    only_words = assemble_prompt([Clause("Noor hurries down the long concrete ramp toward the ferry", rank=0)], 5)
    assert estimate_tokens(only_words) <= 5 and "Noor hurries down the long concrete ramp".startswith(
        only_words.rstrip(".")
    )


def test_a_place_look_is_kept_only_with_its_place() -> None:
    clauses = [
        Clause("Old Harbourmaster Cannery (exterior, night)", rank=6),
        Clause("wet planks, gulls, fog", rank=1, divisible=True, attached_to=0),
        Clause("Mai waits.", rank=0),
    ]
    assert (
        assemble_prompt(clauses, None)
        == "Old Harbourmaster Cannery (exterior, night): wet planks, gulls, fog. Mai waits."
    )
    budget = estimate_tokens("Mai waits. wet planks, gulls, fog.")
    assert estimate_tokens("Old Harbourmaster Cannery (exterior, night). Mai waits.") > budget
    assert assemble_prompt(clauses, budget) == "Mai waits.", "the look would fit, but not without its place"


# Budgets of the backends


def test_backends_state_the_tokens_they_read(tiny: TinyModels) -> None:
    assert AnimaticImageBackend.max_prompt_tokens is None and AnimaticVideoBackend().max_prompt_tokens is None
    assert OpenAIImageBackend.max_prompt_tokens is not None and OpenAIImageBackend.max_prompt_tokens > 500
    unloaded = DiffusersImageBackend(str(tiny.sd))
    assert unloaded.max_prompt_tokens == 75 and unloaded._pipe is None, "read from the files, nothing loaded"
    loaded = DiffusersImageBackend(str(tiny.sd), pipeline=unloaded.pipeline)
    assert loaded.max_prompt_tokens == loaded.pipeline.tokenizer.model_max_length - 2 == 75
    assert DiffusersVideoBackend(str(tiny.svd)).max_prompt_tokens is None, "SVD reads no prompt"
    text_to_video = DiffusersVideoBackend(str(tiny.text_to_video)).max_prompt_tokens
    assert text_to_video is not None and 60 < text_to_video < 75, "less the camera words it adds"
    assert DiffusersImageBackend("someone/not-downloaded").max_prompt_tokens == CLIP_PROMPT_TOKENS


def test_the_run_context_fits_prompts_to_the_strictest_backend(tiny: TinyModels, tmp_path: Path, make_context) -> None:
    context = make_context(FakeLLM(), Project(tmp_path / "p"))
    assert context.prompt_tokens is None, "the animatic reads no tokens and cuts nothing"
    openai = type(context)(**{**context.__dict__, "images": OpenAIImageBackend(client=None)})
    assert openai.prompt_tokens == LARGE_PROMPT_TOKENS
    sd = type(context)(**{**openai.__dict__, "images": DiffusersImageBackend(str(tiny.sd))})
    assert sd.prompt_tokens == CLIP_PROMPT_TOKENS
    t2v = type(context)(**{**openai.__dict__, "video": DiffusersVideoBackend(str(tiny.text_to_video))})
    assert t2v.prompt_tokens is not None and t2v.prompt_tokens < CLIP_PROMPT_TOKENS


# Captions


def test_a_caption_is_the_whole_sentences_read_in_the_shots_time() -> None:
    short = ensemble_film(THREE_SENTENCES, ["Margit"], duration=2.0)
    assert shot_spec(short, short.shot("s01-01")).caption == split_sentences(THREE_SENTENCES)[0]
    long = ensemble_film(THREE_SENTENCES, ["Margit"], duration=13.0)
    assert shot_spec(long, long.shot("s01-01")).caption == THREE_SENTENCES
    middle = ensemble_film(THREE_SENTENCES, ["Margit"], duration=10.0)
    assert shot_spec(middle, middle.shot("s01-01")).caption == " ".join(split_sentences(THREE_SENTENCES)[:2])
    spoken = ensemble_film(THREE_SENTENCES, ["Margit"])
    spoken.shot("s01-01").dialogue = DialogueLine(character_id="c0", text="One more time.")
    assert shot_spec(spoken, spoken.shot("s01-01")).caption == ""
