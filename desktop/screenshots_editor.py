"""The screenshots of the editor's learning features, taken by desktop.screenshots:
a rewrite under review, the document's memory, Settings › Learning and › Vocabulary.

Everything shown is real: the bundled model's suggestions and rewrites, the choices
made on them recorded by the app itself, a document in ~/Documents of a throw-away HOME.
"""

from __future__ import annotations

import os
from pathlib import Path

NOTE = ("Characters: Mara Voss, keeper of the Stroma light; her brother Tobiah, who fishes "
        "the Pentland Firth.\nSetting: Orkney, the winter of 1893.\nFacts: the lamp has 112 "
        "steps; the supply boat comes on Thursdays.\nTone: spare, cold, no sentiment.")
DOC = ("Mara Voss had not spoken to anyone in three weeks. Each evening she climbed the hundred "
       "and twelve steps, trimmed the wick, and watched the grey water for the supply boat that "
       "never came.\n\nOn the last night of October, a light answered her own from the sea, and")


def document() -> Path:
    """~/Documents/Stroma.md in the throw-away HOME."""
    path = Path(os.environ["HOME"]) / "Documents" / "Stroma.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(DOC, encoding="utf-8")
    return path


def take(app, w, shot, wait) -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QTextCursor
    from PySide6.QtTest import QTest

    from engine.voice.vocabulary import Vocabulary

    Vocabulary().add(["Mara Voss", "Stroma", "Tobiah", "Pentland Firth"]).learn(
        "and ramp", "Brannoch").save()
    w.documents.open(document())
    w.side.setCurrentWidget(w.memory)
    w.memory.note.setPlainText(NOTE)
    w.autosave()

    # ghost text with the memory: one taken with Tab, one typed over
    w.editor.setFocus()
    w.editor.moveCursor(QTextCursor.End)
    w.ghost.start()
    wait(app, lambda: w.ghost.job is None and w.ghost.text != "", 300)
    shot("memory")
    for _ in range(40):  # take it a word at a time, to the end of its first sentence
        if not w.ghost.text:
            break
        QTest.keyClick(w.editor, Qt.Key_Right, Qt.AltModifier)
        if w.editor.toPlainText().rstrip().endswith((".", "!", "?")):
            break
    w.ghost.start()
    wait(app, lambda: w.ghost.job is None and w.ghost.text != "", 300)
    QTest.keyClicks(w.editor, " It was Tobiah's boat, coming in without its lamp.")
    wait(app, lambda: False, 2.5)  # the pause after which the writer's own words are read

    # a rewrite under review, with the rewrite task adapter Killah ships (engine.style's
    # `bundled`): a presentable candidate, one change undone, the next one current
    from engine.style import Style

    w.ghost.cancel()
    w.session.set_style(Style(bundled=True))
    wait(app, lambda: w.session.style_job is None, 300)
    text = w.editor.toPlainText()
    start = text.index("Each evening")
    c = w.editor.textCursor()
    c.setPosition(start)
    c.setPosition(text.index("\n\n"), QTextCursor.KeepAnchor)
    w.editor.setTextCursor(c)
    w.rephrase.count.setValue(4)
    if w.request_rephrase():
        wait(app, lambda: w.rephrase.job is None, 900)
    if w.rephrase.model.rowCount() and w.rephrase.apply(_presentable(w.rephrase.model.rows, text[
            start:text.index("\n\n")])) and w.editor.review is not None:
        if len(w.editor.review.hunks) > 2:
            w.editor.review_action("undo")
        shot("review")
        w.editor.review_action("done")

    # Settings › Learning and › Vocabulary
    w.tabs.setCurrentWidget(w.settings_tabs)
    w.settings_tabs.setCurrentWidget(w.feedback_page)
    w.feedback_page.refresh()
    shot("learning")
    w.settings_tabs.setCurrentWidget(w.vocabulary_page)
    shot("vocabulary")


def _presentable(candidates, original: str) -> int:
    """The candidate to review in the picture: a faithful one first, then one about as long
    as the original with several changes, then the best scored (all of them real output)."""
    from desktop.hunks import hunks_of

    def key(i):
        c = candidates[i]
        ratio = len(c.text) / max(1, len(original))
        faithful = c.faithful is True
        return (faithful, 0.8 <= ratio <= 1.25, len(hunks_of(original, c.text)) >= 2,
                c.score or 0)

    return max(range(len(candidates)), key=key)
