"""Real photographs for the tests that look at pictures, from the libraries that bundle them (no downloads).

- `astronaut()`: Eileen Collins, NASA portrait (scikit-image's sample data, public domain).
- `grace_hopper()`: Grace Hopper, U.S. Navy portrait (matplotlib's sample data, public domain): another person.
- `cat()`: Chelsea the cat (scikit-image): no human face.
- `coffee()`: a cup of coffee (scikit-image): no face, a warm palette.
"""

from __future__ import annotations

import matplotlib.cbook
import skimage.data
from PIL import Image


def astronaut() -> Image.Image:
    return Image.fromarray(skimage.data.astronaut()).convert("RGB")


def grace_hopper() -> Image.Image:
    with Image.open(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)) as opened:
        return opened.convert("RGB")


def cat() -> Image.Image:
    return Image.fromarray(skimage.data.chelsea()).convert("RGB")


def coffee() -> Image.Image:
    return Image.fromarray(skimage.data.coffee()).convert("RGB")
