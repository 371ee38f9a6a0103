"""Probe tests against real files written and decoded by the bundled ffmpeg."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from clips import write_clip
from PIL import Image

from tools.edit.probe import (
    FROZEN_DIFF,
    ProbeError,
    inspect_frames,
    probe_image,
    probe_video,
    sample_frames,
)

W, H, FPS = 160, 90, 12


def solid(rgb: tuple[int, int, int], n: int) -> list[np.ndarray]:
    return [np.full((H, W, 3), rgb, np.uint8) for _ in range(n)]


def moving(n: int) -> list[np.ndarray]:
    """A diagonal gradient with a white bar whose x position encodes the frame index."""
    ys, xs = np.mgrid[0:H, 0:W]
    frames = []
    for i in range(n):
        frame = np.stack([(xs * 1.5 + i * 9) % 256, (ys * 2.5 + i * 5) % 256, (xs + ys) % 256], -1)
        frame[:, 4 + 6 * i : 8 + 6 * i] = 255
        frames.append(frame.astype(np.uint8))
    return frames


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("probe")
    noise = np.random.default_rng(7).integers(0, 256, (H, W, 3), dtype=np.uint8)
    return {
        "black": write_clip(root / "black.mp4", solid((0, 0, 0), 12)),
        "grey": write_clip(root / "grey.mp4", solid((128, 128, 128), 12)),
        "still_noise": write_clip(root / "still_noise.mp4", [noise] * 18),
        "moving": write_clip(root / "moving.mp4", moving(24)),
    }


def test_probe_video_reads_facts(clips: dict[str, Path]) -> None:
    facts = probe_video(clips["moving"])
    assert (facts.width, facts.height) == (W, H)
    assert facts.fps == pytest.approx(FPS)
    assert facts.num_frames == 24
    assert facts.duration == pytest.approx(2.0)
    assert facts.codec == "h264"
    assert facts.path == clips["moving"]


def test_probe_video_rejects_missing_and_non_video(tmp_path: Path) -> None:
    with pytest.raises(ProbeError, match="does not exist"):
        probe_video(tmp_path / "nope.mp4")
    fake = tmp_path / "notes.mp4"
    fake.write_text("INT. LIGHTHOUSE - NIGHT\nThis is a screenplay, not a film.\n")
    with pytest.raises(ProbeError, match="notes.mp4"):
        probe_video(fake)
    with pytest.raises(ProbeError):
        sample_frames(fake)


def test_sample_frames_are_evenly_spaced_rgb(clips: dict[str, Path]) -> None:
    frames = sample_frames(clips["moving"], count=4)
    assert len(frames) == 4
    assert all(f.shape == (H, W, 3) and f.dtype == np.uint8 for f in frames)
    bar_centres = [float(np.flatnonzero(f.mean(axis=(0, 2)) > 230).mean()) for f in frames]
    expected = [5.5 + 6 * i for i in np.linspace(0, 23, 4).round().astype(int)]
    assert bar_centres == pytest.approx(expected, abs=1.5)


def test_sample_frames_scale_down_and_cap_at_frame_count(clips: dict[str, Path]) -> None:
    small = sample_frames(clips["moving"], count=3, max_side=80)
    assert [f.shape for f in small] == [(45, 80, 3)] * 3
    assert len(sample_frames(clips["black"], count=50)) == 12
    with pytest.raises(ValueError):
        sample_frames(clips["black"], count=0)


@pytest.mark.parametrize(
    ("name", "black", "blank", "frozen"),
    [
        ("black", True, True, True),
        ("grey", False, True, True),
        ("still_noise", False, False, True),
        ("moving", False, False, False),
    ],
)
def test_inspect_frames_flags(clips: dict[str, Path], name: str, black: bool, blank: bool, frozen: bool) -> None:
    issues = inspect_frames(sample_frames(clips[name]))
    assert (issues.black, issues.blank, issues.frozen) == (black, blank, frozen)


def test_inspect_frames_measurements() -> None:
    grey = inspect_frames(solid((100, 100, 100), 3))
    assert grey.mean_luma == pytest.approx(100, abs=0.5)
    assert grey.min_std == pytest.approx(0)
    assert grey.max_frame_diff == 0
    fade_from_black = inspect_frames(solid((0, 0, 0), 1) + moving(7))
    assert not fade_from_black.black and fade_from_black.min_std == pytest.approx(0)
    single = inspect_frames(moving(1))
    assert not single.frozen
    assert inspect_frames(moving(4)).max_frame_diff > FROZEN_DIFF
    with pytest.raises(ValueError):
        inspect_frames([])


def test_probe_image(tmp_path: Path) -> None:
    png = tmp_path / "key.png"
    Image.new("RGB", (64, 48), (10, 20, 30)).save(png)
    assert probe_image(png) == (64, 48)
    bad = tmp_path / "key2.png"
    bad.write_bytes(b"not an image at all")
    with pytest.raises(ProbeError, match="key2.png"):
        probe_image(bad)
    with pytest.raises(ProbeError, match="does not exist"):
        probe_image(tmp_path / "missing.png")
