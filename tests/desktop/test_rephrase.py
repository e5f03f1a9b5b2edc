"""The rephrase panel: N candidates from the real generator, ranked by the real WQRM."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QTextCursor

from desktop.candidates import CandidateModel, word_diff
from tests.desktop.conftest import TIMEOUT_MS
from tests.engine.test_style import persona_store  # noqa: F401 (a fixture)

TEXT = "The rain had not stopped for three days. Nobody in the village remembered such weather."


def select_second_sentence(editor):
    start = TEXT.index("Nobody")
    c = editor.textCursor()
    c.setPosition(start)
    c.movePosition(QTextCursor.End, QTextCursor.KeepAnchor)
    editor.setTextCursor(c)
    return start


def test_word_diff_marks_removed_and_added_words():
    diff = word_diff("the cat sat on the mat", "the dog sat on a mat")
    assert ("-", "cat") in diff and ("+", "dog") in diff
    assert ("-", "the") in diff and ("+", "a") in diff
    assert "".join(t for op, t in diff if op != "+") == "the cat sat on the mat"
    assert "".join(t for op, t in diff if op != "-") == "the dog sat on a mat"


def test_ctrl_r_shows_n_ranked_candidates_and_applying_one_is_one_undo_step(qtbot, tiny_window):
    w = tiny_window
    w.session.settings.ghost_enabled = False
    w.editor.setPlainText(TEXT)
    start = select_second_sentence(w.editor)
    w.rephrase.count.setValue(3)
    qtbot.keyClick(w.editor, Qt.Key_R, Qt.ControlModifier)
    panel = w.rephrase
    assert panel.job is not None, panel.status.text()
    qtbot.waitUntil(lambda: panel.job is None, timeout=TIMEOUT_MS)
    model = panel.model
    assert model.rowCount() >= 1, panel.status.text()
    assert model.rowCount() <= 3
    scores = [model.rows[i].score for i in range(model.rowCount())]
    assert scores == sorted(scores, reverse=True)  # best first
    tip = model.index(0, CandidateModel.COL_SCORE).data(Qt.ToolTipRole)
    assert "WQRM score" in tip and ":" in tip
    assert model.index(0, CandidateModel.COL_TEXT).data(CandidateModel.DiffRole)

    chosen = model.rows[0].text
    rect = panel.table.visualRect(model.index(0, CandidateModel.COL_TEXT))
    qtbot.mouseClick(panel.table.viewport(), Qt.LeftButton, pos=rect.center())
    assert w.editor.toPlainText() == TEXT[:start] + chosen
    w.editor.undo()
    assert w.editor.toPlainText() == TEXT


def test_rephrase_refuses_without_a_selection(qtbot, tiny_window):
    w = tiny_window
    w.editor.setPlainText(TEXT)
    assert not w.request_rephrase()
    assert "select some text" in w.rephrase.status.text()


def test_the_panel_offers_every_rewrite_mode_of_the_tasks_module():
    from desktop.rephrase import LABELS
    from engine import tasks

    assert tuple(LABELS) == tasks.REWRITE_MODES


def test_faithfulness_and_style_columns_appear_only_when_candidates_carry_them(qtbot, tiny_window):
    from desktop.candidates import Candidate

    model, table = tiny_window.rephrase.model, tiny_window.rephrase.table
    model.set_candidates(TEXT, [Candidate("A.", 8.0), Candidate("B.", 7.0)])
    assert table.isColumnHidden(CandidateModel.COL_FAITHFUL)
    assert table.isColumnHidden(CandidateModel.COL_STYLE)
    model.set_candidates(TEXT, [
        Candidate("A.", 8.0, faithful=True),
        Candidate("B.", 7.0, faithful=False, unfaithful_because=("lost 3",))])
    assert not table.isColumnHidden(CandidateModel.COL_FAITHFUL)
    assert table.isColumnHidden(CandidateModel.COL_STYLE)
    assert [model.index(r, CandidateModel.COL_FAITHFUL).data() for r in (0, 1)] == ["yes", "no"]
    assert model.index(1, CandidateModel.COL_FAITHFUL).data(Qt.ToolTipRole) == "fails: lost 3"
    model.set_candidates(TEXT, [Candidate("A.", 8.0, style=0.42)])
    assert table.isColumnHidden(CandidateModel.COL_FAITHFUL)
    assert model.index(0, CandidateModel.COL_STYLE).data() == "42%"


def test_the_like_you_column_is_filled_from_the_active_persona(tiny_lm, persona_store):  # noqa: F811
    """With a persona active, each candidate carries its "sounds like you" score (the style
    encoder and stylometry against the persona), the same as the persona panel's meter."""
    from desktop.rephrase import RephraseJob
    from engine.generate import SamplingOptions
    from engine.style import Style

    active = Style(persona="me", strength=0.0, exemplars=0).open(tiny_lm, store=persona_store)
    ok, message, params = RephraseJob.prepare(lm=tiny_lm, text=TEXT, mode="rephrase", n=2,
                                              options=SamplingOptions(max_tokens=12), style=active)
    assert ok, message
    candidates = RephraseJob(params).run()
    assert candidates and all(c.style is not None and 0.0 <= c.style <= 1.0 for c in candidates)
    assert [c.style for c in candidates] == [
        pytest.approx(active.style_similarity(c.text), abs=1e-6) for c in candidates]
    plain = RephraseJob.prepare(lm=tiny_lm, text=TEXT, mode="rephrase", n=1,
                                options=SamplingOptions(max_tokens=12))[2]
    assert all(c.style is None for c in RephraseJob(plain).run())
