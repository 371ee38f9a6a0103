"""Writing small synthetic clips for media tests, with the ffmpeg that imageio-ffmpeg ships."""

from __future__ import annotations

from pathlib import Path

import imageio_ffmpeg
import numpy as np


def write_clip(path: Path, frames: list[np.ndarray], fps: int = 12) -> Path:
    height, width = frames[0].shape[:2]
    writer = imageio_ffmpeg.write_frames(
        str(path), (width, height), fps=fps, macro_block_size=2, ffmpeg_log_level="error"
    )
    writer.send(None)
    for frame in frames:
        writer.send(np.ascontiguousarray(frame, dtype=np.uint8))
    writer.close()
    return path
