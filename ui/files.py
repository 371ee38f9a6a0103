"""Which project files the studio serves, and to whom: each owner its own films, nobody the logs or the secret.

Gradio serves the projects folder in place (`serve_projects_in_place`, so a film's video is not copied into its
cache) and would hand any of it to whoever asks by path. `OwnFilesOnly` sits in front of Gradio's file route:
a path inside the projects folder is let through only when it lies in the requester's own owner folder
(`studio_root/<owner key>/`) and is neither under a `logs/` folder nor the `.secret`. Paths outside the projects
folder (Gradio's cache and uploads) keep Gradio's own rules.
"""

from __future__ import annotations

import inspect
import os
import re
from pathlib import Path

import gradio as gr
from gradio.routes import App
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from ui.browser import browser_token
from ui.session import Studio, studio_root

FILE_ROUTE = re.compile(r"/gradio_api/file(?:=|/)(?P<target>.*)\Z", re.DOTALL)
NEVER_SERVED_FOLDER = "logs"
SECRET_NAME = ".secret"


def serve_projects_in_place(projects_dir: Path) -> None:
    """Tell Gradio to serve project files from where they are (once per process; Gradio keeps the list)."""
    projects = projects_dir.resolve()
    if not gr.utils.is_static_file(projects):
        gr.set_static_paths([projects])


def requested_file(scope: Scope) -> str | None:
    """The path asked of Gradio's file route (as the route will see it), or None for any other request."""
    path: str = scope.get("path", "")
    root_path: str = scope.get("root_path", "")
    if root_path and path.startswith(root_path):
        path = path[len(root_path) :]
    found = FILE_ROUTE.search(path)
    return found["target"] if found else None


def may_serve(target: str, projects_dir: Path, root: Path, owner: str | None) -> bool:
    """Whether `owner` (None: nobody known) may fetch `target`; paths outside the projects folder are not ours.

    Both the path as written (made absolute the way Gradio does) and its resolved form are checked, so neither
    `..` nor a symlink leads out of the owner's folder or into a log.
    """
    if "://" in target:
        return True
    try:
        written = Path(os.path.abspath(target))
        resolved = written.resolve()
    except (ValueError, OSError, RuntimeError):
        return False
    bases = {Path(os.path.abspath(projects_dir)), projects_dir.resolve()}
    inside = [path.relative_to(base) for path in (written, resolved) for base in bases if _within(path, base)]
    if not inside:
        return True
    if owner is None or any(_forbidden(relative) for relative in inside):
        return False
    return _within(resolved, root.resolve() / owner)


class OwnFilesOnly:
    """ASGI middleware for the studio's Gradio app: project files go only to their owner (403 otherwise).

    The requester is the logged-in user when the app has a login (Gradio's `access-token` cookie, as its
    `/user` route reads it), else the browser's `director-browser` cookie; the owner key is
    `Studio.owner_key` of either, as the page's `load` derives it.
    """

    def __init__(self, app: ASGIApp, studio: Studio) -> None:
        self.app = app
        self.studio = studio
        self.projects_dir = studio.settings.projects_dir.resolve()
        self.root = studio_root(studio.settings)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        target = requested_file(scope) if scope["type"] == "http" else None
        if target is not None and not may_serve(target, self.projects_dir, self.root, await self.owner(scope)):
            await JSONResponse({"detail": "File not allowed."}, status_code=403)(scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def owner(self, scope: Scope) -> str | None:
        """The requester's owner key, or None when it has neither a valid login nor a browser cookie."""
        connection = HTTPConnection(scope)
        user: str | None = None
        app = scope.get("app")
        if isinstance(app, App):
            if app.auth_dependency is not None:
                user = app.auth_dependency(Request(scope))
                if inspect.isawaitable(user):
                    user = await user
            else:
                token = connection.cookies.get(f"access-token-{app.cookie_id}") or connection.cookies.get(
                    f"access-token-unsecure-{app.cookie_id}"
                )
                user = app.tokens.get(token) if token else None
            if (app.auth is not None or app.auth_dependency is not None) and not user:
                return None
        try:
            return self.studio.owner_key(user, browser_token(connection.cookies))
        except ValueError:
            return None


def _within(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _forbidden(relative: Path) -> bool:
    parts = [part.lower() for part in relative.parts]
    return NEVER_SERVED_FOLDER in parts or SECRET_NAME in parts
