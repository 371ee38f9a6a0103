"""Encoded pieces of a cut, kept under the content key of what they show, so a recut encodes only what changed.

A segment is a run of the film's frames encoded on its own, with the same H.264 settings as every other
segment: each starts on an IDR frame and carries the same SPS and PPS, so ffmpeg's concat demuxer can join
segments by stream copy into a valid film. Every stored file has a sidecar with its SHA-256 and size, written
after the file itself; a file whose sidecar is missing or whose bytes no longer match is made again, never
trusted.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import subprocess
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import imageio_ffmpeg

from tools.files import atomic_path, disk_full_in, sha256_of, write_atomic

SEGMENT_FORMAT = 1
"""Bump when what a stored file holds for a given key changes (encoder arguments, mixing); the picture's
compositing has its own version in the segment keys (`tools.edit.filter_graph.COMPOSITOR`)."""
X264_PRESET = "veryfast"
X264_CRF = 23
X264_THREADS = 2
FFMPEG_TIMEOUT_S = 600.0

_ENTRY = re.compile(r"^[0-9a-f]{64}\.(?:mp4|m4a|mix\.json|(?:dialogue|music|ambience)\.wav)(?:\.json)?$")
_PARTIAL = re.compile(r"^\..*\.(?:partial\.[a-z0-9]+|tmp|tmp\.[a-z0-9]+)$")


class SegmentError(RuntimeError):
    """ffmpeg could not encode, mix or join a segment; the message carries its own words."""


@dataclass(frozen=True)
class Encoding:
    """The H.264 settings every segment of one film shares, so that joining them by stream copy is valid."""

    width: int
    height: int
    fps: int
    preset: str = X264_PRESET
    crf: int = X264_CRF
    threads: int = X264_THREADS

    @property
    def timescale(self) -> int:
        """The MP4 track's ticks per second: a whole number of ticks per frame, the same in every segment."""
        return self.fps * 1000

    def arguments(self) -> list[str]:
        """The encoder's output arguments: fixed profile and pixel format; forced key frames are IDR frames."""
        return [
            *("-an", "-c:v", "libx264", "-preset", self.preset, "-crf", str(self.crf)),
            *("-profile:v", "high", "-pix_fmt", "yuv420p", "-forced-idr", "1", "-threads", str(self.threads)),
        ]

    def fingerprint(self) -> dict[str, object]:
        """Everything about the encoder that a segment's bytes depend on, for its content key."""
        return {
            "format": SEGMENT_FORMAT,
            "ffmpeg": imageio_ffmpeg.get_ffmpeg_version(),
            "size": [self.width, self.height],
            "fps": self.fps,
            "arguments": self.arguments(),
            "muxer": ["segment", "mp4", self.timescale],
        }


def mp4_sample_count(path: Path) -> int | None:
    """How many frames a one-track MP4 holds, from its sample size box; None if the file has no such box."""
    data = path.read_bytes()
    start, end = 0, len(data)
    for name in (b"moov", b"trak", b"mdia", b"minf", b"stbl", b"stsz"):
        found = next(((body, stop) for kind, body, stop in _mp4_boxes(data, start, end) if kind == name), None)
        if found is None:
            return None
        start, end = found
    return int.from_bytes(data[start + 8 : start + 12], "big") if end >= start + 12 else None


def _mp4_boxes(data: bytes, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """The boxes in `data[start:end]`: each box's type, where its body starts and where it ends."""
    while start + 8 <= end:
        size, kind, body = int.from_bytes(data[start : start + 4], "big"), data[start + 4 : start + 8], start + 8
        if size == 1 and start + 16 <= end:
            size, body = int.from_bytes(data[start + 8 : start + 16], "big"), start + 16
        elif size == 0:
            size = end - start
        if size < body - start or start + size > end:
            return
        yield kind, body, start + size
        start += size


def encode_segments(
    store: SegmentStore, segments: Sequence[tuple[str, int]], encoding: Encoding, source: Sequence[str]
) -> list[Path]:
    """Encode consecutive segments, given as (key, frames), in one ffmpeg run, and store each under its key.

    `source` is the ffmpeg arguments that make the run's frames: its inputs, a filter graph and the `-map` of
    the picture (`tools.edit.filter_graph`). One x264 run splits into segment files at IDR frames forced at
    their first frames (ffmpeg's segment muxer), so encoding many short segments costs what encoding them as
    one film would.

    Raises:
        SegmentError: ffmpeg failed or ran over its time, or a segment came out with other than its frames.
    """
    if not segments or any(frames < 1 for _, frames in segments):
        raise ValueError(f"a segment run needs segments of at least one frame, got {segments}")
    stem = f".{uuid.uuid4().hex[:12]}"
    pattern = store.folder / f"{stem}-%04d.partial.mp4"
    temps = [store.folder / f"{stem}-{n:04d}.partial.mp4" for n in range(len(segments))]
    starts = list(itertools.accumulate(frames for _, frames in segments))
    forced = ["-force_key_frames", "expr:" + "+".join(f"eq(n,{n})" for n in starts[:-1])] if len(starts) > 1 else []
    command = [
        imageio_ffmpeg.get_ffmpeg_exe(),
        *("-hide_banner", "-nostdin", "-nostats", "-v", "error", "-y"),
        *source,
        *encoding.arguments(),
        *("-fps_mode", "passthrough", *forced),
        *("-f", "segment", "-segment_format", "mp4", "-reset_timestamps", "1"),
        *("-segment_format_options", f"video_track_timescale={encoding.timescale}"),
        *("-segment_frames", ",".join(str(n) for n in starts)),
        str(pattern),
    ]
    frames = sum(frames for _, frames in segments)
    try:
        run_ffmpeg(command, f"encoding {len(segments)} segments of {frames} frames")
        for temp, (key, wanted) in zip(temps, segments, strict=True):
            found = mp4_sample_count(temp) if temp.is_file() else None
            if found != wanted:
                raise SegmentError(f"segment {key[:12]} came out with {found} frames instead of {wanted}")
        return [
            store.commit(temp, key, ".mp4", frames=wanted) for temp, (key, wanted) in zip(temps, segments, strict=True)
        ]
    finally:
        for leftover in store.folder.glob(pattern.name.replace("%04d", "*")):
            leftover.unlink(missing_ok=True)


class SegmentStore:
    """A folder of segments and mixed sound tracks, each named by its content key, with SHA-256 sidecars."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)

    def path(self, key: str, suffix: str = ".mp4") -> Path:
        return self.folder / f"{key}{suffix}"

    @staticmethod
    def sidecar(path: Path) -> Path:
        """Where the digest of `path` is recorded."""
        return path.with_name(path.name + ".json")

    def temp_path(self, suffix: str) -> Path:
        """A hidden, unique name in the folder; `prune` removes any left by a killed process."""
        return self.folder / f".{uuid.uuid4().hex[:12]}.partial{suffix}"

    def trusted(self, key: str, suffix: str = ".mp4", frames: int | None = None) -> bool:
        """Whether the stored file for `key` exists and its bytes are the ones its sidecar recorded.

        An untrusted file and its sidecar are removed, so the caller makes them again.
        """
        path = self.path(key, suffix)
        sidecar = self.sidecar(path)
        try:
            record = json.loads(sidecar.read_text(encoding="utf-8"))
            good = (
                record.get("key") == key
                and record.get("file") == path.name
                and record.get("bytes") == path.stat().st_size
                and (frames is None or record.get("frames") == frames)
                and record.get("sha256") == sha256_of(path)
            )
        except (OSError, ValueError, AttributeError):
            good = False
        if not good:
            path.unlink(missing_ok=True)
            sidecar.unlink(missing_ok=True)
        return good

    def commit(self, temp: Path, key: str, suffix: str, frames: int | None = None) -> Path:
        """Move a finished temporary file into place under `key`, then record its digest beside it.

        ffmpeg's segment muxer names the files of a run itself, so they are renamed here rather than written
        through `tools.files.atomic_path`; a file without its sidecar is never trusted.
        """
        final = self.path(key, suffix)
        os.replace(temp, final)
        self._record(final, key, frames)
        return final

    def _record(self, final: Path, key: str, frames: int | None = None) -> None:
        """Write the sidecar of a stored file: its key, name, size, digest and, for a segment, its frames."""
        record = {"key": key, "file": final.name, "bytes": final.stat().st_size, "sha256": sha256_of(final)}
        if frames is not None:
            record["frames"] = frames
        write_atomic(self.sidecar(final), json.dumps(record, indent=1) + "\n")

    def sound(self, key: str, make: Callable[[Path], None]) -> tuple[Path, bool]:
        """The stored track for `key`, made by `make(temporary_path)` unless a trusted one is there.

        Returns the track's path and whether it was reused.
        """
        final = self.path(key, ".m4a")
        if self.trusted(key, ".m4a"):
            return final, True
        with atomic_path(final) as temp:
            make(temp)
        self._record(final, key)
        return final, False

    def join(self, keys: Sequence[str], out: Path, sound: Path | None, output_arguments: Iterable[str]) -> None:
        """Join the segments `keys`, in order, into `out` by stream copy, with `sound` as its audio if given.

        Raises:
            SegmentError: ffmpeg could not join them.
        """
        listing = self.temp_path(".ffconcat")
        listing.write_text(
            "ffconcat version 1.0\n" + "".join(f"file {self.path(key).name}\n" for key in keys), encoding="utf-8"
        )
        command = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "error", "-y"]
        command += ["-f", "concat", "-i", str(listing)]
        if sound is not None:
            command += ["-i", str(sound)]
        command += ["-map", "0:v:0", *(["-map", "1:a:0"] if sound is not None else []), "-c", "copy"]
        command += [*output_arguments, str(out)]
        try:
            run_ffmpeg(command, f"joining {len(keys)} segments into {out.name}")
        finally:
            listing.unlink(missing_ok=True)

    def prune(self, keep: set[str]) -> int:
        """Remove stored files whose key is not in `keep`, and partial files and folders; returns how many went."""
        removed = 0
        for entry in self.folder.iterdir():
            name = entry.name
            stale = (_ENTRY.match(name) and name.split(".", 1)[0] not in keep) or _PARTIAL.match(name)
            if stale and entry.is_file():
                entry.unlink(missing_ok=True)
                removed += 1
            elif _PARTIAL.match(name) and entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
                removed += 1
        return removed


def run_ffmpeg(command: list[str], what: str) -> None:
    """Run an ffmpeg command to completion.

    Raises:
        DiskFullError: the disk under its output (the command's last argument) filled up.
        SegmentError: it failed otherwise or ran over the time limit, with ffmpeg's last words.
    """
    try:
        done = subprocess.run(command, capture_output=True, timeout=FFMPEG_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired as err:
        raise SegmentError(f"ffmpeg took over {FFMPEG_TIMEOUT_S:.0f} s {what}") from err
    if done.returncode != 0:
        text = done.stderr.decode("utf-8", errors="replace").strip() or "no message"
        full = disk_full_in(text, Path(command[-1]).parent)
        if full is not None:
            raise full
        raise SegmentError(f"ffmpeg failed {what}: {text[-800:]}")
