"""Time one shot through each render backend, and the same work done directly on the library underneath.

    .venv/bin/python bench/render.py                       # CPU: tiny random-weight pipelines, a few seconds each
    .venv/bin/python bench/render.py --arch full --device cuda --width 1024 --steps 4   # a GPU machine
    .venv/bin/python bench/render.py --only video-families --arch full --device cuda --width 768 --height 512 \
        --steps 40 --video-frames 121 --fps 24 --seconds 5    # the video presets' models, from the HF cache

Each row times `repeats` calls through Director's backend and `repeats` of the direct call, interleaved, after
one warm-up call each (which loads the pipeline), and reports medians and their ratio: the backend's overhead.
Diffusers pipelines are built with random weights (`--arch tiny`: toy sizes; `--arch full`: SD 1.5 and Stable
Video Diffusion at their real sizes), since timing does not need trained weights and nothing may be fetched.
The OpenAI rows run against the FAKE OpenAI media server of the tests, so they time the client side only.
The current families (LTX-2, Wan 2.2 TI2V 5B, HunyuanVideo 1.5 in `bench/render_families.py`; Qwen-Image-Edit
and FLUX.2 klein in `bench/render_image_families.py`): tiny pipelines with `--arch tiny`, the presets' real
models with `--arch full`.
"""

from __future__ import annotations

import argparse
import base64
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import diffusers
import numpy as np
import torch
import transformers
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from render_families import bench_family, family_model  # noqa: E402

from tools.render.animatic.clip import AnimaticVideoBackend, write_clip  # noqa: E402
from tools.render.animatic.keyframe import AnimaticImageBackend  # noqa: E402
from tools.render.diffusers.common import generator_for, pick_device  # noqa: E402
from tools.render.diffusers.images import DiffusersImageBackend  # noqa: E402
from tools.render.diffusers.video import DiffusersVideoBackend  # noqa: E402
from tools.render.espeak import EspeakSpeechBackend  # noqa: E402
from tools.render.spec import CameraMove, ShotSpec, Voice  # noqa: E402
from tools.settings import DiffusersSettings  # noqa: E402

PROMPT = "wide establishing shot, a lighthouse on black rocks at dusk, storm clouds, 35mm lens, cinematic"
LINE = "Hold on, Biscuit. The light has to burn until morning."


@dataclass
class Row:
    backend: str
    work: str
    backend_s: float
    direct_s: float | None
    throughput: str

    @property
    def ratio(self) -> str:
        return f"{self.backend_s / self.direct_s:.3f}" if self.direct_s else "n/a"


def median_pair(through: Callable[[], object], direct: Callable[[], object] | None, repeats: int) -> tuple:
    """Medians of `repeats` interleaved calls of each, after one warm-up call of each."""
    through()
    if direct is not None:
        direct()
    times: dict[str, list[float]] = {"through": [], "direct": []}
    for _ in range(repeats):
        for name, call in (("through", through), ("direct", direct)):
            if call is None:
                continue
            started = time.perf_counter()
            call()
            times[name].append(time.perf_counter() - started)
    return statistics.median(times["through"]), statistics.median(times["direct"]) if direct else None


def shot(width: int, height: int, seconds: float, fps: int, **changes) -> ShotSpec:
    fields = dict(
        shot_id="s01-01",
        scene_number=1,
        shot_number=1,
        prompt=PROMPT,
        negative_prompt="blurry, watermark",
        width=width,
        height=height,
        seed=1234,
        fps=fps,
        duration=seconds,
        camera_move=CameraMove.PUSH_IN,
    )
    return ShotSpec(**(fields | changes))


def bench_animatic(spec: ShotSpec, work: Path, repeats: int) -> list[Row]:
    images, video = AnimaticImageBackend(), AnimaticVideoBackend()
    keyframe = images.generate(spec, work / "animatic-key.png").path
    still = np.asarray(Image.open(keyframe).convert("RGB").resize((spec.width, spec.height)))
    through, direct = median_pair(
        lambda: video.animate(spec, keyframe, work / "animatic.mp4"),
        lambda: write_clip(
            [still] * spec.num_frames, work / "animatic-direct.mp4", (spec.width, spec.height), spec.fps
        ),
        repeats,
    )
    drawn, _ = median_pair(lambda: images.generate(spec, work / "animatic-key.png"), None, repeats)
    return [
        Row("animatic", "keyframe (drawn, no library call)", drawn, None, f"{1 / drawn:.1f} images/s"),
        Row("animatic", "clip vs encoding a still", through, direct, f"{spec.duration / through:.1f} s of video/s"),
    ]


def bench_espeak(work: Path, repeats: int) -> list[Row]:
    speech = EspeakSpeechBackend()
    spoken: list[float] = []

    def speak() -> None:
        spoken.append(speech.speak(LINE, Voice(espeak="en-us+f3"), work / "line.wav").duration)

    through, _ = median_pair(speak, None, repeats)
    return [Row("espeak", "one line of dialogue", through, None, f"{spoken[-1] / through:.0f} s of speech/s")]


def bench_diffusers_image(folder: Path, spec: ShotSpec, options: DiffusersSettings, work: Path, repeats: int) -> list:
    backend = DiffusersImageBackend(str(folder), options)
    pipe = backend.pipeline
    device = pick_device(options.device)

    def direct(count: int = 1) -> None:
        output = pipe(
            prompt=[spec.prompt] * count,
            negative_prompt=[spec.negative_prompt] * count,
            width=spec.width,
            height=spec.height,
            num_inference_steps=options.steps,
            guidance_scale=options.guidance_scale,
            generator=[generator_for(device, spec.seed + i) for i in range(count)],
        )
        for i, image in enumerate(output.images):
            image.save(work / f"direct-{i}.png")

    one, one_direct = median_pair(lambda: backend.generate(spec, work / "key.png"), direct, repeats)
    batch = [spec.model_copy(update={"seed": spec.seed + i, "shot_id": f"s01-0{i + 1}"}) for i in range(4)]
    outs = [work / f"key-{i}.png" for i in range(4)]
    four, four_direct = median_pair(lambda: backend.generate_batch(batch, outs), lambda: direct(4), repeats)
    return [
        Row("diffusers", "keyframe", one, one_direct, f"{1 / one:.2f} images/s"),
        Row("diffusers", "4 keyframes in one batch", four, four_direct, f"{4 / four:.2f} images/s"),
    ]


def bench_diffusers_video(folder: Path, spec: ShotSpec, options: DiffusersSettings, work: Path, repeats: int) -> list:
    backend = DiffusersVideoBackend(str(folder), options)
    pipe = backend.pipeline
    call = backend.plan(spec)
    keyframe = work / "video-key.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (spec.height, spec.width, 3), np.uint8)).save(keyframe)
    device = pick_device(options.device)

    def direct() -> None:
        frames = pipe(
            image=Image.open(keyframe).convert("RGB").resize((call.width, call.height)),
            width=call.width,
            height=call.height,
            num_frames=call.num_frames,
            num_inference_steps=options.video_steps,
            fps=call.fps,
            decode_chunk_size=min(call.num_frames, 8),
            max_guidance_scale=options.video_guidance_scale,
            min_guidance_scale=min(1.0, options.video_guidance_scale or 1.0),
            generator=generator_for(device, spec.seed),
            output_type="np",
        ).frames[0]
        pictures = [(np.clip(f, 0, 1) * 255).astype(np.uint8) for f in frames]
        write_clip(pictures, work / "video-direct.mp4", (call.width, call.height), call.fps)

    through, direct_s = median_pair(lambda: backend.animate(spec, keyframe, work / "clip.mp4"), direct, repeats)
    work_text = f"{call.num_frames} frames at {call.width}x{call.height} -> {spec.duration:g} s clip"
    return [
        Row(
            "diffusers",
            f"image-to-video ({type(pipe).__name__}), {work_text}",
            through,
            direct_s,
            f"{spec.duration / through:.2f} s of video/s",
        )
    ]


def bench_openai(spec: ShotSpec, work: Path, repeats: int) -> list[Row]:
    from fake_openai_media import FakeOpenAIMediaServer

    from tools.render.openai.client import openai_client
    from tools.render.openai.images import OpenAIImageBackend
    from tools.render.openai.speech import OpenAISpeechBackend
    from tools.settings import OpenAIMediaSettings

    with FakeOpenAIMediaServer(polls_before_done=0) as server:
        client = openai_client(OpenAIMediaSettings(base_url=server.url, api_key=server.api_key, max_retries=0))
        images = OpenAIImageBackend(client)
        speech = OpenAISpeechBackend(client)

        def direct_image() -> None:
            answer = client.images.generate(model="gpt-image-1", prompt=spec.prompt, size="1536x1024", quality="medium")
            (work / "openai-direct.png").write_bytes(base64.b64decode(answer.data[0].b64_json))

        def direct_speech() -> None:
            answer = client.audio.speech.create(
                model="gpt-4o-mini-tts", voice="coral", input=LINE, response_format="wav"
            )
            (work / "openai-direct.wav").write_bytes(answer.content)

        image, image_direct = median_pair(lambda: images.generate(spec, work / "openai.png"), direct_image, repeats)
        said, said_direct = median_pair(
            lambda: speech.speak(LINE, Voice(openai="coral"), work / "openai.wav"), direct_speech, repeats
        )
    return [
        Row(
            "openai (fake server)", "keyframe: generate, decode, crop", image, image_direct, f"{1 / image:.1f} images/s"
        ),
        Row("openai (fake server)", "a line of speech", said, said_direct, f"{1 / said:.1f} lines/s"),
    ]


def build_models(arch: str, root: Path) -> tuple[Path, Path]:
    if arch == "tiny":
        from tiny_pipelines import build_sd_pipeline, build_svd_pipeline

        return build_sd_pipeline(root / "sd"), build_svd_pipeline(root / "svd")
    from full_size_pipelines import build_sd15, build_svd

    return build_sd15(root / "sd15"), build_svd(root / "svd")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arch", choices=["tiny", "full"], default="tiny")
    parser.add_argument("--only", default="animatic,espeak,diffusers-image,diffusers-video,video-families,openai")
    parser.add_argument("--families", default="ltx-2,wan2.2-ti2v-5b,hunyuan-video-1.5,qwen-image-edit,flux2-klein")
    parser.add_argument(
        "--family-model", action="append", default=[], help="NAME=FOLDER_OR_HUB_ID: time this model for a family"
    )
    parser.add_argument("--device", default="auto")
    parser.add_argument("--dtype", default="auto")
    parser.add_argument("--width", type=int, default=128)
    parser.add_argument("--height", type=int, default=0, help="default: 16:9 of the width")
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--fps", type=int, default=12)
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--video-frames", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--models", type=Path, default=None, help="keep the built pipelines in this folder")
    args = parser.parse_args()
    diffusers.utils.logging.set_verbosity_error()
    diffusers.utils.logging.disable_progress_bar()
    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    only = set(args.only.split(","))
    height = args.height or 2 * round(args.width * 9 / 16 / 2)
    spec = shot(args.width, height, args.seconds, args.fps)
    options = DiffusersSettings(
        device=args.device,
        dtype=args.dtype,
        steps=args.steps,
        guidance_scale=1.0,
        batch_wait=0.0,
        video_steps=args.steps,
        video_guidance_scale=1.0,
        video_frames=args.video_frames,
    )
    device = pick_device(args.device)
    name = torch.cuda.get_device_name() if device == "cuda" else platform.processor() or platform.machine()
    print(
        f"device: {device} ({name}), torch {torch.__version__}, {torch.get_num_threads()} threads; "
        f"arch {args.arch}; shot {args.width}x{height}, {args.seconds:g} s at {args.fps} fps; "
        f"{args.steps} steps; median of {args.repeats}"
    )
    rows: list[Row] = []
    skipped: list[str] = []
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        if "animatic" in only:
            rows += bench_animatic(spec, work, args.repeats)
        if "espeak" in only:
            rows += bench_espeak(work, args.repeats)
        if only & {"diffusers-image", "diffusers-video"}:
            sd, svd = build_models(args.arch, args.models or work / "models")
            if "diffusers-image" in only:
                rows += bench_diffusers_image(sd, spec, options, work, args.repeats)
            if "diffusers-video" in only:
                rows += bench_diffusers_video(svd, spec, options, work, args.repeats)
        if "video-families" in only:
            given = dict(pair.split("=", 1) for pair in args.family_model)
            for name in args.families.split(","):
                model, why = family_model(name, args.arch, args.models or work / "models", given)
                if not model:
                    skipped.append(f"{name}: {why}")
                    continue
                rows.append(Row(*bench_family(name, model, spec, options, work, args.repeats, median_pair)))
        if "openai" in only:
            rows += bench_openai(spec, work, args.repeats)
    print("| backend | work | through Director (s) | direct on the library (s) | ratio | throughput |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        direct = f"{row.direct_s:.4f}" if row.direct_s else "n/a"
        print(f"| {row.backend} | {row.work} | {row.backend_s:.4f} | {direct} | {row.ratio} | {row.throughput} |")
    for line in skipped:
        print(f"skipped {line}")


if __name__ == "__main__":
    main()
