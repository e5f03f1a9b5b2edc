"""The evaluate stage: loss and perplexity base vs adapter, then the style harness.

1. Loss/perplexity of the base model and of base + adapter on the test split
   (and the validation split), computed with mlx-lm's `evaluate`, the adapter
   applied through engine.adapters (the same unfused stack the app uses).
2. The style evaluation harness (training.evaluation.runner.run, a library call
   on the same loaded model) with the conditions `base` and `lora:<run folder>`
   on held-out works of the author, when a folder of them is given.

Both go into the run's report.json, whose one shape is `EvaluationReport`.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

from engine.errors import KillahError
from engine.progress import ProgressCallback, report_progress
from training.evaluation.report import Report


@dataclass(frozen=True)
class EvaluateConfig:
    run_dir: str = field(default="", metadata={
        "help": "fit run folder (holds adapters.safetensors)"})
    data: str | None = field(default=None, metadata={
        "help": "dataset folder (default: the one the run trained on)"})
    model: str | None = field(default=None, metadata={"help": "base model (default: the run's)"})
    batches: int = field(default=-1, metadata={"help": "loss batches per split (-1: all)"})
    harness: bool = field(default=True, metadata={
        "help": "also run the style harness, base vs adapter (needs a harness author)"})
    harness_n: int = field(default=20, metadata={
        "help": "held-out passages the harness writes per condition"})
    harness_author: str | None = field(default=None, metadata={
        "help": "the harness's target: an author folder name among the candidate corpora"})
    harness_author_dir: str | None = field(default=None, metadata={
        "help": "the harness's target: a folder of the author's .txt works (ideally ones "
                "not trained on)"})
    harness_candidates: str | None = field(default=None, metadata={
        "help": "folder of candidate author folders for the harness's judge "
                "(default: the corpora of the same language)"})


@dataclass
class EvaluationReport:
    """report.json of a run: held-out loss base vs adapter, and the harness's Report."""

    run_dir: str
    loss: dict[str, dict[str, dict[str, float]]]  # split -> "base"/"adapter" -> loss, perplexity
    val_curve: list[dict] = field(default_factory=list)
    final_train_loss: float | None = None
    harness: Report | None = None
    harness_skipped: str | None = None  # why there is no harness report

    def to_dict(self) -> dict:
        d = {"run_dir": self.run_dir, "loss": self.loss, "val_curve": self.val_curve,
             "final_train_loss": self.final_train_loss}
        if self.harness is not None:
            d["harness"] = self.harness.to_dict()
        elif self.harness_skipped:
            d["harness"] = {"skipped": self.harness_skipped}
        return d

    @classmethod
    def from_dict(cls, d: dict) -> EvaluationReport:
        h = d.get("harness") or {}
        return cls(d["run_dir"], d.get("loss") or {}, list(d.get("val_curve") or []),
                   d.get("final_train_loss"), Report.from_dict(h) if "rows" in h else None,
                   h.get("skipped"))


def split_loss(
    lm, dataset, batch_size: int, max_seq_length: int, batches: int, transform=None
) -> float:
    from mlx_lm.tuner.trainer import evaluate

    from training.fit import quiet_mlx_lm

    undo = transform.apply(lm.model) if transform is not None else None
    try:
        with quiet_mlx_lm():
            return float(evaluate(lm.model, dataset, batch_size=batch_size, num_batches=batches,
                                  max_seq_length=max_seq_length))
    finally:
        if undo:
            undo()


def loss_table(lm, run_dir: Path, data: Path, batches: int) -> dict:
    from engine.adapters import AdapterStack, load_adapter
    from training.fit import load_data

    plan = json.loads((run_dir / "plan.json").read_text("utf-8"))
    _, valid, test = load_data(data, lm.tokenizer, lm)
    stack = AdapterStack([load_adapter(run_dir)])  # at its trained scale
    out = {}
    for name, ds in (("valid", valid), ("test", test)):
        if not len(ds):
            continue
        bs = max(1, min(plan["batch_size"], len(ds)))
        row = {}
        for cond, t in (("base", None), ("adapter", stack)):
            loss = split_loss(lm, ds, bs, plan["max_seq_length"], batches, t)
            row[cond] = {"loss": round(loss, 4), "perplexity": round(math.exp(min(loss, 50)), 2)}
        out[name] = row
    return out


def harness_config(cfg: EvaluateConfig, run_dir: Path):
    """The harness's StyleEvalConfig for base vs this run's adapter (None: no target given)."""
    from training.evaluation.report import StyleEvalConfig

    if not (cfg.harness_author_dir or cfg.harness_author):
        return None
    return StyleEvalConfig(
        author=cfg.harness_author,
        author_dir=cfg.harness_author_dir,
        candidates=cfg.harness_candidates,
        conditions=("base", f"lora:{run_dir}"),
        n=cfg.harness_n,
        model=cfg.model,
    )


def run(cfg: EvaluateConfig, progress: ProgressCallback | None = None,
        lm=None) -> EvaluationReport:
    """Loss base vs adapter and (when asked and possible) the harness; also writes report.json."""
    from engine.atomic import write_json
    from engine.models import load_model
    from training.evaluation import runner

    run_dir = Path(cfg.run_dir).expanduser()
    if not (run_dir / "adapters.safetensors").is_file():
        raise KillahError(f"run folder {run_dir}: no finished adapter "
                          "(run `killah train fit` first)")
    fit = json.loads((run_dir / "fit.json").read_text("utf-8"))
    plan = json.loads((run_dir / "plan.json").read_text("utf-8"))
    data = Path(cfg.data or plan.get("data") or fit.get("data", ""))
    lm = lm or load_model(cfg.model or fit["model_path"])
    report_progress(progress, "evaluate", 0, 2, message="loss base vs adapter")
    report = EvaluationReport(str(run_dir), loss_table(lm, run_dir, data, cfg.batches),
                              fit.get("val_losses", []), fit.get("final_train_loss"))
    if cfg.harness:
        report_progress(progress, "evaluate", 1, 2, message="style harness")
        style = harness_config(cfg, run_dir)
        if style is None:
            report.harness_skipped = "no --harness-author or --harness-author-dir given"
        else:
            report.harness = runner.run(style, lm=lm, progress=progress)
    write_json(run_dir / "report.json", report.to_dict())
    report_progress(progress, "evaluate", 2, 2)
    return report


def build_parser() -> argparse.ArgumentParser:
    from training.config import stage_parser

    return stage_parser(
        "killah train evaluate",
        "Loss base vs adapter, and the style harness, into the run report.",
        EvaluateConfig,
    )


def human(r: EvaluationReport) -> str:
    lines = []
    for split, row in r.loss.items():
        base, adapter = row["base"], row["adapter"]
        lines.append(f"{split}: base loss {base['loss']:.3f} (ppl {base['perplexity']}), "
                     f"adapter {adapter['loss']:.3f} (ppl {adapter['perplexity']})")
    if r.harness is not None:
        lines.append(r.harness.markdown())
    elif r.harness_skipped:
        lines.append(f"harness: {r.harness_skipped}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from engine.clikit import emit
    from training.config import from_args

    args = build_parser().parse_args(argv)
    report = run(from_args(EvaluateConfig, args))
    emit(args, report.to_dict(), human=lambda _d: human(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
