"""The critic: objective checks on every take and on the cut, then an LLM rubric on story and continuity.

A take's files are checked once per content: a later round or a note reuses the verdict on an unchanged take
(`TakeChecks`), so a note that remakes one shot has one take checked, plus the whole cut. A round after a reshoot
or a note checks only the scenes that changed since the last round (`agents.review_changes`): their shots, and
the rubric asked about their shots alone; every other scene keeps its verdicts, for the identical takes and
words. Faces, continuity and the vision verdicts (each kept by content) still look at the whole film.

Objective checks decide every verdict a film passes on; the rubric may send back at most one shot per round,
with a concrete change, and only when it scores the cut low; a rubric answer that is not usable is discarded and
counted, never read as a middling score. Every flagged shot carries the change that the designer applies.

The prose gate (`tools.prose`) is one of the objective checks: an action, a line or a prompt that is not prose
is repaired from the scene's own words or a default (a `repair` change, not a new seed); a title, logline or
look that is not prose is repaired in place from `agents.defaults`, and every shot showing it is prompted and
rendered again. A screenplay's own words are never rewritten: they are kept, with a note.
"""

from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from langgraph.runtime import Runtime

from agents import defaults
from agents.answers import RubricAnswer, weakest_shot_model
from agents.context import Context
from agents.events import Emitter, ReviewEvent
from agents.look_verdicts import see_takes
from agents.project import Project, write_model
from agents.prompting import ask
from agents.review_changes import RoundPlan, plan_round
from agents.specs import stable_seed
from agents.state import CutFiles, Film, Review, RunState, Shot, ShotChange, ShotVerdict, UnresolvedShot
from agents.take_checks import TakeChecks, check_take_files
from agents.wording import FilmWords, check_shot_words, drop_model_lines, repair_film_words
from agents.writing.text_checks import about_the_story, addresses_the_reader
from memory.store import MemoryStore
from tools.edit.probe import ProbeError, probe_video
from tools.edit.subtitles import parse_srt
from tools.prose import ProseKind, check_prose
from tools.render.base import ContentRefusedError
from tools.render.spec import Framing

RESTRAINED = "tasteful and restrained, nothing graphic, violent or explicit"
"""The direction a shot gets after a service refused its prompt: a new seed alone would be refused again."""
RUBRIC_FLAG_BELOW = 3
_OPTION_WORDS = frozenset(
    {"new", "seed", "prompt", "framing", "change", "none", "shot", "reshoot", "story", "continuity", "rubric"}
)
"""The rubric's own option words: an answer made only of these says nothing about the film."""
_WORD = re.compile(r"[a-z][a-z'-]{2,}")
_ARTICLES = frozenset({"the", "a", "an"})
_NEXT_FRAMING = {
    Framing.WIDE: Framing.MEDIUM,
    Framing.MEDIUM: Framing.CLOSE_UP,
    Framing.CLOSE_UP: Framing.MEDIUM,
    Framing.INSERT: Framing.CLOSE_UP,
}


def review_cut(state: RunState, runtime: Runtime[Context]) -> dict:
    """Judge the cut; flag the shots to reshoot, each with a reason and a concrete change."""
    assert state.film is not None and state.cut is not None, "review_cut runs after assemble_cut"
    context = runtime.context
    emit = Emitter(runtime.stream_writer)
    emit(ReviewEvent(status="start"))
    film = state.film.model_copy(deep=True)
    round_number = len(film.review_rounds) + 1
    project = context.project
    checked = TakeChecks.load(project)
    words = repair_film_words(film)
    plan = plan_round(film, film.review_rounds[-1] if film.review_rounds else None, context, state.failed)
    with ThreadPoolExecutor(max_workers=1) as whole_cut:
        cut_notes = whole_cut.submit(check_cut, state.cut, film, project)
        verdicts = {}
        for shot in film.shots():
            if shot.id in plan.kept:
                verdicts[shot.id] = kept_verdict(shot.id, plan, checked)
                continue
            verdicts[shot.id] = check_shot(
                shot, film, project, context.memory, state.failed, round_number, checked, words, context.prompt_tokens
            )
        checked.save()
        notes = cut_notes.result()
    drop_model_lines(film, verdicts.values())
    seen = see_takes(film, verdicts, context, round_number)
    rubric, rubric_flag, discarded = ask_rubric(film, context, round_number, plan.rubric_scene_ids)
    scope = plan.scope.model_copy(update={"rubric_scenes": rubric_scenes(film, plan.rubric_scene_ids)})
    rubric_flag, as_noted = respect_the_note(rubric_flag, film)
    if rubric_flag is not None and verdicts[rubric_flag.shot_id].passed:
        verdicts[rubric_flag.shot_id] = rubric_flag
    passed = all(v.passed for v in verdicts.values()) and not notes and not words.repaired
    spent = rounds_left(state, round_number) <= 0
    unresolved = [UnresolvedShot(shot_id=v.shot_id, reasons=v.reasons) for v in verdicts.values() if not v.passed]
    review = Review(
        round=round_number,
        passed=passed,
        verdicts=list(verdicts.values()),
        notes=[*notes, *words.repaired, *words.notes, *plan.kept_notes, *seen.notes, *rubric_notes(rubric, discarded)]
        + as_noted,
        rubric={"story": rubric.story, "continuity": rubric.continuity} if rubric is not None else {},
        rubric_discarded=discarded,
        repaired=words.repaired,
        unresolved=unresolved if spent and not passed else [],
        consistency=seen.consistency,
        continuity=seen.continuity,
        vision=seen.vision,
        scope=scope,
    )
    film.review_rounds.append(review)
    write_model(project.review_file, review)
    emit(
        ReviewEvent(
            status="done",
            round=round_number,
            passed=review.passed,
            flagged=review.flagged,
            takes_checked=checked.checked,
            takes_reused=checked.reused,
            rubric_discarded=review.rubric_discarded,
            repaired=review.repaired,
            unresolved=review.unresolved,
            faces=review.consistency.summary() if review.consistency is not None else "",
            scope=scope.summary(),
            checked_shots=scope.checked_shots,
            verdicts_kept=len(scope.kept_shots),
        )
    )
    outcome = "passed" if review.passed else f"flagged {review.flagged}"
    if review.unresolved:
        outcome += ", out of review rounds"
    return {
        "film": film,
        "review": review,
        "dirty": review.flagged,
        "log": [
            f"critic: round {round_number} {outcome}; {scope.summary()} "
            f"(checked {checked.checked} takes, reused {checked.reused} earlier verdicts"
            f"{f', discarded {discarded} rubric answers' if discarded else ''})"
        ],
    }


def kept_verdict(shot_id: str, plan: RoundPlan, checked: TakeChecks) -> ShotVerdict:
    """The last round's verdict on a shot of an unchanged scene; its take's file verdict is kept with it."""
    key = plan.take_keys.get(shot_id)
    if key is not None:
        checked.keep(key)
    return plan.kept[shot_id]


def rubric_scenes(film: Film, scene_ids: set[str] | None) -> list[int]:
    return [scene.number for scene in film.scenes if scene_ids is None or scene.id in scene_ids]


def rounds_left(state: RunState, rounds_done: int) -> int:
    """Review rounds still allowed after `rounds_done` rounds of the film, counted since the latest note."""
    return state.max_review_rounds - (rounds_done - state.review_base)


def route_review(state: RunState) -> str:
    """Reshoot the flagged shots (or recut after a repair) while rounds remain; otherwise show the cut."""
    assert state.film is not None and state.review is not None
    if state.review.passed or not (state.review.flagged or state.review.repaired):
        return "finish"
    if rounds_left(state, len(state.film.review_rounds)) <= 0:
        return "finish"
    return "reshoot"


def check_shot(
    shot: Shot,
    film: Film,
    project: Project,
    memory: MemoryStore,
    failed: dict[str, str],
    round_number: int,
    checked: TakeChecks | None = None,
    words: FilmWords | None = None,
    prompt_budget: int | None = None,
) -> ShotVerdict:
    """The shot's verdict: its render, its take's files (or their earlier verdict, by content), words and prompt.

    Words that fail the prose gate are repaired (`repair`), carrying any new seed the picture needs as well.
    """
    words = words or FilmWords()
    reasons: list[str] = []
    change: ShotChange | None = None
    new_seed = ShotChange(kind="new_seed", seed=stable_seed(film.id, shot.id, f"round-{round_number}"))
    take = shot.take
    if shot.id in failed:
        reasons.append(f"render failed: {failed[shot.id]}")
        refused = failed[shot.id].startswith(ContentRefusedError.__name__)
        change = ShotChange(kind="new_prompt", direction=RESTRAINED) if refused else new_seed
    elif take is None:
        reasons.append("no take was rendered")
        change = new_seed
    else:
        picture_reasons = checked.of(shot, film) if checked is not None else check_take_files(shot, film, project)
        if picture_reasons:
            reasons += picture_reasons
            change = new_seed
    missing = missing_look_words(shot, memory, budgeted=prompt_budget is not None)
    if missing:
        reasons.append(f"prompt lacks look words from memory: {', '.join(missing[:6])}")
        change = change or ShotChange(kind="new_prompt", direction="")
    word_reasons, repair = check_shot_words(shot, film, words)
    if repair is not None:
        reasons += word_reasons
        change = repair.model_copy(
            update={
                "seed": change.seed if change is not None else None,
                "direction": change.direction if change is not None else "",
            }
        )
    score = 1.0 if not reasons else max(0.0, 1.0 - 0.34 * len(reasons))
    return ShotVerdict(shot_id=shot.id, passed=not reasons, score=round(score, 2), reasons=reasons, change=change)


def missing_look_words(shot: Shot, memory: MemoryStore, budgeted: bool = False) -> list[str]:
    """Look words a character has in memory that the shot's prompt does not carry.

    Under a prompt budget the designer leaves out the least important clauses, or their last words, so there
    only a look the prompt does carry is judged: each of its words must be memory's (a stale look is missing).
    """
    prompt = shot.prompt.lower()
    missing: list[str] = []
    for character_id in shot.character_ids:
        record = memory.get_character(character_id)
        if record is None:
            continue
        remembered = _WORD.findall(record.look.lower())
        if not budgeted:
            missing += [w for w in remembered if w not in prompt]
            continue
        clause = re.search(rf"(?<!\w){re.escape(record.name.lower())}: ([^.]*)", prompt)
        if clause is not None and any(w not in remembered for w in _WORD.findall(clause.group(1))):
            missing += [w for w in remembered if w not in clause.group(1)] or remembered
    return list(dict.fromkeys(missing))


def check_cut(cut: CutFiles, film: Film, project: Project) -> list[str]:
    """The cut file itself, and subtitle cues against the timeline."""
    notes = []
    try:
        facts = probe_video(project.root / cut.video)
    except ProbeError as error:
        return [f"cut unreadable: {error}"]
    if facts.codec != "h264":
        notes.append(f"cut is {facts.codec}, not H.264")
    if abs(facts.duration - cut.duration) > 2.0 / film.style.fps:
        notes.append(f"cut lasts {facts.duration:.2f} s, the timeline says {cut.duration:.2f} s")
    spans = {e["shot_id"]: (e["start"], e["end"]) for e in json.loads(Path(project.root / cut.timeline).read_text())}
    cues = parse_srt(project.root / cut.subtitles)
    spoken = [s.id for s in film.shots() if s.dialogue is not None and s.id in spans]
    if len(cues) != len(spoken):
        notes.append(f"{len(cues)} subtitle cues for {len(spoken)} spoken lines")
    for cue, shot_id in zip(cues, spoken, strict=False):
        start, end = spans[shot_id]
        if cue.start < start - 0.05 or cue.end > end + 0.05 or cue.end <= cue.start:
            notes.append(f"subtitle {cue.index} ({cue.start:.2f}-{cue.end:.2f} s) is outside shot {shot_id}")
    return notes


RETOLD_WORDS = 3
"""Words a rubric note shares with the film's logline and premise before it is the story told again, not judged."""


def retells_the_story(note: str, film: Film) -> bool:
    """Whether a rubric note only tells the story again ('A street violinist played for a deaf girl that...').

    A judgement names what is wrong ("the ferry crossing drags"); it may name a thing of the story, not retell it.
    """
    return about_the_story(note, f"{film.logline} {film.premise}", shared=RETOLD_WORDS)


def respect_the_note(flag: ShotVerdict | None, film: Film) -> tuple[ShotVerdict | None, list[str]]:
    """The rubric's pick, unless it is a shot the filmmaker's latest note remade: that one stays as noted.

    The rubric is the small model's taste. Asked about the scene a note just changed, it picked the noted shot
    and sent it to the next framing, undoing the close-up the filmmaker had asked for.
    """
    noted = film.feedback[-1].remade if film.feedback else []
    if flag is None or flag.shot_id not in noted:
        return flag, []
    return None, [f"rubric: picked {flag.shot_id}, which the filmmaker's last note set; it stays as noted"]


def says_something(text: str) -> bool:
    """Whether `text` says more than the rubric's own option words ('new-prompt, new-framing' does not).

    A list of things named ('the end of the day shift nurse, the lost boy') says nothing of them either: a note
    whose every comma-separated part opens on an article names and never judges. Nor does a title ('The Story
    of the Daughter'): a note whose every word of four letters or more is capitalised.
    """
    content = [w for w in re.findall(r"[a-z]+", text.lower()) if w not in _OPTION_WORDS and len(w) > 1]
    parts = [part.split() for part in text.lower().split(",") if part.strip()]
    listed = len(parts) > 1 and all(part[0] in _ARTICLES for part in parts)
    long_words = re.findall(r"[^\W\d_]{4,}", text)
    titled = len(long_words) >= 2 and all(word[0].isupper() for word in long_words)
    return len(content) >= 2 and not listed and not titled


def rubric_notes(rubric: RubricAnswer | None, discarded: int) -> list[str]:
    if rubric is None:
        return [f"rubric: discarded {discarded} unusable answer(s); judged on objective checks alone"]
    notes = [f"rubric: {rubric.note}"]
    if discarded:
        notes.append("rubric: the weakest-shot pick was unusable and discarded")
    return notes


def ask_rubric(
    film: Film, context: Context, round_number: int, scene_ids: set[str] | None = None
) -> tuple[RubricAnswer | None, ShotVerdict | None, int]:
    """Score story and continuity; when either is low, name the one shot to reshoot and how.

    With `scene_ids`, the rubric is asked about those scenes' shots alone (the scenes that changed since the
    last round), with the characters in them, and may send back only one of their shots.

    Returns the rubric (None when its answer was discarded), the verdict on the shot it sends back (if any),
    and how many answers were discarded. An answer the prose gate refused (the default stood in) or one made of
    the option words alone is discarded: it flags nothing and is not reported as a score.
    """
    shots = [s for s in film.shots() if scene_ids is None or s.scene_id in scene_ids]
    listing = "\n".join(f"{s.id}: {s.framing}, {s.action[:70]}" for s in shots)[:1500]
    present = {cid for s in shots for cid in s.character_ids}
    cast = [c for c in film.characters if scene_ids is None or c.id in present]
    characters = "; ".join(f"{c.name}: {c.look}" for c in cast)
    rubric, used_default = ask(
        context.llm,
        "rubric",
        RubricAnswer,
        defaults.neutral_rubric,
        title=film.title,
        logline=film.logline,
        characters=characters,
        shots=listing,
    )
    note = rubric.note
    if used_default or not says_something(note) or retells_the_story(note, film) or addresses_the_reader(note):
        return None, None, 1
    if min(rubric.story, rubric.continuity) >= RUBRIC_FLAG_BELOW:
        return rubric, None, 0
    schema = weakest_shot_model([s.id for s in shots])
    pick, used_default = ask(
        context.llm,
        "weakest_shot",
        schema,
        lambda: schema(shot="none", change="new_seed", reason="no answer"),
        title=film.title,
        shots=listing,
        note=rubric.note,
    )
    reason = " ".join(pick.reason.split())
    judged = says_something(reason) and not addresses_the_reader(reason)
    if used_default or not check_prose(reason, ProseKind.PHRASE) or not judged:
        return rubric, None, 1
    if pick.shot == "none":
        return rubric, None, 0
    shot = film.shot(pick.shot)
    if pick.change == "new_framing":
        change = ShotChange(kind="new_framing", framing=_NEXT_FRAMING[shot.framing])
    elif pick.change == "new_prompt":
        change = ShotChange(kind="new_prompt", direction=f"Critic's note: {reason}")
    else:
        change = ShotChange(kind="new_seed", seed=stable_seed(film.id, shot.id, f"rubric-{round_number}"))
    verdict = ShotVerdict(
        shot_id=shot.id,
        passed=False,
        score=round(min(rubric.story, rubric.continuity) / 5, 2),
        reasons=[f"rubric (story {rubric.story}/5, continuity {rubric.continuity}/5): {reason}"],
        change=change,
    )
    return rubric, verdict, 0
