"""The film's sound as the crew decides it: the composer's cue for each scene, the themes, the ambience.

What is decided lives here, in the film; what is heard (the rendered cues, the beds, the mix and its stems) is
made from it at the cut and cached by content, so a note that changes one scene's music renders only that cue.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from tools.sound.ambience import AmbienceLayer
from tools.sound.score import CueChoice

DecidedBy = Literal["composer", "rules", "filmmaker"]
"""Who chose: the model, the rules when the model's answer was unusable, or a note."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class SceneMusic(CueChoice, _Model):
    """One scene's cue: what the score plays under it, or nothing when the filmmaker said so."""

    scene_id: str
    by: DecidedBy = "composer"


class SceneAmbience(_Model):
    """One scene's ambience: up to three beds and their levels, or none when the filmmaker said so."""

    scene_id: str
    layers: list[AmbienceLayer] = Field(default_factory=list)
    muted: bool = False
    by: DecidedBy = "rules"


class Soundtrack(_Model):
    """The film's score and ambience, scene by scene, and the characters who have a theme."""

    music: list[SceneMusic] = Field(default_factory=list)
    themes: list[str] = Field(default_factory=list, description="Character ids with a motif, main characters first.")
    ambience: list[SceneAmbience] = Field(default_factory=list)

    def music_for(self, scene_id: str) -> SceneMusic | None:
        return next((cue for cue in self.music if cue.scene_id == scene_id), None)

    def ambience_for(self, scene_id: str) -> SceneAmbience | None:
        return next((bed for bed in self.ambience if bed.scene_id == scene_id), None)


HEARD_AS = {"engine": "engine hum", "room": "room tone", "crowd": "crowd murmur", "night": "night insects"}
"""The beds whose kind is not what a person calls them."""


def heard_as(layer: AmbienceLayer) -> str:
    """A bed as a person says it: "engine hum", "room tone", "rain"."""
    return HEARD_AS.get(layer.kind.value, layer.kind.value)
