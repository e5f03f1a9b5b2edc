"""Settings › Vocabulary: the writer's names and terms (engine.voice.vocabulary), as the
`killah vocabulary` command edits them."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from engine.errors import KillahError
from engine.voice.vocabulary import Vocabulary


class VocabularyPage(QWidget):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        about = QLabel("Names, places and terms you use. Dictation listens for them and writes "
                       "them your way; suggestions keep them spelled right. A dictated word you "
                       "correct into a name is added here by itself.")
        about.setWordWrap(True)
        self.entry = QLineEdit()
        self.entry.setObjectName("vocabulary_entry")
        self.entry.setPlaceholderText("Add a name or term (a comma between several)")
        self.entry.returnPressed.connect(self.add_entry)
        add = QPushButton("Add")
        add.clicked.connect(self.add_entry)
        self.list = QListWidget()
        self.list.setObjectName("vocabulary_list")
        self.list.setSelectionMode(QListWidget.ExtendedSelection)
        remove = QPushButton("Remove selected")
        remove.clicked.connect(self.remove_selected)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(self.entry, 1)
        row.addWidget(add)
        layout = QVBoxLayout(self)
        layout.addWidget(about)
        layout.addLayout(row)
        layout.addWidget(self.list, 1)
        bottom = QHBoxLayout()
        bottom.addWidget(self.message, 1)
        bottom.addWidget(remove)
        layout.addLayout(bottom)
        self.refresh()

    def _load(self) -> Vocabulary | None:
        try:
            return Vocabulary.load()
        except KillahError as e:
            self.message.setText(str(e))
            return None

    def refresh(self) -> None:
        vocab = self._load()
        self.list.clear()
        for t in (vocab.terms if vocab else ()):
            heard = f"   (heard as: {', '.join(t.heard)})" if t.heard else ""
            item = QListWidgetItem(f"{t.text}{heard}")
            item.setData(256, t.text)  # Qt.UserRole
            self.list.addItem(item)

    def add_entry(self) -> bool:
        words = [w.strip() for w in self.entry.text().split(",") if w.strip()]
        vocab = self._load()
        if not words or vocab is None:
            return False
        try:
            vocab.add(words).save()
        except (OSError, KillahError) as e:
            self.message.setText(str(e))
            return False
        self.entry.clear()
        self.message.setText(f"added {', '.join(words)}")
        self.refresh()
        return True

    def remove_selected(self) -> int:
        names = [i.data(256) for i in self.list.selectedItems()]
        vocab = self._load()
        if not names or vocab is None:
            return 0
        vocab, _ = vocab.remove(names)
        vocab.save()
        self.message.setText(f"removed {', '.join(names)}")
        self.refresh()
        return len(names)

    def showEvent(self, e) -> None:  # noqa: N802 - Qt API
        self.refresh()
        super().showEvent(e)
