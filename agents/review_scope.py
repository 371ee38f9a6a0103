"""What one review round checked afresh and what it kept from the round before, as the review records it.

A round after a reshoot or a note checks the scenes that changed (their shots, their words, the rubric over
them) and keeps the verdicts of every other scene from the round before; the keys here are what makes "the
same" exact: a kept verdict is for the identical take files, shot words and scene words
(`agents.review_changes` computes them).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class UnresolvedShot(BaseModel):
    """A shot still flagged when the review rounds ran out, and why."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    shot_id: str
    reasons: list[str] = Field(default_factory=list)


class ReviewScope(BaseModel):
    """Which shots and scenes a round checked, which verdicts it kept, and the keys of what it judged."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    whole_film: bool = Field(default=True, description="Every shot checked and the rubric asked about every scene.")
    reason: str = Field(default="", description="Why the whole film was checked, when it was.")
    since_round: int | None = Field(default=None, description="The round whose verdicts were compared and kept.")
    checked_shots: list[str] = Field(default_factory=list, description="Shots checked afresh this round.")
    checked_scenes: list[int] = Field(default_factory=list, description="Numbers of the scenes holding them.")
    kept_shots: list[str] = Field(default_factory=list, description="Shots whose earlier verdict was kept.")
    rubric_scenes: list[int] = Field(default_factory=list, description="The scenes the rubric was asked about.")
    film_key: str = Field(default="", description="Key of the film's own words and the critic's settings.")
    scene_keys: dict[str, str] = Field(
        default_factory=dict, description="Per scene id, the key of its words and of its shots' words and takes."
    )

    def summary(self) -> str:
        """A line for the log: 'checked 2 shots in scene 3, kept 19 verdicts'."""
        shots = _count(len(self.checked_shots), "shot")
        scenes = _scenes(self.checked_scenes)
        if self.whole_film:
            why = f" ({self.reason})" if self.reason else ""
            return f"checked all {shots} in {len(self.checked_scenes)} scene(s){why}"
        kept = _count(len(self.kept_shots), "verdict")
        return f"checked {shots} in {scenes}, kept {kept} from round {self.since_round}"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _scenes(numbers: list[int]) -> str:
    if len(numbers) == 1:
        return f"scene {numbers[0]}"
    return "scenes " + ", ".join(str(n) for n in numbers)
