"""The director: scenes become a shot list that fits the target length and keeps continuity."""

from __future__ import annotations

import hashlib
import re

from langgraph.runtime import Runtime

from agents import defaults
from agents.answers import ShotIdea, ShotsAnswer
from agents.context import Context
from agents.prompting import ask
from agents.state import DialogueLine, Film, RunState, Scene, Shot, ShotStatus
from tools.llm import StructuredLLM
from tools.spec import CameraMove, Framing

MIN_SHOT_SECONDS = 2.0
MAX_SHOT_SECONDS = 8.0
SECONDS_PER_WORD = 0.4
MAX_SHOTS_PER_SCENE = 4


def plan_shots(state: RunState, runtime: Runtime[Context]) -> dict:
    """Break every scene into shots; every shot starts dirty, to be designed and rendered."""
    assert state.film is not None, "plan_shots runs after write_script"
    emit = runtime.stream_writer
    emit({"stage": "plan", "status": "start"})
    film = state.film.model_copy(deep=True)
    counts = shots_per_scene(film)
    base = film.target_seconds / max(1, sum(counts.values()))
    for scene in film.scenes:
        scene.shots = plan_scene(film, scene, counts[scene.id], base, runtime.context.llm)
    shots = film.shots()
    fit_durations(shots, film.target_seconds)
    emit({"stage": "plan", "status": "done", "shots": len(shots)})
    total = sum(shot.duration for shot in shots)
    return {
        "film": film,
        "dirty": [shot.id for shot in shots],
        "log": [f"director: {len(shots)} shots, {total:.1f} s planned for a {film.target_seconds:.0f} s target"],
    }


def shots_per_scene(film: Film) -> dict[str, int]:
    """Share the shot budget (about one shot per 3.5 s) by each scene's weight: its lines, plus one.

    A scene gets at least an establishing shot plus one shot per spoken line.
    """
    budget = max(len(film.scenes), round(film.target_seconds / 3.5))
    weights = {scene.id: len(scene.dialogue) + 1 for scene in film.scenes}
    total_weight = sum(weights.values()) or 1
    return {
        scene.id: max(
            min(MAX_SHOTS_PER_SCENE, round(budget * weights[scene.id] / total_weight)),
            len(scene.dialogue) + 1 if scene.dialogue else 1,
        )
        for scene in film.scenes
    }


def plan_scene(film: Film, scene: Scene, count: int, base_seconds: float, llm: StructuredLLM) -> list[Shot]:
    """Ask for framings, moves and actions, then apply a director's grammar.

    Establish wide first, give each spoken line its own shot on the speaker, and keep durations long enough
    to read the line.
    """
    setting = film.setting(scene.setting_id)
    names = [film.character(cid).name for cid in scene.character_ids]
    answer, _ = ask(
        llm,
        "shots",
        ShotsAnswer,
        lambda: defaults.shots_for_scene(count, scene.summary),
        number=scene.number,
        summary=scene.summary,
        setting=f"{setting.name}, {setting.time_of_day}",
        characters=", ".join(names) or "nobody",
        count=min(count, MAX_SHOTS_PER_SCENE),
    )
    ideas = list(answer.shots[:count])
    fallback = defaults.shots_for_scene(MAX_SHOTS_PER_SCENE, scene.summary).shots
    while len(ideas) < count:
        ideas.append(fallback[1 + len(ideas) % (len(fallback) - 1)])
    lines = scene.dialogue
    return [
        shot_from_idea(
            film, scene, order, idea, lines[order - 2] if 2 <= order <= len(lines) + 1 else None, base_seconds
        )
        for order, idea in enumerate(ideas, start=1)
    ]


def shot_from_idea(
    film: Film, scene: Scene, order: int, idea: ShotIdea, line: DialogueLine | None, base_seconds: float
) -> Shot:
    framing, move = idea.framing, idea.camera_move
    if order == 1:
        framing = Framing.WIDE
        move = move if move != CameraMove.PUSH_IN else CameraMove.PAN
    if line is not None and framing in (Framing.WIDE, Framing.INSERT):
        framing = Framing.MEDIUM
    if line is not None:
        cast = [line.character_id, *(c for c in scene.character_ids if c != line.character_id)]
        cast = cast[:1] if framing == Framing.CLOSE_UP else cast[:2]
    elif framing == Framing.INSERT:
        cast = scene.character_ids[:1]
    elif framing == Framing.CLOSE_UP:
        cast = scene.character_ids[:1]
    else:
        cast = list(scene.character_ids)
    duration = round(max(base_seconds, shortest_duration(line)), 2)
    shot_id = f"{scene.id}-{order:02d}"
    action = usable_action(idea.action, scene)
    return Shot(
        id=shot_id,
        scene_id=scene.id,
        order=order,
        framing=framing,
        camera_move=move,
        duration=duration,
        action=action,
        dialogue=line,
        character_ids=cast,
        seed=stable_seed(film.id, shot_id),
        status=ShotStatus.PLANNED,
    )


def shortest_duration(line: DialogueLine | None) -> float:
    """Long enough to read the line, and never shorter than a cross-fade in and out need."""
    if line is None:
        return MIN_SHOT_SECONDS
    return min(MAX_SHOT_SECONDS, max(MIN_SHOT_SECONDS, 1.0 + SECONDS_PER_WORD * len(line.text.split())))


def fit_durations(shots: list[Shot], target_seconds: float) -> None:
    """Stretch or squeeze shot durations toward the target.

    No shot goes below its reading time or above the longest shot, so a script with more lines than the
    target allows runs long rather than unreadable.
    """
    floors = [shortest_duration(shot.dialogue) for shot in shots]
    total = sum(shot.duration for shot in shots)
    if total > target_seconds:
        slack = sum(shot.duration - floor for shot, floor in zip(shots, floors, strict=True))
        keep = max(0.0, 1 - (total - target_seconds) / slack) if slack > 0 else 1.0
        for shot, floor in zip(shots, floors, strict=True):
            shot.duration = round(floor + (shot.duration - floor) * keep, 2)
    elif total < target_seconds:
        scale = target_seconds / total
        for shot in shots:
            shot.duration = round(min(MAX_SHOT_SECONDS, shot.duration * scale), 2)


def usable_action(action: str, scene: Scene) -> str:
    """The idea's action, unless it is only camera talk ("push-in") or a word; then the scene's own action."""
    camera_talk = {str(v) for v in (*Framing, *CameraMove)} | {"shot", "camera", "pull-in", "zoom", "cut", "close"}
    filler = {"a", "an", "the", "or", "and", "then", "with", "of", "to", "in", "on", "up", "out", "slow", "slowly"}
    words = [w for w in re.findall(r"[a-z-]+", action.lower()) if w not in camera_talk | filler]
    if len(words) >= 2:
        return " ".join(action.split())
    return (scene.action[0] if scene.action else scene.summary)[:160]


def stable_seed(*parts: str) -> int:
    """A reproducible 31-bit seed from the film and shot ids."""
    return int.from_bytes(hashlib.sha256("/".join(parts).encode()).digest()[:4], "big") & 0x7FFFFFFF
