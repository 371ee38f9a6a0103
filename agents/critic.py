"""The critic: objective checks on every take and on the cut, then an LLM rubric on story and continuity.

A take's files are checked once per content: a later round or a note reuses the verdict on an unchanged take
(`TakeChecks`), so a note that remakes one shot has one take checked, plus the whole cut.

Objective checks decide most verdicts; the rubric may send back at most one shot per round, with a concrete
change, and only when it scores the cut low. Every flagged shot carries the change that the designer applies.
"""

from __future__ import annotations

import hashlib
import json
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from langgraph.runtime import Runtime

from agents import defaults
from agents.answers import RubricAnswer, weakest_shot_model
from agents.context import Context
from agents.director import stable_seed
from agents.project import Project, write_model
from agents.prompting import ask
from agents.state import CutFiles, Film, Review, RunState, Shot, ShotChange, ShotVerdict
from memory.store import MemoryStore
from tools.backends import ContentRefusedError
from tools.cut import parse_srt
from tools.files import sha256_of, write_atomic
from tools.probe import (
    BLACK_LUMA,
    BLANK_STD,
    FROZEN_DIFF,
    MOSTLY,
    SAMPLE_MAX_SIDE,
    ProbeError,
    inspect_frames,
    probe_image,
    probe_video,
    sample_frames,
)
from tools.spec import Framing

DURATION_TOLERANCE_FRAMES = 1.5
TAKE_SAMPLES = 6
TAKE_CHECKS_VERSION = 1
"""Bump when `check_take_files` changes what it looks for: verdicts kept under another version are not reused."""
TAKE_CHECKS_NAME = "review-takes.json"
RESTRAINED = "tasteful and restrained, nothing graphic, violent or explicit"
"""The direction a shot gets after a service refused its prompt: a new seed alone would be refused again."""
RUBRIC_FLAG_BELOW = 3
_WORD = re.compile(r"[a-z][a-z'-]{2,}")
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
    emit = runtime.stream_writer
    emit({"stage": "review", "status": "start"})
    film = state.film.model_copy(deep=True)
    round_number = len(film.review_rounds) + 1
    project = context.project
    checked = TakeChecks.load(project)
    with ThreadPoolExecutor(max_workers=1) as whole_cut:
        cut_notes = whole_cut.submit(check_cut, state.cut, film, project)
        verdicts = {
            shot.id: check_shot(shot, film, project, context.memory, state.failed, round_number, checked)
            for shot in film.shots()
        }
        checked.save()
        notes = cut_notes.result()
    rubric, rubric_flag = ask_rubric(film, context, round_number)
    if rubric_flag is not None and verdicts[rubric_flag.shot_id].passed:
        verdicts[rubric_flag.shot_id] = rubric_flag
    review = Review(
        round=round_number,
        passed=all(v.passed for v in verdicts.values()) and not notes,
        verdicts=list(verdicts.values()),
        notes=notes + [f"rubric: {rubric.note}"],
        rubric={"story": rubric.story, "continuity": rubric.continuity},
    )
    film.review_rounds.append(review)
    write_model(project.review_file, review)
    emit(
        {
            "stage": "review",
            "status": "done",
            "round": round_number,
            "passed": review.passed,
            "flagged": review.flagged,
            "takes_checked": checked.checked,
            "takes_reused": checked.reused,
        }
    )
    return {
        "film": film,
        "review": review,
        "dirty": review.flagged,
        "log": [
            f"critic: round {round_number} {'passed' if review.passed else 'flagged ' + str(review.flagged)} "
            f"(checked {checked.checked} takes, reused {checked.reused} earlier verdicts)"
        ],
    }


def route_review(state: RunState) -> str:
    """Reshoot the flagged shots while rounds remain (counted since the latest note); otherwise show the cut."""
    assert state.film is not None and state.review is not None
    if state.review.passed or not state.review.flagged:
        return "finish"
    if len(state.film.review_rounds) - state.review_base >= state.max_review_rounds:
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
) -> ShotVerdict:
    """The shot's verdict: its render, its take's files (or their earlier verdict, by content) and its prompt."""
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
    missing = missing_look_words(shot, memory)
    if missing:
        reasons.append(f"prompt lacks look words from memory: {', '.join(missing[:6])}")
        change = change or ShotChange(kind="new_prompt", direction="")
    score = 1.0 if not reasons else max(0.0, 1.0 - 0.34 * len(reasons))
    return ShotVerdict(shot_id=shot.id, passed=not reasons, score=round(score, 2), reasons=reasons, change=change)


class TakeChecks:
    """Verdicts on take files, kept in the project by what was checked, so a take is checked only once.

    A verdict's key is the SHA-256 of the keyframe's and the clip's bytes, the shot's length, the film's frame
    size and rate, and the checks' version and thresholds: a take whose files, or whose film, changed in any way
    is checked again, and a reused verdict is the one the same check would give now.
    """

    def __init__(self, project: Project, verdicts: dict[str, list[str]]) -> None:
        self.project = project
        self.known = verdicts
        self.current: dict[str, list[str]] = {}
        self.checked = 0
        self.reused = 0

    @classmethod
    def load(cls, project: Project) -> TakeChecks:
        """The verdicts kept in the project; none if the file is missing, unreadable or from other checks."""
        try:
            stored = json.loads(take_checks_file(project).read_text(encoding="utf-8"))
            verdicts = stored["verdicts"] if stored.get("version") == TAKE_CHECKS_VERSION else {}
            if not all(isinstance(v, list) and all(isinstance(r, str) for r in v) for v in verdicts.values()):
                verdicts = {}
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            verdicts = {}
        return cls(project, verdicts)

    def of(self, shot: Shot, film: Film) -> list[str]:
        """The reasons `check_take_files` gives for the shot's take, reusing a verdict on the same content."""
        key = take_check_key(shot, film, self.project)
        if key is not None and key in self.known:
            self.reused += 1
            reasons = list(self.known[key])
        else:
            self.checked += 1
            reasons = check_take_files(shot, film, self.project)
        if key is not None:
            self.current[key] = reasons
        return reasons

    def save(self) -> None:
        """Keep the verdicts on this film's takes (only those), atomically."""
        payload = {"version": TAKE_CHECKS_VERSION, "verdicts": self.current}
        write_atomic(take_checks_file(self.project), json.dumps(payload, indent=1, sort_keys=True) + "\n")


def take_checks_file(project: Project) -> Path:
    return project.root / TAKE_CHECKS_NAME


def take_check_key(shot: Shot, film: Film, project: Project) -> str | None:
    """What a take's file verdict depends on, hashed; None when a file cannot be read (then it is checked)."""
    assert shot.take is not None
    try:
        files = [sha256_of(project.root / name) for name in (shot.take.keyframe, shot.take.clip)]
    except OSError:
        return None
    style = film.style
    facts = {
        "version": TAKE_CHECKS_VERSION,
        "files": files,
        "size": [style.width, style.height],
        "fps": style.fps,
        "duration": shot.duration,
        "tolerance_frames": DURATION_TOLERANCE_FRAMES,
        "thresholds": [BLACK_LUMA, BLANK_STD, FROZEN_DIFF, MOSTLY, SAMPLE_MAX_SIDE, TAKE_SAMPLES],
    }
    return hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()


def check_take_files(shot: Shot, film: Film, project: Project) -> list[str]:
    """Missing or unreadable files, wrong size or duration, black, blank or frozen pictures."""
    assert shot.take is not None
    reasons = []
    try:
        probe_image(project.root / shot.take.keyframe)
    except ProbeError as error:
        return [f"keyframe unreadable: {error}"]
    clip = project.root / shot.take.clip
    try:
        facts = probe_video(clip)
    except ProbeError as error:
        return [f"clip unreadable: {error}"]
    style = film.style
    if (facts.width, facts.height) != (style.width, style.height):
        reasons.append(f"clip is {facts.width}x{facts.height}, the film is {style.width}x{style.height}")
    if abs(facts.duration - shot.duration) > DURATION_TOLERANCE_FRAMES / style.fps:
        reasons.append(f"clip lasts {facts.duration:.2f} s, the shot needs {shot.duration:.2f} s")
    issues = inspect_frames(sample_frames(clip, count=TAKE_SAMPLES))
    for problem in ("black", "blank", "frozen"):
        if getattr(issues, problem):
            reasons.append(f"{problem} picture (mean luma {issues.mean_luma:.1f}, std {issues.min_std:.1f})")
    return reasons


def missing_look_words(shot: Shot, memory: MemoryStore) -> list[str]:
    """Look words a character or the setting has in memory that the shot's prompt does not carry."""
    prompt = shot.prompt.lower()
    missing: list[str] = []
    for character_id in shot.character_ids:
        record = memory.get_character(character_id)
        if record is not None:
            missing += [w for w in _WORD.findall(record.look.lower()) if w not in prompt]
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


def ask_rubric(film: Film, context: Context, round_number: int) -> tuple[RubricAnswer, ShotVerdict | None]:
    """Score story and continuity; when either is low, name the one shot to reshoot and how."""
    shots = film.shots()
    listing = "\n".join(f"{s.id}: {s.framing}, {s.action[:70]}" for s in shots)[:1500]
    characters = "; ".join(f"{c.name}: {c.look}" for c in film.characters)
    rubric, _ = ask(
        context.llm,
        "rubric",
        RubricAnswer,
        defaults.neutral_rubric,
        title=film.title,
        logline=film.logline,
        characters=characters,
        shots=listing,
    )
    if min(rubric.story, rubric.continuity) >= RUBRIC_FLAG_BELOW:
        return rubric, None
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
    if used_default or pick.shot == "none":
        return rubric, None
    shot = film.shot(pick.shot)
    reason = " ".join(pick.reason.split())
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
    return rubric, verdict
