"""The critic looks at the pictures: a vision model's verdict sends a take back, and faces are measured.

Real graph, Chroma, ffmpeg, dlib and the fake crew. The vision model is `FakeVisionEndpoint` (a fake, on
loopback, spoken to by the real `openai` client). The faces are real photographs drawn into the keyframes by
`PhotoKeyframes`, a real image backend defined here that films each character as their reference picture
(cropped, scaled, mirrored from shot to shot), so the measures run on real faces.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import ClassVar

import numpy as np
import photos
import pytest
from fake_crew import PREMISE, crew
from fake_vision import FakeVisionEndpoint, RecordedRequest
from PIL import Image
from typer.testing import CliRunner

from agents.run import new_run, open_context, run_film
from agents.state import Feedback, ReferenceImage
from tools.references import store_reference
from tools.render.base import ImageResult
from tools.render.registry import BACKENDS, BackendEntry
from tools.render.setup import RenderBackends
from tools.render.spec import ShotSpec
from tools.settings import CriticSettings, RenderSettings, Settings
from ui.cli import app

ADDITION = "a warm lantern glow on her face"


def verdict(score: int, change: dict | None = None) -> dict:
    return {
        "in_frame": [],
        "people_count": 0,
        "action_shown": True,
        "place_shown": True,
        "time_of_day_shown": True,
        "characters": [],
        "artifacts": ["none"],
        "score": score,
        "change": change or {"kind": "none", "prompt_addition": "", "reference_weight": None},
        "note": "looks right" if score > 5 else "the face is lost in the dark",
    }


class ScriptedCritic:
    """Scores the first shot it is shown 3/10 once, asking for a prompt addition; everything else 9/10."""

    def __init__(self) -> None:
        self.low: str | None = None

    def __call__(self, request: RecordedRequest) -> dict | str:
        if "Reply with one word" in request.text or not request.pictures:
            return "Red"
        shot = re.search(r"Shot (\S+)\.", request.text).group(1)
        if self.low is None:
            self.low = shot
            return verdict(3, {"kind": "prompt_addition", "prompt_addition": ADDITION, "reference_weight": None})
        return verdict(9)


def test_a_take_the_vision_model_scores_low_is_reshot_with_its_change_and_passes_after(tmp_path, minilm):
    critic = ScriptedCritic()
    with FakeVisionEndpoint(critic) as fake:
        settings = Settings(
            projects_dir=tmp_path / "projects",
            target_seconds=8,
            max_review_rounds=2,
            critic=CriticSettings(vision="on", vision_base_url=fake.base_url, vision_model="fake-vision"),
        )
        project = new_run(settings, premise=PREMISE)
        with open_context(settings, project, llm=crew(), embedding_function=minilm) as context:
            outcome = run_film(settings, project, context=context)
        asked = [request for request in fake.requests if request.pictures]
    assert outcome.finished, outcome.log
    first, second = outcome.film.review_rounds
    assert first.flagged == [critic.low]
    sent_back = next(v for v in first.verdicts if v.shot_id == critic.low)
    assert sent_back.reasons[-1].startswith("vision (3/10)")
    assert sent_back.change.kind == "new_prompt" and ADDITION in sent_back.change.direction
    assert first.vision.scored == len(outcome.film.shots()) and first.vision.flagged == [critic.low]
    assert all(v.vision == 0.9 for v in first.verdicts if v.shot_id != critic.low)
    assert second.passed and second.vision.flagged == []
    reshot = outcome.film.shot(critic.low)
    assert ADDITION in reshot.direction and len({take.content_hash for take in reshot.takes}) == 2
    assert len(asked) == len(outcome.film.shots()) + 1, "an unchanged take is not shown to the model again"
    for request in asked:
        assert len(request.pictures) == 3, "the keyframe and two frames of the clip"
        assert all(max(p.width, p.height) <= 512 and p.mode == "RGB" for p in request.pictures)
        assert "People who should be in frame" in request.text
    manifest = json.loads(project.manifest_file.read_text())
    assert {"role": "vision", "model": "fake-vision"}.items() <= next(
        m for m in manifest["models"] if m["role"] == "vision"
    ).items()
    assert manifest["llm_usage"]["tasks"]["vision_review"]["calls"] == len(asked)


class PhotoKeyframes:
    """Keyframes that show each character as their reference photograph, varied from shot to shot.

    Shot by shot the photograph is cropped, scaled and mirrored, as a camera would see the same face; a shot
    named in `stand_ins` shows that picture instead (another person, or no face at all) unless its reference
    weight is 0.8 or more, when the reference wins.
    """

    name: ClassVar[str] = "photo"
    supports_reference_image: ClassVar[bool] = True
    max_prompt_tokens: ClassVar[int | None] = None
    follows_reference_weight: ClassVar[bool] = True
    stand_ins: ClassVar[dict[str, Image.Image]] = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> PhotoKeyframes:
        return cls()

    @property
    def model(self) -> str:
        return "reference-photographs"

    @property
    def parameters(self) -> dict[str, str | int | float | bool]:
        return {}

    def generate(self, spec: ShotSpec, out: Path) -> ImageResult:
        ramp = np.linspace(30, 120, spec.width, dtype=np.float32)[None, :, None] * np.array([1.0, 0.8, 0.6])
        canvas = Image.fromarray(np.broadcast_to(ramp, (spec.height, spec.width, 3)).astype(np.uint8))
        pictures = [Image.open(path).convert("RGB") for m in spec.cast for path in m.reference_images[:1]]
        if spec.shot_id in self.stand_ins and (spec.reference_weight or 0.6) < 0.8:
            pictures = [self.stand_ins[spec.shot_id]]
        for index, picture in enumerate(pictures):
            variation = spec.shot_number + index
            crop = 0.06 * (variation % 3)
            width, height = picture.size
            picture = picture.crop((int(width * crop), 0, int(width * (1 - crop / 2)), int(height * (1 - crop))))
            if variation % 2:
                picture = picture.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
            side = int(spec.height * (0.95 - 0.1 * (variation % 2)))
            picture.thumbnail((side, side))
            canvas.paste(picture, (index * spec.width // 2 + 10, (spec.height - picture.height) // 2))
        canvas.save(out, format="PNG")
        return ImageResult(path=out, width=spec.width, height=spec.height, backend=self.name, model=self.model)


PHOTO = BackendEntry("image", "photo", f"{__name__}:PhotoKeyframes", supports_reference=True)


def test_faces_are_measured_on_real_photographs_and_a_different_person_is_flagged(tmp_path, minilm):
    settings = Settings(
        projects_dir=tmp_path / "projects",
        target_seconds=12,
        max_review_rounds=1,
        render=RenderSettings(image_backend="photo", speech_backend="none", width=640),
        critic=CriticSettings(vision="off"),
    )
    backends = RenderBackends.from_settings(settings, registry=BACKENDS.with_backend(PHOTO))
    project = new_run(settings, premise=PREMISE)
    with open_context(settings, project, llm=crew(), embedding_function=minilm, backends=backends) as context:
        first = run_film(settings, project, context=context)
        agnes = next(c for c in first.film.characters if c.name == "Agnes")
        with_agnes = [shot.id for shot in first.film.shots() if shot.character_ids == [agnes.id]]
        showing_agnes = [shot.id for shot in first.film.shots() if agnes.id in shot.character_ids]
        assert len(with_agnes) >= 3, "the fake crew's film has Agnes alone in three shots or more"
        stranger, faceless = with_agnes[-1], with_agnes[-2]
        PhotoKeyframes.stand_ins = {stranger: photos.grace_hopper(), faceless: photos.coffee()}
        picture = tmp_path / "agnes.png"
        photos.astronaut().save(picture)
        stored = store_reference(project.root, "character", agnes.id, picture)
        reference = ReferenceImage(kind="character", owner_id=agnes.id, path=stored.path, palette=stored.palette)
        outcome = run_film(settings, project, context=context, feedback=Feedback(reference=reference))
    backends.close()
    PhotoKeyframes.stand_ins = {}
    assert outcome.finished, outcome.log
    review = json.loads(project.review_file.read_text())
    faces = {(r["shot_id"], r["character_id"]): r for r in review["consistency"]["shots"]}
    for shot_id in with_agnes[:-2]:
        assert faces[(shot_id, agnes.id)]["status"] == "consistent", faces[(shot_id, agnes.id)]
        assert faces[(shot_id, agnes.id)]["distance"] < 0.6
    assert faces[(stranger, agnes.id)]["status"] == "inconsistent" and faces[(stranger, agnes.id)]["distance"] > 0.6
    assert faces[(faceless, agnes.id)] == {**faces[(faceless, agnes.id)], "status": "no_face", "distance": None}
    summary = next(c for c in review["consistency"]["characters"] if c["character_id"] == agnes.id)
    assert summary["flagged"] == [stranger] and summary["no_face"] == 1
    assert summary["scored"] == len(showing_agnes) - 1 and 0 < summary["consistency"] < 1
    verdicts = {v["shot_id"]: v for v in review["verdicts"]}
    assert not verdicts[stranger]["passed"] and "Agnes's face is" in verdicts[stranger]["reasons"][-1]
    assert verdicts[stranger]["change"]["kind"] == "reference_weight"
    assert verdicts[stranger]["change"]["reference_weight"] == pytest.approx(0.8)
    assert verdicts[faceless]["passed"], "a shot without a face is reported, not failed"
    keyframe = np.asarray(Image.open(project.root / outcome.film.shot(stranger).take.keyframe))
    assert keyframe.shape == (360, 640, 3)

    shown = CliRunner().invoke(app, ["stats", project.film_id, "--projects-dir", str(settings.projects_dir)])
    assert shown.exit_code == 0, shown.output
    assert "Agnes" in shown.output and "film consistency" in shown.output and stranger in shown.output


def test_a_reference_weight_change_reaches_the_shot_its_spec_and_its_take_key(fake_crew_film):
    from agents.designer import apply_change
    from agents.specs import shot_spec
    from agents.state import Film, Review, ShotChange, ShotVerdict
    from agents.takes import take_hash
    from tools.render.animatic.clip import AnimaticVideoBackend
    from tools.render.animatic.keyframe import AnimaticImageBackend

    film = Film.model_validate_json((fake_crew_film.root / "film.json").read_text())
    shot = film.shots()[0]
    images, video = AnimaticImageBackend.from_settings(Settings()), AnimaticVideoBackend.from_settings(Settings())
    before = take_hash(shot_spec(film, shot), images, video)
    change = ShotChange(kind="reference_weight", reference_weight=0.8)
    review = Review(
        round=1, passed=False, verdicts=[ShotVerdict(shot_id=shot.id, passed=False, score=0.3, change=change)]
    )
    apply_change(shot, review, film.id, 1)
    assert shot.reference_weight == 0.8 and shot_spec(film, shot).reference_weight == 0.8
    assert take_hash(shot_spec(film, shot), images, video) != before, "a new weight is a new take"
    unchanged = next(other for other in film.shots()[1:] if other.dialogue is None)
    assert take_hash(shot_spec(film, unchanged), images, video) == unchanged.take.content_hash, "old keys stay valid"
