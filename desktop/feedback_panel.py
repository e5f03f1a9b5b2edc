"""Settings › Learning: what Killah recorded of your choices, on this computer only; delete it.

The table model (vorta's shape: COL_* constants, custom roles) is tested without a window.
"""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktop.rows_model import RowsModel
from engine.feedback import ACTIONS, KINDS, Event

MIN_PAIRS = 40  # fewer preference pairs than this: `killah train preferences` refuses
WHERE = {"ghost": "ghost text", "rephrase": "rephrase", "voice": "voice rewrite",
         "hunk": "reviewed change"}


def _short(text: str, n: int = 90) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


class FeedbackModel(RowsModel):
    COL_WHEN, COL_WHERE, COL_ACTION, COL_SUGGESTION, COL_KEPT = range(5)
    HEADERS = ("when", "where", "you", "suggestion", "you kept / wrote")
    EventRole = Qt.UserRole + 1

    def set_events(self, events: list[Event]) -> None:
        self.beginResetModel()
        self.rows = list(events)
        self.endResetModel()

    def data(self, index: QModelIndex, role: int = Qt.DisplayRole) -> Any:
        e = self.row_at(index)
        if e is None:
            return None
        col = index.column()
        if role == self.EventRole:
            return e
        if role == Qt.ToolTipRole:
            return (f"{e.suggestion}\n\n→ {e.final}" if e.final else e.suggestion)[:2000]
        if role != Qt.DisplayRole:
            return None
        if col == self.COL_WHEN:
            return time.strftime("%Y-%m-%d %H:%M", time.localtime(e.at))
        if col == self.COL_WHERE:
            return WHERE.get(e.kind, e.kind) + ("" if e.mode in ("continue", "rephrase")
                                                else f" ({e.mode})")
        if col == self.COL_ACTION:
            return e.action
        if col == self.COL_SUGGESTION:
            if e.suggestion.strip():
                return _short(e.suggestion)
            return f"(remove “{_short(e.source)}”)"  # a reviewed change that only removed words
        if col == self.COL_KEPT:
            if e.kind == "hunk" and not e.final.strip():
                return "(removed)" if e.action == "accepted" else ""
            return _short(e.final)
        return None


def summary_text(summary: dict[str, dict[str, int]], pairs: int) -> str:
    parts = []
    for kind in KINDS:
        counts = summary.get(kind, {})
        if sum(counts.values()):
            shown = ", ".join(f"{counts[a]} {a}" for a in ACTIONS if counts.get(a))
            parts.append(f"{WHERE[kind]}: {shown}")
    if not parts:
        return "Nothing recorded yet."
    ready = ("enough for `killah train preferences`" if pairs >= MIN_PAIRS
             else f"`killah train preferences` needs at least {MIN_PAIRS}")
    return "; ".join(parts) + f". {pairs} preference pairs ({ready})."


class FeedbackPage(QWidget):
    """Shows the recorder's store; the checkbox is Settings.feedback_enabled."""

    def __init__(self, session, recorder, parent=None) -> None:
        super().__init__(parent)
        self.session = session
        self.recorder = recorder
        s = session.settings
        self.enabled = QCheckBox("Learn from my choices: record which suggestions I keep, change "
                                 "or turn down")
        self.enabled.setObjectName("feedback_enabled")
        self.enabled.setChecked(bool(getattr(s, "feedback_enabled", True)))
        self.enabled.setToolTip(s.help("feedback_enabled") if hasattr(s, "feedback_enabled")
                                else "")
        self.enabled.toggled.connect(self._on_toggled)
        where = QLabel(f"Kept only on this computer, in {recorder.store().path.name} in "
                       "Killah's folder; never sent anywhere. `killah train preferences` "
                       "turns it into a style adapter that prefers what you prefer.")
        where.setWordWrap(True)
        self.summary = QLabel("")
        self.summary.setObjectName("feedback_summary")
        self.summary.setWordWrap(True)
        self.model = FeedbackModel(self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.verticalHeader().hide()
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        header = self.table.horizontalHeader()
        for col in (FeedbackModel.COL_WHEN, FeedbackModel.COL_WHERE, FeedbackModel.COL_ACTION):
            header.setSectionResizeMode(col, QHeaderView.ResizeToContents)
        for col in (FeedbackModel.COL_SUGGESTION, FeedbackModel.COL_KEPT):
            header.setSectionResizeMode(col, QHeaderView.Stretch)
        self.delete_selected = QPushButton("Delete selected")
        self.delete_selected.clicked.connect(self.delete_selection)
        self.delete_all_button = QPushButton("Delete everything…")
        self.delete_all_button.clicked.connect(self._ask_delete_all)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.delete_selected)
        buttons.addWidget(self.delete_all_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.enabled)
        layout.addWidget(where)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        recorder.recorded.connect(lambda _e: self.isVisible() and self.refresh())
        self.refresh()

    def _on_toggled(self, on: bool) -> None:
        self.session.settings.feedback_enabled = bool(on)
        self.session.save_settings()

    def refresh(self) -> None:
        store = self.recorder.store()
        events = store.events(limit=5000)
        self.model.set_events(events)
        self.summary.setText(summary_text(store.summary(), len(store.pairs())))

    def showEvent(self, e) -> None:  # noqa: N802 - Qt API
        self.refresh()
        super().showEvent(e)

    def delete_selection(self) -> int:
        rows = {i.row() for i in self.table.selectionModel().selectedRows()}
        ids = [self.model.rows[r].id for r in rows if self.model.rows[r].id is not None]
        n = self.recorder.store().delete(ids)
        self.refresh()
        return n

    def delete_all(self) -> int:
        n = self.recorder.store().clear()
        self.refresh()
        return n

    def _ask_delete_all(self) -> None:
        box = QMessageBox(QMessageBox.Question, "Killah",
                          "Delete every recorded choice? This cannot be undone.",
                          QMessageBox.Yes | QMessageBox.No, self)
        box.setAttribute(Qt.WA_DeleteOnClose)
        box.setObjectName("feedback_delete_all")
        box.finished.connect(lambda answer: answer == QMessageBox.Yes and self.delete_all())
        box.open()
