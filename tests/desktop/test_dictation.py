"""Dictation from a real espeak-ng recording through the real listener, into the real editor."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

from desktop.voice_edit import VoiceEditor, deletion_range, join_dictation, spans, target_range
from tests.desktop.conftest import TIMEOUT_MS

SAMPLE_RATE = 16_000


def speech(tmp_path, *parts) -> str:
    """A 16 kHz WAV of the spoken `parts` (str) separated by silences (float seconds)."""
    import soundfile as sf

    from engine.voice.audio import read_audio

    if shutil.which("espeak-ng") is None:
        pytest.fail("espeak-ng is missing: run scripts/install.sh")
    pieces = []
    for i, part in enumerate(parts):
        if isinstance(part, str):
            raw = tmp_path / f"part{i}.wav"
            subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(raw), part],
                           check=True, capture_output=True)
            pieces.append(read_audio(raw))
        else:
            pieces.append(np.zeros(int(part * SAMPLE_RATE), np.float32))
    out = tmp_path / "dictation.wav"
    sf.write(str(out), np.concatenate(pieces), SAMPLE_RATE, subtype="PCM_16")
    return str(out)


TEXT = "First one here. Second is longer, with a comma! Third?\n\nNew paragraph now."


def test_sentence_and_paragraph_spans():
    sentences = [TEXT[s:e] for s, e in spans(TEXT, "sentence")]
    assert sentences == ["First one here.", "Second is longer, with a comma!", "Third?",
                         "New paragraph now."]
    paragraphs = [TEXT[s:e] for s, e in spans(TEXT, "paragraph")]
    assert paragraphs == ["First one here. Second is longer, with a comma! Third?",
                          "New paragraph now."]


def test_target_ranges_follow_the_cursor():
    end = (len(TEXT), len(TEXT))
    s, e = target_range(TEXT, end, {"unit": "sentence", "which": "last"})
    assert TEXT[s:e] == "New paragraph now."
    s, e = target_range(TEXT, end, {"unit": "word", "which": "last", "count": 2})
    assert TEXT[s:e] == "paragraph now"
    s, e = target_range(TEXT, (0, 0), {"unit": "sentence", "which": "nth", "index": 2})
    assert TEXT[s:e] == "Second is longer, with a comma!"
    assert target_range("", (0, 0), {"unit": "word", "which": "last"}) is None
    assert deletion_range("a b c", 2, 3) == (2, 4)


def test_dictation_joins_with_spaces_and_capitals():
    assert join_dictation("Hello.", "there we go") == " There we go"
    assert join_dictation("Hello", ", friend") == ", friend"
    assert join_dictation("", "start") == "Start"


class View:
    def __init__(self, text):
        self._text, self.sel, self.undos = text, (len(text), len(text)), []

    def text(self): return self._text
    def cursor(self): return self.sel

    def replace_range(self, s, e, t):
        self.undos.append(self._text)
        self._text = self._text[:s] + t + self._text[e:]
        self.sel = (s + len(t), s + len(t))

    def select_range(self, s, e): self.sel = (s, e)
    def undo(self): self._text = self.undos.pop()
    def redo(self): pass


def test_voice_editor_commands_on_a_stand_in_view():
    v = View(TEXT)
    ed = VoiceEditor(v)
    done = ed.execute("delete", {"unit": "sentence", "which": "last"})
    assert done == "deleted the last sentence"
    assert v.text() == "First one here. Second is longer, with a comma! Third?\n\n"
    assert len(v.undos) == 1  # one edit, so one undo step
    ed.execute("undo", {})
    assert v.text() == TEXT
    v.sel = (len(TEXT), len(TEXT))
    ed.execute("capitalize", {"unit": "word", "which": "last"})
    assert v.text().endswith("New paragraph Now.")
    assert ed.execute("delete", {"unit": "selection"}) == "nothing is selected"


def test_spoken_dictation_inserts_text_and_delete_the_last_sentence_removes_it(
        qtbot, tiny_window, tmp_path):
    w = tiny_window
    w.session.settings.ghost_enabled = False
    bar = w.dictation
    wav = speech(tmp_path, 0.3, "The rain had stopped by the time we reached the harbor.", 1.0,
                 "She walked slowly along the quiet road.", 1.0, "delete the last sentence", 1.0)
    assert bar.start(use_microphone=False)
    bar.feed_wav(wav)
    qtbot.waitUntil(lambda: bar.job is None, timeout=TIMEOUT_MS * 3)
    text = w.editor.toPlainText().lower()
    print(bar.log)
    assert [e["type"] for e in bar.log] == ["dictation", "dictation", "command"], bar.log
    assert bar.log[2]["name"] == "delete"
    assert bar.log[2]["args"] == {"unit": "sentence", "which": "last"}
    assert "rain had stopped" in text, text
    assert "road" not in text and "delete" not in text, text  # executed, not typed
    assert "deleted the last sentence" in bar.confirm.text()
    # each voice edit is one undo step: undo brings the sentence back, a second undo removes it
    w.editor.undo()
    assert "road" in w.editor.toPlainText().lower()
    w.editor.undo()
    assert "road" not in w.editor.toPlainText().lower() and "rain" in w.editor.toPlainText().lower()
