"""Reference images a filmmaker uploads for a character or a setting, checked and then stored by content.

Uploads are untrusted, so nothing is kept until its bytes decode as a picture of a sane size under a safe name.
"""

from __future__ import annotations

import colorsys
import hashlib
import io
import os
import re
import stat
import struct
import unicodedata
import warnings
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Literal

import numpy as np
from PIL import Image, UnidentifiedImageError
from pydantic import BaseModel, ConfigDict

from tools.errors import DirectorError
from tools.files import write_atomic

MAX_REFERENCE_BYTES = 20 * 1024 * 1024
MAX_REFERENCE_PIXELS = 40_000_000  # guard against decompression bombs
ALLOWED_FORMATS = {"PNG": ".png", "JPEG": ".jpg", "WEBP": ".webp", "GIF": ".gif", "BMP": ".bmp"}
MAX_NAME_LENGTH = 255
PALETTE_SIDE = 128
TRANSPARENT_BACKDROP = (128, 128, 128)
MIN_SATURATION = 0.25
MIN_VALUE = 0.15

_KINDS = ("character", "setting")
_OWNER_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
_HEX = re.compile(r"#[0-9a-fA-F]{6}")
_FORMAT_ALIASES = {"MPO": "JPEG"}  # phone cameras write multi-picture JPEGs, which Pillow names MPO
_FORMAT_NAMES = "PNG, JPEG, WebP, GIF or BMP"
_BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_DECODE_ERRORS = (OSError, SyntaxError, EOFError, ValueError, IndexError, TypeError, struct.error)


class ReferenceUploadError(
    DirectorError, ValueError
):  # the public name; it shadows Python's weakref ReferenceUploadError in this module
    """A reference upload that cannot be used; the message says what is wrong and what to do."""


class StoredReference(BaseModel):
    """A reference image kept in the project, with the facts an agent needs without opening it again."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str
    sha256: str
    original_name: str
    width: int
    height: int
    format: str
    palette: list[str]


def check_reference(source: Path, original_name: str | None = None) -> tuple[str, int, int]:
    """Decode an upload completely and say what it is, so that only usable pictures are ever stored.

    Args:
        source: the uploaded file on disk.
        original_name: the name the filmmaker's file had, if it differs from `source`'s; used in messages.

    Returns:
        The format (a key of `ALLOWED_FORMATS`), the width and the height in pixels.

    Raises:
        ReferenceUploadError: the name is a path trick, or the file is missing, a link, empty, too large, not an image
            in an allowed format, too many pixels, or damaged.
    """
    name = _display_name(source, original_name)
    return _inspect(_read_upload(source, name), name)


def store_reference(
    project_root: Path,
    kind: Literal["character", "setting"],
    owner_id: str,
    source: Path,
    original_name: str | None = None,
) -> StoredReference:
    """Check an upload and keep it under `references/<kind>s/<owner_id>/`, named by its content.

    The extension comes from the decoded format, never from the uploaded name, and the same bytes always land on
    the same path, so storing an image twice keeps one file.

    Raises:
        ReferenceUploadError: the upload fails `check_reference`, `kind` or `owner_id` is not usable, the project
            folder does not exist, or the destination would fall outside the project.
    """
    name = _display_name(source, original_name)
    if kind not in _KINDS:
        raise ReferenceUploadError(
            f"Cannot store {name}: {kind!r} is not a kind of reference; use 'character' or 'setting'."
        )
    if not isinstance(owner_id, str) or not _OWNER_ID.fullmatch(owner_id):
        raise ReferenceUploadError(
            f"Cannot store {name}: {owner_id!r} is not a {kind} id; ids are 1 to 64 lowercase letters, digits and "
            "hyphens starting with a letter or digit, such as 'mai' or 'old-harbour'."
        )
    if not project_root.is_dir():
        raise ReferenceUploadError(
            f"Cannot store {name}: the project folder {project_root} does not exist; open a project."
        )
    data = _read_upload(source, name)
    image_format, width, height = _inspect(data, name)
    digest = hashlib.sha256(data).hexdigest()
    root = project_root.resolve()
    folder = (root / "references" / f"{kind}s" / owner_id).resolve()
    if not folder.is_relative_to(root):
        raise ReferenceUploadError(
            f"Cannot store {name}: {folder} lies outside the project {root}; remove the link that leads there."
        )
    destination = folder / f"{digest[:16]}{ALLOWED_FORMATS[image_format]}"
    if not _holds(destination, digest):
        write_atomic(destination, data)
    return StoredReference(
        path=destination.relative_to(root).as_posix(),
        sha256=digest,
        original_name=name,
        width=width,
        height=height,
        format=image_format,
        palette=reference_palette(destination),
    )


def reference_palette(path: Path, colours: int = 5) -> list[str]:
    """Dominant colours of an image as '#rrggbb', most common first, for drawing a character or a set consistently.

    Transparent parts count as mid grey. The result is deterministic and has fewer than `colours` entries when the
    image has fewer distinct colours.

    Raises:
        ReferenceUploadError: the file cannot be decoded as an image.
        ValueError: `colours` is not between 1 and 256.
    """
    if not 1 <= colours <= 256:
        raise ValueError(f"colours ({colours}) must be between 1 and 256")
    try:
        with Image.open(path) as image:
            image.draft(None, (PALETTE_SIDE, PALETTE_SIDE))
            rgb = _to_rgb(image)
    except (Image.DecompressionBombError, *_DECODE_ERRORS) as err:
        raise ReferenceUploadError(f"{path.name} cannot be read as an image ({err}); store it again.") from err
    rgb.thumbnail((PALETTE_SIDE, PALETTE_SIDE), Image.Resampling.BOX)
    quantized = rgb.quantize(colors=colours, method=Image.Quantize.MEDIANCUT)
    entries = quantized.getpalette() or []
    counts: dict[str, int] = {}
    for count, index in quantized.getcolors(maxcolors=256) or []:
        red, green, blue = entries[3 * index : 3 * index + 3]
        hex_colour = f"#{red:02x}{green:02x}{blue:02x}"
        counts[hex_colour] = counts.get(hex_colour, 0) + count
    return sorted(counts, key=lambda hex_colour: (-counts[hex_colour], hex_colour))[:colours]


def dominant_vivid_colour(palette: list[str]) -> str:
    """The colour that stands for a character in an animatic: its most dominant colour that is not a grey.

    A colour qualifies with HSV saturation >= `MIN_SATURATION` and value >= `MIN_VALUE`; the saturation floor also
    rules out near-white, so bright pure colours such as '#ff0000' still qualify. Without one, the first entry.

    Raises:
        ReferenceUploadError: the palette is empty or holds something other than '#rrggbb'.
    """
    if not palette:
        raise ReferenceUploadError("The reference palette is empty; store a reference image for the character first.")
    for hex_colour in palette:
        if not isinstance(hex_colour, str) or not _HEX.fullmatch(hex_colour):
            raise ReferenceUploadError(f"{hex_colour!r} in the reference palette is not a colour like '#c03030'.")
        red, green, blue = (int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5))
        _, saturation, value = colorsys.rgb_to_hsv(red, green, blue)
        if saturation >= MIN_SATURATION and value >= MIN_VALUE:
            return hex_colour
    return palette[0]


def _display_name(source: Path, original_name: str | None) -> str:
    """The name to show people: the uploaded name once checked for path tricks, else the file's own name."""
    if original_name is None:
        return _clean_name(source.name)
    reason = _name_problem(original_name)
    if reason:
        shown = original_name if len(original_name) <= 60 else f"{original_name[:57]}..."
        raise ReferenceUploadError(
            f"The file name {shown!r} is not allowed: {reason}; rename the file to a plain name such as "
            "'mai.png' and upload it again."
        )
    return _clean_name(original_name)


def _name_problem(name: str) -> str | None:
    if not isinstance(name, str) or not name.strip():
        return "it is empty"
    if len(name) > MAX_NAME_LENGTH:
        return f"it is longer than {MAX_NAME_LENGTH} characters"
    if "/" in name or "\\" in name:
        return "it contains a folder separator"
    if any(unicodedata.category(char) == "Cc" for char in name):
        return "it contains control characters"
    if name in (".", "..") or name.startswith(".."):
        return "it refers to a folder above"
    if PurePosixPath(name).is_absolute() or PureWindowsPath(name).drive:
        return "it is an absolute path"
    return None


def _clean_name(name: str) -> str:
    """Strip what could disguise a name on screen (control and bidirectional characters); display only."""
    normalized = unicodedata.normalize("NFC", name)
    kept = "".join(char for char in normalized if char not in _BIDI_CONTROLS and unicodedata.category(char) != "Cc")
    kept = kept.encode("utf-8", "replace").decode("utf-8")  # a non-UTF-8 file name arrives with lone surrogates
    return kept.strip()[:MAX_NAME_LENGTH] or "the upload"


def _read_upload(source: Path, name: str) -> bytes:
    """The upload's bytes, read once, so that the checks and the stored copy see the same content."""
    try:
        info = source.lstat()
    except FileNotFoundError:
        raise ReferenceUploadError(f"{name} was not found; upload it again.") from None
    except OSError as err:
        raise ReferenceUploadError(f"{name} cannot be read ({err.strerror}); upload it again.") from err
    if stat.S_ISLNK(info.st_mode):
        raise ReferenceUploadError(f"{name} is a symbolic link, not a file; upload the image file itself.")
    if not stat.S_ISREG(info.st_mode):
        raise ReferenceUploadError(f"{name} is not a regular file (it is a folder or a device); upload an image file.")
    _check_size(name, info.st_size)
    try:
        descriptor = os.open(source, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0))
        with os.fdopen(descriptor, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                raise ReferenceUploadError(f"{name} changed while it was being read; upload it again.")
            data = handle.read(MAX_REFERENCE_BYTES + 1)
    except OSError as err:
        raise ReferenceUploadError(f"{name} cannot be read ({err.strerror}); upload it again.") from err
    _check_size(name, len(data))
    return data


def _check_size(name: str, size: int) -> None:
    if size == 0:
        raise ReferenceUploadError(f"{name} is empty (0 bytes); upload the image file itself.")
    if size > MAX_REFERENCE_BYTES:
        raise ReferenceUploadError(
            f"{name} is {_megabytes(size)}; references must be at most {_megabytes(MAX_REFERENCE_BYTES)} — "
            "export a smaller image."
        )


def _megabytes(size: int) -> str:
    value = size / 2**20
    text = f"{value:.1f}" if value >= 0.1 else f"{value:.2g}"
    return f"{text.removesuffix('.0')} MB"


def _inspect(data: bytes, name: str) -> tuple[str, int, int]:
    """Identify the format from the content, refuse bombs by their declared size, then verify and fully decode."""
    not_an_image = ReferenceUploadError(
        f"{name} is not an image ({_FORMAT_NAMES}); upload a picture of the character or the setting."
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=list(ALLOWED_FORMATS)) as image:
                image_format = _FORMAT_ALIASES.get(image.format or "", image.format or "")
                width, height = image.size
    except UnidentifiedImageError:
        raise not_an_image from None
    except Image.DecompressionBombError:
        raise ReferenceUploadError(_too_many_pixels(name)) from None
    except _DECODE_ERRORS as err:
        raise ReferenceUploadError(_damaged(name, "an image", err)) from err
    if image_format not in ALLOWED_FORMATS:
        raise not_an_image
    if width * height > MAX_REFERENCE_PIXELS:
        raise ReferenceUploadError(_too_many_pixels(name, width, height))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=list(ALLOWED_FORMATS)) as image:
                image.verify()
            with Image.open(io.BytesIO(data), formats=list(ALLOWED_FORMATS)) as image:
                image.load()
    except (Image.DecompressionBombError, *_DECODE_ERRORS) as err:
        raise ReferenceUploadError(_damaged(name, f"a {image_format}", err)) from err
    return image_format, width, height


def _too_many_pixels(name: str, width: int | None = None, height: int | None = None) -> str:
    size = f"{width}×{height} pixels ({width * height / 1e6:g} megapixels)" if width and height else "enormous"
    return (
        f"{name} is {size}; references must be at most {MAX_REFERENCE_PIXELS / 1e6:g} megapixels — "
        "scale it down and upload it again."
    )


def _damaged(name: str, what: str, err: BaseException) -> str:
    return (
        f"{name} looks like {what} but cannot be decoded; it may be truncated or damaged ({err}) — "
        "export it again and upload the new file."
    )


def _holds(path: Path, digest: str) -> bool:
    """Whether `path` is already a regular file with exactly these bytes (a link or a damaged copy is replaced)."""
    try:
        if not stat.S_ISREG(path.lstat().st_mode):
            return False
        return hashlib.sha256(path.read_bytes()).hexdigest() == digest
    except OSError:
        return False


def _to_rgb(image: Image.Image) -> Image.Image:
    """The first frame as 8-bit RGB, with transparency laid over mid grey and 16-bit greys scaled, not clipped."""
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        levels = np.asarray(image, dtype=np.float64)
        peak = 65535.0 if levels.size and levels.max() > 255 else 255.0
        image = Image.fromarray(np.clip(levels / peak * 255, 0, 255).round().astype(np.uint8), "L")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info:
        backdrop = Image.new("RGBA", image.size, (*TRANSPARENT_BACKDROP, 255))
        return Image.alpha_composite(backdrop, image.convert("RGBA")).convert("RGB")
    return image.convert("RGB")
