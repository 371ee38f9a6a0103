"""The studio's handlers without a browser: refusals in the chat, uploads, cancel, and owners kept apart.

A scripted fake LLM (the fake crew) stands in for the model; Chroma, checkpoints, the animatic and ffmpeg are real.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fake_crew import PREMISE, crew
from PIL import Image

from agents.project import ProjectError
from agents.state import Film, GateDecision
from tools.settings import Settings
from ui.app import StudioView, render, respond, start_reference
from ui.conversation import handle_message
from ui.session import Studio, StudioSession, new_browser_token


@pytest.fixture
def studio(tmp_path: Path, minilm) -> Studio:
    from ui.session import studio_root, studio_secret

    settings = Settings(projects_dir=tmp_path / "projects", target_seconds=10, max_review_rounds=1)
    studio_root(settings).mkdir(parents=True)
    return Studio(settings, crew(), minilm, studio_secret(studio_root(settings)))


class PageStub:
    """Stands in for the Gradio page: `render` only uses the components as dictionary keys."""

    def __getattr__(self, name: str) -> str:
        return name


def run(session: StudioSession, start) -> list[dict]:
    return list(respond(PageStub(), session, start))  # type: ignore[arg-type]


def chat(session: StudioSession) -> str:
    return "\n".join(line.content for line in session.chat)


def finished_film(studio: Studio) -> StudioSession:
    session = StudioSession(studio, studio.owner_key(None, new_browser_token()))
    run(session, lambda: handle_message(session, PREMISE, "", "", True, 10))
    assert session.finished, chat(session)
    return session


def film_files(session: StudioSession) -> dict[str, bytes]:
    """Every file of the film but the chat, which is meant to grow."""
    root = session.project.root
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file() and path.name not in {"chat.json", "proposal.json"} and "logs" not in path.parts
    }


def test_a_premise_runs_to_each_gate_and_the_chat_names_the_crew(studio):
    session = StudioSession(studio, studio.owner_key(None, new_browser_token()))
    run(session, lambda: handle_message(session, PREMISE, "", "", False, 10))
    assert session.gate is not None and session.gate.gate == "script"
    for gate in ("storyboard", "cut"):
        run(session, lambda: session.start_decision(GateDecision(), False))
        assert session.gate.gate == gate
    run(session, lambda: session.start_decision(GateDecision(), False))
    assert session.finished and session.gate is None
    agents = {line.agent for line in session.chat if line.role == "assistant"}
    assert {"Writer", "Director", "Composer", "Sound designer", "Designer", "Camera", "Editor", "Critic"} <= agents
    page = render(PageStub(), session, full=True)  # type: ignore[arg-type]
    assert page["video"].endswith("cut/film.mp4")
    assert len(page["storyboard"]) == len(session.film().shots())
    names = [Path(path).name for path in page["downloads"]]
    assert names == ["film.mp4", "film.srt", "film.otio", "film.xml", "film.edl", "timeline.json", "score.mid"] + [
        "dialogue.wav",
        "music.wav",
        "ambience.wav",
        "storyboard.pdf",
        "manifest.json",
    ]
    assert "LLM tokens" in page["costs"] and "0.00 USD" in page["costs"]


@pytest.mark.parametrize(
    ("text", "message"),
    [("", "message is empty"), ("  \n ", "message is empty"), ("n" * 100_000, "100,000 characters")],
)
def test_empty_and_huge_messages_get_a_clear_answer_and_change_nothing(studio, text, message):
    session = finished_film(studio)
    before = session.project.film_file.read_bytes()
    run(session, lambda: handle_message(session, text, "", "", True, 10))
    assert message in session.chat[-1].content
    assert session.project.film_file.read_bytes() == before


def test_a_note_for_a_shot_that_does_not_exist_is_refused_in_the_chat(studio):
    session = finished_film(studio)
    before = session.project.film_file.read_bytes()
    run(session, lambda: handle_message(session, "closer", "", "s42-01", True, 10))
    assert "no shot 's42-01'" in session.chat[-1].content
    run(session, lambda: handle_message(session, "wider", "9", "", True, 10))
    assert "no scene 9" in session.chat[-1].content
    assert session.project.film_file.read_bytes() == before


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("notes.txt", b"just some words", "not an image"),
        ("../../etc/passwd.png", None, "passwd"),
        ("empty.png", b"", "empty"),
    ],
)
def test_bad_uploads_get_a_clear_answer_and_change_nothing(studio, tmp_path, name, content, message):
    session = finished_film(studio)
    film = session.film()
    upload = tmp_path / "upload.bin"
    if content is None:
        Image.new("RGB", (8, 8), "red").save(upload, format="PNG")
    else:
        upload.write_bytes(content)
    before = session.project.film_file.read_bytes()
    target = f"character:{film.characters[0].id}"
    run(session, lambda: session.start_reference(upload, name, "character", film.characters[0].id, "", True))
    assert message in session.chat[-1].content.lower()
    run(session, lambda: start_reference(session, None, target, "", True))
    assert "no file arrived" in session.chat[-1].content
    assert session.project.film_file.read_bytes() == before
    assert not (session.project.root / "references").exists()


def test_a_reference_picture_is_stored_and_only_its_characters_shots_are_remade(studio, tmp_path):
    session = finished_film(studio)
    film = session.film()
    character = film.characters[0]
    own = {shot.id for shot in film.shots() if character.id in shot.character_ids}
    before = {shot.id: shot.take.content_hash for shot in film.shots()}
    picture = tmp_path / "mai.png"
    Image.new("RGB", (64, 64), (30, 160, 60)).save(picture)
    run(session, lambda: start_reference(session, str(picture), f"character:{character.id}", "my own photo", True))
    revised = session.film()
    after = {shot.id: shot.take.content_hash for shot in revised.shots()}
    assert {shot_id for shot_id in before if before[shot_id] != after[shot_id]} == own
    stored = revised.character(character.id).reference_images
    assert len(stored) == 1 and (session.project.root / stored[0]).is_file()
    assert revised.feedback[-1].kind == "reference"


def test_owners_see_only_their_own_films(studio):
    ana = finished_film(studio)
    ben = StudioSession(studio, studio.owner_key(None, new_browser_token()))
    assert ben.projects() == []
    assert [p.film_id for p in ana.projects()] == [ana.project.film_id]
    with pytest.raises(ProjectError, match="no film"):
        ben.open(ana.project.film_id)
    assert studio.owner_key("ana", None) != studio.owner_key("ben", None)
    assert studio.owner_key("ana", None) == studio.owner_key("ana", None)
    with pytest.raises(ValueError, match="token"):
        studio.owner_key(None, "../../etc")


def test_a_reopened_film_shows_its_conversation(studio):
    ana = finished_film(studio)
    again = StudioSession(studio, ana.owner)
    again.open(ana.project.film_id)
    assert again.finished and again.chat == ana.chat
    assert isinstance(again.film(), Film)


def test_cancel_stops_a_run_where_it_can_be_resumed(studio):
    session = StudioSession(studio, studio.owner_key(None, new_browser_token()))
    stream = respond(PageStub(), session, lambda: handle_message(session, PREMISE, "", "", True, 10))  # type: ignore[arg-type]
    next(stream)
    session.cancel()
    for _ in stream:
        pass
    assert not session.finished
    assert "Stopped" in chat(session) or "stopped" in chat(session)
    run(session, lambda: session.start_resume(True))
    assert session.finished


def test_the_page_has_every_part_a_filmmaker_needs(studio):
    import gradio as gr

    with gr.Blocks():
        view = StudioView(studio)
    ids = {component.elem_id for component in view.everything()}
    assert {"chat", "approve", "target-scene", "target-shot", "cut", "downloads", "storyboard", "shots"} <= ids


@pytest.mark.parametrize(
    "message",
    [
        "Why did you set the second scene at night?",
        "What do you think is the weakest shot?",
        "🌊🐕⚡🕯️",
        "<img src=x onerror=alert(1)>",
    ],
)
def test_questions_and_noise_change_nothing_and_get_an_answer(studio, message):
    session = finished_film(studio)
    before = film_files(session)
    lines = len(session.chat)
    run(session, lambda: handle_message(session, message, "", "", False, 10))
    assert film_files(session) == before
    assert session.chat[lines].role == "user" and session.chat[-1].role == "assistant"
    assert len(session.chat) == lines + 2, chat(session)
    shown = session.chat[lines].as_message()["content"]
    assert "<img" not in shown, "markup is shown as text, never as markup"


def test_a_film_wide_note_is_proposed_first_and_runs_on_go(studio):
    session = finished_film(studio)
    before = film_files(session)
    shots = len(session.film().shots())
    run(session, lambda: handle_message(session, "make the whole film warmer and golden", "", "", False, 10))
    assert session.proposal is not None and len(session.proposal.shots) == shots
    assert f"remake {shots} shots" in session.chat[-1].content and "USD" in session.chat[-1].content
    assert film_files(session) == before, "nothing renders until go"
    reopened = StudioSession(studio, session.owner)
    reopened.reopen_last()
    assert reopened.proposal == session.proposal, "a reload keeps the proposal"
    run(session, lambda: handle_message(session, "go", "", "", False, 10))
    assert session.proposal is None
    assert session.film().feedback[-1].kind == "film"
    assert session.gate is not None and session.gate.gate == "cut"


def test_undo_returns_the_film_to_before_the_last_note_without_rendering(studio):
    session = finished_film(studio)
    film = session.film()
    before = {shot.id: shot.take.content_hash for shot in film.shots()}
    cut = (session.project.cut_dir / "film.mp4").read_bytes()
    target = film.shots()[0].id
    run(session, lambda: handle_message(session, "closer on her hands", "", target, True, 10))
    after = {shot.id: shot.take.content_hash for shot in session.film().shots()}
    assert {shot for shot in before if before[shot] != after[shot]} == {target}
    takes = sorted(session.project.takes_dir.rglob("*"))
    run(session, lambda: handle_message(session, "undo", "", "", True, 10))
    assert {shot.id: shot.take.content_hash for shot in session.film().shots()} == before
    assert (session.project.cut_dir / "film.mp4").read_bytes() == cut
    assert sorted(session.project.takes_dir.rglob("*")) == takes, "undo renders nothing"


def test_a_reload_reopens_the_last_film_and_a_note_never_starts_a_new_one(studio):
    session = finished_film(studio)
    reloaded = StudioSession(studio, session.owner)
    reloaded.reopen_last()
    assert reloaded.project == session.project and reloaded.chat == session.chat
    fresh = StudioSession(studio, session.owner)
    page = list(
        respond(
            PageStub(), fresh, lambda: handle_message(fresh, "make it rain", "", "", True, 10), accepted={"note": ""}
        )
    )  # type: ignore[arg-type]
    assert "note" not in page[-1], "the refused text stays in the box"
    assert "New film" in fresh.chat[-1].content and len(fresh.projects()) == 1
    fresh.new_film()
    run(fresh, lambda: handle_message(fresh, PREMISE, "", "", True, 10))
    assert len(fresh.projects()) == 2


def test_the_same_picture_twice_is_a_no_op_that_says_so(studio, tmp_path):
    session = finished_film(studio)
    character = session.film().characters[0]
    picture = tmp_path / "mai.png"
    Image.new("RGB", (64, 64), (30, 160, 60)).save(picture)
    target = f"character:{character.id}"
    run(session, lambda: start_reference(session, str(picture), target, "", True))
    before = film_files(session)
    run(session, lambda: start_reference(session, str(picture), target, "", True))
    assert "already has this exact picture" in session.chat[-1].content
    assert film_files(session) == before


def test_the_script_tab_names_each_speaker_as_the_screenplay_would(fake_crew_film):
    from ui.film_view import script_markdown

    film = fake_crew_film.load_film()
    speaking = next(
        each
        for each in film.characters
        if any(line.character_id == each.id for s in film.scenes for line in s.dialogue)
    )
    speaking.name = "Old Margit"
    text = script_markdown(film)
    assert "> OLD MARGIT: " in text
    assert f"> {speaking.id.upper()}: " not in text


def test_use_take_two_in_the_chat_cuts_in_that_take_of_the_aimed_shot_without_rendering(tmp_path, minilm):
    from ui.session import studio_root, studio_secret

    settings = Settings(projects_dir=tmp_path / "projects", target_seconds=8, max_review_rounds=1)
    settings.render.takes = 2
    studio_root(settings).mkdir(parents=True)
    session = finished_film(Studio(settings, crew(), minilm, studio_secret(studio_root(settings))))
    film = session.film()
    target = next(shot for shot in film.shots() if shot.ranking[0].number == 1)
    others = {shot.id: shot.take.content_hash for shot in film.shots() if shot.id != target.id}
    takes = sorted(session.project.takes_dir.rglob("*"))
    run(session, lambda: handle_message(session, "use take 2", "", target.id, True, 10))
    after = session.film()
    assert after.shot(target.id).take.content_hash == target.candidates[1].content_hash, chat(session)
    assert {shot.id: shot.take.content_hash for shot in after.shots() if shot.id != target.id} == others
    assert sorted(session.project.takes_dir.rglob("*")) == takes, "cutting in another take renders nothing"
    assert f"shot {target.id} cuts take 2 of 2" in chat(session)
    run(session, lambda: handle_message(session, "use take 2", "", "", True, 10))
    assert "Which shot should use take 2?" in chat(session)
