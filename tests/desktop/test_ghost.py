"""Ghost-text continuation in the real editor on the real generator (tiny model)."""

from __future__ import annotations

import time

from PySide6.QtCore import QElapsedTimer, Qt, QTimer

from tests.desktop.conftest import TIMEOUT_MS, type_text

PROMPT = "It is a truth universally acknowledged"


def type_and_wait_for_ghost(qtbot, window, text=PROMPT):
    qtbot.keyClicks(window.editor, text)
    qtbot.waitUntil(lambda: window.editor.ghost_text() != "", timeout=TIMEOUT_MS)
    return window.editor.ghost_text()


def wait_idle(qtbot, window):
    qtbot.waitUntil(lambda: window.ghost.job is None, timeout=TIMEOUT_MS)


def test_pause_shows_grey_ghost_after_cursor_outside_the_document(qtbot, tiny_window):
    w = tiny_window
    ghost = type_and_wait_for_ghost(qtbot, w)
    wait_idle(qtbot, w)
    assert w.editor.toPlainText() == PROMPT  # the ghost is drawn, not written
    layout = w.editor.textCursor().block().layout()
    assert layout.preeditAreaText().replace("\u2028", "\n") == w.ghost.text
    assert layout.preeditAreaPosition() == len(PROMPT)
    assert w.ghost.text.startswith(ghost)
    # the undo history holds the typing only: undoing it all walks back through prefixes of
    # the prompt to an empty document, and no step ever held the ghost's text
    doc, seen = w.editor.document(), []
    while doc.isUndoAvailable():
        doc.undo()
        seen.append(doc.toPlainText())
    assert seen and seen[-1] == "" and all(PROMPT.startswith(t) for t in seen)


def test_tab_accepts_the_whole_ghost_as_one_undo_step(qtbot, tiny_window):
    w = tiny_window
    type_and_wait_for_ghost(qtbot, w)
    wait_idle(qtbot, w)
    ghost = w.ghost.text
    qtbot.keyClick(w.editor, Qt.Key_Tab)
    assert w.editor.toPlainText() == PROMPT + ghost
    assert w.editor.ghost_text() == ""
    w.editor.undo()
    assert w.editor.toPlainText() == PROMPT


def test_alt_right_accepts_one_word(qtbot, tiny_window):
    w = tiny_window
    type_and_wait_for_ghost(qtbot, w)
    wait_idle(qtbot, w)
    ghost = w.ghost.text
    import re

    word = re.match(r"\s*\S+", ghost).group(0)
    qtbot.keyClick(w.editor, Qt.Key_Right, Qt.AltModifier)
    assert w.editor.toPlainText() == PROMPT + word
    assert w.ghost.text == ghost[len(word):]


def test_escape_dismisses(qtbot, tiny_window):
    w = tiny_window
    type_and_wait_for_ghost(qtbot, w)
    qtbot.keyClick(w.editor, Qt.Key_Escape)
    assert w.editor.ghost_text() == "" and w.ghost.text == ""
    assert w.editor.toPlainText() == PROMPT


def test_typing_the_ghost_consumes_it(qtbot, tiny_window):
    w = tiny_window
    type_and_wait_for_ghost(qtbot, w)
    wait_idle(qtbot, w)
    ghost = w.ghost.text
    first = ghost[0]
    type_text(w.editor, first)
    assert w.editor.toPlainText() == PROMPT + first
    assert w.ghost.text == ghost[1:]
    assert w.editor.ghost_text() == ghost[1:]


def test_typing_something_else_cancels_generation_at_once(qtbot, tiny_window):
    """A keystroke that does not match stops the worker; no chunk of the old generation appears."""
    w = tiny_window
    w.session.settings.ghost_max_tokens = 1500  # still running (the tiny model reads 2,048)
    qtbot.keyClicks(w.editor, PROMPT)
    qtbot.waitUntil(lambda: w.editor.ghost_text() != "", timeout=TIMEOUT_MS)
    job = w.ghost.job
    assert job is not None and job.state == "running"
    other = "Q" if not w.ghost.text.startswith("Q") else "Z"
    qtbot.keyClicks(w.editor, other)
    assert job.is_cancelled
    assert w.editor.ghost_text() == ""
    w.session.settings.ghost_enabled = False  # no new suggestion: watch only the old one
    w.ghost.timer.stop()
    qtbot.waitUntil(lambda: job.state == "cancelled", timeout=TIMEOUT_MS)
    qtbot.wait(200)  # let any queued chunk of the cancelled job arrive
    assert w.editor.ghost_text() == "" and w.ghost.text == ""
    assert w.editor.toPlainText() == PROMPT + other


def test_tab_in_leading_whitespace_still_indents(qtbot, tiny_window):
    w = tiny_window
    w.editor.setPlainText("    indented line")
    c = w.editor.textCursor()
    c.setPosition(2)
    w.editor.setTextCursor(c)
    w.ghost.text = "would be accepted"  # even with a ghost showing, Tab here indents
    w.editor.show_ghost(w.ghost.text)
    qtbot.keyClick(w.editor, Qt.Key_Tab)
    assert w.editor.toPlainText() == "  \t  indented line"
    assert "would be accepted" not in w.editor.toPlainText()


def test_event_loop_stays_responsive_during_generation(qtbot, tiny_window):
    """The UI thread keeps ticking while the model generates a long continuation on its worker."""
    w = tiny_window
    w.session.settings.ghost_max_tokens = 400
    gaps: list[int] = []
    clock = QElapsedTimer()
    clock.start()
    last = [clock.elapsed()]

    def tick():
        now = clock.elapsed()
        gaps.append(now - last[0])
        last[0] = now

    timer = QTimer()
    timer.timeout.connect(tick)
    timer.start(10)
    qtbot.keyClicks(w.editor, PROMPT)
    qtbot.waitUntil(lambda: w.ghost.job is not None, timeout=TIMEOUT_MS)
    job = w.ghost.job
    t0 = time.monotonic()
    qtbot.waitUntil(lambda: job.state in ("done", "cancelled", "failed"), timeout=TIMEOUT_MS)
    generation_s = time.monotonic() - t0
    timer.stop()
    assert job.state == "done"
    assert len(gaps) > 10
    worst = max(gaps)
    # A blocked event loop would show one gap as long as the whole generation.
    assert worst < max(500, generation_s * 1000 / 4), (worst, generation_s)
