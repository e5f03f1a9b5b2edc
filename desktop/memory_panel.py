"""The Memory side panel: the document's note (characters, setting, facts, tone) and what the
model sees of the document and of the note (engine.tasks.context_budget)."""

from __future__ import annotations

from PySide6.QtCore import QSignalBlocker, QTimer, Signal
from PySide6.QtWidgets import QLabel, QPlainTextEdit, QVBoxLayout, QWidget

from engine import tasks
from engine.errors import KillahError

PLACEHOLDER = ("Who is in this story, where and when it happens, facts to keep straight, the "
               "tone you want. Suggestions and rewrites in this document read this note.\n\n"
               "Characters: Mara Voss, keeper of the Stroma light; her brother Tobiah.\n"
               "Setting: Orkney, winter 1893.\nTone: spare.")


class MemoryPanel(QWidget):
    """Edits `documents.note`; shows the context budget for the next suggestion."""

    note_edited = Signal(str)

    def __init__(self, documents, editor, settings, parent=None) -> None:
        super().__init__(parent)
        self.documents = documents
        self.editor = editor
        self.settings = settings
        heading = QLabel("<b>Memory</b> — this document's note")
        self.note = QPlainTextEdit()
        self.note.setObjectName("memory_note")
        self.note.setPlaceholderText(PLACEHOLDER)
        self.note.setToolTip(f"Kept with the document (never in it); the model reads the first "
                             f"{tasks.MEMORY_MAX_WORDS} words before every suggestion.")
        self.budget = QLabel("")
        self.budget.setObjectName("memory_budget")
        self.budget.setWordWrap(True)
        self.problem = QLabel("")
        self.problem.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addWidget(self.note, 1)
        layout.addWidget(self.budget)
        layout.addWidget(self.problem)
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(250)
        self.timer.timeout.connect(self.refresh_budget)
        self.note.textChanged.connect(self._on_note_changed)
        editor.textChanged.connect(self.timer.start)
        editor.cursorPositionChanged.connect(self.timer.start)
        self.refresh_budget()

    def set_note(self, note: str) -> None:
        """Show the note of the document just opened, saved or recovered."""
        with QSignalBlocker(self.note):
            self.note.setPlainText(note)
        self.problem.setText("")
        self.refresh_budget()

    def _on_note_changed(self) -> None:
        text = self.note.toPlainText()
        try:
            self.documents.set_note(text)
        except KillahError as e:  # too long: the text stays in the box, the old note is kept
            self.problem.setText(str(e))
            return
        self.problem.setText("")
        self.note_edited.emit(text)
        self.timer.start()

    def refresh_budget(self) -> None:
        before = self.editor.text_before_cursor(10**9)
        b = tasks.context_budget(before, self.documents.note, self.settings.ghost_context_chars)
        self.budget.setText(b.describe())
