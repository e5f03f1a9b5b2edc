"""The document logic (mu's `Editor(view)`): open, save, save as, recent files, autosave, recovery,
and the document's memory (its note, engine.memory) that follows it through all of these.

`Documents` holds a `view` and never imports widgets; the view is anything with
the methods in `DocumentView`, so tests can drive the logic with a stand-in.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from desktop import autosave
from desktop.settings import Settings
from engine import atomic, memory
from engine.errors import KillahError
from engine.text import word_count

TEXT_SUFFIXES = (".txt", ".md", ".markdown", ".text")


class DocumentView(Protocol):
    def text(self) -> str: ...
    def set_text(self, text: str) -> None: ...
    def is_modified(self) -> bool: ...
    def set_modified(self, modified: bool) -> None: ...
    def set_title(self, title: str) -> None: ...
    def show_status(self, message: str) -> None: ...
    def ask_open_path(self) -> str | None: ...
    def ask_save_path(self, suggested: str) -> str | None: ...
    # True: discard, False: save, None: cancel
    def confirm_discard(self, title: str) -> bool | None: ...
    def confirm_overwrite_readonly(self, name: str) -> bool: ...
    def show_error(self, message: str) -> None: ...
    def set_note(self, note: str) -> None: ...  # the document's memory, shown in its panel


def read_document(path: str | Path) -> str:
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise KillahError(f"cannot open {path}: it does not exist") from None
    except OSError as e:
        raise KillahError(f"cannot open {path}: {e.strerror or e}") from None
    if b"\x00" in data[:4096]:
        raise KillahError(f"cannot open {path}: it is a binary file, not plain text or Markdown")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        from charset_normalizer import from_bytes

        best = from_bytes(data).best()
        if best is None:
            raise KillahError(f"cannot open {path}: unknown text encoding") from None
        return str(best)


class Documents:
    """One open document: its path, saving, the recent list and the autosave snapshot."""

    def __init__(self, view: DocumentView, settings: Settings,
                 save_settings: Callable[[], None] = lambda: None) -> None:
        self.view = view
        self.settings = settings
        self.save_settings = save_settings
        self.path: Path | None = None
        self.snapshot_file = autosave.new_snapshot_file()
        self._last_snapshot: tuple[str, str] | None = None  # (text, note) last written there
        self.recovered: list[autosave.Snapshot] = []
        self.note = ""  # the document's memory
        self._note_kept = ""  # the note as last written to engine.memory for self.path

    # -- titles ------------------------------------------------------------
    @property
    def title(self) -> str:
        return self.path.name if self.path else "Untitled"

    def refresh_title(self) -> None:
        mark = " •" if self.view.is_modified() else ""
        self.view.set_title(f"{self.title}{mark} — Killah")

    # -- open/save ---------------------------------------------------------
    def new(self) -> bool:
        if not self._may_discard():
            return False
        self.flush_note()
        self.path = None
        self.view.set_text("")
        self.view.set_modified(False)
        self._drop_snapshot()
        self._show_note("")
        self.refresh_title()
        return True

    def open(self, path: str | Path | None = None) -> bool:
        if path is None:
            path = self.view.ask_open_path()
            if not path:
                return False
        if not self._may_discard():
            return False
        text = read_document(path)
        self.flush_note()
        self.path = Path(path).resolve()
        self.view.set_text(text)
        self.view.set_modified(False)
        self._drop_snapshot()
        try:
            note = memory.load(self.path)
        except KillahError as e:
            note = ""
            self.view.show_error(str(e))
        self._show_note(note)
        self.settings.add_recent(self.path)
        self.save_settings()
        self.refresh_title()
        self.view.show_status(f"opened {self.path.name} ({word_count(text)} words)")
        return True

    def save(self) -> bool:
        if self.path is None:
            return self.save_as()
        return self._write(self.path)

    def save_as(self) -> bool:
        suggested = str(self.path) if self.path else "Untitled.md"
        target = self.view.ask_save_path(suggested)
        if not target:
            return False
        target = Path(target)
        if not target.suffix:
            target = target.with_suffix(".md")
        return self._write(target)

    def start_new(self, path: str | Path) -> None:
        """An empty document that will be saved as `path` (a file named on the command line
        that does not exist yet)."""
        self.path = Path(path).expanduser().absolute()
        self.view.set_text("")
        self.view.set_modified(False)
        self._show_note("")
        self.refresh_title()
        self.view.show_status(f"{self.path.name} is a new file: it is created when you save")

    def _write(self, path: Path) -> bool:
        """The one save path (engine.atomic): mode, links and symlinks kept; a read-only file
        is overwritten only when the user says so. On failure the text is kept in the
        autosave snapshot and a KillahError says why."""
        text = self.view.text()
        try:
            try:
                atomic.write_text(path, text)
            except atomic.ReadOnlyFile:
                if not self.view.confirm_overwrite_readonly(path.name):
                    self.view.show_status(f"not saved: {path.name} is read-only")
                    return False
                atomic.write_text(path, text, overwrite_readonly=True)
        except OSError as e:
            self._keep_snapshot()
            raise KillahError(f"cannot save {path}: {e.strerror or e}") from None
        except KillahError:
            self._keep_snapshot()
            raise
        new_path = path.parent.resolve() / path.name  # a symlink stays the document
        if new_path != self.path:
            self._note_kept = None  # a new path: its note file is written now
        self.path = new_path
        self.view.set_modified(False)
        try:
            self.flush_note()
        except (OSError, KillahError) as e:  # the text is saved; the note stays in the snapshot
            self._keep_snapshot()
            self.view.show_error(f"saved {path.name}, but its note could not be kept: {e}")
        else:
            self._drop_snapshot()
            self.view.show_status(f"saved {self.path.name}")
        self.settings.add_recent(self.path)
        self.save_settings()
        self.refresh_title()
        return True

    def _may_discard(self) -> bool:
        if not self.view.is_modified():
            return True
        answer = self.view.confirm_discard(self.title)
        if answer is None:
            return False
        if answer is False:
            return self.save()
        return True

    def close(self) -> bool:
        """On window close: ask about unsaved text; True when the window may close.

        Never True while typed text is neither saved nor discarded: when saving fails
        (a folder that became read-only, a full disk), the text stays in the window and
        in the autosave snapshot, and the user is told where.
        """
        try:
            if not self._may_discard():
                return False
        except KillahError as e:
            self.view.show_error(f"{e}. Your text is still here and in the autosave copy "
                                 f"{self.snapshot_file}; use Save As to save it elsewhere.")
            return False
        try:
            self.flush_note()
        except (OSError, KillahError) as e:
            self.view.show_error(f"cannot keep the document's note ({e}); it is still in the "
                                 f"autosave copy {self.snapshot_file}")
            return False
        self._drop_snapshot()
        return True

    # -- autosave and recovery ----------------------------------------------
    def autosave(self) -> bool:
        """Write the snapshot when the text or the note changed since the last one, and a saved
        document's changed note to engine.memory; True when anything was written."""
        wrote = self.flush_note()
        if not self.view.is_modified() and (self.path is not None or not self.note.strip()):
            return wrote
        state = (self.view.text(), self.note)
        if state == self._last_snapshot:
            return wrote
        autosave.write(self.snapshot_file, state[0], str(self.path) if self.path else None,
                       memory=state[1])
        self._last_snapshot = state
        return True

    def _keep_snapshot(self) -> None:
        """Write the snapshot now, whatever autosave last wrote (a save just failed)."""
        if self.view.is_modified() or self.note.strip():
            try:
                autosave.write(self.snapshot_file, self.view.text(),
                               str(self.path) if self.path else None, memory=self.note)
                self._last_snapshot = (self.view.text(), self.note)
            except (OSError, KillahError):
                pass  # the text is still in the window; the error being raised says why

    def _drop_snapshot(self) -> None:
        autosave.discard(self.snapshot_file)
        self._last_snapshot = None

    # -- the document's memory ----------------------------------------------
    def set_note(self, note: str) -> None:
        """The writer edited the note (the Memory panel); it is kept at the next autosave."""
        self.note = memory.check_note(note)

    def flush_note(self) -> bool:
        """Write a saved document's note to engine.memory when it changed; True when written.
        An untitled document's note stays in the autosave snapshot until it is saved."""
        if self.path is None or self.note == self._note_kept:
            return False
        if self._note_kept is None and not self.note.strip():
            self._note_kept = self.note  # saved as a new path with no note: leave its file be
            return False
        memory.save(self.path, self.note)
        self._note_kept = self.note
        return True

    def _show_note(self, note: str) -> None:
        self.note = note
        self._note_kept = note
        self.view.set_note(note)

    def recover(self) -> autosave.Snapshot | None:
        """Reopen the newest orphaned snapshot (after a crash) as unsaved text in this window.

        The snapshot is adopted, not deleted: until the text is saved, this window's
        autosave keeps it on disk. Older orphans stay listed in `self.recovered`.
        """
        found = autosave.orphans(exclude=self.snapshot_file)
        if not found:
            return None
        snap = found[0]
        self.path = Path(snap.path) if snap.path else None
        self.view.set_text(snap.text)
        self.view.set_modified(True)
        self.view.set_note(snap.memory)
        self.note = snap.memory
        self._note_kept = None  # the recovered note is written to engine.memory next
        autosave.write(self.snapshot_file, snap.text, snap.path, memory=snap.memory)
        self._last_snapshot = (snap.text, snap.memory)
        autosave.discard(snap.file)
        self.recovered = found
        self.refresh_title()
        self.view.show_status(
            f"recovered unsaved text of {snap.title} ({word_count(snap.text)} words) "
            "from the last session"
        )
        return snap
