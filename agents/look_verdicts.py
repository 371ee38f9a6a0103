"""The critic's eyes on the cut: faces against each character's, a scene's light and colour, a vision verdict.

Each finding on a shot that passed its objective checks sends it back with a concrete change:

- a face farther than dlib's 0.6 from its character: a stronger reference weight where the image backend takes
  references and the character has pictures; otherwise a reshoot from the shot's best-matching take (image to
  image), or else a new seed;
- a vision score below `critic.vision_flag_below`: the change the model asked for (a prompt addition, a reshoot
  from the take, a new seed, a reference weight), made concrete here;
- a shot whose light or colour jumps out of its scene: a direction to match the scene. The animatic's
  pictures are drawn from the scene's palette, so over the animatic neither faces nor continuity are measured.

A vision verdict joins the objective checks; it never passes a shot they failed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from agents.context import Context
from agents.look_review import LookReview, drawn_as_animatic, vision_shot
from agents.specs import stable_seed
from agents.state import Film, Shot, ShotChange, ShotVerdict, VisionReport
from tools.look.consistency import ConsistencyReport
from tools.look.continuity import ContinuityFlag, ShotLook, picture_look, scene_continuity
from tools.look.faces import FACE_MATCH_DISTANCE
from tools.look.vision_verdict import VisionVerdict
from tools.prose import ProseKind, check_prose

REFERENCE_WEIGHT_STEP = 0.2
DEFAULT_REFERENCE_WEIGHT = 0.6


@dataclass
class LookFindings:
    """What the critic saw this round, for the review."""

    consistency: ConsistencyReport | None = None
    continuity: list[ContinuityFlag] = field(default_factory=list)
    vision: VisionReport | None = None
    notes: list[str] = field(default_factory=list)


def see_takes(film: Film, verdicts: dict[str, ShotVerdict], context: Context, round_number: int) -> LookFindings:
    """Measure faces and scene continuity on the current takes, ask the vision model, and flag what fails."""
    looks = LookReview.for_run(context)
    findings = LookFindings()
    if looks.face_models is not None:
        findings.consistency = looks.consistency(film)
        findings.notes.append(findings.consistency.summary())
    elif drawn_as_animatic(context):
        findings.notes.append("faces: not measured; the animatic draws figures, not faces")
    for result in findings.consistency.shots if findings.consistency is not None else []:
        if result.status == "inconsistent" and verdicts[result.shot_id].passed:
            shot = film.shot(result.shot_id)
            name = film.name_of(result.character_id)
            reason = (
                f"{name}'s face is {result.distance:.2f} from their reference "
                f"(the same person is within {FACE_MATCH_DISTANCE})"
            )
            verdicts[shot.id] = flagged(
                verdicts[shot.id], reason, face_change(shot, film, looks, context, round_number)
            )
    if drawn_as_animatic(context):
        findings.notes.append("continuity: not measured; the animatic draws every shot from its scene's palette")
    else:
        findings.continuity = continuity_flags(film, context)
    for flag in findings.continuity:
        findings.notes.append(f"continuity: {flag.reason}")
        if verdicts[flag.shot_id].passed:
            shot = film.shot(flag.shot_id)
            direction = f"keep the light and colours of the rest of its scene: {setting_words(shot, film)}"
            change = ShotChange(kind="new_prompt", direction=direction[:200])
            verdicts[shot.id] = flagged(verdicts[shot.id], f"continuity: {flag.reason}", change)
    if looks.sees:
        findings.vision = see_with_vision(film, verdicts, looks, context, round_number)
        if findings.vision.unavailable:
            findings.notes.append(f"vision: {findings.vision.unavailable}; judged without it")
    looks.save()
    return findings


def see_with_vision(
    film: Film, verdicts: dict[str, ShotVerdict], looks: LookReview, context: Context, round_number: int
) -> VisionReport:
    """Ask the vision model about each take that passed so far; flag those it scores low, with its change."""
    assert context.vision is not None
    report = VisionReport(model=context.vision.model)
    for shot in film.shots():
        verdict = verdicts[shot.id]
        if shot.take is None or not verdict.passed:
            continue
        seen = looks.verdict(shot, shot.take, film)
        if seen is None:
            continue
        report.scored += 1
        verdicts[shot.id] = verdict.model_copy(update={"vision": seen.normalised_score})
        if context.vision.is_reshoot(seen):
            problems = seen.problems(vision_shot(shot, film)) or [seen.note or "it does not film the shot"]
            reason = f"vision ({seen.score}/10): " + "; ".join(problems[:4])
            change = vision_change(seen, shot, film, context, round_number)
            verdicts[shot.id] = flagged(verdicts[shot.id], reason, change)
            report.flagged.append(shot.id)
    report.asked = looks.vision_asked
    report.unavailable = looks.vision_failed
    report.model = context.vision.model
    return report


def flagged(verdict: ShotVerdict, reason: str, change: ShotChange) -> ShotVerdict:
    """The verdict failed for `reason`, carrying `change` unless an earlier finding already chose one."""
    return verdict.model_copy(
        update={
            "passed": False,
            "reasons": [*verdict.reasons, reason],
            "score": round(max(0.0, verdict.score - 0.34), 2),
            "change": verdict.change or change,
        }
    )


def takes_references(shot: Shot, film: Film) -> bool:
    return any(film.character(cid).reference_images for cid in shot.character_ids)


def stronger_reference(shot: Shot, context: Context) -> float | None:
    """The next reference weight up, or None when references cannot be followed more closely."""
    if not getattr(context.images, "follows_reference_weight", False):
        return None
    current = shot.reference_weight
    if current is None:
        current = getattr(context.settings.render.diffusers, "ip_adapter_scale", DEFAULT_REFERENCE_WEIGHT)
    if current >= 1.0:
        return None
    return round(min(1.0, current + REFERENCE_WEIGHT_STEP), 2)


def face_change(shot: Shot, film: Film, looks: LookReview, context: Context, round_number: int) -> ShotChange:
    """A stronger reference, else a reshoot from the shot's best-matching other take, else a new seed."""
    weight = stronger_reference(shot, context) if takes_references(shot, film) else None
    if weight is not None:
        return ShotChange(kind="reference_weight", reference_weight=weight)
    seed = stable_seed(film.id, shot.id, f"faces-{round_number}")
    best = best_matching_take(shot, film, looks)
    if best:
        return ShotChange(kind="reshoot_from", keyframe=best, seed=seed)
    return ShotChange(kind="new_seed", seed=seed)


def best_matching_take(shot: Shot, film: Film, looks: LookReview) -> str:
    """The keyframe of the shot's other take (coverage or history) whose faces match best, within 0.6; or ''."""
    current = shot.take.content_hash if shot.take is not None else ""
    others = {t.content_hash: t for t in [*shot.candidates, *shot.takes] if t.content_hash != current}
    best, best_distance = "", FACE_MATCH_DISTANCE
    for take in others.values():
        report = looks.consistency(film, {shot.id: take})
        distances = [r.distance for r in report.shots if r.shot_id == shot.id and r.distance is not None]
        if distances and max(distances) <= best_distance:
            best, best_distance = take.keyframe, max(distances)
    return best


def vision_change(seen: VisionVerdict, shot: Shot, film: Film, context: Context, round_number: int) -> ShotChange:
    """The vision model's proposed change, made concrete; a new seed when it proposes none that can be made."""
    seed = stable_seed(film.id, shot.id, f"vision-{round_number}")
    asked = seen.change
    if asked.kind == "prompt_addition":
        addition = " ".join(asked.prompt_addition.split())
        if addition and check_prose(addition, ProseKind.PHRASE):
            return ShotChange(kind="new_prompt", direction=f"Critic's note: {addition}"[:200])
    if asked.kind == "reshoot_from" and shot.take is not None:
        return ShotChange(kind="reshoot_from", keyframe=shot.take.keyframe, seed=seed)
    if asked.kind == "reference_weight" and takes_references(shot, film):
        stronger = stronger_reference(shot, context)
        weight = asked.reference_weight if asked.reference_weight is not None else stronger
        if stronger is not None and weight is not None and weight != shot.reference_weight:
            return ShotChange(kind="reference_weight", reference_weight=weight)
    return ShotChange(kind="new_seed", seed=seed)


def continuity_flags(film: Film, context: Context) -> list[ContinuityFlag]:
    """Scene continuity of light and colour over the current keyframes."""
    looks = []
    for shot in film.shots():
        if shot.take is None:
            continue
        try:
            look = picture_look(context.project.root / shot.take.keyframe)
        except (OSError, ValueError):
            continue
        looks.append(ShotLook(shot_id=shot.id, scene_id=shot.scene_id, look=look))
    return scene_continuity(looks)


def setting_words(shot: Shot, film: Film) -> str:
    scene = next(s for s in film.scenes if s.id == shot.scene_id)
    setting = film.setting(scene.setting_id)
    return f"{setting.name}, {scene.time_of_day or setting.time_of_day}, {setting.look}"
