"""The demo film end to end with the embedded defaults: wall time, peak memory, first frame, time per node.

    .venv/bin/python bench/film.py                         # examples/the_last_ferry.fountain, as `make demo`

Everything is the real default path of `director make --script`: the bundled SmolLM2 served by llama.cpp on
loopback (started by `open_context`, timed apart as start-up), MiniLM and Chroma, the animatic backends, eSpeak
NG and the cut, in a temporary projects folder. Peak memory is sampled with psutil every 0.2 s (this process
plus all its children, summed), and also read from `getrusage` at the end (ru_maxrss of this process, and of
the largest child that has exited; a forked child's counts the parent's pages it had before its exec, so that
one is no measure of the children). Summed RSS counts shared pages once per process: an upper bound. The first
storyboard frame is the first `render`/`done` event the run reports.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from machine import load, machine  # noqa: E402

from agents.editor import usage_of  # noqa: E402
from agents.run import new_run, open_context, run_film  # noqa: E402
from tools.settings import Settings  # noqa: E402

SCRIPT = ROOT / "examples" / "the_last_ferry.fountain"
MIB = 1024 * 1024


class MemorySampler:
    """Peak resident memory of this process plus its children, summed, sampled on a thread."""

    def __init__(self, every: float = 0.2) -> None:
        self.every = every
        self.peak = 0
        self.peak_self = 0
        self.peak_children = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="memory-sampler", daemon=True)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            own = me.memory_info().rss
            children = 0
            for child in me.children(recursive=True):
                try:
                    children += child.memory_info().rss
                except psutil.Error:
                    pass
            self.peak_self = max(self.peak_self, own)
            self.peak_children = max(self.peak_children, children)
            self.peak = max(self.peak, own + children)
            self._stop.wait(self.every)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--script", type=Path, default=SCRIPT)
    parser.add_argument("--keep", type=Path, default=None, help="make the film in this projects folder, and keep it")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    events: list[tuple[float, dict]] = []
    with tempfile.TemporaryDirectory() as scratch, MemorySampler() as memory:
        settings = Settings(projects_dir=args.keep or Path(scratch) / "projects")
        project = new_run(settings, screenplay=args.script.read_text(encoding="utf-8"))
        started = time.perf_counter()
        with open_context(settings, project) as context:
            ready = time.perf_counter() - started
            outcome = run_film(settings, project, lambda e: events.append((time.perf_counter() - started, e)), context)
            ran = time.perf_counter() - started - ready
            usage = usage_of(context)
        wall = time.perf_counter() - started
    assert outcome.finished and outcome.film is not None, "the film did not finish"
    self_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    child_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    frames = [t for t, e in events if e.get("stage") == "render" and e.get("status") == "done"]
    renders = [e for _, e in events if e.get("stage") == "render" and e.get("status") == "done" and not e["cache_hit"]]
    film = outcome.film
    shots = film.shots()
    print(
        f"film {film.title!r}: {len(film.scenes)} scenes, {len(shots)} shots, "
        f"{outcome.cut.duration if outcome.cut else 0:.1f} s cut at {film.style.width}x{film.style.height}, "
        f"{film.style.fps} fps; {len(renders)} takes rendered; review rounds {len(film.review_rounds)}; "
        f"LLM: {usage.calls} calls, {usage.prompt_tokens} + {usage.completion_tokens} tokens, "
        f"{usage.retries} re-asks, {usage.failures} failed calls; load after: {load()}"
    )
    print()
    print("| measure | value |")
    print("|---|---|")
    print(f"| wall, start-up to finished film | {wall:.1f} s |")
    print(
        "| start-up (`open_context`: llama.cpp server answering, memory open; MiniLM loads later, on first use) "
        f"| {ready:.1f} s |"
    )
    print(f"| `run_film` | {ran:.1f} s |")
    if frames:
        print(f"| first storyboard frame, from start-up | {frames[0]:.1f} s ({frames[0] - ready:.1f} s into the run) |")
    print(f"| LLM time (client side, all calls) | {usage.seconds:.1f} s |")
    print(f"| peak RSS, this process + children summed (psutil, 0.2 s samples) | {memory.peak / MIB:.0f} MiB |")
    print(
        f"| of which this process / children, each at its own peak | {memory.peak_self / MIB:.0f} / "
        f"{memory.peak_children / MIB:.0f} MiB |"
    )
    print(f"| ru_maxrss: this process / largest exited child | {self_kib / 1024:.0f} / {child_kib / 1024:.0f} MiB |")
    print()
    print("| node | seconds | share of `run_film` |")
    print("|---|---|---|")
    for node, seconds in outcome.timings.items():
        print(f"| {node} | {seconds:.2f} | {seconds / ran:.1%} |")
    print()
    print("| LLM task | calls | seconds |")
    print("|---|---|---|")
    for task, used in usage.tasks.items():
        print(f"| {task} | {used.calls} | {used.seconds:.1f} |")


if __name__ == "__main__":
    main()
