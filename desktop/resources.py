"""Where the app's resources are: the repo's resources/ folder, or the frozen app's copy."""

from __future__ import annotations

import sys
from pathlib import Path


def resources_dir() -> Path:
    frozen = getattr(sys, "_MEIPASS", None)  # PyInstaller unpacks data files here
    if frozen:
        return Path(frozen) / "resources"
    return Path(__file__).resolve().parents[1] / "resources"


def app_icon():
    from PySide6.QtGui import QIcon

    png = resources_dir() / "icon.png"
    return QIcon(str(png)) if png.exists() else None
