"""Scene continuity of light and colour, on real photographs and on pictures made to known colours."""

from __future__ import annotations

import numpy as np
import pytest
from photos import astronaut, cat, coffee
from PIL import Image

from tools.look.continuity import (
    COLOUR_JUMP,
    LUMA_JUMP,
    PAIR_FACTOR,
    PictureLook,
    ShotLook,
    picture_look,
    scene_continuity,
    srgb_to_lab,
)


def night(picture: Image.Image) -> Image.Image:
    """A day-for-night grade: a third of the light, pushed to blue."""
    array = np.asarray(picture).astype(np.float64) * 0.35 * np.array([0.8, 0.9, 1.25])
    return Image.fromarray(array.clip(0, 255).astype(np.uint8))


def graded(picture: Image.Image, gains: tuple[float, float, float]) -> Image.Image:
    array = np.asarray(picture).astype(np.float64) * np.array(gains)
    return Image.fromarray(array.clip(0, 255).astype(np.uint8))


def looks(scene_id: str, pictures: list[Image.Image]) -> list[ShotLook]:
    return [
        ShotLook(shot_id=f"{scene_id}.{index}", scene_id=scene_id, look=picture_look(picture))
        for index, picture in enumerate(pictures, start=1)
    ]


@pytest.mark.parametrize(
    ("rgb", "lab"),
    [
        ((255, 255, 255), (100.0, 0.0, 0.0)),
        ((0, 0, 0), (0.0, 0.0, 0.0)),
        ((255, 0, 0), (53.24, 80.09, 67.20)),
        ((0, 255, 0), (87.73, -86.18, 83.18)),
        ((0, 0, 255), (32.30, 79.19, -107.86)),
        ((128, 128, 128), (53.59, 0.0, 0.0)),
    ],
)
def test_srgb_to_lab_gives_the_published_values(rgb: tuple[int, int, int], lab: tuple[float, float, float]) -> None:
    assert srgb_to_lab(np.array(rgb)) == pytest.approx(lab, abs=0.02)


def test_srgb_to_lab_agrees_with_scikit_image_on_a_real_photograph() -> None:
    from skimage.color import rgb2lab

    pixels = np.asarray(coffee())[::8, ::8]
    assert np.abs(srgb_to_lab(pixels) - rgb2lab(pixels)).max() < 0.02


def test_picture_look_reads_flat_colours() -> None:
    red = picture_look(Image.new("RGB", (640, 360), (255, 0, 0)))
    assert red.luma == pytest.approx(0.2126 * 255, abs=0.01)
    assert (red.a, red.b) == pytest.approx((80.09, 67.20), abs=0.02)
    assert red.hue_angle == pytest.approx(40.0, abs=0.1) and red.chroma == pytest.approx(104.55, abs=0.05)
    grey = picture_look(np.full((90, 160, 3), 128, dtype=np.uint8))
    assert grey.luma == pytest.approx(128) and grey.chroma == pytest.approx(0, abs=0.01)


def test_a_night_shot_cut_into_a_day_scene_is_flagged() -> None:
    for day in (astronaut(), coffee(), cat()):
        width, height = day.size
        shots = looks(
            "2", [day, day.crop((0, 0, width // 2, height)), night(day), day.crop((width // 2, 0, width, height))]
        )
        flags = scene_continuity(shots)
        assert [flag.shot_id for flag in flags] == ["2.3"], flags
        assert flags[0].luma_jump < -LUMA_JUMP
        assert flags[0].reason.startswith("shot 2.3 is much darker than the rest of scene 2 (luma ")


def test_close_ups_and_wides_of_the_same_place_are_not_flagged() -> None:
    for day in (astronaut(), coffee(), cat()):
        width, height = day.size
        close_up = day.crop((width // 4, height // 4, 3 * width // 4, 3 * height // 4)).resize((width, height))
        shots = looks(
            "1", [day, close_up, day.crop((0, 0, width // 2, height)), day.crop((width // 2, 0, width, height))]
        )
        assert scene_continuity(shots) == []


def test_a_colour_cast_alone_is_flagged_with_its_direction() -> None:
    day = coffee()
    width, height = day.size
    teal = graded(day, (0.7, 1.0, 1.15))
    shots = looks("3", [day, day.crop((0, 0, width // 2, height)), teal, day.crop((width // 2, 0, width, height))])
    flags = scene_continuity(shots)
    assert [flag.shot_id for flag in flags] == ["3.3"]
    assert abs(flags[0].luma_jump) <= LUMA_JUMP and flags[0].colour_jump > COLOUR_JUMP
    assert (
        f"is greener and bluer than the rest of scene 3 (colour shift {flags[0].colour_jump:.0f} ΔE)" in flags[0].reason
        and "brighter" not in flags[0].reason
    )


def test_two_shot_scenes_need_both_a_large_light_and_colour_change() -> None:
    day = coffee()
    assert [flag.shot_id for flag in scene_continuity(looks("5", [day, night(day)]))] == ["5.2"]
    darker_only = graded(day, (0.45, 0.45, 0.45))
    pair = looks("6", [day, darker_only])
    assert abs(pair[1].look.luma - pair[0].look.luma) > LUMA_JUMP  # a scene of three would flag it
    assert abs(pair[1].look.luma - pair[0].look.luma) < LUMA_JUMP * PAIR_FACTOR or (
        np.hypot(pair[1].look.a - pair[0].look.a, pair[1].look.b - pair[0].look.b) < COLOUR_JUMP * PAIR_FACTOR
    )
    assert scene_continuity(pair) == []
    trio = looks("7", [day, day, darker_only])
    assert [flag.shot_id for flag in scene_continuity(trio)] == ["7.3"]


def test_scenes_are_judged_apart_and_flags_come_in_film_order() -> None:
    day, dark = PictureLook(luma=150, a=5, b=20), PictureLook(luma=40, a=2, b=-15)
    shots = [
        ShotLook(shot_id="1.1", scene_id="1", look=day),
        ShotLook(shot_id="2.1", scene_id="2", look=dark),
        ShotLook(shot_id="1.2", scene_id="1", look=day),
        ShotLook(shot_id="2.2", scene_id="2", look=dark),
        ShotLook(shot_id="1.3", scene_id="1", look=dark),
        ShotLook(shot_id="2.3", scene_id="2", look=day),
        ShotLook(shot_id="3.1", scene_id="3", look=dark),
    ]
    flags = scene_continuity(shots)
    assert [flag.shot_id for flag in flags] == ["1.3", "2.3"]
    assert flags[1].reason == (
        "shot 2.3 is much brighter than the rest of scene 2 (luma 150 vs 40) and warmer than the rest of scene 2 "
        "(colour shift 35 ΔE)"
    )
    assert flags[1].luma_jump == 110 and flags[1].colour_jump == pytest.approx(35.1, abs=0.05)
