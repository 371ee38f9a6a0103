"""What every `director` command shares: the console, settings from the command line, and failing clearly."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from pydantic import ValidationError
from rich.console import Console

if TYPE_CHECKING:
    from agents.project import Project
    from tools.settings import Settings

console = Console(stderr=True)


def settings_for(projects_dir: Path | None, **overrides: Any) -> Settings:
    """Settings from the environment and config file, with the command line's options on top."""
    from tools.settings import Settings

    top = {
        "projects_dir": projects_dir,
        "target_seconds": overrides.pop("seconds", None),
        "max_review_rounds": overrides.pop("rounds", None),
    }
    sound = {key: value for key, value in overrides.pop("sound", {}).items() if value is not None}
    try:
        data = Settings().model_dump(exclude_unset=True)
        data.update({key: value for key, value in top.items() if value is not None})
        render = {key: value for key, value in overrides.items() if value is not None}
        data["render"] = {**data.get("render", {}), **render}
        data["sound"] = {**data.get("sound", {}), **sound}
        return Settings.model_validate(data)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in problem['loc'])}: {problem['msg']}" for problem in error.errors()
        )
        raise fail(f"the settings are not valid ({problems}); check DIRECTOR_* variables and director.toml") from None


def fail(message: str, code: int = 2) -> typer.Exit:
    console.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code)


def open_run(settings: Settings, run: str) -> Project:
    """The project of an existing run, or a clear exit naming the runs there are."""
    from agents.project import Project, ProjectError

    try:
        project = Project.open(settings.projects_dir, run)
        project.run_input()
    except ProjectError as error:
        raise fail(str(error)) from None
    return project
