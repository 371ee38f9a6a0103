"""Killing `director` with SIGKILL at seeded-random points, and reading what each kill left on disk.

Used by tests/test_resume.py. A kill point waits for the process to start, for its model server to start, for its
"Starting/Resuming/Revising run" line, or for a number of changes on disk (film.json changed, a take finished, a
file of the cut written, a new cut), then for a random delay; where it landed is read back from the run's
checkpoint afterwards.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from agents.graph import build_graph
from agents.state import CHECKPOINTED_MODULES, Film, Take
from memory.checkpoints import checkpoint_path, open_checkpointer
from tools.edit.probe import probe_video

DIRECTOR = str(Path(sys.executable).parent / "director")
RUN_LINE = ("Starting run", "Resuming run", "Revising run")

PHASES = {
    "__start__": "input",
    "write_script": "write",
    "approve_script": "plan",
    "plan_shots": "plan",
    "compose_score": "plan",
    "design_sound": "plan",
    "design_shots": "design",
    "revise_film": "revise",
    "render_shot": "render",
    "choose_takes": "render",
    "approve_storyboard": "cut",
    "assemble_cut": "cut",
    "review_cut": "review",
    "approve_cut": "done",
}
"""The phase a kill landed in, by the node the run's last checkpoint says comes next."""
BEFORE_RENDER = {"boot", "input", "write", "plan", "design"}
AFTER_RENDER = {"cut", "review"}

TRIGGERS = {
    "spawn": "start",
    "line": "run line",
    "server": "the bundled model's start (llama.cpp's server, or the torch engine mapping the model file)",
    "film": "film.json changes",
    "take": "finished takes",
    "encode": "files written by the cut",
    "cut": "new cuts",
}
"""What a kill point waits for: `spawn`, `line` and `server` are moments; the others count disk events of a kind."""
LATER = {"film": (), "take": ("encode", "cut"), "encode": ("cut",), "cut": ()}
"""Disk events that also fire a trigger, because they come after it (renders end before the cut starts)."""


@dataclass(frozen=True)
class KillPoint:
    """When to kill: `delay` seconds after `events` events of the `after` kind (see `TRIGGERS`).

    `group` kills the whole process group (director and its children); otherwise only the director process,
    as `kill -9 PID` or the OOM killer would, and its children must go by themselves.
    """

    after: str
    delay: float
    events: int = 1
    group: bool = True

    def __str__(self) -> str:
        count = f"{self.events} " if self.after in LATER else ""
        target = "group" if self.group else "pid"
        return f"{count}{TRIGGERS[self.after]} + {self.delay * 1000:.0f} ms, kill {target}"


def draw_kill_points(seed: int, count: int) -> list[KillPoint]:
    """`count` (at least 8) kill points from `random.Random(seed)`, in the order a film's stages come.

    The writer's LLM call, the ends of writing, planning and design, two stretches of renders, the cut's encoding
    and the critic's review each get a point with a random count and delay; kills while the process is still
    starting (importing, launching the model server) fill the rest at random places after the first.
    """
    rng = random.Random(seed)
    stages = [
        KillPoint("line", rng.uniform(1.0, 6.0)),
        KillPoint("film", rng.uniform(0.0, 0.3)),
        KillPoint("film", rng.uniform(0.0, 0.3)),
        KillPoint("film", rng.uniform(0.0, 0.3)),
        KillPoint("take", rng.uniform(0.0, 0.3), events=rng.randint(1, 3)),
        KillPoint("take", rng.uniform(0.0, 0.3), events=rng.randint(1, 3)),
        KillPoint("encode", rng.uniform(0.0, 1.0)),
        KillPoint("cut", rng.uniform(0.5, 4.0)),
    ]
    for _ in range(count - len(stages)):
        stages.insert(rng.randint(1, len(stages)), KillPoint("spawn", rng.uniform(0.5, 3.0)))
    return [KillPoint(point.after, round(point.delay, 3), point.events, group=rng.random() < 0.5) for point in stages]


def disk_marks(projects: Path) -> set[tuple[str, str]]:
    """What the runs in `projects` have written so far, as (kind, mark): one mark per disk event."""
    marks: set[tuple[str, str]] = set()
    for project in projects.iterdir() if projects.is_dir() else ():
        try:
            marks.add(("film", hashlib.sha256((project / "film.json").read_bytes()).hexdigest()))
        except OSError:
            pass
        try:
            marks.add(("cut", str((project / "cut" / "film.mp4").stat().st_mtime_ns)))
        except OSError:
            pass
        marks.update(("take", str(record)) for record in project.glob("takes/*/*/take.json"))
        for path in project.glob("cut/**/*"):
            try:
                if path.name != "film.mp4" and path.is_file():
                    marks.add(("encode", f"{path} {path.stat().st_mtime_ns}"))
            except OSError:
                pass
    return marks


class Director:
    """One `director` command in its own process group, its stderr collected line by line as it comes."""

    def __init__(self, args: list[str], cwd: Path, env: dict[str, str]) -> None:
        self.started = time.monotonic()
        self.ended: float | None = None
        self.process = subprocess.Popen(
            [DIRECTOR, *args],
            cwd=cwd,
            env=env,
            text=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line.rstrip("\n"))

    @property
    def seconds(self) -> float:
        """How long it ran (so far)."""
        return (self.ended or time.monotonic()) - self.started

    @property
    def stderr(self) -> str:
        return "\n".join(self.lines)

    def said(self, *starts: str) -> bool:
        return any(line.startswith(starts) for line in list(self.lines))

    def wait_for(self, point: KillPoint, projects: Path, timeout: float = 600) -> bool:
        """Block until the kill point is reached (True), or the process ended first (False)."""
        deadline = time.monotonic() + timeout
        before = disk_marks(projects)
        changes: set[tuple[str, str]] = set()
        while True:
            if self.process.poll() is not None:
                return False
            if time.monotonic() > deadline:
                raise AssertionError(f"kill point {point} not reached in {timeout:.0f} s:\n{self.stderr[-2000:]}")
            if point.after == "spawn":
                break
            if point.after == "line":
                if self.said(*RUN_LINE):
                    break
            elif point.after == "server":
                if model_server_started(self.process.pid):
                    break
            else:
                changes |= disk_marks(projects) - before
                if sum(kind == point.after for kind, _ in changes) >= point.events:
                    break
                if any(kind in LATER[point.after] for kind, _ in changes):
                    break
            time.sleep(0.02)
        end = time.monotonic() + point.delay
        while time.monotonic() < end:
            if self.process.poll() is not None:
                return False
            time.sleep(0.005)
        return True

    def kill(self, group: bool) -> None:
        if group:
            os.killpg(self.process.pid, signal.SIGKILL)
        else:
            self.process.send_signal(signal.SIGKILL)
        self.ended = time.monotonic()
        self.process.wait(timeout=30)
        self._reader.join(timeout=30)

    def finish(self, timeout: float = 900) -> int:
        code = self.process.wait(timeout=timeout)
        self.ended = time.monotonic()
        self._reader.join(timeout=30)
        return code

    def survivors(self, timeout: float = 10.0) -> list[str]:
        """The processes left in this command's process group `timeout` seconds after it died (none, we hope)."""
        deadline = time.monotonic() + timeout
        while True:
            left = group_members(self.process.pid)
            if not left or time.monotonic() > deadline:
                return [member[:300] for member in left]
            time.sleep(0.1)


def model_server_started(pgid: int) -> bool:
    """Whether the bundled model is starting: a llama.cpp server in the group, or a process mapping the model's file.

    The torch engine loads the model in the director process itself, reading the GGUF (first run) or its
    converted `model.safetensors` (later runs) through a memory map, which /proc/PID/maps shows.
    """
    for member in group_members(pgid):
        pid, _, command = member.partition(" ")
        if "llama_cpp.server" in command:
            return True
        try:
            maps = Path(f"/proc/{pid}/maps").read_text()
        except OSError:
            continue
        if ".gguf" in maps or "model.safetensors" in maps:
            return True
    return False


def group_members(pgid: int) -> list[str]:
    """Live (not zombie) processes in a process group, as 'PID command line', read from /proc (Linux)."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        state, _parent, group = stat[stat.rindex(")") + 2 :].split()[:3]
        if int(group) == pgid and state not in ("Z", "X"):
            members.append(f"{entry.name} {command}")
    return members


@dataclass(frozen=True)
class SeenTake:
    shot_id: str
    record: Path
    mtimes: tuple[int, ...]


def file_stamps(project: Path, take: Take, record: Path) -> tuple[int, ...]:
    paths = [record, *(project / name for name in (take.keyframe, take.clip, take.audio) if name)]
    return tuple(path.stat().st_mtime_ns for path in paths)


@dataclass
class KillRecord:
    """What one kill hit and what it left: the phase, the finished takes, and any file that did not parse."""

    attempt: int
    point: KillPoint
    seconds: float
    phase: str
    takes: dict[str, SeenTake] = field(default_factory=dict)
    broken: list[str] = field(default_factory=list)
    survivors: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return (
            f"kill {self.attempt}: {self.point} -> at {self.seconds:.1f} s, phase {self.phase}, "
            f"{len(self.takes)} finished takes"
        )


def phase_of(project: Path, director: Director) -> str:
    """Where the kill landed: 'boot' before the run line, else the node the last checkpoint runs next."""
    if not director.said(*RUN_LINE) or not checkpoint_path(project).is_file():
        return "boot"
    with open_checkpointer(project, CHECKPOINTED_MODULES) as checkpointer:
        snapshot = build_graph(checkpointer).get_state({"configurable": {"thread_id": project.name}})
    if not snapshot.values:
        return "boot"
    return PHASES.get(snapshot.next[0], snapshot.next[0]) if snapshot.next else "done"


def inspect_project(project: Path) -> tuple[dict[str, SeenTake], list[str]]:
    """Every finished take on disk, and every state file that does not parse (a half-written file)."""
    broken = []
    for path in [*project.glob("*.json"), *project.glob("cut/*.json")]:
        try:
            if path.name == "film.json":
                Film.model_validate_json(path.read_text(encoding="utf-8"))
            else:
                json.loads(path.read_text(encoding="utf-8"))
        except ValueError as error:
            broken.append(f"{path.relative_to(project)}: {error}")
    cut = project / "cut" / "film.mp4"
    if cut.is_file():
        try:
            probe_video(cut)
        except Exception as error:  # noqa: BLE001 - any probe failure means a half-written cut
            broken.append(f"cut/film.mp4: {error}")
    takes = {}
    for record in project.glob("takes/*/*/take.json"):
        try:
            take = Take.model_validate_json(record.read_text(encoding="utf-8"))
            stamps = file_stamps(project, take, record)
        except (OSError, ValueError) as error:
            broken.append(f"{record.relative_to(project)}: {error}")
            continue
        takes[take.content_hash] = SeenTake(take.shot_id, record, stamps)
    return takes, broken
