"""manifest.json: how a film was made — every model, prompt, seed, take and timing."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

from pydantic import BaseModel, Field

from agents.costs import CostReport
from agents.project import Project, write_model
from agents.soundtrack import Soundtrack
from agents.state import CutFiles, Film, ReferenceImage, Review, Revision, TakeRank
from tools.look.consistency import ConsistencyReport

TOOL = f"Director (agent-director {version('agent-director')})"


class ModelUse(BaseModel):
    role: str
    backend: str
    model: str
    licence: str = Field(default="", description="As the model's publisher states it (an SPDX id where one exists).")


class ShotRecordEntry(BaseModel):
    shot_id: str
    scene: int
    order: int
    framing: str
    camera_move: str
    duration: float
    prompt: str
    negative_prompt: str
    seed: int
    take: str | None = None
    keyframe: str | None = None
    clip: str | None = None
    line: str | None = Field(default=None, description="The spoken line's text, when the shot has dialogue.")
    voice: dict | None = Field(default=None, description="The speaker's voice as every speech backend reads it.")
    audio: str | None = None
    models: str | None = Field(default=None, description="The models that made the take.")
    init_image: str | None = Field(default=None, description="The keyframe an image-to-image reshoot started from.")
    render_seconds: float | None = None
    worker: str | None = Field(default=None, description="Where the take rendered, when not in the run's process.")
    cache_hit: bool | None = None
    takes_rendered: int = 0
    reference_weight: float | None = Field(default=None, description="How strongly the shot followed its references.")
    coverage: list[TakeRank] = Field(
        default_factory=list, description="With several takes a shot: each take's score, best first, and who picked."
    )


class Manifest(BaseModel):
    """How a film was made. `manifest.schema.json` beside this module is its JSON schema."""

    schema_version: int = 2
    tool: str = TOOL
    film_id: str
    title: str
    logline: str
    written_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    source: str
    models: list[ModelUse]
    shots: list[ShotRecordEntry]
    cut: CutFiles | None = None
    llm_usage: dict = Field(default_factory=dict)
    review_rounds: list[Review] = Field(default_factory=list)
    timings: dict[str, float] = Field(default_factory=dict)
    ai_generated: bool = True
    references: list[ReferenceImage] = Field(
        default_factory=list, description="Every reference picture a note brought, with its declared source."
    )
    notes: list[Revision] = Field(default_factory=list, description="Every filmmaker's note and what it changed.")
    cost: CostReport | None = None
    consistency: ConsistencyReport | None = Field(
        default=None, description="Each character's face across the cut, from the latest review (dlib, offline)."
    )
    sound: Soundtrack | None = Field(
        default=None, description="The score's cue and the ambience of each scene, and who has a theme."
    )


def build_manifest(
    film: Film,
    cut: CutFiles | None,
    models: list[ModelUse],
    llm_usage: dict,
    timings: dict[str, float] | None = None,
    cost: CostReport | None = None,
) -> Manifest:
    shots = []
    for scene in film.scenes:
        for shot in scene.shots:
            take = shot.take
            speaker = film.character(shot.dialogue.character_id) if shot.dialogue else None
            shots.append(
                ShotRecordEntry(
                    shot_id=shot.id,
                    scene=scene.number,
                    order=shot.order,
                    framing=str(shot.framing),
                    camera_move=str(shot.camera_move),
                    duration=shot.duration,
                    prompt=shot.prompt,
                    negative_prompt=shot.negative_prompt,
                    seed=shot.seed,
                    take=take.content_hash if take else None,
                    keyframe=take.keyframe if take else None,
                    clip=take.clip if take else None,
                    line=shot.dialogue.text if shot.dialogue else None,
                    voice=speaker.voice.model_dump() if speaker is not None and speaker.voice is not None else None,
                    audio=take.audio or None if take else None,
                    models=take.model if take else None,
                    init_image=shot.reshoot_from or None,
                    render_seconds=take.render_seconds if take else None,
                    worker=take.worker or None if take else None,
                    cache_hit=take.cache_hit if take else None,
                    takes_rendered=sum(1 for t in shot.all_takes() if not t.cache_hit),
                    reference_weight=shot.reference_weight,
                    coverage=shot.ranking,
                )
            )
    return Manifest(
        film_id=film.id,
        title=film.title,
        logline=film.logline,
        source="screenplay" if film.screenplay else "premise",
        models=models,
        shots=shots,
        cut=cut,
        llm_usage=llm_usage,
        review_rounds=film.review_rounds,
        timings=timings or {},
        references=[note.reference for note in film.feedback if note.reference is not None],
        notes=film.feedback,
        cost=cost,
        consistency=film.review_rounds[-1].consistency if film.review_rounds else None,
        sound=film.sound,
    )


SCHEMA_FILE = Path(__file__).with_name("manifest.schema.json")
SCHEMA_ID = "urn:agent-director:manifest:2"


def manifest_schema() -> dict:
    """The JSON schema of `Manifest`; `manifest.schema.json` holds it (a test keeps the two equal)."""
    schema = Manifest.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = SCHEMA_ID
    return schema


def write_manifest(project: Project, manifest: Manifest) -> None:
    write_model(project.manifest_file, manifest)


if __name__ == "__main__":
    SCHEMA_FILE.write_text(json.dumps(manifest_schema(), indent=2, sort_keys=True) + "\n", encoding="utf-8")
