"""What the studio's page shows of a film: its script, bible, shot table, storyboard, downloads and costs.

Plain functions of the session and its film, so the page (`ui.app`) only places them.
"""

from __future__ import annotations

from typing import Any

from agents.project import Project
from agents.run import read_manifest
from agents.state import Film
from ui.session import StudioSession

NO_TARGET = ""
"""The dropdowns' "any": a note aimed at no scene or shot."""


def storyboard_items(session: StudioSession, film: Film | None) -> list[tuple[str, str, str]]:
    """(keyframe path, caption, shot id) for every shot with a frame, newest frame first per shot."""
    if session is None or session.project is None or film is None:
        return []
    root = session.project.root
    items = []
    for number, shot in enumerate(film.shots(), start=1):
        keyframe = session.frames.get(shot.id) or (shot.take.keyframe if shot.take else "")
        if keyframe and (root / keyframe).is_file():
            items.append((str(root / keyframe), f"#{number} {shot.id} · {shot.framing}{take_words(shot)}", shot.id))
        current = shot.take.content_hash if shot.take else ""
        for take_number, take in enumerate(shot.candidates, start=1):
            if take.content_hash != current and (root / take.keyframe).is_file():
                caption = f"#{number} {shot.id} · take {take_number} of {len(shot.candidates)}"
                caption += f": say “use take {take_number}”"
                items.append((str(root / take.keyframe), caption, shot.id))
    return items


def take_words(shot: Any) -> str:
    """Which of a covered shot's takes is in the cut, and who picked it; '' for a shot filmed in one take."""
    if len(shot.candidates) < 2 or shot.take is None:
        return ""
    number = next(
        (n for n, take in enumerate(shot.candidates, start=1) if take.content_hash == shot.take.content_hash), None
    )
    if number is None:
        return ""
    picked = next((rank.picked_by for rank in shot.ranking if rank.number == number), None)
    who = " (your pick)" if picked == "filmmaker" else " (critic's pick)" if picked == "critic" else ""
    return f" · take {number} of {len(shot.candidates)}{who}"


def scene_choices(film: Film | None) -> list[tuple[str, str]]:
    scenes = film.scenes if film else []
    return [("any", NO_TARGET)] + [(f"{s.number}: {s.heading or s.summary}"[:60], str(s.number)) for s in scenes]


def shot_choices(film: Film | None) -> list[tuple[str, str]]:
    shots = film.shots() if film else []
    return [("any", NO_TARGET)] + [(f"#{n} {s.id} {s.framing}", s.id) for n, s in enumerate(shots, start=1)]


def reference_choices(film: Film | None) -> list[tuple[str, str]]:
    if film is None:
        return []
    people = [(f"{c.name} (character)", f"character:{c.id}") for c in film.characters]
    return people + [(f"{s.name} (place)", f"setting:{s.id}") for s in film.settings]


def shot_rows(film: Film | None) -> list[list[Any]]:
    if film is None:
        return []
    return [
        [n, s.id, s.scene_id, str(s.framing), str(s.camera_move), round(s.duration, 1), s.action,
         s.take.content_hash[:10] if s.take else ""]
        for n, s in enumerate(film.shots(), start=1)
    ]  # fmt: skip


def script_markdown(film: Film | None) -> str:
    if film is None:
        return "*No film open. Type a premise in the chat to start one.*"
    lines = [f"## {film.title}", f"*{film.logline}*" if film.logline else ""]
    for scene in film.scenes:
        when = f", {scene.time_of_day}" if scene.time_of_day else ""
        lines.append(f"**Scene {scene.number}** ({scene.heading or scene.setting_id}{when}): {scene.summary}")
        lines += [f"> {film.name_of(line.character_id).upper()}: {line.text}" for line in scene.dialogue]
    if film.feedback:
        lines.append("### Notes")
        lines += [
            f"- {note.text or 'reference picture'} → {note.kind} {note.target}; "
            f"remade {', '.join(note.remade) or 'nothing'}"
            for note in film.feedback
        ]
    return "\n\n".join(line for line in lines if line)


def bible_markdown(film: Film | None) -> str:
    if film is None:
        return ""
    lines = ["### Characters"]
    lines += [
        f"- **{c.name}** ({c.signature_color}): {c.look}; references: {len(c.reference_images)}; voice: "
        + (f"{c.voice.espeak}, pitch {c.voice.pitch}, {c.voice.words_per_minute} wpm" if c.voice else "not cast yet")
        for c in film.characters
    ]
    lines.append("### Places")
    lines += [
        f"- **{s.name}** ({s.time_of_day}, {'interior' if s.interior else 'exterior'}): {s.look}; "
        f"references: {len(s.reference_images)}"
        for s in film.settings
    ]
    lines.append(f"### Style\n{film.style.era}, {film.style.lens}, {film.style.aspect} at {film.style.fps} fps")
    return "\n".join(lines)


def reference_items(session: StudioSession, film: Film | None) -> list[tuple[str, str]]:
    if film is None or session.project is None:
        return []
    root = session.project.root
    owners = [(c.name, c.reference_images) for c in film.characters] + [
        (s.name, s.reference_images) for s in film.settings
    ]
    return [(str(root / path), name) for name, paths in owners for path in paths if (root / path).is_file()]


def downloads(session: StudioSession) -> list[str]:
    """The cut, its subtitles, the timelines for editors, the score and stems, the storyboard and the manifest."""
    assert session.project is not None
    root = session.project.root
    cut = root / "cut"
    names = ["film.mp4", "film.srt", "film.otio", "film.xml", "film.edl", "timeline.json", "score.mid"]
    names += [f"stems/{stem}.wav" for stem in ("dialogue", "music", "ambience")]
    wanted = [cut / name for name in names] + [root / "storyboard" / "storyboard.pdf", root / "manifest.json"]
    return [str(path) for path in wanted if path.is_file()]


NO_COST_YET = "**Cost so far:** nothing yet"
"""The cost line before a film has cost anything; also its first paint, so the page does not shift on load."""


def cost_line(session: StudioSession) -> str:
    """One line beside Send: what the film has cost, or what the proposed note would."""
    proposal = session.proposal
    if proposal is not None:
        return (
            f"**Proposed:** {len(proposal.shots)} shots, {proposal.footage_seconds:.0f} s of footage, "
            f"{proposal.cost:.2f} {proposal.currency} — say **go** or press Approve."
        )
    manifest = read_manifest(session.project) if session.project is not None else None
    if manifest is None or manifest.cost is None:
        return NO_COST_YET
    cost = manifest.cost
    return (
        f"**Cost so far:** {cost.total:.2f} {cost.currency} · {cost.takes_rendered} takes rendered, "
        f"{cost.takes_reused} reused"
    )


def costs_markdown(project: Project | None) -> str:
    """What this film took: time in the crew's hands, LLM tokens, renders, and money for paid services."""
    manifest = read_manifest(project) if project is not None else None
    if manifest is None or manifest.cost is None:
        return ""
    cost = manifest.cost
    seconds = sum(seconds for node, seconds in manifest.timings.items() if not node.startswith("approve_"))
    tokens = sum(cost.llm_tokens.values())
    text = (
        f"**This film so far:** {seconds:.0f} s of crew time · {tokens:,} LLM tokens · "
        f"{cost.takes_rendered} takes rendered, {cost.takes_reused} reused · "
        f"**{cost.total:.2f} {cost.currency}** (`director stats {manifest.film_id}` has the breakdown)"
    )
    return text + looks_line(manifest)


def looks_line(manifest: Any) -> str:
    """What the critic saw, on its own line: faces across the cut, and the vision model's verdicts."""
    parts = []
    if manifest.consistency is not None:
        film = manifest.consistency.film_consistency
        score = f" ({film:.0%} consistent)" if film is not None else ""
        parts.append(manifest.consistency.summary() + score)
    last = manifest.review_rounds[-1] if manifest.review_rounds else None
    if last is not None and last.vision is not None:
        parts.append(f"vision ({last.vision.model}): {last.vision.scored} takes scored")
    return "\n\n**The critic saw:** " + " · ".join(parts) if parts else ""
