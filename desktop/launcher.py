"""Entry script of the packaged app (PyInstaller runs this file as __main__)."""

import os
import sys


def _preload_openblas_when_frozen() -> None:
    """On Linux, re-exec the frozen binary once with OpenBLAS preloaded (see engine.runtime).

    engine.runtime.ensure_openblas passes sys.argv[0] again, which a frozen binary
    would read as a file to open, so the frozen app does its own re-exec here.
    """
    if not getattr(sys, "frozen", False) or not sys.platform.startswith("linux"):
        return
    from engine.runtime import _REEXEC_MARK, openblas_env, openblas_path, openblas_preloaded

    if openblas_path() is None or openblas_preloaded() or os.environ.get(_REEXEC_MARK):
        return
    env = openblas_env()
    env[_REEXEC_MARK] = "1"
    os.execve(sys.executable, [sys.executable, *sys.argv[1:]], env)


if __name__ == "__main__":
    import multiprocessing

    multiprocessing.freeze_support()
    _preload_openblas_when_frozen()
    from desktop.app import main

    sys.exit(main(sys.argv[1:]))
