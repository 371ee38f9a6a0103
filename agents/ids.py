"""Ids for films, characters, settings and scenes: slugs safe as folder names, and unique among their kind."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from pathlib import Path

_SLUG = re.compile(r"[^a-z0-9]+")


def slugify(text: str, fallback: str = "item", max_length: int = 40) -> str:
    """A filesystem- and id-safe slug: lowercase ascii words joined by hyphens; accents are dropped, not letters."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = _SLUG.sub("-", ascii_text.lower()).strip("-")[:max_length].strip("-")
    return slug or fallback


def unique_id(base: str, taken: Iterable[str]) -> str:
    """`base`, or `base-2`, `base-3`... when another record already has it ('JO-ANN' and 'JO ANN')."""
    used = set(taken)
    if base not in used:
        return base
    return next(f"{base}-{n}" for n in range(2, len(used) + 3) if f"{base}-{n}" not in used)


def is_safe_id(value: str) -> bool:
    """True when `value` can name a project folder without escaping its parent."""
    return bool(re.fullmatch(r"[a-z0-9][a-z0-9-]{0,63}", value)) and Path(value).name == value
