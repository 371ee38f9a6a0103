"""What goes out with every cut: timelines for editors, the storyboard, and a content credential.

None of it can spoil the film: each deliverable that fails is reported in the log, and the cut stands.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from agents.context import Context
from agents.manifest import TOOL, ModelUse
from agents.state import Film, Scene, Shot, ShotStatus
from tools.deliver.content_credentials import CredentialError, sign_film
from tools.deliver.otio_timeline import TimelineError, TimelinePlan
from tools.deliver.storyboard import StoryboardFiles, write_storyboard
from tools.deliver.storyboard_model import Paper, StoryboardFilm, StoryboardShot
from tools.deliver.timelines import export_timeline
from tools.edit.cut import CutResult
from tools.edit.plan import CutPlan

STORYBOARD_FOLDER = "storyboard"


def deliver(
    film: Film, plan: CutPlan, cut: CutResult, context: Context, models: list[ModelUse]
) -> tuple[dict[str, Any], list[str]]:
    """Write the deliverables of `cut`; returns their `CutFiles` fields and a log line for each that failed."""
    root = context.project.root
    files: dict[str, Any] = {}
    problems: list[str] = []
    try:
        exported = export_timeline(
            TimelinePlan.from_cut(plan, cut, film_id=film.id, project_root=root), cut.video.parent
        )
        files |= {
            "otio": str(exported.otio.relative_to(root)),
            "edl": str(exported.edl.relative_to(root)),
            "xml": str(exported.xml.relative_to(root)),
            "edit_rate": exported.edit_rate,
        }
    except TimelineError as error:
        problems.append(f"editor: the film is cut, but its timeline could not be exported for editors: {error}")
    try:
        files["storyboard"] = str(write_film_storyboard(film, root).pdf.relative_to(root))
    except (OSError, ValueError) as error:
        problems.append(f"editor: the film is cut, but its storyboard could not be written: {error}")
    provenance = context.settings.provenance
    if provenance.signs:
        try:
            signed = sign_film(
                cut.video,
                certificate_chain=provenance.c2pa_certificate_chain,
                private_key=provenance.c2pa_private_key,
                algorithm=provenance.c2pa_algorithm,
                timestamp_url=provenance.c2pa_timestamp_url,
                title=film.title,
                film_id=film.id,
                tool=TOOL,
                models=[(use.role, use.model) for use in models],
            )
            files["content_credential"] = signed.manifest_label
        except CredentialError as error:
            problems.append(f"editor: the film is cut but not signed: {error}")
    return files, problems


def write_film_storyboard(
    film: Film, project_root: Path, out_dir: Path | None = None, *, paper: Paper = "A4", made: date | None = None
) -> StoryboardFiles:
    """Print the film's storyboard (HTML and PDF) into `out_dir`, by default the project's storyboard folder."""
    folder = out_dir if out_dir is not None else project_root / STORYBOARD_FOLDER
    return write_storyboard(storyboard_of(film, project_root), folder, paper=paper, made=made)


def storyboard_of(film: Film, project_root: Path) -> StoryboardFilm:
    """What the storyboard prints of `film`: its title block, and each shot's words and current keyframe."""
    return StoryboardFilm(
        film_id=film.id,
        title=film.title,
        logline=film.logline,
        width=film.style.width,
        height=film.style.height,
        aspect=film.style.aspect,
        fps=film.style.fps,
        scenes=len(film.scenes),
        shots=[_storyboard_shot(scene, shot, film, project_root) for scene in film.scenes for shot in scene.shots],
    )


def _storyboard_shot(scene: Scene, shot: Shot, film: Film, project_root: Path) -> StoryboardShot:
    speaker = film.name_of(shot.dialogue.character_id) if shot.dialogue is not None else ""
    keyframe = None
    if shot.take is not None:
        path = Path(shot.take.keyframe)
        keyframe = path if path.is_absolute() else project_root / path
    return StoryboardShot(
        shot_id=shot.id,
        scene_number=scene.number,
        scene_heading=scene.heading,
        shot_number=shot.order,
        framing=str(shot.framing),
        camera_move=str(shot.camera_move),
        duration=shot.duration,
        action=shot.action.strip(),
        speaker=speaker,
        parenthetical=shot.dialogue.parenthetical.strip().strip("()") if shot.dialogue else "",
        line=shot.dialogue.text.strip() if shot.dialogue else "",
        keyframe=keyframe,
        render_failed=shot.status == ShotStatus.FAILED,
    )
