"""Hunk-by-hunk review in the real window (pytest-qt, offscreen): keys, undo steps, what is
drawn, the review bar, and the rephrase panel handing its chosen candidate to the review."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QTextCursor

from desktop.candidates import CandidateModel
from desktop.hunks import KEPT, PENDING, UNDONE
from tests.desktop.conftest import TIMEOUT_MS

TEXT = "The rain had not stopped for three days. Nobody in the village remembered such weather."
SECOND = "Nobody in the village remembered such weather."
REWRITE = "No one in the town could remember weather like it."


def start_review(w):
    w.session.settings.ghost_enabled = False
    w.editor.setPlainText(TEXT)
    start = TEXT.index(SECOND)
    finished = []
    w.editor.review_finished.connect(finished.append)
    review = w.editor.review_rewrite(start, start + len(SECOND), REWRITE,
                                     meta={"kind": "rephrase", "mode": "rephrase"})
    return review, finished


def test_keys_keep_and_undo_hunks_each_one_undo_step_and_the_bar_follows(qtbot, tiny_window):
    w = tiny_window
    review, finished = start_review(w)
    doc = w.editor.document()
    assert w.editor.toPlainText() == TEXT.replace(SECOND, REWRITE)
    assert w.review_bar.isVisible() and "change 1 of" in w.review_bar.label.text()
    n = len(review.hunks)
    assert n >= 2
    # drawn: every open hunk highlighted, the current one's old words struck through just
    # before its new ones (layout positions: the pre-edit text shifts what follows it)
    first = review.hunks[0]
    block = doc.findBlock(first.start)
    at = first.start - block.position()
    assert block.layout().preeditAreaText() == first.old
    marks = w.editor.review_marks()
    assert (block.blockNumber(), "removed", at, len(first.old)) in marks
    assert (block.blockNumber(), "current", at + len(first.old), len(first.new)) in marks
    assert len([m for m in marks if m[1] in ("current", "added")]) == n
    second = review.hunks[1]
    assert (block.blockNumber(), "added", second.start - block.position() + len(first.old),
            len(second.new)) in marks

    qtbot.keyClick(w.editor, Qt.Key_Backspace, Qt.AltModifier)  # undo the first hunk
    assert first.state == UNDONE
    assert w.editor.toPlainText().startswith(TEXT[:TEXT.index(SECOND)] + first.old)
    assert review.current == 1 and "1 undone" in w.review_bar.label.text()
    qtbot.keyClick(w.editor, Qt.Key_Return, Qt.AltModifier)  # keep the second
    assert review.hunks[1].state == KEPT
    qtbot.keyClick(w.editor, Qt.Key_Z, Qt.ControlModifier)  # one decision back
    assert review.hunks[1].state == PENDING
    qtbot.keyClick(w.editor, Qt.Key_Z, Qt.ControlModifier)  # and the one before
    assert first.state == PENDING and w.editor.toPlainText() == TEXT.replace(SECOND, REWRITE)
    qtbot.keyClick(w.editor, Qt.Key_Down, Qt.AltModifier)
    assert review.current == 1
    qtbot.keyClick(w.editor, Qt.Key_Escape)  # done: the open hunks are kept
    assert w.editor.review is None and not w.review_bar.isVisible()
    assert w.editor.review_marks() == [] and block.layout().preeditAreaText() == ""
    (outcome,) = finished
    assert outcome.action == "accepted" and outcome.final == REWRITE
    assert outcome.meta["mode"] == "rephrase"


def test_undo_all_then_done_leaves_the_original_and_plain_undo_works_again(qtbot, tiny_window):
    w = tiny_window
    review, finished = start_review(w)
    w.review_bar.buttons["undo_all"].click()
    assert w.editor.toPlainText() == TEXT and all(h.state == UNDONE for h in review.hunks)
    assert "every change decided" in w.review_bar.label.text()
    w.review_bar.buttons["done"].click()
    assert finished[0].action == "rejected" and finished[0].final == SECOND
    w.editor.undo()  # no review: the document's own undo (the undone hunks come back)
    assert w.editor.toPlainText() == TEXT.replace(SECOND, REWRITE)


def test_typing_in_a_hunk_makes_it_the_writers_own(qtbot, tiny_window):
    w = tiny_window
    review, finished = start_review(w)
    first = review.hunks[0]
    c = w.editor.textCursor()
    c.setPosition(first.start + 2)
    w.editor.setTextCursor(c)
    qtbot.keyClicks(w.editor, "XY")
    assert first.state == "edited" and w.editor.review is review
    review.keep_all()
    review.finish()
    assert finished[0].action == "edited" and "XY" in finished[0].final


def test_a_clicked_candidate_is_reviewed_and_another_click_replaces_it(qtbot, tiny_window):
    w = tiny_window
    w.session.settings.ghost_enabled = False
    w.editor.setPlainText(TEXT)
    start = TEXT.index(SECOND)
    c = w.editor.textCursor()
    c.setPosition(start)
    c.movePosition(QTextCursor.End, QTextCursor.KeepAnchor)
    w.editor.setTextCursor(c)
    w.rephrase.count.setValue(2)
    assert w.request_rephrase()
    panel = w.rephrase
    qtbot.waitUntil(lambda: panel.job is None, timeout=TIMEOUT_MS)
    rows = panel.model.rows
    assert len(rows) >= 1, panel.status.text()
    finished = []
    w.editor.review_finished.connect(finished.append)
    rect = panel.table.visualRect(panel.model.index(0, CandidateModel.COL_TEXT))
    qtbot.mouseClick(panel.table.viewport(), Qt.LeftButton, pos=rect.center())
    assert w.editor.toPlainText() == TEXT[:start] + rows[0].text
    if rows[0].text != SECOND:
        assert w.editor.review is not None and "Alt+Enter keeps" in panel.status.text()
    if len(rows) > 1:
        assert panel.apply(1)  # the first candidate goes, the second is under review
        assert w.editor.toPlainText() == TEXT[:start] + rows[1].text
        assert finished and finished[0].action == "rejected"
        assert finished[0].meta["alternatives"] == [r.text for r in rows[1:]]
