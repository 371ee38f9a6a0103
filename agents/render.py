"""Render: one task per shot, cached by the content hash of everything that determines the take."""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from langgraph.runtime import Runtime
from langgraph.types import Send

from agents.context import Context
from agents.designer import shot_spec
from agents.project import Project, write_model
from agents.state import RenderTask, RunState, Take
from tools.backends import ImageBackend, SpeechBackend, SpeechResult, VideoBackend
from tools.spec import ShotSpec

RENDERER_CACHE_VERSION = 2
SPEECH_MARGIN = 0.3
"""Seconds of a shot kept free of speech: the cross-fades at its ends and a breath after the line."""
MAX_SPEECH_SPEED = 1.6
"""The fastest a line is spoken to fit its shot; beyond that the line overruns and the cut fades it out."""


def route_renders(state: RunState) -> list[Send] | str:
    """Fan out one `render_shot` task per dirty shot; with nothing dirty, go straight on to the storyboard gate."""
    assert state.film is not None
    if not state.dirty:
        return "approve_storyboard"
    return [
        Send("render_shot", RenderTask(film_id=state.film_id, spec=shot_spec(state.film, state.film.shot(shot_id))))
        for shot_id in state.dirty
    ]


def take_hash(spec: ShotSpec, images: ImageBackend, video: VideoBackend, speech: SpeechBackend | None = None) -> str:
    """The cache key: the spec plus the backends and models that turn it into pixels and sound."""
    key = {
        "spec": spec.model_dump(mode="json"),
        "image": [images.name, images.model, images.parameters],
        "video": [video.name, video.model, video.parameters],
        "version": RENDERER_CACHE_VERSION,
    }
    if spec.line is not None:
        key["speech"] = [speech.name, speech.model, speech.parameters] if speech is not None else None
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()


def cached_take(project: Project, content_hash: str) -> Take | None:
    """A finished take from an earlier pass or run, if its files are all still there."""
    record = project.take_dir(content_hash) / "take.json"
    try:
        take = Take.model_validate_json(record.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    files_ok = all(
        (project.root / path).is_file() and (project.root / path).stat().st_size > 0
        for path in (take.keyframe, take.clip, take.audio)
        if path
    )
    return take.model_copy(update={"cache_hit": True, "render_seconds": 0.0}) if files_ok else None


def render_shot(task: RenderTask, runtime: Runtime[Context]) -> dict:
    """Make (or reuse) the take for one shot. A backend failure marks the shot failed; it never ends the run."""
    context = runtime.context
    spec = task.spec
    emit = runtime.stream_writer
    content_hash = take_hash(spec, context.images, context.video, context.speech)
    take = cached_take(context.project, content_hash)
    if take is not None:
        emit({"stage": "render", "shot": spec.shot_id, "status": "done", "cache_hit": True, "keyframe": take.keyframe})
        return {
            "rendered": {spec.shot_id: take},
            "failed": {spec.shot_id: ""},
            "log": [f"render: {spec.shot_id} reused take {content_hash[:12]}"],
        }
    with context.render_slots:
        return make_take(spec, content_hash, context, emit)


def make_take(spec: ShotSpec, content_hash: str, context: Context, emit: Callable[[dict], None]) -> dict:
    """Render the shot's keyframe, clip and line into its take folder, as `render_shot` returns them."""
    emit({"stage": "render", "shot": spec.shot_id, "status": "start"})
    folder = context.project.take_dir(content_hash)
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    backend_spec = spec.resolved(context.project.root)
    timings: dict[str, float] = {}
    try:
        with timed(timings, "image"):
            image = context.images.generate(backend_spec, folder / "keyframe.png")
        with timed(timings, "video"):
            clip = context.video.animate(backend_spec, image.path, folder / "clip.mp4")
        with timed(timings, "speech"):
            speech = speak_line(context.speech, spec, folder / "line.wav")
    except Exception as error:  # noqa: BLE001 - any backend failure becomes a reviewable shot failure
        shutil.rmtree(folder, ignore_errors=True)
        emit({"stage": "render", "shot": spec.shot_id, "status": "failed", "error": str(error)})
        return {"failed": {spec.shot_id: f"{type(error).__name__}: {error}"}, "log": [f"render: {spec.shot_id} failed"]}
    take = Take(
        shot_id=spec.shot_id,
        content_hash=content_hash,
        keyframe=str(image.path.relative_to(context.project.root)),
        clip=str(clip.path.relative_to(context.project.root)),
        audio=str(speech.path.relative_to(context.project.root)) if speech is not None else "",
        audio_seconds=round(speech.duration, 3) if speech is not None else 0.0,
        speech_backend=context.speech.name if speech is not None and context.speech is not None else "",
        image_backend=context.images.name,
        video_backend=context.video.name,
        model=" + ".join(dict.fromkeys(m for m in (image.model, clip.model, speech.model if speech else "") if m)),
        seed=spec.seed,
        parameters={
            "width": spec.width,
            "height": spec.height,
            "fps": spec.fps,
            "num_frames": spec.num_frames,
            **{f"image.{key}": value for key, value in context.images.parameters.items()},
            **{f"video.{key}": value for key, value in context.video.parameters.items()},
        },
        duration=clip.duration,
        render_seconds=round(time.perf_counter() - started, 3),
        timings=timings if speech is not None else {k: v for k, v in timings.items() if k != "speech"},
        models={"image": image.model, "video": clip.model, **({"speech": speech.model} if speech is not None else {})},
    )
    write_model(folder / "take.json", take)
    emit(
        {
            "stage": "render",
            "shot": spec.shot_id,
            "status": "done",
            "cache_hit": False,
            "seconds": take.render_seconds,
            "keyframe": take.keyframe,
        }
    )
    return {
        "rendered": {spec.shot_id: take},
        "failed": {spec.shot_id: ""},
        "log": [f"render: {spec.shot_id} took {take.render_seconds:.2f} s"],
    }


def speak_line(speech: SpeechBackend | None, spec: ShotSpec, out: Path) -> SpeechResult | None:
    """Speak the shot's line, faster (up to `MAX_SPEECH_SPEED`) when it would not fit the shot."""
    if spec.line is None or speech is None:
        return None
    room = max(0.5, spec.duration - SPEECH_MARGIN)
    result = speech.speak(spec.line.text, spec.line.voice, out)
    if result.duration > room:
        speed = min(MAX_SPEECH_SPEED, result.duration / room * 1.03)
        result = speech.speak(spec.line.text, spec.line.voice, out, speed=speed)
    return result


@contextmanager
def timed(timings: dict[str, float], stage: str) -> Iterator[None]:
    """Record the seconds the block takes under `stage`."""
    started = time.perf_counter()
    try:
        yield
    finally:
        timings[stage] = round(time.perf_counter() - started, 4)
