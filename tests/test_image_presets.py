"""The reference-conditioned image presets (qwen-image-edit, flux2-klein) on tiny random-weight pipelines.

Each family's tiny pipeline is built offline once (`tiny_image_pipelines`), then loaded the way a user loads it:
through the preset's own settings with only the model overridden, once as a folder and once as a hub id that
resolves offline from a Hugging Face cache laid out like the real one. A short film renders on the CPU through
the real graph; a reference picture given to a character then reaches the pipeline's `image` argument (a spy on
the real pipeline's `__call__` records every call). Also: OpenAI's retired Sora API is named as such.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
import threading
import warnings
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import huggingface_hub.constants
import numpy as np
import pytest
from diffusers import Flux2KleinPipeline, QwenImageEditPlusPipeline
from fake_crew import PREMISE, crew
from PIL import Image
from tiny_image_pipelines import TinyImageModels, build_tiny_image_models

from agents.models_report import models_report
from agents.run import new_run, run_film
from agents.state import Feedback, ReferenceImage
from tools.edit.probe import probe_video
from tools.references import store_reference
from tools.render.base import BackendError
from tools.render.diffusers.images import DiffusersImageBackend
from tools.render.diffusers.reference_edit import FLUX2_KLEIN, QWEN_IMAGE_EDIT
from tools.render.openai import video as openai_video
from tools.render.preset_catalogue import PRESETS
from tools.render.spec import ShotSpec
from tools.settings import DiffusersSettings, OpenAIMediaSettings, RenderSettings, Settings

pytestmark = [pytest.mark.diffusers, pytest.mark.slow]

DIRECTOR = Path(sys.executable).with_name("director")


@dataclass(frozen=True)
class Family:
    preset: str
    pipeline_class: type
    folder_of: str
    """The `TinyImageModels` field holding its folder."""
    hub_id: str


FAMILIES = [
    Family("qwen-image-edit", QwenImageEditPlusPipeline, "qwen_image_edit", "tiny-tests/qwen-image-edit"),
    Family("flux2-klein", Flux2KleinPipeline, "flux2_klein", "tiny-tests/flux2-klein"),
]


@pytest.fixture(scope="module")
def tiny_images(tmp_path_factory: pytest.TempPathFactory) -> TinyImageModels:
    return build_tiny_image_models(tmp_path_factory.mktemp("tiny-image-models"))


@pytest.fixture(scope="module")
def hub_cache(tmp_path_factory: pytest.TempPathFactory, tiny_images: TinyImageModels) -> Path:
    """A Hugging Face cache holding both tiny pipelines under hub ids, laid out as `hf download` leaves it."""
    cache = tmp_path_factory.mktemp("hf-cache")
    for family in FAMILIES:
        repo = cache / f"models--{family.hub_id.replace('/', '--')}"
        shutil.copytree(getattr(tiny_images, family.folder_of), repo / "snapshots" / "0123abcd")
        (repo / "refs").mkdir()
        (repo / "refs" / "main").write_text("0123abcd")
    return cache


@dataclass
class CallSpy:
    """Records the arguments of every call of the real pipeline class, then lets the call run."""

    calls: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def install(self, monkeypatch: pytest.MonkeyPatch, pipeline_class: type) -> None:
        real = pipeline_class.__call__

        @functools.wraps(real)
        def spied(pipe, *args, **kwargs):
            with self.lock:
                self.calls.append(dict(kwargs))
            return real(pipe, *args, **kwargs)

        monkeypatch.setattr(pipeline_class, "__call__", spied)

    def calls_for(self, words: str) -> list[dict[str, Any]]:
        return [call for call in self.calls if any(words in prompt for prompt in call["prompt"])]


def preset_settings(tmp_path: Path, family: Family, model: str) -> Settings:
    """The preset's own settings with the model overridden, and the steps and guidance cut for a CPU."""
    render = RenderSettings(
        preset=family.preset,
        image_model=model,
        speech_backend="none",
        width=128,
        fps=8,
        diffusers=DiffusersSettings(steps=2, guidance_scale=1.0, batch_wait=0.0),
    )
    return Settings(projects_dir=tmp_path / "projects", target_seconds=8, max_review_rounds=1, render=render)


def same_picture(given: Image.Image, reference: np.ndarray) -> bool:
    resized = np.asarray(given.convert("RGB").resize(reference.shape[1::-1]), np.float32)
    return float(np.abs(resized - reference).mean()) < 8


@pytest.mark.parametrize("family", FAMILIES, ids=lambda family: family.preset)
def test_a_preset_loads_from_a_folder_and_from_the_cache(tiny_images, hub_cache, family, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    folder = str(getattr(tiny_images, family.folder_of))
    from_folder = preset_settings(tmp_path, family, folder)
    assert from_folder.render.image_model == folder and from_folder.render.video_backend == "animatic"
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(hub_cache))
    for settings in (from_folder, preset_settings(tmp_path, family, family.hub_id)):
        backend = DiffusersImageBackend.from_settings(settings)
        assert backend.family is not None and backend.family.pipeline_class == family.pipeline_class.__name__
        assert type(backend.pipeline) is family.pipeline_class
        spec = ShotSpec(
            shot_id="s1", scene_number=1, shot_number=1, prompt="a lighthouse", width=96, height=64, seed=1, fps=8,
            duration=1.0, palette=["#203040", "#c0a060"],
        )  # fmt: skip
        result = backend.generate(spec, tmp_path / f"{backend.family.pipeline_class}-{len(spec.prompt)}.png")
        with Image.open(result.path) as keyframe:
            assert keyframe.size == (96, 64) and np.asarray(keyframe).std() > 1
    assert PRESETS[family.preset].render["image_model"] in {
        "Qwen/Qwen-Image-Edit-2511",
        "black-forest-labs/FLUX.2-klein-4B",
    }


@pytest.mark.parametrize("family", FAMILIES, ids=lambda family: family.preset)
def test_a_film_renders_and_a_reference_reaches_the_pipeline(tiny_images, family, tmp_path, make_context, monkeypatch):
    spy = CallSpy()
    spy.install(monkeypatch, family.pipeline_class)
    settings = preset_settings(tmp_path, family, str(getattr(tiny_images, family.folder_of)))
    project = new_run(settings, premise=PREMISE)
    context = make_context(crew(), project, settings)
    outcome = run_film(settings, project, context=context)
    assert outcome.finished, outcome.log
    shots = outcome.film.shots()
    assert shots and all(shot.take is not None and shot.take.image_backend == "diffusers" for shot in shots)
    assert {shot.take.video_backend for shot in shots} == {"animatic"}
    for shot in shots:
        with Image.open(project.root / shot.take.keyframe) as keyframe:
            assert keyframe.size == (128, 72)
    facts = probe_video(project.root / outcome.cut.video)
    assert (facts.width, facts.height) == (128, 72)
    assert sum(len(call["prompt"]) for call in spy.calls) >= len(shots)
    assert all(call["width"] == 128 for call in spy.calls)
    first_calls = list(spy.calls)
    if family.pipeline_class is Flux2KleinPipeline:
        assert all("image" not in call for call in first_calls), "no reference yet: text to image alone"
    else:
        # Qwen-Image-Edit edits a plain canvas in the setting's palette when a shot has no reference.
        for call in first_calls:
            assert len(call["image"]) == 1 and call["image"][0].size == (call["width"], call["height"])
            assert np.asarray(call["image"][0], np.float32).std(axis=1).max() < 1, "flat bands, no detail"

    agnes = next(c for c in outcome.film.characters if c.name == "Agnes")
    picture = tmp_path / "agnes.png"
    reference = np.random.default_rng(3).integers(0, 255, (96, 96, 3), dtype=np.uint8)
    Image.fromarray(reference).save(picture)
    stored = store_reference(project.root, "character", agnes.id, picture)
    given = ReferenceImage(kind="character", owner_id=agnes.id, path=stored.path, palette=stored.palette)
    spy.calls.clear()
    revised = run_film(settings, project, context=context, feedback=Feedback(reference=given))
    assert revised.finished, revised.log
    with_agnes = [shot for shot in revised.film.shots() if agnes.id in shot.character_ids]
    without = [shot for shot in revised.film.shots() if agnes.id not in shot.character_ids]
    assert with_agnes and all(len(shot.takes) == 2 for shot in with_agnes)
    assert all(len(shot.takes) == 1 for shot in without), "shots without her are not redrawn"
    agnes_calls = spy.calls_for("Agnes as in the reference pictures")
    assert sum(len(call["prompt"]) for call in agnes_calls) == len(with_agnes)
    for call in agnes_calls:
        assert any(same_picture(image, reference.astype(np.float32)) for image in call["image"])
    assert len(spy.calls) == len(agnes_calls), "only her shots were drawn again"


def test_each_family_takes_the_pictures_it_accepts_in_order(tmp_path):
    reshoot = ShotSpec(
        shot_id="s1", scene_number=1, shot_number=1, prompt="p", width=96, height=64, seed=1, fps=8, duration=1.0,
        init_image="take.png", setting_references=["place.png"],
        cast=[{"id": "a", "name": "Agnes", "look": "old", "color": "#112233", "reference_images": ["a1.png", "a2.png"]},
              {"id": "b", "name": "Tom", "look": "young", "color": "#332211", "reference_images": ["b1.png"]}],
    )  # fmt: skip
    assert QWEN_IMAGE_EDIT.pictures_of(reshoot) == ("take.png", "a1.png", "a2.png")
    assert FLUX2_KLEIN.pictures_of(reshoot) == ("take.png", "a1.png", "a2.png", "b1.png")
    assert QWEN_IMAGE_EDIT.instruction(reshoot, 3).startswith("Rework picture 1, the last take")
    fresh = reshoot.model_copy(update={"init_image": ""})
    assert FLUX2_KLEIN.instruction(fresh, 4).startswith("The same Agnes, Tom as in the reference pictures")
    bare = fresh.model_copy(update={"cast": [], "setting_references": []})
    assert QWEN_IMAGE_EDIT.pictures_of(bare) == () and FLUX2_KLEIN.instruction(bare, 0) == "p"
    assert QWEN_IMAGE_EDIT.instruction(bare, 1).startswith("Paint a new picture over this plain canvas")


# OpenAI's Sora


def test_the_openai_preset_animates_its_keyframes_now_that_sora_is_retired():
    render = RenderSettings(preset="openai")
    assert (render.image_backend, render.video_backend, render.speech_backend) == ("openai", "animatic", "openai")
    assert "retired" in PRESETS["openai"].summary and "2026-09-24" in PRESETS["openai"].summary


def test_choosing_openai_video_against_openai_itself_warns_once(monkeypatch):
    monkeypatch.setattr(openai_video, "_warned_about_sora", threading.Event())
    media = OpenAIMediaSettings(base_url="https://api.openai.com/v1", api_key="test-key")
    settings = Settings(render=RenderSettings(video_backend="openai", openai=media))
    with pytest.warns(openai_video.SoraRetiredWarning, match="retired its Sora video API on 2026-09-24.*animatic"):
        openai_video.OpenAIVideoBackend.from_settings(settings)
    with pytest.warns() as later:
        openai_video.OpenAIVideoBackend.from_settings(settings)
        openai_video.warn_sora_retired("https://api.openai.com/v1")
        warnings.warn("sentinel", UserWarning, stacklevel=1)
    assert [type(w.message) for w in later] == [UserWarning], "warned once per process"
    elsewhere = Settings(
        render=RenderSettings(
            video_backend="openai", openai=media.model_copy(update={"base_url": "http://127.0.0.1:9/v1"})
        )
    )
    monkeypatch.setattr(openai_video, "_warned_about_sora", threading.Event())
    with pytest.warns() as compatible:
        openai_video.OpenAIVideoBackend.from_settings(elsewhere)
        warnings.warn("sentinel", UserWarning, stacklevel=1)
    assert [type(w.message) for w in compatible] == [UserWarning], "a compatible server is not OpenAI's"


class GoneHandler(BaseHTTPRequestHandler):
    """A FAKE server whose videos endpoint is gone: every request is answered with the status in `server.status`."""

    def do_POST(self) -> None:  # noqa: N802 - the http.server hook's name
        self.rfile.read(int(self.headers.get("content-length", 0)))
        body = json.dumps({"error": {"message": "The model sora-2 has been shut down.", "type": "invalid_request_error",
                                     "param": None, "code": "model_not_found"}}).encode()  # fmt: skip
        self.send_response(self.server.status)  # type: ignore[attr-defined]
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.mark.parametrize("status", [404, 410])
def test_a_shut_down_video_api_becomes_an_error_that_says_what_to_set(status, tmp_path):
    server = ThreadingHTTPServer(("127.0.0.1", 0), GoneHandler)
    server.status = status  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/v1"
        media = OpenAIMediaSettings(base_url=url, api_key="test-key", max_retries=0, timeout=5.0)
        backend = openai_video.OpenAIVideoBackend.from_settings(
            Settings(render=RenderSettings(video_backend="openai", openai=media))
        )
        keyframe = tmp_path / "key.png"
        Image.new("RGB", (320, 180), "#446688").save(keyframe)
        spec = ShotSpec(shot_id="s1", scene_number=1, shot_number=1, prompt="a pier", width=320, height=180, seed=1,
                        fps=12, duration=1.0)  # fmt: skip
        with pytest.raises(
            BackendError, match=rf"answered {status}.*retired.*2026-09-24.*VIDEO_BACKEND=animatic.*ltx-2"
        ):
            backend.animate(spec, keyframe, tmp_path / "clip.mp4")
        assert not (tmp_path / "clip.mp4").exists()
    finally:
        server.shutdown()
        server.server_close()


def test_director_models_lists_the_presets_with_licences_and_says_sora_is_retired(tmp_path):
    env = {**os.environ, "HF_HUB_CACHE": str(tmp_path / "hub"), "HF_HUB_OFFLINE": "1", "COLUMNS": "400"}
    done = subprocess.run([str(DIRECTOR), "models"], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if line.count("│") >= 4]
    rows = {line.split("│")[1].strip(): line for line in lines}
    assert "Qwen/Qwen-Image-Edit-2511 (missing)" in rows["qwen-image-edit"] and "apache-2.0" in rows["qwen-image-edit"]
    assert "black-forest-labs/FLUX.2-klein-4B (missing)" in rows["flux2-klein"] and "apache-2.0" in rows["flux2-klein"]
    summary = lines[lines.index(rows["openai"]) + 1]
    assert "OpenAI retired its Sora video API on 2026-09-24" in summary and "ltx-2" in summary
    notices = models_report(Settings(projects_dir=tmp_path)).notices
    assert [notice for notice in notices if "Sora" in notice and "2026-09-24" in notice and "animatic" in notice]
