"""The shots' clips as the cut reads them: decoders opened when a shot plays, frames fitted to the film's size."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from moviepy import VideoClip, VideoFileClip
from PIL import Image

from tools.edit.plan import CutError, Slot


@dataclass(frozen=True)
class _ClipInfo:
    duration: float
    fps: float
    size: tuple[int, int]


class Reels:
    """Decoders for the shots, opened when a shot first plays and closed once the cut has moved past it.

    moviepy keeps an ffmpeg process per open clip; a long film would otherwise hold one for every shot. A clip
    is opened only when a segment that shows it is encoded: a clip that plays only in stored segments has the
    bytes those segments were made from. A clip that cannot be opened or decoded fails the cut by shot name.
    """

    def __init__(self, slots: list[Slot], size: tuple[int, int]) -> None:
        self._slots = slots
        self._size = size
        self._open: dict[int, tuple[VideoFileClip, _ClipInfo, Callable[[np.ndarray], np.ndarray]]] = {}

    def frame(self, index: int, t: float) -> np.ndarray:
        """Frame `t` seconds into shot `index`, holding the last frame if the clip runs short.

        Raises:
            CutError: the shot's clip is not a readable video.
        """
        source, info, fit = self._source(index)
        try:
            picture = source.get_frame(min(t, max(0.0, info.duration - 1.0 / info.fps)))
        except Exception as err:
            raise self._unreadable(index, err) from err
        return fit(picture)

    def clip(self, index: int, fps: int) -> VideoClip:
        """Shot `index` as a moviepy clip of its planned length, fitted to the frame."""
        slot = self._slots[index]
        return _LazyClip(lambda t: self.frame(index, t), self._size, (slot.end - slot.start) / fps)

    def close(self) -> None:
        while self._open:
            self._open.popitem()[1][0].close()

    def _source(self, index: int) -> tuple[VideoFileClip, _ClipInfo, Callable[[np.ndarray], np.ndarray]]:
        opened = self._open.get(index)
        if opened is not None:
            return opened
        start = self._slots[index].start
        for done in [i for i in self._open if self._slots[i].end <= start]:
            self._open.pop(done)[0].close()
        source = None
        try:
            source = VideoFileClip(str(self._slots[index].item.clip), audio=False)
            info = _ClipInfo(duration=float(source.duration), fps=float(source.fps), size=(source.w, source.h))
            if info.duration <= 0 or info.fps <= 0:
                raise ValueError(f"duration {info.duration} s at {info.fps} fps")
        except Exception as err:
            if source is not None:
                source.close()
            raise self._unreadable(index, err) from err
        opened = self._open[index] = (source, info, _fitter(info.size, self._size))
        return opened

    def _unreadable(self, index: int, error: Exception) -> CutError:
        item = self._slots[index].item
        return CutError(f"shot {item.shot_id}: clip {item.clip} is not a readable video ({error}); render it again")


class _LazyClip(VideoClip):
    """A clip that decodes nothing until played (moviepy's VideoClip reads frame 0 when built)."""

    def __init__(self, frame_function: Callable[[float], np.ndarray], size: tuple[int, int], duration: float) -> None:
        super().__init__(duration=duration)
        self.frame_function = frame_function
        self.size = size


def _fitter(src: tuple[int, int], dst: tuple[int, int]) -> Callable[[np.ndarray], np.ndarray]:
    """A frame mapper that scales to fit `dst` keeping the aspect ratio, padding with black bars."""
    if src == dst:
        return lambda frame: frame
    scale = min(dst[0] / src[0], dst[1] / src[1])
    inner = (max(1, round(src[0] * scale)), max(1, round(src[1] * scale)))
    offset = ((dst[0] - inner[0]) // 2, (dst[1] - inner[1]) // 2)

    def fit(frame: np.ndarray) -> np.ndarray:
        canvas = Image.new("RGB", dst)
        canvas.paste(Image.fromarray(frame[:, :, :3].astype(np.uint8)).resize(inner, Image.LANCZOS), offset)
        return np.asarray(canvas)

    return fit
