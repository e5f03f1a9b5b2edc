#!/usr/bin/env bash
# Install everything, prepare the bundled model (once), and open Killah.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
.venv/bin/killah models prepare
exec .venv/bin/killah app "$@"
