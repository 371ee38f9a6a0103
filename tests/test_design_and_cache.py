"""Prompts are built from memory, and takes are cached by content hash: real Chroma, real animatic renders."""

from __future__ import annotations

import os

from fake_llm import FakeLLM
from langgraph.runtime import Runtime

from agents.casting import cast_voices, voice_clues
from agents.designer import compose_prompt
from agents.memory_records import remember_looks
from agents.project import Project
from agents.render import render_shot
from agents.specs import shot_spec
from agents.state import Character, DialogueLine, Film, RenderTask, Scene, Setting, Shot
from agents.takes import take_hash
from memory.store import CharacterRecord
from tools.render.spec import Framing, TimeOfDay


def small_film() -> Film:
    mai = Character(id="mai", name="Mai", look="red raincoat, short black hair", signature_color="#d62828")
    old = Character(id="tam", name="Tam", look="grey beard, fisherman's jumper", signature_color="#168aad")
    pier = Setting(
        id="pier",
        name="The pier",
        look="wet planks, gulls, fog",
        time_of_day=TimeOfDay.DUSK,
        palette=["#8d99ae", "#1d4e89"],
    )
    shots = [
        Shot(
            id="s01-01",
            scene_id="s01",
            order=1,
            framing=Framing.WIDE,
            character_ids=["mai", "tam"],
            action="they walk to the end of the pier",
            seed=7,
        ),
        Shot(
            id="s01-02",
            scene_id="s01",
            order=2,
            framing=Framing.CLOSE_UP,
            character_ids=["mai"],
            action="she looks out to sea",
            seed=8,
            dialogue=DialogueLine(character_id="mai", text="It's coming back."),
        ),
    ]
    scene = Scene(
        id="s01", number=1, setting_id="pier", character_ids=["mai", "tam"], summary="On the pier.", shots=shots
    )
    film = Film(id="pier-test", title="Pier", characters=[mai, old], settings=[pier], scenes=[scene])
    film.style.width, film.style.height = 320, 180
    return film


def test_every_prompt_carries_the_remembered_looks_of_its_people_and_place(tmp_path, make_context):
    film = small_film()
    context = make_context(FakeLLM(), Project(tmp_path / "p"))
    remember_looks(film, context.memory)
    scene = film.scenes[0]
    for shot in scene.shots:
        prompt = compose_prompt(shot, scene, film.style, context.memory)
        assert "The pier" in prompt and "wet planks, gulls, fog" in prompt
        for character_id in shot.character_ids:
            character = film.character(character_id)
            assert f"{character.name}: {character.look}" in prompt
    assert "Tam" not in compose_prompt(scene.shots[1], scene, film.style, context.memory)


def test_prompts_follow_memory_not_the_state(tmp_path, make_context):
    film = small_film()
    context = make_context(FakeLLM(), Project(tmp_path / "p"))
    remember_looks(film, context.memory)
    context.memory.upsert_character(
        CharacterRecord(id="mai", name="Mai", look="yellow oilskin, braided hair", signature_color="#fcbf49")
    )
    scene = film.scenes[0]
    prompt = compose_prompt(scene.shots[1], scene, film.style, context.memory)
    assert "yellow oilskin, braided hair" in prompt and "red raincoat" not in prompt


def render(context, spec):
    runtime = Runtime(context=context, stream_writer=lambda event: None)
    return render_shot(RenderTask(film_id="pier-test", spec=spec), runtime)


def test_an_unchanged_shot_is_rendered_once_and_a_changed_one_again(tmp_path, make_context):
    film = small_film()
    project = Project(tmp_path / "p")
    context = make_context(FakeLLM(), project)
    shot = film.shot("s01-02")
    shot.prompt = "close-up on Mai"
    spec = shot_spec(film, shot)

    first = render(context, spec)["rendered"][shot.id]
    clip = project.root / first.clip
    stamp = clip.stat().st_mtime_ns
    again = render(context, spec)["rendered"][shot.id]
    assert not first.cache_hit and again.cache_hit
    assert again.content_hash == first.content_hash and clip.stat().st_mtime_ns == stamp

    reseeded = render(context, spec.model_copy(update={"seed": 99}))["rendered"][shot.id]
    assert not reseeded.cache_hit and reseeded.content_hash != first.content_hash
    assert take_hash(spec, context.images, context.video, context.speech) == first.content_hash


def test_a_take_with_a_missing_file_is_rendered_again(tmp_path, make_context):
    film = small_film()
    project = Project(tmp_path / "p")
    context = make_context(FakeLLM(), project)
    spec = shot_spec(film, film.shot("s01-01"))
    first = render(context, spec)["rendered"]["s01-01"]
    os.remove(project.root / first.clip)
    second = render(context, spec)["rendered"]["s01-01"]
    assert not second.cache_hit and (project.root / second.clip).is_file()


def test_a_backend_failure_becomes_a_failed_shot_not_a_crash(tmp_path, make_context):
    film = small_film()
    context = make_context(FakeLLM(), Project(tmp_path / "p"))

    class ExplodingImages:
        name = "exploding"
        supports_reference_image = False
        model = "none"
        parameters: dict = {}

        def generate(self, spec, out):
            raise RuntimeError("out of memory")

    broken = type(context)(**{**context.__dict__, "images": ExplodingImages()})
    update = render(broken, shot_spec(film, film.shot("s01-01")))
    assert "rendered" not in update
    assert "out of memory" in update["failed"]["s01-01"]


def test_a_spoken_shot_carries_its_line_and_a_new_voice_speaks_it_again(tmp_path, make_context):
    film = small_film()
    project = Project(tmp_path / "p")
    context = make_context(FakeLLM(), project)
    shot = film.shot("s01-02")
    spec = shot_spec(film, shot)
    assert spec.line is not None and spec.line.text == shot.dialogue.text
    first = render(context, spec)["rendered"][shot.id]
    assert first.audio.endswith("line.wav") and first.audio_seconds > 0.3 and first.speech_backend == "espeak"
    line = spec.line.model_copy(update={"voice": spec.line.voice.model_copy(update={"pitch": 10})})
    revoiced = render(context, spec.model_copy(update={"line": line}))["rendered"][shot.id]
    assert not revoiced.cache_hit and revoiced.content_hash != first.content_hash
    assert take_hash(spec, context.images, context.video, None) != first.content_hash, "silent takes differ"


def test_voices_are_cast_from_the_look_and_the_action_that_names_only_that_character():
    film = small_film()
    film.characters[0].look = "30s, grey city coat"
    film.scenes[0].action = [
        f"{film.characters[0].name.upper()} hurries down the ramp, a bag held to her chest.",
        f"{film.characters[0].name} drops her keys.",
        f"{film.characters[0].name} and {film.characters[1].name} argue; he shouts at the sea.",
    ]
    cast_voices(film)
    first = film.characters[0]
    assert first.voice is not None and first.voice.openai in {"coral", "nova", "shimmer", "sage"}
    clues = voice_clues(film, first)
    assert "her chest" in clues and "her keys" in clues and "he shouts" not in clues
    assert len({c.voice for c in film.characters}) == len(film.characters)
    before = [c.voice for c in film.characters]
    cast_voices(film)
    assert [c.voice for c in film.characters] == before, "a cast voice is kept"
