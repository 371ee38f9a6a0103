"""Answers from the film's own records: grounded, naming scenes and shots, and changing no file."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
from fake_crew import PREMISE
from fake_llm import FakeLLM
from typer.testing import CliRunner

from agents.chat.answer_drafts import Topic
from agents.chat.answering import answer_question, topic_by_rules
from agents.manifest import Manifest
from agents.project import Project
from agents.run import new_run
from agents.state import Review, Revision
from tools.render.spec import TimeOfDay
from ui.cli import app

NOTE = "make scene 2 a night scene"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, fake_crew_film) -> Project:
    """A finished film whose places are at day, with scene 2 turned to night by a note, as a revision leaves it."""
    copy = Path(tmp_path_factory.mktemp("answering")) / fake_crew_film.film_id
    shutil.copytree(fake_crew_film.root, copy)
    project = Project(copy)
    film = project.load_film()
    assert film is not None and len(film.scenes) >= 2
    for setting in film.settings:
        setting.time_of_day = TimeOfDay.DAY
    second = film.scenes[1]
    second.time_of_day = TimeOfDay.NIGHT
    film.feedback.append(
        Revision(
            at="2026-01-01T00:00:00+00:00",
            text=NOTE,
            scene=2,
            kind="scene",
            target="scene 2",
            changes=["scene 2 now plays at night"],
            remade=[shot.id for shot in second.shots],
        )
    )
    project.save_film(film)
    return project


def hashes(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def test_why_night_names_the_scene_and_the_note_that_set_it(project):
    answer = answer_question(project, "Why did you set the second scene at night?")
    assert answer.topic == Topic.TIME_OF_DAY
    assert answer.scenes == [2]
    assert "scene 2" in answer.text.lower() and "night" in answer.text
    assert NOTE in answer.text


def test_a_scene_at_its_places_time_says_so(project):
    answer = answer_question(project, "why is the first scene during the day?")
    assert answer.scenes == [1]
    film = project.load_film()
    assert film.setting(film.scenes[0].setting_id).name in answer.text and "day" in answer.text


def test_why_night_without_a_scene_finds_the_scenes_at_night(project):
    answer = answer_question(project, "why is it night?")
    assert answer.scenes == [2]


def test_the_critic_on_shot_1_quotes_the_review(project):
    review = Review.model_validate_json(project.review_file.read_text())
    film = project.load_film()
    first = film.shots()[0]
    verdict = next(v for v in review.verdicts if v.shot_id == first.id)
    answer = answer_question(project, "what did the critic think of shot 1")
    assert answer.topic == Topic.REVIEW
    assert answer.shots == [first.id]
    assert f"shot 1 ({first.id})" in answer.text
    assert f"{verdict.score:.2f}" in answer.text
    assert ("passed" if verdict.passed else "flagged") in answer.text


def test_the_weakest_shot_is_the_lowest_score(project):
    original = project.review_file.read_bytes()
    review = Review.model_validate_json(original)
    review.verdicts[1].score = 0.4
    review.verdicts[1].reasons = ["the keeper's coat changed colour"]
    try:
        project.review_file.write_text(review.model_dump_json())
        answer = answer_question(project, "What do you think is the weakest shot?")
    finally:
        project.review_file.write_bytes(original)
    assert answer.shots == [review.verdicts[1].shot_id] and "weakest" in answer.text
    assert "coat changed colour" in answer.text


def test_a_tie_names_no_weakest_shot(project):
    review = Review.model_validate_json(project.review_file.read_text())
    assert len({verdict.score for verdict in review.verdicts}) == 1, "the fixture film's shots all pass alike"
    answer = answer_question(project, "What do you think is the weakest shot?")
    assert "none stands out as the weakest" in answer.text and answer.shots == []


def test_cost_comes_from_the_manifest(project):
    manifest = Manifest.model_validate_json(project.manifest_file.read_text())
    answer = answer_question(project, "what did it cost?")
    assert answer.topic == Topic.COST
    assert f"{manifest.cost.total:.2f} {manifest.cost.currency}" in answer.text
    assert f"{sum(manifest.cost.llm_tokens.values()):,} LLM tokens" in answer.text


def test_a_voice_is_the_characters_own(project):
    film = project.load_film()
    character = film.characters[0]
    answer = answer_question(project, f"which voice does {character.name.lower()} have?")
    assert answer.topic == Topic.VOICE
    assert character.voice is not None
    assert character.voice.espeak in answer.text and str(character.voice.pitch) in answer.text


@pytest.mark.parametrize(
    ("question", "topic"),
    [
        ("who is Biscuit?", Topic.CHARACTER),
        ("tell me about shot 2", Topic.SHOT),
        ("tell me about s02-01", Topic.SHOT),
        ("what happens in scene 3?", Topic.SCENE),
        ("where does it happen?", Topic.PLACE),
        ("how many shots are there?", Topic.COUNTS),
        ("what notes did I give?", Topic.NOTES),
    ],
)
def test_each_topic_answers_from_the_film(project, question, topic):
    answer = answer_question(project, question)
    assert answer.topic == topic and answer.text


def test_a_shot_answer_names_the_take_and_the_line(project):
    film = project.load_film()
    shot = film.shots()[1]
    answer = answer_question(project, "tell me about shot 2")
    assert answer.shots[0] == shot.id and f"seed {shot.take.seed}" in answer.text
    if shot.dialogue:
        assert shot.dialogue.text in answer.text


def test_a_scene_the_film_does_not_have_is_said_plainly(project):
    answer = answer_question(project, "tell me about scene 9")
    assert "no scene 9" in answer.text and answer.scenes == []


def test_the_model_only_picks_a_topic_when_the_rules_cannot(project):
    assert topic_by_rules("is it any good", project.load_film()) is None
    llm = FakeLLM({"answer_topic": [{"topic": "counts"}]})
    answer = answer_question(project, "is it any good", llm)
    assert answer.topic == Topic.COUNTS and llm.tasks() == ["answer_topic"]
    assert answer_question(project, "is it any good").topic == Topic.OVERVIEW


def test_an_unreviewed_film_says_so(tmp_path):
    from tools.settings import Settings

    settings = Settings(projects_dir=tmp_path / "projects")
    fresh = new_run(settings, premise=PREMISE)
    assert "not written" in answer_question(fresh, "what did the critic think?").text


def test_director_ask_answers_and_leaves_every_file_byte_identical(project):
    before = hashes(project.root)
    runner = CliRunner()
    projects = str(project.root.parent)
    for question in ("why is scene 2 at night?", "what did the critic think of shot 1", "how much did it cost?"):
        result = runner.invoke(app, ["ask", project.film_id, question, "--projects-dir", projects])
        assert result.exit_code == 0, result.output
        assert result.output.strip()
    result = runner.invoke(app, ["ask", project.film_id, "why is scene 2 at night?", "--projects-dir", projects])
    assert "scene 2" in result.output and NOTE in result.output
    assert hashes(project.root) == before


@pytest.mark.parametrize(("run", "question", "message"), [("no-such-run", "why?", "no run"), (None, "  ", "empty")])
def test_director_ask_refuses_an_unknown_run_or_an_empty_question(project, run, question, message):
    result = CliRunner().invoke(
        app, ["ask", run or project.film_id, question, "--projects-dir", str(project.root.parent)]
    )
    assert result.exit_code == 2 and message in result.output


def test_a_film_without_review_or_manifest_says_so_plainly(project, tmp_path):
    from agents.state import RunInput

    film = project.load_film()
    film.review_rounds = []
    bare = Project(tmp_path / "projects" / film.id)
    bare.create(RunInput(film_id=film.id, premise=PREMISE))
    bare.save_film(film)
    assert "has not been reviewed yet" in answer_question(bare, "what did the critic think?").text
    assert "no manifest yet" in answer_question(bare, "what did it cost?").text
    overview = answer_question(bare, "is it any good").text
    assert film.title in overview and "not reviewed yet" in overview


def test_a_screenplay_heading_is_quoted_as_what_set_the_time(project, tmp_path):
    from agents.state import RunInput

    film = project.load_film()
    film.feedback = []
    film.scenes[0].heading = "EXT. DOCK - NIGHT"
    film.scenes[0].time_of_day = TimeOfDay.NIGHT
    scripted = Project(tmp_path / "projects" / film.id)
    scripted.create(RunInput(film_id=film.id, premise=PREMISE))
    scripted.save_film(film)
    answer = answer_question(scripted, "why is the opening scene at night?")
    assert answer.scenes == [1] and "EXT. DOCK - NIGHT" in answer.text


def test_a_place_named_with_an_article_reads_naturally_mid_sentence():
    from agents.chat.answer_drafts import within_sentence

    assert within_sentence("A small room") == "a small room"
    assert within_sentence("The old harbour") == "the old harbour"
    assert within_sentence("The Marta") == "The Marta", "a proper name keeps its capital"


def test_a_place_named_with_a_preposition_is_where_the_scene_plays():
    from agents.chat.answer_drafts import where_in_sentence

    assert where_in_sentence("Inside the lighthouse") == "inside the lighthouse"
    assert where_in_sentence("On The Marta") == "on The Marta"
    assert where_in_sentence("A small room") == "in a small room"
    assert where_in_sentence("Innsbruck station") == "in Innsbruck station"


def test_a_character_named_the_something_is_not_named_by_every_the(project):
    film = project.load_film()
    original = film.characters[0].name
    film.characters[0].name = "The Lighthouse Keeper"
    project.save_film(film)
    try:
        answer = answer_question(project, "Who are the characters?")
        assert answer.topic == Topic.CHARACTER
        assert answer.text.startswith(f"The film has {len(film.characters)} characters")
        named = answer_question(project, "who is the lighthouse keeper?")
        assert "**The Lighthouse Keeper**" in named.text and "#" not in named.text, "a colour is a word, not a code"
    finally:
        film.characters[0].name = original
        project.save_film(film)
