"""The backend registry: a backend added by one entry renders a shot, unknown names fail clearly, flags drive costs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import ClassVar

import imageio_ffmpeg
import numpy as np
import pytest
from PIL import Image

from agents.costs import render_price
from tools.render.base import BackendError, ImageBackend, ImageResult
from tools.render.executors import LocalExecutor, render_with
from tools.render.presets import licence_of
from tools.render.registry import BACKENDS, OPENAI_TERMS, BackendEntry, BackendRegistry
from tools.render.setup import RenderBackends
from tools.render.spec import ShotSpec
from tools.settings import Prices, RenderSettings, Settings

TEAL = (20, 160, 150)


class FlatColourImageBackend:
    """A keyframe of one colour at exactly the shot's size: the smallest backend there can be."""

    name: ClassVar[str] = "flat"
    supports_reference_image: ClassVar[bool] = False
    max_prompt_tokens: ClassVar[int | None] = None

    @classmethod
    def from_settings(cls, settings: Settings) -> FlatColourImageBackend:
        return cls()

    @property
    def model(self) -> str:
        return "flat-teal"

    @property
    def parameters(self) -> dict[str, str | int | float | bool]:
        return {"colour": "teal"}

    def generate(self, spec: ShotSpec, out: Path) -> ImageResult:
        Image.new("RGB", (spec.width, spec.height), TEAL).save(out, format="PNG")
        return ImageResult(path=out, width=spec.width, height=spec.height, backend=self.name, model=self.model)


FLAT = BackendEntry("image", "flat", f"{__name__}:FlatColourImageBackend")


def settings_naming(tmp_path: Path, **render: str) -> Settings:
    return Settings(projects_dir=tmp_path / "projects", render=RenderSettings(**render), executor="local")


def make_spec() -> ShotSpec:
    return ShotSpec(
        shot_id="s1", scene_number=1, shot_number=1, prompt="a teal wall", width=160, height=96, seed=3, fps=12,
        duration=1.0,
    )  # fmt: skip


def first_frame(path: Path) -> np.ndarray:
    reader = imageio_ffmpeg.read_frames(str(path))
    meta = next(reader)
    width, height = meta["size"]
    frame = np.frombuffer(next(reader), np.uint8).reshape(height, width, 3)
    reader.close()
    return frame


def test_a_backend_added_by_one_entry_renders_a_shot(tmp_path):
    registry = BACKENDS.with_backend(FLAT)
    backends = RenderBackends.from_settings(
        settings_naming(tmp_path, image_backend="flat", video_backend="animatic", speech_backend="none"),
        registry=registry,
    )
    assert isinstance(backends.images, FlatColourImageBackend) and isinstance(backends.images, ImageBackend)
    assert backends.speech is None and backends.executor is None
    assert backends.video.parameters == {"marks": False}  # a flat keyframe is no animatic's: no slate drawn on it

    folder = tmp_path / "take"
    folder.mkdir()
    executor = LocalExecutor(backends.images, backends.video, backends.speech)
    rendered = executor.render(make_spec(), folder)

    assert rendered.image.path == folder / "keyframe.png" and rendered.image.backend == "flat"
    with Image.open(rendered.image.path) as keyframe:
        assert keyframe.size == (160, 96)
        assert keyframe.convert("RGB").getpixel((80, 48)) == TEAL
    assert rendered.clip.path == folder / "clip.mp4" and rendered.clip.num_frames == 12
    frame = first_frame(rendered.clip.path)
    assert frame.shape == (96, 160, 3)
    assert np.abs(frame[8:-8, 8:-8].astype(int) - np.asarray(TEAL)).max() <= 12
    assert sorted(path.name for path in folder.iterdir()) == ["clip.mp4", "keyframe.png"]


def test_render_with_takes_the_registered_backend_directly(tmp_path):
    images = BACKENDS.with_backend(FLAT).build(settings_naming(tmp_path, image_backend="flat"), "image")
    animatic = BACKENDS.build(settings_naming(tmp_path), "video")
    rendered = render_with(make_spec(), tmp_path, images, animatic, None)
    assert rendered.image.model == "flat-teal" and set(rendered.timings) == {"image", "video"}
    assert rendered.clip.path.stat().st_size > 0


def test_with_backend_leaves_the_default_table_alone_and_replaces_by_name():
    extended = BACKENDS.with_backend(FLAT)
    assert BACKENDS.find("image", "flat") is None
    assert extended.names("image") == ("animatic", "diffusers", "openai", "flat")
    paid_flat = extended.with_backend(BackendEntry("image", "flat", FLAT.target, paid=True))
    assert paid_flat.names("image") == extended.names("image") and paid_flat.entry("image", "flat").paid
    assert not extended.entry("image", "flat").paid
    assert extended.backend_class("image", "flat") is FlatColourImageBackend
    assert BACKENDS.names("speech") == ("espeak", "openai")
    with pytest.raises(KeyError, match="no video backend 'flat'"):
        extended.entry("video", "flat")


def test_an_unknown_backend_names_the_variable_and_the_choices(tmp_path):
    with pytest.raises(
        BackendError,
        match=r"unknown image backend 'nope': set DIRECTOR_RENDER__IMAGE_BACKEND to animatic, diffusers or openai$",
    ):
        RenderBackends.from_settings(settings_naming(tmp_path, image_backend="nope"))
    with pytest.raises(BackendError, match="DIRECTOR_RENDER__IMAGE_BACKEND to animatic, diffusers, openai or flat"):
        RenderBackends.from_settings(
            settings_naming(tmp_path, image_backend="nope"), registry=BACKENDS.with_backend(FLAT)
        )
    with pytest.raises(BackendError, match="DIRECTOR_RENDER__VIDEO_BACKEND to animatic, diffusers or openai"):
        RenderBackends.from_settings(
            settings_naming(tmp_path, video_backend="flat"), registry=BACKENDS.with_backend(FLAT)
        )
    with pytest.raises(BackendError, match="DIRECTOR_RENDER__SPEECH_BACKEND to espeak, openai or none"):
        RenderBackends.from_settings(settings_naming(tmp_path, speech_backend="mumble"))


def test_the_default_flags_drive_costs():
    prices = Prices(gpu_per_hour=3.6)
    assert BACKENDS.entry("image", "openai").paid and BACKENDS.entry("speech", "openai").paid
    assert not any(BACKENDS.entry(medium, "animatic").paid for medium in ("image", "video"))
    assert render_price("image", "openai", "gpt-image-1", 2.0, 10.0, prices) == pytest.approx(2 * 0.063)
    assert render_price("video", "openai", "sora-2", 4.0, 100.0, prices) == pytest.approx(0.4)
    assert render_price("image", "animatic", "animatic-1", 5.0, 100.0, prices) == 0.0
    assert render_price("speech", "espeak", "espeak-ng", 1.0, 100.0, prices) == 0.0
    assert render_price("image", "diffusers", "stabilityai/sd-turbo", 5.0, 100.0, prices) == pytest.approx(0.1)
    assert render_price("image", "mystery", "m", 5.0, 100.0, prices) == 0.0


def test_a_registered_backend_is_priced_by_its_flags_not_its_name():
    prices = Prices(gpu_per_hour=3.6, image_per_picture={"flat-teal": 0.5})
    registry = BACKENDS.with_backend(BackendEntry("image", "flat", FLAT.target, paid=True))
    assert render_price("image", "flat", "flat-teal", 3.0, 10.0, prices, registry) == pytest.approx(1.5)
    on_gpu = BackendRegistry(entries=(BackendEntry("image", "flat", FLAT.target, wants_gpu=True),))
    assert render_price("image", "flat", "flat-teal", 3.0, 36.0, prices, on_gpu) == pytest.approx(0.036)
    assert render_price("image", "flat", "flat-teal", 3.0, 36.0, prices) == 0.0


def test_gpu_requests_and_licences_follow_the_flags(tmp_path):
    assert BACKENDS.gpus_per_renderer(settings_naming(tmp_path, image_backend="diffusers")) == 1.0
    assert BACKENDS.gpus_per_renderer(settings_naming(tmp_path, video_backend="openai")) == 0.0
    gpu_flat = BACKENDS.with_backend(BackendEntry("image", "flat", FLAT.target, wants_gpu=True))
    assert gpu_flat.gpus_per_renderer(settings_naming(tmp_path, image_backend="flat")) == 1.0
    assert BACKENDS.gpus_per_renderer(settings_naming(tmp_path, image_backend="flat")) == 0.0
    assert licence_of("openai", "sora-2") == OPENAI_TERMS
    assert licence_of("animatic", "animatic-1").startswith("Apache-2.0")
    licensed = BACKENDS.with_backend(BackendEntry("image", "flat", FLAT.target, licence="CC0-1.0"))
    assert licence_of("flat", "anything", licensed) == "CC0-1.0"


def test_only_the_chosen_backends_are_imported(tmp_path):
    code = (
        "import sys\n"
        "from tools.render.setup import RenderBackends\n"
        "from tools.settings import RenderSettings, Settings\n"
        "RenderBackends.from_settings(Settings(render=RenderSettings(speech_backend='none'), executor='local'))\n"
        "print(sorted(m for m in sys.modules if m.startswith(('tools.render.openai', 'tools.render.diffusers'))))\n"
        "print('tools.render.animatic.keyframe' in sys.modules, 'torch' in sys.modules, 'openai' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=Path(__file__).parents[1], timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["[]", "True False False"]


def test_every_built_in_entry_points_at_a_backend_of_its_medium_with_the_same_name_and_flags():
    protocols = {"image": "generate", "video": "animate", "speech": "speak"}
    for entry in BACKENDS.entries:
        backend = entry.backend_class()
        assert backend.name == entry.name
        assert callable(getattr(backend, protocols[entry.medium]))
        if entry.medium != "speech":
            assert backend.supports_reference_image is entry.supports_reference
