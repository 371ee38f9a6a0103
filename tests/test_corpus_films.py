"""Films from the benchmark corpus, made with the real bundled model, carry no word that fails the prose gate.

bench/prose.py films the whole corpus; this films one premise and one screenplay of it, so that a change that
lets model noise reach a film fails CI rather than a benchmark run.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from agents.run import new_run, open_context, run_film
from agents.state import Film
from agents.writing.screenplay import parse_fountain
from tools.llm.client import LLMClient
from tools.prose import split_sentences
from tools.settings import Settings

pytestmark = [pytest.mark.llm, pytest.mark.slow]
BENCH = Path(__file__).parents[1] / "bench" / "prose.py"


@pytest.fixture(scope="module")
def bench() -> Iterator[ModuleType]:
    """bench/prose.py as a module; it imports its neighbour bench/machine.py as a script would."""
    sys.path.insert(0, str(BENCH.parent))
    try:
        spec = importlib.util.spec_from_file_location("bench_prose", BENCH)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # its dataclasses look their module up there
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop("bench_prose", None)
        sys.path.remove(str(BENCH.parent))


@pytest.fixture(scope="module")
def films(tmp_path_factory: pytest.TempPathFactory, bench: ModuleType, minilm) -> dict[str, tuple[str, Path]]:
    """One premise with a person and an animal, and the screenplay with a dog and an off-screen voice."""
    premise = next(p for p in bench.read_premises() if p.startswith("A stray dog"))
    script = (BENCH.parent / "corpus" / "the_stray.fountain").read_text(encoding="utf-8")
    settings = Settings(projects_dir=tmp_path_factory.mktemp("corpus") / "projects", target_seconds=20)
    made: dict[str, tuple[str, Path]] = {}
    with LLMClient.from_settings(settings.llm) as llm:
        for kind, source in (("premise", {"premise": premise}), ("screenplay", {"screenplay": script})):
            project = new_run(settings, **source)
            with open_context(settings, project, llm=llm, embedding_function=minilm) as context:
                outcome = run_film(settings, project, None, context)
            assert outcome.finished, outcome.log
            made[kind] = (next(iter(source.values())), project.root)
    return made


@pytest.mark.parametrize("kind", ["premise", "screenplay"])
def test_no_word_that_fails_the_prose_gate_reaches_the_film(films, bench: ModuleType, kind: str) -> None:
    _, folder = films[kind]
    assert bench.audit_film(folder, kind) == []


def test_the_premise_film_casts_the_dog_and_the_nurse_and_people_speak(films) -> None:
    _, folder = films["premise"]
    film = Film.model_validate_json((folder / "film.json").read_text(encoding="utf-8"))
    looks = " ".join(character.look.lower() for character in film.characters)
    assert "stray dog" in looks and "nurse" in looks
    dog = next(c for c in film.characters if "stray dog" in c.look.lower())
    lines = [line for scene in film.scenes for line in scene.dialogue]
    assert len(lines) >= 2 and all(line.character_id != dog.id for line in lines)


def test_the_screenplay_film_shows_only_its_own_sentences(films) -> None:
    script, folder = films["screenplay"]
    film = Film.model_validate_json((folder / "film.json").read_text(encoding="utf-8"))
    parsed = parse_fountain(script)
    for scene, written in zip(film.scenes, parsed.scenes, strict=True):
        sentences = {sentence for paragraph in written.action for sentence in split_sentences(paragraph)}
        for shot in scene.shots:
            assert set(split_sentences(shot.action)) <= sentences, shot.id
    neighbour = next(c for c in film.characters if c.name == "Neighbour")
    assert all(neighbour.id not in shot.character_ids for shot in film.shots()), "an O.S. voice is not drawn"
