"""Autosave snapshots and crash recovery.

Each running window owns one snapshot file in engine.paths.autosave_dir(),
rewritten atomically every few seconds while there is unsaved text and removed
when the text is saved or discarded on a clean exit. A snapshot whose owner
process is gone (a crash, kill -9) is offered back on the next start.
"""

from __future__ import annotations

import json
import math
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from engine import atomic, paths

FORMAT = "killah-autosave v1"


@dataclass(frozen=True)
class Snapshot:
    file: Path  # the snapshot file itself
    text: str
    path: str | None  # the document it belongs to, None for an untitled one
    saved_at: float
    pid: int
    memory: str = ""  # the document's note (engine.memory), kept with its text


    @property
    def title(self) -> str:
        return Path(self.path).name if self.path else "Untitled"


def new_snapshot_file() -> Path:
    return paths.autosave_dir() / f"session-{uuid.uuid4().hex[:12]}.json"


def write(file: Path, text: str, path: str | None, memory: str = "") -> None:
    atomic.write_json(
        file,
        {"format": FORMAT, "path": path, "text": text, "memory": memory, "saved_at": time.time(),
         "pid": os.getpid()},
    )


def read(file: Path) -> Snapshot | None:
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if (not isinstance(data, dict) or data.get("format") != FORMAT
            or not isinstance(data.get("text"), str)):
        return None
    path, saved_at, pid = data.get("path"), data.get("saved_at", 0), data.get("pid", 0)
    if not isinstance(path, (str, type(None))):
        path = None
    if not isinstance(saved_at, (int, float)) or isinstance(saved_at, bool) \
            or not math.isfinite(saved_at):
        saved_at = 0.0
    if not isinstance(pid, int) or isinstance(pid, bool) or not 0 <= pid < 2**31:
        pid = 0  # unknown owner: offered back as an orphan, never taken for a live process
    memory = data.get("memory", "")
    return Snapshot(file, data["text"], path, float(saved_at), pid,
                    memory if isinstance(memory, str) else "")


def _alive(pid: int) -> bool:
    if pid <= 0 or pid == os.getpid():
        return pid == os.getpid()
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (killed, not yet reaped by its parent) is not alive for our purposes.
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().split(") ", 1)[1][:1] != "Z"
    except (OSError, IndexError):
        return True


def orphans(exclude: Path | None = None) -> list[Snapshot]:
    """Snapshots whose owning process is gone, newest first."""
    found = []
    for file in paths.autosave_dir().glob("session-*.json"):
        if exclude is not None and file == exclude:
            continue
        snap = read(file)
        if snap is not None and not _alive(snap.pid):
            found.append(snap)
    return sorted(found, key=lambda s: s.saved_at, reverse=True)


def discard(file: Path) -> None:
    file.unlink(missing_ok=True)
