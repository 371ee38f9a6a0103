"""What goes out with every cut: timelines for editors, the storyboard, and a content credential.

None of it can spoil the film: each deliverable that fails is reported in the log, and the cut stands.
"""

from __future__ import annotations

from typing import Any

from agents.context import Context
from agents.manifest import TOOL, ModelUse
from agents.state import Film
from tools.deliver.content_credentials import CredentialError, sign_film
from tools.deliver.storyboard import write_storyboard
from tools.deliver.timelines import TimelineError, TimelinePlan, export_timeline
from tools.edit.cut import CutPlan, CutResult


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
        files["storyboard"] = str(write_storyboard(film, root, root / "storyboard").pdf.relative_to(root))
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
