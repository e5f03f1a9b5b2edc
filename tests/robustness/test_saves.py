"""Saving keeps what it should (mode, hard links, symlinks, read-only intent) and a failed save
never loses typed text: the Documents logic with a stand-in view, and the real window."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from desktop import autosave
from desktop.documents import Documents
from desktop.settings import Settings
from engine import atomic
from engine.errors import KillahError
from tests.robustness.readonly import read_only_folder

REPO = Path(__file__).resolve().parents[2]


class View:
    """Just enough of the window for Documents, with scripted answers."""

    def __init__(self, save_path=None, discard=False, overwrite_readonly=False):
        self._text, self.modified, self.title, self.status = "", False, "", ""
        self.save_path, self.discard, self.overwrite = save_path, discard, overwrite_readonly
        self.errors: list[str] = []
        self.asked_readonly = 0

    def text(self): return self._text
    def set_text(self, text): self._text = text
    def is_modified(self): return self.modified
    def set_modified(self, m): self.modified = m
    def set_title(self, t): self.title = t
    def show_status(self, m): self.status = m
    def show_error(self, m): self.errors.append(m)
    def ask_open_path(self): return None
    def ask_save_path(self, suggested): return self.save_path
    def confirm_discard(self, title): return self.discard
    def set_note(self, note): self.note = note

    def confirm_overwrite_readonly(self, name):
        self.asked_readonly += 1
        return self.overwrite

    def type(self, text):
        self._text += text
        self.modified = True


def _opened(path: Path, **answers) -> tuple[Documents, View]:
    view = View(**answers)
    docs = Documents(view, Settings())
    assert docs.open(path)
    view.type(" and more")
    return docs, view


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_saving_keeps_the_files_mode(tmp_path, umask_022):
    doc = tmp_path / "shared.md"
    doc.write_text("draft")
    doc.chmod(0o664)
    docs, _ = _opened(doc)
    assert docs.save()
    assert doc.read_text() == "draft and more"
    assert stat.S_IMODE(doc.stat().st_mode) == 0o664  # the temp file was 0600 before the fix


def test_a_new_file_gets_the_umask_mode(tmp_path, umask_022):
    atomic.write_text(tmp_path / "new.md", "x")
    assert stat.S_IMODE((tmp_path / "new.md").stat().st_mode) == 0o644


def test_saving_a_hard_linked_file_writes_every_link(tmp_path):
    (tmp_path / "docs").mkdir()
    tmp_path = tmp_path / "docs"
    doc = tmp_path / "a.md"
    doc.write_text("draft")
    os.link(doc, tmp_path / "b.md")
    inode = doc.stat().st_ino
    docs, _ = _opened(doc)
    assert docs.save()
    assert (tmp_path / "b.md").read_text() == "draft and more"
    assert doc.stat().st_ino == inode and doc.stat().st_nlink == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.md", "b.md"]  # no backup left


def test_a_read_only_file_is_not_overwritten_unless_the_user_says_so(tmp_path):
    doc = tmp_path / "frozen.md"
    doc.write_text("keep me")
    doc.chmod(0o444)
    with pytest.raises(atomic.ReadOnlyFile, match=r"frozen.md is read-only \(mode 0444\)"):
        atomic.write_text(doc, "overwritten")
    docs, view = _opened(doc, overwrite_readonly=False)
    assert docs.save() is False
    assert view.asked_readonly == 1 and doc.read_text() == "keep me" and view.modified
    assert "read-only" in view.status
    view.overwrite = True
    assert docs.save()
    assert doc.read_text() == "keep me and more"
    assert stat.S_IMODE(doc.stat().st_mode) == 0o444  # still read-only


def test_save_as_onto_a_symlink_writes_its_target_and_keeps_the_link(tmp_path):
    real = tmp_path / "real" / "novel.md"
    real.parent.mkdir()
    real.write_text("chapter one")
    link = tmp_path / "novel-link.md"
    link.symlink_to(real)
    view = View(save_path=str(link))
    docs = Documents(view, Settings())
    view.type("new text")
    assert docs.save_as()
    assert link.is_symlink() and real.read_text() == "new text"
    assert docs.path == link
    view.type(", again")
    assert docs.save()
    assert link.is_symlink() and real.read_text() == "new text, again"


def test_saving_into_a_read_only_folder_keeps_the_text_and_says_where(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    doc = folder / "essay.md"
    doc.write_text("first words")
    docs, view = _opened(doc, discard=False)  # on close the user answers "Save"
    with read_only_folder(folder):
        with pytest.raises(KillahError, match="cannot save"):
            docs.save()
        assert docs.close() is False  # the window stays open
    assert view.modified and view.text() == "first words and more"
    assert doc.read_text() == "first words"
    snap = autosave.read(docs.snapshot_file)
    assert snap is not None and snap.text == "first words and more"
    assert str(docs.snapshot_file) in view.errors[-1] and "Save As" in view.errors[-1]


def test_the_window_never_closes_over_text_it_could_not_save(qtbot, tmp_path, monkeypatch):
    """Regression (issue 17.4): Save on close raised out of closeEvent and the window closed."""
    from PySide6.QtWidgets import QMessageBox

    from desktop.session import Session
    from desktop.window import MainWindow

    folder = tmp_path / "docs"
    folder.mkdir()
    doc = folder / "essay.md"
    doc.write_text("first words")
    window = MainWindow(Session(Settings(model="none")), recover=False)
    qtbot.addWidget(window)
    window.show()
    assert window.documents.open(doc)
    window.editor.moveCursor(window.editor.textCursor().MoveOperation.End)
    qtbot.keyClicks(window.editor, " typed on")
    answers = iter([QMessageBox.Save, QMessageBox.Discard])
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: next(answers))
    with read_only_folder(folder):
        window.close()
        assert window.isVisible(), "the window closed over unsaved text"
        assert window.editor.toPlainText() == "first words typed on"
        box = window.findChild(QMessageBox, "error-message")
        assert box is not None and "cannot save" in box.text()
        snap = autosave.read(window.documents.snapshot_file)
        assert snap is not None and snap.text == "first words typed on"
        window.close()  # the user now chooses Discard
        assert not window.isVisible()
    assert doc.read_text() == "first words"


def test_app_with_a_missing_file_does_not_block_on_a_dialog(tmp_path, tiny_model_dir):
    """Regression (issue 17.9): `killah app missing.md --smoke` waited on a modal dialog."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "QT_QPA_PLATFORM": "offscreen",
           "KILLAH_HOME": str(tmp_path / "home")}
    proc = subprocess.run(
        [sys.executable, "-m", "desktop.cli", "app", str(tmp_path / "missing.md"), "--smoke",
         "--model", str(tiny_model_dir), "--smoke-timeout", "120"],
        env=env, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr
    assert "model ready" in proc.stderr
    assert not (tmp_path / "missing.md").exists()  # created on save, not on open
