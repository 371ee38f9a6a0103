"""What memory keeps of a film: every look and voice, and every designed shot.

The designer, a note's revision and an undo all write the same records, so memory always holds what the
film says.
"""

from __future__ import annotations

from agents.casting import cast_voices
from agents.state import Film, Scene, Shot
from memory.store import CharacterRecord, MemoryStore, SettingRecord, ShotRecord


def remember_looks(film: Film, memory: MemoryStore, scene: Scene | None = None) -> None:
    """Keep every look and voice in memory (only `scene`'s people and place, when given); voices are cast here.

    Every character without a voice is cast one either way, so a voice never depends on which scene came first.
    """
    cast_voices(film)
    for character in film.characters:
        if scene is not None and character.id not in scene.character_ids:
            continue
        memory.upsert_character(
            CharacterRecord(
                id=character.id,
                name=character.name,
                look=character.look,
                signature_color=character.signature_color,
                voice=character.voice,
                reference_images=character.reference_images,
            )
        )
    for setting in film.settings:
        if scene is not None and setting.id != scene.setting_id:
            continue
        memory.upsert_setting(
            SettingRecord(
                id=setting.id,
                name=setting.name,
                look=setting.look,
                time_of_day=str(setting.time_of_day),
                interior=setting.interior,
                palette=setting.palette,
                reference_images=setting.reference_images,
            )
        )


def shot_record(shot: Shot, scene: Scene) -> ShotRecord:
    """What memory keeps of a designed shot."""
    return ShotRecord(
        id=shot.id,
        scene_id=scene.id,
        prompt=shot.prompt,
        negative_prompt=shot.negative_prompt,
        character_ids=shot.character_ids,
        setting_id=scene.setting_id,
        framing=str(shot.framing),
        camera_move=str(shot.camera_move),
        seed=shot.seed,
        action=shot.action,
    )
