"""Does each character keep one face across the film? Pure arithmetic over face descriptors.

A character is measured against their reference pictures when they have any; otherwise against the first shot,
in film order, where they are alone on screen and a face is found. That shot is reported as the reference and
is not scored: a face compared with itself says nothing.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import BaseModel
from scipy.optimize import linear_sum_assignment

from tools.look.faces import FACE_MATCH_DISTANCE, FaceFound, face_distance

FaceStatus = Literal["consistent", "inconsistent", "no_face", "no_reference"]
ReferenceKind = Literal["picture", "first_shot"]
DISTANCE_PLACES = 4


class FaceMatch(BaseModel):
    status: FaceStatus
    distance: float | None = None


class CharacterFaces(BaseModel):
    character_id: str
    name: str
    references: list[list[float]] = []
    """Descriptors of the faces in the character's reference pictures; may be empty."""


class ShotFaces(BaseModel):
    shot_id: str
    scene_id: str
    character_ids: list[str]
    faces: list[FaceFound]
    """Faces found in the shot's keyframe and frames, merged by the caller, largest first."""


class ShotFaceResult(FaceMatch):
    shot_id: str
    character_id: str
    reference: ReferenceKind | None = None


class CharacterConsistency(BaseModel):
    character_id: str
    name: str
    scored: int
    no_face: int
    mean_distance: float | None
    worst_distance: float | None
    consistency: float | None
    """The share of scored shots within the threshold, 0 to 1; None when no shot was scored."""
    flagged: list[str]
    """Shots whose face is farther from the character's reference than the threshold."""


class ConsistencyReport(BaseModel):
    shots: list[ShotFaceResult]
    characters: list[CharacterConsistency]
    film_consistency: float | None
    threshold: float

    def summary(self) -> str:
        """One line a person reads: each character's score, the shots without a face, the flagged shots."""
        parts: list[str] = []
        for character in self.characters:
            if character.scored:
                within = character.scored - len(character.flagged)
                parts.append(
                    f"{character.name} {within}/{character.scored} consistent (mean {character.mean_distance:.2f})"
                )
            elif any(r.character_id == character.character_id and r.status == "no_reference" for r in self.shots):
                parts.append(f"{character.name} has no reference face")
        faceless = len({result.shot_id for result in self.shots if result.status == "no_face"})
        if faceless:
            parts.append(f"{faceless} shot{'s' if faceless != 1 else ''} without a face")
        names = {character.character_id: character.name for character in self.characters}
        flagged = [
            f"{result.shot_id} ({names.get(result.character_id, result.character_id)} {result.distance:.2f})"
            for result in self.shots
            if result.status == "inconsistent" and result.distance is not None
        ]
        if flagged:
            parts.append("off-model: " + ", ".join(flagged))
        return "faces: " + (", ".join(parts) if parts else "nothing to measure")


def _references_of(
    characters: list[CharacterFaces], shots: list[ShotFaces]
) -> dict[str, tuple[list[list[float]], ReferenceKind, str | None]]:
    """Each character's reference descriptors, where they came from, and the shot that supplied them."""
    references: dict[str, tuple[list[list[float]], ReferenceKind, str | None]] = {}
    for character in characters:
        if character.references:
            references[character.character_id] = (character.references, "picture", None)
            continue
        for shot in shots:
            if shot.character_ids == [character.character_id] and shot.faces:
                references[character.character_id] = ([shot.faces[0].descriptor], "first_shot", shot.shot_id)
                break
    return references


def _nearest(face: FaceFound, references: list[list[float]]) -> float:
    return min(face_distance(face.descriptor, reference) for reference in references)


def _measure_shot(
    shot: ShotFaces,
    references: dict[str, tuple[list[list[float]], ReferenceKind, str | None]],
    threshold: float,
) -> list[ShotFaceResult]:
    cast = list(dict.fromkeys(shot.character_ids))
    results: dict[str, ShotFaceResult] = {}
    measurable: list[str] = []
    for character_id in cast:
        reference = references.get(character_id)
        if not shot.faces:
            results[character_id] = ShotFaceResult(shot_id=shot.shot_id, character_id=character_id, status="no_face")
        elif reference is None:
            results[character_id] = ShotFaceResult(
                shot_id=shot.shot_id, character_id=character_id, status="no_reference"
            )
        elif reference[2] == shot.shot_id:
            results[character_id] = ShotFaceResult(
                shot_id=shot.shot_id,
                character_id=character_id,
                status="consistent",
                distance=0.0,
                reference="first_shot",
            )
        else:
            measurable.append(character_id)
    if measurable:
        costs = np.array([[_nearest(face, references[c][0]) for face in shot.faces] for c in measurable])
        rows, columns = linear_sum_assignment(costs)
        assigned = {measurable[row]: float(costs[row, column]) for row, column in zip(rows, columns, strict=True)}
        for character_id in measurable:
            kind = references[character_id][1]
            if character_id not in assigned:
                results[character_id] = ShotFaceResult(
                    shot_id=shot.shot_id, character_id=character_id, status="no_face", reference=kind
                )
                continue
            distance = round(assigned[character_id], DISTANCE_PLACES)
            results[character_id] = ShotFaceResult(
                shot_id=shot.shot_id,
                character_id=character_id,
                status="consistent" if distance <= threshold else "inconsistent",
                distance=distance,
                reference=kind,
            )
    return [results[character_id] for character_id in cast]


def _is_scored(result: ShotFaceResult, reference_shots: set[tuple[str, str]]) -> bool:
    return result.distance is not None and (result.shot_id, result.character_id) not in reference_shots


def _share_within(distances: list[float], threshold: float) -> float | None:
    if not distances:
        return None
    return round(sum(distance <= threshold for distance in distances) / len(distances), DISTANCE_PLACES)


def measure_consistency(
    characters: list[CharacterFaces], shots: list[ShotFaces], *, threshold: float = FACE_MATCH_DISTANCE
) -> ConsistencyReport:
    """How closely each character's face in each shot matches their reference, for the whole film.

    Args:
        characters: the cast, with descriptors of their reference pictures (possibly none).
        shots: the shots in film order, with the characters in each and the faces found in it. When a shot
            holds several characters and several faces, faces go to characters by the smallest total distance.
        threshold: the farthest a face may be from its reference and still be the same person.
    """
    cast = list(characters)
    known = {character.character_id for character in cast}
    for shot in shots:
        for character_id in shot.character_ids:
            if character_id not in known:
                known.add(character_id)
                cast.append(CharacterFaces(character_id=character_id, name=character_id))
    references = _references_of(cast, shots)
    reference_shots = {(shot_id, cid) for cid, (_, _, shot_id) in references.items() if shot_id is not None}
    results = [result for shot in shots for result in _measure_shot(shot, references, threshold)]

    summaries: list[CharacterConsistency] = []
    for character in cast:
        own = [result for result in results if result.character_id == character.character_id]
        scored = [result for result in own if _is_scored(result, reference_shots)]
        distances = [result.distance for result in scored if result.distance is not None]
        summaries.append(
            CharacterConsistency(
                character_id=character.character_id,
                name=character.name,
                scored=len(distances),
                no_face=sum(result.status == "no_face" for result in own),
                mean_distance=round(sum(distances) / len(distances), DISTANCE_PLACES) if distances else None,
                worst_distance=max(distances) if distances else None,
                consistency=_share_within(distances, threshold),
                flagged=[result.shot_id for result in scored if result.status == "inconsistent"],
            )
        )
    film_distances = [r.distance for r in results if _is_scored(r, reference_shots) and r.distance is not None]
    return ConsistencyReport(
        shots=results,
        characters=summaries,
        film_consistency=_share_within(film_distances, threshold),
        threshold=threshold,
    )
