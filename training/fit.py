"""Fine-tune a style LoRA with mlx-lm's tuner: plan, train, checkpoint, resume.

The training loop is mlx-lm's (`mlx_lm.tuner.trainer.train` with `TrainingArgs`
and a `TrainingCallback`); this module adds what the app needs around it:

- defaults chosen by model size (measured, see `SIZE_DEFAULTS`), reduced for
  small corpora, and a memory estimate that shrinks the batch (keeping the
  effective batch with gradient accumulation), turns on gradient checkpointing
  and shortens sequences until the run fits, saying what it changed;
- progress as JSON lines in the run folder (step, loss, val loss, tokens/s, ETA),
  and as engine.progress `Progress` events (stage "fit", one per report, the
  JSON record as `info`) to the caller;
- cancel through an engine.progress `CancelToken`;
- crash-safe checkpoints (training/checkpoint.py: adapter weights + optimizer
  state + step in one safetensors file, written atomically), so a run killed
  with SIGKILL resumes where its last checkpoint was when re-run, its step count
  continuing and its data order unchanged.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import math
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Callable

from engine.errors import KillahError
from engine.progress import CancelToken, ProgressCallback, report_progress

from training.checkpoint import (
    CHECKPOINT,
    RUN_FORMAT,
    read_checkpoint,
    reseed,
    restore_checkpoint,
    save_checkpoint,
)
from training.completions import CompletionData, completion_loss, with_start
from training.fitplan import (  # noqa: F401 - re-exported: the fit API in one place
    ALL_KEYS,
    SIZE_DEFAULTS,
    FitConfig,
    FitPlan,
    available_memory_gb,
    estimate_memory_gb,
    lora_param_count,
    plan,
    size_defaults,
)

PROGRESS = "progress.jsonl"


class TrainingCancelled(Exception):
    pass


# -- progress ---------------------------------------------------------------------------------


class ProgressLog:
    """Appends one JSON object per line to the run's progress.jsonl (flushed each time)."""

    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._f = open(path, "a", encoding="utf-8")

    def write(self, record: dict) -> None:
        self._f.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._f.flush()

    def close(self) -> None:
        self._f.close()


def _trainer_callback_base():
    from mlx_lm.tuner.callbacks import TrainingCallback

    return TrainingCallback


class FitCallback(_trainer_callback_base()):
    """mlx-lm's TrainingCallback, adapted: its reports become progress, checkpoints and cancels.

    The trainer reports every step (steps_per_report=1); this aggregates them over
    `report_every` steps, adds the steps done before a resume, writes each record
    to progress.jsonl and sends it on as a `Progress("fit", step, iters, "step",
    info=record)`, where record["event"] is "train", "val" or "checkpoint".
    """

    def __init__(self, plan: FitPlan, model, optimizer, run_dir: Path, start_step: int,
                 report_every: int, save_every: int, progress: ProgressCallback | None = None,
                 cancel: CancelToken | None = None, log: ProgressLog | None = None):
        self.plan, self.model, self.optimizer = plan, model, optimizer
        self.run_dir, self.start = run_dir, start_step
        self.report_every, self.save_every = max(1, report_every), max(1, save_every)
        self.progress, self.cancel, self.log = progress, cancel, log
        self.step = start_step
        self._reset_window()
        self._prev_tokens = 0
        self.train_time = 0.0
        self.trained_tokens = 0
        self.last_train_loss: float | None = None
        self.val_losses: list[tuple[int, float]] = []

    def _reset_window(self) -> None:
        self._window_loss, self._window_steps = 0.0, 0
        self._window_tokens, self._window_time = 0, 0.0

    def on_train_loss_report(self, info: dict) -> None:
        self.step = self.start + int(info["iteration"])
        tokens = int(info["trained_tokens"]) - self._prev_tokens
        self._prev_tokens = int(info["trained_tokens"])
        seconds = tokens / info["tokens_per_second"] if info["tokens_per_second"] else 0.0
        self._window_loss += float(info["train_loss"])
        self._window_steps += 1
        self._window_tokens += tokens
        self._window_time += seconds
        self.train_time += seconds
        self.trained_tokens += tokens
        last = self.step == self.plan.iters
        if self.step % self.report_every == 0 or last:
            done = self.step - self.start
            per_step = self.train_time / max(done, 1)
            record = {
                "event": "train",
                "step": self.step,
                "iters": self.plan.iters,
                "train_loss": self._window_loss / self._window_steps,
                "learning_rate": float(info["learning_rate"]),
                "tokens_per_second": (
                    self._window_tokens / self._window_time if self._window_time else 0.0
                ),
                "trained_tokens": self.trained_tokens,
                "peak_memory_gb": float(info["peak_memory"]),
                "eta_seconds": round(per_step * (self.plan.iters - self.step), 1),
                "time": time.time(),
            }
            self.last_train_loss = record["train_loss"]
            self._emit(record, f"loss {record['train_loss']:.3f}")
            self._reset_window()
        accum = self.plan.grad_accumulation_steps
        cancelled = self.cancel is not None and self.cancel.cancelled
        if self.step % accum == 0 and not last and (self.step % self.save_every == 0 or cancelled):
            save_checkpoint(
                self.run_dir / CHECKPOINT,
                self.model,
                self.optimizer,
                self.step,
                self.plan.identity_hash(),
            )
            reseed(self.plan.seed, self.step)
            self._emit({"event": "checkpoint", "step": self.step, "time": time.time()},
                       f"checkpoint at step {self.step}")
        if cancelled and self.step % accum == 0:
            raise TrainingCancelled(self.step)

    def on_val_loss_report(self, info: dict) -> None:
        step = self.start + int(info["iteration"])
        loss = float(info["val_loss"])
        self.val_losses.append((step, loss))
        self._emit({"event": "val", "step": step, "val_loss": loss,
                    "val_perplexity": math.exp(min(loss, 50)), "val_time": float(info["val_time"]),
                    "time": time.time()}, f"validation loss {loss:.3f}")

    def _emit(self, record: dict, message: str) -> None:
        if self.log:
            self.log.write(record)
        report_progress(self.progress, "fit", record["step"], self.plan.iters, "step", message,
                        **record)


# -- data -------------------------------------------------------------------------------------


def load_data(data: str | Path, tokenizer, lm=None):
    """(train, valid, test) datasets of a folder: mlx-lm text records, or prompt/completion
    records (training.completions: the loss on the completion only; needs `lm`)."""
    from types import SimpleNamespace

    from mlx_lm.tuner.datasets import CacheDataset, load_local_dataset

    from training.completions import CompletionData, is_completion_data

    folder = Path(data).expanduser()
    if not (folder / "train.jsonl").is_file():
        raise KillahError(
            f"training data {folder}: no train.jsonl (run `killah train dataset` first)"
        )
    splits = [folder / f"{name}.jsonl" for name in ("train", "valid", "test")]
    records = [[json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
               if path.is_file() else [] for path in splits]
    if is_completion_data(records[0]) and lm is not None:
        return tuple(CacheDataset(CompletionData(r, lm)) if r else [] for r in records)
    try:
        train, valid, test = load_local_dataset(
            folder, tokenizer, SimpleNamespace(mask_prompt=False)
        )
    except (ValueError, KeyError) as e:
        raise KillahError(f"training data {folder}: {e}") from e
    return (
        CacheDataset(train),
        (CacheDataset(valid) if len(valid) else valid),
        (CacheDataset(test) if len(test) else test),
    )


def resumable_batches(seed: int, skip: int) -> Callable:
    """mlx-lm's `iterate_batches`, with a per-epoch seed for training and `skip` batches dropped.

    Each epoch's order depends only on (seed, epoch), not on how many validation
    passes ran before it, so a resumed run sees exactly the batches it would have.
    """
    from mlx_lm.tuner.trainer import iterate_batches

    def iterate(dataset, batch_size, max_seq_length, loop=False, seed_=None, comm_group=None):
        if not loop:  # validation: the same batches every pass, so its losses compare
            yield from iterate_batches(dataset, batch_size, max_seq_length, loop=False, seed=seed,
                                       comm_group=comm_group)
            return
        to_skip = skip
        epoch = 0
        while True:
            for batch in iterate_batches(dataset, batch_size, max_seq_length, loop=False,
                                         seed=seed + epoch, comm_group=comm_group):
                if to_skip:
                    to_skip -= 1
                    continue
                yield batch
            epoch += 1

    return iterate


@contextlib.contextmanager
def quiet_mlx_lm():
    """mlx-lm's trainer prints a rich progress table to stdout; keep stdout for results."""
    from mlx_lm.cli_ui import make_console

    console = make_console()
    was = console.quiet
    console.quiet = True
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        console.quiet = was


# -- the stage --------------------------------------------------------------------------------


def default_run_dir(cfg: FitConfig) -> Path:
    from engine import paths

    key = hashlib.sha256(str(Path(cfg.data).expanduser().resolve()).encode()).hexdigest()[:10]
    return paths.runs_dir() / f"fit-{key}"


def adapter_config(plan: FitPlan, model_path: str) -> dict:
    """adapter_config.json as mlx-lm writes it, so `mlx_lm.generate --adapter-path` loads it."""
    return {
        "model": model_path,
        "fine_tune_type": "lora",
        "num_layers": plan.num_layers,
        "lora_parameters": plan.lora_parameters(),
        "batch_size": plan.batch_size,
        "iters": plan.iters,
        "learning_rate": plan.learning_rate,
        "max_seq_length": plan.max_seq_length,
        "grad_accumulation_steps": plan.grad_accumulation_steps,
        "grad_checkpoint": plan.grad_checkpoint,
        "seed": plan.seed,
    }


def run(cfg: FitConfig, progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None, lm=None) -> dict:
    """Train (or resume) a LoRA; returns the run summary (also written to fit.json)."""
    import mlx.core as mx
    import mlx.optimizers as optim
    import numpy as np
    from mlx.utils import tree_flatten
    from mlx_lm.tuner.trainer import TrainingArgs, train
    from mlx_lm.tuner.utils import build_schedule, linear_to_lora_layers, remove_lora_layers

    from engine import atomic
    from engine.models import load_model

    if not cfg.data:
        raise KillahError("fit needs --data: a folder with train.jsonl and valid.jsonl")
    lm = lm or load_model(cfg.model)
    run_dir = Path(cfg.run_dir).expanduser() if cfg.run_dir else default_run_dir(cfg)
    run_dir.mkdir(parents=True, exist_ok=True)
    train_set, valid_set, _ = load_data(cfg.data, lm.tokenizer, lm)
    completions = isinstance(getattr(train_set, "_data", None), CompletionData)
    lengths = [len(train_set[i][0]) for i in range(len(train_set))]
    p = plan(cfg, lm, lengths, len(valid_set))

    ckpt_path = run_dir / CHECKPOINT
    if cfg.fresh:
        for name in (CHECKPOINT, PROGRESS, "adapters.safetensors", "fit.json"):
            with contextlib.suppress(FileNotFoundError):
                (run_dir / name).unlink()
    found = read_checkpoint(ckpt_path)
    start = 0
    if found:
        arrays, meta = found
        if meta.get("plan") != p.identity_hash():
            raise KillahError(
                f"run folder {run_dir} holds a checkpoint of different settings; "
                "pass --fresh to start over or choose another --run-dir"
            )
        start = int(meta["step"])
    finished = run_dir / "fit.json"
    if finished.is_file() and (run_dir / "adapters.safetensors").is_file():
        summary = json.loads(finished.read_text("utf-8"))
        if summary.get("plan", {}).get("iters") == p.iters and summary.get("status") == "done":
            return summary  # already done: re-running is a no-op

    data_dir = str(Path(cfg.data).expanduser().resolve())
    atomic.write_json(run_dir / "plan.json", {"format": RUN_FORMAT, "data": data_dir, **asdict(p)})
    mx.random.seed(cfg.seed)
    np.random.seed(cfg.seed)
    model = lm.model
    model.freeze()
    linear_to_lora_layers(
        model, p.num_layers if p.num_layers > 0 else len(model.layers), p.lora_parameters()
    )
    lr = p.learning_rate
    if p.warmup:
        lr = build_schedule(
            {"name": "cosine_decay", "arguments": [p.learning_rate, p.iters], "warmup": p.warmup}
        )
    optimizer = optim.Adam(learning_rate=lr)
    if start:
        restore_checkpoint(arrays, model, optimizer)
        reseed(cfg.seed, start)

    log = ProgressLog(run_dir / PROGRESS)
    log.write(
        {
            "event": "start",
            "step": start,
            "iters": p.iters,
            "resumed": bool(start),
            "time": time.time(),
            "plan": asdict(p),
        }
    )
    cb = FitCallback(p, model, optimizer, run_dir, start, cfg.steps_per_report, cfg.save_every,
                     progress=progress, cancel=cancel, log=log)
    targs = TrainingArgs(
        batch_size=p.batch_size,
        iters=p.iters - start,
        val_batches=cfg.val_batches,
        steps_per_report=1,
        steps_per_eval=cfg.steps_per_eval,
        steps_per_save=p.iters + 1,
        max_seq_length=p.max_seq_length,
        adapter_file=str(run_dir / ".trainer-last.safetensors"),
        grad_checkpoint=p.grad_checkpoint,
        grad_accumulation_steps=p.grad_accumulation_steps,
    )
    status = "done"
    tic = time.perf_counter()
    try:
        if start < p.iters:
            with quiet_mlx_lm():
                batches = resumable_batches(cfg.seed, start)
                extra = {}
                if completions:  # the loss on the completion, the output layer only there
                    extra = {"loss": completion_loss,
                             "iterate_batches": lambda *a, **k: with_start(batches(*a, **k))}
                train(model=model, optimizer=optimizer, train_dataset=train_set,
                      val_dataset=valid_set if len(valid_set) else None, args=targs,
                      **{"iterate_batches": batches, **extra}, training_callback=cb)
    except TrainingCancelled:
        status = "cancelled"
    finally:
        log.write({"event": "end", "status": status, "step": cb.step, "time": time.time()})
        log.close()
        with contextlib.suppress(FileNotFoundError):
            (run_dir / ".trainer-last.safetensors").unlink()

    weights = dict(tree_flatten(model.trainable_parameters()))
    remove_lora_layers(model)
    summary = {
        "format": RUN_FORMAT,
        "status": status,
        "run_dir": str(run_dir),
        "step": cb.step,
        "resumed_from": start,
        "plan": asdict(p),
        "final_train_loss": cb.last_train_loss,
        "val_losses": [{"step": s, "val_loss": v} for s, v in cb.val_losses],
        "train_tokens_per_second": cb.trained_tokens / cb.train_time if cb.train_time else None,
        "trained_tokens": cb.trained_tokens,
        "wall_seconds": round(time.perf_counter() - tic, 1),
        "model_path": str(lm.path),
        "model_id": lm.model_id,
        "data": data_dir,
    }
    if status == "done":
        with atomic.writing(run_dir / "adapters.safetensors") as tmp:
            mx.save_safetensors(str(tmp), weights)
        atomic.write_json(run_dir / "adapter_config.json", adapter_config(p, str(lm.path)))
        with contextlib.suppress(FileNotFoundError):
            ckpt_path.unlink()
        atomic.write_json(finished, summary)
    return summary


def build_parser() -> argparse.ArgumentParser:
    from training.config import stage_parser

    return stage_parser("killah train fit", "Fine-tune a style LoRA with mlx-lm.", FitConfig)


def main(argv: list[str] | None = None) -> int:
    from engine.clikit import emit
    from training.progress import CliProgress

    from training.config import from_args

    args = build_parser().parse_args(argv)
    cfg = from_args(FitConfig, args)
    with CliProgress() as progress:
        summary = run(cfg, progress=progress)
    emit(args, summary, human=_human)
    return 0 if summary["status"] == "done" else 1


def _human(s: dict) -> str:
    p = s["plan"]
    vals = ", ".join(f"{v['val_loss']:.3f}@{v['step']}" for v in s["val_losses"])
    lines = [f"{s['status']}: step {s['step']}/{p['iters']} in {s['run_dir']}",
             f"train loss {s['final_train_loss']}, val loss {vals}",
             f"{(s['train_tokens_per_second'] or 0):.0f} tokens/s"]
    lines += [f"note: {n}" for n in p["notes"]]
    return "\n".join(lines)


if __name__ == "__main__":
    from engine.runtime import ensure_openblas

    ensure_openblas()
    sys.exit(main())
