"""The "Train my style" flow without widgets: `Wizard(view, jobs)` (mu's `Editor(view)`).

The logic builds a training.pipeline.PipelineConfig from what the user chose,
runs it as one TrainJob on the "train" queue, and turns the pipeline's Progress
events and its result into calls on a `WizardView`: desktop.wizard.TrainWizard
is the real one; tests drive the flow with a stand-in. Resume runs the same
config again: finished stages are skipped and training continues from its
checkpoint.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Protocol

from PySide6.QtCore import QObject, Signal

from engine.progress import Progress
from training.evaluate import EvaluateConfig, EvaluationReport
from training.fitplan import FitConfig
from training.neutralize import NeutralizeConfig
from training.pipeline import PipelineConfig

from desktop.jobs import Cancelled, Job
from desktop.library import format_eta

STEPS = ("Choose files", "Curation report", "Neutralization", "Training", "Evaluation",
         "Use this style")
STEP_FILES, STEP_CURATION, STEP_NEUTRALIZE, STEP_TRAIN, STEP_EVALUATE, STEP_USE = range(6)


class WizardView(Protocol):
    def current_step(self) -> int: ...
    def show_step(self, step: int) -> None: ...
    def show_message(self, text: str) -> None: ...  # under the files
    def show_status(self, text: str) -> None: ...  # under the loss chart
    def show_curation(self, html: str) -> None: ...
    def show_neutralization(self, done: int, total: int) -> None: ...
    def clear_losses(self) -> None: ...
    def add_loss(self, series: str, step: float, loss: float) -> None: ...  # "train" or "val"
    def show_training(self, step: int, iters: int) -> None: ...
    def show_evaluation(self, rows: list[tuple[str, Any, Any]], note: str) -> None: ...
    def show_adapter(self, text: str, usable: bool) -> None: ...
    def set_running(self, running: bool, can_resume: bool) -> None: ...


class TrainingSignals(QObject):
    """The pipeline's Progress events as signals (the worker calls it; the logic listens).

    Training's loss reports (stage "fit", info["event"] "train" or "val") go to
    `train_loss` / `val_loss` with their record; every other stage's event to `stage`.
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
    def prepare(cls, files: list[str] = (), author: str = "", model: str | None = None,
                iters: int | None = None, limit_chunks: int | None = None, out: str | None = None,
                harness: EvaluateConfig | None = None) -> tuple[bool, str, dict]:
        """The pipeline's config from the user's choices (`harness`: the evaluate options)."""
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
            fit=FitConfig(iters=iters), evaluate=harness or EvaluateConfig(harness=False))
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


def evaluation_rows(report: EvaluationReport) -> list[tuple[str, Any, Any]]:
    """(metric, base model, your style): held-out loss and perplexity, then the harness's rows."""
    from training.evaluation.metrics import METRICS

    rows: list[tuple[str, Any, Any]] = []
    for split, row in report.loss.items():
        rows.append((f"{split} loss", row["base"]["loss"], row["adapter"]["loss"]))
        rows.append((f"{split} perplexity", row["base"]["perplexity"],
                     row["adapter"]["perplexity"]))
    h = report.harness
    if h is not None:
        base = h.rows.get("base", {})
        adapter = next((r for c, r in h.rows.items() if c.startswith("lora:")), {})
        for metric, (label, _better) in METRICS.items():
            if metric in base or metric in adapter:
                rows.append((label, base.get(metric), adapter.get(metric)))
    return rows


def evaluation_note(report: EvaluationReport) -> str:
    h = report.harness
    if h is not None:
        return (f"Style harness: {h.n} held-out passages of {h.author}, judged among "
                f"{len(h.candidates)} authors (mean [95% bootstrap interval]).")
    return f"Style harness: {report.harness_skipped}" if report.harness_skipped else ""


def curation_html(r: dict) -> str:
    dropped = "".join(
        f"<li>{reason}: {n} passages ({r['dropped_words'].get(reason, 0)} words)</li>"
        for reason, n in sorted(r.get("dropped", {}).items(), key=lambda kv: -kv[1]))
    return (f"<h3>Curation report — {r.get('author', '')}</h3>"
            f"<p>{len(r.get('files', []))} file(s), language <b>{r.get('language', '?')}</b>.</p>"
            f"<p>In: {r.get('words_in', 0):,} words in {r.get('paragraphs_in', 0):,} paragraphs."
            f"<br>Kept: <b>{r.get('words_out', 0):,} words</b> in {r.get('sections', 0)} sections "
            f"(~{r.get('tokens_estimate', 0):,} tokens).</p>"
            f"<p>Left out:</p><ul>{dropped or '<li>nothing</li>'}</ul>")


class Wizard:
    """The flow: start (or resume) the pipeline, show its progress, then use the style."""

    def __init__(self, view: WizardView, jobs, use_style: Callable[[str], None] | None = None,
                 ) -> None:
        self.view, self.jobs, self.use_style = view, jobs, use_style
        self.job: TrainJob | None = None
        self.last_params: dict | None = None
        self.result: dict | None = None
        self.report: EvaluationReport | None = None

    def start(self, files: list[str], author: str, iters: int | None = None,
              model: str | None = None, limit_chunks: int | None = None, out: str | None = None,
              harness: EvaluateConfig | None = None) -> bool:
        ok, message, params = TrainJob.prepare(files, author, model, iters, limit_chunks, out,
                                               harness)
        if not ok:
            self.view.show_message(message)
            return False
        self.last_params = params
        self.view.clear_losses()
        return self._submit(params)

    def resume(self) -> bool:
        """Run the same pipeline again: finished stages are skipped, training continues."""
        return self.last_params is not None and self._submit(self.last_params)

    def _submit(self, params: dict) -> bool:
        job = TrainJob(params)
        job.signals.stage.connect(self.on_stage)
        job.signals.train_loss.connect(self.on_train_loss)
        job.signals.val_loss.connect(self.on_val_loss)
        job.result.connect(self.on_result)
        job.error.connect(self.on_error)
        job.cancelled.connect(self.on_cancelled)
        self.job = job
        self.view.set_running(True, can_resume=False)
        self.view.show_message("starting…")
        self.jobs.submit(job)
        return True

    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()
            self.view.show_status("cancelling at the next step (a checkpoint is saved)…")

    def use(self) -> bool:
        if not self.result or self.use_style is None:
            return False
        self.use_style(self.result["adapter"])
        self.view.show_adapter(f"In use: {Path(self.result['adapter']).name}", usable=True)
        self.view.show_step(STEP_USE)
        return True

    # -- the job's signals (on the GUI thread) ----------------------------------------------
    def on_stage(self, p: Progress) -> None:
        if p.stage == "curate":
            self.view.show_message(f"curating: {p.message}")
            if p.done is not None and p.total and p.done == p.total:
                report = self.last_params["config"].work_dir() / "curation_report.json"
                if report.is_file():
                    self.view.show_curation(curation_html(json.loads(report.read_text("utf-8"))))
                    self.view.show_step(STEP_CURATION)
        elif p.stage == "neutralize":
            if self.view.current_step() < STEP_NEUTRALIZE:
                self.view.show_step(STEP_NEUTRALIZE)
            if p.total:
                self.view.show_neutralization(p.done or 0, p.total)
        elif p.stage in ("dataset", "fit"):
            self.view.show_step(STEP_TRAIN)
        elif p.stage != "register":  # evaluate, and the harness's own stages inside it
            self.view.show_status(f"evaluating: {p.message}" if p.message else "evaluating…")

    def on_train_loss(self, info: dict) -> None:
        if self.view.current_step() != STEP_TRAIN:
            self.view.show_step(STEP_TRAIN)
        step, loss, iters = info["step"], info["train_loss"], info.get("iters") or 0
        self.view.add_loss("train", step, loss)
        if iters:
            self.view.show_training(step, iters)
        self.view.show_status(f"step {step}/{iters}: loss {loss:.3f}, "
                              f"{info.get('tokens_per_second', 0):.0f} tok/s, "
                              f"ETA {format_eta(info.get('eta_seconds'))}")

    def on_val_loss(self, info: dict) -> None:
        self.view.add_loss("val", info["step"], info["val_loss"])

    def on_result(self, result: dict) -> None:
        self.job = None
        self.result = result
        self.report = EvaluationReport.from_dict(result["report"])
        self.view.set_running(False, can_resume=False)
        self.view.show_evaluation(evaluation_rows(self.report), evaluation_note(self.report))
        self.view.show_adapter(f"Your style is saved as an adapter:\n{result['adapter']}",
                               usable=True)
        self.view.show_message("done")
        self.view.show_step(STEP_EVALUATE)

    def on_error(self, message: str) -> None:
        self.job = None
        self.view.set_running(False, can_resume=self.last_params is not None)
        self.view.show_message(message)
        self.view.show_status(message)

    def on_cancelled(self) -> None:
        self.job = None
        self.view.set_running(False, can_resume=True)
        self.view.show_status("cancelled — Resume continues from the last checkpoint")
        self.view.show_message("cancelled")
