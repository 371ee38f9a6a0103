"""The composer: a cue for every scene (mood and intensity from the model; key, tempo and instruments by rule).

The scene's own words come first: a scene that names a mood's words (a funeral, a storm, a dawn) gets that mood
by rule. The model answers one narrow question, from enums, only for a scene whose words name no mood; even then,
where the words clearly call for another mood, the words win: a model that hears a funeral as playful does not
score it. Which characters get a theme follows from who speaks across scenes. The notes themselves are
written by code at the cut (`tools.sound.score`), from what is decided here.
"""

from __future__ import annotations

import re

from langgraph.runtime import Runtime

from agents.answers import ScoreAnswer
from agents.context import Context
from agents.events import Emitter, ScoreEvent
from agents.prompting import ask
from agents.sound_rules import (
    MOOD_WORDS,
    arc_intensity,
    default_music,
    main_characters,
    marked_changes,
    music_from,
    words_of,
)
from agents.soundtrack import SceneMusic
from agents.state import Film, RunState, Scene
from tools.llm.errors import LLMUnavailableError

CLEAR_MOOD_WORDS = 2
"""Words of one mood a scene must name before they overrule the model's pick."""
MAX_WORDS_SHOWN = 60


def compose_score(state: RunState, runtime: Runtime[Context]) -> dict:
    """Give every scene without a cue one; a scene the filmmaker scored by note keeps its cue."""
    assert state.film is not None, "the composer scores a written film"
    context = runtime.context
    film = state.film.model_copy(deep=True)
    if not context.settings.sound.music:
        film.sound.music = [
            film.sound.music_for(scene.id) or default_music(film, scene).model_copy(update={"muted": True})
            for scene in film.scenes
        ]
        Emitter(runtime.stream_writer)(ScoreEvent(status="done", silent=True))
        return {"film": film, "log": ["composer: no score (sound.music is off): every cue is silent"]}
    cues = []
    asked = chosen = 0
    for scene in film.scenes:
        cue = film.sound.music_for(scene.id)
        if cue is None:
            cue, by_model = score_scene(film, scene, context)
            asked += 1
            chosen += by_model
        cues.append(cue)
    film.sound.music = marked_changes(cues)
    if not film.sound.themes:
        film.sound.themes = main_characters(film)
    names = [film.name_of(cid) for cid in film.sound.themes]
    themes = ", ".join(names) or "nobody"
    moods_in_order = [cue.mood for cue in film.sound.music]
    Emitter(runtime.stream_writer)(ScoreEvent(status="done", moods=moods_in_order, themes=names))
    moods = ", ".join(f"{i}: {cue.mood}" for i, cue in enumerate(film.sound.music, start=1))
    return {
        "film": film,
        "log": [
            f"composer: scored {asked} scenes ({chosen} moods the model's, the others the words') ({moods}); "
            f"themes for {themes}"
        ],
    }


def score_scene(film: Film, scene: Scene, context: Context) -> tuple[SceneMusic, bool]:
    """One scene's cue and whether the model's mood stood."""
    rules = default_music(film, scene)
    words = words_of(scene)
    if mood_words(words):
        return rules, False
    time = scene.time_of_day or (film.setting(scene.setting_id).time_of_day if film.settings else None)
    try:
        answer, defaulted = ask(
            context.llm,
            "score",
            ScoreAnswer,
            lambda: ScoreAnswer(mood=rules.mood, intensity=rules.intensity),
            title=film.title,
            number=scene.number,
            scenes=len(film.scenes),
            time=time.value if time else "day",
            heading=scene.heading or scene.summary[:80],
            words=" ".join(words.split()[:MAX_WORDS_SHOWN]),
        )
    except LLMUnavailableError:
        return rules, False
    if defaulted or overruled(answer.mood, words):
        return rules, False
    intensity = round((answer.intensity + arc_intensity(film, scene)) / 2)
    return music_from(film, scene, answer.mood, intensity, "composer"), True


def mood_words(words: str) -> int:
    """How many words of any mood the scene names."""
    tokens = set(re.findall(r"[a-z]+", words.lower()))
    return sum(len(vocabulary & tokens) for vocabulary in MOOD_WORDS.values())


def overruled(mood: str, words: str) -> bool:
    """Whether the scene's words clearly name a mood other than the model's."""
    tokens = set(re.findall(r"[a-z]+", words.lower()))
    return any(
        other != mood and len(vocabulary & tokens) >= CLEAR_MOOD_WORDS for other, vocabulary in MOOD_WORDS.items()
    )
