"""The evaluate stage: loss and perplexity base vs adapter, then the style harness.

1. Loss/perplexity of the base model and of base + adapter on the test split
   (and the validation split), computed with mlx-lm's `evaluate`, the adapter
   applied through engine.adapters (the same unfused stack the app uses).
2. The style evaluation harness (`killah eval style`, training/evaluation) with
   the conditions `base` and `lora:<run folder>` on held-out chunks of the author.

Both go into the run's report.json.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

from engine.errors import KillahError
from engine.progress import ProgressCallback, report_progress


@dataclass(frozen=True)
class EvaluateConfig:
    run_dir: str = field(default="", metadata={"help": "fit run folder (holds adapters.safetensors)"})
    data: str | None = field(default=None, metadata={"help": "dataset folder (default: the one the run trained on)"})
    model: str | None = field(default=None, metadata={"help": "base model (default: the run's)"})
    batches: int = field(default=-1, metadata={"help": "loss batches per split (-1: all)"})
    harness: bool = field(default=True, metadata={"help": "also run the style harness (base vs adapter)"})
    harness_n: int = field(default=20, metadata={"help": "held-out passages the harness writes per condition"})
    harness_author: str | None = field(default=None, metadata={"help": "corpora author folder name for the harness"})
    harness_author_dir: str | None = field(default=None, metadata={"help": "folder of the author's .txt works for the harness"})


def split_loss(lm, dataset, batch_size: int, max_seq_length: int, batches: int, transform=None) -> float:
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
    _, valid, test = load_data(data, lm.tokenizer)
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


def run_harness(cfg: EvaluateConfig, run_dir: Path) -> dict:
    """`killah eval style` in-process, base vs this adapter; its JSON document, or why it was skipped."""
    try:
        from training.evaluation import cli as harness_cli
    except ImportError as e:
        return {"skipped": f"style harness not available ({e})"}
    argv = ["style", "--conditions", f"base,lora:{run_dir}", "-n", str(cfg.harness_n), "--json"]
    if cfg.harness_author_dir:
        argv += ["--author-dir", cfg.harness_author_dir]
    elif cfg.harness_author:
        argv += ["--author", cfg.harness_author]
    else:
        return {"skipped": "no --harness-author / --harness-author-dir given"}
    if cfg.model:
        argv += ["--model", cfg.model]
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = harness_cli.main(argv)
    if rc:
        return {"skipped": f"harness exited with {rc}", "argv": argv}
    try:
        return json.loads(buf.getvalue())
    except ValueError:
        return {"skipped": "harness printed no JSON", "argv": argv}


def run(cfg: EvaluateConfig, progress: ProgressCallback | None = None) -> dict:
    from engine.atomic import write_json
    from engine.models import load_model

    run_dir = Path(cfg.run_dir).expanduser()
    if not (run_dir / "adapters.safetensors").is_file():
        raise KillahError(f"run folder {run_dir}: no finished adapter (run `killah train fit` first)")
    fit = json.loads((run_dir / "fit.json").read_text("utf-8"))
    data = Path(cfg.data or json.loads((run_dir / "plan.json").read_text("utf-8")).get("data") or fit.get("data", ""))
    lm = load_model(cfg.model or fit["model_path"])
    report_progress(progress, "evaluate", 0, 2, message="loss base vs adapter")
    report = {"run_dir": str(run_dir), "loss": loss_table(lm, run_dir, data, cfg.batches),
              "val_curve": fit.get("val_losses", []), "final_train_loss": fit.get("final_train_loss")}
    if cfg.harness:
        report_progress(progress, "evaluate", 1, 2, message="style harness")
        report["harness"] = run_harness(cfg, run_dir)
    write_json(run_dir / "report.json", report)
    report_progress(progress, "evaluate", 2, 2)
    return report


def build_parser() -> argparse.ArgumentParser:
    from training.config import stage_parser

    return stage_parser("killah train evaluate", "Loss base vs adapter, and the style harness, into the run report.",
                        EvaluateConfig)


def human(r: dict) -> str:
    lines = []
    for split, row in r["loss"].items():
        lines.append(f"{split}: base loss {row['base']['loss']:.3f} (ppl {row['base']['perplexity']}), "
                     f"adapter {row['adapter']['loss']:.3f} (ppl {row['adapter']['perplexity']})")
    h = r.get("harness") or {}
    lines.append(f"harness: {h.get('skipped') or 'see report.json'}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from engine.clikit import emit

    from training.config import from_args

    args = build_parser().parse_args(argv)
    emit(args, run(from_args(EvaluateConfig, args)), human=human)
    return 0


if __name__ == "__main__":
    sys.exit(main())
