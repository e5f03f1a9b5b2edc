"""The editor on the real bundled Gemma 3 270M: a pause brings a readable English continuation."""

from __future__ import annotations

import re

import pytest
from PySide6.QtCore import Qt

from tests.desktop.conftest import TIMEOUT_MS

pytestmark = pytest.mark.real_model

PROMPT = "It was a cold morning in November, and the"


def test_real_model_ghost_continues_in_english_and_tab_takes_it(qtbot, real_window):
    w = real_window
    qtbot.keyClicks(w.editor, PROMPT)
    qtbot.waitUntil(lambda: w.editor.ghost_text() != "", timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: w.ghost.job is None, timeout=TIMEOUT_MS)
    ghost = w.ghost.text
    words = re.findall(r"[A-Za-z]+", ghost)
    assert len(words) >= 3, ghost  # a base LM continues prose, not noise
    assert w.editor.toPlainText() == PROMPT
    qtbot.keyClick(w.editor, Qt.Key_Tab)
    assert w.editor.toPlainText() == PROMPT + ghost
