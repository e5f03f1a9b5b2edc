"""The local feedback loop in the real window (tiny model): ghost text taken, turned down and
typed over, a reviewed rewrite, the Learning page that lists and deletes it, and the opt-out."""

from __future__ import annotations

from PySide6.QtCore import Qt

from desktop.feedback_panel import FeedbackModel, summary_text
from engine.feedback import Event, FeedbackStore
from tests.desktop.conftest import TIMEOUT_MS

PROMPT = "It is a truth universally acknowledged"


def ghost_ready(qtbot, w, text):
    qtbot.keyClicks(w.editor, text)
    qtbot.waitUntil(lambda: w.editor.ghost_text() != "", timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: w.ghost.job is None, timeout=TIMEOUT_MS)
    return w.ghost.text


def events(kind=None):
    with FeedbackStore() as store:
        return store.events(kind)


def test_ghost_text_taken_turned_down_and_typed_over_is_recorded(qtbot, tiny_window):
    w = tiny_window
    taken = ghost_ready(qtbot, w, PROMPT)
    qtbot.keyClick(w.editor, Qt.Key_Tab)
    (e,) = events("ghost")
    assert (e.action, e.suggestion, e.source) == ("accepted", taken, PROMPT)

    shown = ghost_ready(qtbot, w, ". ")
    qtbot.keyClick(w.editor, Qt.Key_Escape)
    e = events("ghost")[0]
    assert (e.action, e.suggestion, e.final) == ("rejected", shown, "")

    w.editor.setPlainText("")
    typed_over = ghost_ready(qtbot, w, "The keeper climbed")
    own = " the stairs to the lamp"
    assert not typed_over.startswith(own[:2])
    qtbot.keyClicks(w.editor, own)  # the writer's own words instead
    w.feedback.own_timer.setInterval(50)
    qtbot.waitUntil(lambda: len(events("ghost")) == 3, timeout=TIMEOUT_MS)
    e = events("ghost")[0]
    assert (e.action, e.suggestion, e.source) == ("rejected", typed_over, "The keeper climbed")
    assert e.final == own
    pair = FeedbackStore().pairs([e])[0]
    assert (pair.chosen, pair.rejected) == (own, typed_over)


def test_a_reviewed_rewrite_is_recorded_with_its_hunks_and_the_page_deletes_it(qtbot, tiny_window):
    w = tiny_window
    w.session.settings.ghost_enabled = False
    text = "Nobody in the village remembered such weather."
    w.editor.setPlainText(text)
    review = w.editor.review_rewrite(0, len(text), "No one in the town could remember weather "
                                     "like it.", meta={"kind": "voice", "mode": "casual",
                                                       "alternatives": ["Odd weather, that."]})
    qtbot.keyClick(w.editor, Qt.Key_Backspace, Qt.AltModifier)
    qtbot.keyClick(w.editor, Qt.Key_Escape)
    (rewrite,) = events("voice")
    assert rewrite.action == "edited" and rewrite.mode == "casual"
    assert rewrite.final == w.editor.toPlainText()
    hunks = events("hunk")
    assert len(hunks) == len(review.hunks)
    assert sorted(h.action for h in hunks) == sorted(
        ["rejected"] + ["accepted"] * (len(review.hunks) - 1))

    page = w.feedback_page
    page.refresh()
    assert page.model.rowCount() == 1 + len(hunks)
    assert "voice rewrite: 1 edited" in page.summary.text()
    assert page.model.index(0, FeedbackModel.COL_WHERE).data() in ("voice rewrite (casual)",
                                                                    "reviewed change (casual)")
    page.table.selectRow(0)
    assert page.delete_selection() == 1 and page.model.rowCount() == len(hunks)
    assert page.delete_all() == len(hunks) and page.model.rowCount() == 0
    assert page.summary.text() == "Nothing recorded yet."


def test_with_learning_off_nothing_is_recorded(qtbot, tiny_window):
    w = tiny_window
    w.feedback_page.enabled.setChecked(False)
    assert w.session.settings.feedback_enabled is False
    ghost_ready(qtbot, w, PROMPT)
    qtbot.keyClick(w.editor, Qt.Key_Tab)
    assert events() == []


def test_the_model_and_summary_without_a_window():
    m = FeedbackModel()
    m.set_events([Event("ghost", "rejected", "continue", "ctx", "a suggestion here",
                        final="my own words", at=0.0)])
    assert m.rowCount() == 1 and m.columnCount() == 5
    assert m.index(0, FeedbackModel.COL_KEPT).data() == "my own words"
    assert m.index(0, FeedbackModel.COL_WHERE).data() == "ghost text"
    text = summary_text({"ghost": {"accepted": 2, "rejected": 1, "edited": 0}}, 1)
    assert text.startswith("ghost text: 2 accepted, 1 rejected") and "at least 40" in text


def test_own_words_are_read_from_where_the_suggestion_began(qtbot):
    """Regression: a suggestion starting with a space, typed over after that space, lost the
    writer's own words (the anchor had moved past the space)."""
    from desktop.feedback_recorder import FeedbackRecorder
    from desktop.settings import Settings

    text = "The keeper climbed the stairs."
    rec = FeedbackRecorder(Settings(), lambda: text, lambda: len(text))
    rec.ghost_decided("overridden", " and slept.", " ", "The keeper climbed", 19)
    rec.flush()
    (e,) = events("ghost")
    assert (e.action, e.final, e.suggestion) == ("rejected", " the stairs.", " and slept.")
    rec.close()
