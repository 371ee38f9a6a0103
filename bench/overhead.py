"""Orchestration overhead: the real graph around FAKE backends that only sleep, against the ideal schedule.

    .venv/bin/python bench/overhead.py                     # 12 shots, 0.5 s image + 0.5 s video, P = 1, 2, 4

`SleepingImageBackend` and `SleepingVideoBackend` are fakes: each call sleeps a fixed time, then copies a
keyframe or clip pre-encoded once at start (real animatic files of the shot's exact format, so the critic's
checks pass and nothing is reshot). With no real work in them, the render phase's time beyond the ideal
`ceil(N / P) * (image + video sleep)` is what the graph, the take store and the checkpointer cost. Speech is
off; the LLM is the scripted fake crew; Chroma, MiniLM (loaded before the clock), the cut and the critic are
real. A warm-up film (sleeps of 0) encodes every template first, so no template is made inside a measured run.
Issue target: render-phase overhead under 3%.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import ClassVar

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from fake_crew import PREMISE, crew  # noqa: E402
from machine import load, machine  # noqa: E402

from agents.run import RunOutcome, new_run, open_context, run_film  # noqa: E402
from memory.store import MiniLMEmbedding  # noqa: E402
from tools.render.animatic.clip import AnimaticVideoBackend  # noqa: E402
from tools.render.animatic.keyframe import AnimaticImageBackend  # noqa: E402
from tools.render.base import ClipResult, ImageResult  # noqa: E402
from tools.render.setup import RenderBackends  # noqa: E402
from tools.render.spec import CameraMove, ShotSpec  # noqa: E402
from tools.settings import Settings  # noqa: E402


class TakeTemplates:
    """Real animatic keyframes and clips by frame format, encoded once and then only copied."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.made = 0
        self._lock = threading.Lock()
        self._images = AnimaticImageBackend()
        self._video = AnimaticVideoBackend()

    def files(self, spec: ShotSpec) -> tuple[Path, Path]:
        """The keyframe and the clip for `spec`'s size, rate and frame count, made on first request."""
        key = f"{spec.width}x{spec.height}-{spec.fps}fps-{spec.num_frames}f"
        keyframe, clip = self.folder / f"{key}.png", self.folder / f"{key}.mp4"
        with self._lock:
            if not clip.is_file():
                generic = spec.model_copy(update={"camera_move": CameraMove.PAN, "shot_id": key})
                self._images.generate(generic, keyframe)
                self._video.animate(generic, keyframe, clip)
                self.made += 1
        return keyframe, clip


class SleepingFake:
    """What both FAKE backends share: a name, a sleep per shot and the pre-made files they copy."""

    name: ClassVar[str] = "sleeping-fake"
    supports_reference_image: ClassVar[bool] = False
    max_prompt_tokens: ClassVar[int | None] = None

    def __init__(self, templates: TakeTemplates, seconds: float) -> None:
        self.templates = templates
        self.seconds = seconds

    @property
    def model(self) -> str:
        return "fake"

    @property
    def parameters(self) -> dict[str, str | int | float | bool]:
        return {"sleep": self.seconds}


class SleepingImageBackend(SleepingFake):
    """FAKE image backend: sleeps `seconds`, then copies a pre-made keyframe. For timing the graph alone."""

    def generate(self, spec: ShotSpec, out: Path) -> ImageResult:
        keyframe, _ = self.templates.files(spec)
        time.sleep(self.seconds)
        shutil.copyfile(keyframe, out)
        return ImageResult(path=Path(out), width=spec.width, height=spec.height, backend=self.name, model=self.model)


class SleepingVideoBackend(SleepingFake):
    """FAKE video backend: sleeps `seconds`, then copies a pre-encoded H.264 clip of the shot's format."""

    def animate(self, spec: ShotSpec, keyframe: Path, out: Path) -> ClipResult:
        _, clip = self.templates.files(spec)
        time.sleep(self.seconds)
        shutil.copyfile(clip, out)
        return ClipResult.of_shot(spec, Path(out), self.name, self.model)


class FilmTiming:
    """One film through the graph: its wall time, node timings and render events, timestamped on arrival."""

    def __init__(self, outcome: RunOutcome, wall: float, events: list[tuple[float, dict]]) -> None:
        self.outcome = outcome
        self.wall = wall
        self.renders = [(t, e) for t, e in events if e.get("stage") == "render"]

    @property
    def rendered(self) -> int:
        return sum(1 for _, e in self.renders if e["status"] == "done" and not e["cache_hit"])

    @property
    def render_phase(self) -> float:
        """First render start to last render done, as the caller saw the events."""
        starts = [t for t, e in self.renders if e["status"] == "start"]
        dones = [t for t, e in self.renders if e["status"] == "done"]
        return max(dones) - min(starts)


def film(
    settings: Settings, film_id: str, backends: RenderBackends, embedding: MiniLMEmbedding, parallel: int, limit: float
) -> FilmTiming | None:
    """Run one film with `max_parallel = parallel`; None when it has not finished after `limit` seconds (a hang)."""
    settings = settings.model_copy(update={"render": settings.render.model_copy(update={"max_parallel": parallel})})
    project = new_run(settings, premise=PREMISE, film_id=film_id)
    events: list[tuple[float, dict]] = []
    done: list[FilmTiming] = []

    def run() -> None:
        with open_context(settings, project, llm=crew(), embedding_function=embedding, backends=backends) as context:
            started = time.perf_counter()
            outcome = run_film(settings, project, lambda e: events.append((time.perf_counter() - started, e)), context)
            wall = time.perf_counter() - started
        assert outcome.finished, f"{film_id} did not finish"
        done.append(FilmTiming(outcome, wall, events))

    worker = threading.Thread(target=run, name=film_id, daemon=True)
    worker.start()
    worker.join(limit)
    return done[0] if done else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=52.0, help="target length; 52 s plans 12 shots")
    parser.add_argument("--image-sleep", type=float, default=0.5)
    parser.add_argument("--video-sleep", type=float, default=0.5)
    parser.add_argument("--parallel", default="1,2,4")
    parser.add_argument("--limit", type=float, default=120.0, help="seconds after which a film counts as hung")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    embedding = MiniLMEmbedding()
    embedding(["warm up"])
    per_shot = args.image_sleep + args.video_sleep
    with tempfile.TemporaryDirectory() as scratch:
        settings = Settings(projects_dir=Path(scratch) / "projects", target_seconds=args.seconds)
        templates = TakeTemplates(Path(scratch) / "templates")
        templates.folder.mkdir()

        def backends(image_sleep: float, video_sleep: float) -> RenderBackends:
            return RenderBackends(
                images=SleepingImageBackend(templates, image_sleep),
                video=SleepingVideoBackend(templates, video_sleep),
                speech=None,
            )

        warm = film(settings, "overhead-warm-up", backends(0.0, 0.0), embedding, 2, args.limit)
        assert warm is not None, "the warm-up film did not finish"
        made = templates.made
        shots = len(warm.outcome.film.shots())
        results: dict[int, FilmTiming] = {}
        hung: list[int] = []
        for p in (int(x) for x in args.parallel.split(",")):
            result = film(
                settings, f"overhead-p{p}", backends(args.image_sleep, args.video_sleep), embedding, p, args.limit
            )
            if result is None:
                hung.append(p)
            else:
                results[p] = result
        assert templates.made == made, "a template was encoded inside a measured run"
    print(
        f"film: {shots} shots, {made} template formats; sleeps {args.image_sleep:g} s image + {args.video_sleep:g} s "
        f"video per shot; warm-up film (sleep 0) {warm.wall:.2f} s, render phase {warm.render_phase:.2f} s; "
        f"load after: {load()}"
    )
    print()
    print(
        "| P | takes | ideal render (s) | render phase, events (s) | overhead | render_shot node (s) | overhead "
        "| whole film (s) | sum of sleeps (s) | film minus ideal render (s) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for p, run in results.items():
        ideal = math.ceil(run.rendered / p) * per_shot
        node = run.outcome.timings.get("render_shot", 0.0)
        print(
            f"| {p} | {run.rendered} | {ideal:.2f} | {run.render_phase:.3f} | {run.render_phase / ideal - 1:+.2%} "
            f"| {node:.3f} | {node / ideal - 1:+.2%} | {run.wall:.2f} | {run.rendered * per_shot:.2f} "
            f"| {run.wall - ideal:.2f} |"
        )
    print()
    nodes = list(dict.fromkeys(node for run in results.values() for node in run.outcome.timings))
    print("| node | " + " | ".join(f"P={p} (s)" for p in results) + " | warm-up, sleep 0 (s) |")
    print("|---|" + "---|" * (len(results) + 1))
    for node in nodes:
        cells = [f"{run.outcome.timings.get(node, 0.0):.3f}" for run in [*results.values(), warm]]
        print(f"| {node} | " + " | ".join(cells) + " |")
    print("| (wall) | " + " | ".join(f"{run.wall:.3f}" for run in [*results.values(), warm]) + " |")
    for p in hung:
        print(f"\nP={p}: the film had not finished after {args.limit:g} s (no progress: a hang), so it has no row.")
    sys.stdout.flush()
    # A hung run's threads wait forever inside LangGraph's executor, which the interpreter would join at exit.
    os._exit(0)


if __name__ == "__main__":
    main()
