"""Light and dark themes that follow the system colour scheme.

macOS's native style follows the system by itself. Elsewhere the Fusion style is
used with a palette chosen from QStyleHints.colorScheme() (Qt >= 6.5), and
re-chosen when the system scheme changes.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette

DARK = {
    QPalette.Window: "#1f2023", QPalette.WindowText: "#e6e6e6", QPalette.Base: "#16171a",
    QPalette.AlternateBase: "#24262a", QPalette.Text: "#e6e6e6", QPalette.Button: "#2a2c31",
    QPalette.ButtonText: "#e6e6e6", QPalette.Highlight: "#3d6fb6",
    QPalette.HighlightedText: "#ffffff", QPalette.ToolTipBase: "#2a2c31",
    QPalette.ToolTipText: "#e6e6e6", QPalette.PlaceholderText: "#7d8089",
    QPalette.Link: "#7fb0ff", QPalette.Mid: "#3a3c42",
}
LIGHT = {QPalette.PlaceholderText: "#9a9a9a"}


def is_dark(theme: str = "system") -> bool:
    if theme in ("light", "dark"):
        return theme == "dark"
    return QGuiApplication.styleHints().colorScheme() == Qt.ColorScheme.Dark


def palette_for(dark: bool) -> QPalette:
    from PySide6.QtWidgets import QStyleFactory

    pal = QStyleFactory.create("Fusion").standardPalette()
    for role, color in (DARK if dark else LIGHT).items():
        pal.setColor(role, QColor(color))
        if dark:
            pal.setColor(QPalette.Disabled, role, QColor(color).darker(140))
    return pal


def apply_theme(app, theme: str = "system") -> None:
    if sys.platform == "darwin" and theme == "system":
        return
    app.setStyle("Fusion")
    app.setPalette(palette_for(is_dark(theme)))
    if theme == "system":
        hints = QGuiApplication.styleHints()
        hints.colorSchemeChanged.connect(lambda _s: app.setPalette(palette_for(is_dark())))
