#!/usr/bin/env bash
# Rebuild the shipped rewrite task adapter (resources/adapters/rewrite) from the offline data.
#
#   scripts/build_rewrite_adapter.sh DATA_DIR [WORK_DIR]
#
# 1. training.tasks.build: faithful rewrite pairs (Bible versions, LAMP edits) -> train/valid.jsonl
# 2. training.fit (mlx-lm's tuner, resumable: re-run the script after an interruption)
# 3. training.tasks.package: float16 weights + metadata.json into resources/adapters/rewrite
# Measured on a 2-core CPU: see docs/rewrite.md (run it under the team's heavy-job lock).
set -euo pipefail
DATA=${1:?usage: scripts/build_rewrite_adapter.sh DATA_DIR [WORK_DIR]}
if [ ! -f "$DATA/style_bench/bible_parallel/bible_7_versions_parallel.jsonl" ]; then
    echo "build_rewrite_adapter: $DATA has no style_bench/bible_parallel (pass the shared data folder)" >&2
    exit 2
fi
WORK=${2:-runs/rewrite}
cd "$(dirname "$0")/.."
PY=(python -m engine.runtime_exec)
"${PY[@]}" -m training.tasks.build "$DATA" --out "$WORK/data"
"${PY[@]}" -m training.fit --data "$WORK/data" --run-dir "$WORK/fit" \
    --rank 8 --scale 10 --dropout 0.05 --learning-rate 2e-4 --warmup 5 \
    --batch-size 8 --epochs 1 --steps-per-eval 30 --save-every 10
"${PY[@]}" -m training.tasks.package --run-dir "$WORK/fit" --data "$WORK/data"
