"""Takes: the content-keyed store of rendered shots, and making a take from a spec.

A take's key is the hash of everything that determines it (`take_hash`), so an unchanged shot reuses its take
across passes, notes and runs; a take whose files were lost or damaged is found (`take_problem`) and made again.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from agents.context import Context
from agents.events import Emitter, RenderEvent
from agents.project import Project, write_model
from agents.specs import candidate_spec, shot_spec
from agents.state import Film, ShotStatus, Take
from tools.files import content_key, disk_full, sha256_of
from tools.render.base import ImageBackend, SpeechBackend, VideoBackend
from tools.render.executors import RenderedShot
from tools.render.spec import ShotSpec

RENDERER_CACHE_VERSION = 2


def take_hash(spec: ShotSpec, images: ImageBackend, video: VideoBackend, speech: SpeechBackend | None = None) -> str:
    """The cache key: the spec plus the backends and models that turn it into pixels and sound."""
    key = {
        "spec": spec.model_dump(mode="json", exclude={"reference_weight"} if spec.reference_weight is None else None),
        "image": [images.name, images.model, images.parameters],
        "video": [video.name, video.model, video.parameters],
        "version": RENDERER_CACHE_VERSION,
    }
    if spec.line is not None:
        key["speech"] = [speech.name, speech.model, speech.parameters] if speech is not None else None
    return content_key(key)


def cached_take(project: Project, content_hash: str) -> Take | None:
    """A finished take from an earlier pass or run, if its files are all still there and undamaged."""
    take = stored_take(project, content_hash)
    if take is None or take_problem(project.root, take):
        return None
    return take.model_copy(update={"cache_hit": True, "render_seconds": 0.0})


def stored_take(project: Project, content_hash: str) -> Take | None:
    """The take record in the take store, whatever the state of its files."""
    record = project.take_dir(content_hash) / "take.json"
    try:
        return Take.model_validate_json(record.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def take_problem(root: Path, take: Take) -> str:
    """Why the take's files cannot be used (missing, empty, changed since they were rendered), or ''."""
    for path in (take.keyframe, take.clip, take.audio, take.ambience):
        if not path:
            continue
        file = root / path
        if not file.is_file() or file.stat().st_size == 0:
            return f"{path} is missing or empty"
        expected = take.checksums.get(path)
        if expected and sha256_of(file) != expected:
            return f"{path} is damaged (its checksum changed since it was rendered)"
    return ""


def restore_takes(film: Film, context: Context, emit: Emitter) -> list[str]:
    """Render again, in place, every current take whose files were lost or damaged since it was made.

    The cut runs this first: a resumed or revised run may find a take that a crash, a full disk or a person
    damaged after the render node finished. A take that cannot be made again is dropped and its shot marked
    failed, for the critic to reshoot.
    """
    log = []
    for shot in film.shots():
        take = shot.take
        problem = take_problem(context.project.root, take) if take is not None else ""
        if not problem:
            continue
        number = next((n for n, t in enumerate(shot.candidates, 1) if t.content_hash == take.content_hash), 1)
        spec = candidate_spec(shot_spec(film, shot), number)
        content_hash = take_hash(spec, context.images, context.video, context.speech)
        shutil.rmtree(context.project.take_dir(take.content_hash), ignore_errors=True)
        with context.render_slots:
            result = make_take(spec, content_hash, context, emit)
        remade = result.get("rendered", {}).get(shot.id)
        shot.takes.pop()
        if remade is None:
            shot.status = ShotStatus.FAILED
            log.append(f"render: {shot.id} take {problem}, and rendering it again failed: {result['failed'][shot.id]}")
        else:
            shot.takes.append(remade)
            log.append(f"render: {shot.id} take {problem}; rendered it again")
    return log


def make_take(spec: ShotSpec, content_hash: str, context: Context, emit: Emitter) -> dict:
    """Render the shot's keyframe, clip and line into its take folder, as `render_shot` returns them."""
    emit(RenderEvent(status="start", shot=spec.shot_id))
    folder = fresh_take_folder(context.project, content_hash)
    started = time.perf_counter()
    try:
        rendered = context.renderer.render(spec.resolved(context.project.root), folder)
    except Exception as error:  # noqa: BLE001 - any backend failure becomes a reviewable shot failure
        shutil.rmtree(folder, ignore_errors=True)
        emit(RenderEvent(status="failed", shot=spec.shot_id, error=str(error)))
        full = disk_full(error, context.project.root)
        if full is not None:
            raise full from error
        return {"failed": {spec.shot_id: f"{type(error).__name__}: {error}"}, "log": [f"render: {spec.shot_id} failed"]}
    take = take_record(spec, content_hash, rendered, context, seconds=round(time.perf_counter() - started, 3))
    store_take(folder, take, context.project.root)
    emit(RenderEvent(status="done", shot=spec.shot_id, seconds=take.render_seconds, keyframe=take.keyframe))
    return {
        "rendered": {spec.shot_id: take},
        "failed": {spec.shot_id: ""},
        "log": [f"render: {spec.shot_id} took {take.render_seconds:.2f} s"],
    }


def fresh_take_folder(project: Project, content_hash: str) -> Path:
    """The take's folder, empty: whatever a killed render of this take left half-written is removed first."""
    folder = project.take_dir(content_hash)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def take_record(spec: ShotSpec, content_hash: str, rendered: RenderedShot, context: Context, *, seconds: float) -> Take:
    """The take as the film and the take store record it: its files, models, parameters and checksums."""
    root = context.project.root
    image, clip, speech = rendered.image, rendered.clip, rendered.speech
    ambience = clip.audio if clip.audio is not None and clip.audio.is_relative_to(root) else None
    return Take(
        shot_id=spec.shot_id,
        content_hash=content_hash,
        keyframe=str(image.path.relative_to(root)),
        clip=str(clip.path.relative_to(root)),
        audio=str(speech.path.relative_to(root)) if speech is not None else "",
        audio_seconds=round(speech.duration, 3) if speech is not None else 0.0,
        ambience=str(ambience.relative_to(root)) if ambience is not None else "",
        speech_backend=context.speech.name if speech is not None and context.speech is not None else "",
        image_backend=context.images.name,
        video_backend=context.video.name,
        model=" + ".join(dict.fromkeys(m for m in (image.model, clip.model, speech.model if speech else "") if m)),
        seed=spec.seed,
        parameters=take_parameters(spec, context),
        duration=clip.duration,
        render_seconds=seconds,
        timings=rendered.timings,
        models={"image": image.model, "video": clip.model, **({"speech": speech.model} if speech is not None else {})},
        worker=rendered.worker,
        checksums={
            str(path.relative_to(root)): sha256_of(path)
            for path in (image.path, clip.path, ambience, speech.path if speech is not None else None)
            if path is not None
        },
    )


def take_parameters(spec: ShotSpec, context: Context) -> dict[str, str | int | float | bool]:
    """The frame size and timing of the take, and every parameter the image and video backends were given."""
    return {
        "width": spec.width,
        "height": spec.height,
        "fps": spec.fps,
        "num_frames": spec.num_frames,
        **{f"image.{key}": value for key, value in context.images.parameters.items()},
        **{f"video.{key}": value for key, value in context.video.parameters.items()},
    }


def store_take(folder: Path, take: Take, root: Path) -> None:
    """Write take.json last, so a take folder with a record is a finished take; a full disk stops the run."""
    try:
        write_model(folder / "take.json", take)
    except OSError as error:
        shutil.rmtree(folder, ignore_errors=True)
        full = disk_full(error, root)
        if full is None:
            raise
        raise full from error
