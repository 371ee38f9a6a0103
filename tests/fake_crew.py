"""A scripted fake crew: good answers for every task the agents ask, for graph tests on real parts."""

from __future__ import annotations

import typing

from fake_llm import FakeLLM

PREMISE = "A lighthouse keeper and a stray dog wait out the last storm"
GOOD = {
    "title": {"title": "Last Light", "logline": "A keeper and a stray dog wait out the final storm together."},
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
            {"framing": "wide", "camera_move": "pan", "action": "waves hit the tower"},
            {"framing": "close-up", "camera_move": "push-in", "action": "she listens to the wind"},
        ]
    },
    "rubric": {"story": 4, "continuity": 5, "note": "clear, consistent and well paced"},
    "weakest_shot": {"shot": "none", "change": "new_seed", "reason": "nothing to fix"},
    "logline": {"logline": "A ferry captain makes one last crossing before the bridge opens."},
    "character_look": {"look": "short grey hair, navy wool coat, silver ring", "color": "navy"},
    "setting_look": {"look": "wet planks, rope coils, a single lamp", "colors": ["grey", "orange"]},
    "revise_target": {"target": "the whole film"},
    "revise_style": {"direction": "warm orange light in every shot"},
    "revise_character": {"look": "grey braid, yellow oilskin coat, rubber boots", "color": "yellow"},
    "revise_setting": {"look": "brass lamp, salt-streaked glass, iron stairs", "colors": ["navy", "yellow"]},
}


def scene_answer(schema: type) -> dict:
    """A valid scene: the first place and speaker the per-request enums allow."""
    fields = schema.model_fields
    setting = typing.get_args(fields["setting"].annotation)[0]
    speaker = typing.get_args(fields["speaker"].annotation)[0]
    return {
        "setting": setting,
        "characters": [speaker],
        "summary": "The storm rises over the tower.",
        "speaker": speaker,
        "line": "Hold on, Biscuit.",
    }


def crew(overrides: dict[str, list] | None = None) -> FakeLLM:
    """Good answers for every task; `overrides` queues answers per task that are used first."""
    queued = {task: list(answers) for task, answers in (overrides or {}).items()}

    def respond(task: str, schema: type):
        if queued.get(task):
            return queued[task].pop(0)
        return scene_answer(schema) if task == "scene" else GOOD[task]

    return FakeLLM(respond)
