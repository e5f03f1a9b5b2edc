#!/usr/bin/env bash
# Install everything, lint (ruff, configured in pyproject.toml), then run the whole test
# suite (real models are converted once per run into .killah-test-home/models and shared
# by every test).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
.venv/bin/ruff check .
export QT_QPA_PLATFORM=offscreen
exec .venv/bin/python -m engine.runtime_exec -m pytest "$@"
