"""Time a one-shot note against the full film it revises: the whole loop again, for one shot's worth of change.

    .venv/bin/python bench/revision.py                     # a 12-shot film, then one note on one shot

The film comes from the premise of the tests with the scripted fake crew (`tests/fake_crew.py`), so no LLM time
is in the figures; memory (Chroma, MiniLM), the animatic backends, eSpeak NG and ffmpeg are the real ones. The
MiniLM model is loaded before the clock starts (its load is printed apart), as a studio would have it loaded.
The note goes through `run_film(..., feedback=Feedback(text=..., shot=...))` on the same context, as in the
studio. Issue target: the note in under 1/6 of the full render, re-rendering exactly one take.
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

from agents.run import RunOutcome, new_run, open_context, run_film  # noqa: E402
from agents.state import Feedback, Film  # noqa: E402
from memory.store import MiniLMEmbedding  # noqa: E402
from tools.settings import Settings  # noqa: E402

NOTE = "closer on her hands"


class EventLog:
    """Every progress event with the time it reached the caller, from the run's start."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.events: list[tuple[float, dict]] = []

    def __call__(self, event: dict) -> None:
        self.events.append((time.perf_counter() - self.started, event))

    def encode_seconds(self) -> float:
        """The cut's writing of film.mp4 (decode, composite, encode, mix, join), from the `cut`/`done` event."""
        return sum(
            e.get("encode_seconds", 0.0) for _, e in self.events if e.get("stage") == "cut" and e["status"] == "done"
        )

    def done(self, stage: str) -> list[dict]:
        return [e for _, e in self.events if e.get("stage") == stage and e.get("status") == "done"]

    def segments(self) -> str:
        """Segments the cut encoded, of those in the film (the rest joined from the store), and the sound track."""
        return ", ".join(
            f"{e.get('segments_encoded', '?')} of {e.get('segments', '?')}, "
            f"sound {'reused' if e.get('sound_reused') else 'mixed'}"
            for e in self.done("cut")
        )

    def takes_checked(self) -> str:
        """Takes whose files the critic checked, and verdicts it reused."""
        return ", ".join(
            f"{e.get('takes_checked', '?')} checked, {e.get('takes_reused', '?')} reused" for e in self.done("review")
        )

    def renders(self) -> list[dict]:
        """Takes actually rendered (not reused from the take store)."""
        return [
            e for _, e in self.events if e.get("stage") == "render" and e["status"] == "done" and not e["cache_hit"]
        ]


def takes_of(film: Film) -> dict[str, str]:
    return {shot.id: shot.take.content_hash for shot in film.shots() if shot.take is not None}


def timed_run(settings: Settings, project, context, **request) -> tuple[RunOutcome, float, EventLog]:
    log = EventLog()
    started = time.perf_counter()
    result = run_film(settings, project, log, context, **request)
    return result, time.perf_counter() - started, log


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=52.0, help="target length; 52 s plans 12 shots")
    parser.add_argument("--shot", type=int, default=5, help="index of the shot the note is aimed at")
    parser.add_argument("--max-parallel", type=int, default=2)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    embedding = MiniLMEmbedding()
    started = time.perf_counter()
    embedding(["warm up"])
    print(f"MiniLM load (outside the timings): {time.perf_counter() - started:.2f} s")
    with tempfile.TemporaryDirectory() as scratch:
        settings = Settings(projects_dir=Path(scratch) / "projects", target_seconds=args.seconds)
        settings.render.max_parallel = args.max_parallel
        project = new_run(settings, premise=PREMISE, film_id="revision-bench")
        with open_context(settings, project, llm=crew(), embedding_function=embedding) as context:
            full, full_s, full_log = timed_run(settings, project, context)
            assert full.finished and full.film is not None, "the full run did not finish"
            shots = full.film.shots()
            target = shots[min(args.shot, len(shots) - 1)].id
            before = takes_of(full.film)
            note, note_s, note_log = timed_run(settings, project, context, feedback=Feedback(text=NOTE, shot=target))
            assert note.finished and note.film is not None, "the note's run did not finish"
        after = takes_of(note.film)
        changed = sorted(shot_id for shot_id in before if before[shot_id] != after.get(shot_id))
        film_seconds = sum(shot.duration for shot in shots)
        print(
            f"film: {len(shots)} shots{'' if len(shots) == 12 else ' (NOT 12)'}, {film_seconds:.1f} s of shots, "
            f"{full.film.style.width}x{full.film.style.height} at {full.film.style.fps} fps, "
            f"max_parallel {settings.render.max_parallel}; review rounds {len(full.film.review_rounds)}; "
            f"load after: {load()}"
        )
        print(
            f"note: {NOTE!r} on {target}; takes changed {changed}; "
            f"re-rendered {[e['shot'] for e in note_log.renders()]}"
        )
        print()
        print("| run | wall (s) | takes rendered | ratio to the full render |")
        print("|---|---|---|---|")
        print(f"| full film ({len(shots)} shots) | {full_s:.2f} | {len(full_log.renders())} | 1.000 |")
        ratio = note_s / full_s
        print(f"| one note on one shot | {note_s:.2f} | {len(note_log.renders())} | {ratio:.3f} (1/{1 / ratio:.1f}) |")
        print()
        print("| node | full film (s) | the note (s) |")
        print("|---|---|---|")
        for node in dict.fromkeys([*full.timings, *note.timings]):
            full_t = f"{full.timings[node]:.2f}" if node in full.timings else "-"
            note_t = f"{note.timings[node]:.2f}" if node in note.timings else "-"
            print(f"| {node} | {full_t} | {note_t} |")
        print(
            f"| (of assemble_cut: writing film.mp4: decode, composite, encode, mix, join) | "
            f"{full_log.encode_seconds():.2f} | {note_log.encode_seconds():.2f} |"
        )
        print(f"| (segments encoded) | {full_log.segments()} | {note_log.segments()} |")
        print(f"| (review_cut: takes) | {full_log.takes_checked()} | {note_log.takes_checked()} |")
        print(f"| (sum of nodes) | {sum(full.timings.values()):.2f} | {sum(note.timings.values()):.2f} |")
        renders = note_log.renders()
        if renders:
            print(
                f"\nthe note's take rendered in {renders[0].get('seconds', 0):.2f} s "
                "(the backends' time inside render_shot)"
            )
        print(
            f"target 1/6 = {1 / 6:.3f}: {'met' if ratio < 1 / 6 else 'NOT met'}; one take re-rendered: "
            f"{'yes' if len(renders) == 1 else 'no'}"
        )


if __name__ == "__main__":
    main()
