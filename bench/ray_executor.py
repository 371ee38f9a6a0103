"""Time the same film rendered in this process and through Ray renderers: what sending shots to Ray costs.

    .venv/bin/python bench/ray_executor.py            # 12 shots, 2 renderers, a Ray instance on this machine

The film comes from the scripted fake crew (`tests/fake_crew.py`), so no LLM time is in the figures; memory,
the animatic, eSpeak NG and ffmpeg are real. Both runs make the same takes (same specs, same backends) in
fresh projects; the Ray run starts a local Ray instance first (its start-up is timed apart, as a cluster would
already be up). Printed: the render phase of each run and their ratio, and the whole film's.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from fake_crew import PREMISE, crew  # noqa: E402
from machine import load, machine  # noqa: E402

from agents.run import new_run, open_context, run_film  # noqa: E402
from memory.store import MiniLMEmbedding  # noqa: E402
from tools.render.setup import RenderBackends  # noqa: E402
from tools.settings import Settings  # noqa: E402


def film(settings: Settings, embedding: MiniLMEmbedding, backends: RenderBackends, name: str) -> tuple[dict, float]:
    project = new_run(settings, premise=PREMISE, film_id=name)
    with open_context(settings, project, llm=crew(), embedding_function=embedding, backends=backends) as context:
        started = time.perf_counter()
        outcome = run_film(settings, project, context=context)
        wall = time.perf_counter() - started
    assert outcome.finished and outcome.film is not None, f"the {name} run did not finish"
    takes = [take for shot in outcome.film.shots() for take in shot.takes if not take.cache_hit]
    assert takes and all(bool(take.worker) == (settings.executor == "ray") for take in takes), "wrong executor"
    return outcome.timings, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=52.0, help="target length; 52 s plans 12 shots")
    parser.add_argument("--max-parallel", type=int, default=2, help="shots at once here, and Ray renderers")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    embedding = MiniLMEmbedding()
    embedding(["warm up"])
    with tempfile.TemporaryDirectory() as scratch:
        base = {"projects_dir": Path(scratch) / "projects", "target_seconds": args.seconds}
        render = {"max_parallel": args.max_parallel}
        local = Settings(**base, render=render)
        on_ray = Settings(**base, render=render, executor="ray", ray={"num_cpus": 1})
        local_backends = RenderBackends.from_settings(local)
        started = time.perf_counter()
        ray_backends = RenderBackends.from_settings(on_ray)
        startup = time.perf_counter() - started
        print(f"Ray start-up and {args.max_parallel} renderers (outside the timings): {startup:.2f} s")
        try:
            here, here_wall = film(local, embedding, local_backends, "local-bench")
            there, there_wall = film(on_ray, embedding, ray_backends, "ray-bench")
        finally:
            ray_backends.close()
    print(f"load after: {load()}")
    print()
    print("| run | render_shot (s) | whole film (s) |")
    print("|---|---|---|")
    print(f"| in this process | {here['render_shot']:.2f} | {here_wall:.2f} |")
    print(f"| Ray renderers | {there['render_shot']:.2f} | {there_wall:.2f} |")
    print(f"| ratio Ray / here | {there['render_shot'] / here['render_shot']:.3f} | {there_wall / here_wall:.3f} |")


if __name__ == "__main__":
    main()
