"""The director: scenes become a shot list that fits the target length and keeps continuity."""

from __future__ import annotations

import re
from dataclasses import dataclass

from langgraph.runtime import Runtime

from agents import defaults
from agents.answers import ShotIdea, ShotsAnswer
from agents.context import Context
from agents.events import Emitter, PlanEvent
from agents.prompting import ask
from agents.specs import stable_seed
from agents.state import DialogueLine, Film, RunState, Scene, Shot, ShotStatus
from tools.llm.asking import StructuredLLM
from tools.prose import split_sentences
from tools.render.spec import CameraMove, Framing

MIN_SHOT_SECONDS = 2.0
MAX_SHOT_SECONDS = 8.0
SECONDS_PER_WORD = 0.4
MAX_SHOTS_PER_SCENE = 4


def plan_shots(state: RunState, runtime: Runtime[Context]) -> dict:
    """Break every scene into shots; every shot starts dirty, to be designed and rendered."""
    assert state.film is not None, "plan_shots runs after write_script"
    emit = Emitter(runtime.stream_writer)
    emit(PlanEvent(status="start"))
    film = state.film.model_copy(deep=True)
    durations = shot_durations(film)
    for scene in film.scenes:
        scene.shots = planned_scene(film, scene, durations, runtime.context.llm)
    shots = film.shots()
    emit(PlanEvent(status="done", shots=len(shots)))
    total = sum(shot.duration for shot in shots)
    return {
        "film": film,
        "dirty": [shot.id for shot in shots],
        "log": [f"director: {len(shots)} shots, {total:.1f} s planned for a {film.target_seconds:.0f} s target"],
    }


def planned_scene(film: Film, scene: Scene, durations: dict[str, float], llm: StructuredLLM) -> list[Shot]:
    """The scene's shots with their final durations (`shot_durations`): the same whenever the scene is planned."""
    counts = shots_per_scene(film)
    shots = plan_scene(film, scene, counts[scene.id], 0.0, llm)
    for shot in shots:
        shot.duration = durations[shot.id]
    return shots


def shot_durations(film: Film) -> dict[str, float]:
    """Every shot's duration, fitted to the film's target, by shot id.

    A duration follows from the scenes' beats and lines alone (no model answer changes one), so a scene
    streamed through the crew before the others are planned gets the durations the whole film would give it.
    """
    counts = shots_per_scene(film)
    base = film.target_seconds / max(1, sum(counts.values()))
    ids, durations, floors = [], [], []
    for scene in film.scenes:
        for order, plan in enumerate(shot_plans(scene, counts[scene.id]), start=1):
            ids.append(f"{scene.id}-{order:02d}")
            floors.append(shortest_duration(plan.line))
            durations.append(round(max(base, floors[-1]), 2))
    return dict(zip(ids, fitted_durations(durations, floors, film.target_seconds), strict=True))


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


@dataclass(frozen=True)
class Beat:
    """One sentence of a scene's action, verbatim, with the paragraph it belongs to."""

    text: str
    paragraph: int


@dataclass
class ShotPlan:
    """What one shot carries before framing is chosen: its beats (whole sentences) and its line, if any."""

    beats: list[Beat]
    line: DialogueLine | None = None
    position: tuple[float, int] = (0.0, 0)

    @property
    def action(self) -> str:
        return " ".join(beat.text for beat in self.beats)


def scene_beats(scene: Scene) -> list[Beat]:
    """The scene's action paragraphs as whole sentences, in order: the story the shots must cover."""
    return [
        Beat(text=sentence, paragraph=index)
        for index, paragraph in enumerate(scene.action)
        for sentence in split_sentences(paragraph)
    ]


def current_beat(beats: list[Beat], line: DialogueLine) -> int:
    """The beat on screen when the line is said: the last sentence of action before it, else the first."""
    before = [index for index, beat in enumerate(beats) if beat.paragraph < line.after_action]
    return before[-1] if before else 0


def shot_plans(scene: Scene, count: int) -> list[ShotPlan]:
    """Cover every beat in script order: each line gets its own shot, carrying the beat current at it.

    The beats no line carries are split, in order, into the silent shots; every shot sits where its first beat
    or its line sits in the script, so the shots tell the scene in the order it was written.
    """
    beats = scene_beats(scene)
    plans = [
        ShotPlan(
            beats=[beats[current_beat(beats, line)]] if beats else [],
            line=line,
            position=(line.after_action - 0.5, number),
        )
        for number, line in enumerate(scene.dialogue)
    ]
    carried = {current_beat(beats, line) for line in scene.dialogue}
    free = [index for index in range(len(beats)) if index not in carried]
    segments = between_lines(free, beats, scene.dialogue)
    shares = share_out(max(1, count - len(scene.dialogue)), [len(segment) for segment in segments])
    for segment, share in zip(segments, shares, strict=True):
        for group in split_in_order(segment, share):
            plans.append(ShotPlan(beats=[beats[i] for i in group], position=(beats[group[0]].paragraph, group[0])))
    if not free and (beats or not plans):
        plans.append(ShotPlan(beats=beats[:1], position=(-1.0, 0)))
    return sorted(plans, key=lambda plan: plan.position)


def between_lines(free: list[int], beats: list[Beat], lines: list[DialogueLine]) -> list[list[int]]:
    """The free beats in runs that no line interrupts, so a silent shot never jumps over a line."""
    runs: dict[int, list[int]] = {}
    for index in free:
        said_before = sum(1 for line in lines if line.after_action <= beats[index].paragraph)
        runs.setdefault(said_before, []).append(index)
    return [runs[key] for key in sorted(runs)]


def share_out(total: int, sizes: list[int]) -> list[int]:
    """`total` shots shared over runs of beats by their size, at least one shot a run and at most one a beat."""
    shares = [1] * len(sizes)
    for _ in range(max(0, total - len(sizes))):
        room = [i for i, size in enumerate(sizes) if shares[i] < size]
        if not room:
            break
        pick = max(room, key=lambda i: sizes[i] / shares[i])
        shares[pick] += 1
    return shares


def split_in_order(items: list[int], parts: int) -> list[list[int]]:
    """`items` in `parts` contiguous runs of nearly equal length, the longer runs first."""
    parts = max(1, min(parts, len(items)))
    size, extra = divmod(len(items), parts)
    runs, start = [], 0
    for part in range(parts):
        end = start + size + (1 if part < extra else 0)
        runs.append(items[start:end])
        start = end
    return runs


def plan_scene(film: Film, scene: Scene, count: int, base_seconds: float, llm: StructuredLLM) -> list[Shot]:
    """Lay the scene's beats and lines over shots, then ask only how to frame and move each one.

    The model picks from enums; what a shot shows is the scene's own sentences, so no model's words reach a
    shot's action. A director's grammar then applies: establish wide first, give each spoken line its own
    shot on the speaker, and keep durations long enough to read the line.
    """
    plans = shot_plans(scene, count)
    setting = film.setting(scene.setting_id)
    names = [film.character(cid).name for cid in scene.character_ids]
    listing = "\n".join(
        f"{number}. "
        + (f"{film.character(plan.line.character_id).name} says a line. " if plan.line else "")
        + plan.action[:120]
        for number, plan in enumerate(plans, start=1)
    )
    answer, _ = ask(
        llm,
        "shots",
        ShotsAnswer,
        lambda: defaults.shots_for_scene(len(plans)),
        number=scene.number,
        setting=f"{setting.name}, {setting.time_of_day}",
        characters=", ".join(names) or "nobody",
        count=len(plans),
        shots=listing,
    )
    ideas = list(answer.shots[: len(plans)])
    fallback = defaults.shots_for_scene(len(plans) + 1).shots
    while len(ideas) < len(plans):
        ideas.append(fallback[len(ideas)])
    return [
        shot_from_plan(film, scene, order, plan, idea, base_seconds)
        for order, (plan, idea) in enumerate(zip(plans, ideas, strict=True), start=1)
    ]


def named_in(film: Film, scene: Scene, text: str) -> list[str]:
    """The ids of the scene's characters that `text` names, in the order it names them."""
    found = []
    for character_id in scene.character_ids:
        match = re.search(rf"(?<!\w){re.escape(film.character(character_id).name)}(?!\w)", text, re.IGNORECASE)
        if match:
            found.append((match.start(), character_id))
    return [character_id for _, character_id in sorted(found)]


def shot_from_plan(film: Film, scene: Scene, order: int, plan: ShotPlan, idea: ShotIdea, base_seconds: float) -> Shot:
    framing, move = idea.framing, idea.camera_move
    line = plan.line
    if order == 1 and line is None:
        framing = Framing.WIDE
        move = move if move != CameraMove.PUSH_IN else CameraMove.PAN
    named = named_in(film, scene, plan.action)
    if line is not None:
        if framing in (Framing.WIDE, Framing.INSERT):
            framing = Framing.MEDIUM
        listeners = [c for c in [*named, *scene.character_ids] if c != line.character_id]
        if line.off_screen:
            cast = list(dict.fromkeys(listeners))[:2]
            framing = Framing.MEDIUM if framing == Framing.CLOSE_UP and not cast else framing
        else:
            cast = list(dict.fromkeys([line.character_id, *listeners]))
            cast = cast[:1] if framing == Framing.CLOSE_UP else cast[:2]
    elif framing == Framing.WIDE:
        cast = list(dict.fromkeys([*named, *scene.character_ids]))
    elif named:
        cast = named[:1] if framing in (Framing.CLOSE_UP, Framing.INSERT) else named[:3]
    else:
        cast = []
        framing = Framing.INSERT if framing == Framing.CLOSE_UP else framing
    duration = round(max(base_seconds, shortest_duration(line)), 2)
    shot_id = f"{scene.id}-{order:02d}"
    return Shot(
        id=shot_id,
        scene_id=scene.id,
        order=order,
        framing=framing,
        camera_move=move,
        duration=duration,
        action=plan.action,
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
    """Stretch or squeeze shot durations toward the target (see `fitted_durations`)."""
    floors = [shortest_duration(shot.dialogue) for shot in shots]
    fitted = fitted_durations([shot.duration for shot in shots], floors, target_seconds)
    for shot, duration in zip(shots, fitted, strict=True):
        shot.duration = duration


def fitted_durations(durations: list[float], floors: list[float], target_seconds: float) -> list[float]:
    """Durations stretched or squeezed toward the target.

    No shot goes below its reading time (`floors`) or above the longest shot, so a script with more lines than
    the target allows runs long rather than unreadable.
    """
    total = sum(durations)
    if total > target_seconds:
        slack = sum(duration - floor for duration, floor in zip(durations, floors, strict=True))
        keep = max(0.0, 1 - (total - target_seconds) / slack) if slack > 0 else 1.0
        return [round(floor + (duration - floor) * keep, 2) for duration, floor in zip(durations, floors, strict=True)]
    if total < target_seconds:
        scale = target_seconds / total
        return [round(min(MAX_SHOT_SECONDS, duration * scale), 2) for duration in durations]
    return list(durations)
