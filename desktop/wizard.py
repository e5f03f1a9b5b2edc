"""The "Train my style" tab: files -> curation report -> neutralization -> training (live loss
chart, ETA, cancel/resume) -> evaluation report -> "use this style".

The whole pipeline is training.cli.run_all on the "train" queue; it resumes when
run again on the same work folder, which is what Resume does.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from PySide6.QtCharts import QChart, QChartView, QLineSeries, QValueAxis
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, Qt, Signal
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import (
    QFileDialog, QFormLayout, QHBoxLayout, QHeaderView, QLabel, QLineEdit, QListWidget, QProgressBar,
    QPushButton, QSpinBox, QStackedWidget, QTableView, QTextBrowser, QVBoxLayout, QWidget,
)

from engine.progress import Progress
from training.evaluate import EvaluateConfig
from training.fitplan import FitConfig
from training.neutralize import NeutralizeConfig
from training.pipeline import PipelineConfig

from desktop.jobs import Cancelled, Job
from desktop.library import format_eta

STEPS = ("Choose files", "Curation report", "Neutralization", "Training", "Evaluation", "Use this style")


class TrainingSignals(QObject):
    """The pipeline's Progress events as signals (the worker calls it; widgets listen).

    Training's loss reports (stage "fit", info["event"] "train" or "val") go to
    `train_loss` / `val_loss` with their record; every other event to `stage`.
    """

    stage = Signal(object)  # an engine.progress.Progress
    train_loss = Signal(dict)
    val_loss = Signal(dict)

    def __call__(self, p: Progress) -> None:
        event = p.info.get("event")
        if event == "train":
            self.train_loss.emit(dict(p.info))
        elif event == "val":
            self.val_loss.emit(dict(p.info))
        elif event is None:
            self.stage.emit(p)


class TrainJob(Job):
    resource = "train"
    title = "training"

    @classmethod
    def prepare(cls, files: list[str] = (), author: str = "", model: str | None = None, iters: int | None = None,
                limit_chunks: int | None = None, out: str | None = None) -> tuple[bool, str, dict]:
        if not files:
            return False, "choose at least one file of your writing", {}
        missing = [f for f in files if not Path(f).is_file()]
        if missing:
            return False, f"file not found: {missing[0]}", {}
        if not author.strip():
            return False, "give the style a name (whose writing is it?)", {}
        config = PipelineConfig(
            files=tuple(files), author=author.strip(), out=out, model=model,
            neutralize=NeutralizeConfig(workers=1, limit_chunks=limit_chunks),
            fit=FitConfig(iters=iters), evaluate=EvaluateConfig(harness=False))
        return True, "", {"config": config}

    def __init__(self, params: dict | None = None, parent=None) -> None:
        super().__init__(params, parent)
        self.signals = TrainingSignals()

    def run(self) -> dict:
        from training import pipeline

        result = pipeline.run(self.params["config"], progress=self.signals, cancel=self.token)
        if result["status"] != "done":
            raise Cancelled()
        return result


class EvalModel(QAbstractTableModel):
    """The evaluation report as rows: metric, base, adapter."""

    COL_METRIC = 0
    COL_BASE = 1
    COL_ADAPTER = 2
    HEADERS = ("metric", "base model", "your style")

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.rows: list[tuple[str, Any, Any]] = []

    def set_report(self, report: dict) -> None:
        rows = []
        for split, row in (report.get("loss") or {}).items():
            rows.append((f"{split} loss", row["base"]["loss"], row["adapter"]["loss"]))
            rows.append((f"{split} perplexity", row["base"]["perplexity"], row["adapter"]["perplexity"]))
        harness = report.get("harness") or {}
        for metric, values in (harness.get("table") or harness.get("metrics") or {}).items():
            if isinstance(values, dict):
                base = values.get("base")
                adapter = next((v for k, v in values.items() if k != "base"), None)
                rows.append((metric, base, adapter))
        self.beginResetModel()
        self.rows = rows
        self.endResetModel()

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else 3

    def headerData(self, section, orientation, role=Qt.DisplayRole):  # noqa: N802
        return self.HEADERS[section] if orientation == Qt.Horizontal and role == Qt.DisplayRole else None

    def data(self, index: QModelIndex, role: int = Qt.DisplayRole) -> Any:
        if not index.isValid() or role != Qt.DisplayRole:
            return None
        v = self.rows[index.row()][index.column()]
        return f"{v:.3f}" if isinstance(v, float) else ("—" if v is None else str(v))


def curation_html(r: dict) -> str:
    dropped = "".join(f"<li>{reason}: {n} passages ({r['dropped_words'].get(reason, 0)} words)</li>"
                      for reason, n in sorted(r.get("dropped", {}).items(), key=lambda kv: -kv[1]))
    return (f"<h3>Curation report — {r.get('author', '')}</h3>"
            f"<p>{len(r.get('files', []))} file(s), language <b>{r.get('language', '?')}</b>.</p>"
            f"<p>In: {r.get('words_in', 0):,} words in {r.get('paragraphs_in', 0):,} paragraphs.<br>"
            f"Kept: <b>{r.get('words_out', 0):,} words</b> in {r.get('sections', 0)} sections "
            f"(~{r.get('tokens_estimate', 0):,} tokens).</p>"
            f"<p>Left out:</p><ul>{dropped or '<li>nothing</li>'}</ul>")


class TrainWizard(QWidget):
    adapter_ready = Signal(str)

    def __init__(self, session, use_style=None, parent=None) -> None:
        super().__init__(parent)
        self.session = session
        self.use_style = use_style  # callable(adapter_path) from the window
        self.job: TrainJob | None = None
        self.last_params: dict | None = None
        self.result: dict | None = None

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
        self.start_button.clicked.connect(self.start)
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
        self.neutral_label = QLabel("Each passage gets a plain description of its content; the style "
                                    "model learns to turn such descriptions into your prose.")
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
        self.cancel_button.clicked.connect(self.cancel)
        self.resume_button = QPushButton("Resume")
        self.resume_button.clicked.connect(self.resume)
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
        l5.addWidget(QLabel("Held-out text: how well each model predicts your writing (lower is better)."))
        l5.addWidget(self.eval_view, 1)
        l5.addWidget(self.eval_note)
        # 6. use it
        self.use_label = QLabel("")
        self.use_label.setWordWrap(True)
        self.use_button = QPushButton("Use this style")
        self.use_button.setEnabled(False)
        self.use_button.clicked.connect(self._use)
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

    def go(self, step: int) -> None:
        self.steps.setCurrentRow(step)

    def _choose_files(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, "Your writing")
        self.add_files(files)

    def add_files(self, files) -> None:
        for f in files:
            if not self.files.findItems(str(f), Qt.MatchExactly):
                self.files.addItem(str(f))

    # -- running ---------------------------------------------------------------------------
    def start(self, model: str | None = None, limit_chunks: int | None = None, out: str | None = None) -> bool:
        files = [self.files.item(i).text() for i in range(self.files.count())]
        spec = model or (None if self.session.settings.model in ("", "default") else self.session.settings.model)
        ok, message, params = TrainJob.prepare(files, self.author.text(), spec, self.iters.value() or None,
                                               limit_chunks, out)
        if not ok:
            self.message.setText(message)
            return False
        self.last_params = params
        self.loss.clear()
        self.val.clear()
        return self._submit(params)

    def resume(self) -> bool:
        """Run the same pipeline again: finished stages are skipped, training continues."""
        return self.last_params is not None and self._submit(self.last_params)

    def _submit(self, params: dict) -> bool:
        job = TrainJob(params)
        job.signals.stage.connect(self._on_stage)
        job.signals.train_loss.connect(self._on_train_loss)
        job.signals.val_loss.connect(self._on_val_loss)
        job.result.connect(self._on_result)
        job.error.connect(self._on_error)
        job.cancelled.connect(self._on_cancelled)
        self.job = job
        self.start_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.resume_button.setEnabled(False)
        self.message.setText("starting…")
        self.session.jobs.submit(job)
        return True

    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()
            self.train_label.setText("cancelling at the next step (a checkpoint is saved)…")

    def _work_dir(self) -> Path:
        return self.last_params["config"].work_dir()

    def _on_stage(self, e: Progress) -> None:
        stage, done, total = e.stage, e.done, e.total
        if stage == "curate":
            self.message.setText(f"curating: {e.message}")
            if done is not None and total and done == total:
                report = self._work_dir() / "curation_report.json"
                if report.is_file():
                    self.curation.setHtml(curation_html(json.loads(report.read_text("utf-8"))))
                    self.go(1)
        elif stage == "neutralize":
            if self.steps.currentRow() < 2:
                self.go(2)
            if total:
                self.neutral_bar.setMaximum(total)
                self.neutral_bar.setValue(done or 0)
        elif stage in ("dataset", "fit"):
            self.go(3)
        elif stage == "evaluate":
            self.train_label.setText(f"evaluating: {e.message}")

    def _on_train_loss(self, info: dict) -> None:
        if self.steps.currentRow() != 3:
            self.go(3)
        step, loss = info["step"], info["train_loss"]
        self.loss.append(step, loss)
        self._rescale(step, loss)
        iters = info.get("iters") or 0
        if iters:
            self.train_bar.setMaximum(iters)
            self.train_bar.setValue(step)
        self.train_label.setText(f"step {step}/{iters}: loss {loss:.3f}, "
                                 f"{info.get('tokens_per_second', 0):.0f} tok/s, "
                                 f"ETA {format_eta(info.get('eta_seconds'))}")

    def _on_val_loss(self, info: dict) -> None:
        self.val.append(info["step"], info["val_loss"])
        self._rescale(info["step"], info["val_loss"])

    def _rescale(self, step: float, loss: float) -> None:
        points = self.loss.points() + self.val.points()
        ys = [p.y() for p in points] or [loss]
        self.ax_x.setRange(0, max(step, max((p.x() for p in points), default=1), 1))
        self.ax_y.setRange(max(0.0, min(ys) * 0.9), max(ys) * 1.05 + 1e-6)

    def _finish(self) -> None:
        self.job = None
        self.start_button.setEnabled(True)
        self.cancel_button.setEnabled(False)

    def _on_result(self, result: dict) -> None:
        self._finish()
        self.result = result
        self.eval_model.set_report(result.get("report") or {})
        harness = (result.get("report") or {}).get("harness") or {}
        self.eval_note.setText(f"Style harness: {harness.get('skipped')}" if harness.get("skipped") else "")
        self.use_label.setText(f"Your style is saved as an adapter:\n{result['adapter']}")
        self.use_button.setEnabled(True)
        self.message.setText("done")
        self.go(4)
        self.adapter_ready.emit(result["adapter"])

    def _on_error(self, message: str) -> None:
        self._finish()
        self.message.setText(message)
        self.train_label.setText(message)
        self.resume_button.setEnabled(self.last_params is not None)

    def _on_cancelled(self) -> None:
        self._finish()
        self.train_label.setText("cancelled — Resume continues from the last checkpoint")
        self.message.setText("cancelled")
        self.resume_button.setEnabled(True)

    def _use(self) -> None:
        if self.result and self.use_style is not None:
            self.use_style(self.result["adapter"])
            self.use_label.setText(f"In use: {Path(self.result['adapter']).name}")
            self.go(5)

    def shutdown(self) -> None:
        self.cancel()
