"""The answer to each kind of question (`Topic`), written from the film's records into a `Draft`."""

from __future__ import annotations

import re
from collections.abc import Callable

from agents.answers import COLOURS
from agents.chat.answer_drafts import Draft, FilmRecords, Topic, listing, quoted, where_in_sentence
from agents.chat.mentions import (
    character_in,
    scene_in,
    scene_number,
    scene_time,
    setting_in,
    shot_in,
    shot_reference,
    time_in,
)
from agents.chat.sound_answers import sound
from agents.state import Character, Film, Review, Scene, Setting, Shot, ShotVerdict
from tools.render.spec import TimeOfDay


def _scene_of(film: Film, shot: Shot) -> Scene | None:
    return next((scene for scene in film.scenes if scene.id == shot.scene_id), None)


def _setting(film: Film, scene: Scene) -> Setting | None:
    try:
        return film.setting(scene.setting_id)
    except KeyError:
        return None


def _missing_scene(draft: Draft, question: str) -> bool:
    """Say so when the question names a scene the film does not have; True when it did."""
    number = scene_number(question, draft.film)
    if number is not None and scene_in(question, draft.film) is None:
        draft.say(f"The film has no scene {number}: it has {len(draft.film.scenes)} scenes.")
        return True
    return False


def _missing_shot(draft: Draft, question: str) -> bool:
    named = shot_reference(question)
    if named and shot_in(question, draft.film) is None:
        draft.say(f"The film has no {named}: it has {len(draft.film.shots())} shots.")
        return True
    return False


def _time_note(film: Film, scene: Scene) -> str | None:
    """The latest note that set this scene's time of day, or its place's, quoted with what it changed."""
    setting = _setting(film, scene)
    markers = [f"scene {scene.number} now plays at"] + ([f"{setting.name} is now at"] if setting else [])
    for revision in reversed(film.feedback):
        change = next((c for c in revision.changes if any(c.startswith(m) for m in markers)), None)
        if change is not None:
            return f"your note {quoted(revision.text)} set it ({change})"
    return None


def _time_reason(film: Film, scene: Scene) -> str:
    """What decided when a scene plays: a note, the screenplay's heading, or the place the writer chose."""
    if note := _time_note(film, scene):
        return note
    if scene.heading and time_in(scene.heading) is not None:
        return f"the screenplay's heading says so: {quoted(scene.heading)}"
    setting = _setting(film, scene)
    if scene.time_of_day is not None or setting is None:
        return f"the scene itself is set at {scene_time(film, scene)}"
    inside = "an interior" if setting.interior else "an exterior"
    return f"it plays {where_in_sentence(setting.name)} ({inside}), which the writer set at {setting.time_of_day}"


def _time_of_day(draft: Draft, records: FilmRecords, question: str) -> None:
    film = draft.film
    if _missing_scene(draft, question):
        return
    asked = time_in(question)
    scene = scene_in(question, film)
    if scene is not None:
        when = scene_time(film, scene)
        opening = f"{draft.scene(scene).capitalize()} plays at **{when}**"
        if asked is not None and asked != when:
            opening = f"{draft.scene(scene).capitalize()} is not at {asked}: it plays at **{when}**"
        draft.say(f"{opening}, because {_time_reason(film, scene)}.")
        if scene.summary:
            draft.say(f"In it: {scene.summary}")
        return
    wanted = asked or TimeOfDay.NIGHT
    matching = [each for each in film.scenes if scene_time(film, each) == wanted]
    if not matching:
        times = ", ".join(f"{draft.scene(each)} at {scene_time(film, each)}" for each in film.scenes)
        draft.say(f"No scene plays at {wanted}: {times}.")
        return
    draft.say(f"{listing([draft.scene(each) for each in matching]).capitalize()} play at **{wanted}**.")
    for each in matching[:3]:
        draft.say(f"{draft.scene(each).capitalize()}: {_time_reason(film, each)}.")


def _verdict_text(draft: Draft, verdict: ShotVerdict, shot: Shot | None) -> str:
    name = draft.shot(shot) if shot is not None else verdict.shot_id
    said = "passed" if verdict.passed else "flagged"
    reasons = f": {'; '.join(verdict.reasons)}" if verdict.reasons else ", with no reasons given"
    return f"The critic {said} {name} with a score of {verdict.score:.2f}{reasons}."


def _film_shot(film: Film, shot_id: str) -> Shot | None:
    try:
        return film.shot(shot_id)
    except KeyError:
        return None


def _review(draft: Draft, records: FilmRecords, question: str) -> None:
    film = draft.film
    review = records.review or (film.review_rounds[-1] if film.review_rounds else None)
    if review is None:
        draft.say("The cut has not been reviewed yet: the critic reviews it once it is cut.")
        return
    if _missing_scene(draft, question) or _missing_shot(draft, question):
        return
    verdicts = {verdict.shot_id: verdict for verdict in review.verdicts}
    shot, scene = shot_in(question, film), scene_in(question, film)
    if shot is not None:
        verdict = verdicts.get(shot.id)
        if verdict is None:
            draft.say(f"The critic's last review (round {review.round}) has no verdict on {draft.shot(shot)}.")
        else:
            draft.say(_verdict_text(draft, verdict, shot))
        return
    if scene is not None:
        own = [verdicts[each.id] for each in scene.shots if each.id in verdicts]
        draft.say(f"In round {review.round} the critic saw {len(own)} shots of {draft.scene(scene)}.")
        for verdict in own[:4]:
            draft.say(_verdict_text(draft, verdict, _film_shot(film, verdict.shot_id)))
        return
    _review_of_the_cut(draft, review, question)


def _review_of_the_cut(draft: Draft, review: Review, question: str) -> None:
    film = draft.film
    passed = sum(1 for verdict in review.verdicts if verdict.passed)
    outcome = "**passed**" if review.passed else "**did not pass**"
    draft.say(f"The critic's review (round {review.round}) {outcome}: {passed} of {len(review.verdicts)} shots passed.")
    if review.rubric:
        draft.say(
            f"Story scored {review.rubric.get('story', '?')}/5, continuity {review.rubric.get('continuity', '?')}/5."
        )
    if not review.verdicts:
        return
    best = re.search(r"\b(best|strongest)\b", question) is not None
    scores = {verdict.score for verdict in review.verdicts}
    if len(scores) == 1 and len(review.verdicts) > 1:
        draft.say(
            f"Every shot scored {scores.pop():.2f} on the critic's checks, so none stands out as the "
            f"{'strongest' if best else 'weakest'}; ask about one shot to hear what the critic saw in it."
        )
        return
    pick = (max if best else min)(review.verdicts, key=lambda verdict: verdict.score)
    shot = _film_shot(film, pick.shot_id)
    name = draft.shot(shot) if shot is not None else pick.shot_id
    reasons = f": {'; '.join(pick.reasons)}" if pick.reasons else ""
    draft.say(f"The {'strongest' if best else 'weakest'} shot is {name}, scored {pick.score:.2f}{reasons}.")
    flagged = [verdict for verdict in review.verdicts if not verdict.passed and verdict is not pick]
    if flagged:
        names = [draft.shot(s) if (s := _film_shot(film, v.shot_id)) else v.shot_id for v in flagged[:4]]
        draft.say(f"Also flagged: {listing(names)}.")
    if review.notes:
        draft.say(f"Its notes: {quoted('; '.join(review.notes[:3]), 240)}.")


def _cost(draft: Draft, records: FilmRecords, question: str) -> None:
    manifest = records.manifest
    if manifest is None:
        draft.say("There is no manifest yet (it is written with the first cut), so there is no cost to report.")
        return
    seconds = sum(value for node, value in manifest.timings.items() if not node.startswith("approve_"))
    runs = f" over {len(records.runs)} runs" if len(records.runs) > 1 else ""
    cost = manifest.cost
    if cost is None:
        tokens = int(manifest.llm_usage.get("prompt_tokens", 0)) + int(manifest.llm_usage.get("completion_tokens", 0))
        draft.say(f"The crew worked {seconds:.0f} s{runs} and used {tokens:,} LLM tokens; no cost was recorded.")
        return
    tokens = sum(cost.llm_tokens.values())
    draft.say(
        f"This film took {seconds:.0f} s of crew time{runs} and {tokens:,} LLM tokens, and cost "
        f"**{cost.total:.2f} {cost.currency}**."
    )
    draft.say(f"{cost.takes_rendered} takes were rendered and {cost.takes_reused} reused from the cache.")
    paid = [line for line in cost.lines if line.amount > 0]
    if paid:
        parts = [f"{line.stage} on {line.backend} {line.amount:.2f} {cost.currency}" for line in paid[:4]]
        draft.say(f"The money went to: {listing(parts)}.")
    draft.say(f"`director stats {manifest.film_id}` has the breakdown.")


def _voice_of(character: Character) -> str:
    voice = character.voice
    if voice is None:
        return f"{character.name} has no voice cast yet: a voice is cast when a character first speaks."
    return (
        f"{character.name} speaks in the eSpeak voice **{voice.espeak}** at pitch {voice.pitch}, "
        f"{voice.words_per_minute} words a minute (the OpenAI voice would be {voice.openai})."
    )


def _voice(draft: Draft, records: FilmRecords, question: str) -> None:
    film = draft.film
    character = character_in(question, film)
    if character is None:
        if not film.characters:
            draft.say("The film has no characters, so nobody has a voice.")
        for each in film.characters[:4]:
            draft.say(_voice_of(each))
        return
    draft.say(_voice_of(character))
    spoken = [shot for shot in film.shots() if shot.dialogue and shot.dialogue.character_id == character.id]
    if spoken:
        draft.say(f"You hear it in {listing([draft.shot(shot) for shot in spoken[:5]])}.")


def _appearances(film: Film, character: Character) -> list[Scene]:
    return [scene for scene in film.scenes if character.id in scene.character_ids]


def _character(draft: Draft, records: FilmRecords, question: str) -> None:
    film = draft.film
    character = character_in(question, film)
    scene = scene_in(question, film)
    if character is None and scene is not None:
        people = [film.character(each).name for each in scene.character_ids if each in _ids(film.characters)]
        draft.say(f"In {draft.scene(scene)}: {listing(people) or 'nobody'}.")
        return
    if character is None:
        cast = [f"**{each.name}** ({each.look})" for each in film.characters]
        draft.say(f"The film has {len(cast)} characters: {listing(cast) or 'none'}.")
        return
    colour = next((name for name, hex_colour in COLOURS.items() if hex_colour == character.signature_color), "")
    draft.say(f"**{character.name}**: {character.look}." + (f" Their colour is {colour}." if colour else ""))
    scenes = _appearances(film, character)
    if scenes:
        draft.say(f"They are in {listing([draft.scene(each) for each in scenes])}.")
    lines = [shot for shot in film.shots() if shot.dialogue and shot.dialogue.character_id == character.id]
    if lines:
        draft.say(
            f"They speak in {len(lines)} shot(s), first in {draft.shot(lines[0])}: {quoted(lines[0].dialogue.text)}."
        )  # type: ignore[union-attr]


def _ids(items: list[Character] | list[Setting]) -> set[str]:
    return {item.id for item in items}


def _place(draft: Draft, records: FilmRecords, question: str) -> None:
    film = draft.film
    if _missing_scene(draft, question):
        return
    setting = setting_in(question, film)
    scene = scene_in(question, film)
    if setting is None and scene is not None:
        setting = _setting(film, scene)
    if setting is None:
        places = [f"**{each.name}** ({each.look}, {each.time_of_day})" for each in film.settings]
        draft.say(f"The film has {len(places)} places: {listing(places) or 'none'}.")
        return
    inside = "an interior" if setting.interior else "an exterior"
    draft.say(f"**{setting.name}** is {inside} at {setting.time_of_day}: {setting.look}.")
    scenes = [each for each in film.scenes if each.setting_id == setting.id]
    if scenes:
        draft.say(f"{listing([draft.scene(each) for each in scenes]).capitalize()} play there.")


def _scene(draft: Draft, records: FilmRecords, question: str) -> None:
    film = draft.film
    if _missing_scene(draft, question):
        return
    scene = scene_in(question, film)
    if scene is None:
        summaries = [f"{draft.scene(each)}: {each.summary or '(no summary)'}" for each in film.scenes[:6]]
        draft.say(f"The film has {len(film.scenes)} scenes. {' '.join(summaries)}")
        return
    setting = _setting(film, scene)
    where = f" {where_in_sentence(setting.name)}" if setting else ""
    heading = f" (heading {quoted(scene.heading)})" if scene.heading else ""
    draft.say(f"{draft.scene(scene).capitalize()} plays{where} at {scene_time(film, scene)}{heading}.")
    if scene.summary:
        draft.say(scene.summary)
    if scene.shots:
        draft.say(f"It has {len(scene.shots)} shots: {listing([draft.shot(shot) for shot in scene.shots])}.")
    lines = [line for line in scene.dialogue if line.character_id in _ids(film.characters)]
    if lines:
        first = lines[0]
        draft.say(f"{film.character(first.character_id).name} says {quoted(first.text)}.")


def _shot(draft: Draft, records: FilmRecords, question: str) -> None:
    film = draft.film
    if _missing_shot(draft, question):
        return
    shot = shot_in(question, film)
    if shot is None:
        draft.say(f"The film has {len(film.shots())} shots in {len(film.scenes)} scenes.")
        return
    scene = _scene_of(film, shot)
    place = f" of {draft.scene(scene)}" if scene else ""
    move = "a static camera" if shot.camera_move == "static" else f"a {shot.camera_move}"
    draft.say(f"{draft.shot(shot).capitalize()}{place} is a {shot.framing} shot with {move}, {shot.duration:.1f} s.")
    if shot.action:
        draft.say(f"Action: {quoted(shot.action)}.")
    if shot.dialogue and shot.dialogue.character_id in _ids(film.characters):
        draft.say(f"{film.character(shot.dialogue.character_id).name} says {quoted(shot.dialogue.text)}.")
    take = shot.take
    if take is None:
        draft.say("It has not been rendered yet.")
    else:
        model = f", model {take.model}" if take.model else ""
        draft.say(f"Its take came from {take.image_backend}/{take.video_backend}{model}, seed {take.seed}.")
    review = records.review
    verdict = next((v for v in review.verdicts if v.shot_id == shot.id), None) if review else None
    if verdict is not None:
        draft.say(_verdict_text(draft, verdict, shot))


def _length(film: Film, records: FilmRecords) -> float:
    manifest = records.manifest
    if manifest is not None and manifest.cut is not None:
        return manifest.cut.duration
    return sum(shot.duration for shot in film.shots())


def _counts(draft: Draft, records: FilmRecords, question: str) -> None:
    film = draft.film
    draft.say(
        f"**{film.title}** has {len(film.scenes)} scenes, {len(film.shots())} shots, {len(film.characters)} "
        f"characters and {len(film.settings)} places; it runs {_length(film, records):.1f} s "
        f"(the target was {film.target_seconds:.0f} s)."
    )


def _notes(draft: Draft, records: FilmRecords, question: str) -> None:
    film = draft.film
    if not film.feedback:
        draft.say("No notes yet: the film is as the crew first made it.")
        return
    draft.say(f"You gave {len(film.feedback)} note(s).")
    for revision in film.feedback[-4:]:
        changes = "; ".join(revision.changes) or "no change"
        remade = [draft.shot(s) if (s := _film_shot(film, each)) else each for each in revision.remade]
        again = f"; remade {listing(remade)}" if remade else "; nothing was remade"
        draft.say(f"{quoted(revision.text)}: {changes}{again}.")
    for revision in film.feedback[-4:]:
        if revision.scene is not None:
            scene = next((each for each in film.scenes if each.number == revision.scene), None)
            if scene is not None:
                draft.scene(scene)


def overview(draft: Draft, records: FilmRecords, question: str) -> None:
    film = draft.film
    draft.say(f"**{film.title}**" + (f": {film.logline}" if film.logline else "."))
    review = records.review
    verdict = "not reviewed yet" if review is None else "passed review" if review.passed else "did not pass review"
    draft.say(
        f"It has {len(film.scenes)} scenes and {len(film.shots())} shots, runs {_length(film, records):.1f} s, "
        f"and {verdict}."
    )
    draft.say(
        "Ask about a scene, a shot, a character's look or voice, the critic's review or the cost, "
        "or give a note such as “make scene 2 a night scene”."
    )


ANSWERERS: dict[Topic, Callable[[Draft, FilmRecords, str], None]] = {
    Topic.TIME_OF_DAY: _time_of_day,
    Topic.REVIEW: _review,
    Topic.COST: _cost,
    Topic.VOICE: _voice,
    Topic.SOUND: sound,
    Topic.CHARACTER: _character,
    Topic.PLACE: _place,
    Topic.SCENE: _scene,
    Topic.SHOT: _shot,
    Topic.COUNTS: _counts,
    Topic.NOTES: _notes,
    Topic.OVERVIEW: overview,
}
