"""Builds the window's panels over the engine's and training's parts.

Our own modules are always there; only Qt add-on modules that a PySide6 install
may lack (QtMultimedia for dictation, QtCharts for the wizard's loss chart) are
checked, and a panel without its module is an honest "not available" notice.
"""

from __future__ import annotations

import importlib.util

from PySide6.QtWidgets import QLabel


def _missing(what: str, module: str) -> QLabel:
    label = QLabel(f"{what} is not available: this PySide6 install lacks {module}.")
    label.setWordWrap(True)
    label.setObjectName("not_available")
    return label


def _has_qt(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def build_panels(window) -> dict:
    from desktop.library import LibraryPanel
    from desktop.persona_panel import PersonaPanel
    from desktop.settings_panel import SettingsPanel

    s, editor = window.session, window.editor
    panels: dict = {"persona": PersonaPanel(s, editor), "library": LibraryPanel(s)}
    if _has_qt("PySide6.QtMultimedia"):
        from desktop.dictation import DictationBar

        panels["dictation"] = DictationBar(s, editor, window)
    if _has_qt("PySide6.QtCharts"):
        from desktop.wizard import TrainWizard

        panels["wizard"] = TrainWizard(s, use_style=panels["persona"].use_adapter)
    else:
        panels["wizard"] = _missing("Train my style", "PySide6.QtCharts")
    panels["settings"] = SettingsPanel(s)
    return panels
