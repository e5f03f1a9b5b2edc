"""The packaged one-folder app (build_app.py) launches offscreen, loads the model, quits cleanly.

Opt-in, because PyInstaller needs several minutes and gigabytes: set KILLAH_TEST_BUILD_APP=1
(it builds into a temporary folder), or KILLAH_APP_DIST=dist/Killah to test an existing build.
See docs/desktop.md for the measured build time.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.real_model,
    pytest.mark.skipif(not (os.environ.get("KILLAH_TEST_BUILD_APP")
                            or os.environ.get("KILLAH_APP_DIST")),
                       reason="opt-in: set KILLAH_TEST_BUILD_APP=1 (builds the app, minutes) "
                              "or KILLAH_APP_DIST=<built app>"),
]


def test_packaged_app_smoke_launch(tmp_path, real_lm):
    sys.path.insert(0, str(REPO))
    from build_app import build, executable

    if os.environ.get("KILLAH_APP_DIST"):
        app = Path(os.environ["KILLAH_APP_DIST"]).resolve()
    else:
        app = build(lite=True, bundle_model=True, sign=False, dist=tmp_path / "dist",
                    work=tmp_path / "build")
    binary = executable(app)
    assert binary.is_file()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KILLAH_", "LD_PRELOAD"))}
    # KILLAH_MODELS_DIR is empty: the first launch installs the model
    env.update(KILLAH_HOME=str(tmp_path / "home"), QT_QPA_PLATFORM="offscreen",
               KILLAH_MODELS_DIR=str(tmp_path / "models"))
    proc = subprocess.run([str(binary), "--smoke", "--no-recover"], env=env, capture_output=True,
                          text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "model ready" in proc.stderr
    assert any((tmp_path / "models").iterdir())  # the shipped model was installed on first launch
