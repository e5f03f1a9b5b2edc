"""Corrections after dictation teach the vocabulary: the logic with plain text, then the real
window, real espeak-ng speech and the real listener: misheard, corrected, heard right."""

from __future__ import annotations

import difflib

from PySide6.QtGui import QTextCursor

from desktop.corrections import Corrections
from engine.voice.vocabulary import Vocabulary
from tests.desktop.conftest import TIMEOUT_MS
from tests.desktop.test_dictation import speech

COMMON = frozenset({"we", "camped", "below", "the", "cliffs", "on", "of", "for", "a", "week",
                    "dog", "cat"})


def edit(text: str, c: Corrections, start: int, end: int, new: str) -> str:
    c.changed(start, end - start, len(new))
    return text[:start] + new + text[end:]


def test_a_dictated_word_changed_into_a_name_is_learned_and_a_plain_edit_is_not():
    text = "We camped below the cliffs on Brack for a week."
    c = Corrections(COMMON)
    c.dictated(0, text)
    text = edit(text, c, 0, 0, "So. ")  # typing before it moves the words
    at = text.index("Brack")
    text = edit(text, c, at, at + 5, "B")  # selected and retyped, letter by letter
    for i, ch in enumerate("rannoch"):
        text = edit(text, c, at + 1 + i, at + 1 + i, ch)
    assert c.pending
    assert c.settle(text) == [("Brack", "Brannoch")]
    assert not c.pending
    cat = text.index("week")
    text = edit(text, c, cat, cat + 4, "dog")  # not dictated any more: forgotten
    assert c.settle(text) == []
    c.dictated(len(text), " the cat")
    text += " the cat"
    text = edit(text, c, len(text) - 3, len(text), "dog")  # an everyday word: not a term
    assert c.settle(text) == []


def test_two_misheard_words_corrected_into_one_name():
    text = "She won left the lamp burning."
    c = Corrections(frozenset({"she", "won", "left", "the", "lamp", "burning"}))
    c.dictated(0, text)
    text = edit(text, c, 0, 7, "Siobhan")
    assert c.settle(text) == [("She won", "Siobhan")]


def test_correcting_dictation_in_the_window_teaches_it_for_next_time(qtbot, tiny_window, tmp_path):
    w = tiny_window
    w.session.settings.ghost_enabled = False
    bar = w.dictation
    said = "We camped below the cliffs of Brannoch for a week."
    wav = speech(tmp_path, 0.3, said, 1.0)

    def dictate() -> str:
        assert bar.start(use_microphone=False)
        bar.feed_wav(wav)
        qtbot.waitUntil(lambda: bar.job is None, timeout=TIMEOUT_MS * 3)
        return w.editor.toPlainText()

    heard = dictate()
    assert "Brannoch" not in heard, heard  # the premise: tiny.en does not know the name
    words = heard.rstrip(".").split()
    target = said.rstrip(".").split()
    ops = difflib.SequenceMatcher(None, [x.lower() for x in words],
                                  [x.lower() for x in target]).get_opcodes()
    (i1, i2) = next((a, b) for tag, a, b, j1, j2 in ops if "Brannoch" in target[j1:j2])
    wrong = " ".join(words[i1:i2])
    start = heard.index(wrong)
    c = w.editor.textCursor()
    c.setPosition(start)
    c.setPosition(start + len(wrong), QTextCursor.KeepAnchor)
    w.editor.setTextCursor(c)
    qtbot.keyClicks(w.editor, "Brannoch")
    qtbot.waitUntil(lambda: Vocabulary.load().find("Brannoch") is not None, timeout=TIMEOUT_MS)
    assert Vocabulary.load().find("Brannoch").heard == (wrong,)
    assert "Brannoch" in bar.confirm.text() and bar.forget.isVisible()

    w.editor.setPlainText("")
    assert "Brannoch" in dictate()  # heard right this time

    bar.forget_learned()  # and forgotten again on request
    assert Vocabulary.load().find("Brannoch") is None
