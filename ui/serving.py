"""What the studio's Gradio app is served with: its middleware (browser cookie, file guard) and its login check."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from starlette.middleware import Middleware

from tools.settings import Settings
from ui.browser import BrowserCookie
from ui.files import OwnFilesOnly, serve_projects_in_place
from ui.login import LoginLimiter
from ui.session import Studio, studio_root

Auth = tuple[str, str] | Sequence[tuple[str, str]] | Callable[[str, str], bool]


def studio_app_kwargs(studio: Studio) -> dict[str, Any]:
    """`app_kwargs` for `launch` and `mount_gradio_app`: the browser cookie, then the guard on project files.

    Also makes Gradio serve the projects folder in place, so the guard sees a film's real path.
    """
    serve_projects_in_place(studio.settings.projects_dir)
    return {"middleware": [Middleware(BrowserCookie), Middleware(OwnFilesOnly, studio=studio)]}


def never_served(settings: Settings) -> list[str]:
    """Paths Gradio itself refuses too: the studio's shared logs and its owner-key secret."""
    root = studio_root(settings)
    return [str(root / "logs"), str(root / ".secret")]


def studio_auth(auth: Auth | None, settings: Settings) -> Callable[[str, str], bool] | None:
    """The login check: user/password pairs become a `LoginLimiter` with the settings' limit; a callable is kept."""
    if auth is None or callable(auth):
        return auth
    return LoginLimiter(auth, settings.studio.login_attempts_per_minute)
