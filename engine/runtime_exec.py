"""`python -m engine.runtime_exec ARGS...`: run `python ARGS...` with OpenBLAS preloaded.

Used by the test and benchmark runners, e.g. `python -m engine.runtime_exec -m pytest`.
"""

import os
import sys

from engine.runtime import openblas_env

if __name__ == "__main__":
    os.execve(sys.executable, [sys.executable, *sys.argv[1:]], openblas_env())
