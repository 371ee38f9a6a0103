"""The studio: a Gradio Blocks app to chat with the crew, approve each stage and revise the film by talking.

`build_app(studio)` makes the page; the handlers below are plain functions of the session, so they can be
tested without a browser. Runs happen in a worker thread per session; the page streams their events, so
nothing blocks it, and Cancel stops a run where it can be resumed.
"""

from __future__ import annotations

import queue
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import gradio as gr
from fastapi import FastAPI

from agents.errors import DirectorError, ProjectError, ReferenceUploadError
from agents.events import Stage
from agents.state import GateDecision
from tools.settings import Settings
from ui.browser import browser_token
from ui.conversation import already_referenced, handle_message
from ui.film_view import (
    NO_COST_YET,
    NO_TARGET,
    bible_markdown,
    cost_line,
    costs_markdown,
    downloads,
    reference_choices,
    reference_items,
    scene_choices,
    script_markdown,
    shot_choices,
    shot_rows,
    storyboard_items,
)
from ui.serving import Auth, never_served, studio_app_kwargs, studio_auth
from ui.session import Job, Studio, StudioSession

REFUSALS = (DirectorError, ValueError)
"""What a request may be refused with before anything changed: said in the chat, the page carries on."""
TAB_AT_GATE = {"script": "tab-script", "storyboard": "tab-storyboard", "cut": "tab-cut"}
CSS = """
#studio-title h1 { margin: 0; font-size: 1.4rem; }
.gate-box { border-left: 4px solid var(--color-accent); padding-left: 12px; }
.hidden-aim { display: none !important; }
#chat { height: min(460px, 40vh) !important; }
@media (max-width: 640px) {
  .gradio-container { padding: 4px !important; }
  #chat { height: 24vh !important; }
  #gate { font-size: 0.9rem; }
}
"""
FOCUS_NOTE = """
() => {
  const box = document.querySelector('#note textarea');
  box.scrollIntoView({block: 'center'});
  box.focus();
}
"""
LINK_CLICKS = """
() => {
  document.addEventListener('click', (event) => {
    const link = event.target.closest && event.target.closest('a[href^="#shot-"], a[href^="#scene-"]');
    if (!link) return;
    event.preventDefault();
    event.stopPropagation();
    window.directorAim = link.getAttribute('href').slice(1);
    document.querySelector('#aim-go').click();
  }, true);
}
"""


class StudioView:
    """The page's components, by name, so handlers return updates keyed by component."""

    def __init__(self, studio: Studio) -> None:
        settings = studio.settings
        self.session = gr.State(None)
        gr.Markdown("# 🎬 Director studio", elem_id="studio-title")
        with gr.Row(equal_height=False):
            with gr.Column(scale=5, min_width=320):
                self.gate = gr.Markdown("", elem_id="gate", elem_classes=["gate-box"])
                with gr.Row():
                    self.approve = gr.Button(
                        "Approve", variant="primary", elem_id="approve", interactive=False, min_width=60
                    )
                    self.undo = gr.Button("Undo", elem_id="undo", min_width=60)
                    self.cancel = gr.Button("Cancel", variant="stop", elem_id="cancel", min_width=60)
                    self.resume = gr.Button("Resume", elem_id="resume", min_width=60)
                self.chat = gr.Chatbot(label="The crew", elem_id="chat", layout="bubble")
                with gr.Row(equal_height=True):
                    self.note = gr.Textbox(
                        label="Message to the crew",
                        placeholder="A question, or a note: “make scene 2 a night scene”",
                        lines=2,
                        max_lines=6,
                        elem_id="note",
                        scale=5,
                        min_width=200,
                    )
                    self.send = gr.Button("Send", variant="primary", elem_id="send", scale=1, min_width=70)
                self.cost_line = gr.Markdown(NO_COST_YET, elem_id="cost-line")
                with gr.Row():
                    self.scene = gr.Dropdown(
                        label="Aim at scene",
                        choices=[("any", NO_TARGET)],
                        value=NO_TARGET,
                        elem_id="target-scene",
                        min_width=120,
                    )
                    self.shot = gr.Dropdown(
                        label="Aim at shot",
                        choices=[("any", NO_TARGET)],
                        value=NO_TARGET,
                        elem_id="target-shot",
                        min_width=120,
                    )
                self.aim = gr.Textbox(elem_id="aim", elem_classes=["hidden-aim"], show_label=False, container=False)
                self.aim_go = gr.Button("Aim", elem_id="aim-go", elem_classes=["hidden-aim"])
                with gr.Row():
                    self.new_film = gr.Button("New film", elem_id="new-film", min_width=90)
                    self.unattended = gr.Checkbox(
                        label="Unattended (approve every gate, no proposals)", value=False, elem_id="unattended"
                    )
                self.seconds = gr.Slider(
                    5, 180, value=settings.target_seconds, step=1, label="Length of a new film (s)", elem_id="seconds"
                )
            with gr.Column(scale=6, min_width=320):
                with gr.Tabs(selected="tab-cut", elem_id="panel") as self.panel:
                    with gr.Tab("Cut", id="tab-cut"):
                        self.video = gr.Video(label="The cut", elem_id="cut", interactive=False, autoplay=False)
                        self.downloads = gr.File(
                            label="Downloads", file_count="multiple", elem_id="downloads", interactive=False
                        )
                        self.costs = gr.Markdown("", elem_id="costs")
                    with gr.Tab("Storyboard", id="tab-storyboard"):
                        self.storyboard = gr.Gallery(
                            label="Storyboard", elem_id="storyboard", columns=3, height="auto", allow_preview=False
                        )
                    with gr.Tab("Script", id="tab-script"):
                        self.script = gr.Markdown("", elem_id="script")
                        self.shots = gr.Dataframe(
                            headers=["#", "shot", "scene", "framing", "camera", "seconds", "action", "take"],
                            elem_id="shots",
                            interactive=False,
                            wrap=True,
                        )
                    with gr.Tab("Bible", id="tab-bible"):
                        self.bible = gr.Markdown("", elem_id="bible")
                        self.references = gr.Gallery(label="References", elem_id="references", columns=4, height="auto")
                        self.reference_target = gr.Dropdown(
                            label="Reference for", choices=[], elem_id="reference-target"
                        )
                        self.reference_source = gr.Textbox(
                            label="Where the picture comes from (kept in the manifest)", elem_id="reference-source"
                        )
                        self.reference_file = gr.File(
                            label="Drop a reference picture", file_types=["image"], elem_id="reference-upload"
                        )
                    with gr.Tab("Projects", id="tab-projects"):
                        self.projects = gr.Dropdown(label="Your films", choices=[], elem_id="projects")
                        self.open = gr.Button("Open", elem_id="open-project")

    def everything(self) -> list[Any]:
        return [
            self.chat, self.gate, self.approve, self.undo, self.scene, self.shot, self.video, self.downloads,
            self.storyboard, self.script, self.shots, self.bible, self.references, self.reference_target,
            self.projects, self.costs, self.cost_line, self.panel,
        ]  # fmt: skip


def build_app(studio: Studio) -> gr.Blocks:
    with gr.Blocks(title="Director studio", fill_width=True) as app:
        view = StudioView(studio)
        full = view.everything()
        with_session = [view.session, *full]

        def load(request: gr.Request):
            """The owner is the login, else the browser's HttpOnly cookie (`ui.browser`), which the file guard reads.

            The film the owner had open comes back with its chat, after a reload or a server restart.
            """
            session = StudioSession(studio, studio.owner_key(request.username, browser_token(dict(request.cookies))))
            session.reopen_last()
            if not session.projects():
                session.wants_premise = True
                session.say(Stage.GATE, "Welcome to the studio. Tell me your film in a sentence, and the crew starts.")
            elif session.project is None:
                session.say(Stage.GATE, "Open one of your films under Projects, or press New film to start another.")
            return {view.session: session, **render(view, session, full=True)}

        app.load(load, None, with_session)

        def send(text: str, scene: str, shot: str, unattended: bool, seconds: float, session: StudioSession):
            yield from respond(
                view,
                session,
                lambda: handle_message(session, text, scene, shot, unattended, seconds),
                accepted={view.note: ""},
            )

        def approve(unattended: bool, session: StudioSession):
            yield from respond(view, session, lambda: session.start_decision(GateDecision(), unattended))

        def undo(unattended: bool, session: StudioSession):
            yield from respond(view, session, lambda: session.start_undo(None, unattended))

        def resume(unattended: bool, session: StudioSession):
            yield from respond(view, session, lambda: session.start_resume(unattended))

        def upload(file: str | None, target: str, source: str, unattended: bool, session: StudioSession):
            yield from respond(
                view,
                session,
                lambda: start_reference(session, file, target, source, unattended),
                accepted={view.reference_file: None},
                refused={view.reference_file: None},
            )

        streaming = {"concurrency_limit": None, "show_progress": "hidden"}
        message = [view.note, view.scene, view.shot, view.unattended, view.seconds, view.session]
        view.send.click(send, message, [*full, view.note], **streaming)
        view.note.submit(send, message, [*full, view.note], **streaming)
        view.approve.click(approve, [view.unattended, view.session], full, **streaming)
        view.undo.click(undo, [view.unattended, view.session], full, **streaming)
        view.resume.click(resume, [view.unattended, view.session], full, **streaming)
        view.reference_file.upload(
            upload,
            [view.reference_file, view.reference_target, view.reference_source, view.unattended, view.session],
            [*full, view.reference_file],
            **streaming,
        )
        view.cancel.click(cancel, [view.session], None, queue=False)
        view.new_film.click(lambda session: fresh(view, session), [view.session], full)
        view.open.click(lambda film_id, session: open_film(view, session, film_id), [view.projects, view.session], full)
        view.storyboard.select(pick_shot, [view.session], [view.shot, view.scene])
        view.storyboard.select(None, None, None, js=FOCUS_NOTE)
        view.aim_go.click(
            aim_at,
            [view.aim, view.session],
            [view.scene, view.shot, view.panel],
            js="(aim, session) => [window.directorAim || '', session]",
        )
        app.load(None, None, None, js=LINK_CLICKS)
    return app


def start_reference(session: StudioSession, file: str | None, target: str, source: str, unattended: bool) -> Job | None:
    """A reference picture for a character or place; the same picture twice is a no-op that says so."""
    if not file:
        raise ReferenceUploadError("no file arrived; drop a PNG, JPEG, WebP, GIF or BMP picture.")
    if not target or ":" not in target:
        raise ReferenceUploadError("choose who or what the picture is for (“Reference for”) before dropping it.")
    kind, owner_id = target.split(":", 1)
    path = Path(file)
    if (owner := already_referenced(session, path, kind, owner_id)) is not None:
        session.say(Stage.REVISE, f"{owner} already has this exact picture as a reference; nothing changed.")
        session.save()
        return None
    return session.start_reference(path, path.name, kind, owner_id, source or "", unattended)


def respond(
    view: StudioView,
    session: StudioSession,
    start: Callable[[], Job | None],
    accepted: dict | None = None,
    refused: dict | None = None,
) -> Iterator[dict]:
    """Start a job (or say in the chat why not), then stream its events to the page until it ends.

    `accepted` and `refused` are extra updates for the page: a sent message leaves the box only when taken.
    """
    try:
        job = start()
    except REFUSALS as error:
        session.say(Stage.REVISE, f"{error}")
        yield {**render(view, session, full=True), **(refused or {})}
        return
    yield {**render(view, session, full=True), **(accepted or {})}
    if job is None:
        return
    while job.running or not job.events.empty():
        try:
            session.absorb(job.events.get(timeout=0.25))
        except queue.Empty:
            continue
        yield render(view, session, full=False)
    job.thread.join()
    session.finish(job)
    yield render(view, session, full=True)


def cancel(session: StudioSession) -> None:
    if session is not None and not session.cancel():
        gr.Info("Nothing is running.")


def fresh(view: StudioView, session: StudioSession) -> dict:
    try:
        session.new_film()
        session.say(Stage.GATE, "A new film: tell me its premise in a sentence.")
    except REFUSALS as error:
        session.say(Stage.RUN, str(error))
    return render(view, session, full=True)


def open_film(view: StudioView, session: StudioSession, film_id: str | None) -> dict:
    try:
        if not film_id:
            raise ProjectError("pick a film from your list first.")
        session.open(film_id)
    except REFUSALS as error:
        session.say(Stage.RUN, str(error))
    return render(view, session, full=True)


def pick_shot(session: StudioSession, evt: gr.SelectData) -> tuple[Any, Any]:
    """Clicking a storyboard frame aims the next note at that shot (and at no scene)."""
    film = session.film() if session is not None else None
    frames = storyboard_items(session, film)
    if evt.index is None or not 0 <= int(evt.index) < len(frames):
        return gr.update(), gr.update()
    return gr.update(value=frames[int(evt.index)][2]), gr.update(value=NO_TARGET)


def aim_at(reference: str, session: StudioSession) -> tuple[Any, Any, Any]:
    """A scene or shot link in the chat: aim the next note at it and show it (the shot in the storyboard)."""
    film = session.film() if session is not None else None
    kind, _, key = (reference or "").partition("-")
    if film is not None and kind == "shot" and key in {shot.id for shot in film.shots()}:
        return gr.update(value=NO_TARGET), gr.update(value=key), gr.Tabs(selected="tab-storyboard")
    if film is not None and kind == "scene" and key.isdigit() and int(key) in {s.number for s in film.scenes}:
        return gr.update(value=key), gr.update(value=NO_TARGET), gr.Tabs(selected="tab-script")
    return gr.update(), gr.update(), gr.update()


def render(view: StudioView, session: StudioSession, full: bool) -> dict:
    """The page for the session's state: the live parts while a run streams, everything when it ends."""
    film = session.film()
    gate = session.gate
    busy = session.busy
    values: dict[Any, Any] = {
        view.chat: [line.as_message() for line in session.chat],
        view.gate: f"**Waiting for you:** {gate.message}"
        if gate and not busy
        else ("*The crew is working…*" if busy else ""),
        view.approve: gr.update(interactive=(gate is not None or session.proposal is not None) and not busy),
        view.storyboard: [(path, caption) for path, caption, _ in storyboard_items(session, film)],
    }
    if not full:
        return values
    project = session.project
    cut = project.cut_dir / "film.mp4" if project is not None else None
    ready = cut is not None and cut.is_file() and film is not None and any(s.take for s in film.shots())
    values.update(
        {
            view.undo: gr.update(interactive=bool(film and film.feedback) and not busy),
            view.panel: gr.Tabs(selected=TAB_AT_GATE[gate.gate]) if gate and not busy else gr.update(),
            view.cost_line: cost_line(session),
            view.scene: gr.update(choices=scene_choices(film), value=NO_TARGET),
            view.shot: gr.update(choices=shot_choices(film), value=NO_TARGET),
            view.video: str(cut) if ready else None,
            view.downloads: downloads(session) if ready else None,
            view.costs: costs_markdown(project),
            view.script: script_markdown(film),
            view.shots: shot_rows(film),
            view.bible: bible_markdown(film),
            view.references: reference_items(session, film),
            view.reference_target: gr.update(choices=reference_choices(film)),
            view.projects: gr.update(
                choices=[(f"{p.title} · {p.film_id}", p.film_id) for p in session.projects()],
                value=project.film_id if project is not None else None,
            ),
        }
    )
    return values


def launch_studio(
    settings: Settings,
    host: str = "127.0.0.1",
    port: int = 7860,
    share: bool = False,
    auth: Auth | None = None,
) -> None:
    """Serve the studio until interrupted; the bundled LLM server lives as long as the studio does.

    `auth` pairs are checked by a `LoginLimiter` (`settings.studio.login_attempts_per_minute`).
    """
    with Studio.open(settings) as studio:
        app = build_app(studio)
        app.queue(default_concurrency_limit=8)
        app.launch(
            server_name=host,
            server_port=port,
            share=share,
            auth=studio_auth(auth, settings),
            num_workers=0,
            **serving_options(settings, studio),
        )


def mount_studio(app: FastAPI, studio: Studio, path: str = "/studio", auth: Auth | None = None) -> FastAPI:
    """Serve the studio inside your own FastAPI app at `path`, with the same file and login rules as `launch_studio`.

    The caller keeps `studio` open (`with Studio.open(settings) as studio:`) for as long as the app serves.
    """
    blocks = build_app(studio)
    blocks.queue(default_concurrency_limit=8)
    options = serving_options(studio.settings, studio)
    return gr.mount_gradio_app(app, blocks, path=path, auth=studio_auth(auth, studio.settings), **options)


def serving_options(settings: Settings, studio: Studio) -> dict[str, Any]:
    """What `launch` and `mount_gradio_app` need beyond the address and login, for `studio` (serving `settings`).

    Project files are served in place, each only to its owner (`ui.files.OwnFilesOnly`); logs and the owner-key
    secret never are. The page needs nothing for this: the browser cookie is set by the middleware.
    """
    return {
        "app_kwargs": studio_app_kwargs(studio),
        "blocked_paths": never_served(settings),
        "css": CSS,
        "theme": gr.themes.Soft(),
        "footer_links": [],
    }
