"""What the OpenAI image, video and speech backends share: the client, error mapping, and picture handling.

The SDK retries failed requests itself (`max_retries`, with backoff); this module turns what still fails into a
`BackendError` that says what to do next, and a moderation refusal into a `ContentRefusedError`.
"""

from __future__ import annotations

import io
import math
import os
import subprocess
from pathlib import Path

import imageio_ffmpeg
import openai
from PIL import Image, ImageOps, UnidentifiedImageError

from tools.render.base import BackendError, ContentRefusedError
from tools.render.spec import ShotSpec
from tools.settings import OpenAIMediaSettings

FileUpload = tuple[str, bytes, str]

FFMPEG_TIMEOUT_S = 300.0
_PICTURE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".webp": "image/webp"}
_POLICY_CODES = frozenset({"moderation_blocked", "content_policy_violation", "content_filter", "safety_violation"})
_POLICY_WORDS = ("content policy", "safety system", "moderation", "content_policy")


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


def parse_size(size: str) -> tuple[int, int]:
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
