"""The bar over the editor while a rewrite is under review: where we are, and the keys."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QToolButton, QVBoxLayout, QWidget

from desktop.hunks import KEPT, PENDING, UNDONE

BUTTONS = (  # (review action, label, key shown in the tooltip)
    ("previous", "◀", "Alt+↑ or Shift+F8"),
    ("next", "▶", "Alt+↓ or F8"),
    ("keep", "Keep", "Alt+Enter"),
    ("undo", "Undo", "Alt+Backspace"),
    ("keep_all", "Keep all", "Alt+Shift+Enter"),
    ("undo_all", "Undo all", "Alt+Shift+Backspace"),
    ("done", "Done", "Esc"),
)


class ReviewBar(QWidget):
    """Hidden until the editor has a review; its buttons run the editor's review actions."""

    def __init__(self, editor, parent=None) -> None:
        super().__init__(parent)
        self.editor = editor
        self.label = QLabel("")
        self.label.setObjectName("review_label")
        self.label.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 2)
        layout.setSpacing(2)
        layout.addWidget(self.label)
        row = QHBoxLayout()
        row.addStretch(1)
        self.buttons: dict[str, QToolButton] = {}
        for action, text, key in BUTTONS:
            b = QToolButton()
            b.setText(text)
            b.setObjectName(f"review_{action}")
            b.setToolTip(f"{text} ({key})")
            b.clicked.connect(lambda _=False, a=action: self._run(a))
            row.addWidget(b)
            self.buttons[action] = b
        layout.addLayout(row)
        editor.review_changed.connect(self.refresh)
        self.refresh()

    def _run(self, action: str) -> None:
        self.editor.review_action(action)
        self.editor.setFocus()

    def refresh(self) -> None:
        review = self.editor.review
        self.setVisible(review is not None)
        if review is None:
            return
        states = [h.state for h in review.hunks]
        open_ = states.count(PENDING)
        if open_:
            at = review.pending.index(review.current) + 1 if review.current in review.pending \
                else 1
            where = f"change {at} of {open_} open"
        else:
            where = "every change decided: Done (Esc) ends the review, Ctrl+Z takes one back"
        self.label.setText(f"<b>Review the rewrite</b> — {where} · {states.count(KEPT)} kept · "
                           f"{states.count(UNDONE)} undone")
        for action in ("previous", "next", "keep", "undo", "keep_all", "undo_all"):
            self.buttons[action].setEnabled(bool(open_))
