"""What the critic's vision model is shown of a shot and what it answers: plain data, no network.

`VisionShot` is the text half of the question; the pictures travel as `LabeledPicture`s, sent as PNG data URLs
(`picture_data_url`). `VisionVerdict` is the answer, kept small and constrained (enums, bounded numbers, short
strings) so a grammar or a strict `json_schema` response format can hold a model to it; `strict_json_schema`
writes that format.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from PIL import Image
from pydantic import BaseModel, Field, StringConstraints

from tools.llm.structured_output import grammar_safe_schema

Artifact = Literal["hands", "face", "text", "extra_limbs", "extra_people", "blur", "none"]
ChangeKind = Literal["none", "prompt_addition", "reshoot_from", "new_seed", "reference_weight"]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]

ARTIFACT_WORDS: dict[str, str] = {
    "hands": "hands are malformed",
    "face": "a face is malformed",
    "text": "there is garbled text in the picture",
    "extra_limbs": "there are extra limbs",
    "extra_people": "there are people who should not be there",
    "blur": "the picture is blurred",
}


class LabeledPicture(BaseModel):
    """One picture to show the model, with the words that say what it is ("take 2, first frame", "Noor")."""

    label: str
    path: Path


class VisionShot(BaseModel):
    """What the shot asked for, as the vision model reads it."""

    shot_id: str
    action: str
    setting: str
    time_of_day: str
    characters: list[tuple[str, str]] = Field(default_factory=list, description="(name, look) of each character.")
    expected_people: int = Field(ge=0, le=20)
    line: str = ""

    def describe(self, pictures: list[str], references: list[str]) -> str:
        """The shot and the pictures' labels, in the words the user message carries."""
        lines = [
            f"Shot {self.shot_id}.",
            f"Action: {self.action}",
            f"Setting: {self.setting}",
            f"Time of day: {self.time_of_day}",
            f"People who should be in frame: {self.expected_people}",
        ]
        if self.characters:
            lines.append("Characters and how each must look:")
            lines += [f"- {name}: {look}" for name, look in self.characters]
        if self.line:
            lines.append(f"Line spoken in the shot: {self.line}")
        lines.append("Pictures of the take, in the order attached:")
        lines += [f"{number}. {label}" for number, label in enumerate(pictures, start=1)]
        if references:
            lines.append("Then reference pictures of how the characters look (not part of the take):")
            lines += [f"{number}. {label}" for number, label in enumerate(references, start=len(pictures) + 1)]
        return "\n".join(lines)


class CharacterMatch(BaseModel):
    name: Name
    matches_look: bool = Field(description="Whether the character looks as described and as in the reference.")
    note: str = Field(default="", max_length=120, description="What differs, in a few words.")


class VisionChange(BaseModel):
    """The one change the model proposes for a reshoot."""

    kind: ChangeKind = "none"
    prompt_addition: str = Field(default="", max_length=160, description="Words to add to the image prompt.")
    reference_weight: float | None = Field(
        default=None, ge=0.0, le=1.0, description="How strongly the reference picture should steer the look."
    )


class VisionVerdict(BaseModel):
    """The vision model's verdict on one take."""

    in_frame: list[Name] = Field(max_length=20, description="Names of the shot's characters seen in the take.")
    people_count: int = Field(ge=0, le=20, description="People visible in the take.")
    action_shown: bool
    place_shown: bool
    time_of_day_shown: bool
    characters: list[CharacterMatch] = Field(max_length=12)
    artifacts: list[Artifact] = Field(max_length=7, description="Defects seen; ['none'] when there are none.")
    score: int = Field(ge=1, le=10, description="How well the take films the shot, 1 (not at all) to 10.")
    change: VisionChange = Field(default_factory=VisionChange)
    note: str = Field(default="", max_length=200)

    @property
    def normalised_score(self) -> float:
        """The score on 0.1..1, to compare with `CriticSettings.vision_flag_below`."""
        return self.score / 10

    def problems(self, shot: VisionShot | None = None) -> list[str]:
        """What is wrong with the take, in words for a person; with `shot`, also what it asked for but lacks."""
        found: list[str] = []
        if shot is not None:
            if self.people_count != shot.expected_people:
                people = "person" if self.people_count == 1 else "people"
                found.append(f"{self.people_count} {people} in frame, the shot has {shot.expected_people}")
            seen = {name.casefold() for name in self.in_frame}
            found += [f"{name} is not in frame" for name, _ in shot.characters if name.casefold() not in seen]
        for match in self.characters:
            if not match.matches_look:
                found.append(f"{match.name} does not match their look" + (f": {match.note}" if match.note else ""))
        asked = shot or VisionShot(shot_id="", action="", setting="", time_of_day="", expected_people=0)
        for shown, what, wanted in (
            (self.action_shown, "the action is not shown", asked.action),
            (self.place_shown, "the place is not shown", asked.setting),
            (self.time_of_day_shown, "the time of day does not show", asked.time_of_day),
        ):
            if not shown:
                found.append(f"{what} ({wanted})" if wanted else what)
        found += [ARTIFACT_WORDS[artifact] for artifact in dict.fromkeys(self.artifacts) if artifact != "none"]
        return found


def picture_data_url(path: Path, max_side: int) -> str:
    """The picture at `path` as an RGB PNG data URL, downscaled (never enlarged) to fit `max_side`.

    Raises:
        OSError: The file is missing or not a picture Pillow can read.
    """
    with Image.open(path) as opened:
        image = opened.convert("RGB")
    image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def probe_picture_url() -> str:
    """A 16x16 red square, as a PNG data URL."""
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), (220, 20, 20)).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def image_part(url: str) -> dict[str, Any]:
    return {"type": "image_url", "image_url": {"url": url}}


_STRICT_DROPPED = frozenset({"maxLength", "minLength"})
"""Keywords OpenAI's strict structured outputs refuse; pydantic still checks them on the answer."""


def strict_json_schema(schema: type[BaseModel]) -> dict[str, Any]:
    """`schema` as OpenAI's strict `json_schema` wants it: inlined, every property required, no extra ones."""

    def tighten(node: Any) -> Any:
        if isinstance(node, list):
            return [tighten(item) for item in node]
        if not isinstance(node, Mapping):
            return node
        out = {key: tighten(value) for key, value in node.items() if key not in _STRICT_DROPPED}
        if "properties" in out:
            out["required"] = list(out["properties"])
            out["additionalProperties"] = False
        return out

    return tighten(grammar_safe_schema(schema))
