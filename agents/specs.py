"""Render specs: what a shot's take is made from (its `ShotSpec`), and the seeds and scene lookups it needs.

Shared by the designer (which writes the prompt a spec carries), render (which renders a spec), the cut (which
renders a lost take again) and the revise and critic nodes (which pick new seeds).
"""

from __future__ import annotations

import hashlib

from agents.state import Character, Film, Scene, Setting, Shot
from agents.writing.casting_notes import without_introductions
from tools.prose import whole_sentences
from tools.render.spec import CastMember, ShotSpec, SpokenLine, Voice

CAPTION_WORDS_PER_SECOND = 3.0
"""How fast a viewer reads a caption burnt into a shot: a 2 s shot shows six words' worth of whole sentences."""


def stable_seed(*parts: str) -> int:
    """A reproducible 31-bit seed from the film and shot ids."""
    return int.from_bytes(hashlib.sha256("/".join(parts).encode()).digest()[:4], "big") & 0x7FFFFFFF


def scene_of(film: Film, shot: Shot) -> Scene:
    return next(scene for scene in film.scenes if scene.id == shot.scene_id)


def shot_spec(film: Film, shot: Shot) -> ShotSpec:
    """The render request for a shot: everything that determines its take, and nothing else."""
    scene = scene_of(film, shot)
    setting: Setting = film.setting(scene.setting_id)
    cast: list[Character] = [film.character(cid) for cid in shot.character_ids]
    line = None
    if shot.dialogue is not None and shot.dialogue.text.strip():
        speaker = film.character(shot.dialogue.character_id)
        line = SpokenLine(
            character_id=speaker.id,
            speaker=speaker.name,
            text=shot.dialogue.text.strip(),
            voice=speaker.voice or Voice(),
            parenthetical=shot.dialogue.parenthetical,
        )
    return ShotSpec(
        shot_id=shot.id,
        scene_number=scene.number,
        shot_number=shot.order,
        prompt=shot.prompt,
        negative_prompt=shot.negative_prompt,
        width=film.style.width,
        height=film.style.height,
        seed=shot.seed,
        fps=film.style.fps,
        duration=shot.duration,
        framing=shot.framing,
        camera_move=shot.camera_move,
        time_of_day=scene.time_of_day or setting.time_of_day,
        interior=setting.interior,
        palette=setting.palette or film.style.palette,
        setting_name=setting.name,
        cast=[
            CastMember(id=c.id, name=c.name, look=c.look, color=c.signature_color, reference_images=c.reference_images)
            for c in cast
        ],
        caption="" if shot.dialogue else caption_of(shot),
        line=line,
        setting_references=setting.reference_images,
        init_image=shot.reshoot_from,
        reference_weight=shot.reference_weight,
    )


def candidate_spec(spec: ShotSpec, number: int) -> ShotSpec:
    """The spec of the shot's take `number`: take 1 is the shot's own; the others vary only the seed."""
    if number == 1:
        return spec
    return spec.model_copy(update={"seed": stable_seed(str(spec.seed), spec.shot_id, f"take-{number}")})


def caption_of(shot: Shot) -> str:
    """The action's whole sentences that can be read in the shot's time, and always at least its first.

    A character's introduction reads as their name: the casting note in brackets is their look, drawn.
    """
    action = without_introductions(shot.action)
    return whole_sentences(action, max(1, int(shot.duration * CAPTION_WORDS_PER_SECOND)))
