"""Training tokens/s: Killah's fit vs plain `mlx_lm lora`, same model, data and config, one run.

    python -m engine.runtime_exec bench/train.py --data DATA_DIR [--model M] [--iters 30]
        [--batch-size 2] [--max-seq-length 512] [--rank 16] [--scale 10] [--report 5] [--json]

DATA_DIR holds train.jsonl / valid.jsonl (e.g. from `killah train dataset`). Both runs use
rank/scale/dropout/keys/lr/batch/sequence length alike, validate once at step 1 (mlx-lm always
does), and report every `--report` steps; tokens/s is the mean over the reports after the first
(the first holds compilation). The two runs alternate (ours, mlx-lm, ours, mlx-lm) when
--rounds > 1, so machine load drifts affect both. Target: ours >= 0.95x.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_ROW = re.compile(r"^\s*(\d+)\s+([\d.]+)\s*[▼▲]\s+([\d,]+)\s+([\d.]+)k\s*$")


def ours(args, model_path: str, work: Path) -> list[float]:
    from training.fit import FitConfig, run

    run_dir = work / f"ours-{len(list(work.glob('ours-*')))}"
    run(FitConfig(data=args.data, model=model_path, run_dir=str(run_dir), iters=args.iters,
                  batch_size=args.batch_size, max_seq_length=args.max_seq_length, rank=args.rank,
                  scale=args.scale, dropout=0.0, learning_rate=1e-4, steps_per_report=args.report,
                  steps_per_eval=10**6, val_batches=1, save_every=10**6, memory_limit_gb=1e3))
    rows = [json.loads(line) for line in (run_dir / "progress.jsonl").read_text().splitlines()]
    return [r["tokens_per_second"] for r in rows if r["event"] == "train"][1:]


def plain(args, model_path: str, work: Path) -> list[float]:
    from training.fit import ALL_KEYS

    out = work / f"mlx-{len(list(work.glob('mlx-*')))}"
    config = work / "mlx_lm.yaml"
    config.write_text(json.dumps({"lora_parameters": {"rank": args.rank, "scale": args.scale, "dropout": 0.0,
                                                      "keys": list(ALL_KEYS)}}))
    cmd = [sys.executable, "-m", "mlx_lm", "lora", "--model", model_path, "--train", "--data", args.data,
           "--iters", str(args.iters), "--batch-size", str(args.batch_size),
           "--max-seq-length", str(args.max_seq_length), "--num-layers", "-1", "--learning-rate", "1e-4",
           "--steps-per-report", str(args.report), "--steps-per-eval", str(10**6), "--val-batches", "1",
           "--save-every", str(10**6), "--adapter-path", str(out), "-c", str(config)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "COLUMNS": "200"})
    if proc.returncode:
        raise SystemExit(f"mlx_lm lora failed:\n{proc.stderr[-3000:]}")
    tps = []
    for line in _ANSI.sub("", proc.stdout + proc.stderr).splitlines():
        m = _ROW.match(line)
        if m:
            tps.append(float(m.group(3).replace(",", "")))
    if not tps:
        raise SystemExit(f"no tokens/s rows in mlx_lm output:\n{proc.stdout[-2000:]}")
    return tps[1:]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True)
    p.add_argument("--model", default=None, help="MLX model folder or spec (default: the bundled model)")
    p.add_argument("--iters", type=int, default=30)
    p.add_argument("--batch-size", type=int, default=2)
    p.add_argument("--max-seq-length", type=int, default=512)
    p.add_argument("--rank", type=int, default=16)
    p.add_argument("--scale", type=float, default=10.0)
    p.add_argument("--report", type=int, default=5)
    p.add_argument("--rounds", type=int, default=1)
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)

    from engine.models import load_model
    from engine.runtime import backend

    lm = load_model(args.model)
    model_path = str(lm.path)
    del lm
    work = Path(tempfile.mkdtemp(prefix="bench-train-"))
    os.environ.setdefault("KILLAH_HOME", str(work / "home"))
    a, b = [], []
    for _ in range(args.rounds):
        a += ours(args, model_path, work)
        b += plain(args, model_path, work)
    result = {
        "backend": backend().describe(), "model": model_path, "iters": args.iters,
        "batch_size": args.batch_size, "max_seq_length": args.max_seq_length, "rank": args.rank,
        "ours_tokens_per_second": round(statistics.mean(a), 1),
        "mlx_lm_tokens_per_second": round(statistics.mean(b), 1),
        "ratio": round(statistics.mean(a) / statistics.mean(b), 3),
        "ours_windows": [round(x, 1) for x in a], "mlx_lm_windows": [round(x, 1) for x in b],
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"| run | tokens/s |\n|---|---|\n| killah fit | {result['ours_tokens_per_second']} |\n"
              f"| mlx_lm lora | {result['mlx_lm_tokens_per_second']} |\n| ratio | {result['ratio']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
