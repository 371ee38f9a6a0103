"""Objective checks on a take's files (missing, unreadable, wrong size or length, black, blank or frozen).

A take is checked once per content: a later round, a note or the choice between takes reuses the verdict on an
unchanged take (`TakeChecks`), kept in the project by what was checked; a round that keeps a whole scene's
verdicts (`agents.review_changes`) keeps its takes' file verdicts too (`TakeChecks.keep`).
"""

from __future__ import annotations

import json
from pathlib import Path

from agents.project import Project
from agents.state import Film, Shot, Take
from tools.edit.probe import (
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
from tools.files import content_key, sha256_of, write_atomic

DURATION_TOLERANCE_FRAMES = 1.5
TAKE_SAMPLES = 6
TAKE_CHECKS_VERSION = 1
"""Bump when `check_take_files` changes what it looks for: verdicts kept under another version are not reused."""
TAKE_CHECKS_NAME = "review-takes.json"


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

    def of(self, shot: Shot, film: Film, take: Take | None = None) -> list[str]:
        """The reasons `check_take_files` gives for `take` (the shot's current one by default), reused by content."""
        take = take or shot.take
        key = take_check_key(shot, film, self.project, take)
        if key is not None and key in self.known:
            self.reused += 1
            reasons = list(self.known[key])
        else:
            self.checked += 1
            reasons = check_take_files(shot, film, self.project, take)
        if key is not None:
            self.current[key] = reasons
        return reasons

    def keep(self, key: str) -> None:
        """Count a verdict the review kept whole from its last round, and keep the take's file verdict with it."""
        self.reused += 1
        if key in self.known:
            self.current[key] = list(self.known[key])

    def save(self, *, keep_known: bool = False) -> None:
        """Keep the verdicts on this film's takes (only those, unless `keep_known`), atomically."""
        verdicts = {**self.known, **self.current} if keep_known else self.current
        payload = {"version": TAKE_CHECKS_VERSION, "verdicts": verdicts}
        write_atomic(take_checks_file(self.project), json.dumps(payload, indent=1, sort_keys=True) + "\n")


def take_checks_file(project: Project) -> Path:
    return project.root / TAKE_CHECKS_NAME


def take_check_key(shot: Shot, film: Film, project: Project, take: Take | None = None) -> str | None:
    """What a take's file verdict depends on, hashed; None when a file cannot be read (then it is checked)."""
    take = take or shot.take
    assert take is not None
    try:
        files = [sha256_of(project.root / name) for name in (take.keyframe, take.clip)]
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
    return content_key(facts)


def check_take_files(shot: Shot, film: Film, project: Project, take: Take | None = None) -> list[str]:
    """Missing or unreadable files, wrong size or duration, black, blank or frozen pictures."""
    take = take or shot.take
    assert take is not None
    reasons = []
    try:
        probe_image(project.root / take.keyframe)
    except ProbeError as error:
        return [f"keyframe unreadable: {error}"]
    clip = project.root / take.clip
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
