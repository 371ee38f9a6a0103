"""What changed since the last review round, by content: the scenes a round checks and the verdicts it keeps.

Three keys decide it. The film's key holds its own words (title, logline, premise, script, style, characters
and settings, what memory says each character looks like), the scenes' order, and what the critic checks with
(its settings, the LLM, the vision model, faces measured or not, the prompt budget): when it changed, the whole
film is checked. A shot's key holds its words and its current take (the content hash and the SHA-256 of its
files, as `TakeChecks` keys them) and any failed render; a scene's key holds its own words and its shots' keys.
A scene whose key is the one the last round recorded, and whose verdicts all passed, keeps them; every other
scene is checked, and the rubric is asked about those scenes alone. The first round, and a round in which
nothing changed (a second look asked for), check the whole film.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from agents.context import Context
from agents.look_review import drawn_as_animatic, measures_faces
from agents.review_scope import ReviewScope
from agents.state import Film, Review, Scene, Shot, ShotVerdict
from agents.take_checks import take_check_key
from tools.files import content_key

REVIEW_SCOPE_VERSION = 1
"""Bump when what a review checks changes: a round recorded under another version keeps no verdict."""
_SHOT_OWN = {"takes", "candidates", "ranking", "outtakes", "status"}
_FILM_OWN = {"scenes", "review_rounds", "feedback", "sound"}
_CRITIC_SETTINGS_IGNORED = {"vision_api_key", "vision_timeout"}


@dataclass
class RoundPlan:
    """The round's scope (to be completed by the critic) and the verdicts it keeps, by shot id."""

    scope: ReviewScope
    checked_scene_ids: list[str]
    kept: dict[str, ShotVerdict] = field(default_factory=dict)
    take_keys: dict[str, str] = field(default_factory=dict)
    kept_notes: list[str] = field(default_factory=list)

    @property
    def rubric_scene_ids(self) -> set[str] | None:
        """The scenes the rubric is asked about; None: all of them."""
        return None if self.scope.whole_film else set(self.checked_scene_ids)


def plan_round(film: Film, previous: Review | None, context: Context, failed: dict[str, str]) -> RoundPlan:
    """Which scenes this round checks and which verdicts of `previous` it keeps (see the module's docstring)."""
    take_keys = {shot.id: key for shot in film.shots() if (key := _take_key(shot, film, context)) is not None}
    film_key = film_review_key(film, context)
    scene_keys = {
        scene.id: key
        for scene in film.scenes
        if (key := scene_review_key(scene, [shot_review_key(s, take_keys, failed) for s in scene.shots])) is not None
    }
    scope = ReviewScope(film_key=film_key, scene_keys=scene_keys)
    everything = [scene.id for scene in film.scenes]
    earlier = previous.scope if previous is not None else None
    if previous is None:
        return _whole(film, scope, everything, take_keys, "the first round")
    if earlier is None or not earlier.film_key:
        return _whole(film, scope, everything, take_keys, f"round {previous.round} kept no record of what it checked")
    if earlier.film_key != film_key:
        reason = f"the film's own words or the critic's settings changed since round {previous.round}"
        return _whole(film, scope, everything, take_keys, reason)
    verdicts = {verdict.shot_id: verdict for verdict in previous.verdicts}
    changed = [scene.id for scene in film.scenes if scene.shots and not _keeps(scene, scene_keys, earlier, verdicts)]
    if not changed:
        return _whole(film, scope, everything, take_keys, f"nothing changed since round {previous.round}")
    kept = {shot.id: verdicts[shot.id] for scene in film.scenes if scene.id not in changed for shot in scene.shots}
    scope = scope.model_copy(
        update={
            "whole_film": False,
            "since_round": previous.round,
            "checked_shots": [s.id for scene in film.scenes if scene.id in changed for s in scene.shots],
            "checked_scenes": [scene.number for scene in film.scenes if scene.id in changed],
            "kept_shots": list(kept),
        }
    )
    notes = [note for note in previous.notes if any(note.startswith(f"{shot_id}: ") for shot_id in kept)]
    return RoundPlan(scope=scope, checked_scene_ids=changed, kept=kept, take_keys=take_keys, kept_notes=notes)


def _whole(film: Film, scope: ReviewScope, scene_ids: list[str], take_keys: dict[str, str], why: str) -> RoundPlan:
    update = {
        "whole_film": True,
        "reason": why,
        "checked_shots": [shot.id for shot in film.shots()],
        "checked_scenes": [scene.number for scene in film.scenes],
    }
    return RoundPlan(scope=scope.model_copy(update=update), checked_scene_ids=scene_ids, take_keys=take_keys)


def _keeps(scene: Scene, keys: dict[str, str], earlier: ReviewScope, verdicts: dict[str, ShotVerdict]) -> bool:
    """Whether the scene is as the last round judged it and every one of its verdicts passed."""
    key = keys.get(scene.id)
    if key is None or earlier.scene_keys.get(scene.id) != key:
        return False
    return all(shot.id in verdicts and verdicts[shot.id].passed for shot in scene.shots)


def _take_key(shot: Shot, film: Film, context: Context) -> str | None:
    return take_check_key(shot, film, context.project) if shot.take is not None else None


def film_review_key(film: Film, context: Context) -> str:
    """The key of everything a review of any shot depends on beyond that shot's scene."""
    memory_looks = {}
    for character in film.characters:
        record = context.memory.get_character(character.id)
        memory_looks[character.id] = record.look if record is not None else None
    critic = context.settings.critic.model_dump(mode="json", exclude=_CRITIC_SETTINGS_IGNORED)
    return content_key(
        {
            "version": REVIEW_SCOPE_VERSION,
            "film": film.model_dump(mode="json", exclude=_FILM_OWN),
            "scene_order": [scene.id for scene in film.scenes],
            "memory_looks": memory_looks,
            "critic": critic,
            "llm": getattr(context.llm, "model", ""),
            "vision": context.vision.model if context.vision is not None else None,
            "faces": measures_faces(context),
            "animatic": drawn_as_animatic(context),
            "prompt_tokens": context.prompt_tokens,
        }
    )


def shot_review_key(shot: Shot, take_keys: dict[str, str], failed: dict[str, str]) -> str | None:
    """The key of a shot's words and current take; None when its take's files cannot be read (check it)."""
    take = shot.take
    if take is not None and shot.id not in take_keys:
        return None
    return content_key(
        {
            "shot": shot.model_dump(mode="json", exclude=_SHOT_OWN),
            "take": take.model_dump(mode="json", include={"content_hash", "keyframe", "clip", "audio", "ambience"})
            if take is not None
            else None,
            "files": take_keys.get(shot.id),
            "failed": failed.get(shot.id),
        }
    )


def scene_review_key(scene: Scene, shot_keys: list[str | None]) -> str | None:
    """The key of a scene's words and its shots' keys; None when any shot cannot be keyed."""
    if any(key is None for key in shot_keys):
        return None
    return content_key({"scene": scene.model_dump(mode="json", exclude={"shots"}), "shots": shot_keys})
