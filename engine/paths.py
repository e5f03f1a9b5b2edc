"""Where Killah keeps per-user state.

Everything lives under one home folder: the platform's application-data folder
(macOS: ~/Library/Application Support/Killah, Linux: $XDG_DATA_HOME/killah), or
KILLAH_HOME when it is set (the tests always set it to a temporary folder).
"""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_data_dir

APP_NAME = "Killah"


def home() -> Path:
    """The root of all per-user state, created on first use."""
    override = os.environ.get("KILLAH_HOME")
    if override:
        root = Path(override).expanduser()
    else:
        root = Path(user_data_dir(APP_NAME if _is_macos() else APP_NAME.lower(), appauthor=False))
    _mkdir(root)
    return root


def _mkdir(path: Path) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        from engine.errors import KillahError

        raise KillahError(f"cannot create the folder {path}: {e.strerror}") from e


def _is_macos() -> bool:
    import sys

    return sys.platform == "darwin"


def _sub(name: str) -> Path:
    path = home() / name
    _mkdir(path)
    return path


def models_dir() -> Path:
    """Converted models. KILLAH_MODELS_DIR can point it elsewhere, so test runs share one cache."""
    override = os.environ.get("KILLAH_MODELS_DIR")
    if override:
        path = Path(override).expanduser()
        _mkdir(path)
        return path
    return _sub("models")


def adapters_dir() -> Path:
    return _sub("adapters")


def runs_dir() -> Path:
    return _sub("runs")


def autosave_dir() -> Path:
    return _sub("autosave")


def index_path() -> Path:
    return home() / "index.sqlite"


def settings_path() -> Path:
    return home() / "settings.json"


def feedback_path() -> Path:
    """The writer's feedback on suggestions (engine.feedback); never leaves this machine."""
    return home() / "feedback.sqlite"


def vocabulary_path() -> Path:
    """The personal vocabulary (engine.voice.vocabulary)."""
    return home() / "vocabulary.json"


def memory_dir() -> Path:
    """Per-document notes (engine.memory)."""
    return _sub("memory")
