"""Who may fetch which studio file: a real studio on a loopback port, driven over HTTP by several clients.

Each owner gets its own films and nothing else; no log and no secret is ever served; a browser keeps its films
across a server restart; logins are rate-limited per user name.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import gradio as gr
import httpx
import pytest
from fake_crew import crew
from fastapi import FastAPI
from fastapi.testclient import TestClient
from PIL import Image

from tools.settings import Settings, StudioSettings
from ui.app import build_app, mount_studio, serving_options
from ui.browser import BROWSER_COOKIE
from ui.files import may_serve
from ui.login import LoginLimiter
from ui.serving import studio_auth
from ui.session import Studio, studio_root, studio_secret

USERS = [("ana", "ana-correct-horse"), ("ben", "ben-battery-staple")]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def settings(tmp_path: Path, monkeypatch) -> Settings:
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "gradio"))
    monkeypatch.setenv("GRADIO_ANALYTICS_ENABLED", "False")
    return Settings(projects_dir=tmp_path / "projects")


@pytest.fixture
def serve(minilm) -> Iterator:
    """Start studios on free loopback ports; each is a fresh `Studio` reading the secret kept on disk."""

    @contextmanager
    def start(settings: Settings, auth=None) -> Iterator[tuple[str, Studio]]:
        studio = Studio(settings, crew(), minilm, studio_secret(studio_root(settings)))
        app = build_app(studio)
        app.queue(default_concurrency_limit=8)
        port = free_port()
        app.launch(
            server_name="127.0.0.1",
            server_port=port,
            prevent_thread_lock=True,
            quiet=True,
            auth=studio_auth(auth, settings),
            **serving_options(settings, studio),
        )
        try:
            yield f"http://127.0.0.1:{port}", studio
        finally:
            app.close()

    return start


def film_files(root: Path, owner: str, film: str = "film-1") -> dict[str, Path]:
    """A film as the studio leaves it: its cut, its run record and its own LLM call log."""
    folder = root / owner / film
    files = {
        "subtitles": folder / "cut" / "film.srt",
        "run": folder / "run.json",
        "log": folder / "logs" / "llm-calls.jsonl",
    }
    for name, path in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"premise": f"{owner}'s secret premise", "file": name}))
    return files


def fetch(client: httpx.Client, path: Path | str) -> int:
    return client.get(f"/gradio_api/file={path}").status_code


def browser(url: str) -> tuple[httpx.Client, str]:
    """A client that opened the page, and the browser token its cookie holds."""
    client = httpx.Client(base_url=url, timeout=30)
    page = client.get("/")
    assert page.status_code == 200
    set_cookie = page.headers.get("set-cookie", "")
    assert "httponly" in set_cookie.lower() and "samesite=lax" in set_cookie.lower()
    return client, client.cookies[BROWSER_COOKIE]


def test_each_browser_gets_only_its_own_films(settings: Settings, serve):
    with serve(settings) as (url, studio):
        ana, ana_token = browser(url)
        ben, ben_token = browser(url)
        root = studio_root(settings)
        ana_films = film_files(root, studio.owner_key(None, ana_token))
        ben_films = film_files(root, studio.owner_key(None, ben_token))
        (root / "logs").mkdir(exist_ok=True)
        (root / "logs" / "llm-calls.jsonl").write_text('{"premise": "everyone\'s"}\n')

        assert fetch(ana, ana_films["subtitles"]) == 200
        assert ana.get(f"/gradio_api/file={ana_films['subtitles']}").text == ana_films["subtitles"].read_text()
        assert fetch(ana, ana_films["run"]) == 200
        assert fetch(ben, ana_films["subtitles"]) == 403
        assert fetch(ben, ana_films["run"]) == 403
        assert fetch(ben, ben_films["subtitles"]) == 200
        with httpx.Client(base_url=url) as stranger:
            assert fetch(stranger, ana_films["subtitles"]) == 403, "no cookie, no films"

        for client in (ana, ben):
            assert fetch(client, root / "logs" / "llm-calls.jsonl") == 403
            assert fetch(client, root / ".secret") == 403
            assert fetch(client, ana_films["log"]) == 403
            assert fetch(client, ben_films["log"]) == 403
        escape = f"{ben_films['subtitles'].parents[2]}/%2E%2E/{ana_films['subtitles'].relative_to(root)}"
        assert fetch(ben, escape) == 403, "`..` does not lead out of ben's folder"
        assert ben.get(f"/gradio_api/file={root}/{ben_films['run'].parents[1].name}/%2E%2E/.secret").status_code == 403


def test_the_page_knows_the_browser_by_its_cookie(settings: Settings, minilm):
    studio = Studio(settings, crew(), minilm, studio_secret(studio_root(settings)))
    app = build_app(studio)
    load = next(block.fn for block in app.fns.values() if block.name == "load")
    token = "ab" * 16
    outputs = load(gr.Request(username=None, cookies={BROWSER_COOKIE: token}))
    session = next(value for value in outputs.values() if hasattr(value, "owner"))
    assert session.owner == studio.owner_key(None, token)
    with pytest.raises(ValueError):
        load(gr.Request(username=None, cookies={}))


def test_a_browser_keeps_its_films_across_a_restart(settings: Settings, serve):
    with serve(settings) as (url, studio):
        ana, token = browser(url)
        owner = studio.owner_key(None, token)
        films = film_files(studio_root(settings), owner)
        assert fetch(ana, films["subtitles"]) == 200
    with serve(settings) as (url, restarted):
        assert restarted.owner_key(None, token) == owner
        again = httpx.Client(base_url=url, cookies={BROWSER_COOKIE: token})
        page = again.get("/")
        assert BROWSER_COOKIE not in page.headers.get("set-cookie", ""), "a known browser keeps its cookie"
        assert fetch(again, films["subtitles"]) == 200


def login(url: str, user: str, password: str) -> tuple[httpx.Client, int]:
    client = httpx.Client(base_url=url, timeout=30)
    answer = client.post("/login", data={"username": user, "password": password})
    return client, answer.status_code


def test_logged_in_users_get_only_their_own_films(settings: Settings, serve):
    with serve(settings, auth=USERS) as (url, studio):
        (ana, ana_login), (ben, ben_login) = login(url, *USERS[0]), login(url, *USERS[1])
        assert (ana_login, ben_login) == (200, 200)
        root = studio_root(settings)
        ana_films = film_files(root, studio.owner_key("ana", None))
        ben_films = film_files(root, studio.owner_key("ben", None))
        assert fetch(ana, ana_films["subtitles"]) == 200
        assert fetch(ben, ben_films["subtitles"]) == 200
        assert fetch(ben, ana_films["subtitles"]) == 403
        assert fetch(ben, ana_films["log"]) == 403
        assert fetch(ana, ana_films["log"]) == 403
        with httpx.Client(base_url=url) as stranger:
            assert fetch(stranger, ana_films["subtitles"]) in (401, 403)


def test_logins_stop_after_too_many_wrong_passwords(settings: Settings, serve):
    limit = settings.studio.login_attempts_per_minute
    assert limit == 10
    with serve(settings, auth=USERS) as (url, _):
        for _ in range(limit):
            assert login(url, "ana", "guess")[1] == 400
        assert login(url, *USERS[0])[1] == 400, "the right password is refused too, for the rest of the minute"
        assert login(url, *USERS[1])[1] == 200, "other names are not locked out"


def test_the_login_limit_comes_from_settings(tmp_path: Path):
    settings = Settings(projects_dir=tmp_path, studio=StudioSettings(login_attempts_per_minute=3))
    check = studio_auth(USERS[0], settings)
    assert isinstance(check, LoginLimiter) and check.attempts_per_minute == 3
    assert studio_auth(None, settings) is None


def test_the_limiter_counts_wrong_passwords_in_a_sliding_minute():
    now = [1000.0]
    limiter = LoginLimiter(USERS, attempts_per_minute=3, clock=lambda: now[0])
    assert limiter("ana", "ana-correct-horse")
    assert not limiter("ana", "ana-wrong")
    assert not limiter("nobody", "x")
    now[0] += 20
    assert not limiter("ana", "wrong")
    assert not limiter("ana", "wrong")
    assert limiter.refused("ana")
    assert not limiter("ana", "ana-correct-horse"), "locked: the password is not even looked at"
    assert limiter("ben", "ben-battery-staple")
    now[0] += 41
    assert not limiter.refused("ana"), "the first wrong password is more than a minute old"
    assert limiter("ana", "ana-correct-horse")
    assert not limiter.refused("ana")


def test_the_guard_handles_dots_and_symlinks(tmp_path: Path):
    projects = tmp_path / "projects"
    root = projects / "studio"
    mine = root / "owner-a" / "film" / "cut" / "film.mp4"
    theirs = root / "owner-b" / "film" / "cut" / "film.mp4"
    for path in (mine, theirs):
        path.parent.mkdir(parents=True)
        path.write_bytes(b"film")
    link = root / "owner-a" / "film" / "cut" / "theirs.mp4"
    link.symlink_to(theirs)
    outside = tmp_path / "elsewhere.txt"
    outside.write_text("gradio's business")
    assert may_serve(str(mine), projects, root, "owner-a")
    assert not may_serve(str(mine), projects, root, "owner-b")
    assert not may_serve(str(mine), projects, root, None)
    assert not may_serve(str(link), projects, root, "owner-a"), "a symlink does not lead into another's folder"
    assert not may_serve(f"{root}/owner-a/../owner-b/film/cut/film.mp4", projects, root, "owner-a")
    assert not may_serve(f"{root}/owner-a/film/LOGS/x.jsonl", projects, root, "owner-a")
    assert may_serve(str(outside), projects, root, None), "files outside the projects keep Gradio's rules"
    assert not may_serve(f"{mine}\x00.txt", projects, root, "owner-a")


def test_a_mounted_studio_guards_files_the_same_way(settings: Settings, minilm):
    studio = Studio(settings, crew(), minilm, studio_secret(studio_root(settings)))
    app = mount_studio(FastAPI(), studio, path="/studio")
    with TestClient(app) as ana, TestClient(app) as ben:
        ana.get("/studio/")
        ben.get("/studio/")
        films = film_files(studio_root(settings), studio.owner_key(None, ana.cookies[BROWSER_COOKIE]))
        assert ana.get(f"/studio/gradio_api/file={films['subtitles']}").status_code == 200
        assert ben.get(f"/studio/gradio_api/file={films['subtitles']}").status_code == 403
        assert ana.get(f"/studio/gradio_api/file={films['log']}").status_code == 403
        assert ana.get(f"/studio/gradio_api/file={studio_root(settings) / '.secret'}").status_code == 403


def test_components_link_project_files_in_place(settings: Settings, minilm):
    """What the page shows (a download, a keyframe) is served from the project, where the guard sees it."""
    from gradio.processing_utils import move_files_to_cache

    studio = Studio(settings, crew(), minilm, studio_secret(studio_root(settings)))
    serving_options(settings, studio)
    films = film_files(studio_root(settings), studio.owner_key("ana", None))
    download = gr.File()
    data = move_files_to_cache(download.postprocess(str(films["subtitles"])), download, postprocess=True)
    assert data["url"].endswith(f"/gradio_api/file={films['subtitles']}"), data
    keyframe = films["run"].parent / "takes" / "shot-1.png"
    keyframe.parent.mkdir()
    Image.new("RGB", (8, 8), "orange").save(keyframe)
    gallery = gr.Gallery()
    shown = move_files_to_cache(gallery.postprocess([(str(keyframe), "shot 1")]), gallery, postprocess=True)
    assert shown[0]["image"]["url"].endswith(f"/gradio_api/file={keyframe}"), shown
