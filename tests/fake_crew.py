"""A scripted fake crew: good answers for every task the agents ask, for graph tests on real parts."""

from __future__ import annotations

import typing

from fake_llm import FakeLLM

PREMISE = "A lighthouse keeper and a stray dog wait out the last storm"
GOOD = {
    "title": {"title": "Last Light", "logline": "On the last night of the lamp, a keeper finds she is not alone."},
    "cast": {
        "characters": [
            {"name": "Agnes", "look": "grey braid, yellow oilskin coat, rubber boots", "color": "yellow"},
            {"name": "Biscuit", "look": "scruffy brown terrier, torn red collar", "color": "brown"},
        ]
    },
    "settings": {
        "settings": [
            {
                "name": "Lamp room",
                "look": "brass lamp, salt-streaked glass, iron stairs",
                "time_of_day": "night",
                "interior": True,
                "colors": ["navy", "yellow"],
            },
            {
                "name": "Rocky shore",
                "look": "black rocks, white surf, bent grass",
                "time_of_day": "dusk",
                "interior": False,
                "colors": ["grey", "teal"],
            },
        ]
    },
    "shots": {
        "shots": [
            {"framing": "wide", "camera_move": "pan"},
            {"framing": "close-up", "camera_move": "push-in"},
        ]
    },
    "rubric": {"story": 4, "continuity": 5, "note": "clear, consistent and well paced"},
    "score": {"mood": "mysterious", "intensity": 3},
    "weakest_shot": {"shot": "none", "change": "new_seed", "reason": "nothing to fix"},
    "logline": {"logline": "A ferry captain makes one last crossing before the bridge opens."},
    "character_look": {"look": "short grey hair, navy wool coat, silver ring", "color": "navy"},
    "setting_look": {"look": "wet planks, rope coils, a single lamp", "colors": ["grey", "orange"]},
    "revise_target": {"target": "the whole film"},
    "revise_style": {"direction": "warm orange light in every shot"},
    "revise_character": {"look": "grey braid, yellow oilskin coat, rubber boots", "color": "yellow"},
    "revise_setting": {"look": "brass lamp, salt-streaked glass, iron stairs", "colors": ["navy", "yellow"]},
}


CHARACTERS = [
    {"name": "Agnes", "look": "grey braid, yellow oilskin coat, rubber boots", "color": "yellow"},
    {"name": "Biscuit", "look": "scruffy brown terrier, torn red collar", "color": "brown"},
]
"""The premise's beings in order (the keeper, then the dog), each named and dressed by one `character` answer."""


GOOD["character"] = CHARACTERS[0]


SCENES = [
    ("The storm rises over the tower.", "Rain lashes the salt-streaked glass of the lamp room.", "Hold on, Biscuit."),
    ("The lamp flickers and goes dark.", "Agnes climbs the iron stairs with a torch.", "Stay close to me now."),
    ("A wave breaks over the gallery rail.", "Biscuit presses against her boots.", "We are not leaving."),
    ("The wind drops at first light.", "The sea lies flat and grey below the tower.", "We made it, you and me."),
]
"""Each scene of the premise film says something new, as a good writer would: (summary, image, line)."""


def scene_answer(schema: type, number: int = 0) -> dict:
    """A valid scene: the first place and speaker the per-request enums allow, and the `number`th story."""
    fields = schema.model_fields
    setting = typing.get_args(fields["setting"].annotation)[0]
    present = typing.get_args(typing.get_args(fields["characters"].annotation)[0])[0]
    summary, image, line = SCENES[number % len(SCENES)]
    answer = {"setting": setting, "characters": [present], "summary": summary, "image": image}
    if "speaker" in fields:
        answer["speaker"] = typing.get_args(fields["speaker"].annotation)[0]
        answer["line"] = line
    return answer


def crew(overrides: dict[str, list] | None = None) -> FakeLLM:
    """Good answers for every task; `overrides` queues answers per task that are used first."""
    queued = {task: list(answers) for task, answers in (overrides or {}).items()}
    characters = iter(range(1_000_000))
    scenes = iter(range(1_000_000))

    def respond(task: str, schema: type):
        if queued.get(task):
            return queued[task].pop(0)
        if task == "character":
            return CHARACTERS[next(characters) % len(CHARACTERS)]
        return scene_answer(schema, next(scenes)) if task == "scene" else GOOD[task]

    return FakeLLM(respond)
