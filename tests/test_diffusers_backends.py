"""The diffusers backends on tiny random-weight pipelines built offline: the user's path, real pixels."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest
from PIL import Image
from tiny_pipelines import IP_ADAPTER_WEIGHTS, TinyModels

from tools.render.animatic.drawing import keyframe_size
from tools.render.base import BackendError, ImageBackend, VideoBackend
from tools.render.diffusers.common import MicroBatcher
from tools.render.diffusers.images import DiffusersImageBackend
from tools.render.diffusers.video import FAMILIES, DiffusersVideoBackend, frame_count, motion_prompt, time_map
from tools.render.setup import image_backend_from_settings, video_backend_from_settings
from tools.render.spec import CameraMove, CastMember, ShotSpec
from tools.settings import DiffusersSettings, RenderSettings, Settings

pytestmark = pytest.mark.diffusers

TOLERANCE = 2
"""Largest difference, in 8-bit levels, between the same take drawn alone and inside a batch."""


def image_settings(model: Path | str, **options) -> Settings:
    options = {"steps": 2, "batch_wait": 0.0} | options
    return Settings(
        render=RenderSettings(image_backend="diffusers", image_model=str(model), diffusers=DiffusersSettings(**options))
    )


def video_settings(model: Path | str, **options) -> Settings:
    options = {"video_steps": 2, "video_guidance_scale": 1.0} | options
    return Settings(
        render=RenderSettings(video_backend="diffusers", video_model=str(model), diffusers=DiffusersSettings(**options))
    )


def make_spec(**changes) -> ShotSpec:
    fields = dict(
        shot_id="s1",
        scene_number=1,
        shot_number=1,
        prompt="a lighthouse on a cliff at dusk",
        width=96,
        height=64,
        seed=7,
        fps=8,
        duration=1.0,
    )
    return ShotSpec(**(fields | changes))


def pixels(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB")).astype(np.int16)


def max_difference(a: Path, b: Path) -> int:
    return int(np.abs(pixels(a) - pixels(b)).max())


def textured_picture(path: Path, size: tuple[int, int], seed: int) -> Path:
    rng = np.random.default_rng(seed)
    coarse = rng.uniform(20, 235, (size[1] // 8 + 1, size[0] // 8 + 1, 3)).astype(np.uint8)
    Image.fromarray(coarse).resize(size, Image.Resampling.BICUBIC).save(path)
    return path


def read_clip(path: Path) -> tuple[dict, np.ndarray]:
    reader = imageio_ffmpeg.read_frames(str(path))
    meta = next(reader)
    w, h = meta["size"]
    frames = np.stack([np.frombuffer(f, np.uint8).reshape(h, w, 3) for f in reader])
    return meta, frames


# Images


def test_keyframe_is_the_shots_exact_size_and_follows_the_seed(tiny: TinyModels, tmp_path: Path) -> None:
    backend = image_backend_from_settings(image_settings(tiny.sd))
    assert isinstance(backend, DiffusersImageBackend) and isinstance(backend, ImageBackend)
    assert backend.supports_reference_image and backend.model == str(tiny.sd)
    spec = make_spec(width=100, height=66)
    first = backend.generate(spec, tmp_path / "a.png")
    again = backend.generate(spec, tmp_path / "b.png")
    other = backend.generate(spec.model_copy(update={"seed": 8}), tmp_path / "c.png")
    with Image.open(first.path) as image:
        assert image.size == (100, 66) and image.format == "PNG"
    assert (first.width, first.height, first.backend, first.model) == (100, 66, "diffusers", str(tiny.sd))
    assert max_difference(first.path, again.path) == 0
    assert max_difference(first.path, other.path) > 10
    assert pixels(first.path).std() > 1
    assert backend.pipeline_calls == 3 and backend.batch_sizes == [1, 1, 1]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png", "b.png", "c.png"]


def test_concurrent_shots_share_one_call_and_keep_their_pixels(tiny: TinyModels, tmp_path: Path) -> None:
    specs = [make_spec(shot_id=f"s{i}", seed=10 + i, prompt=f"shot number {i}") for i in range(4)]
    specs[2] = specs[2].model_copy(update={"negative_prompt": "blurry"})
    batched = image_backend_from_settings(image_settings(tiny.sd, batch_size=4, batch_wait=2.0))
    batched.pipeline  # noqa: B018 - load before the threads start, so they arrive together
    start = threading.Barrier(len(specs))
    results: dict[str, Path] = {}

    def render(spec: ShotSpec) -> None:
        start.wait()
        results[spec.shot_id] = batched.generate(spec, tmp_path / f"batched-{spec.shot_id}.png").path

    threads = [threading.Thread(target=render, args=(spec,)) for spec in specs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert batched.pipeline_calls == 1 and batched.batch_sizes == [4]

    alone = DiffusersImageBackend(str(tiny.sd), DiffusersSettings(steps=2, batch_size=1), pipeline=batched.pipeline)
    for spec in specs:
        single = alone.generate(spec, tmp_path / f"alone-{spec.shot_id}.png").path
        assert max_difference(single, results[spec.shot_id]) <= TOLERANCE
    assert alone.pipeline_calls == 4
    assert max_difference(results["s0"], results["s1"]) > 10


def test_shots_of_different_shapes_are_not_mixed(tiny: TinyModels, tmp_path: Path) -> None:
    backend = DiffusersImageBackend(str(tiny.sd), DiffusersSettings(steps=2, batch_size=2))
    specs = [make_spec(shot_id=f"s{i}", seed=i, width=96 if i % 2 else 64) for i in range(5)]
    results = backend.generate_batch(specs, [tmp_path / f"{spec.shot_id}.png" for spec in specs])
    assert [(r.width, r.height) for r in results] == [(s.width, s.height) for s in specs]
    assert backend.batch_sizes == [2, 1, 2]
    alone = backend.generate(specs[4], tmp_path / "alone.png")
    assert max_difference(alone.path, results[4].path) <= TOLERANCE


def test_a_wait_gathers_late_callers_and_a_full_batch_goes_at_once(tiny: TinyModels, tmp_path: Path) -> None:
    backend = DiffusersImageBackend(str(tiny.sd), DiffusersSettings(steps=2, batch_size=2, batch_wait=5.0))
    backend.pipeline  # noqa: B018
    started = time.monotonic()
    first = threading.Thread(target=backend.generate, args=(make_spec(seed=1), tmp_path / "1.png"))
    first.start()
    time.sleep(0.2)
    backend.generate(make_spec(seed=2), tmp_path / "2.png")
    first.join(timeout=30)
    assert backend.batch_sizes == [2]
    assert time.monotonic() - started < 4.0


def test_batcher_hands_each_caller_its_own_result_and_passes_the_lead_on() -> None:
    batches: list[list[int]] = []

    def square(items: list[int]) -> list[int]:
        batches.append(items)
        time.sleep(0.05)
        return [item * item for item in items]

    batcher = MicroBatcher(square, max_size=2, wait=0.5)
    results: dict[int, int] = {}
    start = threading.Barrier(5)

    def call(item: int) -> None:
        start.wait()
        results[item] = batcher.submit("same shape", item)

    threads = [threading.Thread(target=call, args=(item,)) for item in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert results == {item: item * item for item in range(5)}
    assert sorted(len(batch) for batch in batches) == [1, 2, 2]
    assert sorted(item for batch in batches for item in batch) == list(range(5))


def test_batcher_gives_every_caller_the_batch_error() -> None:
    def fail(items: list[int]) -> list[int]:
        raise BackendError(f"{len(items)} shots failed")

    batcher = MicroBatcher(fail, max_size=3, wait=1.0)
    errors: list[str] = []

    def call(item: int) -> None:
        try:
            batcher.submit("key", item)
        except BackendError as error:
            errors.append(str(error))

    threads = [threading.Thread(target=call, args=(item,)) for item in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert errors == ["3 shots failed"] * 3


def test_ip_adapter_steers_shots_with_a_reference(tiny: TinyModels, tmp_path: Path) -> None:
    reference = textured_picture(tmp_path / "mara.png", (48, 48), seed=1)
    mara = CastMember(id="mara", name="Mara", look="red coat", color="#d94f3d", reference_images=[str(reference)])
    settings = image_settings(
        tiny.sd,
        ip_adapter=str(tiny.ip_adapter),
        ip_adapter_weight_name=IP_ADAPTER_WEIGHTS,
        ip_adapter_scale=1.0,
    )
    backend = image_backend_from_settings(settings)
    plain = backend.generate(make_spec(), tmp_path / "plain.png")
    assert not backend.ip_adapter_loaded and plain.model == str(tiny.sd)
    steered = backend.generate(make_spec(cast=[mara]), tmp_path / "steered.png")
    assert backend.ip_adapter_loaded and "IP-Adapter" in steered.model
    assert backend.pipeline.unet.encoder_hid_proj is not None
    assert max_difference(plain.path, steered.path) > 10
    again = backend.generate(make_spec(), tmp_path / "plain-after.png")
    assert max_difference(plain.path, again.path) <= TOLERANCE

    other = textured_picture(tmp_path / "oskar.png", (48, 48), seed=2)
    oskar = mara.model_copy(update={"id": "oskar", "reference_images": [str(other)]})
    assert max_difference(steered.path, backend.generate(make_spec(cast=[oskar]), tmp_path / "o.png").path) > 0


def test_references_are_ignored_without_an_adapter(tiny: TinyModels, tmp_path: Path) -> None:
    reference = textured_picture(tmp_path / "mara.png", (48, 48), seed=1)
    mara = CastMember(id="mara", name="Mara", look="red coat", color="#d94f3d", reference_images=[str(reference)])
    backend = image_backend_from_settings(image_settings(tiny.sd))
    plain = backend.generate(make_spec(), tmp_path / "plain.png")
    with_reference = backend.generate(make_spec(cast=[mara]), tmp_path / "ref.png")
    assert max_difference(plain.path, with_reference.path) == 0 and not backend.ip_adapter_loaded


def test_an_unreadable_reference_fails_the_shot_by_name(tiny: TinyModels, tmp_path: Path) -> None:
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a picture")
    mara = CastMember(id="mara", name="Mara", look="coat", color="#d94f3d", reference_images=[str(broken)])
    settings = image_settings(tiny.sd, ip_adapter=str(tiny.ip_adapter), ip_adapter_weight_name=IP_ADAPTER_WEIGHTS)
    with pytest.raises(BackendError, match=r"shot s9: cannot read the reference picture .*broken\.png"):
        image_backend_from_settings(settings).generate(make_spec(shot_id="s9", cast=[mara]), tmp_path / "k.png")
    assert not (tmp_path / "k.png").exists()


def test_a_wrong_adapter_fails_clearly(tiny: TinyModels, tmp_path: Path) -> None:
    reference = textured_picture(tmp_path / "mara.png", (48, 48), seed=1)
    mara = CastMember(id="mara", name="Mara", look="coat", color="#d94f3d", reference_images=[str(reference)])
    settings = image_settings(tiny.sd, ip_adapter=str(tiny.ip_adapter), ip_adapter_weight_name="missing.safetensors")
    with pytest.raises(BackendError, match="IP-Adapter .* could not be loaded"):
        image_backend_from_settings(settings).generate(make_spec(cast=[mara]), tmp_path / "k.png")


def test_an_adapter_on_a_family_without_one_is_refused(tiny: TinyModels, tmp_path: Path) -> None:
    from diffusers import DiffusionPipeline

    reference = textured_picture(tmp_path / "mara.png", (48, 48), seed=1)
    mara = CastMember(id="mara", name="Mara", look="coat", color="#d94f3d", reference_images=[str(reference)])
    no_adapters = DiffusionPipeline.from_pretrained(tiny.text_to_video)
    options = DiffusersSettings(steps=2, ip_adapter=str(tiny.ip_adapter), ip_adapter_weight_name=IP_ADAPTER_WEIGHTS)
    backend = DiffusersImageBackend("tiny-t2v", options, pipeline=no_adapters)
    with pytest.raises(BackendError, match=r"TextToVideoSDPipeline \('tiny-t2v'\) cannot take an IP-Adapter"):
        backend.generate(make_spec(cast=[mara]), tmp_path / "k.png")


def test_reshoot_starts_from_the_previous_take(tiny: TinyModels, tmp_path: Path) -> None:
    backend = DiffusersImageBackend(str(tiny.sd), DiffusersSettings(steps=2))
    fresh = backend.generate(make_spec(), tmp_path / "fresh.png")
    take_a = textured_picture(tmp_path / "take-a.png", (96, 64), seed=3)
    take_b = textured_picture(tmp_path / "take-b.png", (120, 80), seed=4)
    reshoot = make_spec(init_image=str(take_a), init_strength=0.4)
    first = backend.generate(reshoot, tmp_path / "r1.png")
    again = backend.generate(reshoot, tmp_path / "r2.png")
    from_b = backend.generate(reshoot.model_copy(update={"init_image": str(take_b)}), tmp_path / "r3.png")
    assert max_difference(first.path, again.path) == 0
    assert max_difference(first.path, fresh.path) > 10 and max_difference(first.path, from_b.path) > 10
    with Image.open(from_b.path) as image:
        assert image.size == (96, 64)
    assert "Img2Img" in type(backend._img2img).__name__
    assert backend._img2img.unet is backend.pipeline.unet

    pair = [reshoot, reshoot.model_copy(update={"shot_id": "s2", "init_image": str(take_b)})]
    batch = backend.generate_batch(pair, [tmp_path / "b1.png", tmp_path / "b2.png"])
    assert backend.batch_sizes[-1] == 2
    assert max_difference(batch[0].path, first.path) <= TOLERANCE
    assert max_difference(batch[1].path, from_b.path) <= TOLERANCE


def test_vae_tiling_is_switched_on(tiny: TinyModels, tmp_path: Path) -> None:
    backend = image_backend_from_settings(image_settings(tiny.sd, vae_tiling=True))
    backend.generate(make_spec(), tmp_path / "k.png")
    assert backend.pipeline.vae.use_tiling


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"offload": "model"}, "offload .* needs a GPU"),
        ({"attention_backend": "flash"}, "does not take an attention backend"),
        ({"device": "cuda"}, "device 'cuda' is not available"),
    ],
)
def test_placement_that_cannot_work_here_is_refused(
    tiny: TinyModels, options: dict, message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # the same answer on a machine with a GPU
    with pytest.raises(BackendError, match=message):
        image_backend_from_settings(image_settings(tiny.sd, **options)).pipeline  # noqa: B018


# Finding models


def test_a_model_missing_from_the_cache_fails_at_once_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    started = time.monotonic()
    with pytest.raises(BackendError, match=r"image model 'nobody/no-such-model' is not in the local .*hf download"):
        image_backend_from_settings(image_settings("nobody/no-such-model"))
    with pytest.raises(BackendError, match=r"video model 'nobody/no-such-video'"):
        video_backend_from_settings(video_settings("nobody/no-such-video"))
    assert time.monotonic() - started < 5


def test_a_missing_folder_or_no_model_is_named(tmp_path: Path) -> None:
    with pytest.raises(BackendError, match="neither a folder that exists"):
        image_backend_from_settings(image_settings(tmp_path / "nowhere" / "model"))
    with pytest.raises(BackendError, match="no image model is set"):
        image_backend_from_settings(image_settings(""))


def test_a_folder_without_a_pipeline_fails_on_load_with_its_name(tmp_path: Path) -> None:
    folder = tmp_path / "empty-model"
    folder.mkdir()
    backend = image_backend_from_settings(image_settings(folder))
    with pytest.raises(BackendError, match=r"image model '.*empty-model' could not be loaded.*model_index\.json"):
        backend.generate(make_spec(), tmp_path / "k.png")


# Video


def test_frame_counts_follow_each_family() -> None:
    ltx, wan, svd = (
        FAMILIES[name] for name in ("LTXImageToVideoPipeline", "WanPipeline", "StableVideoDiffusionPipeline")
    )
    assert ltx.image_to_video and not wan.image_to_video and svd.stable_video_diffusion
    assert (ltx.fps, wan.fps, FAMILIES["CogVideoXImageToVideoPipeline"].fps, svd.fps) == (24, 16, 8, 7)
    assert frame_count(49, ltx.frame_step, 161) == 49 and frame_count(50, ltx.frame_step, 161) == 57
    assert frame_count(500, ltx.frame_step, 161) == 161 and frame_count(2, ltx.frame_step, 161) == 9
    assert frame_count(30, wan.frame_step, 81) == 33 and frame_count(14, svd.frame_step, 25) == 14


def test_time_map_keeps_speed_when_covered_and_stretches_when_short() -> None:
    def ramp(count: int) -> np.ndarray:
        return np.arange(count, dtype=np.float32)[:, None, None, None] * np.ones((1, 2, 2, 3), np.float32)

    natural = [float(f[0, 0, 0]) for f in time_map(ramp(17), 16, make_spec(fps=8, duration=1.0))]
    assert natural == [0, 2, 4, 6, 8, 10, 12, 14]
    stretched = [float(f[0, 0, 0]) for f in time_map(ramp(5), 8, make_spec(fps=8, duration=2.0))]
    assert len(stretched) == 16 and stretched[0] == 0 and stretched[-1] == 4
    assert np.allclose(np.diff(stretched), 4 / 15)


def test_motion_prompt_names_the_camera_move() -> None:
    assert motion_prompt(make_spec(camera_move=CameraMove.PUSH_IN)).endswith("The camera slowly pushes in.")


def test_svd_turns_a_keyframe_into_the_shots_clip(tiny: TinyModels, tmp_path: Path) -> None:
    settings = video_settings(tiny.svd, video_frames=3, video_width=64, video_height=64)
    backend = video_backend_from_settings(settings)
    assert isinstance(backend, DiffusersVideoBackend) and isinstance(backend, VideoBackend)
    spec = make_spec(fps=8, duration=1.0)
    keyframe = textured_picture(tmp_path / "kf.png", (96, 64), seed=5)
    plan = backend.plan(spec)
    assert backend.family.image_to_video and (plan.num_frames, plan.fps, plan.width, plan.height) == (3, 7, 64, 64)
    result = backend.animate(spec, keyframe, tmp_path / "clip.mp4")
    meta, frames = read_clip(result.path)
    assert meta["codec"] == "h264" and meta["pix_fmt"].startswith("yuv420p")
    assert meta["fps"] == 8 and tuple(meta["size"]) == (96, 64)
    assert len(frames) == spec.num_frames == 8 == result.num_frames
    assert (result.width, result.height, result.fps, result.duration) == (96, 64, 8, 1.0)
    assert result.backend == "diffusers" and result.model == str(tiny.svd)
    assert np.abs(frames[0].astype(int) - frames[-1].astype(int)).max() > 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4", "kf.png"]

    other = textured_picture(tmp_path / "other.png", keyframe_size(96, 64), seed=6)
    _, other_frames = read_clip(backend.animate(spec, other, tmp_path / "other.mp4").path)
    assert np.abs(frames.astype(int) - other_frames.astype(int)).max() > 10
    assert backend.pipeline_calls == 2


def test_svd_makes_the_shot_at_its_own_rate_by_default(tiny: TinyModels, tmp_path: Path) -> None:
    backend = video_backend_from_settings(video_settings(tiny.svd))
    spec = make_spec(fps=12, duration=0.5, width=64, height=64)
    assert backend.plan(spec).num_frames == 5
    result = backend.animate(spec, textured_picture(tmp_path / "kf.png", (64, 64), 5), tmp_path / "clip.mp4")
    assert imageio_ffmpeg.count_frames_and_secs(str(result.path)) == (6, 0.5)


def test_text_to_video_needs_no_keyframe(tiny: TinyModels, tmp_path: Path) -> None:
    backend = video_backend_from_settings(video_settings(tiny.text_to_video, video_frames=2))
    assert not backend.family.image_to_video
    spec = make_spec(fps=6, duration=1.0, width=64, height=64)
    result = backend.animate(spec, tmp_path / "no-keyframe.png", tmp_path / "clip.mp4")
    meta, frames = read_clip(result.path)
    assert len(frames) == 6 and meta["fps"] == 6 and tuple(meta["size"]) == (64, 64)


def test_a_named_video_pipeline_class_is_used_or_refused(tiny: TinyModels) -> None:
    backend = video_backend_from_settings(video_settings(tiny.svd, video_pipeline="StableVideoDiffusionPipeline"))
    assert type(backend.pipeline).__name__ == "StableVideoDiffusionPipeline"
    with pytest.raises(BackendError, match="'NoSuchPipeline' is not a diffusers pipeline class"):
        video_backend_from_settings(video_settings(tiny.svd, video_pipeline="NoSuchPipeline"))


def test_video_failures_name_the_shot(tiny: TinyModels, tmp_path: Path) -> None:
    backend = video_backend_from_settings(video_settings(tiny.svd, video_frames=2))
    with pytest.raises(BackendError, match="shot s4: cannot read keyframe"):
        backend.animate(make_spec(shot_id="s4"), tmp_path / "missing.png", tmp_path / "clip.mp4")
    with pytest.raises(BackendError, match="shot s5: H.264 in yuv420p needs an even size"):
        backend.animate(make_spec(shot_id="s5", width=97), tmp_path / "missing.png", tmp_path / "clip.mp4")
    assert not (tmp_path / "clip.mp4").exists()
