"""Shared fixtures.

Every test gets a fresh KILLAH_HOME in a temporary folder. Converted models are
shared across the whole run in .killah-test-home/models (KILLAH_MODELS_DIR), so
the real bundled models are converted once per run (once per clean clone on CI).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
SHARED_MODELS = Path(os.environ.get("KILLAH_TEST_MODELS", REPO / ".killah-test-home" / "models"))

os.environ.setdefault("KILLAH_MODELS_DIR", str(SHARED_MODELS))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("KILLAH_QUIET", "1")


@pytest.fixture(autouse=True)
def killah_home(tmp_path, monkeypatch) -> Path:
    home = tmp_path / "killah-home"
    monkeypatch.setenv("KILLAH_HOME", str(home))
    return home


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data: the real corpora, quality pairs and lexicons."""
    path = SHARED / "data"
    if not path.exists():
        pytest.fail(f"shared data folder missing: {path}")
    return path


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    """A random-weight Gemma-3-shaped model saved as a real MLX model folder."""
    from tests.tiny_model import make_tiny_model

    return make_tiny_model(tmp_path_factory.mktemp("tiny-model"))


@pytest.fixture(scope="session")
def tiny_lm(tiny_model_dir):
    from engine.models import load_model

    return load_model(str(tiny_model_dir))


@pytest.fixture(scope="session")
def real_lm():
    """The real bundled Gemma 3 270M base, converted once per run and shared."""
    from engine.models import load_model

    return load_model(None)
