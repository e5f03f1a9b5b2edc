"""Persona & adapters: pick the active persona and style/task adapters, set their strengths,
and see how much the current paragraph "sounds like you"."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt, QTimer
from PySide6.QtWidgets import (
    QComboBox, QFormLayout, QGroupBox, QHBoxLayout, QHeaderView, QLabel, QProgressBar, QPushButton,
    QSlider, QSpinBox, QTableView, QVBoxLayout, QWidget,
)

from desktop.jobs import Job

STEERING_STEPS = 2  # slider ticks per unit of steering strength


def list_adapter_folders() -> list[dict]:
    """Adapter folders in the adapters folder (mlx-lm format), newest first."""
    import json

    from engine import paths

    out = []
    for folder in paths.adapters_dir().iterdir():
        if not (folder / "adapter_config.json").exists():
            continue
        meta = {}
        try:
            meta = json.loads((folder / "metadata.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            pass
        meta = meta if isinstance(meta, dict) else {}  # a JSON list here stopped the app
        out.append({"path": str(folder), "name": meta.get("name") or folder.name,
                    "author": meta.get("author") or "", "mtime": folder.stat().st_mtime})
    return sorted(out, key=lambda a: -a["mtime"])


class AdapterModel(QAbstractTableModel):
    """Adapters on disk; the checked ones, with their scales, form the active stack."""

    COL_USE = 0
    COL_NAME = 1
    COL_AUTHOR = 2
    COL_SCALE = 3
    HEADERS = ("use", "adapter", "author", "strength")
    PathRole = Qt.UserRole + 1

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.rows: list[dict] = []

    def load(self, adapters: list[dict], active: list[dict]) -> None:
        scales = {a["name"]: float(a.get("scale", 1.0)) for a in active}
        self.beginResetModel()
        self.rows = [dict(a, use=a["name"] in scales, scale=scales.get(a["name"], 1.0)) for a in adapters]
        self.endResetModel()

    def active(self) -> list[dict]:
        return [{"name": r["name"], "path": r["path"], "scale": r["scale"]} for r in self.rows if r["use"]]

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(self, section, orientation, role=Qt.DisplayRole):  # noqa: N802
        return self.HEADERS[section] if orientation == Qt.Horizontal and role == Qt.DisplayRole else None

    def flags(self, index: QModelIndex):
        base = super().flags(index)
        if index.column() == self.COL_USE:
            return base | Qt.ItemIsUserCheckable
        if index.column() == self.COL_SCALE:
            return base | Qt.ItemIsEditable
        return base

    def data(self, index: QModelIndex, role: int = Qt.DisplayRole) -> Any:
        if not index.isValid():
            return None
        r = self.rows[index.row()]
        col = index.column()
        if role == Qt.CheckStateRole and col == self.COL_USE:
            return Qt.Checked if r["use"] else Qt.Unchecked
        if role in (Qt.DisplayRole, Qt.EditRole):
            return {self.COL_NAME: r["name"], self.COL_AUTHOR: r["author"],
                    self.COL_SCALE: f"{r['scale']:.2f}" if role == Qt.DisplayRole else r["scale"]}.get(col)
        if role == self.PathRole:
            return r["path"]
        return None

    def setData(self, index: QModelIndex, value: Any, role: int = Qt.EditRole) -> bool:  # noqa: N802
        r = self.rows[index.row()]
        if role == Qt.CheckStateRole and index.column() == self.COL_USE:
            r["use"] = Qt.CheckState(value) == Qt.Checked
        elif role == Qt.EditRole and index.column() == self.COL_SCALE:
            try:
                r["scale"] = max(0.0, min(2.0, float(value)))
            except (TypeError, ValueError):
                return False
        else:
            return False
        self.dataChanged.emit(index, index)
        return True


class ActivateStyleJob(Job):
    """Open the persona (steering vectors need the model) and build the adapter stack."""

    resource = "model"
    title = "activating the style"

    def run(self) -> dict:
        p = self.params
        out: dict = {"conditioning": None, "stack": None}
        if p["persona"]:
            from engine.persona import PersonaConditioning, PersonaStrengths

            self.report(f"opening persona {p['persona']}")
            cond = PersonaConditioning.open(
                p["persona"], p["lm"], PersonaStrengths(exemplars=p["exemplars"], steering=p["steering"]))
            cond.transforms()  # computes (or reads the cached) steering vectors now, not mid-typing
            out["conditioning"] = cond
        self.check_cancelled()
        if p["adapters"]:
            from engine.adapters import AdapterStack, load_adapter

            self.report("loading adapters")
            entries = []
            for a in p["adapters"]:
                adapter = load_adapter(a["path"])
                entries.append((adapter, adapter.lora_scale * a["scale"]))  # strength 1 = as trained
            out["stack"] = AdapterStack.for_model(p["lm"], entries)
        return out


class StyleScoreJob(Job):
    resource = "index"  # the embedder, not the LLM
    title = "style similarity"

    def run(self) -> float:
        return float(self.params["conditioning"].style_similarity(self.params["text"]).score)


class PersonaPanel(QWidget):
    def __init__(self, session, editor, parent=None) -> None:
        super().__init__(parent)
        self.session = session
        self.editor = editor
        self.conditioning = None
        self.job: ActivateStyleJob | None = None
        settings = session.settings

        self.persona = QComboBox()
        self.persona.setToolTip(settings.help("persona"))
        self.exemplars = QSpinBox()
        self.exemplars.setRange(0, 8)
        self.exemplars.setValue(3)
        self.exemplars.setToolTip("exemplar paragraphs from your documents put before the prompt (0 = off)")
        self.steering = QSlider(Qt.Horizontal)
        self.steering.setRange(0, 8 * STEERING_STEPS)
        self.steering.setValue(int(round(settings.persona_strength * 8 * STEERING_STEPS)))
        self.steering_label = QLabel()
        self.steering.valueChanged.connect(self._show_steering)
        self._show_steering()
        persona_box = QGroupBox("Persona")
        form = QFormLayout(persona_box)
        form.addRow("Active persona", self.persona)
        form.addRow("Exemplars", self.exemplars)
        row = QHBoxLayout()
        row.addWidget(self.steering, 1)
        row.addWidget(self.steering_label)
        form.addRow("Steering strength", row)

        self.adapters = AdapterModel(self)
        self.table = QTableView()
        self.table.setModel(self.adapters)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(AdapterModel.COL_NAME, QHeaderView.Stretch)
        adapters_box = QGroupBox("Adapters (style / task LoRAs) — check to use; strength 1.0 = as trained (double-click to edit)")
        QVBoxLayout(adapters_box).addWidget(self.table)

        self.apply_button = QPushButton("Use this style")
        self.apply_button.clicked.connect(self.activate)
        self.refresh_button = QPushButton("Refresh lists")
        self.refresh_button.clicked.connect(self.refresh)
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

        self.score_timer = QTimer(self)
        self.score_timer.setSingleShot(True)
        self.score_timer.timeout.connect(self.score_paragraph)
        editor.textChanged.connect(lambda: self.score_timer.start(1500))
        self.refresh()

    def _show_steering(self) -> None:
        self.steering_label.setText(f"{self.steering.value() / STEERING_STEPS:.1f}")

    def refresh(self) -> None:
        current = self.persona.currentData() or self.session.settings.persona
        self.persona.clear()
        self.persona.addItem("(none)", "")
        try:
            from engine.index import IndexStore
            from engine.persona import list_personas

            with IndexStore() as store:
                for p in list_personas(store):
                    self.persona.addItem(p.name, p.name)
        except Exception as e:  # noqa: BLE001 - show why the list is empty
            self.status.setText(f"cannot list personas: {e}")
        i = self.persona.findData(current)
        self.persona.setCurrentIndex(max(0, i))
        self.adapters.load(list_adapter_folders(), self.session.settings.adapters)

    def activate(self) -> bool:
        s = self.session
        if s.model() is None:
            self.status.setText("the model is still loading")
            return False
        params = {"lm": s.model(), "persona": self.persona.currentData() or "",
                  "exemplars": self.exemplars.value(), "steering": self.steering.value() / STEERING_STEPS,
                  "adapters": self.adapters.active()}
        job = ActivateStyleJob(params)
        job.result.connect(self._on_activated)
        job.error.connect(self.status.setText)
        job.progress.connect(self._on_progress)
        self.job = job
        s.jobs.submit(job)
        return True

    def use_adapter(self, path: str) -> bool:
        """Check the adapter at `path` (e.g. one just trained) and make it active."""
        self.refresh()
        for i, row in enumerate(self.adapters.rows):
            if Path(row["path"]).resolve() == Path(path).resolve():
                self.adapters.setData(self.adapters.index(i, AdapterModel.COL_USE), Qt.Checked.value,
                                      Qt.CheckStateRole)
                return self.activate()
        self.status.setText(f"adapter {path} is not in the adapters folder")
        return False

    def _on_progress(self, p) -> None:  # an engine.progress.Progress
        self.status.setText(p.message)

    def _on_activated(self, out: dict) -> None:
        s = self.session
        cond, stack = out["conditioning"], out["stack"]
        self.conditioning = cond
        s.adapter_stack = stack
        s.steering = None
        s.persona_exemplars = None
        if cond is not None:
            transforms = cond.transforms()
            s.steering = transforms[0] if transforms else None
            s.persona_exemplars = cond.exemplars if cond.strengths.exemplars > 0 else None
        s.settings.persona = cond.persona.name if cond else ""
        s.settings.persona_strength = self.steering.value() / STEERING_STEPS / 8
        s.settings.adapters = [{"name": a["name"], "scale": a["scale"]} for a in self.adapters.active()]
        s.save_settings()
        s.style_changed.emit()
        parts = [f"persona {cond.persona.name}" if cond else "no persona"]
        parts += [f"{a['name']} × {a['scale']:.2f}" for a in self.adapters.active()]
        self.status.setText("active: " + ", ".join(parts))
        self.meter.setEnabled(cond is not None)
        self.job = None
        self.score_paragraph()

    def score_paragraph(self) -> None:
        if self.conditioning is None:
            return
        text = self.editor.textCursor().block().text().strip()
        if len(text.split()) < 5:
            return
        job = StyleScoreJob({"conditioning": self.conditioning, "text": text})
        job.result.connect(self._on_score)
        self.session.jobs.submit(job)

    def _on_score(self, score: float) -> None:
        self.meter.setValue(int(round(100 * score)))
