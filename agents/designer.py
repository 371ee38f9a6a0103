"""The designer: keeps looks in memory and builds every dirty shot's prompt from memory.

Because prompts are composed from the memory records, not from whatever the writer said in passing, a
character carries the same look words into every shot they are in, and a setting into every shot there.
"""

from __future__ import annotations

import re

from langgraph.runtime import Runtime

from agents.context import Context
from agents.director import stable_seed
from agents.screenplay import without_introductions
from agents.state import Character, Film, Review, RunState, Scene, Setting, Shot, ShotStatus, StyleBible
from memory.store import CharacterRecord, MemoryStore, SettingRecord, ShotRecord
from tools.prose import split_sentences, whole_sentences
from tools.render.espeak import cast_voice
from tools.render.prompt_budget import Clause, assemble_prompt
from tools.render.spec import CastMember, Framing, ShotSpec, SpokenLine, Voice

NEGATIVE_PROMPT = "blurry, deformed hands, extra limbs, distorted face, watermark, text artifacts, low quality"
CAPTION_WORDS_PER_SECOND = 3.0
"""How fast a viewer reads a caption burnt into a shot: a 2 s shot shows six words' worth of whole sentences."""
_FRAMING_WORDS = {
    Framing.WIDE: "wide establishing shot, full figures in the space",
    Framing.MEDIUM: "medium shot, waist up",
    Framing.CLOSE_UP: "close-up on the face",
    Framing.INSERT: "insert shot, detail",
}


def design_shots(state: RunState, runtime: Runtime[Context]) -> dict:
    """Store looks in memory, apply the critic's changes to flagged shots, and prompt every dirty shot."""
    assert state.film is not None, "design_shots runs after plan_shots"
    emit = runtime.stream_writer
    emit({"stage": "design", "status": "start", "shots": len(state.dirty)})
    memory = runtime.context.memory
    film = state.film.model_copy(deep=True)
    remember_looks(film, memory)
    round_number = len(film.review_rounds)
    for shot_id in state.dirty:
        shot = film.shot(shot_id)
        if state.review is not None:
            apply_change(shot, state.review, film.id, round_number)
        scene = scene_of(film, shot)
        shot.prompt = compose_prompt(shot, scene, film.style, memory, budget=runtime.context.prompt_tokens)
        shot.negative_prompt = NEGATIVE_PROMPT
        shot.status = ShotStatus.DESIGNED
        memory.upsert_shot(shot_record(shot, scene))
    emit({"stage": "design", "status": "done", "shots": len(state.dirty)})
    return {"film": film, "log": [f"designer: prompted {len(state.dirty)} shots from memory"]}


def remember_looks(film: Film, memory: MemoryStore) -> None:
    """Keep every look and voice in memory; a character heard for the first time is cast a voice here."""
    cast_voices(film)
    for character in film.characters:
        memory.upsert_character(
            CharacterRecord(
                id=character.id,
                name=character.name,
                look=character.look,
                signature_color=character.signature_color,
                voice=character.voice,
                reference_images=character.reference_images,
            )
        )
    for setting in film.settings:
        memory.upsert_setting(
            SettingRecord(
                id=setting.id,
                name=setting.name,
                look=setting.look,
                time_of_day=str(setting.time_of_day),
                interior=setting.interior,
                palette=setting.palette,
                reference_images=setting.reference_images,
            )
        )


def shot_record(shot: Shot, scene: Scene) -> ShotRecord:
    """What memory keeps of a designed shot."""
    return ShotRecord(
        id=shot.id,
        scene_id=scene.id,
        prompt=shot.prompt,
        negative_prompt=shot.negative_prompt,
        character_ids=shot.character_ids,
        setting_id=scene.setting_id,
        framing=str(shot.framing),
        camera_move=str(shot.camera_move),
        seed=shot.seed,
        action=shot.action,
    )


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


def apply_change(shot: Shot, review: Review, film_id: str, round_number: int) -> None:
    """Apply the critic's change. A new direction keeps the composition: the reshoot starts from the last take."""
    verdict = next((v for v in review.verdicts if v.shot_id == shot.id and v.change is not None), None)
    if verdict is None or verdict.change is None:
        return
    change = verdict.change
    shot.reshoot_from = ""
    if change.kind == "repair":
        if change.action is not None:
            shot.action = change.action
        if change.drop_line:
            shot.dialogue = None
        if change.seed is not None:
            shot.seed = change.seed
        if change.direction:
            shot.direction = change.direction[:200]
    elif change.kind == "new_seed":
        shot.seed = change.seed if change.seed is not None else stable_seed(film_id, shot.id, str(round_number))
    elif change.kind == "new_prompt":
        shot.direction = change.direction[:200]
        shot.reshoot_from = shot.take.keyframe if shot.take is not None else ""
    elif change.kind == "new_framing" and change.framing is not None:
        shot.framing = change.framing


def scene_of(film: Film, shot: Shot) -> Scene:
    return next(scene for scene in film.scenes if scene.id == shot.scene_id)


def compose_prompt(
    shot: Shot, scene: Scene, style: StyleBible, memory: MemoryStore, *, budget: int | None = None
) -> str:
    """A generator-ready prompt: framing, place, people with their remembered looks, action, directions, style.

    With a `budget` (the tokens the backends read, `Context.prompt_tokens`) the least important whole clauses
    are left out until it fits, so the model never reads a prompt cut mid-clause. Most important first: what
    happens (the action's first sentence), the change a note or the critic asked for (shot direction), the
    framing, the scene's and the film's directions, the speaker's look, where and when, the others' looks,
    the place's look, the rest of the action, the style.
    """
    setting = memory.get_setting(scene.setting_id)
    clauses = [Clause(f"{_FRAMING_WORDS[shot.framing]}, camera {shot.camera_move}", rank=2, divisible=True)]
    if setting is not None:
        inside = "interior" if setting.interior else "exterior"
        time_of_day = scene.time_of_day or setting.time_of_day
        clauses.append(Clause(f"{setting.name} ({inside}, {time_of_day})", rank=6))
        clauses.append(Clause(setting.look, rank=8, divisible=True, attached_to=len(clauses) - 1))
    speaker = shot.dialogue.character_id if shot.dialogue is not None else ""
    lead = speaker if speaker in shot.character_ids else next(iter(shot.character_ids), "")
    for character_id in shot.character_ids:
        record = memory.get_character(character_id)
        if record is not None:
            rank = 5 if character_id == lead else 7
            clauses.append(Clause(f"{record.name}: {record.look}", rank=rank, divisible=True))
    for number, sentence in enumerate(split_sentences(shot.action)):
        clauses.append(Clause(sentence, rank=0 if number == 0 else 9))
    for rank, direction in ((3, scene.direction), (1, shot.direction), (4, style.direction)):
        clauses.append(Clause(direction, rank=rank, divisible=True))
    clauses.append(Clause(f"{style.era}, {style.lens} lens, cinematic storyboard", rank=10, divisible=True))
    return assemble_prompt(clauses, budget)


def shot_spec(film: Film, shot: Shot) -> ShotSpec:
    """The render request for a shot: everything that determines its take, and nothing else."""
    scene = scene_of(film, shot)
    setting: Setting = film.setting(scene.setting_id)
    cast: list[Character] = [film.character(cid) for cid in shot.character_ids]
    line = None
    if shot.dialogue is not None and shot.dialogue.text.strip():
        speaker = film.character(shot.dialogue.character_id)
        line = SpokenLine(
            character_id=speaker.id,
            speaker=speaker.name,
            text=shot.dialogue.text.strip(),
            voice=speaker.voice or Voice(),
            parenthetical=shot.dialogue.parenthetical,
        )
    return ShotSpec(
        shot_id=shot.id,
        scene_number=scene.number,
        shot_number=shot.order,
        prompt=shot.prompt,
        negative_prompt=shot.negative_prompt,
        width=film.style.width,
        height=film.style.height,
        seed=shot.seed,
        fps=film.style.fps,
        duration=shot.duration,
        framing=shot.framing,
        camera_move=shot.camera_move,
        time_of_day=scene.time_of_day or setting.time_of_day,
        interior=setting.interior,
        palette=setting.palette or film.style.palette,
        setting_name=setting.name,
        cast=[
            CastMember(id=c.id, name=c.name, look=c.look, color=c.signature_color, reference_images=c.reference_images)
            for c in cast
        ],
        caption="" if shot.dialogue else caption_of(shot),
        line=line,
        setting_references=setting.reference_images,
        init_image=shot.reshoot_from,
    )


def caption_of(shot: Shot) -> str:
    """The action's whole sentences that can be read in the shot's time, and always at least its first.

    A character's introduction reads as their name: the casting note in brackets is their look, drawn.
    """
    action = without_introductions(shot.action)
    return whole_sentences(action, max(1, int(shot.duration * CAPTION_WORDS_PER_SECOND)))
