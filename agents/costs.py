"""What a film cost: compute seconds per backend, LLM tokens, and money for the paid services.

Counted from the film's take history, so every take that was really rendered counts once (reshoots and the
other takes of coverage included) and a take reused from the cache costs nothing.
"""

from __future__ import annotations

from collections import defaultdict

from pydantic import BaseModel, Field

from agents.state import Film
from tools.render.registry import BACKENDS, BackendRegistry
from tools.settings import Prices


class CostLine(BaseModel):
    """One kind of work: which backend and model did it, how much, how long, and what it cost."""

    stage: str = Field(description="image, video, speech or llm")
    backend: str
    model: str
    quantity: float
    unit: str
    seconds: float
    amount: float


class CostReport(BaseModel):
    currency: str
    lines: list[CostLine]
    compute_seconds: dict[str, float] = Field(description="Seconds of rendering per backend.")
    llm_tokens: dict[str, int] = Field(description="prompt and completion tokens.")
    takes_rendered: int
    takes_reused: int
    total: float


def film_cost(film: Film, llm_usage: dict, llm_model: str, prices: Prices) -> CostReport:
    """The cost of everything rendered for `film` so far, and of the LLM calls in `llm_usage`."""
    quantities: dict[tuple[str, str, str], float] = defaultdict(float)
    seconds: dict[tuple[str, str, str], float] = defaultdict(float)
    rendered = reused = 0
    for shot in film.shots():
        for take in shot.all_takes():
            if take.cache_hit:
                reused += 1
                continue
            rendered += 1
            models = take.models or {"image": take.model, "video": take.model}
            work = [
                ("image", take.image_backend, models.get("image", ""), 1.0),
                ("video", take.video_backend, models.get("video", ""), take.duration),
            ]
            if take.audio:
                work.append(("speech", take.speech_backend, models.get("speech", ""), take.audio_seconds / 60))
            for stage, backend, model, amount in work:
                quantities[(stage, backend, model)] += amount
                seconds[(stage, backend, model)] += take.timings.get(stage, 0.0)
    lines = [
        CostLine(
            stage=stage,
            backend=backend,
            model=model,
            quantity=round(quantities[key], 3),
            unit={"image": "pictures", "video": "seconds of clip", "speech": "minutes of speech"}[stage],
            seconds=round(seconds[key], 3),
            amount=round(render_price(stage, backend, model, quantities[key], seconds[key], prices), 4),
        )
        for key in quantities
        for stage, backend, model in [key]
    ]
    prompt = int(llm_usage.get("prompt_tokens", 0))
    completion = int(llm_usage.get("completion_tokens", 0))
    per_million = prices.llm_per_million_tokens.get(llm_model, (0.0, 0.0))
    lines.append(
        CostLine(
            stage="llm",
            backend="llm",
            model=llm_model,
            quantity=prompt + completion,
            unit="tokens",
            seconds=round(float(llm_usage.get("seconds", 0.0)), 3),
            amount=round((prompt * per_million[0] + completion * per_million[1]) / 1e6, 4),
        )
    )
    compute: dict[str, float] = defaultdict(float)
    for line in lines:
        compute[line.backend] += line.seconds
    return CostReport(
        currency=prices.currency,
        lines=lines,
        compute_seconds={backend: round(value, 3) for backend, value in compute.items()},
        llm_tokens={"prompt": prompt, "completion": completion},
        takes_rendered=rendered,
        takes_reused=reused,
        total=round(sum(line.amount for line in lines), 4),
    )


def render_price(
    stage: str,
    backend: str,
    model: str,
    quantity: float,
    seconds: float,
    prices: Prices,
    registry: BackendRegistry = BACKENDS,
) -> float:
    """Paid APIs by the unit from the price table; your own GPU by the hour; everything else is free."""
    entry = registry.find(stage, backend)
    if entry is None:
        return 0.0
    if entry.paid:
        table = {
            "image": prices.image_per_picture,
            "video": prices.video_per_second,
            "speech": prices.speech_per_minute,
        }[stage]
        return table.get(model, 0.0) * quantity
    if entry.wants_gpu:
        return prices.gpu_per_hour * seconds / 3600
    return 0.0
