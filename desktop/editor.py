"""The text widget: a QPlainTextEdit that draws ghost text and routes keys to the logic.

The ghost is drawn as the block layout's pre-edit area (the mechanism input
methods use for text being composed), so it wraps and pushes the following text
like real text, yet is never part of the document, the undo stack or autosave.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont, QKeyEvent, QTextBlock, QTextCharFormat, QTextCursor, QTextLayout
from PySide6.QtWidgets import QPlainTextEdit

LINE_SEPARATOR = "\u2028"  # QTextLayout breaks lines here; "\n" would draw as a box


class TextEditor(QPlainTextEdit):
    """The editor widget; `ghost` (a desktop.ghost.Ghost) is attached after construction."""

    ghost_accepted = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.ghost = None
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
        return self.document().characterAt(pos) if pos < self.document().characterCount() - 1 else ""

    def cursor_position(self) -> int:
        return self.textCursor().position()

    def has_selection(self) -> bool:
        return self.textCursor().hasSelection()

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
        cursor = self.textCursor()
        cursor.beginEditBlock()
        cursor.insertText(text)
        cursor.endEditBlock()
        self.setTextCursor(cursor)

    # -- keys -----------------------------------------------------------------
    def _in_leading_whitespace(self) -> bool:
        cursor = self.textCursor()
        before = cursor.block().text()[: cursor.positionInBlock()]
        return before.strip() == "" and (before != "" or cursor.block().text().startswith((" ", "\t")))

    def keyPressEvent(self, e: QKeyEvent) -> None:  # noqa: N802 - Qt API
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
