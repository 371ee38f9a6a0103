"""OpenAI's images, videos and speech as Director backends: GPT-image keyframes, Sora clips, spoken lines.

Any server that speaks the same API works too (`DIRECTOR_RENDER__OPENAI__BASE_URL`). The SDK retries transient
failures itself (`max_retries`, `timeout` in `OpenAIMediaSettings`); whatever still fails leaves this module as a
`BackendError` that says what to change, so the critic can mark the shot failed and the user can act on it.
"""

from __future__ import annotations

import base64
import hashlib
import io
import logging
import math
import os
import struct
import subprocess
import tempfile
import threading
import time
import urllib.request
import wave
from pathlib import Path
from typing import ClassVar, Literal, get_args

import imageio_ffmpeg
import openai
from openai.types import Video, VideoSeconds, VideoSize
from PIL import Image, ImageOps, UnidentifiedImageError
from pydantic import BaseModel, ConfigDict, Field

from tools.edit.probe import ProbeError, probe_video
from tools.files import write_atomic
from tools.render.animatic.keyframe import save_atomically, temp_path_for
from tools.render.base import BackendError, ClipResult, ContentRefusedError, ImageResult, SpeechResult
from tools.render.prompt_budget import LARGE_PROMPT_TOKENS
from tools.render.spec import CastMember, ShotSpec, Voice
from tools.settings import OpenAIMediaSettings, Settings

logger = logging.getLogger(__name__)

ImageQuality = Literal["low", "medium", "high", "auto"]
FileUpload = tuple[str, bytes, str]

IMAGE_SIZES: tuple[tuple[int, int], ...] = ((1536, 1024), (1024, 1536), (1024, 1024))
VIDEO_SECONDS: tuple[int, ...] = tuple(sorted(int(value) for value in get_args(VideoSeconds)))
VIDEO_SIZES: tuple[tuple[int, int], ...] = tuple(
    (int(w), int(h)) for w, h in (value.split("x") for value in get_args(VideoSize))
)
STANDARD_VIDEO_SIDE = 1280
SIDECAR_SUFFIX = ".openai.json"
CHARACTER_CACHE_NAME = "openai-characters.json"
CHARACTER_CLIP_SECONDS = 3
CHARACTER_CLIP_FPS = 24
SPEECH_SPEEDS = (0.25, 4.0)
FFMPEG_TIMEOUT_S = 300.0
_PICTURE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".webp": "image/webp"}
_POLICY_CODES = frozenset({"moderation_blocked", "content_policy_violation", "content_filter", "safety_violation"})
_POLICY_WORDS = ("content policy", "safety system", "moderation", "content_policy")
_NO_INSTRUCTIONS_MODELS = ("tts-1",)


def openai_client(settings: OpenAIMediaSettings) -> openai.OpenAI:
    """A client for `settings`; the key and the endpoint fall back to OPENAI_API_KEY and OPENAI_BASE_URL.

    Raises:
        BackendError: no API key is set anywhere.
    """
    api_key = settings.api_key.get_secret_value() if settings.api_key is not None else ""
    api_key = api_key or os.environ.get("OPENAI_API_KEY", "")
    if not api_key:
        raise BackendError(
            "the openai backends need an API key: set OPENAI_API_KEY (or DIRECTOR_RENDER__OPENAI__API_KEY), "
            "or choose another image, video or speech backend"
        )
    base_url = settings.base_url or os.environ.get("OPENAI_BASE_URL") or None
    return openai.OpenAI(api_key=api_key, base_url=base_url, timeout=settings.timeout, max_retries=settings.max_retries)


def backend_error(error: openai.OpenAIError, what: str, client: openai.OpenAI) -> BackendError:
    """The `BackendError` for a failed OpenAI call made for `what` ("shot s1's keyframe"), saying what to do next."""
    message = getattr(error, "message", "") or str(error)
    if isinstance(error, openai.APITimeoutError):
        return BackendError(
            f"OpenAI did not answer in time for {what} (timeout {client.timeout} s, {client.max_retries} retries): "
            "try again later, or raise DIRECTOR_RENDER__OPENAI__TIMEOUT"
        )
    if isinstance(error, openai.APIConnectionError):
        return BackendError(
            f"could not reach OpenAI at {client.base_url} for {what} ({message}): check the network, or "
            "OPENAI_BASE_URL / DIRECTOR_RENDER__OPENAI__BASE_URL"
        )
    if isinstance(error, openai.RateLimitError):
        if "insufficient_quota" in (error.code, error.type):
            return BackendError(
                f"OpenAI quota exhausted while making {what}: check billing and usage limits at "
                "https://platform.openai.com/settings/organization/billing, or switch to a local backend"
            )
        return BackendError(
            f"OpenAI rate limit hit while making {what}, still after {client.max_retries} retries: wait a minute, "
            "lower DIRECTOR_RENDER__MAX_PARALLEL, or raise DIRECTOR_RENDER__OPENAI__MAX_RETRIES"
        )
    if isinstance(error, openai.BadRequestError) and is_policy_refusal(error.code, message):
        return policy_refusal(what, message)
    if isinstance(error, openai.AuthenticationError):
        return BackendError(
            f"OpenAI rejected the API key while making {what} ({message}): check OPENAI_API_KEY or "
            "DIRECTOR_RENDER__OPENAI__API_KEY"
        )
    if isinstance(error, openai.PermissionDeniedError):
        return BackendError(
            f"OpenAI does not let this key make {what} ({message}): check that the key's project may use the "
            "model (image and video models can need a verified organization)"
        )
    if isinstance(error, openai.NotFoundError):
        return BackendError(
            f"OpenAI found nothing to make {what} with ({message}): check the model names in "
            "DIRECTOR_RENDER__OPENAI__IMAGE_MODEL, __VIDEO_MODEL and __SPEECH_MODEL"
        )
    if isinstance(error, openai.InternalServerError):
        return BackendError(
            f"OpenAI failed with a server error ({error.status_code}) while making {what}, still after "
            f"{client.max_retries} retries: try again later"
        )
    if isinstance(error, openai.APIStatusError):
        return BackendError(f"OpenAI rejected the request for {what} ({error.status_code}): {message}")
    return BackendError(f"the OpenAI call for {what} failed: {message}")


def is_policy_refusal(code: str | None, message: str) -> bool:
    """Whether an OpenAI error is a moderation refusal rather than a malformed request."""
    text = message.lower()
    return (code or "") in _POLICY_CODES or any(word in text for word in _POLICY_WORDS)


def policy_refusal(what: str, message: str) -> ContentRefusedError:
    return ContentRefusedError(
        f"OpenAI refused the prompt for {what} as against its content policy: rephrase the shot's prompt (and check "
        f"its reference pictures), then render it again. OpenAI said: {message}"
    )


def with_negative(spec: ShotSpec) -> str:
    """The shot's prompt, with the negative prompt as words to avoid: OpenAI's models take no negative prompt."""
    return f"{spec.prompt}\nAvoid: {spec.negative_prompt}." if spec.negative_prompt else spec.prompt


def closest_size(width: int, height: int, sizes: tuple[tuple[int, int], ...]) -> tuple[int, int]:
    """The size among `sizes` whose aspect ratio is nearest `width / height` (by log ratio); the smaller on a tie."""
    aspect = math.log(width / height)
    return min(sizes, key=lambda size: (round(abs(math.log(size[0] / size[1]) - aspect), 6), size[0] * size[1]))


def image_api_size(width: int, height: int) -> str:
    """The GPT image size to ask for: the landscape, portrait or square one nearest the shot's aspect."""
    w, h = closest_size(width, height, IMAGE_SIZES)
    return f"{w}x{h}"


def video_api_size(model: str, width: int, height: int) -> str:
    """The Sora size to ask for: the shot's orientation, 720p for sora-2, and larger for a `pro` model when wanted.

    sora-2 renders only 1280x720 and 720x1280; the pro models also render 1792x1024 and 1024x1792, which are
    chosen only when the shot is larger than 720p.
    """
    landscape = width >= height
    sizes = [s for s in VIDEO_SIZES if (s[0] >= s[1]) == landscape]
    if "pro" not in model:
        sizes = [s for s in sizes if max(s) <= STANDARD_VIDEO_SIDE] or sizes
    sizes.sort(key=lambda s: s[0] * s[1])
    w, h = next((s for s in sizes if s[0] >= width and s[1] >= height), sizes[-1])
    return f"{w}x{h}"


def video_api_seconds(duration: float) -> VideoSeconds:
    """The shortest clip length Sora makes that is not shorter than the shot; the longest for a longer shot."""
    seconds = next((s for s in VIDEO_SECONDS if s >= duration - 1e-6), VIDEO_SECONDS[-1])
    return str(seconds)  # type: ignore[return-value]


def _parse_size(size: str) -> tuple[int, int]:
    w, h = size.split("x")
    return int(w), int(h)


def cover(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """`image` scaled to fill `size` and centre-cropped to exactly it, keeping its aspect."""
    if image.size == size:
        return image
    return ImageOps.fit(image, size, method=Image.Resampling.LANCZOS, centering=(0.5, 0.5))


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def read_picture(path: Path, what: str) -> Image.Image:
    try:
        with Image.open(path) as opened:
            return opened.convert("RGB")
    except FileNotFoundError:
        raise BackendError(f"{what}: the picture {path} is missing; add it again or leave it out") from None
    except (OSError, UnidentifiedImageError, ValueError) as error:
        raise BackendError(f"{what}: cannot read the picture {path}: {error}") from error


def picture_upload(path: Path, what: str) -> FileUpload:
    """A picture as a multipart file: PNG, JPEG and WebP as they are, anything else re-encoded as PNG."""
    mime = _PICTURE_TYPES.get(path.suffix.lower())
    if mime is None:
        return (f"{path.stem}.png", png_bytes(read_picture(path, what)), "image/png")
    try:
        return (path.name, path.read_bytes(), mime)
    except FileNotFoundError:
        raise BackendError(f"{what}: the picture {path} is missing; add it again or leave it out") from None
    except OSError as error:
        raise BackendError(f"{what}: cannot read the picture {path}: {error}") from error


def run_ffmpeg(arguments: list[str], what: str) -> None:
    """Run the ffmpeg that imageio-ffmpeg ships, quietly.

    Raises:
        BackendError: ffmpeg failed or ran past `FFMPEG_TIMEOUT_S`.
    """
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", *arguments]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=FFMPEG_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise BackendError(f"{what}: ffmpeg could not run: {error}") from error
    if done.returncode != 0:
        tail = " ".join(done.stderr.strip().splitlines()[-3:])
        raise BackendError(f"{what}: ffmpeg failed ({done.returncode}): {tail}")


class OpenAIImageBackend:
    """Keyframes from OpenAI's GPT image models; a shot with reference pictures or a previous take is an edit.

    The model draws at one of its own sizes (the one nearest the shot's aspect); the answer is scaled and
    centre-cropped to exactly the shot's size.
    """

    name: ClassVar[str] = "openai"
    supports_reference_image: ClassVar[bool] = True
    max_prompt_tokens: ClassVar[int | None] = LARGE_PROMPT_TOKENS

    def __init__(
        self,
        client: openai.OpenAI,
        *,
        model: str = "gpt-image-1",
        quality: ImageQuality = "medium",
        max_pictures: int = 16,
    ) -> None:
        self.client = client
        self._model = model
        self.quality = quality
        self.max_pictures = max_pictures

    @classmethod
    def from_settings(cls, settings: Settings) -> OpenAIImageBackend:
        media = settings.render.resolved().openai
        return cls(openai_client(media), model=media.image_model, quality=media.image_quality)

    @property
    def model(self) -> str:
        return self._model

    @property
    def parameters(self) -> dict[str, str | int | float | bool]:
        return {"quality": self.quality}

    def generate(self, spec: ShotSpec, out: Path) -> ImageResult:
        """Render `spec`'s keyframe to the PNG file `out`, written atomically.

        Raises:
            BackendError: a reference picture is missing, OpenAI refused or failed, or its answer is no image.
        """
        out = Path(out)
        what = f"shot {spec.shot_id}'s keyframe"
        pictures = self._pictures(spec, what)
        options = {"model": self._model, "size": image_api_size(spec.width, spec.height), "quality": self.quality}
        try:
            if pictures:
                response = self.client.images.edit(image=pictures, prompt=self._edit_prompt(spec), n=1, **options)
            else:
                response = self.client.images.generate(prompt=with_negative(spec), n=1, **options)
        except openai.OpenAIError as error:
            raise backend_error(error, what, self.client) from error
        image = cover(self._answer_image(response, what), (spec.width, spec.height))
        try:
            save_atomically(image, out)
        except OSError as error:
            raise BackendError(f"{what}: cannot write {out}: {error}") from error
        return ImageResult(path=out, width=spec.width, height=spec.height, backend=self.name, model=self._model)

    def _pictures(self, spec: ShotSpec, what: str) -> list[FileUpload]:
        """The previous take first (a reshoot edits it), then the cast's and the place's reference pictures."""
        paths = [spec.init_image] if spec.init_image else []
        paths += [path for path in spec.reference_images if path not in paths]
        return [picture_upload(Path(path), what) for path in paths[: self.max_pictures]]

    @staticmethod
    def _edit_prompt(spec: ShotSpec) -> str:
        lines = [with_negative(spec)]
        if spec.init_image:
            lines.append("The first picture is the previous take: keep its composition, change what is described.")
        if spec.reference_images:
            lines.append("The reference pictures show how the characters and the place look: keep them recognisable.")
        return "\n".join(lines)

    def _answer_image(self, response: openai.types.ImagesResponse, what: str) -> Image.Image:
        first = response.data[0] if response.data else None
        try:
            if first is not None and first.b64_json:
                data = base64.b64decode(first.b64_json)
            elif first is not None and first.url:
                timeout = self.client.timeout if isinstance(self.client.timeout, float | int) else 120.0
                with urllib.request.urlopen(first.url, timeout=timeout) as answer:  # noqa: S310 - the API's own URL
                    data = answer.read()
            else:
                raise BackendError(f"{what}: OpenAI answered without an image; try again")
            with Image.open(io.BytesIO(data)) as opened:
                return opened.convert("RGB")
        except (OSError, ValueError, UnidentifiedImageError) as error:
            raise BackendError(f"{what}: OpenAI's answer is not a readable image: {error}") from error


class OpenAIVideoRecord(BaseModel):
    """What a take's clip was made from at OpenAI, kept beside the clip so a reshoot can remix it."""

    model_config = ConfigDict(extra="ignore")

    video_id: str
    model: str
    seconds: str
    size: str
    prompt: str
    remixed_from: str | None = None
    character_ids: list[str] = Field(default_factory=list)
    expires_at: int | None = Field(default=None, description="Unix time after which OpenAI no longer keeps it.")


class RegisteredCharacter(BaseModel):
    """A cast member registered with OpenAI as a reusable video character, from one reference picture."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    character_id: str
    name: str
    member_id: str
    picture_sha256: str


class CharacterCache(BaseModel):
    """Registered characters by `<member id>:<picture sha256>`, so a character is uploaded only once."""

    characters: dict[str, RegisteredCharacter] = Field(default_factory=dict)


class OpenAIVideoBackend:
    """Clips from Sora: the keyframe as the first frame, conformed to the shot's size, rate and frame count.

    A reshoot of a take this backend made remixes that take's video (its OpenAI id is kept in a sidecar file
    beside the clip). With `reuse_characters`, every cast member with a reference picture is registered once as
    an OpenAI video character and named in each clip it appears in.
    """

    name: ClassVar[str] = "openai"
    supports_reference_image: ClassVar[bool] = True
    supports_remix: ClassVar[bool] = True
    max_prompt_tokens: ClassVar[int | None] = LARGE_PROMPT_TOKENS

    def __init__(
        self,
        client: openai.OpenAI,
        *,
        model: str = "sora-2",
        poll_interval: float = 5.0,
        video_timeout: float = 900.0,
        reuse_characters: bool = True,
        cache_dir: Path | None = None,
        max_stretch: float = 1.5,
        preset: str = "veryfast",
        crf: int = 20,
    ) -> None:
        """Keep the client and how clips are made.

        Args:
            client: A configured `openai.OpenAI`.
            model: The Sora model.
            poll_interval: Seconds between status checks of a video job.
            video_timeout: Seconds a video job may take before the take fails.
            reuse_characters: Register cast members with a reference picture as OpenAI characters.
            cache_dir: Where the registered characters are remembered; unset: the folder above the take folders
                (`<project>/takes` for `<project>/takes/ab/<hash>/clip.mp4`).
            max_stretch: How much slower a clip may play to fill a shot longer than Sora's longest clip; what is
                still missing holds the last frame.
            preset: The x264 preset of the conformed clip.
            crf: The x264 quality of the conformed clip.
        """
        self.client = client
        self._model = model
        self.poll_interval = poll_interval
        self.video_timeout = video_timeout
        self.reuse_characters = reuse_characters
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        self.max_stretch = max_stretch
        self.preset = preset
        self.crf = crf
        self._lock = threading.Lock()
        self._verified: set[str] = set()
        self._refused: set[str] = set()

    @classmethod
    def from_settings(cls, settings: Settings) -> OpenAIVideoBackend:
        media = settings.render.resolved().openai
        return cls(
            openai_client(media),
            model=media.video_model,
            poll_interval=media.poll_interval,
            video_timeout=media.video_timeout,
            reuse_characters=media.reuse_characters,
        )

    @property
    def model(self) -> str:
        return self._model

    @property
    def parameters(self) -> dict[str, str | int | float | bool]:
        return {"reuse_characters": self.reuse_characters}

    def animate(self, spec: ShotSpec, keyframe: Path, out: Path) -> ClipResult:
        """Render `spec` as an H.264 MP4 at `out`, `spec.num_frames` frames at `spec.fps`, written atomically.

        Raises:
            BackendError: the size is odd, the keyframe is unreadable, OpenAI refused, failed or took longer than
                `video_timeout`, or its video could not be conformed.
        """
        out = Path(out)
        what = f"shot {spec.shot_id}'s clip"
        if spec.width % 2 or spec.height % 2:
            raise BackendError(
                f"{what}: H.264 in yuv420p needs an even size, got {spec.width}x{spec.height}; "
                "ask for an even width and height"
            )
        previous = self._previous_take(spec)
        job: Video | None = None
        characters: list[RegisteredCharacter] = []
        try:
            if previous is not None:
                try:
                    job = self.client.videos.remix(previous.video_id, prompt=with_negative(spec))
                except openai.NotFoundError:
                    previous = None  # OpenAI no longer has it: make the take afresh
            if job is None:
                characters = self._characters(spec, out, what)
                size = video_api_size(self._model, spec.width, spec.height)
                extra = {"characters": [{"id": c.character_id} for c in characters]} if characters else None
                job = self.client.videos.create(
                    model=self._model,
                    prompt=self._prompt(spec, characters),
                    seconds=video_api_seconds(spec.duration),
                    size=size,  # type: ignore[arg-type]
                    input_reference=self._reference(keyframe, size, what),
                    extra_body=extra,
                )
            job = self._wait(job, what)
            video = self.client.videos.download_content(job.id).content
        except openai.OpenAIError as error:
            raise backend_error(error, what, self.client) from error
        self._conform(video, spec, out, what)
        record = OpenAIVideoRecord(
            video_id=job.id,
            model=self._model,
            seconds=str(job.seconds),
            size=str(job.size),
            prompt=job.prompt or with_negative(spec),
            remixed_from=previous.video_id if previous is not None else None,
            character_ids=[c.character_id for c in characters],
            expires_at=job.expires_at,
        )
        try:
            write_atomic(out.with_suffix(SIDECAR_SUFFIX), record.model_dump_json(indent=2))
        except OSError as error:
            raise BackendError(f"{what}: cannot write {out.with_suffix(SIDECAR_SUFFIX)}: {error}") from error
        return ClipResult.of_shot(spec, out, self.name, self._model)

    def _previous_take(self, spec: ShotSpec) -> OpenAIVideoRecord | None:
        """The OpenAI video behind the take a reshoot starts from, if this model made it and OpenAI still keeps it.

        `spec.init_image` is the previous take's keyframe; its clip's sidecar lies in the same folder.
        """
        if not spec.init_image:
            return None
        for sidecar in sorted(Path(spec.init_image).parent.glob(f"*{SIDECAR_SUFFIX}")):
            try:
                record = OpenAIVideoRecord.model_validate_json(sidecar.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            fresh = record.expires_at is None or record.expires_at > time.time() + 60
            if record.model == self._model and fresh:
                return record
        return None

    @staticmethod
    def _prompt(spec: ShotSpec, characters: list[RegisteredCharacter]) -> str:
        """The prompt, naming every registered character: Sora keeps a character reliably only when it is named."""
        prompt = with_negative(spec)
        missing = [c.name for c in characters if c.name.lower() not in prompt.lower()]
        return f"{prompt}\nCharacters: {', '.join(missing)}." if missing else prompt

    @staticmethod
    def _reference(keyframe: Path, size: str, what: str) -> FileUpload:
        """The keyframe at exactly the video's size, as Sora wants its first frame."""
        image = cover(read_picture(Path(keyframe), what), _parse_size(size))
        return ("keyframe.png", png_bytes(image), "image/png")

    def _wait(self, job: Video, what: str) -> Video:
        """Poll the job every `poll_interval` seconds until it completes.

        Raises:
            BackendError: the job failed, or is still running after `video_timeout` seconds.
        """
        deadline = time.monotonic() + self.video_timeout
        while job.status in ("queued", "in_progress"):
            left = deadline - time.monotonic()
            if left <= 0:
                raise BackendError(
                    f"{what}: OpenAI's video job {job.id} is still {job.status} ({job.progress}%) after "
                    f"{self.video_timeout:g} s: try again later, or raise DIRECTOR_RENDER__OPENAI__VIDEO_TIMEOUT"
                )
            time.sleep(min(self.poll_interval, left))
            job = self.client.videos.retrieve(job.id)
        if job.status != "completed":
            error = job.error
            message = error.message if error is not None else "no reason given"
            if is_policy_refusal(error.code if error is not None else None, message):
                raise policy_refusal(what, message)
            code = f" ({error.code})" if error is not None and error.code else ""
            raise BackendError(
                f"{what}: OpenAI's video job {job.id} failed{code}: {message}; try again, or change the shot's prompt"
            )
        return job

    def _conform(self, video: bytes, spec: ShotSpec, out: Path, what: str) -> None:
        """Write OpenAI's video as `spec.num_frames` frames of `spec.width x spec.height` at `spec.fps` to `out`.

        The picture is scaled to cover the frame and centre-cropped. A longer video is trimmed; a shorter one is
        slowed by up to `max_stretch` and then holds its last frame. The sound is dropped: the cut lays its own.
        """
        out.parent.mkdir(parents=True, exist_ok=True)
        source = temp_path_for(out.with_name(f"{out.stem}.source.mp4"))
        temp = temp_path_for(out.with_suffix(".mp4"))
        try:
            source.write_bytes(video)
            try:
                facts = probe_video(source)
            except ProbeError as error:
                raise BackendError(f"{what}: OpenAI's video is not readable: {error}") from error
            duration = spec.num_frames / spec.fps
            stretch = min(self.max_stretch, duration / facts.duration) if 0 < facts.duration < duration else 1.0
            w, h = spec.width, spec.height
            filters = (
                f"setpts={stretch:.6f}*PTS,scale={w}:{h}:force_original_aspect_ratio=increase:flags=lanczos,"
                f"crop={w}:{h},setsar=1,fps={spec.fps},tpad=stop_mode=clone:stop_duration={duration:.3f}"
            )
            run_ffmpeg(
                ["-i", str(source), "-vf", filters, "-frames:v", str(spec.num_frames), "-an", "-c:v", "libx264"]
                + ["-preset", self.preset, "-crf", str(self.crf), "-pix_fmt", "yuv420p", "-r", str(spec.fps)]
                + ["-movflags", "+faststart", str(temp)],
                what,
            )
            os.replace(temp, out)
        except OSError as error:
            raise BackendError(f"{what}: cannot write {out}: {error}") from error
        finally:
            source.unlink(missing_ok=True)
            temp.unlink(missing_ok=True)

    def _characters(self, spec: ShotSpec, out: Path, what: str) -> list[RegisteredCharacter]:
        """The shot's cast members with a reference picture, registered with OpenAI once per picture.

        A remembered character is checked once per process with `get_character`, and registered again when
        OpenAI no longer knows it (say, after the API key changed projects). A picture OpenAI will not register
        (it blocks human likenesses unless the organisation has access) is logged and left out for the rest of the
        process: the keyframe still carries the character's look.
        """
        members = [member for member in spec.cast if member.reference_images]
        if not self.reuse_characters or not members:
            return []
        cache_file = (self.cache_dir or default_cache_dir(out)) / CHARACTER_CACHE_NAME
        found = []
        with self._lock:
            cache = read_character_cache(cache_file)
            for member in members:
                picture = Path(member.reference_images[0])
                digest = file_sha256(picture, what)
                key = f"{member.id}:{digest}"
                known = cache.characters.get(key)
                if known is not None and self._still_registered(known):
                    found.append(known)
                    continue
                if key in self._refused:
                    continue
                try:
                    known = self._register(member, picture, digest, what)
                except (openai.BadRequestError, openai.PermissionDeniedError) as error:
                    logger.warning("OpenAI would not register %s as a video character: %s", member.name, error.message)
                    self._refused.add(key)
                    continue
                cache.characters[key] = known
                try:
                    write_atomic(cache_file, cache.model_dump_json(indent=2))
                except OSError as error:
                    raise BackendError(f"{what}: cannot remember characters in {cache_file}: {error}") from error
                found.append(known)
        return found

    def _still_registered(self, character: RegisteredCharacter) -> bool:
        if character.character_id in self._verified:
            return True
        try:
            self.client.videos.get_character(character.character_id)
        except openai.NotFoundError:
            return False
        self._verified.add(character.character_id)
        return True

    def _register(self, member: CastMember, picture: Path, digest: str, what: str) -> RegisteredCharacter:
        """Upload a short still clip of the member's reference picture as an OpenAI character (it takes a video)."""
        with tempfile.TemporaryDirectory(prefix="director-character-") as folder:
            clip = Path(folder) / f"{member.id}.mp4"
            character_clip(picture, clip, what)
            answer = self.client.videos.create_character(
                name=member.name[:80], video=(clip.name, clip.read_bytes(), "video/mp4")
            )
        if not answer.id:
            raise BackendError(f"{what}: OpenAI registered the character {member.name!r} without an id; try again")
        self._verified.add(answer.id)
        return RegisteredCharacter(
            character_id=answer.id, name=answer.name or member.name, member_id=member.id, picture_sha256=digest
        )


def default_cache_dir(out: Path) -> Path:
    """The folder above the take folders: `<project>/takes` for `<project>/takes/ab/<hash>/clip.mp4`."""
    parents = Path(out).parents
    return parents[2] if len(parents) > 3 else Path(out).parent


def read_character_cache(path: Path) -> CharacterCache:
    try:
        return CharacterCache.model_validate_json(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return CharacterCache()


def file_sha256(path: Path, what: str) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as error:
        raise BackendError(f"{what}: cannot read the reference picture {path}: {error}") from error


def character_clip(picture: Path, out: Path, what: str) -> None:
    """A `CHARACTER_CLIP_SECONDS` s 720p clip of the picture, whole and centred: what OpenAI registers from."""
    image = read_picture(picture, what)
    w, h = (1280, 720) if image.width >= image.height else (720, 1280)
    still = out.with_suffix(".png")
    image.save(still, format="PNG")
    filters = f"scale={w}:{h}:force_original_aspect_ratio=decrease,pad={w}:{h}:(ow-iw)/2:(oh-ih)/2:color=gray,setsar=1"
    run_ffmpeg(
        ["-loop", "1", "-i", str(still), "-t", str(CHARACTER_CLIP_SECONDS), "-vf", filters]
        + ["-r", str(CHARACTER_CLIP_FPS), "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p"]
        + ["-movflags", "+faststart", str(out)],
        what,
    )


class OpenAISpeechBackend:
    """Lines spoken by OpenAI's speech models, as WAV; `Voice.instructions` steer the delivery where supported."""

    name: ClassVar[str] = "openai"

    def __init__(self, client: openai.OpenAI, *, model: str = "gpt-4o-mini-tts") -> None:
        self.client = client
        self._model = model

    @classmethod
    def from_settings(cls, settings: Settings) -> OpenAISpeechBackend:
        media = settings.render.resolved().openai
        return cls(openai_client(media), model=media.speech_model)

    @property
    def model(self) -> str:
        return self._model

    @property
    def parameters(self) -> dict[str, str | int | float | bool]:
        return {}

    def speak(self, text: str, voice: Voice, out: Path, *, speed: float = 1.0) -> SpeechResult:
        """Speak `text` in `voice.openai` into the WAV file `out`, written atomically; `speed` above 1 talks faster.

        Raises:
            BackendError: the text is empty, the speed is outside OpenAI's 0.25 to 4, OpenAI refused or failed,
                or its answer is not a WAV file.
        """
        out = Path(out)
        shown = text if len(text) <= 40 else text[:40] + "…"
        what = f"the line {shown!r}"
        if not text.strip():
            raise BackendError("a line to speak is empty: give the dialogue some words")
        low, high = SPEECH_SPEEDS
        if not low <= speed <= high:
            raise BackendError(f"{what}: OpenAI speaks at {low} to {high} times normal speed, asked for {speed:g}")
        instructions = voice.instructions if not self._model.startswith(_NO_INSTRUCTIONS_MODELS) else ""
        try:
            answer = self.client.audio.speech.create(
                model=self._model,
                voice=voice.openai,
                input=text,
                response_format="wav",
                speed=speed,
                **({"instructions": instructions} if instructions else {}),
            )
            audio = answer.content
        except openai.OpenAIError as error:
            raise backend_error(error, what, self.client) from error
        try:
            audio = repaired_wav(audio)
            with wave.open(io.BytesIO(audio), "rb") as reader:
                frames, rate = reader.getnframes(), reader.getframerate()
        except (ValueError, EOFError, wave.Error) as error:
            raise BackendError(f"{what}: OpenAI's answer is not a WAV file: {error}") from error
        try:
            write_atomic(out, audio)
        except OSError as error:
            raise BackendError(f"{what}: cannot write {out}: {error}") from error
        return SpeechResult(path=out, duration=frames / rate, sample_rate=rate, backend=self.name, model=self._model)


def repaired_wav(data: bytes) -> bytes:
    """`data` with its RIFF and `data` chunk sizes set to what the file holds.

    OpenAI streams WAV with 0xFFFFFFFF in both sizes, so a strict reader (Python's `wave`) would think it hours
    long.

    Raises:
        ValueError: `data` is not a RIFF WAVE file.
    """
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ValueError("no RIFF WAVE header")
    fixed = bytearray(data)
    position = 12
    while position + 8 <= len(fixed):
        size = struct.unpack_from("<I", fixed, position + 4)[0]
        if fixed[position : position + 4] == b"data":
            available = len(fixed) - position - 8
            if size > available:
                struct.pack_into("<I", fixed, position + 4, available)
            break
        position += 8 + size + (size & 1)
    struct.pack_into("<I", fixed, 4, len(fixed) - 8)
    return bytes(fixed)
