"""Time the cut (`tools.edit.cut.assemble_cut`) against ffmpeg joining the same clips by itself.

    .venv/bin/python bench/cut.py                          # 12 animatic clips of 3 s at 640x360, 12 fps

The clips (four scenes of three shots, each with a spoken line) are rendered once with the animatic backends
and eSpeak NG. Then, interleaved, `repeats` times each: `assemble_cut` with hard cuts or the default 0.5 s
cross-fades at scene changes, silent or with the dialogue (burned-in subtitles and the AAC track), and with no
title card except in the last row (the editor's own plan); against ffmpeg's stream-copy concat of the same
files (the floor: no decode, no encode) and ffmpeg re-encoding them with the cut's own x264 preset and CRF
(`tools.edit.segments`: veryfast, 23) but no compositing, the reference of the ratios; and, for comparison
with older figures, at CRF 20 as this script did before. The cut composes its title, cross-fades and subtitles
in ffmpeg's own filter graph (`tools.edit.filter_graph`) and encodes each stretch of segments in one ffmpeg
run. All ffmpeg rows use `imageio_ffmpeg.get_ffmpeg_exe()`, the binary the cut encodes with. Figures are
medians; beside the wall time, the CPU time (this process and its ffmpeg children, user + system), which other
work on a busy machine disturbs far less.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import imageio_ffmpeg

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

from machine import load, machine  # noqa: E402

from tools.edit.cut import assemble_cut  # noqa: E402
from tools.edit.plan import CutItem, CutPlan  # noqa: E402
from tools.edit.segments import X264_CRF, X264_PRESET  # noqa: E402
from tools.render.animatic.clip import AnimaticVideoBackend  # noqa: E402
from tools.render.animatic.keyframe import AnimaticImageBackend  # noqa: E402
from tools.render.espeak import EspeakSpeechBackend  # noqa: E402
from tools.render.spec import CameraMove, Framing, ShotSpec, Voice  # noqa: E402

LINES = [
    "The last ferry leaves at nine.",
    "Then we wait for it together.",
    "Hold on, the lamp is going out.",
    "I can hear the engine now.",
]
FLOOR = "ffmpeg concat, stream copy (the floor)"
REENCODE = f"ffmpeg concat, re-encode x264 {X264_PRESET} crf {X264_CRF} (the cut's settings)"
MOVES = [CameraMove.PAN, CameraMove.PUSH_IN, CameraMove.STATIC, CameraMove.PULL_OUT, CameraMove.TILT]


def render_clips(work: Path, count: int, seconds: float, width: int, height: int, fps: int) -> list[CutItem]:
    """Render `count` animatic shots with a spoken line each; three shots to a scene."""
    images, video, speech = AnimaticImageBackend(), AnimaticVideoBackend(), EspeakSpeechBackend()
    items = []
    for index in range(count):
        scene = index // 3 + 1
        spec = ShotSpec(
            shot_id=f"s{scene:02d}-{index % 3 + 1:02d}",
            scene_number=scene,
            shot_number=index % 3 + 1,
            prompt="a ferry at a dark pier, rain",
            width=width,
            height=height,
            seed=100 + index,
            fps=fps,
            duration=seconds,
            framing=[Framing.WIDE, Framing.MEDIUM, Framing.CLOSE_UP][index % 3],
            camera_move=MOVES[index % len(MOVES)],
            caption=LINES[index % len(LINES)],
        )
        keyframe = images.generate(spec, work / f"{spec.shot_id}.png").path
        clip = video.animate(spec, keyframe, work / f"{spec.shot_id}.mp4").path
        line = speech.speak(LINES[index % len(LINES)], Voice(espeak="en-us+f3"), work / f"{spec.shot_id}.wav")
        items.append(
            CutItem(
                shot_id=spec.shot_id,
                scene_number=scene,
                clip=clip,
                duration=seconds,
                subtitle=LINES[index % len(LINES)],
                speaker="Mara",
                audio=line.path,
            )
        )
    return items


def plan(items: list[CutItem], size: tuple[int, int], fps: int, crossfade: float, dialogue: bool, title: float):
    shots = (
        items
        if dialogue
        else [item.model_copy(update={"subtitle": "", "speaker": "", "audio": None}) for item in items]
    )
    return CutPlan(
        title="The Last Ferry",
        logline="A ferry captain makes one last crossing.",
        width=size[0],
        height=size[1],
        fps=fps,
        items=shots,
        title_seconds=title,
        crossfade_seconds=crossfade,
    )


def ffmpeg(*arguments: str) -> Callable[[], None]:
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-v", "error", *arguments]
    return lambda: subprocess.run(command, check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=int, default=12)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--fps", type=int, default=12)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    height = 2 * round(args.width * 9 / 16 / 2)
    size = (args.width, height)
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        started = time.perf_counter()
        items = render_clips(work, args.clips, args.seconds, args.width, height, args.fps)
        print(
            f"{args.clips} clips of {args.seconds:g} s at {args.width}x{height}, {args.fps} fps, "
            f"rendered (animatic + eSpeak) in {time.perf_counter() - started:.2f} s; "
            f"{args.clips * args.seconds:g} s of shots; median of {args.repeats}"
        )
        listing = work / "list.txt"
        listing.write_text("".join(f"file '{item.clip}'\n" for item in items), encoding="utf-8")
        concat = ["-f", "concat", "-safe", "0", "-i", str(listing)]
        x264 = ["-c:v", "libx264", "-preset", X264_PRESET, "-an"]
        cases: dict[str, Callable[[], object]] = {
            FLOOR: ffmpeg(*concat, "-c", "copy", str(work / "copy.mp4")),
            REENCODE: ffmpeg(*concat, *x264, "-crf", str(X264_CRF), str(work / "encode.mp4")),
            f"ffmpeg concat, re-encode x264 {X264_PRESET} crf 20 (the reference before)": ffmpeg(
                *concat, *x264, "-crf", "20", str(work / "encode-20.mp4")
            ),
        }
        variants = {
            "assemble_cut: hard cuts, silent": (0.0, False, 0.0),
            "assemble_cut: cross-fades, silent": (0.5, False, 0.0),
            "assemble_cut: hard cuts, dialogue": (0.0, True, 0.0),
            "assemble_cut: cross-fades, dialogue": (0.5, True, 0.0),
            "assemble_cut: the editor's plan (3 s title card, cross-fades, dialogue)": (0.5, True, 3.0),
        }
        encodes: dict[str, list[float]] = {}
        for number, (name, (fade, dialogue, title)) in enumerate(variants.items()):
            the_plan = plan(items, size, args.fps, fade, dialogue, title)
            out = work / f"cut-{number}"

            def cut(the_plan: CutPlan = the_plan, out: Path = out, name: str = name) -> None:
                encodes.setdefault(name, []).append(assemble_cut(the_plan, out).encode_seconds)

            cases[name] = cut
        for call in cases.values():
            call()
        encodes.clear()
        times: dict[str, list[float]] = {name: [] for name in cases}
        cpu: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(args.repeats):
            for name, call in cases.items():
                started, used = time.perf_counter(), cpu_seconds()
                call()
                times[name].append(time.perf_counter() - started)
                cpu[name].append(cpu_seconds() - used)
    medians = {name: statistics.median(values) for name, values in times.items()}
    cpu_medians = {name: statistics.median(values) for name, values in cpu.items()}
    floor = medians[FLOOR]
    encode = medians[REENCODE]
    film = args.clips * args.seconds
    print(f"load after: {load()}")
    print()
    print(
        "| what | seconds | of which encoding (segments, sound, join) | x stream copy | x ffmpeg re-encode "
        "| s of film/s | CPU s | CPU x ffmpeg re-encode |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name, seconds in medians.items():
        inner = f"{statistics.median(encodes[name]):.2f}" if name in encodes else "-"
        print(
            f"| {name} | {seconds:.3f} | {inner} | {seconds / floor:.1f} | {seconds / encode:.2f} | "
            f"{film / seconds:.1f} | {cpu_medians[name]:.2f} | {cpu_medians[name] / cpu_medians[REENCODE]:.2f} |"
        )


def cpu_seconds() -> float:
    """User and system CPU time of this process and its finished children: the work done, whatever the load."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    main()
