"""Builds the window's panels over the engine's and training's parts. A panel whose part is
missing from this build is replaced by an honest "not available yet" notice naming it."""

from __future__ import annotations

import importlib

from PySide6.QtWidgets import QLabel


def _missing(what: str, module: str) -> QLabel:
    label = QLabel(f"{what} is not available yet: this build lacks {module}.")
    label.setWordWrap(True)
    label.setObjectName("not_available")
    return label


def _have(*modules: str) -> str | None:
    """The first module that cannot be imported, or None."""
    for m in modules:
        try:
            importlib.import_module(m)
        except ImportError:
            return m
    return None


def build_panels(window) -> dict:
    s, editor = window.session, window.editor
    panels: dict = {}

    gap = _have("engine.persona", "engine.adapters", "engine.index")
    if gap:
        panels["persona"] = _missing("Persona & adapters", gap)
    else:
        from desktop.persona_panel import PersonaPanel

        panels["persona"] = PersonaPanel(s, editor)

    gap = _have("engine.index")
    if gap:
        panels["library"] = _missing("The library", gap)
    else:
        from desktop.library import LibraryPanel

        panels["library"] = LibraryPanel(s)

    gap = _have("engine.voice.listen", "PySide6.QtMultimedia")
    if not gap:
        from desktop.dictation import DictationBar

        panels["dictation"] = DictationBar(s, editor, window)

    gap = _have("training.cli", "PySide6.QtCharts")
    if gap:
        panels["wizard"] = _missing("Train my style", gap)
    else:
        from desktop.wizard import TrainWizard

        persona = panels["persona"]
        use = getattr(persona, "use_adapter", None)
        panels["wizard"] = TrainWizard(s, use_style=use)

    from desktop.settings_panel import SettingsPanel

    panels["settings"] = SettingsPanel(s)
    return panels
