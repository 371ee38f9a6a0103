"""The demo film end to end with the embedded defaults: wall time, peak memory, first frame, time per node.

    .venv/bin/python bench/film.py                 # examples/the_last_ferry.fountain, as `make demo`, 3 x 2 films
    .venv/bin/python bench/film.py --one on        # one film, streaming on, as JSON

Each film is made in a fresh process, alternating streaming on and off (`render.stream_scenes`), and the table
gives medians. Every film has the same id, so the same shots make the same takes: the content hash of the
shots' takes must not depend on streaming, which changes when a take is made, not what it is.

Everything is the real default path of `director make --script`: the bundled SmolLM2 in torch (loaded by
`open_context`, timed apart as start-up), MiniLM and Chroma, the animatic backends, eSpeak NG and the cut, in a
temporary projects folder. Peak memory is sampled with psutil every 0.2 s: this process plus all its children,
summed. A child caught between its fork and its exec (it still runs this very command line) shares this
process's pages, so summing it would count them twice; it is counted apart. Summed RSS still counts pages
shared between processes once per process: an upper bound. `ru_maxrss` of this process is read at the end.
The first storyboard frame is the first `render`/`done` event the run reports.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import statistics
import subprocess
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
FILM_ID = "the-last-ferry-bench"
MIB = 1024 * 1024


class MemorySampler:
    """Peak resident memory of this process plus its children, summed, sampled on a thread."""

    def __init__(self, every: float = 0.2) -> None:
        self.every = every
        self.peak = 0
        self.peak_self = 0
        self.peak_children = 0
        self.peak_with_forks = 0
        """The sum counting a child forked from this process before its exec (it shares this one's pages)."""
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
        command = me.cmdline()
        while not self._stop.is_set():
            own = me.memory_info().rss
            children = forks = 0
            for child in me.children(recursive=True):
                try:
                    rss = child.memory_info().rss
                    if child.cmdline() == command:
                        forks = max(forks, rss)
                    else:
                        children += rss
                except psutil.Error:
                    pass
            self.peak_self = max(self.peak_self, own)
            self.peak_children = max(self.peak_children, children)
            self.peak = max(self.peak, own + children)
            self.peak_with_forks = max(self.peak_with_forks, own + children + forks)
            self._stop.wait(self.every)


def one_film(script: Path, stream: bool, keep: Path | None) -> dict:
    """Make the film once in this process; what was measured, as a dict."""
    events: list[tuple[float, dict]] = []
    with tempfile.TemporaryDirectory() as scratch, MemorySampler() as memory:
        settings = Settings(projects_dir=keep or Path(scratch) / "projects", render={"stream_scenes": stream})
        project = new_run(settings, screenplay=script.read_text(encoding="utf-8"), film_id=FILM_ID)
        started = time.perf_counter()
        with open_context(settings, project) as context:
            ready = time.perf_counter() - started
            outcome = run_film(settings, project, lambda e: events.append((time.perf_counter() - started, e)), context)
            ran = time.perf_counter() - started - ready
            usage = usage_of(context)
        wall = time.perf_counter() - started
    assert outcome.finished and outcome.film is not None, "the film did not finish"
    frames = [t for t, e in events if e.get("stage") == "render" and e.get("status") == "done"]
    renders = [e for _, e in events if e.get("stage") == "render" and e.get("status") == "done" and not e["cache_hit"]]
    film = outcome.film
    takes = sorted(f"{shot.id}:{shot.take.content_hash if shot.take else '-'}" for shot in film.shots())
    first_round = sorted(
        f"{v.shot_id}" for v in (film.review_rounds[0].verdicts if film.review_rounds else []) if not v.passed
    )
    return {
        "stream": stream,
        "wall": wall,
        "ready": ready,
        "ran": ran,
        "first_frame": frames[0] if frames else None,
        "peak_mib": memory.peak / MIB,
        "peak_with_forks_mib": memory.peak_with_forks / MIB,
        "peak_self_mib": memory.peak_self / MIB,
        "peak_children_mib": memory.peak_children / MIB,
        "ru_maxrss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "shots_hash": hashlib.sha256("\n".join(takes).encode()).hexdigest()[:16],
        "scenes": len(film.scenes),
        "shots": len(film.shots()),
        "cut_seconds": outcome.cut.duration if outcome.cut else 0.0,
        "takes_rendered": len(renders),
        "review_rounds": len(film.review_rounds),
        "flagged_first_round": first_round,
        "llm_calls": usage.calls,
        "llm_seconds": usage.seconds,
        "llm_tokens": [usage.prompt_tokens, usage.completion_tokens],
        "timings": outcome.timings,
        "llm_tasks": {task: [used.calls, round(used.seconds, 2)] for task, used in usage.tasks.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--script", type=Path, default=SCRIPT)
    parser.add_argument("--runs", type=int, default=3, help="films per setting (streaming on, off), interleaved")
    parser.add_argument("--one", choices=["on", "off"], help="make one film in this process and print its JSON")
    parser.add_argument("--keep", type=Path, default=None, help="with --one: make the film in this projects folder")
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one_film(args.script, args.one == "on", args.keep)))
        return
    print(f"machine: {machine()}; load before: {load()}")
    results: dict[str, list[dict]] = {"on": [], "off": []}
    for run in range(args.runs):
        for stream in ("on", "off") if run % 2 == 0 else ("off", "on"):
            command = [sys.executable, __file__, "--script", str(args.script), "--one", stream]
            done = subprocess.run(command, check=True, capture_output=True, text=True)
            result = json.loads(done.stdout.strip().splitlines()[-1])
            results[stream].append(result)
            print(
                f"run {run + 1} streaming {stream}: wall {result['wall']:.1f} s, first frame "
                f"{result['first_frame']:.1f} s, peak {result['peak_mib']:.0f} MiB, shots {result['shots_hash']}",
                flush=True,
            )
    print(f"load after: {load()}")
    example = results["on"][0]
    print(
        f"\nfilm: {example['scenes']} scenes, {example['shots']} shots, a {example['cut_seconds']:.1f} s cut; "
        f"{example['takes_rendered']} takes rendered, {example['review_rounds']} review rounds; LLM "
        f"{example['llm_calls']} calls, {example['llm_tokens'][0]} + {example['llm_tokens'][1]} tokens\n"
    )
    print("| measure (median of runs) | streaming on | streaming off |")
    print("|---|---|---|")
    for label, key, unit in (
        ("wall, start-up to finished film", "wall", "s"),
        ("start-up (`open_context`)", "ready", "s"),
        ("first storyboard frame, from start-up", "first_frame", "s"),
        ("LLM time (client side)", "llm_seconds", "s"),
        ("peak RSS, this process + children summed", "peak_mib", "MiB"),
        ("the same, counting children forked before their exec", "peak_with_forks_mib", "MiB"),
        ("of which this process, at its peak", "peak_self_mib", "MiB"),
        ("of which children, at their peak", "peak_children_mib", "MiB"),
    ):
        on, off = (statistics.median(r[key] for r in results[s]) for s in ("on", "off"))
        print(f"| {label} | {on:.{0 if unit == 'MiB' else 1}f} {unit} | {off:.{0 if unit == 'MiB' else 1}f} {unit} |")
    hashes = {r["shots_hash"] for rs in results.values() for r in rs}
    films = 2 * args.runs
    print(f"| content hash of the shots' takes | {len(hashes)} distinct over {films} films | {sorted(hashes)} |")
    print("\n| node (median seconds) | streaming on | streaming off |")
    print("|---|---|---|")
    for node in example["timings"]:
        on, off = (statistics.median(r["timings"].get(node, 0.0) for r in results[s]) for s in ("on", "off"))
        print(f"| {node} | {on:.2f} | {off:.2f} |")
    print("\n| LLM task (first streamed run) | calls | seconds |")
    print("|---|---|---|")
    for task, (calls, seconds) in example["llm_tasks"].items():
        print(f"| {task} | {calls} | {seconds:.1f} |")


if __name__ == "__main__":
    main()
