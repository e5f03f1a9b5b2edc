"""The text widget: a QPlainTextEdit that draws ghost text and rewrites under review, and
routes keys to the logic.

The ghost is drawn as the block layout's pre-edit area (the mechanism input
methods use for text being composed), so it wraps and pushes the following text
like real text, yet is never part of the document, the undo stack or autosave.
A rewrite under review (desktop.hunks.Review) is in the document; its open hunks
are highlighted, and the current one shows the words it replaced, struck through,
in the same pre-edit area.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QKeyEvent,
    QKeySequence,
    QTextBlock,
    QTextCharFormat,
    QTextCursor,
    QTextLayout,
)
from PySide6.QtWidgets import QPlainTextEdit

from desktop.hunks import PENDING, Outcome, Review
from engine.text import plain_lines

LINE_SEPARATOR = "\u2028"  # QTextLayout breaks lines here; "\n" would draw as a box
ADDED = QColor(46, 204, 113, 70)  # an open hunk's new words
CURRENT = QColor(46, 204, 113, 150)  # the hunk the keys act on
REMOVED = QColor("#c0392b")  # the words it replaced, struck through
# Keys while a rewrite is under review (the review bar shows them too).
REVIEW_KEYS = {
    (Qt.Key_Down, Qt.AltModifier): "next", (Qt.Key_F8, Qt.NoModifier): "next",
    (Qt.Key_Up, Qt.AltModifier): "previous", (Qt.Key_F8, Qt.ShiftModifier): "previous",
    (Qt.Key_Return, Qt.AltModifier): "keep", (Qt.Key_Enter, Qt.AltModifier): "keep",
    (Qt.Key_Backspace, Qt.AltModifier): "undo",
    (Qt.Key_Return, Qt.AltModifier | Qt.ShiftModifier): "keep_all",
    (Qt.Key_Enter, Qt.AltModifier | Qt.ShiftModifier): "keep_all",
    (Qt.Key_Backspace, Qt.AltModifier | Qt.ShiftModifier): "undo_all",
    (Qt.Key_Escape, Qt.NoModifier): "done",
}


class TextEditor(QPlainTextEdit):
    """The editor widget; `ghost` (a desktop.ghost.Ghost) is attached after construction."""

    ghost_accepted = Signal()
    review_changed = Signal()  # a review started, moved on, or ended (self.review)
    review_finished = Signal(object)  # desktop.hunks.Outcome

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.ghost = None
        self.review: Review | None = None
        self._review_blocks: list[QTextBlock] = []  # blocks whose layouts draw the review
        self._ghost_block: QTextBlock | None = None
        self._ghost_shown = ""
        self._consuming = False
        font = QFont()
        font.setPointSize(13)
        self.setFont(font)
        self.setTabStopDistance(4 * self.fontMetrics().horizontalAdvance(" "))
        self.document().setDocumentMargin(16)
        self.document().contentsChange.connect(self._on_contents_change)
        self.cursorPositionChanged.connect(self._on_cursor_moved)
        self.document().setModified(False)  # setDocumentMargin marks the document modified

    # -- the GhostView side --------------------------------------------------
    def text_before_cursor(self, max_chars: int) -> str:
        pos = self.textCursor().position()
        c = QTextCursor(self.document())
        c.setPosition(max(0, pos - max_chars))
        c.setPosition(pos, QTextCursor.KeepAnchor)
        return c.selectedText().replace("\u2029", "\n")

    def char_after_cursor(self) -> str:
        pos = self.textCursor().position()
        if pos < self.document().characterCount() - 1:
            return self.document().characterAt(pos)
        return ""

    def cursor_position(self) -> int:
        return self.textCursor().position()

    def has_selection(self) -> bool:
        # A rewrite under review holds its text like a selection: no ghost text over it.
        return self.textCursor().hasSelection() or self.review is not None

    def show_ghost(self, text: str) -> None:
        self.clear_ghost()
        cursor = self.textCursor()
        block = cursor.block()
        layout = block.layout()
        shown = text.replace("\n", LINE_SEPARATOR)
        at = cursor.positionInBlock()
        layout.setPreeditArea(at, shown)
        fmt = QTextCharFormat()
        fmt.setForeground(self.palette().placeholderText())
        fr = QTextLayout.FormatRange()
        fr.start, fr.length, fr.format = at, len(shown), fmt
        layout.setFormats([fr])
        self._ghost_block, self._ghost_shown = block, text
        self.document().markContentsDirty(block.position(), block.length())
        self.viewport().update()

    def clear_ghost(self) -> None:
        block, self._ghost_block, self._ghost_shown = self._ghost_block, None, ""
        if block is not None and block.isValid():
            layout = block.layout()
            layout.setPreeditArea(-1, "")
            layout.clearFormats()
            self.document().markContentsDirty(block.position(), block.length())
            self.viewport().update()

    def ghost_text(self) -> str:
        """What is drawn now (for tests and screenshots)."""
        return self._ghost_shown

    def insert_text(self, text: str) -> None:
        text = plain_lines(text)
        cursor = self.textCursor()
        cursor.beginEditBlock()
        cursor.insertText(text)
        cursor.endEditBlock()
        self.setTextCursor(cursor)

    # -- keys -----------------------------------------------------------------
    def _in_leading_whitespace(self) -> bool:
        cursor = self.textCursor()
        before = cursor.block().text()[: cursor.positionInBlock()]
        return before.strip() == "" and (
            before != "" or cursor.block().text().startswith((" ", "\t")))

    def keyPressEvent(self, e: QKeyEvent) -> None:  # noqa: N802 - Qt API
        if self.review is not None and self._review_key(e):
            return
        ghost = self.ghost
        if ghost is None:
            return super().keyPressEvent(e)
        key, mods = e.key(), e.modifiers()
        if key == Qt.Key_Tab and not (mods & ~Qt.KeypadModifier):
            if ghost.text and not self._in_leading_whitespace():
                ghost.accept_all()
                self.ghost_accepted.emit()
                return
            ghost.cancel()
            return super().keyPressEvent(e)
        if key == Qt.Key_Right and mods & Qt.AltModifier and ghost.text:
            ghost.accept_word()
            return
        if key == Qt.Key_Escape:
            if ghost.dismiss():
                return
            return super().keyPressEvent(e)
        text = e.text()
        if text and text.isprintable() and not (mods & (Qt.ControlModifier | Qt.MetaModifier)):
            if ghost.typed(text):
                self._consuming = True
                try:
                    super().keyPressEvent(e)
                finally:
                    self._consuming = False
                ghost.after_consume()
                return
        super().keyPressEvent(e)

    def _on_contents_change(self, position: int, removed: int, added: int) -> None:
        if self.review is not None:
            self.review.text_changed(position, removed, added)
            return
        if self.ghost is None or self._consuming or self.ghost.inserting:
            return
        if removed or added:
            self.ghost.user_edited()

    def _on_cursor_moved(self) -> None:
        if self.ghost is not None and not self._consuming:
            self.ghost.cursor_moved(self.textCursor().position())

    # -- document helpers -----------------------------------------------------
    def selection_range(self) -> tuple[int, int, str]:
        c = self.textCursor()
        return c.selectionStart(), c.selectionEnd(), c.selectedText().replace("\u2029", "\n")

    def replace_range(self, start: int, end: int, text: str) -> None:
        """Replace [start, end) with `text` as one undo step, and select the result."""
        text = plain_lines(text)
        c = QTextCursor(self.document())
        c.setPosition(start)
        c.setPosition(end, QTextCursor.KeepAnchor)
        c.beginEditBlock()
        c.insertText(text)
        c.endEditBlock()
        c.setPosition(start)
        c.setPosition(start + len(text), QTextCursor.KeepAnchor)
        self.setTextCursor(c)

    def text_range(self, start: int, end: int) -> str:
        c = QTextCursor(self.document())
        c.setPosition(start)
        c.setPosition(min(end, self.document().characterCount() - 1), QTextCursor.KeepAnchor)
        return c.selectedText().replace("\u2029", "\n")

    # -- rewrites under review (the ReviewView side) ---------------------------
    def review_rewrite(self, start: int, end: int, rewrite: str,
                       meta: dict | None = None) -> Review:
        """Put `rewrite` in place of [start, end) as one undo step and review it hunk by hunk."""
        if self.review is not None:
            self.review.finish()
        if self.ghost is not None:
            self.ghost.cancel()
        original = self.text_range(start, end)
        review = Review(self, start, original, rewrite, self._on_review_finished, meta)
        self.review = review
        if not review.begin():
            self.review = None
        return review

    def review_action(self, name: str) -> bool:
        """Run a review command by name (keys, the review bar, tests); False with no review."""
        r = self.review
        if r is None:
            return False
        {"next": lambda: r.go(1), "previous": lambda: r.go(-1), "keep": r.keep,
         "undo": r.undo_hunk, "keep_all": r.keep_all, "undo_all": r.undo_all,
         "done": r.finish, "step_back": r.step_back, "step_forward": r.step_forward}[name]()
        return True

    def _review_key(self, e: QKeyEvent) -> bool:
        mods = e.modifiers() & ~Qt.KeypadModifier
        name = REVIEW_KEYS.get((e.key(), mods))  # first: Alt+Backspace is also Undo off macOS
        if name:
            return self.review_action(name)
        if e.matches(QKeySequence.Undo):
            return self.review_action("step_back")
        if e.matches(QKeySequence.Redo):
            return self.review_action("step_forward")
        return False

    def undo(self) -> None:  # the Edit menu: while reviewing, one decision back
        if self.review is not None and not self.review.applying:
            self.review.step_back()
        else:
            super().undo()

    def redo(self) -> None:
        if self.review is not None and not self.review.applying:
            self.review.step_forward()
        else:
            super().redo()

    def undo_edit(self) -> None:
        super().undo()

    def redo_edit(self) -> None:
        super().redo()

    def replace_spans(self, spans: list[tuple[int, int, str]]) -> None:
        """Replace each [start, end) with its text, all as one undo step (last span first)."""
        c = QTextCursor(self.document())
        c.beginEditBlock()
        for start, end, text in sorted(spans, reverse=True):
            c.setPosition(start)
            c.setPosition(end, QTextCursor.KeepAnchor)
            c.insertText(plain_lines(text))
        c.endEditBlock()

    def show_review(self, review: Review, focus: bool = True) -> None:
        """Open hunks highlighted, the current one's removed words struck through before its
        new ones. All drawn as the blocks' layout formats, in layout positions, because the
        pre-edit text shifts everything after it in its block."""
        self._clear_review_marks()
        doc = self.document()
        current = review.hunk if review.hunk is not None and review.hunk.state == PENDING else None
        ranges: dict[int, list] = {}
        shift: tuple[int, int, int] | None = None  # (block number, at, length) of the pre-edit
        if current is not None and current.old:
            block = doc.findBlock(current.start)
            at, shown = current.start - block.position(), current.old.replace("\n", LINE_SEPARATOR)
            block.layout().setPreeditArea(at, shown)
            shift = (block.blockNumber(), at, len(shown))
            fmt = QTextCharFormat()
            fmt.setForeground(REMOVED)
            fmt.setFontStrikeOut(True)
            ranges.setdefault(block.blockNumber(), []).append(_range(at, len(shown), fmt))
        for i, h in enumerate(review.hunks):
            if h.state != PENDING:
                continue
            fmt = QTextCharFormat()
            if h.new:
                start, end = h.start, h.end
                fmt.setBackground(CURRENT if i == review.current else ADDED)
            else:  # words removed, none added: mark the character before where they were
                start, end = max(0, h.start - 1), max(1, h.start)
                fmt.setUnderlineColor(REMOVED)
                fmt.setUnderlineStyle(QTextCharFormat.SingleUnderline)
            block = doc.findBlock(start)
            while block.isValid() and block.position() < end:
                a = max(start, block.position()) - block.position()
                b = min(end, block.position() + block.length() - 1) - block.position()
                if shift is not None and shift[0] == block.blockNumber() and a >= shift[1]:
                    a, b = a + shift[2], b + shift[2]
                if b > a:
                    ranges.setdefault(block.blockNumber(), []).append(_range(a, b - a, fmt))
                block = block.next()
        for number, formats in ranges.items():
            block = doc.findBlockByNumber(number)
            block.layout().setFormats(formats)
            self._review_blocks.append(block)
            doc.markContentsDirty(block.position(), block.length())
        self.viewport().update()
        if focus and current is not None:
            c = self.textCursor()
            c.setPosition(current.start)
            self.setTextCursor(c)
            self.ensureCursorVisible()
        self.review_changed.emit()

    def _clear_review_marks(self) -> None:
        blocks, self._review_blocks = self._review_blocks, []
        for block in blocks:
            if block.isValid():
                layout = block.layout()
                layout.setPreeditArea(-1, "")
                layout.clearFormats()
                self.document().markContentsDirty(block.position(), block.length())

    def end_review(self) -> None:
        self._clear_review_marks()
        self.viewport().update()

    def review_marks(self) -> list[tuple[int, str, int, int]]:
        """What is drawn for the review (tests): (block, kind, layout start, length) where kind
        is 'removed', 'current' or 'added'."""
        out = []
        for block in self._review_blocks:
            for r in block.layout().formats():
                kind = ("removed" if r.format.fontStrikeOut() else
                        "current" if r.format.background().color() == CURRENT else "added")
                out.append((block.blockNumber(), kind, r.start, r.length))
        return out

    def _on_review_finished(self, outcome: Outcome) -> None:
        self.review = None
        self.review_changed.emit()
        self.review_finished.emit(outcome)


def _range(start: int, length: int, fmt: QTextCharFormat) -> QTextLayout.FormatRange:
    r = QTextLayout.FormatRange()
    r.start, r.length, r.format = start, length, fmt
    return r
