"""The cut's filter graph and overlays, on their own: what a stretch of the film is made of, and where strips sit.

The films these graphs make are checked frame by frame in `tests/test_cut.py` and `tests/test_segments.py`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tools.edit.filter_graph import run_graph
from tools.edit.overlays import on_even_grid
from tools.edit.plan import CutItem, CutPlan, Slot, frame_layout

SIZE, FPS = (160, 90), 12


def slots(*scenes: int) -> list[Slot]:
    items = [
        CutItem(shot_id=f"s{n}", scene_number=scene, clip=Path(f"/clips/{n}.mp4"), duration=1.0)
        for n, scene in enumerate(scenes)
    ]
    plan = CutPlan(title="T", width=SIZE[0], height=SIZE[1], fps=FPS, items=items, title_seconds=0.0)
    return frame_layout(plan)[1]


def graph_text(arguments: list[str]) -> str:
    return arguments[arguments.index("-filter_complex") + 1]


def test_hard_cuts_concat_and_scene_changes_cross_fade() -> None:
    placed = slots(1, 1, 2)
    graph = run_graph(0, placed[-1].end, placed, SIZE, FPS)
    text = graph_text(graph.arguments)
    assert graph.slots == (0, 1, 2)
    assert "[shot1]split=2[shot1_12][shot1_18]" in text, "s1 plays alone from 12, then fades out from 18"
    assert "[shot1_18]trim=start_frame=6:end_frame=12" in text
    assert "[shot1_18t][shot2_18t]xfade=transition=fade:duration=0.5:offset=0,format=yuv420p," in text
    assert "[shot0][shot1_12t][fade2][shot2_24t]concat=n=4:v=1:a=0" in text


def test_a_stretch_inside_one_shot_reads_only_that_clip() -> None:
    placed = slots(1, 1, 2)
    graph = run_graph(13, 17, placed, SIZE, FPS)
    assert graph.slots == (1,)
    assert graph.arguments.count("-i") == 1
    assert "trim=start_frame=1:end_frame=5" in graph_text(graph.arguments)


def test_layers_that_do_not_tile_the_stretch_are_refused() -> None:
    placed = slots(1, 2)
    gap = [placed[0], Slot(placed[1].item, start=14, end=26, fade_in=0, cue_start=14, cue_end=26)]
    with pytest.raises(ValueError, match="0 layers play at frames 12-14"):
        run_graph(0, 26, gap, SIZE, FPS)
    with pytest.raises(ValueError, match="0 layers play at frames 0-6"):
        run_graph(0, 12, placed[1:], SIZE, FPS)
    cut_in = [placed[0], Slot(placed[1].item, start=10, end=22, fade_in=0, cue_start=10, cue_end=22)]
    with pytest.raises(ValueError, match="shot1 overlaps shot0 at frames 10-12 without a fade"):
        run_graph(0, 22, cut_in, SIZE, FPS)


@pytest.mark.parametrize("position", [(3, 5), (4, 5), (3, 6), (4, 6)])
def test_an_overlay_at_an_odd_place_is_moved_onto_the_chroma_grid_without_moving_on_screen(
    position: tuple[int, int],
) -> None:
    strip = Image.new("RGBA", (7, 3), (10, 20, 30, 170))
    moved, (x, y) = on_even_grid(strip, position)
    assert x % 2 == 0 and y % 2 == 0
    screen = Image.new("RGBA", (20, 20), (0, 0, 0, 0))
    screen.alpha_composite(moved, (x, y))
    expected = Image.new("RGBA", (20, 20), (0, 0, 0, 0))
    expected.alpha_composite(strip, position)
    assert np.array_equal(np.asarray(screen), np.asarray(expected))
