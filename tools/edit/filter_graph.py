"""A stretch of the film as one ffmpeg filter graph: the title card, the shots, their cross-fades and subtitles.

ffmpeg composes the picture itself, so no frame passes through Python. The film's frames `[start, end)` are
laid out as in `tools.edit.plan.frame_layout`: the title card (a PNG held for its frames), then each shot
(`tools.edit.reels`), joined by `concat`; where a scene change overlaps two shots, their overlapping frames
are cross-faded by `xfade` first. In a cross-fade of `F` frames the incoming shot's `k`-th frame weighs
`k / F` against the outgoing one, so its first frame is still all outgoing shot. The subtitle strips, drawn
once as PNGs (`tools.edit.overlays`), are laid over the result, each with `overlay` enabled for its cue's
frames only.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tools.edit.plan import Slot
from tools.edit.reels import FILM_COLOURS, clip_input, frame_clock, shot_chain

COMPOSITOR = 2
"""Bump when how a segment's frames are composed changes (1 was moviepy compositing NumPy frames)."""
UNTAGGED = "setparams=range=unknown:color_primaries=unknown:color_trc=unknown:colorspace=unknown"
"""The film's frames carry no colour tags, as when they were composed as RGB: BT.601 limited range is implied."""


@dataclass(frozen=True)
class Overlay:
    """A picture laid over the film: its PNG, where its top-left corner sits, and the film frames it shows on."""

    path: Path
    x: int
    y: int
    start: int
    end: int


@dataclass(frozen=True)
class RunGraph:
    """The ffmpeg arguments that produce a stretch of the film, before any output option, and the shots read."""

    arguments: list[str]
    slots: tuple[int, ...]


@dataclass(frozen=True)
class _Piece:
    """One layer of the stretch that plays full frame: the title or a shot, in film frames `[start, end)`."""

    start: int
    end: int
    label: str
    fade_in: int


def run_graph(
    start: int,
    end: int,
    slots: Sequence[Slot],
    size: tuple[int, int],
    fps: int,
    title: tuple[Path, int] | None = None,
    overlays: Sequence[Overlay] = (),
) -> RunGraph:
    """The inputs and filter graph for film frames `[start, end)`.

    Args:
        start: the first film frame of the stretch.
        end: the film frame after its last.
        slots: every shot of the film, placed on the frame grid.
        size: the film's width and height.
        fps: the film's frame rate.
        title: the title card's PNG and how many frames it plays from the film's start, if it has one.
        overlays: the subtitle strips of the film; those outside the stretch are left out.

    Raises:
        ValueError: the layers do not tile the stretch (a gap, or an overlap that is not a cross-fade).
    """
    inputs: list[list[str]] = []
    chains: list[str] = []
    pieces: list[_Piece] = []

    def opened(arguments: list[str]) -> int:
        """Add an input; returns its index, which names its streams in the graph."""
        inputs.append(arguments)
        return len(inputs) - 1

    if title is not None and title[1] > start:
        frames = min(title[1], end) - start
        source = opened(["-framerate", str(fps), "-i", str(title[0])])
        held = f"loop=loop={frames - 1}:size=1,{frame_clock(fps)}"
        chains.append(f"[{source}:v]scale={FILM_COLOURS},format=yuv420p,setsar=1,{held}[title]")
        pieces.append(_Piece(start=start, end=start + frames, label="title", fade_in=0))
    read: list[int] = []
    for index, slot in enumerate(slots):
        if slot.start >= end or slot.end <= start:
            continue
        first, last = max(slot.start, start), min(slot.end, end)
        source = opened(clip_input(slot.item.clip))
        chains.append(shot_chain(f"{source}:v", first - slot.start, last - slot.start, size, fps) + f"[shot{index}]")
        pieces.append(_Piece(first, last, f"shot{index}", slot.fade_in if first == slot.start else 0))
        read.append(index)
    picture = _joined(pieces, start, end, fps, chains)
    for number, overlay in enumerate(o for o in overlays if o.start < end and o.end > start):
        source = opened(["-i", str(overlay.path)])
        shown = f"between(n,{max(overlay.start, start) - start},{min(overlay.end, end) - start - 1})"
        chains.append(
            f"[{picture}][{source}:v]overlay=x={overlay.x}:y={overlay.y}:eof_action=repeat:enable='{shown}'[over{number}]"
        )
        picture = f"over{number}"
    chains.append(f"[{picture}]{UNTAGGED}[film]")
    return RunGraph(
        arguments=[*itertools.chain(*inputs), "-filter_complex", ";".join(chains), "-map", "[film]"], slots=tuple(read)
    )


def _joined(pieces: list[_Piece], start: int, end: int, fps: int, chains: list[str]) -> str:
    """Join the pieces into one stream of the stretch's frames; returns its label.

    The stretch is cut where any piece starts or ends. A part where one piece plays is that piece's frames; a
    part where two play is a cross-fade, the later piece's fade-in over the earlier one's last frames, made by
    `xfade` on those frames alone (it works in 4:4:4, so only they are converted there and back). A piece that
    plays in several parts is split; all parts are joined in order by one `concat`.
    """
    edges = sorted({start, end} | {edge for piece in pieces for edge in (piece.start, piece.end)})
    cuts: dict[str, list[int]] = {piece.label: [] for piece in pieces}
    parts: list[list[tuple[_Piece, int, int]]] = []
    for first, last in itertools.pairwise(edges):
        playing = [piece for piece in pieces if piece.start <= first and piece.end >= last]
        if len(playing) == 2:
            outgoing, incoming = playing
            if incoming.start != first or incoming.fade_in != last - first or outgoing.end != last:
                raise ValueError(f"{incoming.label} overlaps {outgoing.label} at frames {first}-{last} without a fade")
        elif len(playing) != 1:
            raise ValueError(f"{len(playing)} layers play at frames {first}-{last}; a stretch needs one, or two fading")
        parts.append([(piece, first - piece.start, last - piece.start) for piece in playing])
        for piece in playing:
            cuts[piece.label].append(first)
    branches: dict[tuple[str, int], str] = {}
    for piece in pieces:
        if len(cuts[piece.label]) == 1:
            branches[piece.label, piece.start] = piece.label
            continue
        names = [f"{piece.label}_{at}" for at in cuts[piece.label]]
        chains.append(f"[{piece.label}]split={len(names)}{''.join(f'[{name}]' for name in names)}")
        branches.update(((piece.label, at), name) for at, name in zip(cuts[piece.label], names, strict=True))
    joined: list[str] = []
    for number, part in enumerate(parts):
        labels = []
        for piece, first, last in part:
            branch = branches[piece.label, piece.start + first]
            if branch != piece.label:
                chains.append(f"[{branch}]trim=start_frame={first}:end_frame={last},{frame_clock(fps)}[{branch}t]")
                branch += "t"
            labels.append(branch)
        if len(labels) == 2:
            fade = part[0][2] - part[0][1]
            chains.append(
                f"[{labels[0]}][{labels[1]}]xfade=transition=fade:duration={fade / fps!r}:offset=0,"
                f"format=yuv420p,{frame_clock(fps)}[fade{number}]"
            )
            labels = [f"fade{number}"]
        joined.extend(labels)
    if len(joined) == 1:
        return joined[0]
    chains.append(
        f"{''.join(f'[{label}]' for label in joined)}concat=n={len(joined)}:v=1:a=0,{frame_clock(fps)}[joined]"
    )
    return "joined"
