"""The real studio in a real browser: Debian's chromium driven by Playwright, against the bundled LLM.

The studio runs in this process on a free port with its own projects folder; screenshots of the page at
desktop and phone sizes are saved under `test-artifacts/`.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest

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
WAIT_MS = 420_000


@pytest.fixture(scope="module")
def bundled_llm(tmp_path_factory) -> Iterator:
    from tools.llm import LLMClient
    from tools.settings import LLMSettings

    with LLMClient.from_settings(LLMSettings(), log_dir=tmp_path_factory.mktemp("llm-logs")) as llm:
        yield llm


@pytest.fixture
def studio_url(tmp_path: Path, bundled_llm, monkeypatch) -> Iterator[tuple[str, Path]]:
    """The studio app on a free loopback port, with a projects folder of its own."""
    from tools.settings import Settings
    from ui.app import build_app, serving_options
    from ui.session import Studio

    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "gradio"))
    monkeypatch.setenv("GRADIO_ANALYTICS_ENABLED", "False")
    settings = Settings(projects_dir=tmp_path / "projects", target_seconds=10, max_review_rounds=1)
    with Studio.open(settings, llm=bundled_llm) as studio:
        app = build_app(studio)
        app.queue(default_concurrency_limit=8)
        port = free_port()
        app.launch(
            server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True, **serving_options(settings)
        )
        try:
            yield f"http://127.0.0.1:{port}", settings.projects_dir.resolve() / "studio"
        finally:
            app.close()


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
        "gate => !document.querySelector('#approve').disabled"
        " && document.querySelector('#gate').innerText.toLowerCase().includes(gate)",
        arg=f"the {gate}",
        timeout=WAIT_MS,
    )


def chat_text(page) -> str:
    return page.locator("#chat").inner_text()


def send(page, text: str) -> None:
    """Type and send a message, then wait until the studio has taken it (it clears the box)."""
    box = page.locator("#note textarea")
    box.fill(text)
    page.locator("#send").click()
    page.wait_for_function("() => document.querySelector('#note textarea').value === ''", timeout=60_000)


def only_project(studio_root: Path) -> Path:
    films = [path.parent for path in studio_root.glob("*/*/run.json")]
    assert len(films) == 1, films
    return films[0]


def takes(project: Path) -> dict[str, str]:
    film = Film.model_validate_json((project / "film.json").read_text())
    return {shot.id: shot.take.content_hash for shot in film.shots() if shot.take}


def frame_at(video: Path, seconds: float) -> np.ndarray:
    reader = imageio_ffmpeg.read_frames(str(video), input_params=["-ss", f"{seconds:.3f}"])
    meta = next(reader)
    width, height = meta["size"]
    frame = np.frombuffer(next(reader), np.uint8).reshape(height, width, 3).astype(np.int16)
    reader.close()
    return frame


def test_a_film_from_premise_to_revised_cut_in_the_browser(studio_url, browser):
    url, studio_root = studio_url
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    page.goto(url)
    page.wait_for_selector("#chat")

    send(page, "A retired sailor teaches her grandson to tie knots on a windy pier")
    wait_for_gate(page, "script")
    page.locator("#approve").click()
    wait_for_gate(page, "storyboard")
    page.get_by_role("tab", name="Storyboard").click()
    assert page.locator("#storyboard img").count() >= 2
    page.locator("#approve").click()
    wait_for_gate(page, "cut")

    page.get_by_role("tab", name="Cut").click()
    page.wait_for_selector("#cut video", timeout=60_000)
    played = page.evaluate(
        """async () => {
            const video = document.querySelector('#cut video');
            video.muted = true;
            await video.play();
            await new Promise(resolve => setTimeout(resolve, 1500));
            return {time: video.currentTime, error: video.error && video.error.code, paused: video.paused};
        }"""
    )
    assert played["error"] is None and played["time"] > 0.3, played
    page.screenshot(path=str(ARTIFACTS / "studio-desktop-1440x900.png"))

    project = only_project(studio_root)
    before = takes(project)
    old_cut = project / "old-cut.mp4"
    shutil.copy(project / "cut" / "film.mp4", old_cut)
    old_timeline = json.loads((project / "cut" / "timeline.json").read_text())

    page.get_by_role("tab", name="Storyboard").click()
    page.locator("#storyboard img").nth(1).click()
    chosen = sorted(before)[1]
    page.wait_for_function(
        "shot => document.querySelector('#target-shot input').value.includes(shot)", arg=chosen, timeout=30_000
    )
    send(page, "closer on her hands")
    page.wait_for_function(
        "shot => document.querySelector('#chat').innerText.includes('Remaking ' + shot)", arg=chosen, timeout=WAIT_MS
    )
    wait_for_gate(page, "cut")

    after = takes(project)
    assert {shot for shot in before if before[shot] != after[shot]} == {chosen}
    new_timeline = json.loads((project / "cut" / "timeline.json").read_text())
    assert [(e["shot_id"], e["start"], e["end"]) for e in new_timeline] == [
        (e["shot_id"], e["start"], e["end"]) for e in old_timeline
    ]
    for entry in new_timeline:
        middle = (entry["start"] + entry["end"]) / 2
        difference = np.abs(frame_at(old_cut, middle) - frame_at(project / "cut" / "film.mp4", middle)).mean()
        if entry["shot_id"] == chosen:
            assert difference > 8, f"the remade shot {chosen} should look different (mean difference {difference:.1f})"
        else:
            assert difference < 3, f"shot {entry['shot_id']} changed in the new cut (mean difference {difference:.1f})"

    send(page, "x" * 100_000)
    page.wait_for_function(
        "() => document.querySelector('#chat').innerText.includes('100,000 characters')", timeout=30_000
    )
    send(page, "   ")
    page.wait_for_function("() => document.querySelector('#chat').innerText.includes('message is empty')")
    send(page, "make shot s09-09 wider")
    page.wait_for_function("() => /no shot .s09-09/.test(document.querySelector('#chat').innerText)")
    assert takes(project) == after

    page.locator("#approve").click()
    page.wait_for_function(
        "() => document.querySelector('#chat').innerText.includes('The film is finished')", timeout=WAIT_MS
    )
    served = page.request.get(f"{url}/gradio_api/file={project / 'cut' / 'film.srt'}")
    assert served.status == 200, "the project's files are served to the page"
    secret = page.request.get(f"{url}/gradio_api/file={studio_root / '.secret'}")
    assert secret.status >= 400, "the owner-key secret must never be served"
    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_timeout(500)
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 2, f"the page is {overflow} px wider than a phone screen"
    page.screenshot(path=str(ARTIFACTS / "studio-phone-390x844.png"))


def test_two_sessions_make_films_at_once_without_seeing_each_other(studio_url, browser):
    url, studio_root = studio_url
    premises = {
        "ana": "A baker races a thunderstorm to deliver a wedding cake",
        "ben": "Two astronauts argue over the last cup of coffee on the moon",
    }
    pages = {}
    for name in premises:
        page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
        page.goto(url)
        page.wait_for_selector("#chat")
        page.locator("#unattended input").check()
        pages[name] = page
    for name, premise in premises.items():
        send(pages[name], premise)
    for page in pages.values():
        page.wait_for_function(
            "() => document.querySelector('#chat').innerText.includes('The film is finished')", timeout=WAIT_MS
        )
    owners = sorted(path.parent.parent.name for path in studio_root.glob("*/*/run.json"))
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
