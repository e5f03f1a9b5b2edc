"""Document memory: the writer's note on a document (characters, setting, facts, tone).

The note conditions every suggestion made in that document (engine.tasks.memory_block
puts it in the prompt). It is kept under KILLAH_HOME, never beside the document itself,
in `memory/<key>.json`, one file per document path, written with engine.atomic:

    {"format": "killah-memory v1", "path": "/Users/me/Documents/novel.md",
     "note": "Mara Voss keeps the light on Stroma...", "updated_at": 1764547200.0}

An untitled document's note lives in its autosave snapshot (desktop/autosave.py) until
the document is saved. A file that cannot be read is never overwritten: it is moved
aside to `<key>.json.unreadable-<time>` first, and the error names both files.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

from engine import atomic, paths
from engine.errors import KillahError

FORMAT = "killah-memory v1"
MAX_NOTE_CHARS = 100_000  # a note is a page or two; this bounds a pasted novel


def _key(document: str | Path) -> str:
    path = os.path.abspath(os.path.expanduser(str(document)))
    return hashlib.sha1(path.encode("utf-8", "surrogateescape")).hexdigest()[:20]


def note_file(document: str | Path) -> Path:
    """Where the note of the document at `document` is kept."""
    return paths.memory_dir() / f"{_key(document)}.json"


def check_note(note: str) -> str:
    """`note` if it can be kept; a KillahError says why not."""
    if not isinstance(note, str):
        raise KillahError(f"a document note must be text, not {type(note).__name__}")
    if len(note) > MAX_NOTE_CHARS:
        raise KillahError(f"the document note is too long ({len(note):,} characters; "
                          f"at most {MAX_NOTE_CHARS:,})")
    return note


def load(document: str | Path) -> str:
    """The note of `document` ('' when it has none). An unreadable note file is moved aside
    (kept) and a KillahError names it."""
    file = note_file(document)
    try:
        raw = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ""
    except (OSError, UnicodeDecodeError) as e:
        raise KillahError(f"cannot read the note of {Path(document).name} ({file}): "
                          f"{getattr(e, 'strerror', None) or e}") from None
    try:
        data = json.loads(raw)
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError(f"not a {FORMAT} file")
        return check_note(data.get("note", ""))
    except (ValueError, KillahError) as e:
        kept = _move_aside(file)
        raise KillahError(f"the note of {Path(document).name} could not be read ({e}); "
                          f"the file was kept as {kept}") from None


def save(document: str | Path, note: str) -> Path | None:
    """Keep `note` as the note of `document` (atomically); an empty note removes the file.
    Returns the file written (None when removed)."""
    file = note_file(document)
    if not check_note(note).strip():
        file.unlink(missing_ok=True)
        return None
    atomic.write_json(file, {"format": FORMAT, "path": os.path.abspath(str(document)),
                             "note": note, "updated_at": time.time()})
    return file


def _move_aside(file: Path) -> Path:
    target = file.with_name(f"{file.name}.unreadable-{int(time.time())}")
    try:
        os.replace(file, target)
    except OSError:
        return file
    return target
