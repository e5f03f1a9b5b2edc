"""Persona & adapters: choose the active style (persona, its strength, exemplars, adapters) and
see how much the current paragraph "sounds like you".

`PersonaControl(view, session)` is the logic (mu's `Editor(view)`): it lists what can be
chosen, turns the view's choices into an engine.style.Style and hands it to
`Session.set_style`, the style's only writer. `PersonaPanel` is the view.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, Qt, QTimer
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QSlider,
    QSpinBox,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktop.jobs import Job
from engine.encoders.style import unavailable as style_encoder_unavailable
from engine.style import (
    MAX_ADAPTER_STRENGTH,
    MAX_EXEMPLARS,
    ActiveStyle,
    AdapterInfo,
    AdapterSpec,
    Style,
    list_adapters,
    steering_strength,
)
from engine.text import word_count

MIN_SCORED_WORDS = 5  # shorter paragraphs say too little about style to score


class AdapterModel(QAbstractTableModel):
    """Adapters on disk; the checked ones, with their strengths, go into the style."""

    COL_USE = 0
    COL_NAME = 1
    COL_AUTHOR = 2
    COL_SERVES = 3
    COL_STRENGTH = 4
    HEADERS = ("use", "adapter", "author", "serves", "strength")
    PathRole = Qt.UserRole + 1

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.rows: list[dict] = []

    def load(self, adapters: Sequence[AdapterInfo], active: Sequence[AdapterSpec]) -> None:
        chosen = {_key(a.path): a.strength for a in active}
        self.beginResetModel()
        self.rows = [{"info": a, "use": _key(a.path) in chosen,
                      "strength": chosen.get(_key(a.path), 1.0)} for a in adapters]
        self.endResetModel()

    def chosen(self) -> list[AdapterSpec]:
        return [AdapterSpec(r["info"].path, r["strength"], r["info"].tasks, r["info"].name)
                for r in self.rows if r["use"]]

    def check(self, path: str) -> bool:
        for i, r in enumerate(self.rows):
            if _key(r["info"].path) == _key(path):
                return self.setData(self.index(i, self.COL_USE), Qt.Checked.value,
                                    Qt.CheckStateRole)
        return False

    def rowCount(self, parent: QModelIndex | None = None) -> int:  # noqa: N802
        return 0 if parent is not None and parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex | None = None) -> int:  # noqa: N802
        return 0 if parent is not None and parent.isValid() else len(self.HEADERS)

    def headerData(self, section, orientation, role=Qt.DisplayRole):  # noqa: N802
        if orientation == Qt.Horizontal and role == Qt.DisplayRole:
            return self.HEADERS[section]
        return None

    def flags(self, index: QModelIndex):
        base = super().flags(index)
        if index.column() == self.COL_USE:
            return base | Qt.ItemIsUserCheckable
        if index.column() == self.COL_STRENGTH:
            return base | Qt.ItemIsEditable
        return base

    def data(self, index: QModelIndex, role: int = Qt.DisplayRole) -> Any:
        if not index.isValid():
            return None
        r = self.rows[index.row()]
        info: AdapterInfo = r["info"]
        col = index.column()
        if role == Qt.CheckStateRole and col == self.COL_USE:
            return Qt.Checked if r["use"] else Qt.Unchecked
        if role == Qt.EditRole and col == self.COL_STRENGTH:
            return r["strength"]
        if role == Qt.DisplayRole:
            return {self.COL_NAME: info.name, self.COL_AUTHOR: info.author,
                    self.COL_SERVES: ", ".join(info.tasks) or "every mode (style)",
                    self.COL_STRENGTH: f"{r['strength']:.2f}"}.get(col)
        if role == self.PathRole:
            return info.path
        return None

    def setData(self, index: QModelIndex, value: Any, role: int = Qt.EditRole) -> bool:  # noqa: N802
        r = self.rows[index.row()]
        if role == Qt.CheckStateRole and index.column() == self.COL_USE:
            r["use"] = Qt.CheckState(value) == Qt.Checked
        elif role == Qt.EditRole and index.column() == self.COL_STRENGTH:
            try:
                r["strength"] = max(0.0, min(MAX_ADAPTER_STRENGTH, float(value)))
            except (TypeError, ValueError):
                return False
        else:
            return False
        self.dataChanged.emit(index, index)
        return True


def _key(path: str) -> Path:
    return Path(path).expanduser().resolve()


class StyleScoreJob(Job):
    resource = "index"  # the embedder, not the LLM
    title = "style similarity"

    def run(self) -> float | None:
        return self.params["style"].style_similarity(self.params["text"])


class PersonaView(Protocol):
    def show_personas(self, names: Sequence[str], current: str) -> None: ...
    def show_adapters(self, adapters: Sequence[AdapterInfo],
                      active: Sequence[AdapterSpec]) -> None: ...
    def show_choice(self, style: Style) -> None: ...  # persona, strength and exemplars controls
    def chosen_persona(self) -> str: ...
    def chosen_strength(self) -> float: ...  # the user's 0-1 persona strength
    def chosen_exemplars(self) -> int: ...
    def chosen_adapters(self) -> list[AdapterSpec]: ...
    def check_adapter(self, path: str) -> bool: ...
    def current_paragraph(self) -> str: ...
    def show_status(self, message: str) -> None: ...
    def show_similarity(self, score: float | None) -> None: ...  # None: no persona to compare with


class PersonaControl(QObject):
    """Lists personas and adapters, turns the view's choice into a Style, and asks the session
    to use it; shows what is active and how much the current paragraph sounds like the persona."""

    def __init__(self, view: PersonaView, session, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.view = view
        self.session = session
        session.style_changed.connect(self._on_style_changed)
        session.style_failed.connect(self._on_style_failed)
        session.style_progress.connect(self._on_progress)
        try:
            view.show_choice(session.settings.style())
        except ValueError:
            view.show_choice(session.style)

    def refresh(self) -> None:
        """Re-read the personas (from the index) and the adapters folder."""
        from engine.index import IndexStore
        from engine.persona import list_personas

        current = self.view.chosen_persona() or self.session.style.persona
        names: list[str] = []
        try:
            with IndexStore() as store:
                names = [p.name for p in list_personas(store)]
        except Exception as e:  # noqa: BLE001 - show why the list is empty
            self.view.show_status(f"cannot list personas: {e}")
        self.view.show_personas(names, current if current in names else "")
        try:
            chosen = self.session.settings.style().adapters
        except ValueError:
            chosen = self.session.style.adapters
        self.view.show_adapters(list_adapters(), chosen)

    def chosen_style(self) -> Style | None:
        """The Style the view shows, or None (and the reason in the status) when it is not valid."""
        try:
            return Style(persona=self.view.chosen_persona(), strength=self.view.chosen_strength(),
                         exemplars=self.view.chosen_exemplars(),
                         adapters=tuple(self.view.chosen_adapters()))
        except ValueError as e:
            self.view.show_status(str(e))
            return None

    def activate(self) -> bool:
        style = self.chosen_style()
        if style is None:
            return False
        ok, message = self.session.set_style(style)
        if not ok:
            self.view.show_status(message)
            return False
        self.view.show_status(f"activating: {style.describe()}")
        return True

    def use_adapter(self, path: str) -> bool:
        """Check the adapter at `path` (e.g. one just trained) and make the style use it."""
        self.refresh()
        if not self.view.check_adapter(path):
            self.view.show_status(f"adapter {path} is not in the adapters folder")
            return False
        return self.activate()

    def _on_progress(self, message: str) -> None:
        self.view.show_status(message)

    def _on_style_changed(self) -> None:
        style = self.session.style
        self.view.show_choice(style)
        status = "active: " + style.describe()
        missing = style_encoder_unavailable() if style.persona else None
        if missing:  # the meter still works, from stylometry alone
            status += f" ('sounds like you' by stylometry only: {missing})"
        self.view.show_status(status)
        self.view.show_similarity(0.0 if style.persona else None)
        self.score_paragraph()

    def _on_style_failed(self, message: str) -> None:
        self.view.show_status(message)

    def score_paragraph(self) -> StyleScoreJob | None:
        active: ActiveStyle = self.session.active_style()
        if active.persona is None:
            return None
        text = self.view.current_paragraph().strip()
        if word_count(text) < MIN_SCORED_WORDS:
            return None
        job = StyleScoreJob({"style": active, "text": text})
        job.result.connect(self._on_score)
        self.session.jobs.submit(job)
        return job

    def _on_score(self, score: float | None) -> None:
        self.view.show_similarity(score)


class PersonaPanel(QWidget):
    """The view: persona controls, the adapters table, the "sounds like you" meter."""

    def __init__(self, session, editor, parent=None) -> None:
        super().__init__(parent)
        self.editor = editor

        self.persona = QComboBox()
        self.persona.setToolTip(Style.help("persona"))
        self.exemplars = QSpinBox()
        self.exemplars.setRange(0, MAX_EXEMPLARS)
        self.exemplars.setToolTip(Style.help("exemplars"))
        self.strength = QSlider(Qt.Horizontal)
        self.strength.setRange(0, 100)  # percent of the user's 0-1 persona strength
        self.strength.setToolTip(Style.help("strength"))
        self.strength_label = QLabel()
        self.strength.valueChanged.connect(self._show_strength)
        persona_box = QGroupBox("Persona")
        form = QFormLayout(persona_box)
        form.addRow("Active persona", self.persona)
        form.addRow("Exemplars", self.exemplars)
        row = QHBoxLayout()
        row.addWidget(self.strength, 1)
        row.addWidget(self.strength_label)
        form.addRow("Strength", row)

        self.adapters = AdapterModel(self)
        self.table = QTableView()
        self.table.setModel(self.adapters)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(AdapterModel.COL_NAME, QHeaderView.Stretch)
        adapters_box = QGroupBox("Adapters (style LoRAs under task LoRAs) — check to use; "
                                 "strength 1.0 = as trained (double-click to edit)")
        QVBoxLayout(adapters_box).addWidget(self.table)

        self.apply_button = QPushButton("Use this style")
        self.refresh_button = QPushButton("Refresh lists")
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.meter = QProgressBar()
        self.meter.setRange(0, 100)
        self.meter.setFormat("sounds like you: %p%")
        self.meter.setEnabled(False)

        layout = QVBoxLayout(self)
        layout.addWidget(persona_box)
        layout.addWidget(adapters_box, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.refresh_button)
        buttons.addWidget(self.apply_button)
        layout.addLayout(buttons)
        layout.addWidget(self.status)
        layout.addWidget(QLabel("Current paragraph"))
        layout.addWidget(self.meter)

        self.control = PersonaControl(self, session, self)
        self.apply_button.clicked.connect(self.control.activate)
        self.refresh_button.clicked.connect(self.control.refresh)
        self.score_timer = QTimer(self)
        self.score_timer.setSingleShot(True)
        self.score_timer.timeout.connect(self.control.score_paragraph)
        editor.textChanged.connect(lambda: self.score_timer.start(1500))
        self.control.refresh()

    def activate(self) -> bool:
        return self.control.activate()

    def use_adapter(self, path: str) -> bool:
        return self.control.use_adapter(path)

    def _show_strength(self) -> None:
        v = self.strength.value()
        self.strength_label.setText(f"{v}% (steering × {steering_strength(v / 100):.1f})")

    # -- PersonaView -------------------------------------------------------------------
    def show_personas(self, names: Sequence[str], current: str) -> None:
        self.persona.clear()
        self.persona.addItem("(none)", "")
        for name in names:
            self.persona.addItem(name, name)
        self.persona.setCurrentIndex(max(0, self.persona.findData(current)))

    def show_adapters(self, adapters: Sequence[AdapterInfo], active: Sequence[AdapterSpec]) -> None:
        self.adapters.load(adapters, active)

    def show_choice(self, style: Style) -> None:
        i = self.persona.findData(style.persona)
        if i < 0 and style.persona:
            self.persona.addItem(style.persona, style.persona)
            i = self.persona.count() - 1
        self.persona.setCurrentIndex(max(0, i))
        self.exemplars.setValue(style.exemplars)
        self.strength.setValue(round(style.strength * 100))
        self._show_strength()

    def chosen_persona(self) -> str:
        return self.persona.currentData() or ""

    def chosen_strength(self) -> float:
        return self.strength.value() / 100

    def chosen_exemplars(self) -> int:
        return self.exemplars.value()

    def chosen_adapters(self) -> list[AdapterSpec]:
        return self.adapters.chosen()

    def check_adapter(self, path: str) -> bool:
        return self.adapters.check(path)

    def current_paragraph(self) -> str:
        return self.editor.textCursor().block().text()

    def show_status(self, message: str) -> None:
        self.status.setText(message)

    def show_similarity(self, score: float | None) -> None:
        self.meter.setEnabled(score is not None)
        self.meter.setValue(round(100 * (score or 0.0)))
