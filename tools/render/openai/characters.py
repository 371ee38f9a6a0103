"""OpenAI video characters: a cast member's reference picture registered once and named in every clip.

Registered characters are remembered per project (`CHARACTER_CACHE_NAME` above the take folders), keyed by the
member and the picture's SHA-256, so a character is uploaded only once.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from tools.render.openai.client import read_picture, run_ffmpeg

CHARACTER_CACHE_NAME = "openai-characters.json"
CHARACTER_CLIP_SECONDS = 3
CHARACTER_CLIP_FPS = 24


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


def default_cache_dir(out: Path) -> Path:
    """The folder above the take folders: `<project>/takes` for `<project>/takes/ab/<hash>/clip.mp4`."""
    parents = Path(out).parents
    return parents[2] if len(parents) > 3 else Path(out).parent


def read_character_cache(path: Path) -> CharacterCache:
    try:
        return CharacterCache.model_validate_json(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return CharacterCache()


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
