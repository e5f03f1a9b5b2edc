"""The main window: the editor with its side panels, and the Library, Train and Settings tabs."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressDialog,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from desktop.documents import Documents, word_count
from desktop.feedback_panel import FeedbackPage
from desktop.editor import TextEditor
from desktop.feedback_recorder import FeedbackRecorder
from desktop.ghost import Ghost
from desktop.memory_panel import MemoryPanel
from desktop.rephrase import LABELS, RephrasePanel
from desktop.review_bar import ReviewBar
from desktop.session import Session
from desktop.vocabulary_panel import VocabularyPage
from engine import tasks
from engine.errors import KillahError
from engine.voice import vocabulary

DOC_FILTER = "Text and Markdown (*.txt *.md *.markdown *.text);;All files (*)"


class MainWindow(QMainWindow):
    """Widgets show state and send intent; Documents, Ghost and the panels' jobs do the work."""

    closed = Signal()

    def __init__(self, session: Session | None = None, recover: bool = True) -> None:
        super().__init__()
        self.session = session or Session(parent=self)
        s = self.session
        self.resize(1200, 780)

        self.editor = TextEditor()
        self.editor.setPlaceholderText("Start writing. Pause, and Killah suggests how to go on: "
                                       "Tab takes it, Alt+→ one word, Esc dismisses.")
        self.documents = Documents(self, s.settings, s.save_settings)
        note = lambda: self.documents.note  # noqa: E731 - the document's memory, read at each use
        self.ghost = Ghost(self.editor, s.jobs, s.settings, s.model, s.active_style, self,
                           memory=note, vocabulary=vocabulary.current)
        self.editor.ghost = self.ghost
        self.feedback = FeedbackRecorder(
            s.settings, self.editor.toPlainText, lambda: self.editor.textCursor().position(),
            memory=note, document=lambda: self.documents.path.name if self.documents.path else "",
            parent=self)

        self.rephrase = RephrasePanel(s, self.editor)
        self.rephrase.memory, self.rephrase.vocabulary = note, vocabulary.current
        self.side = QTabWidget()
        self.side.addTab(self.rephrase, "Rephrase")
        self.memory = MemoryPanel(self.documents, self.editor, s.settings)
        self.side.addTab(self.memory, "Memory")
        self._add_optional_panels()

        split = QSplitter(Qt.Horizontal)
        write = QWidget()
        wl = QVBoxLayout(write)
        wl.setContentsMargins(0, 0, 0, 0)
        self.review_bar = ReviewBar(self.editor)
        wl.addWidget(self.review_bar)
        wl.addWidget(self.editor, 1)
        if self.dictation is not None:
            wl.addWidget(self.dictation)
        split.addWidget(write)
        split.addWidget(self.side)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setSizes([720, 480])

        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(split, "Write")
        for widget, title in self.extra_tabs:
            self.tabs.addTab(widget, title)
        self.setCentralWidget(self.tabs)

        self.words = QLabel("0 words")
        self.model_status = QLabel("model: loading…")
        self.statusBar().addPermanentWidget(self.model_status)
        self.statusBar().addPermanentWidget(self.words)
        self._build_menus()

        self.editor.textChanged.connect(self._on_text_changed)
        self.ghost.decided.connect(self.feedback.ghost_decided)
        self.editor.review_finished.connect(self.feedback.review_finished)
        self.rephrase.dismissed.connect(self.feedback.candidates_dismissed)
        self.editor.textChanged.connect(self.feedback.text_edited)
        self.feedback.failed.connect(self.show_status)
        self.editor.modificationChanged.connect(lambda _m: self.documents.refresh_title())
        self.autosave_timer = QTimer(self)
        self.autosave_timer.timeout.connect(self.autosave)
        self.autosave_timer.start(max(1, s.settings.autosave_seconds) * 1000)

        s.model_ready.connect(self._on_model_ready)
        s.model_failed.connect(self._on_model_failed)
        s.model_loading.connect(self._on_model_loading)
        self.progress_dialog: QProgressDialog | None = None
        self.is_shut_down = False
        self.documents.refresh_title()
        if s.warning:
            self.show_status(s.warning)
        if recover:
            self.documents.recover()

    def _add_optional_panels(self) -> None:
        """Panels built on engine parts; each shows an honest state if its part is missing."""
        from desktop.panels import build_panels

        built = build_panels(self)
        self.persona = built.get("persona")
        self.library = built.get("library")
        self.dictation = built.get("dictation")
        self.wizard = built.get("wizard")
        self.settings_panel = built.get("settings")
        if self.persona is not None:
            self.side.addTab(self.persona, "Persona && adapters")
        self.settings_tabs = QTabWidget()
        self.settings_tabs.setObjectName("settings_tabs")
        self.settings_tabs.addTab(self.settings_panel, "General")
        self.feedback_page = FeedbackPage(self.session, self.feedback)
        self.settings_tabs.addTab(self.feedback_page, "Learning")
        self.vocabulary_page = VocabularyPage()
        self.settings_tabs.addTab(self.vocabulary_page, "Vocabulary")
        self.extra_tabs = [(w, t) for w, t in ((self.library, "Library"),
                                               (self.wizard, "Train my style"),
                                               (self.settings_tabs, "Settings")) if w is not None]

    # -- menus -------------------------------------------------------------------
    def _action(self, menu, text: str, slot, shortcut=None, name: str | None = None) -> QAction:
        act = QAction(text, self)
        if shortcut is not None:
            act.setShortcut(QKeySequence(shortcut))
        act.triggered.connect(slot)
        if name:
            act.setObjectName(name)
        menu.addAction(act)
        return act

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file = bar.addMenu("&File")
        self._action(file, "&New", self._guard(self.documents.new), QKeySequence.New)
        self._action(file, "&Open…", self._guard(lambda: self.documents.open()), QKeySequence.Open)
        self.recent_menu = file.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        self._action(file, "&Save", self._guard(self.documents.save), QKeySequence.Save)
        self._action(file, "Save &As…", self._guard(self.documents.save_as), QKeySequence.SaveAs)
        file.addSeparator()
        self._action(file, "&Quit", self.close, QKeySequence.Quit)
        edit = bar.addMenu("&Edit")
        self._action(edit, "&Undo", self.editor.undo, QKeySequence.Undo)
        self._action(edit, "&Redo", self.editor.redo, QKeySequence.Redo)
        edit.addSeparator()
        self.rephrase_action = self._action(edit, "&Rephrase selection", self.request_rephrase,
                                            "Ctrl+R", name="rephrase")
        restyle = edit.addMenu("Re&style selection")
        for mode in tasks.REWRITE_MODES[1:]:  # the presets and "like me"
            self._action(restyle, LABELS[mode], lambda _=False, m=mode: self.request_rephrase(m))
        if self.dictation is not None:
            voice = bar.addMenu("&Dictation")
            self._action(voice, "Start / stop listening", self.dictation.toggle, "Ctrl+Shift+D")

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        for path in self.session.settings.recent_files:
            act = self.recent_menu.addAction(path)
            act.triggered.connect(
                lambda _=False, p=path: self._guard(lambda: self.documents.open(p))())
        if not self.session.settings.recent_files:
            self.recent_menu.addAction("(none)").setEnabled(False)

    def _guard(self, fn):
        def run(*_a):
            try:
                return fn()
            except KillahError as e:
                self.show_error(str(e))
                return False
        return run

    def request_rephrase(self, mode: str = "rephrase", origin: str = "rephrase") -> bool:
        """Rewrite the selection; `origin` ("rephrase" or "voice") is recorded as feedback."""
        self.side.setCurrentWidget(self.rephrase)
        return self.rephrase.request(mode if isinstance(mode, str) else "rephrase", origin)

    # -- the DocumentView side ------------------------------------------------------
    def text(self) -> str:
        return self.editor.toPlainText()

    def set_text(self, text: str) -> None:
        if self.editor.review is not None:
            self.editor.review.finish()
        self.ghost.cancel()
        self.editor.setPlainText(text)

    def is_modified(self) -> bool:
        return self.editor.document().isModified()

    def set_modified(self, modified: bool) -> None:
        self.editor.document().setModified(modified)

    def set_note(self, note: str) -> None:
        self.memory.set_note(note)

    def set_title(self, title: str) -> None:
        self.setWindowTitle(title)

    def show_status(self, message: str) -> None:
        self.statusBar().showMessage(message, 8000)

    def show_error(self, message: str) -> None:
        """Status line plus a window-modal message box that does not block the caller (no nested
        event loop: a closing window, a --smoke run or a test never waits on it)."""
        self.show_status(message)
        box = QMessageBox(QMessageBox.Warning, "Killah", message, QMessageBox.Ok, self)
        box.setAttribute(Qt.WA_DeleteOnClose)
        box.setObjectName("error-message")
        box.open()

    def ask_open_path(self) -> str | None:
        path, _ = QFileDialog.getOpenFileName(self, "Open", str(Path.home()), DOC_FILTER)
        return path or None

    def ask_save_path(self, suggested: str) -> str | None:
        path, _ = QFileDialog.getSaveFileName(self, "Save as", suggested, DOC_FILTER)
        return path or None

    def confirm_discard(self, title: str) -> bool | None:
        answer = QMessageBox.question(
            self, "Killah", f"Save the changes to {title}?",
            QMessageBox.Save | QMessageBox.Discard | QMessageBox.Cancel, QMessageBox.Save)
        return {QMessageBox.Save: False, QMessageBox.Discard: True}.get(answer)

    def confirm_overwrite_readonly(self, name: str) -> bool:
        answer = QMessageBox.question(
            self, "Killah", f"{name} is read-only. Overwrite it anyway (it stays read-only)?",
            QMessageBox.Yes | QMessageBox.No, QMessageBox.No)
        return answer == QMessageBox.Yes

    # -- state --------------------------------------------------------------------
    def _on_text_changed(self) -> None:
        self.words.setText(f"{word_count(self.editor.toPlainText())} words")

    def autosave(self) -> None:
        try:
            self.documents.autosave()
        except (OSError, KillahError) as e:  # the text is still in the window
            self.show_status(f"autosave failed: {e}")

    def _on_model_loading(self, message: str) -> None:
        self.model_status.setText(f"model: {message}…")
        if self.session.first_time and self.progress_dialog is None and self.isVisible():
            d = QProgressDialog("Preparing the bundled model (first launch only)…", None, 0, 0,
                                self)
            d.setWindowTitle("Killah")
            d.setMinimumDuration(0)
            d.setAutoClose(False)
            self.progress_dialog = d
            d.show()
        if self.progress_dialog is not None:
            self.progress_dialog.setLabelText(f"{message}…")

    def _close_progress(self) -> None:
        if self.progress_dialog is not None:
            self.progress_dialog.close()
            self.progress_dialog = None

    def _on_model_ready(self, lm) -> None:
        self._close_progress()
        self.model_status.setText(f"model: {Path(str(lm.model_id)).name} ({lm.dtype})")
        self.show_status("model ready")
        self.ghost.schedule()

    def _on_model_failed(self, message: str) -> None:
        self._close_progress()
        self.model_status.setText("model: not loaded")
        self.show_status(message)

    def closeEvent(self, e) -> None:
        if self.is_shut_down:
            return super().closeEvent(e)
        try:
            may_close = self.documents.close()
        except Exception as err:  # noqa: BLE001 - never close over unsaved text
            self.show_error(f"could not close: {err}")
            may_close = False
        if not may_close:
            e.ignore()
            return
        self.ghost.cancel()
        if self.editor.review is not None:
            self.editor.review.finish()
        self.feedback.close()
        self.autosave_timer.stop()
        for panel in (self.dictation, self.library, self.wizard):
            if panel is not None and hasattr(panel, "shutdown"):
                panel.shutdown()
        self.session.shutdown()
        self.is_shut_down = True
        self.closed.emit()
        super().closeEvent(e)
