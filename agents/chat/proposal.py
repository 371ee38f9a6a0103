"""What a note would cost before it runs: the shots it remakes, the seconds of footage, money and time.

The studio answers a costly note (more than a few shots, or any paid rendering) with this proposal and runs
it only on "go". The note is applied to a copy of the film exactly as the revise node would apply it, so the
shots named are the shots that would be remade; nothing is written and nothing renders.
"""

from __future__ import annotations

from statistics import median

from pydantic import BaseModel, Field

from agents.costs import render_price
from agents.revise import revise
from agents.state import Feedback, Film
from tools.llm.asking import StructuredLLM
from tools.render.setup import RenderBackends
from tools.settings import Settings

FALLBACK_RENDER_SECONDS = 5.0
"""A shot's render time when the film has no rendered take to measure yet (the animatic on two cores)."""


class NoteProposal(BaseModel):
    """A note with what it would touch, waiting for the filmmaker's "go"."""

    feedback: Feedback
    target: str = Field(description="What the note is about, as the revise node reads it: 'scene s02', 'Mai'.")
    changes: list[str] = Field(default_factory=list)
    shots: list[str] = Field(default_factory=list, description="The shots it would remake, in film order.")
    footage_seconds: float = 0.0
    cost: float = 0.0
    currency: str = "USD"
    render_seconds: float = Field(default=0.0, description="Estimated wall-clock seconds to render them.")

    def summary(self, shot_numbers: dict[str, int]) -> str:
        """One message for the chat: what changes, which shots, how much footage, what it costs and takes."""
        shots = ", ".join(f"shot {shot_numbers.get(shot, '?')} ({shot})" for shot in self.shots[:12])
        more = f" and {len(self.shots) - 12} more" if len(self.shots) > 12 else ""
        changes = "; ".join(self.changes[:3]) or "no visible change"
        money = f"an estimated {self.cost:.2f} {self.currency}"
        if self.cost == 0:
            money += " (nothing paid: it renders on this machine)"
        return (
            f"This note touches {self.target}: {changes}. It would remake {len(self.shots)} shots "
            f"({shots}{more}), {self.footage_seconds:.0f} s of footage, costing {money} and taking about "
            f"{duration_words(self.render_seconds)}. Say **go** to make it, or give another note instead."
        )


def propose_note(
    film: Film, feedback: Feedback, llm: StructuredLLM, settings: Settings, backends: RenderBackends
) -> NoteProposal:
    """The note applied to a copy of the film, and the price of the shots it would remake.

    Raises:
        RevisionError: the note cannot be applied (empty, aimed at nothing the film has).
    """
    changed, revision = revise(film, feedback, llm)
    remade = set(revision.remade)
    shots = [shot for shot in changed.shots() if shot.id in remade]
    footage = sum(shot.duration for shot in shots)
    per_shot = typical_render_seconds(film)
    cost = sum(shot_cost(shot.duration, bool(shot.dialogue), per_shot, settings, backends) for shot in shots)
    parallel = max(1, settings.render.max_parallel)
    batches = -(-len(shots) // parallel)
    return NoteProposal(
        feedback=feedback,
        target=target_label(changed, revision.kind, revision.target),
        changes=revision.changes,
        shots=[shot.id for shot in shots],
        footage_seconds=round(footage, 1),
        cost=round(cost, 2),
        currency=settings.prices.currency,
        render_seconds=round(batches * per_shot, 1),
    )


def target_label(film: Film, kind: str, target: str) -> str:
    """What a note is about, in the film's own names: 'the whole film', 'Mai', 'scene 2', 'shot 3 (s02-01)'."""
    people = {character.id: character.name for character in film.characters}
    places = {setting.id: setting.name for setting in film.settings}
    scenes = {scene.id: f"scene {scene.number}" for scene in film.scenes}
    shots = {shot.id: f"shot {number} ({shot.id})" for number, shot in enumerate(film.shots(), start=1)}
    if kind == "film":
        return "the whole film"
    if kind == "sound":
        return "the sound of " + (scenes.get(target) or "the whole film")
    if kind in ("character", "reference") and target in people:
        return people[target]
    if kind in ("setting", "reference") and target in places:
        return places[target]
    return scenes.get(target) or shots.get(target) or f"{kind} {target}"


def needs_confirmation(proposal: NoteProposal, settings: Settings) -> bool:
    """More shots than the studio's threshold, or any money: the filmmaker says "go" first."""
    return len(proposal.shots) > settings.studio.proposal_shots or proposal.cost > 0


def shot_cost(
    seconds: float, speaks: bool, render_seconds: float, settings: Settings, backends: RenderBackends
) -> float:
    """One shot's keyframe, clip and line at the configured backends' prices (free on this machine).

    Paid services charge by the unit; your own GPU by the hour, for the render time (counted once, as video).
    """
    render = settings.render
    prices = settings.prices
    cost = render_price("image", render.image_backend, backends.images.model, 1.0, 0.0, prices)
    cost += render_price("video", render.video_backend, backends.video.model, seconds, render_seconds, prices)
    if speaks and backends.speech is not None:
        cost += render_price("speech", render.speech_backend, backends.speech.model, seconds / 60, 0.0, prices)
    return cost


def typical_render_seconds(film: Film) -> float:
    """The median time this film's really rendered takes needed, a fair guess for the next ones."""
    measured = [take.render_seconds for shot in film.shots() for take in shot.takes if not take.cache_hit]
    measured = [seconds for seconds in measured if seconds > 0]
    return median(measured) if measured else FALLBACK_RENDER_SECONDS


def duration_words(seconds: float) -> str:
    if seconds < 90:
        return f"{max(1, round(seconds))} s"
    return f"{seconds / 60:.0f} min"
