"""A whole film through tiny random-weight diffusers pipelines on the CPU, loaded the way users load models.

Keyframes come from an SD 1.5-shaped text-to-image pipeline with an IP-Adapter, clips from Stable Video
Diffusion, both saved to folders by `tiny_pipelines` and named in the settings like any model. A reference
picture then steers a character's shots through the adapter, and a note reshoots a shot from its last take.
"""

from __future__ import annotations

import numpy as np
import pytest
from fake_crew import PREMISE, crew
from PIL import Image
from tiny_pipelines import IP_ADAPTER_WEIGHTS

from agents.run import new_run, run_film
from agents.state import Feedback, ReferenceImage
from tools.edit.probe import probe_video
from tools.references import store_reference
from tools.settings import DiffusersSettings, RenderSettings, Settings

pytestmark = [pytest.mark.diffusers, pytest.mark.slow]


def tiny_settings(tmp_path, tiny) -> Settings:
    diffusers = DiffusersSettings(
        steps=2,
        video_steps=2,
        video_guidance_scale=1.0,
        video_frames=4,
        ip_adapter=str(tiny.ip_adapter),
        ip_adapter_weight_name=IP_ADAPTER_WEIGHTS,
    )
    render = RenderSettings(
        image_backend="diffusers",
        image_model=str(tiny.sd),
        video_backend="diffusers",
        video_model=str(tiny.svd),
        speech_backend="none",
        width=128,
        fps=8,
        max_parallel=4,
        diffusers=diffusers,
    )
    return Settings(projects_dir=tmp_path / "projects", target_seconds=8, max_review_rounds=1, render=render)


def test_a_film_renders_through_diffusers_pipelines_and_follows_a_reference(tmp_path, make_context, tiny):
    settings = tiny_settings(tmp_path, tiny)
    project = new_run(settings, premise=PREMISE)
    context = make_context(crew(), project, settings)
    outcome = run_film(settings, project, context=context)
    assert outcome.finished, outcome.log
    shots = outcome.film.shots()
    assert all(shot.take is not None for shot in shots)
    assert {shot.take.image_backend for shot in shots} == {"diffusers"} == {shot.take.video_backend for shot in shots}
    assert context.images.pipeline_calls < len(shots), "shots rendered together share pipeline calls"
    keyframe = Image.open(project.root / shots[0].take.keyframe)
    assert keyframe.size == (128, 72) and np.asarray(keyframe).std() > 1
    facts = probe_video(project.root / outcome.cut.video)
    assert (facts.width, facts.height) == (128, 72)
    assert outcome.cut.shot_ids == [shot.id for shot in shots]

    agnes = next(c for c in outcome.film.characters if c.name == "Agnes")
    picture = tmp_path / "agnes.png"
    Image.fromarray(np.random.default_rng(3).integers(0, 255, (48, 48, 3), dtype=np.uint8)).save(picture)
    stored = store_reference(project.root, "character", agnes.id, picture)
    reference = ReferenceImage(kind="character", owner_id=agnes.id, path=stored.path, palette=stored.palette)
    revised = run_film(settings, project, context=context, feedback=Feedback(reference=reference))
    with_agnes = [shot for shot in revised.film.shots() if agnes.id in shot.character_ids]
    assert with_agnes and context.images.ip_adapter_loaded
    assert all("IP-Adapter" in shot.take.model and len(shot.takes) == 2 for shot in with_agnes)

    target = with_agnes[0]
    noted = run_film(settings, project, context=context, feedback=Feedback(text="softer light", shot=target.id))
    reshot = noted.film.shot(target.id)
    assert reshot.reshoot_from == target.take.keyframe
    assert reshot.take.content_hash != target.take.content_hash
    before = np.asarray(Image.open(project.root / target.take.keyframe), np.float32)
    after = np.asarray(Image.open(project.root / reshot.take.keyframe), np.float32)
    assert 0 < np.abs(before - after).mean() < 60, "an image-to-image reshoot stays near the last take"
