"""The sound crew's rules: a scene's cue and beds from its words, its time of day and its place in the film.

The composer asks the model only for a scene's mood and intensity; everything else follows from these rules, and
they stand in whole when the model's answer is unusable or a scene has no cue yet.
"""

from __future__ import annotations

import hashlib
import re

from agents.soundtrack import DecidedBy, SceneAmbience, SceneMusic
from agents.state import Film, Scene
from tools.sound.ambience import ambience_for
from tools.sound.score import Instrumentation, Key, Mode, Mood

MOOD_WORDS: dict[Mood, frozenset[str]] = {
    "sad": frozenset(
        "grief grieve cry cries crying tears funeral goodbye farewell lost loss alone last empty mourn "
        "dies died dead death regret lonely ended".split()
    ),
    "tense": frozenset(
        "storm stormy chase run runs running fear afraid danger gun scream threat fight fights escape hide "
        "hunt panic alarm trapped hardest struggle".split()
    ),
    "mysterious": frozenset(
        "dark fog mist shadow shadows strange secret unknown whisper whispers stranger locked hidden ghost map".split()
    ),
    "hopeful": frozenset("dawn hope hopes light begin begins new morning sunrise rescue return home".split()),
    "triumphant": frozenset("win wins won victory celebrate cheer cheers triumph finally proud".split()),
    "playful": frozenset("laugh laughs laughing play plays joke jokes dance dances game games tickle giggle".split()),
    "tender": frozenset("love hold holds embrace kiss mother father child hand hands together gentle".split()),
}
"""Words in a scene that call for each mood; a scene that names none is calm."""

MOOD_MODE: dict[Mood, Mode] = {
    "sad": "minor", "tense": "minor", "mysterious": "minor", "tender": "major",
    "hopeful": "major", "triumphant": "major", "playful": "major", "calm": "major",
}  # fmt: skip
MOOD_TEMPO: dict[Mood, int] = {
    "sad": 64, "tender": 72, "calm": 76, "mysterious": 70,
    "hopeful": 88, "playful": 112, "tense": 118, "triumphant": 104,
}  # fmt: skip
MOOD_INSTRUMENTS: dict[Mood, Instrumentation] = {
    "sad": "piano", "tender": "piano", "calm": "strings", "mysterious": "pad", "hopeful": "strings",
    "playful": "woodwinds", "tense": "strings", "triumphant": "brass",
}  # fmt: skip
HOME_KEYS: tuple[Key, ...] = ("C", "D", "Eb", "F", "G", "A", "Bb")
ARC = (2, 2, 3, 3, 4, 4, 3, 2)
"""Intensity along the film, by eighths of its scenes: a rise to the last act and a quieter close."""
MAX_THEMES = 3


def words_of(scene: Scene) -> str:
    """A scene's text as the composer and the sound designer read it: heading, summary, action and lines."""
    lines = " ".join(line.text for line in scene.dialogue)
    return " ".join([scene.heading, scene.summary, *scene.action, lines])


def mood_of(text: str) -> Mood:
    """The mood whose words the text names most (ties by the table's order); calm when it names none."""
    tokens = set(re.findall(r"[a-z]+", text.lower()))
    counts = {mood: len(words & tokens) for mood, words in MOOD_WORDS.items()}
    best = max(counts, key=lambda mood: counts[mood])
    return best if counts[best] else "calm"


def home_key(film: Film) -> Key:
    """The score's home key, the same for the same film."""
    digest = hashlib.sha256(film.id.encode("utf-8")).digest()
    return HOME_KEYS[digest[0] % len(HOME_KEYS)]


def key_for(film: Film, mode: Mode) -> Key:
    """The home key in major; its relative minor (three semitones down) in minor, so changes stay related."""
    home = home_key(film)
    if mode == "major":
        return home
    names: tuple[Key, ...] = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
    return names[(names.index(home) - 3) % 12]


def arc_intensity(film: Film, scene: Scene) -> int:
    """Where the scene sits on the film's arc, as an intensity 1..5."""
    index = next((i for i, each in enumerate(film.scenes) if each.id == scene.id), 0)
    return ARC[min(len(ARC) - 1, index * len(ARC) // max(1, len(film.scenes)))]


def music_from(film: Film, scene: Scene, mood: Mood, intensity: int, by: DecidedBy) -> SceneMusic:
    """A scene's cue from a mood and an intensity: the key, mode, tempo and instruments follow by rule.

    Night scenes that are not tense play on a pad or a piano; tempo rises with intensity.
    """
    mode = MOOD_MODE[mood]
    instruments = MOOD_INSTRUMENTS[mood]
    time = (scene.time_of_day or film.setting(scene.setting_id).time_of_day).value if film.settings else "day"
    if time == "night" and mood not in ("tense", "triumphant", "playful"):
        instruments = "pad" if mood in ("mysterious", "calm") else "piano"
    tempo = max(50, min(160, MOOD_TEMPO[mood] + (intensity - 3) * 6))
    return SceneMusic(
        scene_id=scene.id,
        key=key_for(film, mode),
        mode=mode,
        tempo=tempo,
        mood=mood,
        instrumentation=instruments,
        intensity=intensity,
        by=by,
    )


def default_music(film: Film, scene: Scene) -> SceneMusic:
    """The rules' cue for a scene: the mood its words name, the intensity its place on the arc gives."""
    mood = mood_of(words_of(scene))
    intensity = min(5, arc_intensity(film, scene) + (mood == "tense"))
    return music_from(film, scene, mood, intensity, "rules")


def default_ambience(film: Film, scene: Scene) -> SceneAmbience:
    """The beds the scene's setting and words call for (`tools.sound.ambience.ambience_for`)."""
    setting = next((each for each in film.settings if each.id == scene.setting_id), None)
    time = scene.time_of_day or (setting.time_of_day if setting else None)
    layers = ambience_for(
        setting.look if setting else "",
        f"{setting.name if setting else ''} {words_of(scene)}",
        interior=setting.interior if setting else True,
        time_of_day=time.value if time else "day",
    )
    return SceneAmbience(scene_id=scene.id, layers=layers, by="rules")


def main_characters(film: Film) -> list[str]:
    """Who gets a theme by default: characters who speak in two scenes or more, most lines first, at most three."""
    scenes_spoken: dict[str, set[str]] = {}
    lines: dict[str, int] = {}
    for scene in film.scenes:
        for line in scene.dialogue:
            scenes_spoken.setdefault(line.character_id, set()).add(scene.id)
            lines[line.character_id] = lines.get(line.character_id, 0) + 1
    known = {character.id for character in film.characters}
    main = [cid for cid in scenes_spoken if cid in known and len(scenes_spoken[cid]) >= 2]
    return sorted(main, key=lambda cid: -lines[cid])[:MAX_THEMES]


def marked_changes(cues: list[SceneMusic]) -> list[SceneMusic]:
    """Mark a change at each cut where mood, mode or instruments change, and make it heard.

    A marked cut that keeps the previous cue's key and tempo changes nothing a reader of the MIDI can see, so
    its tempo moves by 4 beats a minute.
    """
    marked: list[SceneMusic] = []
    for index, cue in enumerate(cues):
        if index == 0:
            marked.append(cue.model_copy(update={"mark_change": True}))
            continue
        before = marked[-1]
        differs = (cue.mood, cue.mode, cue.instrumentation) != (before.mood, before.mode, before.instrumentation)
        tempo = cue.tempo
        if differs and cue.key == before.key and tempo == before.tempo:
            tempo = tempo + 4 if tempo <= 156 else tempo - 4
        marked.append(cue.model_copy(update={"mark_change": differs, "tempo": tempo}))
    return marked
