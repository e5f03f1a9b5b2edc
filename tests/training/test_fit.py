"""Fine-tuning with mlx-lm's tuner: loss falls, cancel and kill -9 resume where they stopped."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import mlx.core as mx
import pytest

from engine.errors import KillahError
from engine.progress import CancelToken
from tests.training.conftest import read_jsonl
from training.fit import CHECKPOINT, FitConfig, plan, run

REPO = Path(__file__).resolve().parents[2]
QUICK = dict(batch_size=2, max_seq_length=96, learning_rate=1e-3, steps_per_report=1, val_batches=2)


def test_a_few_steps_lower_the_training_loss(tiny_lm, small_dataset, tmp_path):
    summary = run(FitConfig(data=str(small_dataset), run_dir=str(tmp_path / "run"), iters=12,
                            steps_per_eval=6, **QUICK), lm=tiny_lm)
    assert summary["status"] == "done" and summary["step"] == 12
    losses = [r["train_loss"] for r in read_jsonl(tmp_path / "run" / "progress.jsonl") if r["event"] == "train"]
    assert len(losses) == 12
    assert sum(losses[-3:]) / 3 < sum(losses[:3]) / 3 - 0.3
    vals = summary["val_losses"]
    assert vals[-1]["val_loss"] < vals[0]["val_loss"]
    assert (tmp_path / "run" / "adapters.safetensors").is_file()
    assert not (tmp_path / "run" / CHECKPOINT).exists()  # a finished run keeps no stale checkpoint
    config = json.loads((tmp_path / "run" / "adapter_config.json").read_text())
    assert config["fine_tune_type"] == "lora" and config["lora_parameters"]["rank"] == summary["plan"]["rank"]


def test_cancel_saves_a_checkpoint_and_a_rerun_continues(tiny_lm, small_dataset, tmp_path):
    cancel = CancelToken()
    seen = []

    def stop_at_four(p):
        seen.append(p)
        if p.info["event"] == "train" and p.done == 4:
            cancel.cancel()

    cfg = FitConfig(data=str(small_dataset), run_dir=str(tmp_path / "run"), iters=8, save_every=100,
                    steps_per_eval=100, **QUICK)
    first = run(cfg, progress=stop_at_four, cancel=cancel, lm=tiny_lm)
    assert first["status"] == "cancelled" and first["step"] == 4
    assert {(p.stage, p.total, p.unit) for p in seen} == {("fit", 8, "step")}
    events = [p.info["event"] for p in seen]  # mlx-lm validates at the first step too
    assert [e for e in events if e != "val"] == ["train"] * 4 + ["checkpoint"] and "val" in events
    assert (tmp_path / "run" / CHECKPOINT).is_file()
    second = run(cfg, lm=tiny_lm)
    assert second["status"] == "done" and second["resumed_from"] == 4 and second["step"] == 8
    steps = [r["step"] for r in read_jsonl(tmp_path / "run" / "progress.jsonl") if r["event"] == "train"]
    assert steps == [1, 2, 3, 4, 5, 6, 7, 8]


def _fit_cmd(tiny_model_dir, data, run_dir) -> list[str]:
    return [sys.executable, "-m", "training.fit", "--data", str(data), "--model", str(tiny_model_dir),
            "--run-dir", str(run_dir), "--iters", "40", "--save-every", "4", "--steps-per-report", "1",
            "--steps-per-eval", "1000", "--val-batches", "1", "--batch-size", "2", "--max-seq-length", "96",
            "--learning-rate", "1e-3", "--dropout", "0.1", "--json"]


def test_kill_9_during_fit_then_rerun_resumes_and_matches_an_uninterrupted_run(
        tiny_model_dir, small_dataset, tmp_path):
    from engine.runtime import openblas_env

    env = openblas_env()
    env["PYTHONPATH"] = str(REPO)
    env["KILLAH_HOME"] = str(tmp_path / "home")
    killed_dir, clean_dir = tmp_path / "killed", tmp_path / "clean"
    proc = subprocess.Popen(_fit_cmd(tiny_model_dir, small_dataset, killed_dir), cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    progress = killed_dir / "progress.jsonl"
    deadline = time.monotonic() + 240
    checkpoint_step = 0
    while time.monotonic() < deadline and proc.poll() is None:
        if progress.is_file():
            events = [json.loads(line) for line in progress.read_text().splitlines() if line.endswith("}")]
            steps = [e["step"] for e in events if e["event"] == "checkpoint"]
            if steps and steps[-1] >= 8:
                checkpoint_step = steps[-1]
                break
        time.sleep(0.02)
    assert proc.poll() is None, "fit finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert checkpoint_step >= 8
    assert not (killed_dir / "fit.json").exists()

    out = subprocess.run(_fit_cmd(tiny_model_dir, small_dataset, killed_dir), cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    resumed = json.loads(out.stdout)
    assert resumed["status"] == "done" and resumed["step"] == 40
    assert resumed["resumed_from"] >= checkpoint_step
    starts = [e for e in read_jsonl(killed_dir / "progress.jsonl") if e["event"] == "start"]
    assert starts[-1]["resumed"] and starts[-1]["step"] == resumed["resumed_from"]
    after = [e["step"] for e in read_jsonl(killed_dir / "progress.jsonl")
             if e["event"] == "train" and e["time"] >= starts[-1]["time"]]
    assert after == list(range(resumed["resumed_from"] + 1, 41))  # the step count continues

    subprocess.run(_fit_cmd(tiny_model_dir, small_dataset, clean_dir), cwd=REPO, env=env,
                   capture_output=True, text=True, timeout=300, check=True)
    a = mx.load(str(killed_dir / "adapters.safetensors"))
    b = mx.load(str(clean_dir / "adapters.safetensors"))
    assert a.keys() == b.keys()
    for k in a:  # same data order, optimizer state and dropout RNG: the same weights
        assert mx.allclose(a[k], b[k], atol=1e-5).item(), k


def test_plan_reduces_batch_for_little_memory_and_says_so(tiny_lm):
    lengths = [80] * 200
    roomy = plan(FitConfig(data="d", memory_limit_gb=64), tiny_lm, lengths, 20)
    assert roomy.batch_size == 8 and roomy.grad_accumulation_steps == 1 and roomy.rank == 16
    tight_gb = roomy.memory_estimate_gb / 3
    tight = plan(FitConfig(data="d", memory_limit_gb=tight_gb), tiny_lm, lengths, 20)
    assert tight.batch_size * tight.grad_accumulation_steps == 8  # same effective batch
    assert tight.batch_size < 8 and tight.memory_estimate_gb <= tight_gb
    assert any("memory" in n for n in tight.notes)
    with pytest.raises(KillahError, match="GB"):
        plan(FitConfig(data="d", memory_limit_gb=1e-4), tiny_lm, lengths, 20)


def test_plan_shrinks_for_a_small_corpus(tiny_lm):
    small = plan(FitConfig(data="d", memory_limit_gb=64), tiny_lm, [50] * 20, 2)
    assert small.batch_size == 2 and small.rank == 8
    assert small.iters == round(0.87 * 20 / 2)
    assert small.max_seq_length == 64  # no memory planned for lengths nobody uses
