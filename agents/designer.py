"""The designer: keeps looks in memory and builds every dirty shot's prompt from memory.

Because prompts are composed from the memory records, not from whatever the writer said in passing, a
character carries the same look words into every shot they are in, and a setting into every shot there.
"""

from __future__ import annotations

from langgraph.runtime import Runtime

from agents.context import Context
from agents.events import DesignEvent, Emitter
from agents.memory_records import remember_looks, shot_record
from agents.specs import scene_of, stable_seed
from agents.state import Review, RunState, Scene, Shot, ShotStatus, StyleBible
from memory.store import MemoryStore
from tools.prose import split_sentences
from tools.render.prompt_budget import Clause, assemble_prompt
from tools.render.spec import Framing

NEGATIVE_PROMPT = "blurry, deformed hands, extra limbs, distorted face, watermark, text artifacts, low quality"
_FRAMING_WORDS = {
    Framing.WIDE: "wide establishing shot, full figures in the space",
    Framing.MEDIUM: "medium shot, waist up",
    Framing.CLOSE_UP: "close-up on the face",
    Framing.INSERT: "insert shot, detail",
}


def design_shots(state: RunState, runtime: Runtime[Context]) -> dict:
    """Store looks in memory, apply the critic's changes to flagged shots, and prompt every dirty shot."""
    assert state.film is not None, "design_shots runs after plan_shots"
    emit = Emitter(runtime.stream_writer)
    emit(DesignEvent(status="start", shots=len(state.dirty), takes=state.takes))
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
    emit(DesignEvent(status="done", shots=len(state.dirty), takes=state.takes))
    return {"film": film, "log": [f"designer: prompted {len(state.dirty)} shots from memory"]}


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
    elif change.kind == "reshoot_from":
        shot.reshoot_from = change.keyframe
        shot.seed = change.seed if change.seed is not None else stable_seed(film_id, shot.id, str(round_number))
    elif change.kind == "reference_weight" and change.reference_weight is not None:
        shot.reference_weight = change.reference_weight


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
