"""The compute backend MLX runs on, and what follows from it.

On Linux the mlx[cpu] wheel links a slow reference BLAS. Preloading OpenBLAS
(Debian: libopenblas0-pthread) makes matmul ~30x faster, but a preload only works
before the process starts, so entry points call `ensure_openblas()` first: it
re-executes the interpreter once with LD_PRELOAD set when the library exists.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

OPENBLAS_CANDIDATES = (
    "/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3",
    "/usr/lib/aarch64-linux-gnu/openblas-pthread/libblas.so.3",
    "/usr/lib64/libopenblas.so.0",
)
_REEXEC_MARK = "KILLAH_OPENBLAS_REEXEC"


def openblas_path() -> str | None:
    for candidate in OPENBLAS_CANDIDATES:
        if Path(candidate).exists():
            return candidate
    return None


def openblas_preloaded() -> bool:
    lib = openblas_path()
    return bool(lib) and lib in os.environ.get("LD_PRELOAD", "")


def openblas_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """A copy of `env` (default os.environ) with OpenBLAS preloaded, where it applies."""
    env = dict(os.environ if env is None else env)
    lib = openblas_path()
    if sys.platform.startswith("linux") and lib and lib not in env.get("LD_PRELOAD", ""):
        env["LD_PRELOAD"] = ":".join(p for p in (lib, env.get("LD_PRELOAD", "")) if p)
    return env


def ensure_openblas(argv: list[str] | None = None) -> None:
    """Re-exec this process with OpenBLAS preloaded (Linux only, once, if available).

    Call it before mlx is imported. KILLAH_NO_OPENBLAS=1 turns it off.
    """
    if not sys.platform.startswith("linux") or os.environ.get("KILLAH_NO_OPENBLAS"):
        return
    if openblas_preloaded() or os.environ.get(_REEXEC_MARK) or openblas_path() is None:
        return
    env = openblas_env()
    env[_REEXEC_MARK] = "1"
    argv = list(sys.argv if argv is None else argv)
    # A frozen app (PyInstaller) is its own interpreter: argv[0] is not a script to run.
    args = [sys.executable, *argv[1:]] if getattr(sys, "frozen", False) else [sys.executable, *argv]
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, args, env)


@dataclass(frozen=True)
class Backend:
    name: str  # "metal", "cuda" or "cpu"
    blas: str  # what does the matmuls on the CPU backend

    @property
    def quantize_by_default(self) -> bool:
        """4-bit weights pay off on GPUs; on the CPU backend quantized matmul is ~20x slower."""
        return self.name in ("metal", "cuda")

    def describe(self) -> str:
        if self.name == "cpu":
            return f"MLX CPU backend ({self.blas})"
        return f"MLX {self.name.upper()} backend"


@lru_cache(maxsize=1)
def backend() -> Backend:
    import mlx.core as mx

    if mx.metal.is_available():
        return Backend("metal", "Accelerate")
    cuda = getattr(mx, "cuda", None)
    if cuda is not None and getattr(cuda, "is_available", lambda: False)():
        return Backend("cuda", "cuBLAS")
    blas = ("OpenBLAS (preloaded)" if openblas_preloaded()
            else "reference BLAS (slow: install OpenBLAS)")
    return Backend("cpu", blas)
