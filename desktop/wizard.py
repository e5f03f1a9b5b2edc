"""The "Train my style" tab: files -> curation report -> neutralization -> training (live loss
chart, ETA, cancel/resume) -> evaluation report -> "use this style".

The widgets show state and send intent; the flow is desktop.wizard_logic.Wizard,
which this tab serves as its view. Tests drive the same logic with a stand-in view.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCharts import QChart, QChartView, QLineSeries, QValueAxis
from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import (
    QFileDialog, QFormLayout, QHBoxLayout, QHeaderView, QLabel, QLineEdit, QListWidget,
    QProgressBar, QPushButton, QSpinBox, QStackedWidget, QTableView, QTextBrowser, QVBoxLayout,
    QWidget,
)

from training.evaluate import EvaluateConfig

from desktop.wizard_logic import STEPS, Wizard


class EvalModel(QAbstractTableModel):
    """The evaluation as rows: metric, base model, your style (wizard_logic.evaluation_rows)."""

    COL_METRIC = 0
    COL_BASE = 1
    COL_ADAPTER = 2
    HEADERS = ("metric", "base model", "your style")

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.rows: list[tuple[str, Any, Any]] = []

    def set_rows(self, rows: list[tuple[str, Any, Any]]) -> None:
        self.beginResetModel()
        self.rows = list(rows)
        self.endResetModel()

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else 3

    def headerData(self, section, orientation, role=Qt.DisplayRole):  # noqa: N802
        if orientation == Qt.Horizontal and role == Qt.DisplayRole:
            return self.HEADERS[section]
        return None

    def data(self, index: QModelIndex, role: int = Qt.DisplayRole) -> Any:
        if not index.isValid() or role != Qt.DisplayRole:
            return None
        v = self.rows[index.row()][index.column()]
        return f"{v:.3f}" if isinstance(v, float) else ("—" if v is None else str(v))


class TrainWizard(QWidget):
    def __init__(self, session, use_style=None, parent=None) -> None:
        super().__init__(parent)
        self.session = session
        self.logic = Wizard(self, session.jobs, use_style)

        self.steps = QListWidget()
        self.steps.addItems([f"{i + 1}. {s}" for i, s in enumerate(STEPS)])
        self.steps.setFixedWidth(190)
        self.pages = QStackedWidget()
        self.steps.currentRowChanged.connect(self.pages.setCurrentIndex)

        # 1. files
        self.files = QListWidget()
        add = QPushButton("Add files…")
        add.clicked.connect(self._choose_files)
        self.author = QLineEdit()
        self.author.setPlaceholderText("e.g. My letters")
        self.iters = QSpinBox()
        self.iters.setRange(0, 100_000)
        self.iters.setSpecialValueText("automatic")
        self.start_button = QPushButton("Start training")
        self.start_button.clicked.connect(lambda: self.start())
        self.message = QLabel("")
        self.message.setWordWrap(True)
        p1 = QWidget()
        l1 = QVBoxLayout(p1)
        l1.addWidget(QLabel("Choose texts you wrote (.txt .md .docx .odt .rtf .pdf .epub .html). "
                            "More is better: 20,000 words or more."))
        l1.addWidget(self.files, 1)
        l1.addWidget(add)
        form = QFormLayout()
        form.addRow("Style name", self.author)
        form.addRow("Training steps", self.iters)
        l1.addLayout(form)
        l1.addWidget(self.start_button)
        l1.addWidget(self.message)

        # 2. curation
        self.curation = QTextBrowser()
        # 3. neutralization
        self.neutral_bar = QProgressBar()
        self.neutral_label = QLabel("Each passage gets a plain description of its content; the "
                                    "style model learns to turn such descriptions into your prose.")
        self.neutral_label.setWordWrap(True)
        p3 = QWidget()
        l3 = QVBoxLayout(p3)
        l3.addWidget(self.neutral_label)
        l3.addWidget(self.neutral_bar)
        l3.addStretch(1)
        # 4. training
        self.loss = QLineSeries()
        self.loss.setName("training loss")
        self.val = QLineSeries()
        self.val.setName("validation loss")
        self.chart = QChart()
        self.chart.addSeries(self.loss)
        self.chart.addSeries(self.val)
        self.ax_x, self.ax_y = QValueAxis(), QValueAxis()
        self.ax_x.setTitleText("step")
        self.ax_y.setTitleText("loss")
        self.chart.addAxis(self.ax_x, Qt.AlignBottom)
        self.chart.addAxis(self.ax_y, Qt.AlignLeft)
        for s in (self.loss, self.val):
            s.attachAxis(self.ax_x)
            s.attachAxis(self.ax_y)
        self.chart_view = QChartView(self.chart)
        self.chart_view.setRenderHint(QPainter.Antialiasing)
        self.train_bar = QProgressBar()
        self.train_label = QLabel("")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.logic.cancel)
        self.resume_button = QPushButton("Resume")
        self.resume_button.clicked.connect(self.logic.resume)
        self.resume_button.setEnabled(False)
        p4 = QWidget()
        l4 = QVBoxLayout(p4)
        l4.addWidget(self.chart_view, 1)
        l4.addWidget(self.train_bar)
        row = QHBoxLayout()
        row.addWidget(self.train_label, 1)
        row.addWidget(self.cancel_button)
        row.addWidget(self.resume_button)
        l4.addLayout(row)
        # 5. evaluation
        self.eval_model = EvalModel(self)
        self.eval_view = QTableView()
        self.eval_view.setModel(self.eval_model)
        self.eval_view.verticalHeader().hide()
        self.eval_view.horizontalHeader().setSectionResizeMode(QHeaderView.Stretch)
        self.eval_note = QLabel("")
        self.eval_note.setWordWrap(True)
        p5 = QWidget()
        l5 = QVBoxLayout(p5)
        l5.addWidget(QLabel("Held-out text: how well each model predicts your writing (loss: "
                            "lower is better), then the style harness when it ran."))
        l5.addWidget(self.eval_view, 1)
        l5.addWidget(self.eval_note)
        # 6. use it
        self.use_label = QLabel("")
        self.use_label.setWordWrap(True)
        self.use_button = QPushButton("Use this style")
        self.use_button.setEnabled(False)
        self.use_button.clicked.connect(self.logic.use)
        p6 = QWidget()
        l6 = QVBoxLayout(p6)
        l6.addWidget(self.use_label)
        l6.addWidget(self.use_button)
        l6.addStretch(1)

        for page in (p1, self.curation, p3, p4, p5, p6):
            self.pages.addWidget(page)
        layout = QHBoxLayout(self)
        layout.addWidget(self.steps)
        layout.addWidget(self.pages, 1)
        self.steps.setCurrentRow(0)

    # -- intent --------------------------------------------------------------------------------
    @property
    def job(self):
        return self.logic.job

    @property
    def result(self) -> dict | None:
        return self.logic.result

    def start(self, model: str | None = None, limit_chunks: int | None = None,
              out: str | None = None, harness: EvaluateConfig | None = None) -> bool:
        files = [self.files.item(i).text() for i in range(self.files.count())]
        setting = self.session.settings.model
        spec = model or (None if setting in ("", "default") else setting)
        return self.logic.start(files, self.author.text(), self.iters.value() or None, spec,
                                limit_chunks, out, harness)

    def _choose_files(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, "Your writing")
        self.add_files(files)

    def add_files(self, files) -> None:
        for f in files:
            if not self.files.findItems(str(f), Qt.MatchExactly):
                self.files.addItem(str(f))

    def shutdown(self) -> None:
        self.logic.cancel()

    # -- the view (desktop.wizard_logic.WizardView) ---------------------------------------------
    def current_step(self) -> int:
        return self.steps.currentRow()

    def show_step(self, step: int) -> None:
        self.steps.setCurrentRow(step)

    def show_message(self, text: str) -> None:
        self.message.setText(text)

    def show_status(self, text: str) -> None:
        self.train_label.setText(text)

    def show_curation(self, html: str) -> None:
        self.curation.setHtml(html)

    def show_neutralization(self, done: int, total: int) -> None:
        self.neutral_bar.setMaximum(total)
        self.neutral_bar.setValue(done)

    def clear_losses(self) -> None:
        self.loss.clear()
        self.val.clear()

    def add_loss(self, series: str, step: float, loss: float) -> None:
        (self.loss if series == "train" else self.val).append(step, loss)
        points = self.loss.points() + self.val.points()
        ys = [p.y() for p in points] or [loss]
        self.ax_x.setRange(0, max(step, max((p.x() for p in points), default=1), 1))
        self.ax_y.setRange(max(0.0, min(ys) * 0.9), max(ys) * 1.05 + 1e-6)

    def show_training(self, step: int, iters: int) -> None:
        self.train_bar.setMaximum(iters)
        self.train_bar.setValue(step)

    def show_evaluation(self, rows: list[tuple[str, Any, Any]], note: str) -> None:
        self.eval_model.set_rows(rows)
        self.eval_note.setText(note)

    def show_adapter(self, text: str, usable: bool) -> None:
        self.use_label.setText(text)
        self.use_button.setEnabled(usable)

    def set_running(self, running: bool, can_resume: bool) -> None:
        self.start_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        self.resume_button.setEnabled(can_resume)
