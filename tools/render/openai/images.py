"""Keyframes from OpenAI's GPT image models (`DIRECTOR_RENDER__IMAGE_BACKEND=openai`)."""

from __future__ import annotations

import base64
import io
import urllib.request
from pathlib import Path
from typing import ClassVar, Literal

import openai
from PIL import Image, UnidentifiedImageError

from tools.files import atomic_path
from tools.render.base import BackendError, ImageResult
from tools.render.openai.client import (
    FileUpload,
    backend_error,
    closest_size,
    cover,
    openai_client,
    picture_upload,
    with_negative,
)
from tools.render.prompt_budget import LARGE_PROMPT_TOKENS
from tools.render.spec import ShotSpec
from tools.settings import Settings

ImageQuality = Literal["low", "medium", "high", "auto"]

IMAGE_SIZES: tuple[tuple[int, int], ...] = ((1536, 1024), (1024, 1536), (1024, 1024))


def image_api_size(width: int, height: int) -> str:
    """The GPT image size to ask for: the landscape, portrait or square one nearest the shot's aspect."""
    w, h = closest_size(width, height, IMAGE_SIZES)
    return f"{w}x{h}"


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
        media = settings.render.openai
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
            with atomic_path(out) as temp:
                image.save(temp, format="PNG")
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
