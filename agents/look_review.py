"""What the critic sees in a take: the faces in it against each character's, and a vision model's verdict.

Both are kept in the project by content (`review-looks.json`): a picture's faces are found once per file, and
a vision verdict is asked once per take, references and model, so a later round, a note or the choice between
takes reuses them. The vision model is asked only when the endpoint takes pictures (`critic.vision`); the
faces are measured on every run, offline.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from agents.context import Context
from agents.project import Project
from agents.specs import scene_of
from agents.state import Character, Film, Shot, Take
from tools.edit.probe import ProbeError, sample_frames
from tools.files import content_key, sha256_of, write_atomic
from tools.look.consistency import CharacterFaces, ConsistencyReport, ShotFaces, measure_consistency
from tools.look.faces import FaceFound, FaceModels
from tools.look.vision import LabeledPicture, VisionReviewer, VisionShot, VisionUnavailableError, VisionVerdict
from tools.render.registry import BACKENDS
from tools.settings import Settings

LOOKS_NAME = "review-looks.json"
LOOKS_VERSION = 1
"""Bump when what is kept changes meaning: kept faces and verdicts under another version are not reused."""
VISION_PROBE_NAME = ".vision-probe.json"
"""Beside the projects: whether each vision endpoint takes pictures, probed once per endpoint and model."""
CLIP_FRAMES = 2
"""Frames from the clip sent to the vision model besides the keyframe: the middle and the end of the shot."""


@dataclass
class LookReview:
    """Faces and vision verdicts on takes, kept by content in the project, for one review or one choice."""

    project: Project
    face_models: FaceModels | None
    vision: VisionReviewer | None
    faces: dict[str, list[FaceFound]] = field(default_factory=dict)
    verdicts: dict[str, VisionVerdict | None] = field(default_factory=dict)
    vision_asked: int = 0
    vision_failed: str = ""

    @classmethod
    def for_run(cls, context: Context) -> LookReview:
        """The run's look review; faces are not looked for in pictures drawn as the animatic (figures, no faces)."""
        return cls.load(context.project, context.faces if measures_faces(context) else None, context.vision)

    @classmethod
    def load(cls, project: Project, face_models: FaceModels | None, vision: VisionReviewer | None) -> LookReview:
        """The faces and verdicts kept in the project; none when the file is missing, unreadable or older."""
        review = cls(project, face_models, vision)
        try:
            stored = json.loads((project.root / LOOKS_NAME).read_text(encoding="utf-8"))
            if stored.get("version") == LOOKS_VERSION:
                review.faces = {
                    key: [FaceFound.model_validate(face) for face in faces] for key, faces in stored["faces"].items()
                }
                review.verdicts = {
                    key: VisionVerdict.model_validate(verdict) if verdict is not None else None
                    for key, verdict in stored["verdicts"].items()
                }
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            review.faces, review.verdicts = {}, {}
        return review

    def save(self) -> None:
        payload = {
            "version": LOOKS_VERSION,
            "faces": {key: [face.model_dump() for face in faces] for key, faces in self.faces.items()},
            "verdicts": {
                key: verdict.model_dump(mode="json") if verdict is not None else None
                for key, verdict in self.verdicts.items()
            },
        }
        write_atomic(self.project.root / LOOKS_NAME, json.dumps(payload, sort_keys=True) + "\n")

    @property
    def sees(self) -> bool:
        """Whether a vision model looks at the takes in this review."""
        return self.vision is not None and not self.vision_failed and self.vision.available()

    def picture_faces(self, path: Path) -> list[FaceFound]:
        """The faces in a picture, largest first; none when it cannot be read or no face model is loaded."""
        if self.face_models is None:
            return []
        try:
            key = sha256_of(path)
        except OSError:
            return []
        if key not in self.faces:
            try:
                self.faces[key] = self.face_models.faces(path)
            except (OSError, ValueError):
                self.faces[key] = []
        return self.faces[key]

    def take_faces(self, take: Take) -> list[FaceFound]:
        return self.picture_faces(self.project.root / take.keyframe)

    def references_of(self, character: Character) -> list[list[float]]:
        """The face descriptors of a character's reference pictures (the largest face in each)."""
        found = [self.picture_faces(self.project.root / path) for path in character.reference_images]
        return [faces[0].descriptor for faces in found if faces]

    def consistency(self, film: Film, takes: dict[str, Take] | None = None) -> ConsistencyReport:
        """Each character's face across the film's current takes (or `takes`, by shot id, where given)."""
        takes = takes or {}
        characters = [
            CharacterFaces(character_id=c.id, name=c.name, references=self.references_of(c)) for c in film.characters
        ]
        shots = []
        for shot in film.shots():
            take = takes.get(shot.id) or shot.take
            if take is None or not shot.character_ids:
                continue
            shots.append(
                ShotFaces(
                    shot_id=shot.id,
                    scene_id=shot.scene_id,
                    character_ids=list(shot.character_ids),
                    faces=self.take_faces(take),
                )
            )
        return measure_consistency(characters, shots)

    def verdict(self, shot: Shot, take: Take, film: Film) -> VisionVerdict | None:
        """The vision model's verdict on a take, asked once per take, references and model; None when not seen.

        A vision endpoint that stops answering is reported once (`vision_failed`) and the review goes on with
        the objective checks and the faces alone.
        """
        if not self.sees:
            return None
        assert self.vision is not None
        cast = [film.character(cid) for cid in shot.character_ids]
        references = [
            LabeledPicture(label=f"reference picture of {c.name}", path=self.project.root / path)
            for c in cast
            for path in c.reference_images[:2]
        ]
        key = content_key(
            {
                "take": take.content_hash,
                "references": [sha256_of(picture.path) for picture in references if picture.path.is_file()],
                "model": self.vision.model,
                "version": LOOKS_VERSION,
            }
        )
        if key in self.verdicts:
            return self.verdicts[key]
        with tempfile.TemporaryDirectory(prefix="director-look-") as scratch:
            pictures = [LabeledPicture(label="keyframe", path=self.project.root / take.keyframe)]
            pictures += clip_pictures(self.project.root / take.clip, Path(scratch))
            try:
                self.vision_asked += 1
                verdict = self.vision.review(vision_shot(shot, film), pictures, references)
            except VisionUnavailableError as error:
                self.vision_failed = str(error)
                return None
        self.verdicts[key] = verdict
        return verdict


def drawn_as_animatic(context: Context) -> bool:
    """Whether the animatic draws the run's pictures: figures without faces, each in its scene's palette."""
    entry = BACKENDS.find("image", context.images.name)
    return entry is not None and entry.draws_animatic


def measures_faces(context: Context) -> bool:
    """Whether the run's pictures can hold faces to measure: not when the animatic draws them (figures)."""
    return context.faces is not None and not drawn_as_animatic(context)


def clip_pictures(clip: Path, folder: Path) -> list[LabeledPicture]:
    """The middle and last frames of a clip as PNG files in `folder`; none when the clip cannot be read."""
    try:
        frames = sample_frames(clip, count=CLIP_FRAMES + 1, max_side=768)[1:]
    except ProbeError:
        return []
    pictures = []
    for number, frame in enumerate(frames, start=1):
        path = folder / f"frame-{number}.png"
        Image.fromarray(frame).save(path)
        pictures.append(LabeledPicture(label=f"frame {number} of the clip", path=path))
    return pictures


def vision_shot(shot: Shot, film: Film) -> VisionShot:
    """What the vision model is told the shot should show."""
    scene = scene_of(film, shot)
    setting = film.setting(scene.setting_id)
    time_of_day = scene.time_of_day or setting.time_of_day
    return VisionShot(
        shot_id=shot.id,
        action=shot.action,
        setting=f"{setting.name}: {setting.look}",
        time_of_day=str(time_of_day),
        characters=[(film.character(cid).name, film.character(cid).look) for cid in shot.character_ids],
        expected_people=len(shot.character_ids),
        line=shot.dialogue.text if shot.dialogue is not None else "",
    )


def vision_reviewer(settings: Settings, project: Project) -> VisionReviewer | None:
    """The vision model the settings name, or None when `critic.vision` is off."""
    if settings.critic.vision == "off":
        return None
    return VisionReviewer.from_settings(
        settings.critic, settings.llm, probe_file=project.root.parent / VISION_PROBE_NAME
    )
