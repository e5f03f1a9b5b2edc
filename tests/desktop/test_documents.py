"""Documents logic with a stand-in view (mu style), and crash recovery after kill -9."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from desktop import autosave
from desktop.documents import Documents, word_count
from desktop.settings import Settings, load, save
from engine import paths
from engine.errors import KillahError

REPO = Path(__file__).resolve().parents[2]


class StandInView:
    """Just enough of the window for Documents: text, modified flag, answers to questions."""

    def __init__(self, save_path=None, discard=True):
        self._text, self.modified, self.title, self.status = "", False, "", ""
        self.save_path, self.discard, self.asked = save_path, discard, 0

    def text(self): return self._text
    def set_text(self, text): self._text = text
    def is_modified(self): return self.modified
    def set_modified(self, m): self.modified = m
    def set_title(self, t): self.title = t
    def show_status(self, m): self.status = m
    def ask_open_path(self): return None
    def ask_save_path(self, suggested): return self.save_path
    def show_error(self, m): self.status = m
    def confirm_overwrite_readonly(self, name): return False
    def set_note(self, note): self.note = note

    def confirm_discard(self, title):
        self.asked += 1
        return self.discard

    def type(self, text):
        self._text += text
        self.modified = True


def test_word_count_counts_words_not_punctuation():
    assert word_count("It's a truth — universally acknowledged, isn't it?") == 7
    assert word_count("") == 0


def test_save_as_then_open_round_trips_and_records_recent_files(tmp_path):
    view = StandInView(save_path=str(tmp_path / "note"))
    docs = Documents(view, Settings())
    view.type("Первая строка.\nSecond line.")
    assert docs.save()  # untitled: asks for a path, adds .md
    target = tmp_path / "note.md"
    assert target.read_text(encoding="utf-8") == "Первая строка.\nSecond line."
    assert not view.modified and view.title.startswith("note.md")
    assert docs.settings.recent_files[0] == str(target.resolve())
    view2 = StandInView()
    docs2 = Documents(view2, docs.settings)
    assert docs2.open(target)
    assert view2.text() == "Первая строка.\nSecond line."


def test_open_refuses_binary_and_missing_files_with_a_clear_message(tmp_path):
    docs = Documents(StandInView(), Settings())
    (tmp_path / "x.md").write_bytes(b"\x00\x01binary")
    with pytest.raises(KillahError, match="binary"):
        docs.open(tmp_path / "x.md")
    with pytest.raises(KillahError, match="does not exist"):
        docs.open(tmp_path / "nope.md")


def test_autosave_writes_only_changed_text_and_saving_removes_the_snapshot(tmp_path):
    view = StandInView(save_path=str(tmp_path / "a.md"))
    docs = Documents(view, Settings())
    assert not docs.autosave()  # nothing typed
    view.type("hello")
    assert docs.autosave() and not docs.autosave()  # unchanged since the last snapshot
    snap = autosave.read(docs.snapshot_file)
    assert snap.text == "hello" and snap.pid == os.getpid()
    docs.save()
    assert not docs.snapshot_file.exists()


def test_discarding_on_close_asks_and_leaves_no_snapshot():
    view = StandInView(discard=True)
    docs = Documents(view, Settings())
    view.type("scratch")
    docs.autosave()
    assert docs.close() and view.asked == 1
    assert not docs.snapshot_file.exists()


def test_settings_round_trip_and_bad_files_fall_back_with_a_warning():
    s = Settings(temperature=0.3, dictation_language="ru")
    s.add_recent("/tmp/a.md")
    save(s)
    back, warning = load()
    assert back == s and warning == ""
    paths.settings_path().write_text("{not json")
    back, warning = load()
    assert back == Settings() and "unreadable" in warning
    settings = Settings.from_dict({"temperature": "hot", "min_p": 0.1})
    assert settings.temperature == Settings().temperature


def test_typed_text_survives_kill_9_and_comes_back_on_the_next_start(killah_home, tmp_path):
    """The app is killed with SIGKILL after autosaving; the next window recovers the text."""
    script = tmp_path / "typist.py"
    script.write_text(
        "import sys\n"
        "from PySide6.QtWidgets import QApplication\n"
        "from PySide6.QtCore import QTimer\n"
        "app = QApplication(sys.argv)\n"
        "from desktop.session import Session\n"
        "from desktop.settings import Settings\n"
        "from desktop.window import MainWindow\n"
        "w = MainWindow(Session(Settings(autosave_seconds=1, ghost_enabled=False)))\n"
        "w.show()\n"
        "w.editor.setFocus()\n"
        "from PySide6.QtTest import QTest\n"
        "QTest.keyClicks(w.editor, 'Nothing the user typed is lost.')\n"
        "QTimer.singleShot(1500, lambda: print('TYPED', flush=True))\n"
        "app.exec()\n"
    )
    env = dict(os.environ, KILLAH_HOME=str(killah_home), QT_QPA_PLATFORM="offscreen",
               PYTHONPATH=str(REPO))
    proc = subprocess.Popen([sys.executable, str(script)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, cwd=REPO)
    try:
        line = proc.stdout.readline()
        assert line.strip() == "TYPED"
        deadline = time.monotonic() + 30
        snaps = []
        while time.monotonic() < deadline:
            snaps = [autosave.read(f) for f in paths.autosave_dir().glob("session-*.json")]
            if any(s and s.text == "Nothing the user typed is lost." for s in snaps):
                break
            time.sleep(0.2)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert any(s and s.text == "Nothing the user typed is lost." for s in snaps)

    view = StandInView()
    docs = Documents(view, Settings())
    snap = docs.recover()
    assert snap is not None
    assert view.text() == "Nothing the user typed is lost." and view.modified
    assert "recovered" in view.status
    # the recovered text is now this session's snapshot; the dead one is gone
    assert json.loads(docs.snapshot_file.read_text())["text"] == "Nothing the user typed is lost."
    assert not snap.file.exists()
    assert autosave.orphans(exclude=docs.snapshot_file) == []
