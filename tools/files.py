"""Files written whole or not at all, and the hashes that name them.

A killed process never leaves half a file: every writer goes through `open_atomic`, `write_atomic` or
`atomic_path` (for tools such as ffmpeg and Pillow that write a path themselves).
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

from tools.errors import DirectorError

DISK_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
_DISK_FULL_WORDS = {errno.ENOSPC: os.strerror(errno.ENOSPC), errno.EDQUOT: os.strerror(errno.EDQUOT)}
"""What a tool such as ffmpeg prints when the disk is full."""


class DiskFullError(DirectorError, OSError):
    """The disk under the project is full: nothing finished is lost, and the run resumes once there is room."""


def disk_full(error: BaseException, folder: Path) -> DiskFullError | None:
    """`error` as a `DiskFullError` naming the folder and its free space, if it or what caused it says so.

    A backend wraps what went wrong in its own error (`BackendError("cannot read keyframe …") from error`); a
    full disk under it is still a full disk, so the chain of causes is followed.
    """
    seen: set[int] = set()
    while error is not None and id(error) not in seen and not (isinstance(error, OSError) and error.errno in DISK_FULL):
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    if error is None or id(error) in seen:
        return None
    if isinstance(error, DiskFullError):
        return error
    try:
        free = f"{shutil.disk_usage(folder).free / 1e6:.1f} MB free"
    except OSError:
        free = "free space unknown"
    return DiskFullError(error.errno, f"the disk holding {folder} is full ({free}): free some space, then resume")


def disk_full_in(words: str, folder: Path) -> DiskFullError | None:
    """A tool's own words (ffmpeg's last lines, say) as a `DiskFullError` when they say the disk is full."""
    said = next((errno_ for errno_, text in _DISK_FULL_WORDS.items() if text in words), None)
    return disk_full(OSError(said, words), folder) if said is not None else None


def sha256_of(path: Path) -> str:
    """The file's SHA-256, hex: what a take records of each of its files, to notice one that was damaged."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write through a temporary file and rename, so a killed process never leaves half a file."""
    with open_atomic(path) as handle:
        handle.write(data.encode("utf-8") if isinstance(data, str) else data)


@contextmanager
def open_atomic(path: Path) -> Iterator[BinaryIO]:
    """A binary file that appears at `path` only if the `with` block ends without an exception.

    For files too large to hold in memory (`write_atomic` takes the whole content): the block writes to a
    temporary file beside `path`, which is synced and renamed over `path` on success and removed otherwise.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o644)
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temporary path beside `path`, with its suffix, renamed over `path` if the block ends without error.

    For writers that take a file name (ffmpeg, Pillow, OpenTimelineIO) and pick the format from its suffix.
    The temporary file is removed when the block fails, and left for the writer to create: it does not exist
    when the block starts.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}")
    os.close(fd)
    temp = Path(name)
    temp.unlink()
    try:
        yield temp
        os.chmod(temp, 0o644)
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def content_key(value: Any) -> str:
    """The SHA-256 of `value` as JSON with sorted keys: the same content always gives the same key.

    Take keys have been made this way since the first film, so changing the JSON would re-render every take.
    """
    text = json.dumps(value, sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
