"""Coverage: with several takes of a shot (`render.takes`), the critic picks the one the cut uses.

Takes are ranked by the vision model's score when one looked, then by how closely their faces match each
character's, then by the objective checks; a take that fails an objective check (black, frozen, wrong length)
never beats one that passes. The others stay on the shot (`Shot.candidates`), so a filmmaker can cut another
one in ("use take 2", `director revise RUN --shot ID --take 2`) without anything being rendered.
"""

from __future__ import annotations

from langgraph.runtime import Runtime

from agents.context import Context
from agents.look_review import LookReview, vision_shot
from agents.state import Film, RunState, Shot, Take, TakeRank
from agents.take_checks import TakeChecks
from tools.look.faces import FACE_MATCH_DISTANCE


def choose_takes(state: RunState, runtime: Runtime[Context]) -> dict:
    """Rank each covered shot's takes and send the best to the cut; shots with one take are left as they are."""
    if not state.alternates:
        return {}
    assert state.film is not None
    context = runtime.context
    film = state.film.model_copy(deep=True)
    checks = TakeChecks.load(context.project)
    looks = LookReview.for_run(context)
    chosen: dict[str, Take] = {}
    rescued: list[str] = []
    log = []
    for shot_id, others in state.alternates.items():
        shot = film.shot(shot_id)
        first = state.rendered.get(shot_id) if shot_id not in state.failed else None
        numbered = ({1: first} if first is not None else {}) | dict(sorted(others.items()))
        shot.outtakes = [t for t in shot.all_takes() if t not in shot.takes]
        shot.candidates = [take.model_copy(update={"shot_id": shot.id}) for take in numbered.values()]
        shot.ranking = rank_takes(shot, numbered, film, checks, looks, {**state.rendered, **chosen})
        best = numbered[shot.ranking[0].number]
        chosen[shot_id] = best
        if first is None:
            rescued.append(shot_id)
        log.append(f"critic: {shot_id} cuts take {shot.ranking[0].number} of {len(numbered)} ({why(shot.ranking[0])})")
    checks.save(keep_known=True)
    looks.save()
    return {
        "film": film,
        "rendered": chosen,
        "failed": {shot_id: "" for shot_id in rescued},
        "alternates": {shot_id: {} for shot_id in state.alternates},
        "log": log,
    }


def rank_takes(
    shot: Shot,
    numbered: dict[int, Take],
    film: Film,
    checks: TakeChecks,
    looks: LookReview,
    current: dict[str, Take],
) -> list[TakeRank]:
    """The shot's takes, best first, each with its score and what its review found."""
    ranks = []
    failed_checks: dict[int, bool] = {}
    for number, take in numbered.items():
        problems = checks.of(shot, film, take)
        failed_checks[number] = bool(problems)
        distance = face_distance_of(shot, take, film, looks, current)
        verdict = looks.verdict(shot, take, film) if not problems else None
        vision = verdict.normalised_score if verdict is not None else None
        if verdict is not None:
            problems = problems + verdict.problems(vision_shot(shot, film))
        if distance is not None and distance > FACE_MATCH_DISTANCE:
            problems = problems + [
                f"a face is {distance:.2f} from its character's (farther than {FACE_MATCH_DISTANCE})"
            ]
        ranks.append(
            TakeRank(
                number=number,
                content_hash=take.content_hash,
                score=take_score(problems, vision, distance),
                vision=vision,
                face_distance=distance,
                problems=problems,
            )
        )
    ranks.sort(key=lambda rank: order_key(rank, checks_failed=failed_checks[rank.number]))
    ranks[0] = ranks[0].model_copy(update={"picked_by": "critic"})
    return ranks


def order_key(rank: TakeRank, *, checks_failed: bool) -> tuple:
    """Passing the objective checks first, then the vision score, then the faces, then the fewer problems."""
    faces_match = rank.face_distance is None or rank.face_distance <= FACE_MATCH_DISTANCE
    return (
        checks_failed,
        -(rank.vision if rank.vision is not None else 0.0),
        not faces_match,
        rank.face_distance if rank.face_distance is not None else 0.0,
        len(rank.problems),
        rank.number,
    )


def take_score(problems: list[str], vision: float | None, distance: float | None) -> float:
    """One figure for a take, 0 to 1: the vision score where there is one, lowered by each problem found."""
    base = vision if vision is not None else 1.0
    if distance is not None:
        base = min(base, 1.0 - 0.5 * min(1.0, distance / (2 * FACE_MATCH_DISTANCE)))
    return round(max(0.0, base - 0.25 * len(problems)), 2)


def face_distance_of(shot: Shot, take: Take, film: Film, looks: LookReview, current: dict[str, Take]) -> float | None:
    """The farthest of the take's faces from its character's reference; None when no face could be measured."""
    if not shot.character_ids:
        return None
    report = looks.consistency(film, {**current, shot.id: take})
    distances = [
        result.distance
        for result in report.shots
        if result.shot_id == shot.id and result.distance is not None and result.status != "no_reference"
    ]
    return max(distances) if distances else None


def why(rank: TakeRank) -> str:
    parts = [f"score {rank.score:.2f}"]
    if rank.vision is not None:
        parts.append(f"vision {rank.vision:.2f}")
    if rank.face_distance is not None:
        parts.append(f"face {rank.face_distance:.2f}")
    return ", ".join(parts)
