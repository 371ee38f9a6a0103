"""A whole film through the `openai` preset, against the FAKE OpenAI media server the tests start.

Real Chroma, real checkpoints and real ffmpeg; the fake server checks every request the SDK makes and
answers with real pictures, clips and speech. A scripted fake LLM plays the crew.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from audio import level_db, read_audio
from fake_crew import PREMISE, crew
from fake_openai_media import FakeOpenAIMediaServer

from agents.critic import RESTRAINED
from agents.run import new_run, run_film
from agents.state import ShotStatus
from tools.edit.probe import probe_video
from tools.edit.subtitles import parse_srt
from tools.settings import OpenAIMediaSettings, RenderSettings, Settings


@pytest.fixture
def server():
    with FakeOpenAIMediaServer(polls_before_done=1) as fake:
        yield fake


def openai_settings(tmp_path: Path, url: str) -> Settings:
    # The preset's clips are camera moves now that OpenAI's Sora API is retired; the fake server still offers
    # the videos API, as a compatible server may, so the video backend is chosen explicitly.
    render = RenderSettings(
        preset="openai",
        video_backend="openai",
        width=320,
        fps=12,
        openai=OpenAIMediaSettings(base_url=url, api_key="test-key", poll_interval=0.01, max_retries=0),
    )
    return Settings(projects_dir=tmp_path / "projects", target_seconds=10, max_review_rounds=1, render=render)


def test_a_premise_becomes_a_cut_made_by_openai_models(tmp_path, make_context, server):
    settings = openai_settings(tmp_path, server.url)
    assert (settings.render.image_backend, settings.render.video_backend) == ("openai", "openai")
    project = new_run(settings, premise=PREMISE)
    outcome = run_film(settings, project, context=make_context(crew(), project, settings))
    assert outcome.finished and not server.problems
    shots = outcome.film.shots()
    assert all(shot.take is not None and shot.take.video_backend == "openai" for shot in shots)
    assert len(server.requests_to("POST", "/images/generations")) == len(shots)
    assert len(server.requests_to("POST", "/videos")) >= len(shots)
    spoken = [shot for shot in shots if shot.dialogue is not None]
    assert spoken and len(server.requests_to("POST", "/audio/speech")) >= len(spoken)
    facts = probe_video(project.root / outcome.cut.video)
    assert (facts.width, facts.height) == (320, 180) and facts.audio_codec == "aac"
    sound = read_audio(project.root / outcome.cut.video)
    for cue in parse_srt(project.root / outcome.cut.subtitles):
        assert level_db(sound, cue.start + 0.05, cue.start + 0.5) > -30, cue.text
    manifest = json.loads(project.manifest_file.read_text())
    roles = {model["role"]: model for model in manifest["models"]}
    assert roles["image"]["model"] == "gpt-image-1" and roles["video"]["model"] == "sora-2"
    assert roles["speech"]["backend"] == "openai"


def test_a_refused_clip_fails_its_shot_and_the_critic_reshoots_it_restrained(tmp_path, make_context, server):
    settings = openai_settings(tmp_path, server.url).model_copy(update={"max_review_rounds": 2})
    project = new_run(settings, premise=PREMISE)
    server.fail_next("moderation", "/videos", times=1)
    outcome = run_film(settings, project, context=make_context(crew(), project, settings))
    assert outcome.finished
    first_round = outcome.film.review_rounds[0]
    refused = [verdict for verdict in first_round.verdicts if not verdict.passed]
    assert len(refused) == 1 and "content policy" in refused[0].reasons[0]
    assert refused[0].change.kind == "new_prompt" and refused[0].change.direction == RESTRAINED
    shot = outcome.film.shot(refused[0].shot_id)
    assert shot.status is ShotStatus.RENDERED and RESTRAINED in shot.prompt
    assert shot.id in outcome.cut.shot_ids and outcome.review.passed
