"""How a film says it was made: AI-generated tags in the MP4, a manifest valid against its schema, cost."""

from __future__ import annotations

import json
import shutil
import subprocess

import jsonschema
import pytest
from certificates import make_pki
from fake_crew import PREMISE, crew
from PIL import Image
from typer.testing import CliRunner

from agents.costs import film_cost
from agents.manifest import SCHEMA_FILE, manifest_schema
from agents.run import new_run, run_film
from agents.state import Character, Feedback, Film, ReferenceImage, Scene, Setting, Shot, Take
from tools.deliver.content_credentials import TRAINED_ALGORITHMIC_MEDIA, read_credentials
from tools.references import store_reference
from tools.settings import Prices, ProvenanceSettings, Settings
from ui.cli import app


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory, minilm):
    """A film made from a premise, then given a reference picture with a declared source."""
    from agents.run import open_context

    tmp_path = tmp_path_factory.mktemp("provenance")
    pki = make_pki(tmp_path)
    signing = ProvenanceSettings(c2pa_certificate_chain=pki.chain, c2pa_private_key=pki.key)
    settings = Settings(projects_dir=tmp_path / "projects", target_seconds=10, max_review_rounds=1, provenance=signing)
    project = new_run(settings, premise=PREMISE)
    with open_context(settings, project, llm=crew(), embedding_function=minilm) as context:
        run_film(settings, project, context=context)
        film = Film.model_validate_json(project.film_file.read_text())
        picture = tmp_path / "agnes.png"
        Image.new("RGB", (64, 64), (200, 170, 40)).save(picture)
        stored = store_reference(project.root, "character", film.characters[0].id, picture)
        reference = ReferenceImage(
            kind="character", owner_id=film.characters[0].id, path=stored.path, source="photographed by the director"
        )
        outcome = run_film(settings, project, context=context, feedback=Feedback(reference=reference))
    return settings, project, outcome


def test_the_shipped_schema_is_the_manifests_and_every_manifest_validates(made):
    _, project, _ = made
    assert json.loads(SCHEMA_FILE.read_text()) == manifest_schema(), "regenerate it: python -m agents.manifest"
    manifest = json.loads(project.manifest_file.read_text())
    jsonschema.Draft202012Validator(json.loads(SCHEMA_FILE.read_text())).validate(manifest)
    broken = {**manifest, "shots": [{"shot_id": 3}]}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(json.loads(SCHEMA_FILE.read_text())).validate(broken)


def test_the_manifest_names_every_model_with_its_licence_and_every_reference_with_its_source(made):
    _, project, outcome = made
    manifest = json.loads(project.manifest_file.read_text())
    assert manifest["ai_generated"] is True
    licences = {model["role"]: model["licence"] for model in manifest["models"]}
    assert licences["image"].startswith("Apache-2.0") and licences["speech"] == "GPL-3.0-or-later"
    assert all(licences.values())
    assert [ref["source"] for ref in manifest["references"]] == ["photographed by the director"]
    assert manifest["notes"][-1]["reference"]["path"].startswith("references/characters/")
    for shot in manifest["shots"]:
        assert shot["prompt"] and shot["seed"] >= 0 and shot["take"]
    assert manifest["cost"]["total"] == 0.0, "everything ran on this machine"
    stages = {line["stage"] for line in manifest["cost"]["lines"]}
    assert stages == {"image", "video", "speech", "llm"}
    assert manifest["cost"]["takes_rendered"] == sum(len(s.takes) for s in outcome.film.shots())


def test_every_cut_says_it_is_ai_generated_to_ffprobe(made):
    _, project, outcome = made
    ffprobe = shutil.which("ffprobe")
    assert ffprobe, "ffprobe is missing: install Debian's ffmpeg package (make test does)"
    shown = subprocess.run(
        [ffprobe, "-v", "error", "-show_format", "-of", "json", str(project.root / outcome.cut.video)],
        capture_output=True,
        check=True,
    )
    tags = json.loads(shown.stdout)["format"]["tags"]
    assert tags["ai_generated"] == "true" and tags["director_run"] == outcome.film.id
    assert "AI-generated" in tags["comment"] and tags["encoder_tool"].startswith("Director")
    assert tags["title"] == outcome.film.title


def test_every_cut_is_signed_with_a_content_credential_when_a_certificate_is_set(made):
    _, project, outcome = made
    assert outcome.cut.content_credential.startswith("urn:")
    credential = read_credentials(project.root / outcome.cut.video)
    assert credential["title"] == outcome.film.title
    assert credential["validation_state"] == "Valid"
    assert [status["code"] for status in credential["validation_status"]] == ["signingCredential.untrusted"]
    text = json.dumps(credential)
    assert TRAINED_ALGORITHMIC_MEDIA in text and "espeak-ng" in text and outcome.film.id in text


def test_director_stats_shows_time_tokens_renders_and_cost(made):
    settings, project, _ = made
    result = CliRunner().invoke(
        app, ["stats", project.film_id, "--projects-dir", str(settings.projects_dir)], env={"COLUMNS": "160"}
    )
    assert result.exit_code == 0, result.output
    for words in ("time per agent", "Writer", "Render", "LLM", "the 10 slowest shots", "total 0.0000 USD"):
        assert words in result.output
    missing = CliRunner().invoke(app, ["stats", "no-such-run", "--projects-dir", str(settings.projects_dir)])
    assert missing.exit_code == 2 and "no-such-run" in missing.output


def take(shot_id: str, **fields) -> Take:
    base = dict(shot_id=shot_id, content_hash=shot_id * 8, keyframe="k.png", clip="c.mp4", seed=1, duration=4.0)
    return Take(**(base | fields))


def test_paid_services_are_priced_by_the_unit_and_reused_takes_cost_nothing():
    openai = dict(image_backend="openai", video_backend="openai", speech_backend="openai")
    models = {"image": "gpt-image-1", "video": "sora-2", "speech": "gpt-4o-mini-tts"}
    spoken = take("a", audio="a.wav", audio_seconds=30.0, models=models, timings={"image": 9.0}, **openai)
    silent = take("b", models={"image": "gpt-image-1", "video": "sora-2"}, **openai)
    reused = take("b", models={"image": "gpt-image-1", "video": "sora-2"}, cache_hit=True, **openai)
    gpu = take("c", image_backend="diffusers", video_backend="animatic", timings={"image": 1800.0})
    gpu = gpu.model_copy(update={"models": {"image": "stabilityai/sdxl-turbo", "video": "animatic-1"}})
    film = Film(
        id="f",
        title="F",
        characters=[Character(id="mai", name="Mai", look="coat")],
        settings=[Setting(id="pier", name="Pier", look="planks")],
        scenes=[
            Scene(
                id="s01",
                number=1,
                setting_id="pier",
                shots=[
                    Shot(id="s01-01", scene_id="s01", order=1, takes=[spoken]),
                    Shot(id="s01-02", scene_id="s01", order=2, takes=[silent, reused]),
                    Shot(id="s01-03", scene_id="s01", order=3, takes=[gpu]),
                ],
            )
        ],
    )
    usage = {"prompt_tokens": 1_000_000, "completion_tokens": 500_000, "seconds": 12.0}
    report = film_cost(film, usage, "gpt-4o-mini", Prices(gpu_per_hour=2.0))
    amounts = {(line.stage, line.model): line.amount for line in report.lines}
    assert amounts[("image", "gpt-image-1")] == pytest.approx(2 * 0.063)
    assert amounts[("video", "sora-2")] == pytest.approx(8 * 0.10)
    assert amounts[("speech", "gpt-4o-mini-tts")] == pytest.approx(0.5 * 0.015)
    assert amounts[("image", "stabilityai/sdxl-turbo")] == pytest.approx(1.0), "half an hour of a $2/h GPU"
    assert amounts[("llm", "gpt-4o-mini")] == pytest.approx(0.15 + 0.30)
    assert report.takes_rendered == 3 and report.takes_reused == 1
    assert report.total == pytest.approx(sum(amounts.values()))
    assert report.compute_seconds["openai"] == pytest.approx(9.0)
