"""Faces found in a picture, each with dlib's 128-number descriptor of who it is.

dlib's models come from the `face-recognition-models` package. That package cannot be imported (it needs
`pkg_resources`, which modern setuptools no longer ships), so its folder is located without importing it.
Nothing is fetched at run time: a missing model is an error that names the package to install.
"""

from __future__ import annotations

import importlib.util
import math
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from pydantic import BaseModel

from tools.errors import DirectorError

FACE_MATCH_DISTANCE = 0.6
"""dlib's published threshold: two descriptors closer than this are taken as the same person."""

MAX_SIDE = 800
"""Pictures are scaled down to this longest side first: faces stay findable and detection stays fast."""

SMALL_SIDE = 720
"""Pictures whose longest side is at most this get one more level of upsampling, for faces in wide shots."""

MIN_DETECTION_SCORE = 0.3
"""Weaker detections are dropped: on real photographs they are badges, patterns and folds, not faces."""

MODELS_PACKAGE = "face-recognition-models"
DETECTOR_ADJUSTMENT = -0.5
SHAPE_PREDICTOR_FILE = "shape_predictor_5_face_landmarks.dat"
RECOGNISER_FILE = "dlib_face_recognition_resnet_model_v1.dat"
DESCRIPTOR_PLACES = 5


class FaceModelsMissingError(DirectorError):
    """dlib or its face models are not installed, so faces cannot be measured."""


class FaceFound(BaseModel):
    """One face in a picture: where it is and who it looks like."""

    box: tuple[int, int, int, int]
    """Left, top, right, bottom in the picture's own pixels."""
    descriptor: list[float]
    """128 numbers from dlib's ResNet; faces of one person lie within `FACE_MATCH_DISTANCE` of each other."""
    score: float = 0.0
    """The detector's confidence; higher is surer."""

    @property
    def area(self) -> int:
        left, top, right, bottom = self.box
        return max(0, right - left) * max(0, bottom - top)


def _package_models_folder() -> Path | None:
    """The `models/` folder of the installed `face_recognition_models` package, found without importing it."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "models"


def locate_face_models() -> Path:
    """The folder holding dlib's shape predictor and face recogniser.

    Raises:
        FaceModelsMissingError: the package or one of its model files is not there.
    """
    folder = _package_models_folder()
    if folder is None:
        raise FaceModelsMissingError(
            f"The face models are not installed, so faces cannot be compared: run `pip install {MODELS_PACKAGE}` "
            "in Director's environment."
        )
    missing = [name for name in (SHAPE_PREDICTOR_FILE, RECOGNISER_FILE) if not (folder / name).is_file()]
    if missing:
        raise FaceModelsMissingError(
            f"The face model file {', '.join(missing)} is missing from {folder}: reinstall it with "
            f"`pip install --force-reinstall {MODELS_PACKAGE}`."
        )
    return folder


def _import_dlib() -> Any:
    try:
        import dlib
    except ImportError as error:
        raise FaceModelsMissingError(
            "dlib is not installed, so faces cannot be compared: run `pip install dlib-bin` in Director's environment."
        ) from error
    return dlib


def _rgb_array(picture: Path | Image.Image | np.ndarray) -> np.ndarray:
    if isinstance(picture, (str, Path)):
        with Image.open(picture) as opened:
            return np.asarray(opened.convert("RGB"))
    if isinstance(picture, Image.Image):
        return np.asarray(picture.convert("RGB"))
    array = np.asarray(picture)
    if np.issubdtype(array.dtype, np.floating):
        array = np.clip(array * 255.0 if array.max(initial=0.0) <= 1.0 else array, 0, 255).round()
    array = array.astype(np.uint8, copy=False)
    if array.ndim == 2:
        array = np.stack([array] * 3, axis=-1)
    return array[..., :3]


def _working_copy(rgb: np.ndarray) -> tuple[np.ndarray, float]:
    """The picture at most `MAX_SIDE` on its longest side, and the factor from its pixels back to the original."""
    height, width = rgb.shape[:2]
    scale = min(1.0, MAX_SIDE / max(height, width))
    if scale < 1.0:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        rgb = np.asarray(Image.fromarray(rgb).resize(size, Image.Resampling.LANCZOS))
    return np.ascontiguousarray(rgb), 1.0 / scale


class FaceModels:
    """dlib's face detector, landmark finder and recogniser, loaded on first use and shared by threads.

    A run keeps one of these and passes it where faces are measured; nothing is loaded at import time.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._detector: Any = None
        self._shape_predictor: Any = None
        self._recogniser: Any = None

    def _load(self) -> None:
        if self._recogniser is not None:
            return
        folder = locate_face_models()
        dlib = _import_dlib()
        self._detector = dlib.get_frontal_face_detector()
        self._shape_predictor = dlib.shape_predictor(str(folder / SHAPE_PREDICTOR_FILE))
        self._recogniser = dlib.face_recognition_model_v1(str(folder / RECOGNISER_FILE))

    def faces(self, picture: Path | Image.Image | np.ndarray, *, upsample: int = 1) -> list[FaceFound]:
        """Every face dlib finds in `picture`, largest first.

        Args:
            picture: a file, a PIL image or an RGB (or grey) array.
            upsample: how many times the detector doubles the picture; each level finds faces half as small.
                Pictures no bigger than `SMALL_SIDE` get one level more.

        Raises:
            FaceModelsMissingError: dlib or its models are not installed.
        """
        rgb, to_original = _working_copy(_rgb_array(picture))
        levels = max(0, upsample) + (1 if max(rgb.shape[:2]) <= SMALL_SIDE else 0)
        height, width = rgb.shape[:2]
        with self._lock:
            self._load()
            boxes, scores, _ = self._detector.run(rgb, levels, DETECTOR_ADJUSTMENT)
            found: list[FaceFound] = []
            for box, score in zip(boxes, scores, strict=True):
                if score < MIN_DETECTION_SCORE:
                    continue
                shape = self._shape_predictor(rgb, box)
                descriptor = self._recogniser.compute_face_descriptor(rgb, shape)
                edges = (
                    max(0, box.left()),
                    max(0, box.top()),
                    min(width, box.right()),
                    min(height, box.bottom()),
                )
                found.append(
                    FaceFound(
                        box=tuple(round(edge * to_original) for edge in edges),  # type: ignore[arg-type]
                        descriptor=[round(float(value), DESCRIPTOR_PLACES) for value in descriptor],
                        score=round(float(score), 3),
                    )
                )
        return sorted(found, key=lambda face: face.area, reverse=True)


def face_distance(a: FaceFound | Sequence[float], b: FaceFound | Sequence[float]) -> float:
    """The Euclidean distance between two face descriptors, as dlib and `face_recognition` measure it."""
    first = a.descriptor if isinstance(a, FaceFound) else a
    second = b.descriptor if isinstance(b, FaceFound) else b
    if len(first) != len(second):
        raise ValueError(f"face descriptors differ in length ({len(first)} and {len(second)})")
    return math.sqrt(sum((x - y) ** 2 for x, y in zip(first, second, strict=True)))
