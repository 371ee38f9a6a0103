"""What the score, the ambience and the mix add to the demo film: wall time with sound against without.

    .venv/bin/python bench/sound.py              # examples/the_last_ferry.fountain, 2 runs each, alternating
    .venv/bin/python bench/sound.py --repeats 1

Each run is `make demo`'s path (the bundled SmolLM2 on llama.cpp, MiniLM, Chroma, the animatic, eSpeak NG) in a
fresh projects folder, so nothing is cached between runs. "without" is `--no-music --no-ambience`: the composer
and the sound designer still run (every cue and bed silent, no SoundFont loaded) and the lines are still mixed
to the loudness target. Runs alternate (with, without, without, with, ...) so a drifting machine load falls on
both; the ratio is of the medians. The issue's bar: the demo grows by at most 10%.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from machine import load, machine  # noqa: E402

from agents.run import new_run, open_context, run_film  # noqa: E402
from tools.settings import Settings  # noqa: E402

SCRIPT = ROOT / "examples" / "the_last_ferry.fountain"
SOUND_NODES = ("compose_score", "design_sound", "assemble_cut")


def one_run(script: Path, sound: bool) -> tuple[float, dict[str, float], str]:
    """Wall seconds from start-up to the finished film, the sound nodes' seconds, and the editor's sound line."""
    with tempfile.TemporaryDirectory() as scratch:
        settings = Settings(projects_dir=Path(scratch) / "projects", sound={"music": sound, "ambience": sound})
        project = new_run(settings, screenplay=script.read_text(encoding="utf-8"))
        started = time.perf_counter()
        with open_context(settings, project) as context:
            outcome = run_film(settings, project, context=context)
        wall = time.perf_counter() - started
        assert outcome.finished and outcome.cut is not None, "the film did not finish"
        line = next((entry for entry in reversed(outcome.log) if entry.startswith("sound:")), "")
        return wall, {node: outcome.timings.get(node, 0.0) for node in SOUND_NODES}, line


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--script", type=Path, default=SCRIPT)
    parser.add_argument("--repeats", type=int, default=2, help="runs with sound and runs without, each")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    walls: dict[bool, list[float]] = {True: [], False: []}
    nodes: dict[bool, list[dict[str, float]]] = {True: [], False: []}
    order = [True, False, False, True] * args.repeats
    for sound in order[: 2 * args.repeats]:
        wall, timings, line = one_run(args.script, sound)
        walls[sound].append(wall)
        nodes[sound].append(timings)
        print(f"  {'with' if sound else 'without'} sound: {wall:.1f} s; {line}; load {load()}")
    print()
    print("| demo film | runs | median wall | compose_score | design_sound | assemble_cut |")
    print("|---|---|---|---|---|---|")
    for sound in (False, True):
        medians = [statistics.median(run[node] for run in nodes[sound]) for node in SOUND_NODES]
        print(
            f"| {'with score, ambience and mix' if sound else 'without (--no-music --no-ambience)'} | "
            f"{len(walls[sound])} | {statistics.median(walls[sound]):.1f} s | "
            + " | ".join(f"{seconds:.2f} s" for seconds in medians)
            + " |"
        )
    ratio = statistics.median(walls[True]) / statistics.median(walls[False])
    print(f"\nwith / without: {ratio:.3f} ({(ratio - 1):+.1%})")


if __name__ == "__main__":
    main()
