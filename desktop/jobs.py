"""Background jobs, vorta-style: validate on the GUI thread, run on a worker, report by signal.

A job is a QObject with `run()` (executed on a worker thread), `cancel()` and the
signals `progress`, `result` and `error`; `finished` always follows one of them.
Jobs never touch widgets: they only emit signals, which Qt queues to the GUI
thread. `progress` carries engine.progress's `Progress` events: library code gets
`progress=job.progress.emit` and `cancel=job.token` (an engine.progress
`CancelToken`), the same two arguments every long call takes.

`JobManager` keeps one queue per resource, each drained by one Python thread, so
two jobs never use the same resource at once: "model" (loading the LLM, generation,
reranking), "index" (reading documents and the embedder), "train", and "audio"
(dictation: the microphone and Whisper, so dictating never waits behind a
generation). Every job class offers `prepare(...) -> (ok, message, params)` to
check its inputs before anything is queued.
"""

from __future__ import annotations

import queue
import threading
import time
import traceback
from typing import Any, Callable

from PySide6.QtCore import QObject, Signal

from engine.errors import KillahError
from engine.progress import Cancelled, CancelToken, Progress

__all__ = ["RESOURCES", "Cancelled", "FunctionJob", "Job", "JobManager"]

RESOURCES = ("model", "index", "train", "audio")


class Job(QObject):
    """One unit of background work. Subclasses set `resource` and implement `run()`."""

    progress = Signal(object)  # an engine.progress.Progress
    result = Signal(object)
    error = Signal(str)
    cancelled = Signal()
    finished = Signal()

    resource = "model"
    title = "working"

    def __init__(self, params: dict | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.params = dict(params or {})
        self.token = CancelToken()
        self.started_at: float | None = None
        self.state = "queued"  # queued -> running -> done | failed | cancelled

    @classmethod
    def prepare(cls, **inputs: Any) -> tuple[bool, str, dict]:
        """Validate inputs on the GUI thread: (ok, message for the user, params for the job)."""
        return True, "", dict(inputs)

    def run(self) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def cancel(self) -> None:
        self.token.cancel()

    @property
    def is_cancelled(self) -> bool:
        return self.token.cancelled

    def check_cancelled(self) -> None:
        self.token.raise_if_cancelled()

    def report(self, message: str = "", done: int | None = None, total: int | None = None,
               unit: str = "it", **info: Any) -> None:
        """Emit one Progress for this job (its title as the stage); call from `run()`."""
        self.progress.emit(Progress(self.title, done, total, unit, message, info))

    # Called on the worker thread by the manager.
    def _execute(self) -> None:
        if self.is_cancelled:
            self.state = "cancelled"
            self.cancelled.emit()
            self.finished.emit()
            return
        self.state = "running"
        self.started_at = time.monotonic()
        try:
            value = self.run()
        except Cancelled:
            self.state = "cancelled"
            self.cancelled.emit()
        except KillahError as e:
            self.state = "failed"
            self.error.emit(str(e))
        except Exception as e:  # noqa: BLE001 - a job must never kill its worker thread
            self.state = "failed"
            self.error.emit(f"{self.title} failed: {type(e).__name__}: {e}")
            traceback.print_exc()
        else:
            if self.is_cancelled:
                self.state = "cancelled"
                self.cancelled.emit()
            else:
                self.state = "done"
                self.result.emit(value)
        self.finished.emit()


class FunctionJob(Job):
    """A job around a plain function `fn(job) -> value` (it may use job.report and job.token)."""

    def __init__(self, fn: Callable[["FunctionJob"], Any], resource: str = "model",
                 title: str = "working", parent: QObject | None = None) -> None:
        super().__init__({}, parent)
        self.fn = fn
        self.resource = resource
        self.title = title

    def run(self) -> Any:
        return self.fn(self)


_STOP = object()


class _ResourceQueue:
    """One worker thread draining one resource's jobs in order."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.pending: queue.Queue = queue.Queue()
        self.current: Job | None = None
        self.jobs: list[Job] = []  # queued or running, for cancel_all
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._loop, name=f"killah-{name}", daemon=True)
        self.thread.start()

    def put(self, job: Job) -> None:
        with self.lock:
            self.jobs.append(job)
        self.pending.put(job)

    def _loop(self) -> None:
        while True:
            job = self.pending.get()
            if job is _STOP:
                return
            self.current = job
            try:
                job._execute()
            finally:
                self.current = None
                with self.lock:
                    if job in self.jobs:
                        self.jobs.remove(job)

    def cancel_all(self) -> None:
        with self.lock:
            jobs = list(self.jobs)
        for job in jobs:
            job.cancel()

    def stop(self, timeout: float) -> bool:
        self.cancel_all()
        self.pending.put(_STOP)
        self.thread.join(timeout)
        return not self.thread.is_alive()

    @property
    def busy(self) -> bool:
        with self.lock:
            return bool(self.jobs)


class JobManager(QObject):
    """One queue per resource. Submit jobs from the GUI thread; each resource runs one at a time."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._queues: dict[str, _ResourceQueue] = {}
        self._keep: set[Job] = set()  # Python must not collect a job while its thread runs it

    def submit(self, job: Job) -> Job:
        if job.resource not in RESOURCES:
            raise ValueError(f"unknown job resource {job.resource!r}: one of {RESOURCES}")
        q = self._queues.get(job.resource)
        if q is None:
            q = self._queues[job.resource] = _ResourceQueue(job.resource)
        self._keep.add(job)
        job.finished.connect(lambda j=job: self._keep.discard(j))
        q.put(job)
        return job

    def cancel(self, resource: str | None = None) -> None:
        for name, q in self._queues.items():
            if resource is None or name == resource:
                q.cancel_all()

    def busy(self, resource: str) -> bool:
        q = self._queues.get(resource)
        return bool(q and q.busy)

    def shutdown(self, timeout: float = 10.0) -> bool:
        """Cancel everything and join the worker threads; True when all stopped in time."""
        ok = True
        deadline = time.monotonic() + timeout
        for q in self._queues.values():
            ok &= q.stop(max(0.1, deadline - time.monotonic()))
        self._queues.clear()
        return ok
