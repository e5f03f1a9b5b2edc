"""Register a trained adapter: mlx-lm's folder format plus Killah's metadata.json.

    adapters/<name>/
        adapters.safetensors   # mlx-lm: `mlx_lm.generate --adapter-path adapters/<name>`
        adapter_config.json    # mlx-lm
        metadata.json          # killah-adapter v1: base model id + hash, author, language,
                               # corpus stats, training and perturbation settings, eval scores

The folder is staged and renamed into place in one step (engine.atomic.staging_dir).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from engine.errors import KillahError
from engine.progress import ProgressCallback, report_progress


@dataclass(frozen=True)
class RegisterConfig:
    run_dir: str = field(default="", metadata={"help": "fit run folder"})
    name: str | None = field(
        default=None, metadata={"help": "adapter name (default: the author's)"}
    )
    author: str | None = field(
        default=None, metadata={"help": "author (default: from the dataset)"}
    )
    out: str | None = field(default=None, metadata={"help": "adapters folder (default: the app's)"})


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return {}


def build_metadata(run_dir: Path, lm, author: str | None, name: str) -> dict:
    from engine.adapters import METADATA_FORMAT, base_identity

    fit = _read_json(run_dir / "fit.json")
    plan = fit.get("plan") or _read_json(run_dir / "plan.json")
    data_dir = Path(fit.get("data") or "")
    dataset = _read_json(data_dir / "dataset.json") if fit.get("data") else {}
    curation = {}
    neutralized = dataset.get("source")
    if neutralized:
        from training.neutralize import read_checkpoint

        header, _ = read_checkpoint(Path(neutralized))
        if header and header.get("corpus"):
            curation = _read_json(Path(header["corpus"]).with_name("curation_report.json"))
    report = _read_json(run_dir / "report.json")
    return {
        "format": METADATA_FORMAT,
        "name": name,
        "author": author or dataset.get("author") or curation.get("author"),
        "language": curation.get("language") or dataset.get("language"),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "base_model": {**base_identity(lm), "source_sha256": getattr(lm, "source_sha256", None)},
        "task": "restyle",
        "corpus": {
            k: curation.get(k)
            for k in ("files", "words_in", "words_out", "tokens_estimate", "sections", "dropped")
        },
        "dataset": {
            k: dataset.get(k)
            for k in ("train", "valid", "test", "train_chunks", "variants", "words")
        },
        "training": {
            **{
                k: plan.get(k)
                for k in (
                    "rank",
                    "scale",
                    "dropout",
                    "keys",
                    "num_layers",
                    "learning_rate",
                    "iters",
                    "batch_size",
                    "grad_accumulation_steps",
                    "max_seq_length",
                    "grad_checkpoint",
                    "seed",
                    "notes",
                )
            },
            "steps": fit.get("step"),
            "final_train_loss": fit.get("final_train_loss"),
            "val_losses": fit.get("val_losses"),
            "tokens_per_second": fit.get("train_tokens_per_second"),
        },
        "augment": dataset.get("augment") or {},
        "perturbation": dataset.get("perturbation") or {"input_noise": 0.0, "seed": 0},
        "evaluation": report,
    }


def run(cfg: RegisterConfig, progress: ProgressCallback | None = None, lm=None) -> dict:
    from engine import paths
    from engine.adapters import (
        ADAPTER_CONFIG,
        ADAPTER_METADATA,
        ADAPTER_WEIGHTS,
        AdapterStack,
        load_adapter,
    )
    from engine.atomic import staging_dir
    from engine.models import load_model
    from training.curate import slug

    run_dir = Path(cfg.run_dir).expanduser()
    fit = _read_json(run_dir / "fit.json")
    if fit.get("status") != "done" or not (run_dir / ADAPTER_WEIGHTS).is_file():
        raise KillahError(f"run folder {run_dir}: no finished training run to register")
    lm = lm or load_model(fit["model_path"])
    dataset = _read_json(Path(fit.get("data", "")) / "dataset.json")
    author = cfg.author or dataset.get("author")
    name = cfg.name or slug(author or run_dir.name)
    target = Path(cfg.out).expanduser() / name if cfg.out else paths.adapters_dir() / name
    metadata = build_metadata(run_dir, lm, author, name)
    with staging_dir(target) as tmp:
        shutil.copyfile(run_dir / ADAPTER_WEIGHTS, tmp / ADAPTER_WEIGHTS)
        shutil.copyfile(run_dir / ADAPTER_CONFIG, tmp / ADAPTER_CONFIG)
        (tmp / ADAPTER_METADATA).write_text(
            json.dumps(metadata, indent=2, ensure_ascii=False) + "\n", "utf-8"
        )
        AdapterStack.for_model(lm, [load_adapter(tmp)])  # refuse to register what will not load
    report_progress(progress, "register", 1, 1)
    return {"adapter": str(target), "metadata": metadata}


def build_parser() -> argparse.ArgumentParser:
    from training.config import stage_parser

    return stage_parser("killah train register", "Register a trained adapter.",
                        RegisterConfig)


def main(argv: list[str] | None = None) -> int:
    from engine.clikit import emit

    from training.config import from_args

    args = build_parser().parse_args(argv)
    result = run(from_args(RegisterConfig, args))
    emit(args, result, human=lambda r: f"registered {r['adapter']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
