"""The writer's feedback on suggestions: kept on this machine, as preference data.

Every suggestion the writer accepts, edits or rejects (ghost text, rephrase
candidates, voice rewrites, the hunks of a reviewed rewrite) is one `Event` in a
SQLite file under KILLAH_HOME (`feedback.sqlite`). Nothing here opens a network
connection; the app records only while Settings › "Learn from my choices" is on,
and the Settings page lists and deletes what was kept.

An event becomes preference pairs (`pairs()`), each in the two shapes training reads:

- `PreferencePair.dpo_row()`: {"prompt", "chosen", "rejected", ...}, the rows
  training/tasks/dpo.py loads, the prompt built by engine.tasks as at inference;
- `PreferencePair.quality_pair()`: engine.quality.data.Pair(better, worse, source),
  what the writing-quality reward model learns from.

Which events give which pairs:

| event | chosen | rejected |
|---|---|---|
| accepted, alternatives shown (a rephrase candidate clicked) | what was kept | each other one |
| edited (the writer changed it, or kept some hunks of it) | what was kept | the suggestion |
| rejected, the writer wrote their own text there (ghost) | the writer's text | the suggestion |

A rejected rewrite with nothing written instead gives no pair (keeping the
original is not a better rewrite), and neither does an accepted suggestion with
nothing to compare it with; both stay as events (counts, acceptance rates).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Self

from sqlite_utils import Database

try:
    from sqlite_migrate import Migrations
except ImportError:  # sqlite-utils >= 4 ships the same class
    from sqlite_utils import Migrations

from engine import paths
from engine.errors import KillahError
from engine.text import word_count

KINDS = ("ghost", "rephrase", "voice", "hunk")
ACTIONS = ("accepted", "edited", "rejected")
MAX_TEXT = 20_000  # characters kept of any one text (a context is cut from its start)
MIN_PAIR_WORDS = 2  # shorter chosen/rejected texts make no pair

migrations = Migrations("killah-feedback")


@migrations()
def m001_events(db: Database) -> None:
    db["events"].create(
        {"id": int, "at": float, "kind": str, "action": str, "mode": str, "source": str,
         "suggestion": str, "final": str, "alternatives": str, "memory": str, "style": str,
         "document": str},
        pk="id", not_null={"kind", "action", "mode"})
    db["events"].create_index(["at"])


@dataclass(frozen=True)
class Event:
    """One decision of the writer about one suggestion."""

    kind: str  # KINDS: where the suggestion was shown
    action: str  # ACTIONS
    mode: str  # the engine.tasks mode that made it: continue, rephrase, formal...
    source: str  # the text before the cursor (continue) or the text rewritten
    suggestion: str  # what Killah offered
    final: str = ""  # what the writer kept, or wrote instead ('' = nothing)
    alternatives: tuple[str, ...] = ()  # other candidates shown and passed over
    memory: str = ""  # the document's note when the suggestion was made
    style: str = ""  # the active style (engine.style.Style.describe())
    document: str = ""  # the document's file name ('' = untitled)
    at: float = field(default_factory=time.time)
    id: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"feedback kind must be one of {', '.join(KINDS)}, not {self.kind!r}")
        if self.action not in ACTIONS:
            raise ValueError(f"feedback action must be one of {', '.join(ACTIONS)}, "
                             f"not {self.action!r}")
        object.__setattr__(self, "alternatives", tuple(str(a) for a in self.alternatives))

    def to_row(self) -> dict:
        return {"at": self.at, "kind": self.kind, "action": self.action, "mode": self.mode,
                "source": self.source[-MAX_TEXT:], "suggestion": self.suggestion[:MAX_TEXT],
                "final": self.final[:MAX_TEXT],
                "alternatives": json.dumps([a[:MAX_TEXT] for a in self.alternatives],
                                           ensure_ascii=False),
                "memory": self.memory[:MAX_TEXT], "style": self.style, "document": self.document}

    @classmethod
    def from_row(cls, row: dict) -> Event:
        try:
            alternatives = tuple(json.loads(row.get("alternatives") or "[]"))
        except ValueError:
            alternatives = ()
        return cls(kind=row["kind"], action=row["action"], mode=row["mode"],
                   source=row.get("source") or "", suggestion=row.get("suggestion") or "",
                   final=row.get("final") or "", alternatives=alternatives,
                   memory=row.get("memory") or "", style=row.get("style") or "",
                   document=row.get("document") or "", at=float(row.get("at") or 0.0),
                   id=row.get("id"))


@dataclass(frozen=True)
class PreferencePair:
    """The writer preferred `chosen` to `rejected` as the answer to (mode, source, memory)."""

    mode: str
    source: str
    chosen: str
    rejected: str
    memory: str = ""
    kind: str = ""
    event: int | None = None
    at: float = 0.0

    def prompt(self, settings=None):
        """The engine.tasks Prompt the suggestion answers (no exemplars: they are the persona's,
        not the writer's choice)."""
        from engine import tasks

        kwargs = {"memory": self.memory} if self.memory else {}
        if settings is not None:
            kwargs["settings"] = settings
        return tasks.build(self.mode, self.source, (), **kwargs)

    def dpo_row(self, settings=None) -> dict:
        """One row of training/tasks/dpo.py's preferences.jsonl."""
        prompt = self.prompt(settings).text
        if self.mode == "continue":  # the text goes on exactly where the context ends
            chosen, rejected = self.chosen, self.rejected
        else:  # a rewrite frame ends on "Rewritten:" or a space; the answer ends the line
            sep = "" if prompt.endswith((" ", "\n")) else " "
            chosen = sep + " ".join(self.chosen.split()) + "\n"
            rejected = sep + " ".join(self.rejected.split()) + "\n"
        return {"prompt": prompt, "chosen": chosen, "rejected": rejected, "mode": self.mode,
                "kind": self.kind, "event": self.event}

    def quality_pair(self):
        """engine.quality.data.Pair: the reward model's training shape."""
        from engine.quality.data import Pair

        return Pair(better=self.chosen.strip(), worse=self.rejected.strip(),
                    source=f"feedback:{self.kind}")


def event_pairs(event: Event) -> list[PreferencePair]:
    """The preference pairs one event gives (see the module's table)."""
    def make(chosen: str, rejected: str) -> PreferencePair:
        return PreferencePair(event.mode, event.source, chosen, rejected, event.memory,
                              event.kind, event.id, event.at)

    kept = event.final if event.final.strip() else event.suggestion
    out = []
    if event.action == "accepted":
        out = [make(kept, alt) for alt in event.alternatives]
    elif event.action == "edited":
        out = [make(event.final, event.suggestion)] + [make(event.final, alt)
                                                        for alt in event.alternatives]
    elif event.action == "rejected" and event.final.strip() and event.mode == "continue":
        out = [make(event.final, event.suggestion)]
    return [p for p in out if _distinct(p.chosen, p.rejected)]


def _distinct(a: str, b: str) -> bool:
    a, b = " ".join(a.split()), " ".join(b.split())
    return a != b and min(word_count(a), word_count(b)) >= MIN_PAIR_WORDS


class FeedbackStore:
    """The feedback database. Open one per thread."""

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path).expanduser() if path is not None else paths.feedback_path()
        try:
            if not self.path.parent.is_dir():
                raise KillahError(f"cannot open feedback {self.path}: its folder does not exist")
            self.db = Database(sqlite3.connect(str(self.path), timeout=30,
                                               check_same_thread=False))
            tables = set(self.db.table_names())
            if tables and not tables & {"events", "_sqlite_migrations"}:
                raise KillahError(f"cannot open feedback {self.path}: it is another database")
            self.db.execute("PRAGMA journal_mode=WAL")
            migrations.apply(self.db)
        except sqlite3.Error as e:
            raise KillahError(f"cannot open feedback {self.path}: {e}") from None

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def record(self, event: Event) -> Event:
        """Store `event`; returns it with its id."""
        with self.db.atomic():
            pk = self.db["events"].insert(event.to_row()).last_pk
        return replace(event, id=pk)

    def events(self, kind: str | None = None, limit: int | None = None) -> list[Event]:
        """Events, newest first."""
        where, args = ("kind = ?", [kind]) if kind else (None, [])
        rows = self.db["events"].rows_where(where, args, order_by="at desc, id desc", limit=limit)
        return [Event.from_row(r) for r in rows]

    def count(self) -> int:
        return self.db["events"].count

    def summary(self) -> dict[str, dict[str, int]]:
        """{kind: {action: count}} over everything recorded."""
        out: dict[str, dict[str, int]] = {k: {a: 0 for a in ACTIONS} for k in KINDS}
        for kind, action, n in self.db.execute(
                "SELECT kind, action, COUNT(*) FROM events GROUP BY kind, action"):
            out.setdefault(kind, {})[action] = n
        return out

    def pairs(self, events: Iterable[Event] | None = None) -> list[PreferencePair]:
        """Every preference pair the events give, oldest first."""
        events = self.events() if events is None else events
        return [p for e in sorted(events, key=lambda e: (e.at, e.id or 0)) for p in event_pairs(e)]

    def delete(self, ids: Sequence[int]) -> int:
        """Forget these events; returns how many were removed."""
        ids = [int(i) for i in ids]
        if not ids:
            return 0
        with self.db.atomic():
            marks = ",".join("?" * len(ids))
            cur = self.db.execute(f"DELETE FROM events WHERE id IN ({marks})", ids)
        return cur.rowcount

    def clear(self) -> int:
        """Forget everything recorded; the file is vacuumed so no deleted text stays in it."""
        with self.db.atomic():
            cur = self.db.execute("DELETE FROM events")
        self.db.execute("VACUUM")
        self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return cur.rowcount
