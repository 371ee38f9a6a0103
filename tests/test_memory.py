"""Memory against real Chroma and the real bundled MiniLM model: no mocks, no network."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from memory.store import (
    CharacterRecord,
    MemoryStore,
    MemoryStoreError,
    MiniLMEmbedding,
    SettingRecord,
    ShotRecord,
)
from tools.render.spec import Voice
from tools.settings import MemorySettings


@pytest.fixture(scope="module")
def embedding() -> MiniLMEmbedding:
    function = MiniLMEmbedding()
    function.load()
    return function


@pytest.fixture
def store(tmp_path: Path, embedding: MiniLMEmbedding) -> Iterator[MemoryStore]:
    with MemoryStore.embedded(tmp_path / "memory", embedding) as opened:
        yield opened


def cast() -> list[CharacterRecord]:
    return [
        CharacterRecord(
            id="mara",
            name="Mara",
            look="young woman in a red raincoat, wet black bob haircut, yellow rubber boots",
            signature_color="#d62828",
            voice=Voice(espeak="en-us+f2", pitch=38, words_per_minute=140),
            reference_images=["refs/mara-front.png", "refs/mara-side.png"],
        ),
        CharacterRecord(
            id="otto",
            name="Otto",
            look="elderly man with a white beard, tweed flat cap and a brown corduroy jacket",
            signature_color="#6b4226",
        ),
        CharacterRecord(
            id="pip",
            name="Pip",
            look="small boy in a green dinosaur costume holding a toy rocket",
            signature_color="#2a9d8f",
        ),
    ]


def places() -> list[SettingRecord]:
    return [
        SettingRecord(
            id="harbour",
            name="Harbour",
            look="rainy harbour at night, fishing boats, wet cobblestones, sodium street lamps",
            time_of_day="night",
            interior=False,
            palette=["#1d3557", "#e9c46a"],
        ),
        SettingRecord(
            id="kitchen",
            name="Kitchen",
            look="cramped kitchen with a kettle on the stove, morning sun through lace curtains",
            time_of_day="dawn",
            interior=True,
            palette=["#f1faee", "#e76f51"],
            reference_images=["refs/kitchen.png"],
        ),
    ]


def shot(shot_id: str, scene_id: str, action: str, **changes: object) -> ShotRecord:
    fields: dict[str, object] = {
        "id": shot_id,
        "scene_id": scene_id,
        "prompt": f"cinematic still, {action}",
        "character_ids": ["mara"],
        "setting_id": "harbour",
        "framing": "medium",
        "camera_move": "static",
        "seed": 7,
        "action": action,
    }
    return ShotRecord.model_validate({**fields, **changes})


def test_embedding_is_a_proper_chroma_function(embedding: MiniLMEmbedding) -> None:
    assert embedding.name() == "director_minilm_l6_v2"
    assert not embedding.is_legacy()
    assert embedding.default_space() == "cosine"
    rebuilt = MiniLMEmbedding.build_from_config(embedding.get_config())
    assert isinstance(rebuilt, MiniLMEmbedding) and not rebuilt.loaded
    vectors = embedding(["a red raincoat", "a tweed cap"])
    assert len(vectors) == 2 and len(vectors[0]) == 384


def test_embedding_is_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    site_packages = [Path(p).resolve() for p in sys.path if p.endswith("site-packages")]
    fresh = MiniLMEmbedding()
    assert any(fresh.model_path.resolve().is_relative_to(root) for root in site_packages)

    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"the embedding model tried the network: {args}")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    assert len(fresh(["offline, please"])[0]) == 384
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    assert os.environ["TRANSFORMERS_OFFLINE"] == "1"


def test_records_round_trip(store: MemoryStore) -> None:
    for character in cast():
        store.upsert_character(character)
    for setting in places():
        store.upsert_setting(setting)
    first = shot("s1-1", "s1", "Mara runs along the pier", negative_prompt="blurry", character_ids=["mara", "otto"])
    store.upsert_shot(first)

    assert store.get_character("mara") == cast()[0]
    assert store.get_setting("kitchen") == places()[1]
    assert store.get_shot("s1-1") == first
    assert store.get_character("nobody") is None
    assert store.get_setting("nowhere") is None
    assert store.get_shot("none") is None
    assert [c.id for c in store.characters()] == ["mara", "otto", "pip"]
    assert store.settings() == sorted(places(), key=lambda s: s.id)
    assert store.shots() == [first]


def test_upsert_replaces_and_reembeds(store: MemoryStore) -> None:
    for character in cast():
        store.upsert_character(character)
    changed = cast()[1].model_copy(update={"look": "elderly man in a shiny silver astronaut suit"})
    store.upsert_character(changed)

    assert store.get_character("otto") == changed
    assert len(store.characters()) == 3
    assert store.search_characters("an astronaut", k=1) == [changed]


def test_shots_by_scene_and_delete(store: MemoryStore) -> None:
    store.upsert_shot(shot("s1-1", "s1", "Mara opens the door"))
    store.upsert_shot(shot("s1-2", "s1", "Otto looks up from his paper"))
    store.upsert_shot(shot("s2-1", "s2", "Pip launches the toy rocket"))

    assert [s.id for s in store.shots(scene_id="s1")] == ["s1-1", "s1-2"]
    store.delete_shot("s1-1")
    store.delete_shot("never-existed")
    assert store.get_shot("s1-1") is None
    assert [s.id for s in store.shots()] == ["s1-2", "s2-1"]


def test_semantic_search_ranks_the_right_record_first(store: MemoryStore) -> None:
    for character in cast():
        store.upsert_character(character)
    for setting in places():
        store.upsert_setting(setting)
    store.upsert_shot(shot("s1-1", "s1", "a fishing boat leaves the harbour in the rain", framing="wide"))
    store.upsert_shot(shot("s2-1", "s2", "the kettle whistles and steam fills the kitchen", framing="close-up"))
    store.upsert_shot(shot("s3-1", "s3", "the boy launches his toy rocket into the sky", camera_move="tilt"))

    found = store.search_characters("woman in a red raincoat")
    assert found[0].id == "mara"
    assert len(found) == 3
    assert store.search_characters("old man with a beard", k=1)[0].id == "otto"
    assert store.search_characters("child dressed as a dinosaur", k=1)[0].id == "pip"
    assert store.search_settings("boats at the docks after dark", k=1)[0].id == "harbour"
    assert store.search_settings("someone making tea at breakfast", k=1)[0].id == "kitchen"
    assert store.search_shots("steam rising from a kettle", k=1)[0].id == "s2-1"
    assert [s.id for s in store.search_shots("rocket", k=10)][0] == "s3-1"
    assert len(store.search_shots("anything", k=10)) == 3


def test_search_on_empty_collections(store: MemoryStore) -> None:
    assert store.search_characters("anyone") == []
    assert store.search_settings("anywhere") == []
    assert store.search_shots("anything") == []
    assert store.characters() == [] and store.settings() == [] and store.shots() == []


def test_persists_across_reopened_client(tmp_path: Path, embedding: MiniLMEmbedding) -> None:
    folder = tmp_path / "memory"
    with MemoryStore.embedded(folder, embedding) as first:
        for character in cast():
            first.upsert_character(character)
        first.upsert_setting(places()[0])
        first.upsert_shot(shot("s1-1", "s1", "Mara runs along the pier"))

    with MemoryStore.embedded(folder, embedding) as second:
        assert second.get_character("mara") == cast()[0]
        assert second.get_setting("harbour") == places()[0]
        assert second.get_shot("s1-1") == shot("s1-1", "s1", "Mara runs along the pier")
        assert second.search_characters("red raincoat", k=1)[0].id == "mara"


def test_from_settings_embeds_in_the_project_folder(tmp_path: Path, embedding: MiniLMEmbedding) -> None:
    with MemoryStore.from_settings(MemorySettings(), tmp_path, embedding) as memory:
        memory.upsert_character(cast()[0])
    assert (tmp_path / "memory").is_dir()
    assert any((tmp_path / "memory").iterdir())


def test_embedding_loads_lazily_once_per_store(tmp_path: Path) -> None:
    with MemoryStore.embedded(tmp_path / "memory") as memory:
        assert not memory.embedding_function.loaded
        assert memory.characters() == []
        assert not memory.embedding_function.loaded
        memory.upsert_character(cast()[0])
        model = memory.embedding_function.load()
        memory.upsert_character(cast()[1])
        assert memory.embedding_function.load() is model


def test_upserts_from_several_threads(store: MemoryStore) -> None:
    errors: list[Exception] = []

    def write(prefix: str) -> None:
        try:
            for n in range(12):
                store.upsert_character(
                    CharacterRecord(
                        id=f"{prefix}-{n}", name=f"{prefix} {n}", look=f"extra number {n}", signature_color="#000000"
                    )
                )
                store.upsert_shot(shot(f"{prefix}-shot-{n}", prefix, f"extra {n} crosses the street"))
                store.search_characters("extra", k=2)
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(name,)) for name in ("left", "right")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    assert len(store.characters()) == 24
    assert len(store.shots()) == 24
    assert len(store.shots(scene_id="left")) == 12


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_unreachable_server_says_where_and_what_to_check(embedding: MiniLMEmbedding) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(MemoryStoreError, match="127.0.0.1") as caught:
        MemoryStore.from_settings(MemorySettings(chroma_url=url), Path("unused"), embedding)
    assert url in str(caught.value)
    assert "DIRECTOR_MEMORY__CHROMA_URL" in str(caught.value)


@pytest.mark.parametrize("url", ["ftp://host:8000", "http://:8000", "http://host:99999", "http://host/chroma/api"])
def test_bad_server_urls_are_refused(url: str) -> None:
    with pytest.raises(MemoryStoreError, match="Chroma URL"):
        MemoryStore.server(url)


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    chroma = shutil.which("chroma", path=str(Path(sys.executable).parent))
    assert chroma is not None, "chromadb installs the `chroma` command next to this Python"
    port = free_port()
    folder = tmp_path_factory.mktemp("chroma-server")
    log = (folder / "server.log").open("w")
    process = subprocess.Popen(
        [chroma, "run", "--path", str(folder / "data"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{url}/api/v2/heartbeat", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"chroma run did not start: {(folder / 'server.log').read_text()[-2000:]}")
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def test_server_store_round_trips_and_searches(chroma_server: str, embedding: MiniLMEmbedding) -> None:
    with MemoryStore.from_settings(MemorySettings(chroma_url=chroma_server), Path("unused"), embedding) as memory:
        for character in cast():
            memory.upsert_character(character)
        memory.upsert_setting(places()[1])
        assert memory.get_character("mara") == cast()[0]
        assert memory.search_characters("woman in a red raincoat", k=1)[0].id == "mara"
        assert memory.get_setting("kitchen") == places()[1]
    with MemoryStore.server(chroma_server, embedding) as again:
        assert [c.id for c in again.characters()] == ["mara", "otto", "pip"]
