"""`director stats RUN`: where a film's time and money went, read from its manifest."""

from __future__ import annotations

from collections import defaultdict

from rich.console import Group
from rich.table import Table

from agents.run import Manifest

NODE_NAMES = {
    "write_script": "Writer",
    "plan_shots": "Director",
    "compose_score": "Composer",
    "design_sound": "Sound designer",
    "design_shots": "Designer",
    "render_shot": "Render",
    "choose_takes": "Critic (takes)",
    "assemble_cut": "Editor",
    "review_cut": "Critic",
    "revise_film": "Revise",
}


def stats_view(manifest: Manifest, top: int = 10) -> Group:
    """Tables: time per agent, LLM use per task, renders per stage and the slowest shots, review rounds, cost."""
    return Group(
        agents_table(manifest),
        llm_table(manifest),
        renders_table(manifest, top),
        reviews_table(manifest),
        looks_table(manifest),
        sound_table(manifest),
        cost_table(manifest),
    )


def agents_table(manifest: Manifest) -> Table:
    table = Table("agent", "node", "seconds", "share", title=f"{manifest.title}: time per agent")
    timed = {node: seconds for node, seconds in manifest.timings.items() if not node.startswith("approve_")}
    total = sum(timed.values()) or 1.0
    for node, seconds in sorted(timed.items(), key=lambda item: -item[1]):
        table.add_row(NODE_NAMES.get(node, node), node, f"{seconds:.2f}", f"{seconds / total:.0%}")
    rounds = manifest.review_rounds
    verdict = "passed" if rounds and rounds[-1].passed else "not passed"
    table.caption = f"{total:.1f} s in the graph; {len(rounds)} review round(s), {verdict}"
    return table


def llm_table(manifest: Manifest) -> Table:
    usage = manifest.llm_usage
    table = Table("task", "calls", "retries", "rejected", "prompt tokens", "completion tokens", "seconds", title="LLM")
    table.caption = "rejected: answers the prose gate refused (not prose), each re-asked or replaced by a default"
    for task, used in sorted(usage.get("tasks", {}).items(), key=lambda item: -item[1].get("seconds", 0.0)):
        table.add_row(
            task,
            str(used.get("calls", 0)),
            str(used.get("retries", 0)),
            str(used.get("rejected", 0)),
            str(used.get("prompt_tokens", 0)),
            str(used.get("completion_tokens", 0)),
            f"{used.get('seconds', 0.0):.2f}",
        )
    table.add_row(
        "all",
        str(usage.get("calls", 0)),
        str(usage.get("retries", 0)),
        str(usage.get("rejected", 0)),
        str(usage.get("prompt_tokens", 0)),
        str(usage.get("completion_tokens", 0)),
        f"{usage.get('seconds', 0.0):.2f}",
        style="bold",
    )
    return table


def renders_table(manifest: Manifest, top: int) -> Table:
    shots = manifest.shots
    hits = sum(1 for shot in shots if shot.cache_hit)
    rendered = sum(shot.takes_rendered for shot in shots)
    remote = any(shot.worker for shot in shots)
    columns = ("shot", "takes rendered", "current take", "seconds", *(("where",) if remote else ()))
    table = Table(*columns, title=f"Renders: the {top} slowest shots")
    slowest = sorted(shots, key=lambda shot: -(shot.render_seconds or 0.0))[:top]
    for shot in slowest:
        state = "reused from cache" if shot.cache_hit else "rendered" if shot.take else "none"
        where = ((shot.worker or "here"),) if remote else ()
        table.add_row(shot.shot_id, str(shot.takes_rendered), state, f"{shot.render_seconds or 0.0:.2f}", *where)
    per_stage: dict[str, float] = defaultdict(float)
    if manifest.cost is not None:
        for line in manifest.cost.lines:
            if line.stage != "llm":
                per_stage[line.stage] += line.seconds
    stages = ", ".join(f"{stage} {seconds:.1f} s" for stage, seconds in per_stage.items())
    table.caption = f"{rendered} takes rendered over all rounds, {hits} of {len(shots)} current takes from the cache"
    if stages:
        table.caption += f"; {stages}"
    return table


def reviews_table(manifest: Manifest) -> Table:
    """Each review round: its verdict, the shots sent back, the rubric's scores or that its answer was discarded."""
    table = Table("round", "verdict", "sent back", "rubric", "repaired", title="Review rounds")
    for review in manifest.review_rounds:
        if review.rubric:
            rubric = f"story {review.rubric.get('story')}/5, continuity {review.rubric.get('continuity')}/5"
            rubric += f", {review.rubric_discarded} discarded" if review.rubric_discarded else ""
        else:
            rubric = f"discarded ({review.rubric_discarded})" if review.rubric_discarded else "none"
        verdict = "passed" if review.passed else "out of rounds" if review.unresolved else "flagged"
        table.add_row(str(review.round), verdict, ", ".join(review.flagged), rubric, str(len(review.repaired)))
    discarded = sum(review.rubric_discarded for review in manifest.review_rounds)
    table.caption = f"{discarded} rubric answer(s) discarded as unusable"
    last = manifest.review_rounds[-1] if manifest.review_rounds else None
    if last is not None and last.unresolved:
        table.caption += "; unresolved: " + "; ".join(
            f"{item.shot_id} ({'; '.join(item.reasons)})" for item in last.unresolved
        )
    return table


def sound_table(manifest: Manifest) -> Table:
    """The score and ambience scene by scene, the themes, and the loudness the mix reached."""
    table = Table("scene", "music", "chosen by", "ambience", title="Sound: the score and ambience per scene")
    sound = manifest.sound
    if sound is None or not (sound.music or sound.ambience):
        table.caption = "this film has no score or ambience (made before issue 16, or with --no-music --no-ambience)"
        return table
    scene_ids = list(dict.fromkeys([cue.scene_id for cue in sound.music] + [bed.scene_id for bed in sound.ambience]))
    for scene_id in scene_ids:
        cue, bed = sound.music_for(scene_id), sound.ambience_for(scene_id)
        music = (
            "-"
            if cue is None
            else "silent"
            if cue.muted
            else (
                f"{cue.mood}, {cue.key} {cue.mode}, {cue.tempo} bpm, {cue.instrumentation}, intensity {cue.intensity}"
            )
        )
        beds = (
            "-"
            if bed is None
            else "silent"
            if bed.muted or not bed.layers
            else ", ".join(f"{layer.kind.value} {layer.level_db:.0f} dB" for layer in bed.layers)
        )
        table.add_row(scene_id, music, cue.by if cue is not None else "-", beds)
    loudness = manifest.cut.loudness if manifest.cut is not None else None
    caption = [f"themes: {', '.join(sound.themes) or 'none'}"]
    if loudness is not None:
        caption.append(
            f"mix {loudness.integrated_lufs:.1f} LUFS (target {loudness.target_lufs:.0f}), true peak "
            f"{loudness.true_peak_dbtp:.1f} dBTP, master gain {loudness.gain_db:+.1f} dB"
        )
    table.caption = "; ".join(caption)
    return table


def looks_table(manifest: Manifest) -> Table:
    """What the critic saw: each character's face across the cut, the vision model's verdicts, scene continuity."""
    table = Table("character", "shots scored", "consistent", "mean distance", "worst", "no face", "off-model shots")
    table.title = "Looks: faces across the cut (dlib; the same person is within the threshold)"
    report = manifest.consistency
    if report is None:
        last_notes = manifest.review_rounds[-1].notes if manifest.review_rounds else []
        said = next((note for note in last_notes if note.startswith("faces:")), "")
        table.caption = said or "this manifest was written before faces were measured"
        return table
    for character in report.characters:
        table.add_row(
            character.name,
            str(character.scored),
            f"{character.consistency:.0%}" if character.consistency is not None else "-",
            f"{character.mean_distance:.2f}" if character.mean_distance is not None else "-",
            f"{character.worst_distance:.2f}" if character.worst_distance is not None else "-",
            str(character.no_face),
            ", ".join(character.flagged) or "-",
        )
    film = f"{report.film_consistency:.0%}" if report.film_consistency is not None else "nothing scored"
    caption = [f"film consistency {film} (threshold {report.threshold})"]
    last = manifest.review_rounds[-1] if manifest.review_rounds else None
    if last is not None and last.vision is not None:
        seen = last.vision
        sent_back = ", ".join(seen.flagged) or "none"
        caption.append(f"vision {seen.model}: {seen.scored} takes scored, sent back {sent_back}")
    elif last is not None:
        caption.append("no vision model looked (DIRECTOR_CRITIC__VISION, and an endpoint that takes pictures)")
    if last is not None and last.continuity:
        caption.append("continuity: " + "; ".join(flag.reason for flag in last.continuity))
    covered = [shot for shot in manifest.shots if len(shot.coverage) > 1]
    if covered:
        picks = ", ".join(f"{shot.shot_id} take {cut_take(shot.coverage)}" for shot in covered[:8])
        caption.append(f"coverage: {picks}" + (" ..." if len(covered) > 8 else ""))
    table.caption = "; ".join(caption)
    return table


def cut_take(coverage: list) -> str:
    """The number of the take in the cut, and who picked it when it was the filmmaker."""
    picked = next((rank for rank in coverage if rank.picked_by == "filmmaker"), None)
    return f"{picked.number} (filmmaker's pick)" if picked is not None else str(coverage[0].number)


def cost_table(manifest: Manifest) -> Table:
    cost = manifest.cost
    table = Table("stage", "backend", "model", "quantity", "compute s", "cost", title="Cost")
    if cost is None:
        table.caption = "this manifest was written before costs were recorded"
        return table
    for line in cost.lines:
        table.add_row(
            line.stage,
            line.backend,
            line.model,
            f"{line.quantity:g} {line.unit}",
            f"{line.seconds:.2f}",
            f"{line.amount:.4f} {cost.currency}",
        )
    table.caption = f"total {cost.total:.4f} {cost.currency}; prices from settings (DIRECTOR_PRICES__...)"
    return table
