"""Whether nonsense reaches a film: the corpus filmed with the embedded defaults, and every word on screen audited.

    .venv/bin/python bench/prose.py                                  # all of bench/corpus/, 30 s films
    .venv/bin/python bench/prose.py --limit 1 --target-seconds 20    # one premise and one screenplay
    .venv/bin/python bench/prose.py --only screenplays --json prose.json

Every premise in `bench/corpus/premises.txt` and every `bench/corpus/*.fountain` is filmed the way `director
make` films it (`new_run`, then `run_film` unattended, in a temporary projects folder), with the bundled model
served once for all films (its start-up is timed apart). The table reports, per film:
- how often the prose gate refused a model answer (`rejected` over `calls`, from the run's LLM usage in
  runs.json), and how often a question fell back to its default (`failures` over questions: calls less re-asks);
- every text that reached the film and fails `tools.prose.check_prose` (film.json's title, logline, names,
  looks, scene summaries, shot actions, prompts and dialogue; the subtitles in cut/film.srt; a silent shot's
  caption is its action): the goal is none;
- for a screenplay, each shot action that is not the script's own words (a substring of its scene's action
  paragraphs), and each character introduced in the action (`JUNO (a grey mare...)`) that was not cast;
- for a premise, each being it names (`a stray dog`, `Mai`) that no character's name or look mentions, and the
  number of spoken lines (the goal is two or more).
The exit status is 1 when any non-prose text reached a film, 2 when a film did not finish, so `make bench` can
use it as a check. `audit_film(folder)` is the audit alone, for a test to reuse on any finished film.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from machine import load, machine  # noqa: E402

from agents.state import Film  # noqa: E402
from tools.llm.usage import LLMUsage  # noqa: E402
from tools.prose import ProseKind, check_prose  # noqa: E402

if TYPE_CHECKING:
    from memory.store import MiniLMEmbedding
    from tools.llm.asking import StructuredLLM
    from tools.settings import Settings

CORPUS = Path(__file__).resolve().parent / "corpus"
DEFAULT_MODEL = "smollm2-135m"
SUBTITLES = Path("cut") / "film.srt"

BEINGS: dict[str, tuple[str, ...]] = {
    word: tuple(shown_as) for word, shown_as in json.loads((CORPUS / "beings.json").read_text()).items()
}
"""A word a premise may name a being by, and the words a cast member's name or look may show it with."""
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")
_NAMED_AT_START = re.compile(r"^([A-ZÀ-Ý][a-zà-ÿ]+)(?:,| and )")
_APPOSITION = re.compile(r"^[A-ZÀ-Ý][a-zà-ÿ]+, (?:a|an|the) [^,]+,")
_INTRODUCED = re.compile(r"\b([A-Z][A-Z.'\- ]*[A-Z])\s*\((?![A-Z. ]+\))")


@dataclass
class Finding:
    """One text that should not have reached the film, and why."""

    film: str
    field: str
    text: str
    reason: str


@dataclass
class CorpusItem:
    kind: str  # "premise" or "screenplay"
    name: str
    text: str


@dataclass
class FilmResult:
    item: str
    kind: str
    model: str
    film_id: str = ""
    title: str = ""
    seconds: float = 0.0
    finished: bool = False
    error: str = ""
    shots: int = 0
    spoken_lines: int = 0
    usage: dict = field(default_factory=dict)
    not_prose: list[Finding] = field(default_factory=list)
    not_verbatim: list[Finding] = field(default_factory=list)
    not_cast: list[Finding] = field(default_factory=list)


def read_premises(path: Path = CORPUS / "premises.txt") -> list[str]:
    """The premises, one a line; blank lines and `#` comments are skipped."""
    lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def read_corpus(only: str | None = None, limit: int | None = None) -> list[CorpusItem]:
    items: list[CorpusItem] = []
    if only in (None, "premises"):
        premises = read_premises()[:limit]
        items += [CorpusItem("premise", f"premise {n}", text) for n, text in enumerate(premises, start=1)]
    if only in (None, "screenplays"):
        scripts = sorted(CORPUS.glob("*.fountain"))[:limit]
        items += [CorpusItem("screenplay", path.name, path.read_text(encoding="utf-8")) for path in scripts]
    return items


def _check(film: str, where: str, text: str, kind: ProseKind) -> list[Finding]:
    verdict = check_prose(text, kind)
    return [] if verdict else [Finding(film, where, text, verdict.reason)]


def audit_film(folder: Path, name: str = "", *, finished: bool = True) -> list[Finding]:
    """Every text in a film folder that fails the prose gate: film.json's words and the subtitles.

    Empty fields (a screenplay's logline, a silent shot's line) put no words on screen and are not checked. A
    `finished` film must have its subtitle file (cut/film.srt); an unfinished one is audited as far as it got.
    """
    from tools.edit.subtitles import parse_srt

    folder = Path(folder)
    name = name or folder.name
    film = Film.model_validate_json((folder / "film.json").read_text(encoding="utf-8"))
    found = _check(name, "title", film.title, ProseKind.TITLE)
    if film.logline.strip():
        found += _check(name, "logline", film.logline, ProseKind.SENTENCE)
    for character in film.characters:
        found += _check(name, f"character {character.id} name", character.name, ProseKind.NAME)
        found += _check(name, f"character {character.name} look", character.look, ProseKind.PHRASE)
    for setting in film.settings:
        found += _check(name, f"setting {setting.id} name", setting.name, ProseKind.TITLE)
        found += _check(name, f"setting {setting.name} look", setting.look, ProseKind.PHRASE)
    for scene in film.scenes:
        if scene.summary.strip():
            found += _check(name, f"scene {scene.number} summary", scene.summary, ProseKind.SENTENCE)
        for shot in scene.shots:
            # A silent shot's action is also its burned-in caption (agents/specs.py, shot_spec).
            what = "action" if shot.dialogue else "action (the caption)"
            if shot.action.strip():
                found += _check(name, f"shot {shot.id} {what}", shot.action, ProseKind.SENTENCE)
            if shot.prompt.strip():
                found += _check(name, f"shot {shot.id} prompt", shot.prompt, ProseKind.PROMPT)
            if shot.dialogue is not None:
                found += _check(name, f"shot {shot.id} line", shot.dialogue.text, ProseKind.LINE)
    subtitles = folder / SUBTITLES
    if subtitles.is_file():
        for cue in parse_srt(subtitles):
            speaker, _, line = cue.text.partition(": ") if ": " in cue.text else ("", "", cue.text)
            if speaker:
                found += _check(name, f"subtitle {cue.index} speaker", speaker, ProseKind.NAME)
            found += _check(name, f"subtitle {cue.index}", line, ProseKind.LINE)
    elif finished:
        found.append(Finding(name, "subtitles", str(SUBTITLES), "the finished film has no subtitle file"))
    return found


def _flat(text: str) -> str:
    return " ".join(text.split())


def verbatim_findings(film: Film, screenplay: str, name: str) -> list[Finding]:
    """Each shot action that is not the words of its own scene's action paragraphs in the script.

    A shot may join sentences from paragraphs apart, so each of its sentences must be a substring of the
    scene's action text; a word changed, added or taken from another scene is a finding.
    """
    from agents.writing.screenplay import parse_fountain
    from tools.prose import split_sentences

    scenes = {scene.number: _flat(" ".join(scene.action)) for scene in parse_fountain(screenplay).scenes}
    found = []
    for scene in film.scenes:
        source = scenes.get(scene.number)
        for shot in scene.shots:
            action = _flat(shot.action)
            if not action:
                continue
            if source is None:
                found.append(Finding(name, f"shot {shot.id} action", action, f"the script has no scene {scene.number}"))
            else:
                strays = [sentence for sentence in split_sentences(action) if sentence not in source]
                if strays:
                    reason = f"{strays[0]!r} is not in scene {scene.number}'s action"
                    found.append(Finding(name, f"shot {shot.id} action", action, reason))
    return found


def _mentions(film: Film, words: Iterable[str]) -> bool:
    cast = " ".join(f"{c.name} {c.look}" for c in film.characters).lower()
    return any(re.search(rf"\b{re.escape(word.lower())}(?:s|es)?\b", cast) for word in words)


def premise_beings(premise: str) -> list[tuple[str, tuple[str, ...]]]:
    """The beings a premise names: nouns from `BEINGS` (not in the possessive) and a name it opens with.

    The words of an apposition ("Rosa, a retired astronaut,") describe the name and are not another being.
    """
    beings: dict[str, tuple[str, ...]] = {}
    opening = _NAMED_AT_START.match(premise)
    if opening:
        beings[opening.group(1)] = (opening.group(1),)
    apposition = _APPOSITION.match(premise)
    for word in _WORD.findall(premise[apposition.end() :] if apposition else premise):
        if word.endswith(("'s", "’s")):
            continue
        lowered = word.lower()
        singular = lowered[:-1] if lowered.endswith("s") and lowered[:-1] in BEINGS else lowered
        if singular in BEINGS:
            beings.setdefault(word, BEINGS[singular])
    return list(beings.items())


def cast_findings(film: Film, item: CorpusItem) -> list[Finding]:
    """Each being the premise names, or character the script introduces in its action, that was not cast."""
    if item.kind == "premise":
        return [
            Finding(item.name, "cast", word, "no character's name or look mentions it")
            for word, shown_as in premise_beings(item.text)
            if not _mentions(film, shown_as)
        ]
    from agents.writing.screenplay import parse_fountain

    names = {_flat(c.name).upper() for c in film.characters}
    introduced: dict[str, None] = {}
    for scene in parse_fountain(item.text).scenes:
        for paragraph in scene.action:
            introduced.update(dict.fromkeys(_flat(m.group(1)) for m in _INTRODUCED.finditer(paragraph)))
    return [
        Finding(item.name, "cast", who, "introduced in the action but not cast")
        for who in introduced
        if who not in names
    ]


def film_one(
    item: CorpusItem, settings: Settings, llm: StructuredLLM, embedding: MiniLMEmbedding, model: str
) -> FilmResult:
    """Film one corpus item as `director make` does, then audit what reached the film."""
    from agents.run import new_run, open_context, run_film

    result = FilmResult(item=item.name, kind=item.kind, model=model)
    started = time.perf_counter()
    project = None
    try:
        if item.kind == "premise":
            project = new_run(settings, premise=item.text)
        else:
            project = new_run(settings, screenplay=item.text)
        result.film_id = project.film_id
        with open_context(settings, project, llm=llm, embedding_function=embedding) as context:
            outcome = run_film(settings, project, None, context)
        result.finished = outcome.finished and outcome.film is not None
        if not result.finished:
            result.error = "the run stopped before the film was finished"
    except Exception as error:  # noqa: BLE001 - one broken film must not hide the others' findings
        result.error = f"{type(error).__name__}: {error}"
    result.seconds = time.perf_counter() - started
    if project is None:
        return result
    usage = LLMUsage()
    for record in project.run_records():
        usage = usage.combined(record.llm_usage)
    result.usage = usage.model_dump()
    film = project.load_film()
    if film is None:
        return result
    result.title = film.title
    result.shots = len(film.shots())
    result.spoken_lines = sum(shot.dialogue is not None for shot in film.shots())
    result.not_prose = audit_film(project.root, item.name, finished=result.finished)
    if item.kind == "screenplay":
        result.not_verbatim = verbatim_findings(film, item.text, item.name)
    result.not_cast = cast_findings(film, item)
    return result


def _share(part: int, whole: int) -> str:
    return f"{part}/{whole} ({part / whole:.0%})" if whole else "0/0"


def _questions(used: dict) -> int:
    return used.get("calls", 0) - used.get("retries", 0)


def report(results: list[FilmResult], startup: float) -> None:
    print()
    print("| film | kind | seconds | shots | spoken lines | gate refused / calls | defaults / questions "
          "| not prose | not verbatim | not cast | error |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        used = r.usage or {}
        verbatim = str(len(r.not_verbatim)) if r.kind == "screenplay" else "n/a"
        print(
            f"| {r.item}: {r.title or r.film_id} | {r.kind} | {r.seconds:.1f} | {r.shots} | {r.spoken_lines} "
            f"| {_share(used.get('rejected', 0), used.get('calls', 0))} "
            f"| {_share(used.get('failures', 0), _questions(used))} | {len(r.not_prose)} | {verbatim} "
            f"| {len(r.not_cast)} | {r.error[:80]} |"
        )
    tasks: dict[str, dict[str, int]] = {}
    for r in results:
        for task, used in (r.usage or {}).get("tasks", {}).items():
            total = tasks.setdefault(task, {"calls": 0, "retries": 0, "failures": 0, "rejected": 0})
            for key in total:
                total[key] += used.get(key, 0)
    all_calls = sum(t["calls"] for t in tasks.values())
    print()
    print("| LLM task | gate refused / calls | defaults / questions | re-asks |")
    print("|---|---|---|---|")
    for task, t in sorted(tasks.items()):
        refused, fell_back = _share(t["rejected"], t["calls"]), _share(t["failures"], _questions(t))
        print(f"| {task} | {refused} | {fell_back} | {t['retries']} |")
    total = {key: sum(t[key] for t in tasks.values()) for key in ("calls", "retries", "failures", "rejected")}
    print(
        f"| **all** | {_share(total['rejected'], all_calls)} | {_share(total['failures'], _questions(total))} "
        f"| {total['retries']} |"
    )
    print()
    print("| offline model | films | finished | seconds per film (mean) | slowest | server start-up |")
    print("|---|---|---|---|---|---|")
    for model in dict.fromkeys(r.model for r in results):
        mine = [r for r in results if r.model == model]
        seconds = [r.seconds for r in mine]
        print(
            f"| {model} | {len(mine)} | {sum(r.finished for r in mine)} | {sum(seconds) / len(seconds):.1f} "
            f"| {max(seconds):.1f} | {startup:.1f} s |"
        )
    premises = [r for r in results if r.kind == "premise" and r.finished]
    if premises:
        enough = sum(r.spoken_lines >= 2 for r in premises)
        print(f"\npremise films with two or more spoken lines: {_share(enough, len(premises))}")
    findings = [
        (label, finding)
        for r in results
        for label, found in (("not prose", r.not_prose), ("not verbatim", r.not_verbatim), ("not cast", r.not_cast))
        for finding in found
    ]
    texts = sum(len(r.not_prose) for r in results)
    print(f"non-prose texts that reached a film: {texts} (goal 0)")
    if findings:
        print()
        print("| film | finding | field | text | reason |")
        print("|---|---|---|---|---|")
        for label, f in findings:
            text = f.text.replace("|", "\\|").replace("\n", " ")
            print(f"| {f.film} | {label} | {f.field} | {text[:120]} | {f.reason} |")
    for r in results:
        if r.error:
            print(f"\n{r.item} did not finish: {r.error}")


def model_name(settings: Settings) -> str:
    """The offline model the run uses, or the endpoint's model when one is set."""
    if settings.llm.base_url:
        return f"{settings.llm.model or '(endpoint default)'} at {settings.llm.base_url}"
    return getattr(settings.llm, "offline_model", "") or DEFAULT_MODEL


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=int, default=None, help="film only the first N premises and N screenplays")
    parser.add_argument("--only", choices=("premises", "screenplays"), default=None)
    parser.add_argument("--target-seconds", type=float, default=30.0, help="each film's target length (30 s)")
    parser.add_argument("--rounds", type=int, default=None, help="review rounds at most (default: the settings')")
    parser.add_argument("--model", default=None, help="the offline model (DIRECTOR_LLM__OFFLINE_MODEL)")
    parser.add_argument("--json", type=Path, default=None, help="write every finding to this file")
    parser.add_argument("--keep", type=Path, default=None, help="make the films in this projects folder, and keep it")
    args = parser.parse_args(argv)
    if args.model:
        os.environ["DIRECTOR_LLM__OFFLINE_MODEL"] = args.model

    from memory.store import MiniLMEmbedding
    from tools.llm.client import LLMClient
    from tools.settings import Settings

    items = read_corpus(args.only, args.limit)
    print(f"machine: {machine()}")
    results: list[FilmResult] = []
    with tempfile.TemporaryDirectory() as scratch:
        overrides = {"projects_dir": args.keep or Path(scratch) / "projects", "target_seconds": args.target_seconds}
        if args.rounds is not None:
            overrides["max_review_rounds"] = args.rounds
        try:
            settings = Settings(**overrides)
        except ValueError as error:  # pydantic's ValidationError: an unknown offline model, a bad DIRECTOR_* value
            print(f"error: the settings are not valid: {error}")
            return 2
        model = model_name(settings)
        print(f"model: {model}; {len(items)} films of {args.target_seconds:g} s")
        started = time.perf_counter()
        logs = (args.keep or Path(scratch)) / "llm-logs"
        with LLMClient.from_settings(settings.llm, log_dir=logs) as llm:
            startup = time.perf_counter() - started
            embedding = MiniLMEmbedding()
            for item in items:
                result = film_one(item, settings, llm, embedding, model)
                results.append(result)
                state = "finished" if result.finished else f"not finished ({result.error[:100]})"
                print(f"{item.name}: {state} in {result.seconds:.1f} s, {len(result.not_prose)} non-prose texts")
    print(f"load after: {load()}")
    report(results, startup)
    if args.json:
        args.json.write_text(
            json.dumps({"machine": machine(), "model": model, "target_seconds": args.target_seconds,
                        "startup_seconds": startup, "films": [asdict(r) for r in results]},
                       indent=2, ensure_ascii=False),
            encoding="utf-8",
        )  # fmt: skip
    if any(r.not_prose for r in results):
        return 1
    return 2 if any(not r.finished for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
