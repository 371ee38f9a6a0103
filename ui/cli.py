"""`director`: make, resume and list films from the command line (Typer + Rich)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

if TYPE_CHECKING:
    from agents.project import Project
    from tools.render.base import RenderBackends
    from tools.settings import Settings

app = typer.Typer(
    help="Director: a crew of agents that turns a premise or a screenplay into a short film.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
console = Console(stderr=True)

STAGES = {
    "write": "Writer: story, characters, places",
    "plan": "Director: shot list",
    "design": "Designer: looks and prompts from memory",
    "render": "Render: shots",
    "cut": "Editor: the cut",
    "review": "Critic: review",
}


class StageProgress:
    """Turns the graph's progress events into Rich bars: one per stage, and one per shot while rendering."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.tasks: dict[str, Any] = {}
        self.round = 0

    def __call__(self, event: dict[str, Any]) -> None:
        stage, status = event.get("stage"), event.get("status")
        if stage == "run":
            verbs = {"start": "Starting", "resume": "Resuming", "revise": "Revising", "cancelled": "Stopped"}
            verb = verbs.get(str(status), "Finished")
            self.progress.console.print(f"[bold]{verb}[/] run [cyan]{event.get('film_id')}[/]")
            return
        if stage == "render":
            self._render(event)
            return
        if stage == "revise":
            self._revise(event)
            return
        label = STAGES.get(str(stage), str(stage))
        if status == "start":
            self._restart(str(stage), label, total=None)
        if stage == "design" and status == "start":
            self.round += 1
            self._restart("render", f"{STAGES['render']} (pass {self.round})", total=event.get("shots", 0))
        elif status == "done":
            detail = ", ".join(
                f"{key.replace('_', ' ')} {value:.1f}"
                if isinstance(value, float)
                else f"{key.replace('_', ' ')} {value}"
                for key, value in event.items()
                if key not in ("stage", "status") and not isinstance(value, list | dict)
            )
            task = self.tasks.get(str(stage))
            if task is not None:
                self.progress.update(task, total=1, completed=1, description=f"{label} [dim]{detail}[/]")
            if stage == "review":
                self._review(event)

    def _review(self, event: dict[str, Any]) -> None:
        console = self.progress.console
        for line in event.get("repaired") or []:
            console.print(f"  [yellow]repaired[/] {line}", highlight=False)
        unresolved = event.get("unresolved") or []
        if unresolved:
            console.print(f"[yellow]Out of review rounds[/] with {len(unresolved)} shot(s) still flagged:")
        for item in unresolved:
            console.print(f"  shot [cyan]{item['shot_id']}[/]: {'; '.join(item['reasons'])}", highlight=False)

    def _revise(self, event: dict[str, Any]) -> None:
        console = self.progress.console
        if event.get("status") == "rejected":
            console.print(f"[red]Note not applied:[/] {event.get('error')}")
        elif event.get("status") == "done":
            changes = "; ".join(event.get("changes", [])) or "no change"
            console.print(f"[bold]Revision[/] ({event.get('kind')} {event.get('target')}): {changes}")
            dirty = event.get("dirty") or []
            console.print(f"  remaking {len(dirty)} shots: {', '.join(dirty) or 'none (recut only)'}")

    def _restart(self, key: str, label: str, total: int | None) -> None:
        if key in self.tasks:
            self.progress.update(self.tasks[key], description=label, total=total, completed=0)
        else:
            self.tasks[key] = self.progress.add_task(label, total=total)

    def _render(self, event: dict[str, Any]) -> None:
        task = self.tasks.get("render")
        if task is None or event.get("status") == "start":
            return
        if event.get("status") == "damaged":
            problem = event.get("problem")
            self.progress.console.print(
                f"  shot [cyan]{event.get('shot')}[/] [yellow]take damaged[/] ({problem}): rendering it again",
                highlight=False,
            )
            return
        if event.get("cache_hit"):
            note = "reused (unchanged)"
        elif event.get("status") == "failed":
            note = f"[red]failed[/]: {event.get('error')}"
        else:
            note = f"rendered in {event.get('seconds', 0):.1f} s"
        self.progress.update(task, advance=1)
        self.progress.console.print(f"  shot [cyan]{event.get('shot')}[/] {note}", highlight=False)


def settings_for(projects_dir: Path | None, **overrides: Any) -> Settings:
    """Settings from the environment and config file, with the command line's options on top."""
    from tools.settings import Settings

    top = {
        "projects_dir": projects_dir,
        "target_seconds": overrides.pop("seconds", None),
        "max_review_rounds": overrides.pop("rounds", None),
    }
    try:
        data = Settings().model_dump(exclude_unset=True)
        data.update({key: value for key, value in top.items() if value is not None})
        render = {key: value for key, value in overrides.items() if value is not None}
        data["render"] = {**data.get("render", {}), **render}
        return Settings.model_validate(data)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in problem['loc'])}: {problem['msg']}" for problem in error.errors()
        )
        raise fail(f"the settings are not valid ({problems}); check DIRECTOR_* variables and director.toml") from None


def check_backends(settings: Settings) -> RenderBackends:
    """Build the backends the settings name (no model is loaded yet), so a missing model or key fails first.

    Raises:
        BackendError: a backend is unknown, its model cannot be found, its service has no key, or the
            executor's cluster cannot be reached.
    """
    from tools.render.base import RenderBackends

    return RenderBackends.from_settings(settings)


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


def run_with_progress(
    settings: Any, project: Any, feedback: Any = None, backends: RenderBackends | None = None
) -> None:
    """Run the film with a progress display, ending every failure with the command that resumes it.

    `backends` already built (by `check_backends`) are used, then closed.
    """
    from agents.revise import RevisionError
    from agents.run import RunBusyError, run_film

    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    try:
        with Progress(*columns, console=console, transient=False) as progress:
            outcome = run_film(
                settings, project, on_event=StageProgress(progress), feedback=feedback, backends=backends
            )
    except (RevisionError, RunBusyError) as error:
        raise fail(str(error)) from None
    except KeyboardInterrupt:
        raise fail(
            f"interrupted; nothing finished is lost. Resume with: director resume {project.film_id}", 130
        ) from None
    except Exception as error:  # noqa: BLE001 - every failure ends with the way back in
        raise fail(
            f"{error}\nThe run is saved; after fixing the cause, resume with: director resume {project.film_id}", 1
        ) from error
    finally:
        if backends is not None:
            backends.close()
    show_outcome(outcome)


def show_outcome(outcome: Any) -> None:
    root = Path(outcome.project_dir)
    table = Table(title=outcome.film.title if outcome.film else outcome.film_id, show_header=False)
    table.add_row("run", outcome.film_id)
    if outcome.cut is not None:
        table.add_row("film", str(root / outcome.cut.video))
        table.add_row("subtitles", str(root / outcome.cut.subtitles))
        if outcome.cut.otio:
            table.add_row("for editors", ", ".join(str(root / name) for name in (outcome.cut.otio, outcome.cut.xml)))
        if outcome.cut.storyboard:
            table.add_row("storyboard", str(root / outcome.cut.storyboard))
        table.add_row("manifest", str(root / outcome.cut.manifest))
        table.add_row("length", f"{outcome.cut.duration:.1f} s, {len(outcome.cut.shot_ids)} shots")
    if outcome.review is not None:
        verdict = "passed" if outcome.review.passed else f"still flagged: {', '.join(outcome.review.flagged)}"
        table.add_row("review", f"round {outcome.review.round}, {verdict}")
        for item in outcome.review.unresolved:
            table.add_row(f"unresolved {item.shot_id}", "; ".join(item.reasons))
        if outcome.review.rubric_discarded:
            table.add_row("rubric", f"{outcome.review.rubric_discarded} unusable answer(s) discarded")
    Console().print(table)


@app.command()
def make(
    premise: Annotated[str | None, typer.Argument(help="The film in a sentence.")] = None,
    script: Annotated[Path | None, typer.Option("--script", "-s", help="A Fountain screenplay to film.")] = None,
    seconds: Annotated[float | None, typer.Option(help="Target length in seconds.")] = None,
    rounds: Annotated[int | None, typer.Option(help="Review rounds at most (reshoots = rounds - 1).")] = None,
    width: Annotated[int | None, typer.Option(help="Frame width in pixels; the height follows the aspect.")] = None,
    aspect: Annotated[str | None, typer.Option(help="16:9, 2.39:1, 1.85:1, 4:3, 1:1 or 9:16.")] = None,
    fps: Annotated[int | None, typer.Option(help="Frames per second.")] = None,
    preset: Annotated[str | None, typer.Option(help="A render preset; `director models` lists them.")] = None,
    projects_dir: Annotated[Path | None, typer.Option(help="Where projects live (default ./projects).")] = None,
) -> None:
    """Make a film from a PREMISE or from a screenplay (--script)."""
    from agents.project import ProjectError
    from agents.run import new_run
    from agents.screenplay import ScreenplayError, read_screenplay
    from tools.render.base import BackendError

    if premise and script:
        raise fail("give a premise or --script, not both.")
    screenplay = ""
    try:
        if script is not None:
            read_screenplay(script)
            screenplay = script.read_text(encoding="utf-8")
        settings = settings_for(
            projects_dir, seconds=seconds, rounds=rounds, width=width, aspect=aspect, fps=fps, preset=preset
        )
        backends = check_backends(settings)
        try:
            project = new_run(settings, premise=premise or "", screenplay=screenplay)
        except BaseException:
            backends.close()
            raise
    except (ScreenplayError, ProjectError, BackendError, ValueError) as error:
        raise fail(str(error)) from None
    run_with_progress(settings, project, backends=backends)


@app.command()
def resume(
    run: Annotated[str, typer.Argument(help="The run id printed by `director make`.")],
    projects_dir: Annotated[Path | None, typer.Option(help="Where projects live (default ./projects).")] = None,
) -> None:
    """Finish a run that was interrupted, re-rendering nothing that was finished."""
    settings = settings_for(projects_dir)
    run_with_progress(settings, open_run(settings, run))


@app.command()
def revise(
    run: Annotated[str, typer.Argument(help="The run id printed by `director make`.")],
    note: Annotated[str, typer.Argument(help='What to change, e.g. "make scene 2 a night scene".')],
    scene: Annotated[int | None, typer.Option(help="Aim the note at this scene number.")] = None,
    shot: Annotated[str | None, typer.Option(help="Aim the note at this shot id (e.g. s02-01).")] = None,
    projects_dir: Annotated[Path | None, typer.Option(help="Where projects live (default ./projects).")] = None,
) -> None:
    """Revise a film with a note; only the shots the note touches are made again, then the film is recut."""
    from agents.converse import MessageKind, classify_by_rules
    from agents.state import Feedback

    settings = settings_for(projects_dir)
    project = open_run(settings, run)
    try:
        feedback = Feedback(text=note, scene=scene, shot=shot)
    except ValueError as error:
        raise fail(str(error)) from None
    intent = classify_by_rules(note, project.load_film())
    if intent is not None and intent.kind in (MessageKind.QUESTION, MessageKind.CHAT):
        raise fail(
            f"that is not a note ({intent.reason}), so the film is unchanged; ask questions with "
            f'`director ask {run} "..."`, and give notes that say what to change.'
        )
    run_with_progress(settings, project, feedback=feedback)


@app.command()
def undo(
    run: Annotated[str, typer.Argument(help="The run id printed by `director make`.")],
    shot: Annotated[
        str | None,
        typer.Option("--shot", help="Bring back this shot's earlier take instead: a number in film order or an id."),
    ] = None,
    projects_dir: Annotated[Path | None, typer.Option(help="Where projects live (default ./projects).")] = None,
) -> None:
    """Undo the last note: the film and its cut come back as they were before it, with nothing rendered."""
    from agents.history import undo_last_note, use_earlier_take
    from agents.project import ProjectError
    from memory.store import MemoryStoreError

    settings = settings_for(projects_dir)
    project = open_run(settings, run)
    try:
        if shot is not None:
            result = use_earlier_take(project, shot)
        else:
            result = undo_last_note(project, memory_settings=settings.memory)
    except ProjectError as error:
        raise fail(str(error)) from None
    except MemoryStoreError as error:
        raise fail(str(error), 1) from None
    console.print(escape(result.message))
    for shot_id in result.shots:
        console.print(f"  shot [cyan]{shot_id}[/] changed back", highlight=False)
    if result.needs_resume:
        run_with_progress(settings, project)


@app.command()
def studio(
    host: Annotated[str, typer.Option(help="Address to serve on; 0.0.0.0 serves your network.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to serve on.")] = 7860,
    share: Annotated[bool, typer.Option(help="Also open a public Gradio share link.")] = False,
    auth: Annotated[
        str | None,
        typer.Option(
            help="USER:PASSWORD to require a login (or set DIRECTOR_STUDIO_AUTH).", envvar="DIRECTOR_STUDIO_AUTH"
        ),
    ] = None,
    projects_dir: Annotated[Path | None, typer.Option(help="Where projects live (default ./projects).")] = None,
) -> None:
    """Open the studio: chat with the crew, approve each stage, revise scenes and shots by talking."""
    from ui.app import launch_studio

    credentials = None
    if auth is not None:
        user, separator, password = auth.partition(":")
        if not separator or not user or not password:
            raise fail("--auth takes USER:PASSWORD, e.g. --auth ana:correct-horse.")
        credentials = (user, password)
    from tools.render.base import BackendError

    try:
        launch_studio(settings_for(projects_dir), host=host, port=port, share=share, auth=credentials)
    except BackendError as error:
        raise fail(str(error)) from None


@app.command("list")
def list_runs(
    projects_dir: Annotated[Path | None, typer.Option(help="Where projects live (default ./projects).")] = None,
) -> None:
    """List the runs in the projects folder, newest first."""
    from agents.project import list_projects

    settings = settings_for(projects_dir)
    runs = list_projects(settings.projects_dir)
    if not runs:
        console.print(f'no runs in {settings.projects_dir.resolve()}; start one with `director make "PREMISE"`')
        return
    table = Table("run", "title", "shots", "state", "modified")
    for summary in runs:
        table.add_row(
            summary.film_id,
            summary.title,
            str(summary.shots),
            "a note waits: resume" if summary.note_waiting else "finished" if summary.finished else "resumable",
            f"{summary.modified:%Y-%m-%d %H:%M}",
        )
    Console().print(table)


@app.command()
def storyboard(
    run: Annotated[str, typer.Argument(help="The run id printed by `director make`.")],
    paper: Annotated[str, typer.Option(help="A4 or Letter, landscape.")] = "A4",
    projects_dir: Annotated[Path | None, typer.Option(help="Where projects live (default ./projects).")] = None,
) -> None:
    """Write a printable storyboard (HTML and PDF) of every shot: keyframe, framing, move, action, dialogue."""
    from tools.deliver.storyboard import write_storyboard

    if paper not in ("A4", "Letter"):
        raise fail(f"--paper takes A4 or Letter, not {paper!r}.")
    settings = settings_for(projects_dir)
    project = open_run(settings, run)
    film = project.load_film()
    if film is None:
        raise fail(f"run {run!r} has no shots yet; let it write and plan first (director resume {run}).")
    files = write_storyboard(film, project.root, project.root / "storyboard", paper=paper)
    table = Table(title=f"{film.title}: storyboard", show_header=False)
    table.add_row("PDF", str(files.pdf))
    table.add_row("HTML", str(files.html))
    table.add_row("panels", f"{files.panels} on {files.pages} pages")
    Console().print(table)


@app.command()
def stats(
    run: Annotated[str, typer.Argument(help="The run id printed by `director make`.")],
    top: Annotated[int, typer.Option(help="How many of the slowest shots to list.")] = 10,
    projects_dir: Annotated[Path | None, typer.Option(help="Where projects live (default ./projects).")] = None,
) -> None:
    """Where a film's time and money went: per agent, LLM task and shot, review rounds, and cost."""
    from agents.manifest import Manifest
    from ui.stats import stats_view

    settings = settings_for(projects_dir)
    project = open_run(settings, run)
    try:
        manifest = Manifest.model_validate_json(project.manifest_file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise fail(f"run {run!r} has no manifest yet; it comes with the first cut (director resume {run})") from None
    except ValidationError as error:
        raise fail(f"the manifest of {run!r} is not readable ({error.error_count()} problems)") from None
    Console().print(stats_view(manifest, top))


@app.command("ask")
def ask_film(
    run: Annotated[str, typer.Argument(help="The run id printed by `director make`.")],
    question: Annotated[str, typer.Argument(help='A question about the film, e.g. "why is scene 2 at night?".')],
    projects_dir: Annotated[Path | None, typer.Option(help="Where projects live (default ./projects).")] = None,
) -> None:
    """Answer a question about a film from its own records; nothing in the project changes."""
    from agents.answering import answer_question, topic_by_rules
    from tools.llm.client import LLMClient, LLMError

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
            with LLMClient.from_settings(settings.llm, log_dir=None) as llm:
                answer = answer_question(project, question, llm)
    except LLMError as error:
        raise fail(f"the crew's model could not be asked ({error}); ask about a scene, a shot or the cost") from None
    from rich.markdown import Markdown

    out = Console()
    out.print(Markdown(answer.text))
    if answer.scenes or answer.shots:
        named = [f"scene {number}" for number in answer.scenes] + answer.shots
        out.print(f"[dim]about: {escape(', '.join(named))}[/]", highlight=False)


@app.command()
def models() -> None:
    """List the LLMs and render presets, their models, and which this machine has."""
    from tools.llm.offline_models import OFFLINE_MODELS, model_status
    from tools.render.hub import hub_offline
    from tools.render.presets import PRESETS, preset_status

    settings = settings_for(None)
    llms = Table("offline LLM", "model", "licence", "here?")
    llms.add_column("file", overflow="fold")
    for model in OFFLINE_MODELS.values():
        status = model_status(model)
        chosen = " [cyan](chosen)[/]" if model.name == settings.llm.offline_model else ""
        size = f"{model.size / 1e9:.2f} GB" if model.size >= 1e9 else f"{model.size / 1e6:.0f} MB"
        here = {"packaged": "[green]packaged[/]", "assembled": "[green]assembled[/]"}.get(
            status.state, "[yellow]parts installed[/]: assembled on first use"
        )
        where = escape(str(status.path or ""))
        if status.state == "missing":
            extra = f"pip install 'agent-director[{model.extra}]'" if model.extra else model.install_command()
            here, where = "[yellow]missing[/]", escape(f"install with: {extra}")
        llms.add_row(f"[bold]{model.name}[/]{chosen}", f"{model.title}, {size}", model.licence, here, where)
    Console().print(llms)
    if settings.llm.base_url:
        endpoint_model = settings.llm.model or "the endpoint's first model"
        console.print(
            f"LLM endpoint: {settings.llm.base_url} ({endpoint_model}); the offline models are not used "
            "while DIRECTOR_LLM__BASE_URL is set"
        )
    else:
        console.print(
            f"LLM: {settings.llm.offline_model}, served on loopback; choose with DIRECTOR_LLM__OFFLINE_MODEL=NAME, "
            "or set DIRECTOR_LLM__BASE_URL to an OpenAI-compatible endpoint"
        )
    table = Table("preset", "models", "here?", "needs")
    for preset in PRESETS.values():
        status = preset_status(preset, settings.render)
        here = "[green]ready[/]" if status.ready else "[yellow]missing[/]"
        models_text = "\n".join(f"{model} ({state})" for model, state in status.models.items())
        table.add_row(f"[bold]{preset.name}[/]\n[dim]{preset.summary}[/]", models_text, here, preset.needs)
    Console().print(table)
    active = settings.render.preset or "none (the animatic)"
    console.print(f"active preset: {active}; choose one with DIRECTOR_RENDER__PRESET=NAME or `make --preset NAME`")
    if hub_offline():
        console.print("the hub is off (HF_HUB_OFFLINE): only models marked cached or folder can be used")
    console.print("get a missing model on a connected machine with `hf download OWNER/NAME`")


if __name__ == "__main__":
    app()
