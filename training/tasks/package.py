"""Ship a trained rewrite task adapter into resources/adapters/<name> (mlx-lm format + metadata).

    python -m training.tasks.package --run-dir RUN --data DATA_DIR [--name rewrite] [--metrics FILE]

The weights are stored as float16 (half the size; LoRA deltas lose nothing measurable at
that precision), beside mlx-lm's adapter_config.json and Killah's metadata.json: the base
model's id and hash, the tasks it serves, its prompt format, the data recipe and licences
(from the data folder's manifest.json), the training settings and losses, and the bench
metrics when given. The folder is staged and renamed in one step.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

from engine import tasks

RESOURCES = Path(__file__).resolve().parents[2] / "resources" / "adapters"
REBUILD = "scripts/build_rewrite_adapter.sh DATA_DIR"


def _json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def history(run_dir: Path) -> dict:
    """The losses over the whole run from its progress log (training.fit's summary holds only
    the last invocation's: a run stopped and finalised at a checkpoint would show none)."""
    path = run_dir / "progress.jsonl"
    events = []
    for line in path.read_text(encoding="utf-8").splitlines() if path.is_file() else ():
        try:
            events.append(json.loads(line))
        except ValueError:
            continue
    vals = {e["step"]: e["val_loss"] for e in events if e.get("event") == "val"}
    trains = [e for e in events if e.get("event") == "train"]
    speeds = [e["tokens_per_second"] for e in trains if e.get("tokens_per_second")]
    return {"val_losses": [{"step": k, "val_loss": v} for k, v in sorted(vals.items())],
            "final_train_loss": trains[-1]["train_loss"] if trains else None,
            "tokens_per_second": sum(speeds) / len(speeds) if speeds else None}


def package(run_dir: Path, data_dir: Path, name: str = "rewrite", out: Path = RESOURCES,
            metrics: dict | None = None, lm=None, extra: dict | None = None,
            languages: list[str] | None = None) -> Path:
    """Stage and ship the run's adapter; `languages` (default: those of its training data)
    are the texts it serves (engine.style leaves other languages to the base frames)."""
    import mlx.core as mx

    from engine.adapters import (
        ADAPTER_CONFIG,
        ADAPTER_METADATA,
        ADAPTER_WEIGHTS,
        METADATA_FORMAT,
        base_identity,
    )
    from engine.models import load_model

    fit = _json(run_dir / "fit.json")
    if fit.get("status") not in ("done", "stopped early"):
        raise SystemExit(f"training.tasks.package: {run_dir} holds no finished run (fit.json status done)")
    lm = lm or load_model(fit.get("model_path"))
    plan = fit.get("plan", {})
    past = history(run_dir)
    licences = _json(data_dir / "manifest.json").get("licences") or {}
    weights = {k: v.astype(mx.float16) for k, v in mx.load(str(run_dir / ADAPTER_WEIGHTS)).items()}
    metadata = {
        "format": METADATA_FORMAT, "name": name, "author": None, "task": "rephrase",
        "tasks": ["rephrase", *tasks.PRESETS, "like_me"], "prompt_format": tasks.TASK_FRAME,
        "languages": languages or _json(data_dir / "manifest.json").get("languages") or ["en"],
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "base_model": {**base_identity(lm), "source_sha256": getattr(lm, "source_sha256", None)},
        "data": _json(data_dir / "manifest.json"),
        "training": {**{k: plan.get(k) for k in (
            "rank", "scale", "dropout", "keys", "num_layers", "learning_rate", "iters", "batch_size",
            "grad_accumulation_steps", "max_seq_length", "seed", "train_tokens", "n_train", "n_valid")},
            "steps": fit.get("step"),
            "final_train_loss": fit.get("final_train_loss") or past["final_train_loss"],
            "val_losses": past["val_losses"] or fit.get("val_losses"),
            "tokens_per_second": fit.get("train_tokens_per_second") or past["tokens_per_second"],
            "wall_seconds": fit.get("wall_seconds")},
        "metrics": metrics or {},
        "rebuild": REBUILD,
        **({"licence": "Weights trained on: " + "; ".join(f"{k}: {v}" for k, v in sorted(licences.items()))}
           if licences else {}),
        "perturbation": {"input_noise": 0.0, "seed": 0},
        **(extra or {}),
    }
    if "beta" in fit:  # a DPO run (training.tasks.dpo) over an SFT adapter
        metadata["dpo"] = {k: fit.get(k) for k in (
            "sft_adapter", "pairs", "train_pairs", "valid_pairs", "beta", "sft_weight", "learning_rate",
            "batch_size", "step", "status", "kept", "best", "wall_seconds", "first", "last")}
    target = out / name
    stage = out / f".{name}.staging"
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir(parents=True)
    mx.save_safetensors(str(stage / ADAPTER_WEIGHTS), weights)
    config = _json(run_dir / ADAPTER_CONFIG)
    config["model"] = "google/gemma-3-270m"  # not this machine's path: the bundled base
    (stage / ADAPTER_CONFIG).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    (stage / ADAPTER_METADATA).write_text(json.dumps(metadata, indent=2, ensure_ascii=False) + "\n",
                                          encoding="utf-8")
    old = out / f".{name}.old"
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        target.rename(old)
    stage.rename(target)
    shutil.rmtree(old, ignore_errors=True)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.tasks.package", description=__doc__.split("\n\n")[0])
    parser.add_argument("--run-dir", type=Path, required=True, help="the fit run folder")
    parser.add_argument("--data", type=Path, required=True, help="the data folder (with manifest.json)")
    parser.add_argument("--name", default="rewrite")
    parser.add_argument("--out", type=Path, default=RESOURCES)
    parser.add_argument("--metrics", type=Path, help="a JSON file of bench metrics to record")
    parser.add_argument("--status", default="", help="one line on how far the run got (metadata)")
    parser.add_argument("--languages", default="",
                        help="comma-separated languages it serves (default: its training data's)")
    args = parser.parse_args(argv)
    metrics = _json(args.metrics) if args.metrics else None
    langs = [x.strip() for x in args.languages.split(",") if x.strip()] or None
    extra = {"status": args.status} if args.status else None
    print(package(args.run_dir, args.data, args.name, args.out, metrics, extra=extra, languages=langs))
    return 0


if __name__ == "__main__":
    from engine.runtime import ensure_openblas

    ensure_openblas()
    sys.exit(main())
