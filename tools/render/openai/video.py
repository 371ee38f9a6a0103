"""Clips from OpenAI's Sora models (`DIRECTOR_RENDER__VIDEO_BACKEND=openai`), conformed to the shot.

OpenAI retired its hosted Sora video API on 2026-09-24 (the SDK's `videos` methods say so). The backend stays
for servers that still offer the same API (an OpenAI-compatible server may): chosen against OpenAI's own
address it warns once, before any shot, and a "not found" or "gone" answer from the create call becomes an
error saying the API is retired and what to set instead.
"""

from __future__ import annotations

import logging
import tempfile
import threading
import time
import warnings
from pathlib import Path
from typing import ClassVar, get_args
from urllib.parse import urlsplit

import openai
from openai.types import Video, VideoSeconds, VideoSize
from pydantic import BaseModel, ConfigDict, Field

from tools.edit.probe import ProbeError, probe_video
from tools.files import atomic_path, sha256_of, write_atomic
from tools.render.base import BackendError, ClipResult
from tools.render.openai.characters import (
    CHARACTER_CACHE_NAME,
    RegisteredCharacter,
    character_clip,
    default_cache_dir,
    read_character_cache,
)
from tools.render.openai.client import (
    FileUpload,
    backend_error,
    cover,
    is_policy_refusal,
    openai_client,
    parse_size,
    png_bytes,
    policy_refusal,
    read_picture,
    run_ffmpeg,
    with_negative,
)
from tools.render.prompt_budget import LARGE_PROMPT_TOKENS
from tools.render.spec import CastMember, ShotSpec
from tools.settings import Settings

logger = logging.getLogger(__name__)

VIDEO_SECONDS: tuple[int, ...] = tuple(sorted(int(value) for value in get_args(VideoSeconds)))
VIDEO_SIZES: tuple[tuple[int, int], ...] = tuple(
    (int(w), int(h)) for w, h in (value.split("x") for value in get_args(VideoSize))
)
STANDARD_VIDEO_SIDE = 1280
SIDECAR_SUFFIX = ".openai.json"

SORA_RETIRED_ON = "2026-09-24"
OPENAI_HOST = "api.openai.com"
INSTEAD_OF_SORA = (
    "set DIRECTOR_RENDER__VIDEO_BACKEND=animatic (camera moves over the keyframes), use the ltx-2 or "
    "wan2.2-ti2v-5b preset on a GPU, or point DIRECTOR_RENDER__OPENAI__BASE_URL at a server that still offers "
    "the videos API"
)


class SoraRetiredWarning(UserWarning):
    """The video backend is pointed at OpenAI's own API, which no longer makes videos."""


_warned_about_sora = threading.Event()


def is_openai_host(base_url: object) -> bool:
    """True when `base_url` is OpenAI's own API rather than a compatible server."""
    return (urlsplit(str(base_url)).hostname or "").lower() == OPENAI_HOST


def warn_sora_retired(base_url: object) -> None:
    """Warn, once per process, that OpenAI's hosted video API is retired, when `base_url` is OpenAI's own."""
    if not is_openai_host(base_url) or _warned_about_sora.is_set():
        return
    _warned_about_sora.set()
    message = (
        f"OpenAI retired its Sora video API on {SORA_RETIRED_ON}: DIRECTOR_RENDER__VIDEO_BACKEND=openai against "
        f"{base_url} will fail every clip; {INSTEAD_OF_SORA}"
    )
    logger.warning(message)
    warnings.warn(message, SoraRetiredWarning, stacklevel=3)


def sora_retired_error(error: openai.APIStatusError, what: str) -> BackendError:
    """The error for a create call the server answered 404 or 410: the video API is not there (any more)."""
    message = getattr(error, "message", "") or str(error)
    return BackendError(
        f"{what}: the server answered {error.status_code} to a video request ({message}); OpenAI retired its Sora "
        f"video API on {SORA_RETIRED_ON}, so {INSTEAD_OF_SORA}"
    )


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
        """The backend for the settings; warns once when they point it at OpenAI's retired video API."""
        media = settings.render.openai
        client = openai_client(media)
        warn_sora_retired(client.base_url)
        return cls(
            client,
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
        except openai.APIStatusError as error:
            if job is None and error.status_code in (404, 410):
                raise sora_retired_error(error, what) from error
            raise backend_error(error, what, self.client) from error
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
        image = cover(read_picture(Path(keyframe), what), parse_size(size))
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
        try:
            with tempfile.TemporaryDirectory(prefix="director-openai-video-") as scratch, atomic_path(out) as temp:
                source = Path(scratch) / "source.mp4"
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
                    + ["-movflags", "+faststart", "-f", "mp4", str(temp)],
                    what,
                )
        except OSError as error:
            raise BackendError(f"{what}: cannot write {out}: {error}") from error

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
                try:
                    digest = sha256_of(picture)
                except OSError as error:
                    raise BackendError(f"{what}: cannot read the reference picture {picture}: {error}") from error
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
