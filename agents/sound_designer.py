"""The sound designer: each scene's ambience (rain, wind, sea, engine hum, traffic, room tone, crowd...).

The beds follow from the setting's look, the scene's words and its time of day (`tools.sound.ambience`): no
model is asked, so nothing a weak model writes reaches the sound. A scene a note already set keeps its beds.
"""

from __future__ import annotations

from langgraph.runtime import Runtime

from agents.context import Context
from agents.events import AmbienceEvent, Emitter
from agents.sound_rules import default_ambience
from agents.soundtrack import SceneAmbience, heard_as
from agents.state import RunState


def design_sound(state: RunState, runtime: Runtime[Context]) -> dict:
    """Lay beds for every scene without them."""
    assert state.film is not None, "the sound designer works on a written film"
    film = state.film.model_copy(deep=True)
    silent = not runtime.context.settings.sound.ambience
    laid = [
        default_ambience(film, scene).model_copy(update={"muted": silent})
        for scene in film.scenes
        if film.sound.ambience_for(scene.id) is None
    ]
    if not laid:
        return {}
    film.sound.ambience = [*film.sound.ambience, *laid]
    emit = Emitter(runtime.stream_writer)
    if silent:
        emit(AmbienceEvent(status="done", silent=True))
        return {"film": film, "log": ["sound designer: no ambience (sound.ambience is off): every bed is silent"]}
    numbers = {scene.id: scene.number for scene in film.scenes}
    emit(
        AmbienceEvent(
            status="done",
            beds=[f"scene {numbers[bed.scene_id]}: {', '.join(kind_words(bed))}" for bed in laid],
        )
    )
    heard = "; ".join(f"{bed.scene_id}: {', '.join(kind_words(bed))}" for bed in laid)
    return {"film": film, "log": [f"sound designer: beds for {len(laid)} scenes ({heard})"]}


def kind_words(bed: SceneAmbience) -> list[str]:
    return [heard_as(layer) for layer in bed.layers]
