"""Prompt text files next to the agents: a system part and a user template, split by a `---` line."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from typing import TypeVar

from pydantic import BaseModel

from tools.llm.asking import StructuredLLM, complete_structured_or


@dataclass(frozen=True)
class PromptTemplate:
    name: str
    system: str
    user: str

    @classmethod
    def load(cls, name: str) -> PromptTemplate:
        text = resources.files("agents").joinpath("prompts", f"{name}.txt").read_text(encoding="utf-8")
        system, separator, user = text.partition("\n---\n")
        if not separator:
            raise ValueError(f"prompt {name!r} needs a '---' line between its system part and its user part")
        return cls(name=name, system=system.strip(), user=user.strip())

    def render(self, **values: object) -> dict[str, str]:
        """The keyword arguments for `StructuredLLM.structured`: system, user and task."""
        return {"system": self.system, "user": self.user.format(**values), "task": self.name}


T = TypeVar("T", bound=BaseModel)


def ask(llm: StructuredLLM, prompt: str, schema: type[T], default: Callable[[], T], **values: object) -> tuple[T, bool]:
    """Ask one narrow question from a prompt file; a weak or broken answer yields `default()`.

    Returns the answer and whether the default was used. An unreachable endpoint still raises, so the run
    stops where it can be resumed rather than filming something the model never said.
    """
    return complete_structured_or(llm, default, schema=schema, **PromptTemplate.load(prompt).render(**values))
