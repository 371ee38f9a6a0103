"""The real studio in a real browser: Debian's chromium driven by Playwright, against the bundled LLM.

The studio runs in this process on a free port with its own projects folder, and is restarted on the same
folder where a test needs it; screenshots at desktop and phone sizes are saved under `test-artifacts/`.
Every wait is on the page's state (a message in the chat, the crew idle, a gate), never on the clock alone,
so the tests hold while another film renders on the same cores.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest
from PIL import Image

from agents.state import Film

pytestmark = [pytest.mark.browser, pytest.mark.llm, pytest.mark.slow]

CHROMIUM = Path(os.environ.get("DIRECTOR_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]
ARTIFACTS = Path(__file__).parents[1] / "test-artifacts"
WAIT_MS = 600_000
IDLE = "() => document.querySelector('#gate') && !document.querySelector('#gate').innerText.includes('working')"
BOT = "#chat .bot, #chat [data-testid='bot']"


@pytest.fixture(scope="module")
def bundled_llm(tmp_path_factory) -> Iterator:
    from tools.llm.client import LLMClient
    from tools.settings import LLMSettings

    with LLMClient.from_settings(LLMSettings(), log_dir=tmp_path_factory.mktemp("llm-logs")) as llm:
        yield llm


class StudioServer:
    """The studio app on a free loopback port over one projects folder; `restart` serves it anew."""

    def __init__(self, projects: Path, llm, target_seconds: float = 10, auth: list | None = None) -> None:
        from tools.settings import Settings

        self.settings = Settings(projects_dir=projects, target_seconds=target_seconds, max_review_rounds=1)
        self.llm = llm
        self.auth = auth
        self.port = free_port()
        self._stack = ExitStack()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def root(self) -> Path:
        return self.settings.projects_dir.resolve() / "studio"

    def start(self) -> StudioServer:
        from ui.app import build_app, serving_options
        from ui.serving import studio_auth
        from ui.session import Studio

        studio = self._stack.enter_context(Studio.open(self.settings, llm=self.llm))
        app = build_app(studio)
        app.queue(default_concurrency_limit=8)
        app.launch(
            server_name="127.0.0.1",
            server_port=self.port,
            prevent_thread_lock=True,
            quiet=True,
            auth=studio_auth(self.auth, self.settings),
            **serving_options(self.settings, studio),
        )
        self._stack.callback(app.close)
        return self

    def stop(self) -> None:
        self._stack.close()
        self._stack = ExitStack()

    def restart(self) -> None:
        self.stop()
        self.start()


@pytest.fixture
def studio(tmp_path: Path, bundled_llm, monkeypatch) -> Iterator[StudioServer]:
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "gradio"))
    monkeypatch.setenv("GRADIO_ANALYTICS_ENABLED", "False")
    server = StudioServer(tmp_path / "projects", bundled_llm).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def browser() -> Iterator:
    from playwright.sync_api import sync_playwright

    assert CHROMIUM.is_file(), f"{CHROMIUM} is missing: `make test` installs Debian's chromium"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_gate(page, gate: str) -> None:
    page.wait_for_function(
        "gate => document.querySelector('#approve') && !document.querySelector('#approve').disabled"
        " && document.querySelector('#gate')?.innerText.toLowerCase().includes(gate)",
        arg=f"the {gate}",
        timeout=WAIT_MS,
    )


def wait_for_chat(page, text: str) -> None:
    page.wait_for_function(
        "text => document.querySelector('#chat')?.innerText.includes(text)", arg=text, timeout=WAIT_MS
    )


def chat_text(page) -> str:
    return page.locator("#chat").inner_text()


def bot_messages(page) -> int:
    return page.locator(BOT).count()


def send(page, text: str) -> None:
    """Type and send a message, then wait until the crew has answered it and is idle again."""
    replies = bot_messages(page)
    page.locator("#note textarea").fill(text)
    page.locator("#send").click()
    page.wait_for_function(f"count => document.querySelectorAll({BOT!r}).length > count", arg=replies, timeout=WAIT_MS)
    page.wait_for_function(IDLE, timeout=WAIT_MS)


def last_reply(page) -> str:
    return page.locator(BOT).last.inner_text()


def only_project(studio_root: Path) -> Path:
    films = [path.parent for path in studio_root.glob("*/*/run.json")]
    assert len(films) == 1, films
    return films[0]


def takes(project: Path) -> dict[str, str]:
    film = Film.model_validate_json((project / "film.json").read_text())
    return {shot.id: shot.take.content_hash for shot in film.shots() if shot.take}


def take_folders(project: Path) -> list[Path]:
    return sorted(path for path in (project / "takes").glob("*/*") if path.is_dir())


def frame_at(video: Path, seconds: float) -> np.ndarray:
    reader = imageio_ffmpeg.read_frames(str(video), input_params=["-ss", f"{seconds:.3f}"])
    meta = next(reader)
    width, height = meta["size"]
    frame = np.frombuffer(next(reader), np.uint8).reshape(height, width, 3).astype(np.int16)
    reader.close()
    return frame


def frame_differences(old_cut: Path, new_cut: Path, timeline: list[dict]) -> dict[str, float]:
    """Mean absolute difference per shot, at the middle of each shot."""
    return {
        entry["shot_id"]: float(
            np.abs(
                frame_at(old_cut, (entry["start"] + entry["end"]) / 2)
                - frame_at(new_cut, (entry["start"] + entry["end"]) / 2)
            ).mean()
        )
        for entry in timeline
    }


def on_first_screen(page, selector: str) -> bool:
    return page.evaluate(
        """selector => {
            const box = document.querySelector(selector).getBoundingClientRect();
            return box.top >= 0 && box.bottom <= window.innerHeight && box.height > 0;
        }""",
        selector,
    )


def selected_tab(page) -> str:
    return page.locator("#panel [role='tab'][aria-selected='true']").inner_text().strip()


def test_a_film_is_talked_through_revised_undone_and_survives_reload_and_restart(studio, browser):
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    page.goto(studio.url)
    page.wait_for_selector("#chat")
    for selector in ("#send", "#note textarea", "#target-shot", "#cost-line"):
        assert on_first_screen(page, selector), f"{selector} is below the fold at 1440x900"

    send(page, "A retired sailor teaches her grandson to tie knots on a windy pier")
    wait_for_gate(page, "script")
    assert selected_tab(page) == "Script", "the script gate shows the script"
    page.locator("#approve").click()
    wait_for_gate(page, "storyboard")
    assert selected_tab(page) == "Storyboard"
    project = only_project(studio.root)
    shots = len(Film.model_validate_json((project / "film.json").read_text()).shots())
    page.wait_for_function(
        "count => document.querySelectorAll('#storyboard img').length >= count", arg=shots, timeout=30_000
    )
    page.locator("#approve").click()
    wait_for_gate(page, "cut")
    assert selected_tab(page) == "Cut"
    page.wait_for_selector("#cut video", timeout=60_000)
    played = page.evaluate(
        """async () => {
            const video = document.querySelector('#cut video');
            video.muted = true;
            await video.play();
            await new Promise(resolve => video.currentTime > 0.3 ? resolve() : video.addEventListener('timeupdate',
                () => video.currentTime > 0.3 && resolve()));
            return {time: video.currentTime, error: video.error && video.error.code};
        }"""
    )
    assert played["error"] is None and played["time"] > 0.3, played
    page.screenshot(path=str(ARTIFACTS / "studio-desktop-1440x900.png"))

    # Questions, small talk and markup change nothing, and each gets an answer.
    film_bytes = (project / "film.json").read_bytes()
    folders = take_folders(project)
    for question in (
        "Why did you set the second scene at night?",
        "What do you think is the weakest shot?",
        "What did the critic think of shot 3?",
        "🌊🐕⚡🕯️",
        "<img src=x onerror=alert(1)>",
    ):
        send(page, question)
        if question.startswith("Why"):
            assert "scene 2" in last_reply(page).lower(), last_reply(page)
        assert (project / "film.json").read_bytes() == film_bytes, f"{question!r} changed the film"
        assert take_folders(project) == folders, f"{question!r} rendered something"
    page.locator("#chat a[href='#scene-2']").last.click()
    page.wait_for_function("() => document.querySelector('#target-scene input').value.startsWith('2:')", timeout=30_000)
    assert selected_tab(page) == "Script", "a scene named in an answer is a link that aims the next note at it"
    page.locator("#chat a[href^='#shot-']").last.click()
    page.wait_for_function("() => /s\\d\\d-\\d\\d/.test(document.querySelector('#target-shot input').value)")
    assert selected_tab(page) == "Storyboard"
    assert page.locator("#chat img[src='x']").count() == 0, "markup is shown as text"
    assert "<img src=x" in chat_text(page)

    # A film-wide note is proposed first; nothing renders until "go".
    send(page, "make the whole film warmer, with golden light")
    reply = last_reply(page)
    assert f"remake {shots} shots" in reply and "USD" in reply, reply
    assert take_folders(project) == folders and (project / "film.json").read_bytes() == film_bytes
    proposed = takes(project)
    send(page, "go")
    wait_for_gate(page, "cut")
    remade = takes(project)
    assert all(remade[shot] != proposed[shot] for shot in proposed), "go made the proposed note"

    # A one-shot note, then undo: the cut from before the note comes back and nothing renders.
    before = takes(project)
    old_cut = project.parent / "before-note.mp4"
    shutil.copy(project / "cut" / "film.mp4", old_cut)
    page.get_by_role("tab", name="Storyboard").click()
    page.locator("#storyboard img").nth(1).click()
    chosen = sorted(before)[1]
    page.wait_for_function(
        "shot => document.querySelector('#target-shot input').value.includes(shot)", arg=chosen, timeout=30_000
    )
    send(page, "closer on her hands")
    wait_for_gate(page, "cut")
    assert {shot for shot in before if before[shot] != takes(project)[shot]} == {chosen}
    folders = take_folders(project)
    page.locator("#undo").click()
    wait_for_chat(page, "Undid")
    page.wait_for_function(IDLE, timeout=WAIT_MS)
    wait_for_gate(page, "cut")
    assert takes(project) == before and take_folders(project) == folders
    timeline = json.loads((project / "cut" / "timeline.json").read_text())
    differences = frame_differences(old_cut, project / "cut" / "film.mp4", timeline)
    assert max(differences.values()) < 1, differences

    # Over-long text stays in the box with the refusal.
    page.locator("#note textarea").fill("x" * 100_000)
    page.locator("#send").click()
    wait_for_chat(page, "100,000 characters")
    assert len(page.locator("#note textarea").input_value()) == 100_000
    page.locator("#note textarea").fill("")

    # Another browser is refused this owner's files and every log.
    stranger = browser.new_context().new_page()
    stranger.goto(studio.url)
    stranger.wait_for_selector("#chat")
    for path in (project / "cut" / "film.mp4", project / "film.json", studio.root / ".secret"):
        assert stranger.request.get(f"{studio.url}/gradio_api/file={path}").status in (403, 404), path
    for log in studio.root.rglob("*.jsonl"):
        assert stranger.request.get(f"{studio.url}/gradio_api/file={log}").status in (403, 404), log
    assert page.request.get(f"{studio.url}/gradio_api/file={project / 'cut' / 'film.srt'}").status == 200

    # A reload reopens the film with its chat; a note then goes to it, not to a new film.
    page.reload()
    wait_for_chat(page, "closer on her hands")
    send(page, "make shot 1 wider")
    wait_for_gate(page, "cut")
    assert only_project(studio.root) == project

    # The same picture twice: the second is a no-op that says so.
    page.get_by_role("tab", name="Bible").click()
    picture = project.parent / "reference.png"
    Image.new("RGB", (96, 96), (200, 40, 40)).save(picture)
    page.locator("#reference-target input").click()
    page.get_by_role("option").first.click()
    page.locator("#reference-upload input[type=file]").set_input_files(str(picture))
    wait_for_chat(page, "has a reference picture")
    page.wait_for_function(IDLE, timeout=WAIT_MS)
    wait_for_gate(page, "cut")
    folders, film_bytes = take_folders(project), (project / "film.json").read_bytes()
    again = shutil.copy(picture, project.parent / "same-picture-again.png")
    page.locator("#reference-upload input[type=file]").set_input_files(str(again))
    wait_for_chat(page, "already has this exact picture")
    assert take_folders(project) == folders and (project / "film.json").read_bytes() == film_bytes

    # A restart without --auth: the same browser still sees its films and the open film's chat.
    studio.restart()
    page.goto(studio.url)
    wait_for_chat(page, "closer on her hands")
    page.get_by_role("tab", name="Projects").click()
    page.locator("#projects input").click()
    assert len(page.get_by_role("option").all_inner_texts()) == 1
    page.keyboard.press("Escape")

    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    wait_for_chat(page, "closer on her hands")
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 2, f"the page is {overflow} px wider than a phone screen"
    for selector in ("#send", "#note textarea", "#target-shot", "#cost-line"):
        assert on_first_screen(page, selector), f"{selector} is below the fold at 390x844"
    page.screenshot(path=str(ARTIFACTS / "studio-phone-390x844.png"))


def test_two_sessions_make_films_at_once_without_seeing_each_other(studio, browser):
    premises = {
        "ana": "A baker races a thunderstorm to deliver a wedding cake",
        "ben": "Two astronauts argue over the last cup of coffee on the moon",
    }
    pages = {}
    for name in premises:
        page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
        page.goto(studio.url)
        page.wait_for_selector("#chat")
        page.locator("#unattended input").check()
        pages[name] = page
    for name, premise in premises.items():
        page = pages[name]
        page.locator("#note textarea").fill(premise)
        page.locator("#send").click()
        wait_for_chat(page, premise)
    for page in pages.values():
        wait_for_chat(page, "The film is finished")
    owners = sorted(path.parent.parent.name for path in studio.root.glob("*/*/run.json"))
    assert len(set(owners)) == 2, "each browser session keeps its films in its own folder"
    for name, page in pages.items():
        other = next(premise for who, premise in premises.items() if who != name)
        text = chat_text(page)
        assert premises[name] in text and other not in text
        page.get_by_role("tab", name="Projects").click()
        page.locator("#projects input").click()
        options = page.get_by_role("option").all_inner_texts()
        assert len(options) == 1, options
        page.keyboard.press("Escape")


def log_in(browser, url: str, user: str, password: str):
    """A browser context that logged in through the studio's login form; its page is on the studio."""
    context = browser.new_context()
    page = context.new_page()
    page.goto(url)
    page.locator("input[type=text], input[name=username]").first.fill(user)
    page.locator("input[type=password]").fill(password)
    page.keyboard.press("Enter")
    page.wait_for_selector("#chat", timeout=60_000)
    return page


def test_with_logins_each_user_gets_only_their_own_files_and_logins_are_rate_limited(
    tmp_path: Path, bundled_llm, browser, monkeypatch
):
    from ui.session import Studio, studio_secret

    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "gradio"))
    users = [("ana", "ana-password"), ("ben", "ben-password")]
    server = StudioServer(tmp_path / "projects", bundled_llm, auth=users).start()
    try:
        ana, ben = (log_in(browser, server.url, *user) for user in users)
        keys = Studio(server.settings, bundled_llm, None, studio_secret(server.root))  # type: ignore[arg-type]
        ana_film = server.root / keys.owner_key("ana", None) / "film-1"
        for name in ("cut/film.srt", "logs/llm-calls.jsonl"):
            (ana_film / name).parent.mkdir(parents=True, exist_ok=True)
            (ana_film / name).write_text("ana's premise")
        assert ana.request.get(f"{server.url}/gradio_api/file={ana_film / 'cut/film.srt'}").status == 200
        assert ben.request.get(f"{server.url}/gradio_api/file={ana_film / 'cut/film.srt'}").status == 403
        for page in (ana, ben):
            assert page.request.get(f"{server.url}/gradio_api/file={ana_film / 'logs/llm-calls.jsonl'}").status == 403
        stranger = browser.new_context().request
        limit = server.settings.studio.login_attempts_per_minute
        for _ in range(limit):
            wrong = stranger.post(f"{server.url}/login", form={"username": "ana", "password": "guess"})
            assert wrong.status == 400
        right = stranger.post(f"{server.url}/login", form={"username": "ana", "password": "ana-password"})
        assert right.status == 400, "the 11th attempt in a minute is refused without being checked"
    finally:
        server.stop()
