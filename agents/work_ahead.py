"""Work a run starts ahead of the graph: one lane for scenes, in order, and a pool for their takes.

`agents.scene_stream` decides what is worth starting early; this only runs it and lets the graph's nodes wait
for it. Each take is keyed by its content hash, so a node about to render a take that is already being made
waits for it and then finds it in the take store: nothing is rendered twice. The work is a cache filled early,
never a second source of truth: a node whose request differs from what was made ahead just makes its own.
Each job runs in a copy of its submitter's context variables, so the node's event stream reaches the caller
from the job's thread as it happens.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait


class WorkAhead:
    """Scenes handled one at a time in the order given, takes rendered `parallel` at a time; closed with the run."""

    def __init__(self, parallel: int = 2, enabled: bool = True) -> None:
        self.enabled = enabled
        self._parallel = max(1, parallel)
        self._scenes: ThreadPoolExecutor | None = None
        self._takes: ThreadPoolExecutor | None = None
        self._warming: ThreadPoolExecutor | None = None
        self._scene_jobs: dict[str, Future[None]] = {}
        self._take_jobs: dict[str, Future[dict | None]] = {}
        self._guard = threading.Lock()
        self._closed = False

    def scene(self, key: str, job: Callable[[], None]) -> bool:
        """Queue `job` for the scene `key` unless it was queued before; False when nothing was queued."""
        with self._guard:
            if not self.enabled or self._closed or key in self._scene_jobs:
                return False
            if self._scenes is None:
                self._scenes = ThreadPoolExecutor(max_workers=1, thread_name_prefix="scene-ahead")
            self._scene_jobs[key] = self._scenes.submit(contextvars.copy_context().run, job)
            return True

    def warm(self, job: Callable[[], object]) -> None:
        """Run `job` (loading a model the first scene will need) on a thread of its own, now."""
        with self._guard:
            if not self.enabled or self._closed:
                return
            if self._warming is None:
                self._warming = ThreadPoolExecutor(max_workers=1, thread_name_prefix="warm-ahead")
            self._warming.submit(job)

    def take(self, content_hash: str, job: Callable[[], dict | None]) -> bool:
        """Start rendering the take `content_hash` unless it is already under way; False when nothing started.

        `job` returns what the render node would have returned for that request (the take made, or its
        failure), or None when it made nothing; the node then takes that outcome as its own (`claim`).
        """
        with self._guard:
            if not self.enabled or self._closed or content_hash in self._take_jobs:
                return False
            if self._takes is None:
                self._takes = ThreadPoolExecutor(max_workers=self._parallel, thread_name_prefix="take-ahead")
            self._take_jobs[content_hash] = self._takes.submit(contextvars.copy_context().run, job)
            return True

    def claim(self, content_hash: str) -> dict | None:
        """Take the take `content_hash` over for the graph: what rendering it ahead came to, once done, or None.

        With None the caller renders it itself, and nothing ahead starts it after this: a lane that reached the
        scene late must not write into the take folder the node is writing. A job that raised (a full disk, say)
        also gives None: the node renders and meets the error itself.
        """
        with self._guard:
            job = self._take_jobs.get(content_hash)
            if job is None:
                claimed: Future[dict | None] = Future()
                claimed.set_result(None)
                self._take_jobs[content_hash] = claimed
                return None
        try:
            return job.result()
        except Exception:  # noqa: BLE001 - the node renders the take itself and reports that error
            return None

    def scene_errors(self) -> list[BaseException]:
        """What went wrong in the scene lane so far (a node redoes that scene's work and meets it itself)."""
        with self._guard:
            jobs = list(self._scene_jobs.values())
        return [error for job in jobs if job.done() and (error := job.exception()) is not None]

    def settle(self) -> None:
        """Drop what has not started and wait for what has, then forget it: the run that asked for it is over.

        Nothing made ahead outlives its run's call, so a later call (a question, a refused note) finds the
        project as the run left it. What was made stays in the take store for the next run to find.
        """
        while True:
            with self._guard:
                pending = [job for job in (*self._scene_jobs.values(), *self._take_jobs.values()) if not job.done()]
            if not pending:
                break
            for job in pending:
                job.cancel()
            wait(pending)
        with self._guard:
            self._scene_jobs.clear()
            self._take_jobs.clear()

    def close(self) -> None:
        """Drop what has not started and wait for what has: no thread outlives the run."""
        with self._guard:
            self._closed = True
            pools = [pool for pool in (self._scenes, self._takes, self._warming) if pool is not None]
        for pool in pools:
            pool.shutdown(wait=True, cancel_futures=True)
