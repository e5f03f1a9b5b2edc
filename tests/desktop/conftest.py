"""Fixtures for the desktop tests: a real window on a real (tiny or bundled) model, offscreen.

Every fixture tears down by closing the window, which cancels the jobs and joins
the worker threads.
"""

from __future__ import annotations

import pytest

TIMEOUT_MS = 60_000  # one shared waitUntil timeout (2 shared CPU cores on CI)


def make_window(qtbot, model: str, **settings):
    from desktop.session import Session
    from desktop.settings import Settings
    from desktop.window import MainWindow

    s = Settings(model=model, **settings)
    session = Session(s)
    window = MainWindow(session)
    qtbot.addWidget(window, before_close_func=lambda w: w.editor.document().setModified(False))
    window.show()
    qtbot.waitExposed(window)
    session.load_model()
    qtbot.waitUntil(lambda: session.lm is not None, timeout=TIMEOUT_MS)
    return window


def close(window) -> None:
    window.editor.document().setModified(False)  # no "save changes?" question in teardown
    window.close()


@pytest.fixture
def tiny_window(qtbot, tiny_lm, tiny_model_dir):
    """The main window on the tiny random-weight model, fast suggestions, greedy decoding."""
    window = make_window(qtbot, str(tiny_model_dir), ghost_pause_ms=50, temperature=0.0,
                         ghost_max_tokens=12, repetition_penalty=1.0)
    yield window
    close(window)


@pytest.fixture
def real_window(qtbot, real_lm):
    window = make_window(qtbot, "default", ghost_pause_ms=50, ghost_max_tokens=16)
    yield window
    close(window)


def type_text(widget, text: str) -> None:
    """Type any Unicode text as key events (QTest's keyClicks only knows ASCII keys)."""
    from PySide6.QtCore import QEvent, Qt
    from PySide6.QtGui import QKeyEvent
    from PySide6.QtWidgets import QApplication

    for ch in text:
        for kind in (QEvent.KeyPress, QEvent.KeyRelease):
            QApplication.sendEvent(widget, QKeyEvent(kind, Qt.Key_unknown, Qt.NoModifier, ch))
