"""The critic knows noise: the prose gate as an objective check, repairs from the script, a rubric that is
discarded when it is noise, and shots left flagged when the rounds run out, named everywhere.

On real Chroma, real animatic renders and real ffmpeg, with the scripted fake crew.
"""

from __future__ import annotations

import dataclasses
import json

import pytest
from fake_crew import PREMISE, crew
from langgraph.runtime import Runtime
from rich.console import Console
from rich.progress import Progress
from typer.testing import CliRunner

from agents.answers import weakest_shot_model
from agents.critic import review_cut
from agents.defaults import title_from_premise
from agents.designer import design_shots
from agents.run import new_run, open_context, run_film
from agents.state import Character, DialogueLine, Film, RunState, Scene, Setting, Shot
from agents.wording import KEPT_AS_WRITTEN, FilmWords, check_shot_words, repair_film_words
from tools.prose import ProseKind, check_prose
from tools.settings import Settings
from ui.cli import StageProgress, app, show_outcome
from ui.crew_chat import CrewChat

NOIR = {"story": 1, "continuity": 1, "note": "noir- noire- noire- noire- noire- noire-"}
NEUTRAL = {"story": 3, "continuity": 3, "note": "an even film with nothing much to fix"}
LOW = {"story": 1, "continuity": 1, "note": "weak and hard to follow"}


def pick(shot_id: str, reason: str = "too dark to read", change: str = "new_seed") -> dict:
    return {"shot": shot_id, "change": change, "reason": reason}


@pytest.fixture(scope="module")
def filmed(tmp_path_factory: pytest.TempPathFactory, minilm):
    """A premise film made in one round while the rubric answers nothing but a noir loop; its context stays open."""
    tmp_path = tmp_path_factory.mktemp("critic-prose")
    settings = Settings(projects_dir=tmp_path / "projects", target_seconds=10, max_review_rounds=1)
    project = new_run(settings, premise=PREMISE)
    llm = crew({"rubric": [NOIR] * 3})
    with open_context(settings, project, llm=llm, embedding_function=minilm) as context:
        outcome = run_film(settings, project, context=context)
        yield settings, project, context, outcome, llm


def reviewed(context, outcome, llm, film: Film | None = None) -> dict:
    """One more review of the made film, by the critic alone, with the given LLM."""
    state = RunState(
        film_id=outcome.film_id, film=film or outcome.film, cut=outcome.cut, max_review_rounds=5, review_base=0
    )
    runtime = Runtime(context=dataclasses.replace(context, llm=llm), stream_writer=lambda event: None)
    return review_cut(state, runtime)


def verdicts(review) -> list[tuple]:
    return [(v.shot_id, v.passed, v.reasons, v.change) for v in review.verdicts]


def test_a_noir_loop_from_the_rubric_changes_no_verdict(filmed):
    _, project, context, outcome, llm = filmed
    assert outcome.finished and outcome.review.passed, outcome.review
    assert outcome.review.rubric == {} and outcome.review.rubric_discarded == 1
    assert "weakest_shot" not in llm.tasks()
    assert not any("3/5" in note or "noir" in note for note in outcome.review.notes)
    flag = pick(outcome.film.shots()[0].id)
    noisy = reviewed(context, outcome, crew({"rubric": [NOIR] * 3, "weakest_shot": [flag]}))["review"]
    neutral = reviewed(context, outcome, crew({"rubric": [NEUTRAL], "weakest_shot": [flag]}))["review"]
    assert verdicts(noisy) == verdicts(neutral)
    assert noisy.passed and neutral.passed
    assert noisy.rubric == {} and noisy.rubric_discarded == 1
    assert neutral.rubric == {"story": 3, "continuity": 3} and neutral.rubric_discarded == 0
    saved = json.loads(project.review_file.read_text())
    assert saved["rubric"] == {"story": 3, "continuity": 3}


def test_a_rubric_of_option_words_is_discarded_and_flags_nothing(filmed):
    _, _, context, outcome, _ = filmed
    shot_id = outcome.film.shots()[0].id
    as_note = crew({"rubric": [{**LOW, "note": "new-prompt, new-framing"}] * 3, "weakest_shot": [pick(shot_id)]})
    review = reviewed(context, outcome, as_note)["review"]
    assert review.passed and review.rubric == {} and review.rubric_discarded == 1 and not review.flagged
    as_reason = crew({"rubric": [LOW], "weakest_shot": [pick(shot_id, "new-prompt, new-framing", "new_prompt")] * 3})
    review = reviewed(context, outcome, as_reason)["review"]
    assert review.passed and not review.flagged
    assert review.rubric == {"story": 1, "continuity": 1} and review.rubric_discarded == 1
    picked = crew({"rubric": [LOW], "weakest_shot": [pick(shot_id, "the keeper is too dark to read")]})
    review = reviewed(context, outcome, picked)["review"]
    assert review.flagged == [shot_id] and not review.passed


def test_the_weakest_shot_pick_passes_the_prose_gate():
    schema = weakest_shot_model(["s01-01"])
    assert schema.model_validate(pick("s01-01", "too dark to read")).reason == "too dark to read"
    with pytest.raises(ValueError, match="not prose"):
        schema.model_validate(pick("s01-01", "noir- noire- noire- noire-"))


def test_stats_show_discarded_rubric_answers_and_rejected_answers(filmed):
    settings, project, _, _, _ = filmed
    result = CliRunner().invoke(
        app, ["stats", project.film_id, "--projects-dir", str(settings.projects_dir)], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    assert "Review rounds" in result.output and "discarded (1)" in result.output
    assert "1 rubric answer(s) discarded" in result.output
    assert "rejected" in result.output
    rubric_row = next(line for line in result.output.splitlines() if line.strip("│ ").startswith("rubric"))
    assert rubric_row.split("│")[4].strip() == "2", f"refused, asked once more, refused again: {rubric_row}"


def test_non_prose_words_are_repaired_from_the_scene_not_reshot_with_a_new_seed(filmed):
    _, _, context, outcome, _ = filmed
    film = outcome.film.model_copy(deep=True)
    silent = next(s for s in film.shots() if s.dialogue is None and s.character_ids)
    spoken = next(s for s in film.shots() if s.dialogue is not None)
    silent.action = "push-in 1080p video with no audio"
    spoken.dialogue = spoken.dialogue.model_copy(update={"text": "noir- noire- noire- noire-"})
    character = film.character(silent.character_ids[0])
    character.look = "IMG_2041.jpg, 4k, upscaled"
    film.title = "render_final_v2.mp4"
    seeds = {shot.id: shot.seed for shot in film.shots()}

    update = reviewed(context, outcome, crew(), film)
    review, repaired = update["review"], update["film"]
    assert not review.passed
    assert repaired.title == title_from_premise(PREMISE).title and check_prose(repaired.title, ProseKind.TITLE)
    assert check_prose(repaired.character(character.id).look, ProseKind.PHRASE)
    assert len(review.repaired) == 2 and any("render_final_v2.mp4" in line for line in review.repaired)
    showing = {s.id for s in repaired.shots() if character.id in s.character_ids}
    assert showing | {spoken.id} <= set(review.flagged)
    changes = {v.shot_id: v.change for v in review.verdicts if not v.passed}
    assert all(change.kind == "repair" and change.seed is None for change in changes.values())
    assert changes[spoken.id].drop_line
    scene = next(s for s in repaired.scenes if s.id == silent.scene_id)
    assert changes[silent.id].action and changes[silent.id].action in " ".join(scene.action)
    assert all(line.text != "noir- noire- noire- noire-" for s in repaired.scenes for line in s.dialogue)

    state = RunState(film_id=outcome.film_id, film=repaired, review=review, dirty=update["dirty"], cut=outcome.cut)
    designed = design_shots(state, Runtime(context=context, stream_writer=lambda event: None))["film"]
    shot = designed.shot(silent.id)
    assert shot.action == changes[silent.id].action and "1080p" not in shot.prompt
    assert designed.shot(spoken.id).dialogue is None
    assert repaired.character(character.id).look in shot.prompt and "IMG_2041" not in shot.prompt
    assert {s.id: s.seed for s in designed.shots()} == seeds
    assert context.memory.get_character(character.id).look == repaired.character(character.id).look


SCRIPT = """Title: R2D2

INT. DINER - NIGHT

BZZZT. The neon sign flickers.

MAI
Hnnngh.
"""


def script_film(action: str) -> Film:
    mai = Character(id="mai", name="Mai", look="red raincoat, short black hair")
    diner = Setting(id="diner", name="Diner", look="chrome counter, red stools, rain on the glass")
    shot = Shot(
        id="s01-01",
        scene_id="s01",
        order=1,
        action=action,
        character_ids=["mai"],
        dialogue=DialogueLine(character_id="mai", text="Hnnngh."),
        prompt=f"Medium shot, waist up. Diner: chrome counter, red stools. Mai: red raincoat. {action}",
    )
    scene = Scene(
        id="s01",
        number=1,
        setting_id="diner",
        character_ids=["mai"],
        summary="The neon sign flickers.",
        action=["BZZZT. The neon sign flickers."],
        dialogue=[DialogueLine(character_id="mai", text="Hnnngh.")],
        shots=[shot],
    )
    return Film(id="diner", title="R2D2", screenplay=SCRIPT, characters=[mai], settings=[diner], scenes=[scene])


def test_a_screenplays_own_odd_words_are_kept_as_written_with_a_note():
    film = script_film("BZZZT. The neon sign flickers.")
    assert not check_prose(film.title, ProseKind.TITLE) and not check_prose("Hnnngh.", ProseKind.LINE)
    words = repair_film_words(film)
    assert film.title == "R2D2" and not words.repaired
    reasons, change = check_shot_words(film.shots()[0], film, words)
    assert reasons == [] and change is None
    assert film.shots()[0].action == "BZZZT. The neon sign flickers."
    assert len(words.notes) == 3 and all(KEPT_AS_WRITTEN in note for note in words.notes)


def test_a_screenplay_films_model_words_are_repaired_from_the_script():
    film = script_film("push-in 1080p video with no audio")
    reasons, change = check_shot_words(film.shots()[0], film, FilmWords())
    assert change is not None and change.kind == "repair" and change.seed is None
    assert change.action == "The neon sign flickers." and not change.drop_line
    assert any(reason.startswith("action is not prose") for reason in reasons)
    assert any(reason.startswith("prompt is not prose") for reason in reasons)


def test_when_rounds_run_out_the_cut_review_and_surfaces_name_the_shot_and_why(
    tmp_path, make_context, capsys, monkeypatch
):
    flagged = "s01-02"
    reason = "the framing is the wrong size"
    llm = crew({"rubric": [LOW] * 4, "weakest_shot": [pick(flagged, reason, "new_framing")] * 4})
    settings = Settings(projects_dir=tmp_path / "projects", target_seconds=10, max_review_rounds=2)
    project = new_run(settings, premise=PREMISE)
    events: list[dict] = []
    outcome = run_film(settings, project, events.append, context=make_context(llm, project, settings))
    assert outcome.finished and not outcome.review.passed and len(outcome.film.review_rounds) == 2
    assert outcome.film.review_rounds[0].unresolved == []
    saved = json.loads(project.review_file.read_text())
    assert saved["round"] == 2 and [item["shot_id"] for item in saved["unresolved"]] == [flagged]
    assert any(reason in text for text in saved["unresolved"][0]["reasons"])

    monkeypatch.setenv("COLUMNS", "240")
    show_outcome(outcome)
    printed = capsys.readouterr().out
    assert f"unresolved {flagged}" in printed and reason in printed

    done = [e for e in events if e.get("stage") == "review" and e.get("status") == "done"]
    chat = CrewChat().lines_for(done[-1])[0].content
    assert "out of review rounds" in chat and flagged in chat and reason in chat
    assert (
        flagged in CrewChat().lines_for(done[0])[0].content
        and "out of review" not in CrewChat().lines_for(done[0])[0].content
    )

    console = Console(record=True, width=200)
    progress = StageProgress(Progress(console=console))
    for event in events:
        progress(event)
    shown = console.export_text()
    assert "Out of review rounds" in shown and flagged in shown and reason in shown


def test_a_kept_one_word_sentence_leaves_no_glued_punctuation_in_the_prompt():
    from agents.wording import without
    from tools.prose import ProseKind, check_prose

    prompt = (
        "wide establishing shot, camera static. Open Water (exterior, night): Fog. The Marta's single bow lamp "
        "pushes a cone of light into nothing. present day, 35mm lens, cinematic storyboard."
    )
    kept = ["Fog.", "The Marta's single bow lamp pushes a cone of light into nothing."]
    judged = without(prompt, kept)
    assert "Fog" not in judged and "bow lamp" not in judged
    assert check_prose(judged, ProseKind.PROMPT), judged
