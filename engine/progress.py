"""One way to report progress and one way to cancel, for every piece of long work.

Long work (indexing, model conversion, training stages, evaluation, generation)
takes two optional keyword arguments and nothing else for this:

    def work(items, progress: ProgressCallback | None = None, cancel: CancelToken | None = None):
        for i, item in enumerate(items):
            if cancel is not None:
                cancel.raise_if_cancelled()   # or check `cancel.cancelled` and return what is done
            ...
            report_progress(progress, "read", i + 1, len(items), "file", message=str(item))

A `Progress` is a frozen event: the stage it belongs to, how far along it is
(`done` of `total` `unit`s; None where unknown), a one-line message, and `info`,
the stage's own numbers (training loss and tokens/s, index rate and ETA...).
The command line renders events with a progress bar (training.progress, clikit);
the desktop turns them into Qt signals (desktop.jobs). A `CancelToken` is set from
any thread; work polls it, and `Cancelled` is what it raises when it stops early.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

__all__ = ["Cancelled", "CancelToken", "Progress", "ProgressCallback", "report_progress"]


@dataclass(frozen=True)
class Progress:
    """One progress event."""

    stage: str  # what is running: "read", "embed", "load", "curate", "fit", "evaluate"...
    done: int | None = None  # units finished so far; None when not counted
    total: int | None = None  # units in all; None when unknown (an indeterminate bar)
    unit: str = "it"  # what is counted: "file", "chunk", "step", "passage"...
    message: str = ""  # one line for a person: the file being read, the step being taken
    info: Mapping[str, Any] = field(default_factory=dict)  # the stage's own numbers

    def __post_init__(self) -> None:
        object.__setattr__(self, "info", dict(self.info))  # a copy: the sender may reuse its dict

    @property
    def fraction(self) -> float | None:
        """done / total in [0, 1], or None when either is unknown."""
        if self.done is None or not self.total:
            return None
        return min(1.0, max(0.0, self.done / self.total))

    def to_dict(self) -> dict:
        return {"stage": self.stage, "done": self.done, "total": self.total, "unit": self.unit,
                "message": self.message, "info": dict(self.info)}


ProgressCallback = Callable[[Progress], None]


def report_progress(progress: ProgressCallback | None, stage: str, done: int | None = None,
           total: int | None = None, unit: str = "it", message: str = "",
           **info: Any) -> None:
    """Send one event to `progress` when there is a callback (a no-op otherwise)."""
    if progress is not None:
        progress(Progress(stage, done, total, unit, message, info))


class Cancelled(Exception):
    """Raised by work that noticed its CancelToken was set."""


class CancelToken:
    """A cancel flag set from any thread; work polls it at its own safe points."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        if self.cancelled:
            raise Cancelled()

    def wait(self, timeout: float | None = None) -> bool:
        """Sleep until cancelled or `timeout` seconds pass; True when cancelled."""
        return self._event.wait(timeout)

    def __repr__(self) -> str:
        return f"CancelToken(cancelled={self.cancelled})"
