"""`director`: make, resume, revise and list films from the command line (Typer + Rich).

The commands that only read a film (storyboard, stats, ask, models) are in `ui.reports`; the live progress
view is `ui.progress`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from ui import reports
from ui.cli_support import console, fail, open_run, settings_for
from ui.progress import StageProgress

if TYPE_CHECKING:
    from agents.run import RenderBackends
    from tools.settings import Settings

__all__ = ["StageProgress", "app", "console", "settings_for", "show_outcome"]

app = typer.Typer(
    help="Director: a crew of agents that turns a premise or a screenplay into a short film.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.command()(reports.storyboard)
app.command()(reports.stats)
app.command("ask")(reports.ask_film)
app.command()(reports.models)


def check_backends(settings: Settings) -> RenderBackends:
    """Build the backends the settings name (no model is loaded yet), so a missing model or key fails first.

    Raises:
        BackendError: a backend is unknown, its model cannot be found, its service has no key, or the
            executor's cluster cannot be reached.
    """
    from agents.run import RenderBackends

    return RenderBackends.from_settings(settings)


def run_with_progress(
    settings: Any, project: Any, feedback: Any = None, backends: RenderBackends | None = None
) -> None:
    """Run the film with a progress display, ending every failure with the command that resumes it.

    `backends` already built (by `check_backends`) are used, then closed.
    """
    from agents.errors import RevisionError, RunBusyError
    from agents.run import run_film

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
    takes: Annotated[
        int | None, typer.Option(help="Takes per shot (coverage); the critic cuts the best, the others stay.")
    ] = None,
    music: Annotated[
        bool | None, typer.Option("--music/--no-music", help="Score the film (default: on; DIRECTOR_SOUND__MUSIC).")
    ] = None,
    ambience: Annotated[
        bool | None,
        typer.Option(
            "--ambience/--no-ambience", help="Lay each scene's ambience (default: on; DIRECTOR_SOUND__AMBIENCE)."
        ),
    ] = None,
    projects_dir: Annotated[Path | None, typer.Option(help="Where projects live (default ./projects).")] = None,
) -> None:
    """Make a film from a PREMISE or from a screenplay (--script)."""
    from agents.errors import DirectorError
    from agents.run import new_run, read_screenplay

    if premise and script:
        raise fail("give a premise or --script, not both.")
    screenplay = ""
    try:
        if script is not None:
            read_screenplay(script)
            screenplay = script.read_text(encoding="utf-8")
        settings = settings_for(
            projects_dir,
            seconds=seconds,
            rounds=rounds,
            width=width,
            aspect=aspect,
            fps=fps,
            preset=preset,
            takes=takes,
            sound={"music": music, "ambience": ambience},
        )
        backends = check_backends(settings)
        try:
            project = new_run(settings, premise=premise or "", screenplay=screenplay)
        except BaseException:
            backends.close()
            raise
    except (DirectorError, ValueError) as error:
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
    note: Annotated[str, typer.Argument(help='What to change, e.g. "make scene 2 a night scene".')] = "",
    scene: Annotated[int | None, typer.Option(help="Aim the note at this scene number.")] = None,
    shot: Annotated[str | None, typer.Option(help="Aim the note at this shot id (e.g. s02-01).")] = None,
    take: Annotated[
        int | None, typer.Option(help="Cut this take of --shot instead (coverage): nothing is rendered.")
    ] = None,
    projects_dir: Annotated[Path | None, typer.Option(help="Where projects live (default ./projects).")] = None,
) -> None:
    """Revise a film with a note; only the shots the note touches are made again, then the film is recut."""
    from agents.errors import DirectorError
    from agents.run import MessageKind, classify_by_rules, use_take
    from agents.state import Feedback

    settings = settings_for(projects_dir)
    project = open_run(settings, run)
    if take is not None:
        if shot is None or note or scene is not None:
            raise fail("--take picks a take of one shot: give --shot and --take, without a note or --scene.")
        try:
            result = use_take(project, shot, take)
        except DirectorError as error:
            raise fail(str(error)) from None
        console.print(escape(result.message))
        run_with_progress(settings, project)
        return
    if not note.strip():
        raise fail('say what to change, e.g. director revise RUN "make scene 2 a night scene".')
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
    from agents.errors import DirectorError, MemoryStoreError
    from agents.run import undo_last_note, use_earlier_take

    settings = settings_for(projects_dir)
    project = open_run(settings, run)
    try:
        if shot is not None:
            result = use_earlier_take(project, shot)
        else:
            result = undo_last_note(project, memory_settings=settings.memory)
    except MemoryStoreError as error:
        raise fail(str(error), 1) from None
    except DirectorError as error:
        raise fail(str(error)) from None
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
    from agents.errors import DirectorError

    try:
        launch_studio(settings_for(projects_dir), host=host, port=port, share=share, auth=credentials)
    except DirectorError as error:
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


if __name__ == "__main__":
    app()
